// What the GEMM kernels of kernels/cuda/ share: the kernel parameters, the operand views
// (op(A) and op(B) read in place through their transpose flags) and the write-back that
// applies alpha, beta, bias and the activation. Include from .cu files only.
//
// Every kernel computes one BM x BN tile of C per block, batches over grid.z (a grid-stride
// loop beyond 65535) and M tiles over grid.y (grid-stride too); products are accumulated in
// float32 (float64 for double).
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

#include <type_traits>

#include "kernels/common/gemm_args.h"
#include "kernels/common/half.h"
#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels::gemm_detail {

// T: the element type of A, B, C and bias (float, Half, BFloat16 or double). Acc and the
// scale factors: float (double for double).
template <class T>
struct Params {
  using Scale = std::conditional_t<std::is_same_v<T, double>, double, float>;
  int64_t m, n, k;
  Scale alpha, beta;
  const T* a;
  int64_t lda;
  const T* b;
  int64_t ldb;
  T* c;
  int64_t ldc;
  int64_t batch, stride_a, stride_b, stride_c;
  const T* bias;
  UnaryOp act;
  bool trans_a, trans_b;
  // Whether 16-byte loads of A / B and 16-byte stores of C are allowed (checked on the host:
  // base pointer 16-byte aligned, leading dimension and batch stride multiples of 16 bytes).
  bool vec_a, vec_b, vec_c;
};

// Runs tile(a, b, c, row0, col0) for each BM x BN tile of C this block owns: its N tile is
// blockIdx.x, batches step over grid.z and M tiles over grid.y (grid-stride loops); a, b, c
// are the batch's operands.
template <int BM, int BN, class T, class Tile>
__device__ __forceinline__ void for_each_tile(const Params<T>& p, Tile&& tile) {
  const int64_t m_tiles = (p.m + BM - 1) / BM;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * BN;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const T* a = p.a + bz * p.stride_a;
    const T* b = p.b + bz * p.stride_b;
    T* c = p.c + bz * p.stride_c;
    for (int64_t tm = blockIdx.y; tm < m_tiles; tm += gridDim.y) tile(a, b, c, tm * BM, col0);
  }
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// 16-byte accesses of one operand are safe when every row start is 16-byte aligned.
inline bool vector_ok(const void* p, int64_t ld, int64_t batch_stride, int64_t batch, int elems16) {
  return aligned16(p) && ld % elems16 == 0 && (batch <= 1 || batch_stride % elems16 == 0);
}

template <class T>
Params<T> make_params(const GemmArgs& g) {
  constexpr int e16 = 16 / sizeof(T);
  Params<T> p;
  p.m = g.m;
  p.n = g.n;
  p.k = g.k;
  p.alpha = static_cast<typename Params<T>::Scale>(g.alpha);
  p.beta = static_cast<typename Params<T>::Scale>(g.beta);
  p.a = static_cast<const T*>(g.a);
  p.lda = g.lda;
  p.b = static_cast<const T*>(g.b);
  p.ldb = g.ldb;
  p.c = static_cast<T*>(g.c);
  p.ldc = g.ldc;
  p.batch = g.batch;
  p.stride_a = g.stride_a;
  p.stride_b = g.stride_b;
  p.stride_c = g.stride_c;
  p.bias = static_cast<const T*>(g.bias);
  p.act = g.epilogue;
  p.trans_a = g.trans_a;
  p.trans_b = g.trans_b;
  p.vec_a = vector_ok(g.a, g.lda, g.stride_a, g.batch, e16);
  p.vec_b = vector_ok(g.b, g.ldb, g.stride_b, g.batch, e16);
  p.vec_c = vector_ok(g.c, g.ldc, g.stride_c, g.batch, e16);
  return p;
}

// C[row, col] = act(alpha * acc + beta * C[row, col] + bias[col]), rounded to T. beta == 0
// never reads C (it may hold garbage: NaN * 0 would be NaN). Caller checks the bounds.
template <class T>
__device__ __forceinline__ T finish(const Params<T>& p, const T* c_at, int64_t col, float acc) {
  float v = p.alpha * acc;
  if (p.beta != 0.0f) v += p.beta * as_float(*c_at);
  if (p.bias) v += as_float(p.bias[col]);
  if (p.act == UnaryOp::Relu) v = v < 0.0f ? 0.0f : v;  // NaN stays NaN, as the CPU
  else if (p.act == UnaryOp::Gelu) v = kernels::GeluOp<float>(0, 0).forward(v);
  return from_float<T>(v);
}

// Writes `count` (<= 4) consecutive results of row `row` starting at column `col`; a 16-byte
// store when T is float, the four columns are inside C and C allows it.
template <class T>
__device__ __forceinline__ void store_run4(const Params<T>& p, T* c, int64_t row, int64_t col, const float* acc) {
  if (row >= p.m) return;
  T* crow = c + row * p.ldc;
  if constexpr (sizeof(T) == 4) {
    if (p.vec_c && col + 4 <= p.n) {
      float4 o;
      o.x = finish(p, crow + col, col, acc[0]);
      o.y = finish(p, crow + col + 1, col + 1, acc[1]);
      o.z = finish(p, crow + col + 2, col + 2, acc[2]);
      o.w = finish(p, crow + col + 3, col + 3, acc[3]);
      *reinterpret_cast<float4*>(crow + col) = o;
      return;
    }
  }
#pragma unroll
  for (int j = 0; j < 4; ++j)
    if (col + j < p.n) crow[col + j] = finish(p, crow + col + j, col + j, acc[j]);
}

// Blocks for a (n_tiles, m_tiles, batch) launch: grid.y and grid.z are capped at 65535 and
// the kernels loop over the rest.
inline dim3 tile_grid(int64_t m_tiles, int64_t n_tiles, int64_t batch) {
  auto cap = [](int64_t v, int64_t hi) { return static_cast<unsigned>(v < 1 ? 1 : v > hi ? hi : v); };
  return dim3(cap(n_tiles, 2147483647), cap(m_tiles, 65535), cap(batch, 65535));
}

}  // namespace pydl::cuda_kernels::gemm_detail
