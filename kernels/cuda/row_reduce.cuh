// Device helpers for kernels that give one row to a warp or to a block (softmax, the
// fused cross-entropy): strided walks over a row with optional 16-byte packs, and the
// warp / block reductions of sums and of the online (max, sum of exps) pair.
// Include from .cu files only.
#pragma once
#include <math.h>

#include "kernels/common/pointwise_math.h"
#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

// log in the element type (logf for float, as the CPU's ::log(float) overload).
__device__ __forceinline__ float dev_log(float x) { return logf(x); }
__device__ __forceinline__ double dev_log(double x) { return log(x); }

template <class T>
struct alignas(16) Pack16 {
  static constexpr int kLanes = 16 / sizeof(T);
  T v[kLanes];
};

inline bool is_aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// fn(i, x[i]) for the elements i of a row of n that this thread owns: thread `t` of
// `threads` takes packs t, t + threads, ... (VEC: row 16-byte aligned, n a multiple of
// the pack) or elements t, t + threads, ...
template <bool VEC, class T, class Fn>
__device__ __forceinline__ void for_row(const T* __restrict__ row, int64_t n, int t, int threads, Fn fn) {
  if constexpr (VEC) {
    using P = Pack16<T>;
    const int64_t packs = n / P::kLanes;
    for (int64_t k = t; k < packs; k += threads) {
      const P p = reinterpret_cast<const P*>(row)[k];
#pragma unroll
      for (int l = 0; l < P::kLanes; ++l) fn(k * P::kLanes + l, p.v[l]);
    }
  } else {
    for (int64_t i = t; i < n; i += threads) fn(i, row[i]);
  }
}

// out[i] = fn(i, x[i]) over a row, same ownership as for_row.
template <bool VEC, class T, class Fn>
__device__ __forceinline__ void map_row(const T* __restrict__ row, T* __restrict__ out, int64_t n, int t, int threads,
                                        Fn fn) {
  if constexpr (VEC) {
    using P = Pack16<T>;
    const int64_t packs = n / P::kLanes;
    for (int64_t k = t; k < packs; k += threads) {
      const P p = reinterpret_cast<const P*>(row)[k];
      P o;
#pragma unroll
      for (int l = 0; l < P::kLanes; ++l) o.v[l] = fn(k * P::kLanes + l, p.v[l]);
      reinterpret_cast<P*>(out)[k] = o;
    }
  } else {
    for (int64_t i = t; i < n; i += threads) out[i] = fn(i, row[i]);
  }
}

// ---------------------------------------------------------------- online max and sum of exps
// (m, s): s = sum exp(x - m) over the values seen, m their max (NaN skipped by the max,
// but it reaches s). -inf values add nothing (exp(-inf - m) = 0 for any m), which also
// keeps an all -inf prefix from making s NaN; +inf gives NaN as the two-pass form does.
template <class T>
struct MaxSum {
  T m, s;
};

template <class T>
__device__ __forceinline__ MaxSum<T> max_sum_identity() {
  return MaxSum<T>{T(-INFINITY), T(0)};
}

template <class T>
__device__ __forceinline__ void max_sum_add(MaxSum<T>& a, T x) {
  using ::pydl::kernels::exp_fast;
  if (x > a.m) {
    a.s = a.s * exp_fast(a.m - x) + exp_fast(x - x);  // exp(x - x): 1, or NaN for x = inf
    a.m = x;
  } else if (x != T(-INFINITY)) {
    a.s += exp_fast(x - a.m);
  }
}

// A side whose max is -inf saw only -inf (s = 0) or NaN (s = NaN): s * 0 keeps either.
template <class T>
__device__ __forceinline__ MaxSum<T> max_sum_merge(MaxSum<T> a, MaxSum<T> b) {
  using ::pydl::kernels::exp_fast;
  const T m = a.m > b.m ? a.m : b.m;
  const T sa = a.m == T(-INFINITY) ? a.s * T(0) : a.s * exp_fast(a.m - m);
  const T sb = b.m == T(-INFINITY) ? b.s * T(0) : b.s * exp_fast(b.m - m);
  return MaxSum<T>{m, sa + sb};
}

// ---------------------------------------------------------------- warp and block reductions
// All 32 lanes of the warp must call these (full masks).
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) v += shfl_down(v, d);
  return __shfl_sync(0xffffffffu, v, 0);
}

template <class T>
__device__ __forceinline__ MaxSum<T> warp_max_sum(MaxSum<T> a) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) {
    MaxSum<T> b{shfl_down(a.m, d), shfl_down(a.s, d)};
    a = max_sum_merge(a, b);
  }
  return MaxSum<T>{__shfl_sync(0xffffffffu, a.m, 0), __shfl_sync(0xffffffffu, a.s, 0)};
}

// Whole-block reductions: every thread of the block calls them (blockDim.x a multiple of
// 32, at most 1024) and gets the result. `scratch` holds 32 values; it is reused, so the
// block synchronizes before returning.
template <class T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T r = lane < warps ? scratch[lane] : T(0);
  r = warp_sum(r);
  __syncthreads();
  return r;
}

template <class T>
__device__ __forceinline__ MaxSum<T> block_max_sum(MaxSum<T> a, MaxSum<T>* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  a = warp_max_sum(a);
  if (lane == 0) scratch[warp] = a;
  __syncthreads();
  MaxSum<T> r = lane < warps ? scratch[lane] : max_sum_identity<T>();
  r = warp_max_sum(r);
  __syncthreads();
  return r;
}

// ---------------------------------------------------------------- who owns a row
// Rows of n <= kWarpRowMax go to a warp (kRowsPerWarpBlock rows per block of kBlock
// threads); longer rows to a whole block of row_block_threads(n) threads (1024 for long
// rows: two blocks per SM keep fewer rows in flight, so a row read twice is still in L2).
constexpr int kRowsPerWarpBlock = kBlock / 32;
constexpr int64_t kWarpRowMax = 1024;
constexpr int kRowBlockMax = 1024;

inline int row_block_threads(int64_t n) { return n >= 8192 ? 1024 : 512; }

inline unsigned row_grid(bool warp, int64_t rows) {
  const int64_t blocks = warp ? (rows + kRowsPerWarpBlock - 1) / kRowsPerWarpBlock : rows;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks > 65535 ? 65535 : blocks);
}

// The loops over rows are uniform across the owner, so every lane reaches the shuffles
// and barriers.
template <bool WARP>
struct RowOwner {
  __device__ __forceinline__ int64_t first() const {
    return WARP ? int64_t(blockIdx.x) * kRowsPerWarpBlock + (threadIdx.x >> 5) : int64_t(blockIdx.x);
  }
  __device__ __forceinline__ int64_t step() const {
    return WARP ? int64_t(gridDim.x) * kRowsPerWarpBlock : int64_t(gridDim.x);
  }
  __device__ __forceinline__ int t() const { return WARP ? int(threadIdx.x & 31) : int(threadIdx.x); }
  __device__ __forceinline__ int threads() const { return WARP ? 32 : int(blockDim.x); }
};

template <bool WARP, class T>
__device__ __forceinline__ T owner_sum(T v, T* scratch) {
  if constexpr (WARP) return warp_sum(v);
  else return block_sum(v, scratch);
}

template <bool WARP, class T>
__device__ __forceinline__ MaxSum<T> owner_max_sum(MaxSum<T> a, MaxSum<T>* scratch) {
  if constexpr (WARP) return warp_max_sum(a);
  else return block_max_sum(a, scratch);
}

}  // namespace pydl::cuda_kernels
