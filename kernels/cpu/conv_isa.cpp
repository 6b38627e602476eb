// Direct convolution, compiled once per ISA (PYDL_ISA): forward and weight gradient with
// the output channels in the vector lanes and no im2col. conv.cpp sends most layers here
// (and stride-1 input gradients, as a forward convolution with the flipped weight): im2col
// writes the input kh * kw times over in short runs, which for LeNet's 1->6 and 6->16 5x5
// layers costs more than the multiply-adds, and even for 64->64 3x3 costs a third as much.
//
// forward: for a tile of R output pixels of one row and VL output channels,
//            acc[r] (VL channels) += w[tap] (VL channels) * x[tap + pixel r]   for every tap
//          with R accumulators in registers; the input is first copied into a zero-padded
//          plane so no tap needs a bounds check. A row is staged as (pixel, channel) and
//          written out as channel rows.
// wgrad:   for a block of TB taps and VL output channels,
//            acc[t] += dy[pixel] (VL channels) * x[tap t + pixel]   for every pixel
//          with dy transposed to (pixel, channel) a few rows at a time; one partial sum per
//          slice of the batch, added up in a fixed order (reproducible results).
// Weights are repacked as (tap, channel) with the channels padded to a multiple of VL.
// With at most half a vector of output channels, half-width vectors are used.
//
// With few channels (at most 8 out for the forward and the weight gradient, in for the input
// gradient) at stride 1, the rows kernels put the output's pixels in the lanes instead (see
// "pixels in the lanes" below).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include <omp.h>

#include "kernels/common/conv.h"
#include "kernels/common/macros.h"
#include "kernels/common/unary.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/team.h"
#include "kernels/cpu/vec_bytes.h"

PYDL_KERNELS_BEGIN

namespace {

#if defined(__AVX512F__)
constexpr int kMaxR = 14;  // accumulators per forward tile (32 vector registers)
#else
constexpr int kMaxR = 12;  // 16 vector registers
#endif
constexpr int kTB = 8;                    // taps per wgrad block
constexpr int64_t kDyBytes = int64_t(1) << 18;  // wgrad's transposed copy of dy, per thread

// With few output channels the kernels use half-width vectors: fewer idle lanes, and on
// processors that split 512-bit operations in two (Zen 4) twice the instructions per cycle.
constexpr int kHalfBytes = kVecBytes >= 32 ? kVecBytes / 2 : kVecBytes;

template <class T, int VB>
struct VecOf {
  typedef T V __attribute__((vector_size(VB)));
};

thread_local ScratchBuffer tls_pad, tls_dyt, tls_row;

template <class T>
T* aligned_array(size_t n) {
  void* p = aligned_alloc(64, ((n ? n : 1) * sizeof(T) + 63) & ~size_t(63));
  if (!p) abort();
  return static_cast<T*>(p);
}

// The geometry shared by both kernels.
template <class T, int VB>
struct Direct {
  static constexpr int VL = VB / int(sizeof(T));
  const Conv2dParams& p;
  int64_t cin_g, cout_g, Kg, nblk, coutp, P, hp, wp;
  int64_t* tapoff;  // Kg offsets of tap (c, i, j) in the padded group planes

  explicit Direct(const Conv2dParams& params) : p(params) {
    cin_g = p.c_in / p.groups;
    cout_g = p.c_out / p.groups;
    Kg = cin_g * p.kh * p.kw;
    nblk = (cout_g + VL - 1) / VL;
    coutp = nblk * VL;
    P = p.out_h * p.out_w;
    hp = (p.out_h - 1) * p.stride_h + (p.kh - 1) * p.dil_h + 1;
    wp = (p.out_w - 1) * p.stride_w + (p.kw - 1) * p.dil_w + 1;
    tapoff = aligned_array<int64_t>(size_t(Kg));
    for (int64_t c = 0; c < cin_g; ++c)
      for (int64_t i = 0; i < p.kh; ++i)
        for (int64_t j = 0; j < p.kw; ++j) tapoff[(c * p.kh + i) * p.kw + j] = (c * hp + i * p.dil_h) * wp + j * p.dil_w;
  }
  ~Direct() { free(tapoff); }

  // The zero-padded copy of image x: (c_in, hp, wp), input pixel (ih, iw) at (ih + pad_h, iw + pad_w).
  void pad_image(const T* x, T* xp) const {
    const int64_t w_lo = p.pad_w < wp ? p.pad_w : wp;
    const int64_t w_hi = p.pad_w + p.w < wp ? p.pad_w + p.w : wp;
    for (int64_t c = 0; c < p.c_in; ++c)
      for (int64_t r = 0; r < hp; ++r) {
        T* dst = xp + (c * hp + r) * wp;
        const int64_t ih = r - p.pad_h;
        if (ih < 0 || ih >= p.h || w_hi <= w_lo) {
          memset(static_cast<void*>(dst), 0, sizeof(T) * size_t(wp));
          continue;
        }
        for (int64_t q = 0; q < w_lo; ++q) dst[q] = T(0);
        memcpy(static_cast<void*>(dst + w_lo), x + (c * p.h + ih) * p.w + (w_lo - p.pad_w), sizeof(T) * size_t(w_hi - w_lo));
        for (int64_t q = w_hi; q < wp; ++q) dst[q] = T(0);
      }
  }
};

// ------------------------------------------------------------------------------ forward

// R consecutive output pixels (input step sw) of one row, VL channels: out[r] = bias + sum over taps.
template <class T, int VB, int R, bool kUnit>
inline void forward_tile(const T* xb, int64_t sw, const T* wt, int64_t coutp, const int64_t* tapoff, int64_t Kg,
                         typename VecOf<T, VB>::V bias, typename VecOf<T, VB>::V* out) {
  using V = typename VecOf<T, VB>::V;
  V acc[R];
  for (int r = 0; r < R; ++r) acc[r] = bias;
  for (int64_t t = 0; t < Kg; ++t) {
    const V wv = *reinterpret_cast<const V*>(wt + t * coutp);
    const T* xt = xb + tapoff[t];
    for (int r = 0; r < R; ++r) acc[r] += wv * xt[kUnit ? r : r * sw];
  }
  for (int r = 0; r < R; ++r) out[r] = acc[r];
}

template <class T, int VB, bool kUnit>
void forward_tile_n(int R, const T* xb, int64_t sw, const T* wt, int64_t coutp, const int64_t* tapoff, int64_t Kg,
                    typename VecOf<T, VB>::V bias, typename VecOf<T, VB>::V* out) {
  switch (R) {
#define PYDL_CONV_TILE(n) \
  case n: forward_tile<T, VB, n, kUnit>(xb, sw, wt, coutp, tapoff, Kg, bias, out); break;
    PYDL_CONV_TILE(1) PYDL_CONV_TILE(2) PYDL_CONV_TILE(3) PYDL_CONV_TILE(4) PYDL_CONV_TILE(5)
    PYDL_CONV_TILE(6) PYDL_CONV_TILE(7) PYDL_CONV_TILE(8) PYDL_CONV_TILE(9) PYDL_CONV_TILE(10)
    PYDL_CONV_TILE(11) PYDL_CONV_TILE(12)
#if defined(__AVX512F__)
    PYDL_CONV_TILE(13) PYDL_CONV_TILE(14)
#endif
#undef PYDL_CONV_TILE
    default: break;
  }
}

template <class T, int VB>
void forward_typed(const Conv2dParams& p, const T* x, const T* w, const T* bias, bool relu, T* y) {
  using V = typename VecOf<T, VB>::V;
  constexpr int VL = Direct<T, VB>::VL;
  const Direct<T, VB> d(p);
  // Weights as (group, tap, channel), channels zero-padded to coutp; bias likewise.
  T* wt = aligned_array<T>(size_t(p.groups * d.Kg * d.coutp));
  T* bt = aligned_array<T>(size_t(p.groups * d.coutp));
  for (int64_t g = 0; g < p.groups; ++g) {
    for (int64_t t = 0; t < d.Kg; ++t)
      for (int64_t co = 0; co < d.coutp; ++co)
        wt[(g * d.Kg + t) * d.coutp + co] = co < d.cout_g ? w[((g * d.cout_g) + co) * d.Kg + t] : T(0);
    for (int64_t co = 0; co < d.coutp; ++co) bt[g * d.coutp + co] = bias && co < d.cout_g ? bias[g * d.cout_g + co] : T(0);
  }
  // Row tiles of balanced width <= kMaxR.
  const int64_t tiles = (p.out_w + kMaxR - 1) / kMaxR, rw = (p.out_w + tiles - 1) / tiles;
  const int64_t plane = p.c_in * d.hp * d.wp, cin_plane = d.cin_g * d.hp * d.wp;
  const bool unit = p.stride_w == 1;

  // Output rows (g, block, oh) of one padded image.
  auto rows = [&](const T* xp, T* yn, int64_t r0, int64_t r1) {
    // One output row of VL channels is staged as (pixel, channel), then written out as VL
    // runs of out_w pixels.
    V* staged = tls_row.get<V>(size_t(p.out_w));
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t oh = row % p.out_h, gb = row / p.out_h, b = gb % d.nblk, g = gb / d.nblk;
      const int64_t co0 = b * VL, valid = d.cout_g - co0 < VL ? d.cout_g - co0 : VL;
      const V bv = *reinterpret_cast<const V*>(bt + g * d.coutp + co0);
      const T* wg = wt + g * d.Kg * d.coutp + co0;
      for (int64_t ow0 = 0; ow0 < p.out_w; ow0 += rw) {
        const int R = int(p.out_w - ow0 < rw ? p.out_w - ow0 : rw);
        const T* xb = xp + g * cin_plane + oh * p.stride_h * d.wp + ow0 * p.stride_w;
        if (unit) forward_tile_n<T, VB, true>(R, xb, 1, wg, d.coutp, d.tapoff, d.Kg, bv, staged + ow0);
        else forward_tile_n<T, VB, false>(R, xb, p.stride_w, wg, d.coutp, d.tapoff, d.Kg, bv, staged + ow0);
      }
      T* yo = yn + (g * d.cout_g + co0) * d.P + oh * p.out_w;
      const ReluOp<T> op(0, 0);
      for (int64_t v = 0; v < valid; ++v)
        if (relu) for (int64_t ow = 0; ow < p.out_w; ++ow) yo[v * d.P + ow] = op.forward(staged[ow][v]);
        else for (int64_t ow = 0; ow < p.out_w; ++ow) yo[v * d.P + ow] = staged[ow][v];
    }
  };
  const int64_t nrows = p.groups * d.nblk * p.out_h;
  const int64_t work = nrows * p.out_w * d.Kg * VL;
  if (p.n >= omp_get_max_threads()) {
    parallel_ranges(p.n, work, [&](int64_t n0, int64_t n1) {
      T* xp = tls_pad.get<T>(size_t(plane));
      for (int64_t n = n0; n < n1; ++n) {
        d.pad_image(x + n * p.c_in * p.h * p.w, xp);
        rows(xp, y + n * p.c_out * d.P, 0, nrows);
      }
    });
  } else {
    T* xp = tls_pad.get<T>(size_t(plane));
    for (int64_t n = 0; n < p.n; ++n) {
      d.pad_image(x + n * p.c_in * p.h * p.w, xp);
      parallel_ranges(nrows, work / (nrows ? nrows : 1), [&](int64_t r0, int64_t r1) {
        rows(xp, y + n * p.c_out * d.P, r0, r1);
      });
    }
  }
  free(wt);
  free(bt);
}

// ------------------------------------------------------------------------------ weight gradient

// acc[t] += dy[pixel] * x[tap t + pixel] over the pixels of output rows [oh0, oh1) (dyt holds
// those rows), for TB taps starting at t0.
template <class T, int VB, int TB>
inline void wgrad_block(const Direct<T, VB>& d, const T* xg, const T* dyt, int64_t oh0, int64_t oh1, int64_t t0,
                        typename VecOf<T, VB>::V* sum) {
  using V = typename VecOf<T, VB>::V;
  const Conv2dParams& p = d.p;
  V acc[TB];
  int64_t off[TB];
  for (int t = 0; t < TB; ++t) {
    acc[t] = V{};
    off[t] = d.tapoff[t0 + t];
  }
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const T* xr = xg + oh * p.stride_h * d.wp;
    const T* dr = dyt + (oh - oh0) * p.out_w * d.coutp;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const V dv = *reinterpret_cast<const V*>(dr + ow * d.coutp);
      const T* xb = xr + ow * p.stride_w;
      for (int t = 0; t < TB; ++t) acc[t] += dv * xb[off[t]];
    }
  }
  for (int t = 0; t < TB; ++t) sum[t] += acc[t];
}

template <class T, int VB>
void wgrad_block_n(int TB, const Direct<T, VB>& d, const T* xg, const T* dyt, int64_t oh0, int64_t oh1, int64_t t0,
                   typename VecOf<T, VB>::V* sum) {
  switch (TB) {
#define PYDL_CONV_WB(n) \
  case n: wgrad_block<T, VB, n>(d, xg, dyt, oh0, oh1, t0, sum); break;
    PYDL_CONV_WB(1) PYDL_CONV_WB(2) PYDL_CONV_WB(3) PYDL_CONV_WB(4)
    PYDL_CONV_WB(5) PYDL_CONV_WB(6) PYDL_CONV_WB(7) PYDL_CONV_WB(8)
#undef PYDL_CONV_WB
    default: break;
  }
}

template <class T, int VB>
void wgrad_typed(const Conv2dParams& p, const T* dy, const T* x, T* dw) {
  using V = typename VecOf<T, VB>::V;
  constexpr int VL = Direct<T, VB>::VL;
  const Direct<T, VB> d(p);
  const int64_t acc_n = p.groups * d.Kg * d.coutp;  // (group, tap, channel)
  T* total = aligned_array<T>(size_t(acc_n));
  memset(static_cast<void*>(total), 0, sizeof(T) * size_t(acc_n));
  const int64_t plane = p.c_in * d.hp * d.wp, cin_plane = d.cin_g * d.hp * d.wp;
  const int64_t work = p.groups * d.nblk * d.Kg * d.P * VL;
  const int64_t tb = (d.Kg + (d.Kg + kTB - 1) / kTB - 1) / ((d.Kg + kTB - 1) / kTB);  // balanced tap blocks <= kTB
  // dy goes through a transposed copy of at most kDyBytes at a time: `rows` output rows.
  const int64_t row_bytes = int64_t(sizeof(T)) * p.groups * p.out_w * d.coutp;
  const int64_t rows = row_bytes >= kDyBytes ? 1 : kDyBytes / row_bytes;
  const int64_t chunk = (rows < p.out_h ? rows : p.out_h) * p.out_w;  // pixels per group in the copy

  // Output rows [oh0, oh1) of one image added to acc, for (group, block) pairs [j0, j1).
  auto image = [&](const T* xp, const T* dyt, int64_t oh0, int64_t oh1, T* acc, int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t g = j / d.nblk, b = j % d.nblk;
      const T* xg = xp + g * cin_plane;
      const T* dg = dyt + g * chunk * d.coutp + b * VL;
      for (int64_t t0 = 0; t0 < d.Kg; t0 += tb) {
        const int TB = int(d.Kg - t0 < tb ? d.Kg - t0 : tb);
        V part[kTB];
        for (int t = 0; t < TB; ++t) part[t] = *reinterpret_cast<const V*>(acc + (g * d.Kg + t0 + t) * d.coutp + b * VL);
        wgrad_block_n<T, VB>(TB, d, xg, dg, oh0, oh1, t0, part);
        for (int t = 0; t < TB; ++t) *reinterpret_cast<V*>(acc + (g * d.Kg + t0 + t) * d.coutp + b * VL) = part[t];
      }
    }
  };
  // Output rows [oh0, oh1) of dy of one image as (group, pixel, channel), channels
  // zero-padded. In blocks of 16 pixels, so the reads run along rows of dy (a column walk
  // with a stride of a power of two would keep missing the cache).
  auto transpose_dy = [&](const T* dyn, int64_t oh0, int64_t oh1, T* dyt) {
    const int64_t q0 = oh0 * p.out_w, q1 = oh1 * p.out_w;
    for (int64_t g = 0; g < p.groups; ++g)
      for (int64_t p0 = q0; p0 < q1; p0 += 16) {
        const int64_t p1 = p0 + 16 < q1 ? p0 + 16 : q1;
        T* blk = dyt + (g * chunk - q0) * d.coutp;
        for (int64_t co = 0; co < d.cout_g; ++co) {
          const T* src = dyn + (g * d.cout_g + co) * d.P;
          for (int64_t pix = p0; pix < p1; ++pix) blk[pix * d.coutp + co] = src[pix];
        }
        for (int64_t pix = p0; pix < p1; ++pix)
          for (int64_t co = d.cout_g; co < d.coutp; ++co) blk[pix * d.coutp + co] = T(0);
      }
  };
  // One image: pad it, then walk its output rows chunk by chunk.
  auto one_image = [&](int64_t n, T* xp, T* dyt, T* acc, bool split) {
    d.pad_image(x + n * p.c_in * p.h * p.w, xp);
    for (int64_t oh0 = 0; oh0 < p.out_h; oh0 += rows) {
      const int64_t oh1 = oh0 + rows < p.out_h ? oh0 + rows : p.out_h;
      transpose_dy(dy + n * p.c_out * d.P, oh0, oh1, dyt);
      if (!split) {
        image(xp, dyt, oh0, oh1, acc, 0, p.groups * d.nblk);
        continue;
      }
      // (group, block) pairs write disjoint parts of acc: split them among threads.
      parallel_ranges(p.groups * d.nblk, work / (p.groups * d.nblk), [&](int64_t j0, int64_t j1) {
        image(xp, dyt, oh0, oh1, acc, j0, j1);
      });
    }
  };
  const size_t dyt_count = size_t(p.groups * chunk * d.coutp);
  const int64_t slices = cpu::team_size();  // not the team of the moment: the same bits after a back-off
  if (p.n >= slices && slices > 1) {
    // One partial sum per slice of the batch, added up in slice order afterwards: the result
    // does not depend on which thread finishes first.
    T* parts = aligned_array<T>(size_t(slices * acc_n));
    memset(static_cast<void*>(parts), 0, sizeof(T) * size_t(slices * acc_n));
    parallel_ranges(slices, work * (p.n / slices), [&](int64_t s0, int64_t s1) {
      T* xp = tls_pad.get<T>(size_t(plane));
      T* dyt = tls_dyt.get<T>(dyt_count);
      for (int64_t sl = s0; sl < s1; ++sl)
        for (int64_t n = sl * p.n / slices; n < (sl + 1) * p.n / slices; ++n)
          one_image(n, xp, dyt, parts + sl * acc_n, false);
    });
    for (int64_t sl = 0; sl < slices; ++sl)
      for (int64_t i = 0; i < acc_n; ++i) total[i] += parts[sl * acc_n + i];
    free(parts);
  } else {
    T* xp = tls_pad.get<T>(size_t(plane));
    T* dyt = tls_dyt.get<T>(dyt_count);
    for (int64_t n = 0; n < p.n; ++n) one_image(n, xp, dyt, total, true);
  }
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t co = 0; co < d.cout_g; ++co)
      for (int64_t t = 0; t < d.Kg; ++t) dw[(g * d.cout_g + co) * d.Kg + t] = total[(g * d.Kg + t) * d.coutp + co];
  free(total);
}

// Half-width vectors when the output channels of a group fit in half a vector.
template <class T>
bool half_width(int64_t channels) {
  return kHalfBytes < kVecBytes && channels * int64_t(sizeof(T)) <= kHalfBytes;
}

// ------------------------------------------------------------------------------ pixels in the lanes

// A stride-1, undilated correlation with up to 8 output channels, the output's pixels in the lanes:
//   out[c, y, x] = bias[c] + sum over s, i, j of w[c, s, i, j] * src[s, y + i - pad_h, x + j - pad_w]
// (src zero outside its planes). A convolution's forward with at most 8 output channels (LeNet-5's first:
// 6 channels from 1, 2.0 ms at batch 512 with the channels in the lanes of a half-width vector), and its
// input gradient with at most 8 input channels as the correlation of dy with the flipped weight (LeNet-5's
// second: 4.2 ms by im2col, whose col2im scattered rows of 10). Each image's planes are copied into
// zero-padded ones first; two output rows at a time share each weight's broadcast.
struct RowsCorr {
  int64_t srcs, src_h, src_w, outs, out_h, out_w, kh, kw, pad_h, pad_w;
};

// One image's source planes into the padded ones (rows prow apart, planes pplane apart): row r at padded
// row r + pad_h, column c at c + pad_w; the padding, zeroed once, stays zero.
template <class T>
void pad_planes(const RowsCorr& q, const T* src, int64_t prow, int64_t pplane, T* padded) {
  for (int64_t sc = 0; sc < q.srcs; ++sc)
    for (int64_t r = 0; r < q.src_h; ++r)
      memcpy(static_cast<void*>(padded + sc * pplane + (r + q.pad_h) * prow + q.pad_w),
             src + (sc * q.src_h + r) * q.src_w, sizeof(T) * size_t(q.src_w));
}

template <class T, int CB>
void corr_channels(const RowsCorr& q, const T* padded, int64_t prow, int64_t pplane, const T* wt, const T* bias,
                   bool relu, T* out) {
  using V = typename VecOf<T, kVecBytes>::V;
  constexpr int VL = kVecBytes / int(sizeof(T));
  for (int64_t y = 0; y < q.out_h; y += 2) {
    const int rows = y + 1 < q.out_h ? 2 : 1;
    // Tap rows reaching a row of src from either output row: y + r + i - pad_h in [0, src_h).
    const int64_t i0 = std::max<int64_t>(0, q.pad_h - y - rows + 1), i1 = std::min(q.kh, q.src_h + q.pad_h - y);
    for (int64_t x0 = 0; x0 < q.out_w; x0 += VL) {
      // The last vector of a row ends at its end (recomputing a few columns), so stores stay whole; a
      // row shorter than a vector goes through a copy.
      const int64_t x = x0 + VL > q.out_w && q.out_w >= VL ? q.out_w - VL : x0;
      V acc[2][CB];
      for (int c = 0; c < CB; ++c) acc[0][c] = acc[1][c] = V{} + (bias ? bias[c] : T(0));
      for (int64_t sc = 0; sc < q.srcs; ++sc)
        for (int64_t i = i0; i < i1; ++i) {
          const T* src = padded + sc * pplane + (y + i) * prow + x;
          const T* wr = wt + ((sc * q.kh + i) * q.kw) * CB;
          for (int64_t j = 0; j < q.kw; ++j) {
            V v0, v1;
            __builtin_memcpy(&v0, src + j, sizeof(V));
            __builtin_memcpy(&v1, src + j + prow, sizeof(V));
            for (int c = 0; c < CB; ++c) {
              acc[0][c] += v0 * wr[j * CB + c];
              acc[1][c] += v1 * wr[j * CB + c];
            }
          }
        }
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < CB; ++c) {
          const V v = relu ? relu_vector(acc[r][c]) : acc[r][c];
          T* o = out + (c * q.out_h + y + r) * q.out_w + x;
          if (q.out_w >= VL) {
            __builtin_memcpy(o, &v, sizeof(V));
          } else {
            alignas(64) T lanes[VL];
            __builtin_memcpy(lanes, &v, sizeof(V));
            for (int64_t l = 0; l < q.out_w; ++l) o[l] = lanes[l];
          }
        }
    }
  }
}

template <class T>
void corr_rows(const RowsCorr& q, int64_t images, const T* src, const T* w, const T* bias, bool relu, T* out) {
  constexpr int VL = kVecBytes / int(sizeof(T));
  // Source row r at padded row r + pad_h, column c at c + pad_w; out_h + kh rows (the second of a
  // pair of output rows past the last reads one more), whole vectors past the last output column.
  const int64_t prow = (q.out_w + VL - 1) / VL * VL + q.kw, pplane = (q.out_h + q.kh) * prow;
  const int64_t taps = q.srcs * q.kh * q.kw;
  // Weights as (s, i, j, channel): each tap's weights together.
  std::vector<T> wt(size_t(q.outs * taps));
  for (int64_t c = 0; c < q.outs; ++c)
    for (int64_t t = 0; t < taps; ++t) wt[size_t(t * q.outs + c)] = w[c * taps + t];
  const int64_t src_plane = q.src_h * q.src_w, out_plane = q.out_h * q.out_w;
  parallel_ranges(images, q.outs * out_plane * taps, [&](int64_t n0, int64_t n1) {
    T* padded = tls_pad.get<T>(size_t(q.srcs * pplane));
    memset(static_cast<void*>(padded), 0, sizeof(T) * size_t(q.srcs * pplane));
    for (int64_t n = n0; n < n1; ++n) {
      pad_planes(q, src + n * q.srcs * src_plane, prow, pplane, padded);
      T* on = out + n * q.outs * out_plane;
      switch (q.outs) {
#define PYDL_CORR_CHANNELS(k) \
  case k: corr_channels<T, k>(q, padded, prow, pplane, wt.data(), bias, relu, on); break;
        PYDL_CORR_CHANNELS(1) PYDL_CORR_CHANNELS(2) PYDL_CORR_CHANNELS(3) PYDL_CORR_CHANNELS(4)
        PYDL_CORR_CHANNELS(5) PYDL_CORR_CHANNELS(6) PYDL_CORR_CHANNELS(7) PYDL_CORR_CHANNELS(8)
#undef PYDL_CORR_CHANNELS
        default: break;
      }
    }
  });
}

// The weight gradient of such a correlation (the forward's shapes): dw[c, s, i, j] = sum over images and
// pixels of dy[c, y, x] * src[s, y + i - pad_h, x + j - pad_w], as vector sums along the rows (dy copied with
// zeros past each row's end), a block of CB channels by up to 8 taps j in registers, added into vector
// partials per (c, s, i, j) after each image, their lanes summed at the end. One partial per slice of the
// batch (sliced by the team size set), added up in slice order: the same bits from any team of the moment.
// LeNet-5's first conv at batch 512: 2.6 ms with the channels in the lanes of a half-width vector.
template <class T, int CB>
void wgrad_channels(const RowsCorr& q, const T* padded, const T* dyp, int64_t prow, int64_t pplane, int64_t c0,
                    typename VecOf<T, kVecBytes>::V* sums) {
  using V = typename VecOf<T, kVecBytes>::V;
  constexpr int VL = kVecBytes / int(sizeof(T)), kMaxKW = 8;
  const int64_t drow = prow - q.kw;  // dy's padded rows: whole vectors
  for (int64_t sc = 0; sc < q.srcs; ++sc)
    for (int64_t i = 0; i < q.kh; ++i) {
      V acc[CB][kMaxKW];
      V* part = sums + ((c0 * q.srcs + sc) * q.kh + i) * q.kw;  // (c, s, i, j) at part[c * srcs * kh * kw + j]
      const int64_t cstride = q.srcs * q.kh * q.kw;
      for (int c = 0; c < CB; ++c)
#pragma GCC unroll 8
        for (int j = 0; j < kMaxKW; ++j) acc[c][j] = j < q.kw ? part[c * cstride + j] : V{};
      for (int64_t y = 0; y < q.out_h; ++y) {
        const T* src = padded + sc * pplane + (y + i) * prow;
        for (int64_t x = 0; x < drow; x += VL) {
          V d[CB];
          for (int c = 0; c < CB; ++c)
            __builtin_memcpy(&d[c], dyp + ((c0 + c) * q.out_h + y) * drow + x, sizeof(V));
#pragma GCC unroll 8
          for (int j = 0; j < kMaxKW; ++j) {
            if (j >= q.kw) break;
            V v;
            __builtin_memcpy(&v, src + x + j, sizeof(V));
            for (int c = 0; c < CB; ++c) acc[c][j] += d[c] * v;
          }
        }
      }
      for (int c = 0; c < CB; ++c)
#pragma GCC unroll 8
        for (int j = 0; j < kMaxKW; ++j)
          if (j < q.kw) part[c * cstride + j] = acc[c][j];
    }
}

template <class T>
void wgrad_rows(const RowsCorr& q, int64_t images, const T* src, const T* dy, T* dw) {
  using V = typename VecOf<T, kVecBytes>::V;
  constexpr int VL = kVecBytes / int(sizeof(T)), kCB = 3;
  const int64_t drow = (q.out_w + VL - 1) / VL * VL, prow = drow + q.kw, pplane = (q.out_h + q.kh) * prow;
  const int64_t taps = q.srcs * q.kh * q.kw, wsize = q.outs * taps;
  const int64_t src_plane = q.src_h * q.src_w, out_plane = q.out_h * q.out_w;
  const int64_t slices = std::max<int64_t>(1, std::min<int64_t>(cpu::team_size(), images));
  std::vector<T> parts(size_t(slices * wsize));
  parallel_ranges(slices, (images / slices) * wsize * out_plane, [&](int64_t s0, int64_t s1) {
    T* padded = tls_pad.get<T>(size_t(q.srcs * pplane + q.outs * q.out_h * drow));
    T* dyp = padded + q.srcs * pplane;
    memset(static_cast<void*>(padded), 0, sizeof(T) * size_t(q.srcs * pplane + q.outs * q.out_h * drow));
    V* sums = tls_row.get<V>(size_t(wsize));
    for (int64_t sl = s0; sl < s1; ++sl) {
      for (int64_t t = 0; t < wsize; ++t) sums[t] = V{};
      for (int64_t n = sl * images / slices; n < (sl + 1) * images / slices; ++n) {
        pad_planes(q, src + n * q.srcs * src_plane, prow, pplane, padded);
        for (int64_t c = 0; c < q.outs; ++c)
          for (int64_t y = 0; y < q.out_h; ++y)
            memcpy(static_cast<void*>(dyp + (c * q.out_h + y) * drow), dy + (n * q.outs + c) * out_plane + y * q.out_w,
                   sizeof(T) * size_t(q.out_w));
        for (int64_t c0 = 0; c0 < q.outs; c0 += kCB) {
          switch (std::min<int64_t>(kCB, q.outs - c0)) {
            case 1: wgrad_channels<T, 1>(q, padded, dyp, prow, pplane, c0, sums); break;
            case 2: wgrad_channels<T, 2>(q, padded, dyp, prow, pplane, c0, sums); break;
            default: wgrad_channels<T, kCB>(q, padded, dyp, prow, pplane, c0, sums); break;
          }
        }
      }
      for (int64_t t = 0; t < wsize; ++t) {
        T total = T(0);
        for (int l = 0; l < VL; ++l) total += sums[t][l];
        parts[size_t(sl * wsize + t)] = total;
      }
    }
  });
  for (int64_t t = 0; t < wsize; ++t) {
    T total = T(0);
    for (int64_t sl = 0; sl < slices; ++sl) total += parts[size_t(sl * wsize + t)];
    dw[t] = total;
  }
}

template <class T>
void corr_rows_any(const Conv2dParams& p, bool input_grad, const void* src, const void* w, const void* bias,
                   bool relu, void* out) {
  const RowsCorr q = input_grad ? RowsCorr{p.c_out, p.out_h, p.out_w, p.c_in, p.h, p.w, p.kh, p.kw,
                                           p.kh - 1 - p.pad_h, p.kw - 1 - p.pad_w}
                                : RowsCorr{p.c_in, p.h, p.w, p.c_out, p.out_h, p.out_w, p.kh, p.kw, p.pad_h, p.pad_w};
  corr_rows<T>(q, p.n, static_cast<const T*>(src), static_cast<const T*>(w), static_cast<const T*>(bias), relu,
               static_cast<T*>(out));
}

template <class T>
void wgrad_rows_any(const Conv2dParams& p, const void* dy, const void* x, void* dw) {
  const RowsCorr q{p.c_in, p.h, p.w, p.c_out, p.out_h, p.out_w, p.kh, p.kw, p.pad_h, p.pad_w};
  wgrad_rows<T>(q, p.n, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw));
}

template <class T>
void forward_any(const Conv2dParams& p, const void* x, const void* w, const void* bias, bool relu, void* y) {
  const T *xt = static_cast<const T*>(x), *wt = static_cast<const T*>(w), *bt = static_cast<const T*>(bias);
  if (half_width<T>(p.c_out / p.groups)) forward_typed<T, kHalfBytes>(p, xt, wt, bt, relu, static_cast<T*>(y));
  else forward_typed<T, kVecBytes>(p, xt, wt, bt, relu, static_cast<T*>(y));
}

template <class T>
void wgrad_any(const Conv2dParams& p, const void* dy, const void* x, void* dw) {
  const T *dyt = static_cast<const T*>(dy), *xt = static_cast<const T*>(x);
  if (half_width<T>(p.c_out / p.groups)) wgrad_typed<T, kHalfBytes>(p, dyt, xt, static_cast<T*>(dw));
  else wgrad_typed<T, kVecBytes>(p, dyt, xt, static_cast<T*>(dw));
}

}  // namespace

void conv_direct_lanes(bool is_double, int64_t channels, int64_t* lanes) {
  const bool half = is_double ? half_width<double>(channels) : half_width<float>(channels);
  *lanes = (half ? kHalfBytes : kVecBytes) / (is_double ? 8 : 4);
}

void conv_direct_forward(bool is_double, const Conv2dParams& p, const void* x, const void* w, const void* bias,
                         bool relu, void* y) {
  if (is_double) forward_any<double>(p, x, w, bias, relu, y);
  else forward_any<float>(p, x, w, bias, relu, y);
}

void conv_rows_correlation(bool is_double, const Conv2dParams& p, bool input_grad, const void* src, const void* w,
                           const void* bias, bool relu, void* out) {
  if (is_double) corr_rows_any<double>(p, input_grad, src, w, bias, relu, out);
  else corr_rows_any<float>(p, input_grad, src, w, bias, relu, out);
}

void conv_rows_backward_weight(bool is_double, const Conv2dParams& p, const void* dy, const void* x, void* dw) {
  if (is_double) wgrad_rows_any<double>(p, dy, x, dw);
  else wgrad_rows_any<float>(p, dy, x, dw);
}

void conv_direct_backward_weight(bool is_double, const Conv2dParams& p, const void* dy, const void* x, void* dw) {
  if (is_double) wgrad_any<double>(p, dy, x, dw);
  else wgrad_any<float>(p, dy, x, dw);
}

PYDL_KERNELS_END
