// Batch normalization's per-channel scalar math, shared by the CPU and CUDA kernels.
//
// The input is viewed as (N, C, S): N samples, C channels, S spatial positions (1 for
// (N, C), L for (N, C, L), H*W for (N, C, H, W)); each channel has M = N*S values.
//   forward:  y = (x - mean) * invstd * w + b, invstd = 1 / sqrt(var + eps)
//   training: mean, var = the batch's mean and biased variance; the running stats move
//             toward mean and the unbiased var * M / (M - 1) by `momentum`, as PyTorch
//   eval:     mean, var = the running stats
//   backward (training), with xhat = (x - mean) * invstd:
//             dx = w * invstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
//             dweight = sum(dy * xhat), dbias = sum(dy)
//   backward (eval): dx = dy * w * invstd, same dweight and dbias.
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

PYDL_HD double bn_invstd(double var, double eps) { return 1.0 / sqrt(var + eps); }

// running <- (1 - momentum) * running + momentum * batch statistic.
PYDL_HD double bn_running_update(double running, double stat, double momentum) {
  return (1.0 - momentum) * running + momentum * stat;
}

// The unbiased variance from the biased one over `count` values (count >= 2).
PYDL_HD double bn_unbiased_var(double var, double count) { return var * count / (count - 1.0); }

// Forward as y = (x - mean) * scale + shift (w = 1, b = 0 when not affine).
struct BnAffine { double scale, shift; };
PYDL_HD BnAffine bn_forward_coeffs(double invstd, double weight, double bias) {
  return BnAffine{weight * invstd, bias};
}

// Backward as dx = dy * dy_coef + (x - mean) * x_coef + bias_coef, from the channel sums
// sum_dy = sum(dy) and sum_dy_xmu = sum(dy * (x - mean)) over `count` values.
struct BnBackward { double dy_coef, x_coef, bias_coef; };
PYDL_HD BnBackward bn_backward_coeffs(bool training, double invstd, double weight, double sum_dy, double sum_dy_xmu,
                                      double count) {
  const double a = weight * invstd;
  if (!training) return BnBackward{a, 0.0, 0.0};
  return BnBackward{a, -a * invstd * invstd * sum_dy_xmu / count, -a * sum_dy / count};
}

// Chan et al.'s merge of two partial (count, mean, sum of squared deviations) summaries.
PYDL_HD void bn_merge_moments(double* count, double* mean, double* m2, double count_b, double mean_b, double m2_b) {
  if (count_b == 0.0) return;
  const double n = *count + count_b;
  const double delta = mean_b - *mean;
  *mean += delta * (count_b / n);
  *m2 += m2_b + delta * delta * (*count * count_b / n);
  *count = n;
}

PYDL_KERNELS_END

namespace pydl {

// One batch-norm call's operands; x (and y, grad, dx) contiguous (N, C, S), every
// per-channel array C values of the input's dtype. Null pointers mark what is absent.
struct BatchNormArgs {
  int64_t n = 0, c = 0, s = 1;
  const void* x = nullptr;
  const void* weight = nullptr;  // null: w = 1
  const void* bias = nullptr;    // null: b = 0
  void* running_mean = nullptr;  // updated in place in training (strides in elements)
  void* running_var = nullptr;
  int64_t running_mean_stride = 1, running_var_stride = 1;
  bool training = true;
  double momentum = 0.1, eps = 1e-5;
  // forward outputs
  void* y = nullptr;
  void* save_mean = nullptr;    // the mean used (batch or running)
  void* save_invstd = nullptr;  // 1 / sqrt(var + eps) with the variance used
  // backward: reads grad, x, save_mean, save_invstd, weight; writes any of dx, dweight, dbias
  const void* grad = nullptr;
  void* dx = nullptr;
  void* dweight = nullptr;
  void* dbias = nullptr;
};

}  // namespace pydl
