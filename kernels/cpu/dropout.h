// Inverted dropout on the CPU. Element i (of a contiguous array of n) is kept when
// dropout_keep(seed, offset + i, ...) says so (kernels/common/dropout.h), so the GPU
// kernel draws the identical mask; kept values are scaled by 1 / (1 - p).
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"

namespace pydl::cpu {

// out = x * mask * scale, mask (bool, one byte each) written for the backward. x, out: dtype.
void dropout_forward(DType dtype, const void* x, void* out, bool* mask, int64_t n, uint64_t seed, uint64_t offset,
                     double p);
// grad_in = grad * mask * scale (scale = 1 / (1 - p), 0 for p = 1).
void dropout_backward(DType dtype, const void* grad, const bool* mask, void* grad_in, int64_t n, double p);

}  // namespace pydl::cpu
