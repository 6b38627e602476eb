// Shape and index math for 2-d convolution and pooling (NCHW), shared by the CPU and
// CUDA kernels: output sizes, the output range a kernel tap can reach without falling
// into the padding, and pooling windows. Plain integer arithmetic, no containers.
#pragma once
#include <stdint.h>

#include "kernels/common/macros.h"

namespace pydl {

// One convolution: x (n, c_in, h, w) * weight (c_out, c_in / groups, kh, kw) -> (n, c_out, out_h, out_w).
// pad_h / pad_w are the top / left padding; out_h / out_w already account for the bottom / right.
struct Conv2dParams {
  int64_t n = 0, c_in = 0, h = 0, w = 0;
  int64_t c_out = 0, kh = 0, kw = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int64_t groups = 1;
  int64_t out_h = 0, out_w = 0;
};

// One pooling window layout: x (planes, h, w) -> (planes, out_h, out_w). Padding is symmetric.
struct Pool2dParams {
  int64_t planes = 0, h = 0, w = 0;
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int64_t out_h = 0, out_w = 0;
};

}  // namespace pydl

PYDL_KERNELS_BEGIN

// floor(a / b) for b > 0 and any sign of a.
PYDL_HD int64_t div_floor(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
PYDL_HD int64_t div_ceil(int64_t a, int64_t b) { return -div_floor(-a, b); }

// Output size of a convolution along one axis (pad_total = both sides); the caller checks
// that the dilated kernel fits (in + pad_total >= dil * (k - 1) + 1) first.
PYDL_HD int64_t conv_out_size(int64_t in, int64_t pad_total, int64_t k, int64_t stride, int64_t dil) {
  return (in + pad_total - dil * (k - 1) - 1) / stride + 1;
}

// Output size of a pooling along one axis, as PyTorch: with ceil_mode the last window may
// hang over the edge, but must start inside the input or the left padding. May return <= 0.
PYDL_HD int64_t pool_out_size(int64_t in, int64_t pad, int64_t k, int64_t stride, int64_t dil, bool ceil_mode) {
  const int64_t span = in + 2 * pad - dil * (k - 1) - 1;
  int64_t out = div_floor(span + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// The outputs o in [*lo, *hi) (within [0, out)) whose tap at offset `off` = k * dil - pad
// reads a real input: 0 <= o * stride + off < in. Empty when *lo >= *hi.
PYDL_HD void tap_range(int64_t in, int64_t out, int64_t stride, int64_t off, int64_t* lo, int64_t* hi) {
  int64_t a = div_ceil(-off, stride), b = div_floor(in - 1 - off, stride) + 1;
  *lo = a < 0 ? 0 : a;
  *hi = b > out ? out : b;
}

// Adaptive pooling's window along one axis for output o: [start, end), as PyTorch.
PYDL_HD int64_t adaptive_start(int64_t o, int64_t out, int64_t in) { return (o * in) / out; }
PYDL_HD int64_t adaptive_end(int64_t o, int64_t out, int64_t in) { return ((o + 1) * in + out - 1) / out; }

PYDL_KERNELS_END
