// Batch normalization on the CPU over (N, C, S) inputs; see kernels/common/batchnorm.h.
#pragma once
#include "kernels/common/batchnorm.h"
#include "kernels/common/dtype.h"

namespace pydl::cpu {

// Training: batch statistics in one read of x (per-block two-pass moments merged with
// Chan's formula, float64 accumulation), running stats updated, then y. Eval: y from
// the running stats. Always writes y, save_mean and save_invstd.
void batch_norm_forward(DType dtype, const BatchNormArgs& args);
// Training: two passes (channel sums of dy and dy * (x - mean), then dx). Eval: dx is
// dy scaled per channel; the sums only when dweight or dbias is asked for.
void batch_norm_backward(DType dtype, const BatchNormArgs& args);

}  // namespace pydl::cpu
