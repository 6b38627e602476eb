// Layer normalization on CUDA (kernels/common/layernorm.h): a row per warp (up to 1024
// entries) or per block; the weight and bias gradients as float64 partial sums per (slice of
// rows, column) in the workspace, added up slice by slice in order, so the result is the same
// from run to run.
#pragma once
#include <stddef.h>

#include "kernels/common/dtype.h"
#include "kernels/common/layernorm.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

size_t layer_norm_workspace_bytes(int64_t rows, int64_t cols);
void layer_norm_forward(DType dtype, const LayerNormArgs& args, void* stream, LaunchCheck check);
void layer_norm_backward(DType dtype, const LayerNormArgs& args, void* workspace, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
