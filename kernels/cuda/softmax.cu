// Softmax / log-softmax on CUDA (see softmax.h). The output pass uses the CPU's
// expressions: softmax exp(x - m) * (1 / s), log-softmax (x - m) - log(s).
#include "kernels/cuda/softmax.h"

#include "kernels/cuda/row_reduce.cuh"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

template <bool WARP, bool VEC, class T>
__global__ void __launch_bounds__(WARP ? kBlock : kRowBlockMax)
    softmax_rows_kernel(bool log, const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t n) {
  __shared__ MaxSum<T> scratch[32];
  const RowOwner<WARP> own;
  for (int64_t r = own.first(); r < rows; r += own.step()) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    MaxSum<T> ms = max_sum_identity<T>();
    for_row<VEC>(xr, n, own.t(), own.threads(), [&](int64_t, T v) { max_sum_add(ms, v); });
    ms = owner_max_sum<WARP>(ms, scratch);
    const T m = ms.m;
    if (log) {
      const T ls = dev_log(ms.s);
      map_row<VEC>(xr, yr, n, own.t(), own.threads(), [&](int64_t, T v) { return (v - m) - ls; });
    } else {
      const T inv = T(1) / ms.s;
      map_row<VEC>(xr, yr, n, own.t(), own.threads(), [&](int64_t, T v) { return exp_fast(v - m) * inv; });
    }
  }
}

template <bool WARP, bool VEC, class T>
__global__ void __launch_bounds__(WARP ? kBlock : kRowBlockMax)
    softmax_backward_rows_kernel(bool log, const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                 int64_t rows, int64_t n) {
  __shared__ T scratch[32];
  const RowOwner<WARP> own;
  for (int64_t r = own.first(); r < rows; r += own.step()) {
    const T* yr = y + r * n;
    const T* gr = dy + r * n;
    T* dr = dx + r * n;
    T acc = 0;
    if (log) for_row<VEC>(gr, n, own.t(), own.threads(), [&](int64_t, T g) { acc += g; });
    else for_row<VEC>(gr, n, own.t(), own.threads(), [&](int64_t i, T g) { acc += g * yr[i]; });
    const T s = owner_sum<WARP>(acc, scratch);
    if (log) map_row<VEC>(gr, dr, n, own.t(), own.threads(), [&](int64_t i, T g) { return g - exp_fast(yr[i]) * s; });
    else map_row<VEC>(gr, dr, n, own.t(), own.threads(), [&](int64_t i, T g) { return yr[i] * (g - s); });
  }
}

// inner > 1: thread per (o, j); three walks along n (max, sum, write), all coalesced in j.
template <class T>
__global__ void __launch_bounds__(kBlock)
    softmax_columns_kernel(bool log, const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n,
                           int64_t inner) {
  for (int64_t q = global_thread(); q < outer * inner; q += grid_threads()) {
    const int64_t o = q / inner, j = q - o * inner;
    const T* xc = x + o * n * inner + j;
    T* yc = y + o * n * inner + j;
    T m = T(-INFINITY);
    for (int64_t c = 0; c < n; ++c) m = xc[c * inner] > m ? xc[c * inner] : m;
    T s = 0;
    for (int64_t c = 0; c < n; ++c) s += exp_fast(xc[c * inner] - m);
    if (log) {
      const T ls = dev_log(s);
      for (int64_t c = 0; c < n; ++c) yc[c * inner] = (xc[c * inner] - m) - ls;
    } else {
      const T inv = T(1) / s;
      for (int64_t c = 0; c < n; ++c) yc[c * inner] = exp_fast(xc[c * inner] - m) * inv;
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    softmax_backward_columns_kernel(bool log, const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                    int64_t outer, int64_t n, int64_t inner) {
  for (int64_t q = global_thread(); q < outer * inner; q += grid_threads()) {
    const int64_t o = q / inner, j = q - o * inner, base = o * n * inner + j;
    T s = 0;
    for (int64_t c = 0; c < n; ++c) {
      const int64_t i = base + c * inner;
      s += log ? dy[i] : dy[i] * y[i];
    }
    for (int64_t c = 0; c < n; ++c) {
      const int64_t i = base + c * inner;
      dx[i] = log ? dy[i] - exp_fast(y[i]) * s : y[i] * (dy[i] - s);
    }
  }
}

template <class T>
void launch_softmax(bool log, const T* x, T* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t s,
                    LaunchCheck check) {
  if (inner != 1) {
    softmax_columns_kernel<T><<<grid_for(outer * inner), kBlock, 0, s>>>(log, x, y, outer, n, inner);
    check("pydl_softmax_columns");
    return;
  }
  const bool warp = n <= kWarpRowMax;
  const bool vec = is_aligned16(x) && is_aligned16(y) && n % Pack16<T>::kLanes == 0;
  const unsigned grid = row_grid(warp, outer);
  const int threads = warp ? kBlock : row_block_threads(n);
  if (warp && vec) softmax_rows_kernel<true, true, T><<<grid, threads, 0, s>>>(log, x, y, outer, n);
  else if (warp) softmax_rows_kernel<true, false, T><<<grid, threads, 0, s>>>(log, x, y, outer, n);
  else if (vec) softmax_rows_kernel<false, true, T><<<grid, threads, 0, s>>>(log, x, y, outer, n);
  else softmax_rows_kernel<false, false, T><<<grid, threads, 0, s>>>(log, x, y, outer, n);
  check(warp ? "pydl_softmax_rows_warp" : "pydl_softmax_rows_block");
}

template <class T>
void launch_backward(bool log, const T* y, const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner,
                     cudaStream_t s, LaunchCheck check) {
  if (inner != 1) {
    softmax_backward_columns_kernel<T><<<grid_for(outer * inner), kBlock, 0, s>>>(log, y, dy, dx, outer, n, inner);
    check("pydl_softmax_backward_columns");
    return;
  }
  const bool warp = n <= kWarpRowMax;
  const bool vec = is_aligned16(dy) && is_aligned16(dx) && n % Pack16<T>::kLanes == 0;
  const unsigned grid = row_grid(warp, outer);
  const int threads = warp ? kBlock : row_block_threads(n);
  if (warp && vec) softmax_backward_rows_kernel<true, true, T><<<grid, threads, 0, s>>>(log, y, dy, dx, outer, n);
  else if (warp) softmax_backward_rows_kernel<true, false, T><<<grid, threads, 0, s>>>(log, y, dy, dx, outer, n);
  else if (vec) softmax_backward_rows_kernel<false, true, T><<<grid, threads, 0, s>>>(log, y, dy, dx, outer, n);
  else softmax_backward_rows_kernel<false, false, T><<<grid, threads, 0, s>>>(log, y, dy, dx, outer, n);
  check(warp ? "pydl_softmax_backward_rows_warp" : "pydl_softmax_backward_rows_block");
}

}  // namespace

void softmax(DType dtype, bool log, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, void* stream,
             LaunchCheck check) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, launch_softmax(log, static_cast<const T*>(x), static_cast<T*>(y), outer, n, inner,
                                               as_stream(stream), check));
}

void softmax_backward(DType dtype, bool log, const void* y, const void* dy, void* dx, int64_t outer, int64_t n,
                      int64_t inner, void* stream, LaunchCheck check) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, launch_backward(log, static_cast<const T*>(y), static_cast<const T*>(dy),
                                                static_cast<T*>(dx), outer, n, inner, as_stream(stream), check));
}

}  // namespace pydl::cuda_kernels
