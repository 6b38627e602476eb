// Batch normalization on CUDA over (N, C, S) inputs: the contracts of
// kernels/cpu/batchnorm.h, with the per-channel math of kernels/common/batchnorm.h.
//
// Statistics are deterministic float64 sums with no atomics: a fixed grid (a function
// of the shape alone) of blocks each sums its slice of a channel, (x - x0) and
// (x - x0)^2 around the channel's first value x0 (the shifted-data algorithm: no
// cancellation for data far from zero mean); the slices' partial sums go to the
// workspace and one thread per channel adds them in order. The backward sums dy and
// dy (x - mean) the same way. Then one elementwise pass writes y (or dx) with the CPU's
// expressions and per-channel coefficients rounded to the element type as the CPU does.
#pragma once
#include <stddef.h>

#include "kernels/common/batchnorm.h"
#include "kernels/common/dtype.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

// Device scratch bytes the forward / backward of this shape need.
size_t batch_norm_workspace_bytes(DType dtype, int64_t n, int64_t c, int64_t s);

void batch_norm_forward(DType dtype, const BatchNormArgs& args, void* workspace, void* stream, LaunchCheck check);
void batch_norm_backward(DType dtype, const BatchNormArgs& args, void* workspace, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
