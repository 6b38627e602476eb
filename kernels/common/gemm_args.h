// The one GEMM entry point's arguments, shared by the CPU and CUDA kernels:
//   C[b] = act(alpha * op(A[b]) @ op(B[b]) + beta * C[b] + bias)
// with op(X) = X or X^T (never materialized), row-major storage, leading
// dimensions and batch strides in elements, bias of length n broadcast over rows.
#pragma once
#include <stdint.h>

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
  bool relu = false;
};

}  // namespace pydl
