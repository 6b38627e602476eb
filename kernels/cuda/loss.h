// Losses on CUDA: the contracts of kernels/cpu/loss.h, on the argument structs and the
// scalar math of kernels/common/loss.h.
//
// Class targets are validated on the device by check_class_targets. Cross-entropy reads
// nothing back: a bad label goes to the device's DeviceError (launch.h), raised at the next
// synchronization, and the mean's 1 / sum(weights) stays on the device (mean_scale). NLL
// copies the check back (one synchronization) and raises before its loss kernel runs.
//
// Every reduction to one value is deterministic and has no atomics: a fixed grid (a
// function of n alone) writes per-block float64 partial sums into the caller's
// workspace, then one block adds them in a fixed tree. Sums over a batch thus agree
// with the CPU's to rounding (both accumulate in float64), not bit for bit.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/loss.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

struct ClassTargetCheck {
  int64_t bad_index = -1;  // the first target neither in [0, classes) nor ignore_index, or -1
  int64_t bad_value = 0;   // its value
  double weight_total = 0;  // sum of weight[t] (1 when unweighted) over the targets not ignored
  double mean_scale = 0;    // 1 / weight_total
};

// Writes *result (device memory), and records the first bad target in *error when given
// (as cross-entropy's). target: n int64 on the device; weight: null or classes values.
void check_class_targets(const int64_t* target, int64_t n, int64_t classes, int64_t ignore_index, DType dtype,
                         const void* weight, ClassTargetCheck* result, DeviceError* error, void* stream,
                         LaunchCheck check);

// Device scratch for the losses below that reduce `terms` values to one.
size_t loss_workspace_bytes(DType dtype, int64_t terms);

// Fused softmax cross-entropy with targets already checked. args.loss is ignored: the
// per-row losses go to out (Reduction::None) or to the workspace, then out gets their
// sum times loss_scale (or *args.device_scale when set, for both). Rows whose target is out
// of range get a NaN loss and gradient. A row per warp (classes <= 1024) or per block; the probabilities
// are never stored, dlogits (when asked for) is written in the same pass as the loss.
void cross_entropy(DType dtype, CrossEntropyRows args, Reduction reduction, double loss_scale, void* out,
                   void* workspace, void* stream, LaunchCheck check);

void nll_loss(DType dtype, const NllArgs& args, Reduction reduction, double scale, void* out, void* workspace,
              void* stream, LaunchCheck check);
// Writes every element of dinput (zeros away from the targets).
void nll_loss_backward(DType dtype, const NllArgs& args, const void* grad, bool grad_is_scalar, double scale,
                       void* dinput, void* stream, LaunchCheck check);

// *result (device, one double) = sum of args.weight (n values), for the weighted mean.
void loss_weight_sum(DType dtype, const void* weight, int64_t n, double* result, void* workspace, void* stream,
                     LaunchCheck check);
// Records a DeviceError when an input lies outside the loss's domain (BCE: [0, 1]; nothing
// for the others).
void check_pointwise_domain(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, DeviceError* error,
                            void* stream, LaunchCheck check);
// Per element (None) or the sum times `scale` (the caller's 1/n, 1/sum(weight) or 1).
void pointwise_loss(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, Reduction reduction,
                    double scale, void* out, void* workspace, void* stream, LaunchCheck check);
void pointwise_loss_backward(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, const void* grad,
                             bool grad_is_scalar, double scale, bool wrt_target, void* out, void* stream,
                             LaunchCheck check);

}  // namespace pydl::cuda_kernels
