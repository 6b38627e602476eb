// Pooling window math shared by the CPU and CUDA kernels (kernels/{cpu,cuda}/pool.*):
// where a dilated max-pool window's first real tap lies and whether it has one, PyTorch's
// clipped average-pool window and its divisor, and the outputs whose windows can hold a
// given input.
#pragma once
#include <stdint.h>

#include "kernels/common/conv.h"
#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

// First in-bounds tap of a dilated window starting at `start` (possibly in the padding).
PYDL_HD int64_t first_tap(int64_t start, int64_t dil) {
  return start < 0 ? start + div_ceil(-start, dil) * dil : start;
}

// Whether max-pool window (oh, ow) holds a real input: only dilation can leave one wholly in
// the padding (its value is then -inf, its index first_tap's position, perhaps past its row).
PYDL_HD bool window_has_input(const Pool2dParams& p, int64_t oh, int64_t ow) {
  const int64_t hs = oh * p.stride_h - p.pad_h, ws = ow * p.stride_w - p.pad_w;
  const int64_t r = first_tap(hs, p.dil_h), c = first_tap(ws, p.dil_w);
  return r < p.h && r <= hs + (p.kh - 1) * p.dil_h && c < p.w && c <= ws + (p.kw - 1) * p.dil_w;
}

// PyTorch's average-pool window: bounds clipped to the input, and the divisor.
struct AvgWindow {
  int64_t hs, he, ws, we, div;  // div 0: an empty window (its output is 0)
};

PYDL_HD AvgWindow avg_window(const Pool2dParams& p, int64_t oh, int64_t ow, bool include_pad, int64_t override_) {
  AvgWindow a;
  const int64_t hs = oh * p.stride_h - p.pad_h, ws = ow * p.stride_w - p.pad_w;
  const int64_t he = hs + p.kh < p.h + p.pad_h ? hs + p.kh : p.h + p.pad_h;
  const int64_t we = ws + p.kw < p.w + p.pad_w ? ws + p.kw : p.w + p.pad_w;
  const int64_t pool_size = (he - hs) * (we - ws);
  a.hs = hs > 0 ? hs : 0;
  a.ws = ws > 0 ? ws : 0;
  a.he = he < p.h ? he : p.h;
  a.we = we < p.w ? we : p.w;
  a.div = override_ > 0 ? override_ : include_pad ? pool_size : (a.he - a.hs) * (a.we - a.ws);
  if (a.hs >= a.he || a.ws >= a.we) a.div = 0;
  return a;
}

// The outputs [*lo, *hi) along one axis whose (unclipped, dilated) window span
// [o * stride - pad, o * stride - pad + dil * (k - 1)] contains input position i.
PYDL_HD void windows_over(int64_t i, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dil, int64_t* lo,
                          int64_t* hi) {
  const int64_t a = div_ceil(i + pad - dil * (k - 1), stride), b = div_floor(i + pad, stride) + 1;
  *lo = a < 0 ? 0 : a;
  *hi = b > out ? out : b;
}

// Adaptive pooling: the outputs [*lo, *hi) whose windows [adaptive_start, adaptive_end)
// contain input position i (in inputs along an axis with `out` outputs).
PYDL_HD void adaptive_windows_over(int64_t i, int64_t out, int64_t in, int64_t* lo, int64_t* hi) {
  const int64_t a = (i * out) / in, b = ((i + 1) * out - 1) / in + 1;
  *lo = a;
  *hi = b > out ? out : b;
}

PYDL_KERNELS_END
