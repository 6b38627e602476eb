// 2-d pooling on CUDA; see pool.h for the scheme. Memory-bound: one thread per output
// (forward) or per input (backward), grid-stride loops with int64 indices. The window
// math is shared with the CPU (kernels/common/{conv,pool}.h).
#include "kernels/cuda/pool.h"

#include <limits>

#include "kernels/common/pool.h"
#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

using kernels::adaptive_end;
using kernels::adaptive_start;
using kernels::AvgWindow;

template <class T>
__global__ void max_pool2d_forward_kernel(Pool2dParams p, const T* __restrict__ x, T* __restrict__ y,
                                          int64_t* __restrict__ ind) {
  const int64_t ohw = p.out_h * p.out_w, total = p.planes * ohw;
  for (int64_t e = global_thread(); e < total; e += grid_threads()) {
    const int64_t pl = e / ohw, o = e - pl * ohw, oh = o / p.out_w, ow = o - oh * p.out_w;
    const T* xp = x + pl * p.h * p.w;
    const int64_t hs = oh * p.stride_h - p.pad_h, ws = ow * p.stride_w - p.pad_w;
    // The CPU's index for a window of padding only; then taps in (ih, iw) order, where a
    // NaN wins and ties keep the first maximum.
    T best = -std::numeric_limits<T>::infinity();
    int64_t arg = kernels::first_tap(hs, p.dil_h) * p.w + kernels::first_tap(ws, p.dil_w);
    for (int64_t i = 0; i < p.kh; ++i) {
      const int64_t ih = hs + i * p.dil_h;
      if (ih < 0 || ih >= p.h) continue;
      for (int64_t j = 0; j < p.kw; ++j) {
        const int64_t iw = ws + j * p.dil_w;
        if (iw < 0 || iw >= p.w) continue;
        const T v = xp[ih * p.w + iw];
        if (v > best || v != v) {
          best = v;
          arg = ih * p.w + iw;
        }
      }
    }
    y[e] = best;
    ind[e] = arg;
  }
}

template <class T>
__global__ void max_pool2d_backward_kernel(Pool2dParams p, const T* __restrict__ dy, const int64_t* __restrict__ ind,
                                           T* __restrict__ dx) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w, total = p.planes * hw;
  const bool dilated = p.dil_h > 1 || p.dil_w > 1;  // else every window holds an input
  for (int64_t e = global_thread(); e < total; e += grid_threads()) {
    const int64_t pl = e / hw, i = e - pl * hw, ih = i / p.w, iw = i - ih * p.w;
    int64_t oh0, oh1, ow0, ow1;
    kernels::windows_over(ih, p.out_h, p.kh, p.stride_h, p.pad_h, p.dil_h, &oh0, &oh1);
    kernels::windows_over(iw, p.out_w, p.kw, p.stride_w, p.pad_w, p.dil_w, &ow0, &ow1);
    const int64_t* ip = ind + pl * ohw;
    const T* gp = dy + pl * ohw;
    T acc = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh)
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const int64_t o = oh * p.out_w + ow;
        if (ip[o] == i && (!dilated || kernels::window_has_input(p, oh, ow))) acc += gp[o];
      }
    dx[e] = acc;
  }
}

// After the gather, with dilation only: the windows wholly in the padding, whose index may
// lie outside their window, add their gradient there as the CPU does. One thread per plane
// walks its outputs in order, so no two threads touch the same element.
template <class T>
__global__ void max_pool2d_backward_empty_kernel(Pool2dParams p, const T* __restrict__ dy,
                                                 const int64_t* __restrict__ ind, T* __restrict__ dx) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w;
  for (int64_t pl = global_thread(); pl < p.planes; pl += grid_threads())
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t o = pl * ohw + oh * p.out_w + ow, i = ind[o];
        if (i >= 0 && i < hw && !kernels::window_has_input(p, oh, ow)) dx[pl * hw + i] += dy[o];
      }
}

template <class T>
__global__ void avg_pool2d_forward_kernel(Pool2dParams p, bool include_pad, int64_t override_,
                                          const T* __restrict__ x, T* __restrict__ y) {
  const int64_t ohw = p.out_h * p.out_w, total = p.planes * ohw;
  for (int64_t e = global_thread(); e < total; e += grid_threads()) {
    const int64_t pl = e / ohw, o = e - pl * ohw, oh = o / p.out_w, ow = o - oh * p.out_w;
    const T* xp = x + pl * p.h * p.w;
    const AvgWindow a = kernels::avg_window(p, oh, ow, include_pad, override_);
    T s = T(0);
    for (int64_t ih = a.hs; ih < a.he; ++ih)
      for (int64_t iw = a.ws; iw < a.we; ++iw) s += xp[ih * p.w + iw];
    y[e] = a.div ? s / T(a.div) : T(0);
  }
}

template <class T>
__global__ void avg_pool2d_backward_kernel(Pool2dParams p, bool include_pad, int64_t override_,
                                           const T* __restrict__ dy, T* __restrict__ dx) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w, total = p.planes * hw;
  for (int64_t e = global_thread(); e < total; e += grid_threads()) {
    const int64_t pl = e / hw, i = e - pl * hw, ih = i / p.w, iw = i - ih * p.w;
    int64_t oh0, oh1, ow0, ow1;
    kernels::windows_over(ih, p.out_h, p.kh, p.stride_h, p.pad_h, 1, &oh0, &oh1);
    kernels::windows_over(iw, p.out_w, p.kw, p.stride_w, p.pad_w, 1, &ow0, &ow1);
    const T* gp = dy + pl * ohw;
    T acc = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh)
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const AvgWindow a = kernels::avg_window(p, oh, ow, include_pad, override_);
        if (a.div && ih >= a.hs && ih < a.he && iw >= a.ws && iw < a.we) acc += gp[oh * p.out_w + ow] / T(a.div);
      }
    dx[e] = acc;
  }
}

template <class T>
__global__ void adaptive_avg_pool2d_forward_kernel(Pool2dParams p, const T* __restrict__ x, T* __restrict__ y) {
  const int64_t ohw = p.out_h * p.out_w, total = p.planes * ohw;
  for (int64_t e = global_thread(); e < total; e += grid_threads()) {
    const int64_t pl = e / ohw, o = e - pl * ohw, oh = o / p.out_w, ow = o - oh * p.out_w;
    const T* xp = x + pl * p.h * p.w;
    const int64_t hs = adaptive_start(oh, p.out_h, p.h), he = adaptive_end(oh, p.out_h, p.h);
    const int64_t ws = adaptive_start(ow, p.out_w, p.w), we = adaptive_end(ow, p.out_w, p.w);
    T s = T(0);
    for (int64_t ih = hs; ih < he; ++ih)
      for (int64_t iw = ws; iw < we; ++iw) s += xp[ih * p.w + iw];
    y[e] = s / T((he - hs) * (we - ws));
  }
}

// The global average pool: one warp per plane. The plane loop is uniform across a warp,
// so all 32 lanes reach every shuffle.
template <class T>
__global__ void global_avg_pool2d_forward_kernel(int64_t planes, int64_t hw, const T* __restrict__ x,
                                                 T* __restrict__ y) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = grid_threads() / 32;
  for (int64_t pl = global_thread() / 32; pl < planes; pl += warps) {
    const T* xp = x + pl * hw;
    T s = T(0);
    for (int64_t i = lane; i < hw; i += 32) s += xp[i];
#pragma unroll
    for (int d = 16; d > 0; d /= 2) s += shfl_down(s, d);
    if (lane == 0) y[pl] = s / T(hw);
  }
}

template <class T>
__global__ void adaptive_avg_pool2d_backward_kernel(Pool2dParams p, const T* __restrict__ dy, T* __restrict__ dx) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w, total = p.planes * hw;
  for (int64_t e = global_thread(); e < total; e += grid_threads()) {
    const int64_t pl = e / hw, i = e - pl * hw, ih = i / p.w, iw = i - ih * p.w;
    const T* gp = dy + pl * ohw;
    if (ohw == 1) {  // the global pool, written as the CPU writes it
      dx[e] = gp[0] / T(hw);
      continue;
    }
    int64_t oh0, oh1, ow0, ow1;
    kernels::adaptive_windows_over(ih, p.out_h, p.h, &oh0, &oh1);
    kernels::adaptive_windows_over(iw, p.out_w, p.w, &ow0, &ow1);
    T acc = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const int64_t hs = adaptive_start(oh, p.out_h, p.h), he = adaptive_end(oh, p.out_h, p.h);
      if (ih < hs || ih >= he) continue;
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const int64_t ws = adaptive_start(ow, p.out_w, p.w), we = adaptive_end(ow, p.out_w, p.w);
        if (iw >= ws && iw < we) acc += gp[oh * p.out_w + ow] / T((he - hs) * (we - ws));
      }
    }
    dx[e] = acc;
  }
}

const char* name(const char* f32, const char* f64, DType dtype) { return dtype == DType::Float32 ? f32 : f64; }

}  // namespace

void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, int64_t* indices, void* stream,
                        LaunchCheck check) {
  const int64_t total = p.planes * p.out_h * p.out_w;
  if (total <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T,
                      max_pool2d_forward_kernel<T><<<grid_for(total), kBlock, 0, as_stream(stream)>>>(
                          p, static_cast<const T*>(x), static_cast<T*>(y), indices));
  check(name("pydl_max_pool2d_forward_float32", "pydl_max_pool2d_forward_float64", dtype));
}

void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* dy, const int64_t* indices, void* dx,
                         void* stream, LaunchCheck check) {
  const int64_t total = p.planes * p.h * p.w;
  if (total <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T,
                      max_pool2d_backward_kernel<T><<<grid_for(total), kBlock, 0, as_stream(stream)>>>(
                          p, static_cast<const T*>(dy), indices, static_cast<T*>(dx)));
  check(name("pydl_max_pool2d_backward_float32", "pydl_max_pool2d_backward_float64", dtype));
  if (p.dil_h > 1 || p.dil_w > 1) {
    PYDL_DISPATCH_FLOAT(dtype, T,
                        max_pool2d_backward_empty_kernel<T><<<grid_for(p.planes), kBlock, 0, as_stream(stream)>>>(
                            p, static_cast<const T*>(dy), indices, static_cast<T*>(dx)));
    check(name("pydl_max_pool2d_backward_empty_float32", "pydl_max_pool2d_backward_empty_float64", dtype));
  }
}

void avg_pool2d_forward(DType dtype, const Pool2dParams& p, bool count_include_pad, int64_t divisor_override,
                        const void* x, void* y, void* stream, LaunchCheck check) {
  const int64_t total = p.planes * p.out_h * p.out_w;
  if (total <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T,
                      avg_pool2d_forward_kernel<T><<<grid_for(total), kBlock, 0, as_stream(stream)>>>(
                          p, count_include_pad, divisor_override, static_cast<const T*>(x), static_cast<T*>(y)));
  check(name("pydl_avg_pool2d_forward_float32", "pydl_avg_pool2d_forward_float64", dtype));
}

void avg_pool2d_backward(DType dtype, const Pool2dParams& p, bool count_include_pad, int64_t divisor_override,
                         const void* dy, void* dx, void* stream, LaunchCheck check) {
  const int64_t total = p.planes * p.h * p.w;
  if (total <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T,
                      avg_pool2d_backward_kernel<T><<<grid_for(total), kBlock, 0, as_stream(stream)>>>(
                          p, count_include_pad, divisor_override, static_cast<const T*>(dy), static_cast<T*>(dx)));
  check(name("pydl_avg_pool2d_backward_float32", "pydl_avg_pool2d_backward_float64", dtype));
}

void adaptive_avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, void* stream,
                                 LaunchCheck check) {
  const int64_t total = p.planes * p.out_h * p.out_w;
  if (total <= 0) return;
  if (p.out_h == 1 && p.out_w == 1) {
    PYDL_DISPATCH_FLOAT(dtype, T,
                        global_avg_pool2d_forward_kernel<T><<<grid_for(p.planes * 32), kBlock, 0, as_stream(stream)>>>(
                            p.planes, p.h * p.w, static_cast<const T*>(x), static_cast<T*>(y)));
    check(name("pydl_global_avg_pool2d_forward_float32", "pydl_global_avg_pool2d_forward_float64", dtype));
    return;
  }
  PYDL_DISPATCH_FLOAT(dtype, T,
                      adaptive_avg_pool2d_forward_kernel<T><<<grid_for(total), kBlock, 0, as_stream(stream)>>>(
                          p, static_cast<const T*>(x), static_cast<T*>(y)));
  check(name("pydl_adaptive_avg_pool2d_forward_float32", "pydl_adaptive_avg_pool2d_forward_float64", dtype));
}

void adaptive_avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* dy, void* dx, void* stream,
                                  LaunchCheck check) {
  const int64_t total = p.planes * p.h * p.w;
  if (total <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T,
                      adaptive_avg_pool2d_backward_kernel<T><<<grid_for(total), kBlock, 0, as_stream(stream)>>>(
                          p, static_cast<const T*>(dy), static_cast<T*>(dx)));
  check(name("pydl_adaptive_avg_pool2d_backward_float32", "pydl_adaptive_avg_pool2d_backward_float64", dtype));
}

}  // namespace pydl::cuda_kernels
