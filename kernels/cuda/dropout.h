// Inverted dropout on CUDA: the contracts of kernels/cpu/dropout.h. Element i is kept
// when dropout_keep(seed, offset + i, ...) says so (kernels/common/dropout.h): the
// integer Philox rounds and the 24-bit comparison are exact, so the mask is the CPU's
// bit for bit for the same (seed, offset). The scaling is the CPU's x * (keep * scale).
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void dropout_forward(DType dtype, const void* x, void* out, bool* mask, int64_t n, uint64_t seed, uint64_t offset,
                     double p, void* stream, LaunchCheck check);
void dropout_backward(DType dtype, const void* grad, const bool* mask, void* grad_in, int64_t n, double p,
                      void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
