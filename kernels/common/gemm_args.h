// The one GEMM entry point's arguments, shared by the CPU and CUDA kernels:
//   C[b] = act(alpha * op(A[b]) @ op(B[b]) + beta * C[b] + bias)
// with op(X) = X or X^T (never materialized), row-major storage, leading
// dimensions and batch strides in elements, bias of length n broadcast over rows,
// act one of Identity, Relu, Gelu (the pointwise family's functors, kernels/common/unary.h).
#pragma once
#include <stdint.h>

#include "kernels/common/unary.h"

namespace pydl {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  double alpha = 1.0, beta = 0.0;
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  void* c = nullptr;
  int64_t ldc = 0;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;
  const void* bias = nullptr;
  UnaryOp epilogue = UnaryOp::Identity;
  // float32 on CUDA: may run on the tensor cores in TF32 (pydl.backends.cuda.matmul.allow_tf32).
  bool allow_tf32 = false;
};

constexpr bool gemm_epilogue_supported(UnaryOp a) {
  return a == UnaryOp::Identity || a == UnaryOp::Relu || a == UnaryOp::Gelu;
}

}  // namespace pydl
