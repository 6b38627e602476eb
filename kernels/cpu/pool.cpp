// 2-d max, average and adaptive average pooling (float32 and float64), forward and backward.
// Memory-bound loops over independent planes (batch * channels), split among threads; each
// plane's backward writes only its own dx plane, so no two threads touch the same element.
// Window bounds follow PyTorch exactly (kernels/common/conv.h has the shared index math).
#include "kernels/cpu/pool.h"

#include <math.h>
#include <string.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/common/pool.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/parallel.h"

PYDL_ISA_DECLARE(void max_pool_2x2_forward(bool is_double, int64_t planes, int64_t h, int64_t w, const void* x,
                                           void* y, int64_t* indices))

namespace pydl::cpu {

using kernels::adaptive_end;
using kernels::adaptive_start;
using kernels::avg_window;
using kernels::AvgWindow;
using kernels::first_tap;
using kernels::parallel_ranges;

namespace {

// One output row at a time, taps outermost and output columns innermost: the update of
// each window is independent of its neighbours', so the inner loop vectorizes (a scan per
// window would branch on random data). Taps are visited in PyTorch's (ih, iw) order, so
// ties keep the first maximum and NaN wins (the last NaN) exactly as there.
// Folds one tap into the windows [lo, hi) of a row: src[ow * stride] is the tap's value for
// window ow, base + ow * stride its index. kStride 0: the stride is `sw` (not a constant).
// Idx is as wide as T, so the compare-and-select vectorizes without branches.
template <class T, class Idx, int kStride>
inline void max_taps(const T* __restrict src, int64_t base, int64_t lo, int64_t hi, int64_t sw, T* __restrict bv,
                     Idx* __restrict av) {
  const int64_t s = kStride ? kStride : sw;
  for (int64_t ow = lo; ow < hi; ++ow) {
    const T v = src[ow * s];
    const bool take = (v > bv[ow]) | (v != v);
    bv[ow] = take ? v : bv[ow];
    av[ow] = take ? Idx(base + ow * s) : av[ow];
  }
}

template <class T, class Idx>
void max_forward(const Pool2dParams& p, const T* x, T* y, int64_t* ind) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w;
  parallel_ranges(p.planes, ohw * p.kh * p.kw, [&](int64_t b, int64_t e) {
    std::vector<T> best(size_t(p.out_w));
    std::vector<Idx> at(size_t(p.out_w));
    T* __restrict bv = best.data();
    Idx* __restrict av = at.data();
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * hw;
      for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const int64_t hs0 = oh * p.stride_h - p.pad_h, hs = first_tap(hs0, p.dil_h);
        for (int64_t ow = 0; ow < p.out_w; ++ow) {  // PyTorch's index for a window of -inf only
          bv[ow] = -std::numeric_limits<T>::infinity();
          av[ow] = Idx(hs * p.w + first_tap(ow * p.stride_w - p.pad_w, p.dil_w));
        }
        for (int64_t i = 0; i < p.kh; ++i) {
          const int64_t ih = hs0 + i * p.dil_h;
          if (ih < 0 || ih >= p.h) continue;
          const T* row = xp + ih * p.w;
          for (int64_t j = 0; j < p.kw; ++j) {
            const int64_t joff = j * p.dil_w - p.pad_w;
            int64_t lo, hi;
            kernels::tap_range(p.w, p.out_w, p.stride_w, joff, &lo, &hi);
            const int64_t base = ih * p.w + joff;
            // Constant strides for the usual 1 and 2 let the loads vectorize.
            if (p.stride_w == 2) max_taps<T, Idx, 2>(row + joff, base, lo, hi, 2, bv, av);
            else if (p.stride_w == 1) max_taps<T, Idx, 1>(row + joff, base, lo, hi, 1, bv, av);
            else max_taps<T, Idx, 0>(row + joff, base, lo, hi, p.stride_w, bv, av);
          }
        }
        T* yo = y + pl * ohw + oh * p.out_w;
        int64_t* io = ind + pl * ohw + oh * p.out_w;
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          yo[ow] = bv[ow];
          io[ow] = int64_t(av[ow]);
        }
      }
    }
  });
}

template <class T>
void max_backward(const Pool2dParams& p, const T* dy, const int64_t* ind, T* dx) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w;
  parallel_ranges(p.planes, ohw + hw, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* dxp = dx + pl * hw;
      const T* dyp = dy + pl * ohw;
      const int64_t* ip = ind + pl * ohw;
      memset(static_cast<void*>(dxp), 0, sizeof(T) * size_t(hw));
      for (int64_t o = 0; o < ohw; ++o) {
        const int64_t i = ip[o];
        if (i >= 0 && i < hw) dxp[i] += dyp[o];
      }
    }
  });
}

template <class T>
void avg_forward(const Pool2dParams& p, bool include_pad, int64_t override_, const T* x, T* y) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w;
  parallel_ranges(p.planes, ohw * p.kh * p.kw, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * hw;
      T* yp = y + pl * ohw;
      for (int64_t oh = 0; oh < p.out_h; ++oh)
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const AvgWindow a = avg_window(p, oh, ow, include_pad, override_);
          T s = 0;
          for (int64_t ih = a.hs; ih < a.he; ++ih)
            for (int64_t iw = a.ws; iw < a.we; ++iw) s += xp[ih * p.w + iw];
          yp[oh * p.out_w + ow] = a.div ? s / T(a.div) : T(0);
        }
    }
  });
}

template <class T>
void avg_backward(const Pool2dParams& p, bool include_pad, int64_t override_, const T* dy, T* dx) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w;
  parallel_ranges(p.planes, ohw * p.kh * p.kw + hw, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* dxp = dx + pl * hw;
      const T* dyp = dy + pl * ohw;
      memset(static_cast<void*>(dxp), 0, sizeof(T) * size_t(hw));
      for (int64_t oh = 0; oh < p.out_h; ++oh)
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const AvgWindow a = avg_window(p, oh, ow, include_pad, override_);
          if (!a.div) continue;
          const T g = dyp[oh * p.out_w + ow] / T(a.div);
          for (int64_t ih = a.hs; ih < a.he; ++ih)
            for (int64_t iw = a.ws; iw < a.we; ++iw) dxp[ih * p.w + iw] += g;
        }
    }
  });
}

// Sum of n contiguous values in 8 independent lanes (one running sum would wait on the
// latency of every add).
template <class T>
inline T sum8(const T* x, int64_t n) {
  T lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) lanes[k] += x[i + k];
  T s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (; i < n; ++i) s += x[i];
  return s;
}

template <class T>
void adaptive_forward(const Pool2dParams& p, const T* x, T* y) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w;
  if (ohw == 1) {  // the global average pool: one mean per plane
    parallel_ranges(p.planes, hw, [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e; ++pl) y[pl] = sum8(x + pl * hw, hw) / T(hw);
    });
    return;
  }
  parallel_ranges(p.planes, hw + ohw, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * hw;
      T* yp = y + pl * ohw;
      for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const int64_t hs = adaptive_start(oh, p.out_h, p.h), he = adaptive_end(oh, p.out_h, p.h);
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const int64_t ws = adaptive_start(ow, p.out_w, p.w), we = adaptive_end(ow, p.out_w, p.w);
          T s = 0;
          for (int64_t ih = hs; ih < he; ++ih)
            for (int64_t iw = ws; iw < we; ++iw) s += xp[ih * p.w + iw];
          yp[oh * p.out_w + ow] = s / T((he - hs) * (we - ws));
        }
      }
    }
  });
}

template <class T>
void adaptive_backward(const Pool2dParams& p, const T* dy, T* dx) {
  const int64_t hw = p.h * p.w, ohw = p.out_h * p.out_w;
  if (ohw == 1) {
    parallel_ranges(p.planes, hw, [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e; ++pl) {
        const T g = dy[pl] / T(hw);
        T* dxp = dx + pl * hw;
        for (int64_t i = 0; i < hw; ++i) dxp[i] = g;
      }
    });
    return;
  }
  parallel_ranges(p.planes, hw + ohw, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* dxp = dx + pl * hw;
      const T* dyp = dy + pl * ohw;
      memset(static_cast<void*>(dxp), 0, sizeof(T) * size_t(hw));
      for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const int64_t hs = adaptive_start(oh, p.out_h, p.h), he = adaptive_end(oh, p.out_h, p.h);
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const int64_t ws = adaptive_start(ow, p.out_w, p.w), we = adaptive_end(ow, p.out_w, p.w);
          const T g = dyp[oh * p.out_w + ow] / T((he - hs) * (we - ws));
          for (int64_t ih = hs; ih < he; ++ih)
            for (int64_t iw = ws; iw < we; ++iw) dxp[ih * p.w + iw] += g;
        }
      }
    }
  });
}

// 2x2 windows at stride 2 without padding or dilation: pool_isa.cpp's forward (its indices within a
// plane in 32-bit lanes for float32).
bool windows_2x2(DType dtype, const Pool2dParams& p) {
  return (dtype == DType::Float32 || dtype == DType::Float64) && p.kh == 2 && p.kw == 2 && p.stride_h == 2 &&
         p.stride_w == 2 && p.pad_h == 0 && p.pad_w == 0 && p.dil_h == 1 && p.dil_w == 1 && p.out_h == p.h / 2 &&
         p.out_w == p.w / 2 && p.h * p.w <= std::numeric_limits<int32_t>::max();
}

}  // namespace

void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, int64_t* indices) {
  if (windows_2x2(dtype, p)) {
    PYDL_ISA_CALL(max_pool_2x2_forward, dtype == DType::Float64, p.planes, p.h, p.w, x, y, indices);
    return;
  }
  if (dtype == DType::Float32 && p.h * p.w <= std::numeric_limits<int32_t>::max())
    max_forward<float, int32_t>(p, static_cast<const float*>(x), static_cast<float*>(y), indices);
  else
    PYDL_DISPATCH_FLOAT(dtype, T, max_forward<T, int64_t>(p, static_cast<const T*>(x), static_cast<T*>(y), indices));
}

void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* dy, const int64_t* indices, void* dx) {
  PYDL_DISPATCH_FLOAT(dtype, T, max_backward<T>(p, static_cast<const T*>(dy), indices, static_cast<T*>(dx)));
}

void avg_pool2d_forward(DType dtype, const Pool2dParams& p, bool count_include_pad, int64_t divisor_override,
                        const void* x, void* y) {
  PYDL_DISPATCH_FLOAT(dtype, T,
                      avg_forward<T>(p, count_include_pad, divisor_override, static_cast<const T*>(x),
                                     static_cast<T*>(y)));
}

void avg_pool2d_backward(DType dtype, const Pool2dParams& p, bool count_include_pad, int64_t divisor_override,
                         const void* dy, void* dx) {
  PYDL_DISPATCH_FLOAT(dtype, T,
                      avg_backward<T>(p, count_include_pad, divisor_override, static_cast<const T*>(dy),
                                      static_cast<T*>(dx)));
}

void adaptive_avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y) {
  PYDL_DISPATCH_FLOAT(dtype, T, adaptive_forward<T>(p, static_cast<const T*>(x), static_cast<T*>(y)));
}

void adaptive_avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* dy, void* dx) {
  PYDL_DISPATCH_FLOAT(dtype, T, adaptive_backward<T>(p, static_cast<const T*>(dy), static_cast<T*>(dx)));
}

}  // namespace pydl::cpu
