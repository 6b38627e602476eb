// GEMM on CUDA through the one entry point (kernels/common/gemm_args.h):
//   C[b] = act(alpha * op(A[b]) @ op(B[b]) + beta * C[b] + bias)
// A correct shared-memory tiled kernel (32x32 tiles of C, 2x2 per thread) for float32
// and float64: transposes read in place, any leading dimensions, batch strides (0 =
// broadcast), bias/ReLU in the write-back. Speed is the fast SGEMM's job.
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/gemm_args.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void gemm(DType dtype, const GemmArgs& args, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
