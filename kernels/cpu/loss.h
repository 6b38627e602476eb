// Losses on the CPU: the fused softmax cross-entropy (its row loop lives in
// softmax_isa.cpp, next to the exp it runs on), NLL on log-probabilities, and the
// pointwise losses (MSE, L1, BCE, BCE with logits). Sums over a batch accumulate in
// double over fixed blocks, so a result does not depend on the number of threads.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/loss.h"

namespace pydl::cpu {

// Index of the first target neither in [0, classes) nor equal to ignore_index, or -1
// when all are valid. Then *weight_total is the sum of weight[t] over the targets not
// ignored (their count when weight is null).
int64_t check_class_targets(const int64_t* target, int64_t n, int64_t classes, int64_t ignore_index, DType dtype,
                            const void* weight, double* weight_total);

// The fused cross-entropy (targets checked first). args.loss is set here: with
// Reduction::None the per-row losses go to out (rows,); otherwise out gets one value,
// their sum times loss_scale.
void cross_entropy(DType dtype, CrossEntropyRows args, Reduction reduction, double loss_scale, void* out);

// NLL over (outer, classes, inner) log-probabilities with targets (outer, inner) (NllArgs).
// loss = -weight[t] input[t] (0 where ignored): per sample (None) or summed times scale.
void nll_loss(DType dtype, const NllArgs& args, Reduction reduction, double scale, void* out);
// dinput: -weight[t] grad scale at each target, 0 elsewhere. grad: one value, or one per sample.
void nll_loss_backward(DType dtype, const NllArgs& args, const void* grad, bool grad_is_scalar, double scale,
                       void* dinput);

// Elementwise losses over n contiguous elements (PointwiseLossArgs).
// Per element (None) or the sum times the mean's scale: 1/n, or 1/sum(weight) when
// mean_over_weight (MSE and L1 with weights, as PyTorch). *scale is set to the factor the
// gradient needs (1 for None and Sum). Returns false if an input is outside the loss's
// domain (BCE: [0, 1]).
bool pointwise_loss(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, Reduction reduction,
                    bool mean_over_weight, void* out, double* scale);
// out = grad * scale * weight * d loss / d input (or d target when wrt_target).
void pointwise_loss_backward(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, const void* grad,
                             bool grad_is_scalar, double scale, bool wrt_target, void* out);

}  // namespace pydl::cpu
