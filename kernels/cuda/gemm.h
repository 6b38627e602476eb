// GEMM on CUDA through the one entry point (kernels/common/gemm_args.h):
//   C[b] = act(alpha * op(A[b]) @ op(B[b]) + beta * C[b] + bias)
//  - float32: the SGEMM of gemm_sgemm.cuh (CUDA cores, 4 tile configurations, and a
//    register-capped 128 x 128 variant), or with
//    GemmArgs::allow_tf32 on sm_80+ the tensor-core kernel of gemm_mma.cuh in TF32;
//  - float16 / bfloat16: the tensor-core kernel (float32 accumulation, output in the input
//    dtype; sm_80+ only);
//  - float64: a plain shared-memory tiled kernel (reference math, not speed).
// The tile configuration is picked by a size heuristic (tiles against the SM count) unless
// one is forced (tests and benchmarks validate every configuration that way).
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/gemm_args.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void gemm(DType dtype, const GemmArgs& args, void* stream, LaunchCheck check);

// The tile configurations by name ("sgemm_128x128", ..., "mma_64x64"); the "_lb2" ones
// only run when forced.
int gemm_config_count();
const char* gemm_config_name(int index);
// Forces a configuration for the products it applies to (sgemm_*: float32 without TF32,
// mma_*: TF32, float16, bfloat16); "" restores the heuristic. False for an unknown name.
bool gemm_force_config(const char* name);
// The configuration of the latest launch on this process ("tiled_float64" for float64).
const char* gemm_last_config();

}  // namespace pydl::cuda_kernels
