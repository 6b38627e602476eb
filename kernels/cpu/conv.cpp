// 2-d convolution, NCHW (float32 and float64): dispatch between two kernel families.
//
// Direct kernels (conv_isa.cpp, per ISA) keep the output channels in the vector lanes and
// need no im2col; they run the forward and the weight gradient of most layers, and the
// input gradient of stride-1 layers (as a forward convolution of dy with the flipped
// weight). im2col + GEMM (this file) runs 1x1 stride-1 layers (no im2col needed then),
// forwards with many output channels but few taps, and the input gradients the direct
// path does not take. The choice is per call, from the shapes (see path_for_*).
//
// im2col + GEMM: the work goes in blocks of output columns, several whole images side by
// side when an image is small, or a chunk of one image's output pixels when it is large.
// For a block of width q (P = out_h * out_w pixels per image; K = c_in / groups * kh * kw
// rows per group, ordered (c, i, j) like the weight), per group g:
//   forward   col (K x q) = im2col(x);   y[g] (c_out/g x q) = w[g] @ col[g]        (+ bias)
//   dgrad     dcol[g] = w[g]^T @ dy[g];  dx += col2im(dcol)
//   wgrad     dw[g] += dy[g] @ col[g]^T
// One GEMM per block and group: batching small images makes the GEMM wide enough to run
// at full speed (and packs the weight once for many images). Where a block spans several
// images, y and dy go through a (c_out x q) staging buffer, since their images are not
// side by side in memory.
//
// Threads: with at least as many images as threads, each thread takes a contiguous run of
// images with its own buffers and runs its GEMMs single-threaded; wgrad sums one partial
// dw per thread, in a fixed order (so results are reproducible). With fewer images, images go one at a time and the GEMM and im2col are
// threaded. The buffers are thread-local, reused from call to call, and bounded in size
// (kBlockBytes) whatever the batch or image size.
#include "kernels/cpu/conv.h"

#include <string.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include <omp.h>

#include "kernels/common/unary.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"

PYDL_ISA_DECLARE(void conv_direct_lanes(bool is_double, int64_t channels, int64_t* lanes))
PYDL_ISA_DECLARE(void conv_direct_forward(bool is_double, const Conv2dParams& p, const void* x, const void* w,
                                          const void* bias, bool relu, void* y))
PYDL_ISA_DECLARE(void conv_rows_correlation(bool is_double, const Conv2dParams& p, bool input_grad, const void* src,
                                            const void* w, const void* bias, bool relu, void* out))
PYDL_ISA_DECLARE(void conv_rows_backward_weight(bool is_double, const Conv2dParams& p, const void* dy, const void* x,
                                                void* dw))
PYDL_ISA_DECLARE(void conv_direct_backward_weight(bool is_double, const Conv2dParams& p, const void* dy,
                                                  const void* x, void* dw))

namespace pydl::cpu {

using kernels::parallel_ranges;
using kernels::tap_range;

namespace {

// A thread's col (and staging) buffer holds about this many bytes, unless a single block
// of kMinChunk pixels needs more.
constexpr int64_t kBlockBytes = int64_t(1) << 19;
constexpr int64_t kMinChunk = 32;

thread_local kernels::ScratchBuffer tls_col, tls_stage;

struct Layout {
  int64_t P, cin_g, cout_g, Kg, K;
  int64_t images;  // whole images per block (> 1 only when an image is small)
  int64_t chunk;   // pixels per block when a block is (part of) one image
  bool pointwise;
};

Layout layout(const Conv2dParams& p, size_t itemsize) {
  Layout l;
  l.P = p.out_h * p.out_w;
  l.cin_g = p.c_in / p.groups;
  l.cout_g = p.c_out / p.groups;
  l.Kg = l.cin_g * p.kh * p.kw;
  l.K = l.Kg * p.groups;
  l.pointwise = p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0 &&
                p.out_h == p.h && p.out_w == p.w;
  const int64_t image_bytes = std::max<int64_t>(1, std::max(l.K, p.c_out) * l.P * int64_t(itemsize));
  l.images = l.pointwise ? 1 : std::max<int64_t>(1, kBlockBytes / image_bytes);
  const int64_t fit = kBlockBytes / std::max<int64_t>(1, l.K * int64_t(itemsize));
  l.chunk = l.pointwise || fit >= l.P ? l.P : std::min(l.P, std::max(kMinChunk, fit & ~int64_t(15)));
  return l;
}

// One block: images [n, n + nb) whole (nb > 1, p0 = 0, p1 = P), or pixels [p0, p1) of image n.
struct Block {
  int64_t n, nb, p0, p1;
  int64_t pixels() const { return p1 - p0; }
  int64_t width() const { return nb * (p1 - p0); }
};

// Calls fn(block) for the blocks covering images [n0, n1).
template <class Fn>
void for_each_block(const Layout& l, int64_t n0, int64_t n1, Fn fn) {
  for (int64_t n = n0; n < n1;) {
    const int64_t nb = std::min(l.images, n1 - n);
    if (nb > 1 || l.chunk >= l.P) {
      fn(Block{n, nb, 0, l.P});
    } else {
      for (int64_t p0 = 0; p0 < l.P; p0 += l.chunk) fn(Block{n, 1, p0, std::min(l.P, p0 + l.chunk)});
    }
    n += nb;
  }
}

// One output row's run [ow0, ow1) of a col row: taps in [lo, hi) read src[ow * sw], the
// others fall in the padding and read zero.
template <class T>
inline void gather_run(T* d, const T* src, int64_t ow0, int64_t ow1, int64_t lo, int64_t hi, int64_t sw) {
  const int64_t a = std::min(std::max(ow0, lo), ow1), b = std::max(std::min(ow1, hi), a);
  for (int64_t ow = ow0; ow < a; ++ow) d[ow - ow0] = T(0);
  if (sw == 1) {
    for (int64_t ow = a; ow < b; ++ow) d[ow - ow0] = src[ow];
  } else {
    for (int64_t ow = a; ow < b; ++ow) d[ow - ow0] = src[ow * sw];
  }
  for (int64_t ow = b; ow < ow1; ++ow) d[ow - ow0] = T(0);
}

// The transpose of gather_run: src[ow * sw] += d for the taps in [lo, hi).
template <class T>
inline void scatter_run(const T* d, T* dst, int64_t ow0, int64_t ow1, int64_t lo, int64_t hi, int64_t sw) {
  const int64_t a = std::max(ow0, lo), b = std::min(ow1, hi);
  if (sw == 1) {
    for (int64_t ow = a; ow < b; ++ow) dst[ow] += d[ow - ow0];
  } else {
    for (int64_t ow = a; ow < b; ++ow) dst[ow * sw] += d[ow - ow0];
  }
}

// Walks the col rows of input channels [c0, c1) of one image over its output pixels
// [p0, p1) (col rows ld apart): for each tap (c, i, j) and each output row oh it covers,
// calls run(col_row + offset of (oh, ow0), plane_row, ow0, ow1, lo, hi), where plane_row
// points at input row ih = oh * stride_h + i * dil_h - pad_h shifted by the tap's column
// offset (nullptr when ih falls in the padding), and [lo, hi) are the outputs whose input
// column lies inside the image.
template <class T, class Plane, class Run>
inline void walk_taps(const Conv2dParams& p, Plane* x, int64_t c0, int64_t c1, int64_t p0, int64_t p1, T* col,
                      int64_t ld, Run run) {
  const int64_t ow_n = p.out_w;
  for (int64_t c = c0; c < c1; ++c) {
    Plane* xc = x + c * p.h * p.w;
    for (int64_t i = 0; i < p.kh; ++i) {
      const int64_t ioff = i * p.dil_h - p.pad_h;
      for (int64_t j = 0; j < p.kw; ++j) {
        const int64_t joff = j * p.dil_w - p.pad_w;
        int64_t lo, hi;
        tap_range(p.w, ow_n, p.stride_w, joff, &lo, &hi);
        T* row = col + ((c * p.kh + i) * p.kw + j) * ld - p0;  // row[pix] for pix in [p0, p1)
        int64_t oh = p0 / ow_n, ow0 = p0 - oh * ow_n;
        for (int64_t pix = p0; pix < p1; ++oh, ow0 = 0) {
          const int64_t ow1 = std::min(ow_n, ow0 + (p1 - pix));
          const int64_t ih = oh * p.stride_h + ioff;
          Plane* src = ih >= 0 && ih < p.h ? xc + ih * p.w + joff : nullptr;
          run(row + pix, src, ow0, ow1, lo, hi);
          pix += ow1 - ow0;
        }
      }
    }
  }
}

// col rows (ld apart) for input channels [c0, c1) of image x, pixels [p0, p1).
template <class T>
void im2col(const Conv2dParams& p, const T* x, int64_t c0, int64_t c1, int64_t p0, int64_t p1, T* col, int64_t ld) {
  const int64_t sw = p.stride_w;
  walk_taps(p, x, c0, c1, p0, p1, col, ld, [sw](T* d, const T* src, int64_t ow0, int64_t ow1, int64_t lo, int64_t hi) {
    if (src) gather_run(d, src, ow0, ow1, lo, hi, sw);
    else memset(static_cast<void*>(d), 0, sizeof(T) * size_t(ow1 - ow0));
  });
}

// dx[c] += the col rows (ld apart) of channel c, for channels [c0, c1), pixels [p0, p1).
template <class T>
void col2im(const Conv2dParams& p, const T* col, int64_t c0, int64_t c1, int64_t p0, int64_t p1, int64_t ld, T* dx) {
  const int64_t sw = p.stride_w;
  walk_taps(p, dx, c0, c1, p0, p1, const_cast<T*>(col), ld,
            [sw](T* d, T* dst, int64_t ow0, int64_t ow1, int64_t lo, int64_t hi) {
              if (dst) scatter_run<T>(d, dst, ow0, ow1, lo, hi, sw);
            });
}

GemmArgs gemm_args(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda, const void* b,
                   int64_t ldb, void* c, int64_t ldc, double beta) {
  return GemmArgs{ta, tb, m, n, k, /*alpha=*/1.0, beta, a, lda, b, ldb, c, ldc};
}

// Runs fn(begin, end) over the images: split among threads when there are enough of them,
// else in one call (whose GEMMs and im2col then use the threads).
template <class Fn>
void over_images(const Conv2dParams& p, int64_t work_per_image, Fn fn) {
  const int nt = omp_get_max_threads();
  if (nt > 1 && p.n >= nt && !omp_in_parallel()) parallel_ranges(p.n, work_per_image, fn);
  else fn(int64_t(0), p.n);
}

template <class T>
struct Conv {
  const Conv2dParams& p;
  Layout l;
  DType dt;
  int64_t chw, yhw;  // elements per input image, per output image

  explicit Conv(const Conv2dParams& params)
      : p(params), l(layout(params, sizeof(T))), dt(sizeof(T) == 4 ? DType::Float32 : DType::Float64),
        chw(params.c_in * params.h * params.w), yhw(params.c_out * params.out_h * params.out_w) {}

  // col (K x width) for the block's images and pixels.
  void im2col_block(const T* x, const Block& b, T* col) const {
    const int64_t pc = b.pixels(), ld = b.width();
    for (int64_t k = 0; k < b.nb; ++k)
      parallel_ranges(p.c_in, p.kh * p.kw * pc, [&](int64_t c0, int64_t c1) {
        im2col(p, x + (b.n + k) * chw, c0, c1, b.p0, b.p1, col + k * pc, ld);
      });
  }

  // The block's columns of a (n, c_out, P) array: in place when the block is one image
  // (ld P), else copied side by side into stage (c_out x width).
  const T* out_columns(const T* y, const Block& b, T* stage, int64_t* ld) const {
    if (b.nb == 1) {
      *ld = l.P;
      return y + b.n * yhw + b.p0;
    }
    *ld = b.width();
    for (int64_t k = 0; k < b.nb; ++k)
      for (int64_t co = 0; co < p.c_out; ++co)
        memcpy(static_cast<void*>(stage + co * *ld + k * l.P), y + (b.n + k) * yhw + co * l.P, sizeof(T) * size_t(l.P));
    return stage;
  }

  // This thread's scratch: im2col columns (none for a pointwise convolution), and a stage
  // for the output columns of several images (none when a block holds one image).
  T* col_scratch() const { return l.pointwise ? nullptr : tls_col.get<T>(l.K * std::max(l.images * l.P, l.chunk)); }
  T* stage_scratch() const { return l.images > 1 ? tls_stage.get<T>(p.c_out * l.images * l.P) : nullptr; }

  // The block's columns of x: x itself for a pointwise convolution (leading dimension P),
  // else im2col'd into col (leading dimension the block's width).
  const T* columns(const T* x, const Block& b, T* col, int64_t* ld) const {
    if (l.pointwise) {
      *ld = l.P;
      return x + b.n * chw;
    }
    im2col_block(x, b, col);
    *ld = b.width();
    return col;
  }

  void forward(const T* x, const T* w, const T* bias, T* y, bool relu) const {
    over_images(p, p.c_out * l.Kg * l.P, [&](int64_t n0, int64_t n1) {
      T* col = col_scratch();
      T* stage = stage_scratch();
      for_each_block(l, n0, n1, [&](const Block& b) {
        const int64_t q = b.width();
        int64_t ldb;
        const T* src = columns(x, b, col, &ldb);
        // Into y directly when the block is one image, else into stage then y.
        T* dst = b.nb == 1 ? y + b.n * yhw + b.p0 : stage;
        const int64_t ldc = b.nb == 1 ? l.P : q;
        for (int64_t g = 0; g < p.groups; ++g)
          gemm(dt, gemm_args(false, false, l.cout_g, q, l.Kg, w + g * l.cout_g * l.Kg, l.Kg, src + g * l.Kg * ldb,
                             ldb, dst + g * l.cout_g * ldc, ldc, 0.0));
        for (int64_t k = 0; k < b.nb; ++k)
          for (int64_t co = 0; co < p.c_out; ++co) {
            T* out = y + (b.n + k) * yhw + co * l.P + b.p0;
            const T bv = bias ? bias[co] : T(0);
            const kernels::ReluOp<T> op(0, 0);
            if (b.nb > 1) {
              const T* in = stage + co * q + k * l.P;
              if (relu) for (int64_t i = 0; i < l.P; ++i) out[i] = op.forward(in[i] + bv);
              else for (int64_t i = 0; i < l.P; ++i) out[i] = in[i] + bv;
            } else if (bias) {
              if (relu) for (int64_t i = 0; i < b.pixels(); ++i) out[i] = op.forward(out[i] + bv);
              else for (int64_t i = 0; i < b.pixels(); ++i) out[i] += bv;
            } else if (relu) {
              for (int64_t i = 0; i < b.pixels(); ++i) out[i] = op.forward(out[i]);
            }
          }
      });
    });
  }

  void backward_input(const T* dy, const T* w, T* dx) const {
    over_images(p, p.c_out * l.Kg * l.P, [&](int64_t n0, int64_t n1) {
      if (l.pointwise) {
        for (int64_t n = n0; n < n1; ++n)
          for (int64_t g = 0; g < p.groups; ++g)
            gemm(dt, gemm_args(true, false, l.cin_g, l.P, l.cout_g, w + g * l.cout_g * l.Kg, l.Kg,
                               dy + n * yhw + g * l.cout_g * l.P, l.P, dx + n * chw + g * l.cin_g * l.P, l.P, 0.0));
        return;
      }
      T* dcol = tls_col.get<T>(l.K * std::max(l.images * l.P, l.chunk));
      T* stage = l.images > 1 ? tls_stage.get<T>(p.c_out * l.images * l.P) : nullptr;
      memset(static_cast<void*>(dx + n0 * chw), 0, sizeof(T) * size_t((n1 - n0) * chw));
      for_each_block(l, n0, n1, [&](const Block& b) {
        const int64_t q = b.width(), pc = b.pixels();
        int64_t ldb;
        const T* g_cols = out_columns(dy, b, stage, &ldb);
        for (int64_t g = 0; g < p.groups; ++g)
          gemm(dt, gemm_args(true, false, l.Kg, q, l.cout_g, w + g * l.cout_g * l.Kg, l.Kg,
                             g_cols + g * l.cout_g * ldb, ldb, dcol + g * l.Kg * q, q, 0.0));
        for (int64_t k = 0; k < b.nb; ++k)
          parallel_ranges(p.c_in, p.kh * p.kw * pc, [&](int64_t c0, int64_t c1) {
            col2im(p, dcol + k * pc, c0, c1, b.p0, b.p1, q, dx + (b.n + k) * chw);
          });
      });
    });
  }

  // One partial dw per slice of the batch (a slice per thread), added up in slice order:
  // the result does not depend on which thread finishes first.
  void backward_weight(const T* dy, const T* x, T* dw) const {
    const int64_t wsize = p.c_out * l.Kg;
    const int nt = team_size();  // not the team of the moment: the same bits after a back-off
    const int64_t slices = nt > 1 && p.n >= nt && !omp_in_parallel() ? nt : 1;
    std::vector<T> parts(size_t(slices * wsize), T(0));
    auto slice = [&](int64_t sl) {
      const int64_t n0 = sl * p.n / slices, n1 = (sl + 1) * p.n / slices;
      T* col = col_scratch();
      T* stage = stage_scratch();
      T* acc = parts.data() + sl * wsize;
      for_each_block(l, n0, n1, [&](const Block& b) {
        const int64_t q = b.width();
        int64_t ldb;
        const T* src = columns(x, b, col, &ldb);
        int64_t lda;
        const T* g_cols = out_columns(dy, b, stage, &lda);
        for (int64_t g = 0; g < p.groups; ++g)
          gemm(dt, gemm_args(false, true, l.cout_g, l.Kg, q, g_cols + g * l.cout_g * lda, lda, src + g * l.Kg * ldb,
                             ldb, acc + g * l.cout_g * l.Kg, l.Kg, 1.0));
      });
    };
    if (slices > 1) {
      parallel_ranges(slices, p.c_out * l.Kg * l.P * (p.n / slices), [&](int64_t s0, int64_t s1) {
        for (int64_t sl = s0; sl < s1; ++sl) slice(sl);
      });
    } else {
      slice(0);  // its GEMMs and im2col use the threads
    }
    std::fill(dw, dw + wsize, T(0));
    for (int64_t sl = 0; sl < slices; ++sl)
      for (int64_t i = 0; i < wsize; ++i) dw[i] += parts[size_t(sl * wsize + i)];
  }
};

template <class T>
void backward_bias_typed(const Conv2dParams& p, const T* dy, T* db) {
  const int64_t P = p.out_h * p.out_w;
  parallel_ranges(p.c_out, p.n * P, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      for (int64_t n = 0; n < p.n; ++n) {
        const T* row = dy + (n * p.c_out + c) * P;
        T lanes[8] = {};
        int64_t q = 0;
        for (; q + 8 <= P; q += 8)
          for (int k = 0; k < 8; ++k) lanes[k] += row[q + k];
        double part = 0;
        for (int k = 0; k < 8; ++k) part += double(lanes[k]);
        for (; q < P; ++q) part += double(row[q]);
        s += part;
      }
      db[c] = T(s);
    }
  });
}

// Which kernel runs: the direct ones (conv_isa.cpp) or im2col + GEMM (conv_force_path may
// force the choice).
using Path = ConvPath;
std::atomic<ConvPath> g_forced{ConvPath::Auto};

// Share of the vector lanes that `channels` output channels fill in the direct kernels.
double lane_use(int64_t channels, DType dtype) {
  int64_t lanes = 1;
  PYDL_ISA_CALL(conv_direct_lanes, dtype == DType::Float64, channels, &lanes);
  return double(channels) / double((channels + lanes - 1) / lanes * lanes);
}


// Forward: direct, except for 1x1 stride-1 unpadded convolutions (the GEMM then reads the
// image in place) and, with many output channels, for few taps per channel (the direct
// kernel's (pixel, channel) -> (channel, pixel) write-back then costs more than im2col)
// or output channels that would leave many lanes idle.
bool direct_suits(const Conv2dParams& p, int64_t cout_g, int64_t taps, DType dtype) {
  if (layout(p, itemsize(dtype)).pointwise) return false;
  return cout_g <= 32 || (taps >= 128 && lane_use(cout_g, dtype) >= 0.5);
}

Path path_for_forward(const Conv2dParams& p, DType dtype) {
  if (const Path forced = g_forced; forced != Path::Auto) return forced;
  return direct_suits(p, p.c_out / p.groups, p.c_in / p.groups * p.kh * p.kw, dtype) ? Path::Direct : Path::Gemm;
}

// Weight gradient: direct throughout (its partial sums stay in registers, and the GEMM's
// shape here, c_out x taps with a long inner dimension, is a poor one).
Path path_for_weight_grad() {
  if (const Path forced = g_forced; forced != Path::Auto) return forced;
  return Path::Direct;
}

// The input gradient of a stride-1 convolution is the forward convolution of dy, padded
// by dil * (k - 1) - pad, with the weight flipped and its channel axes swapped; it goes
// direct when that padding is non-negative and the input channels fill the lanes well.
bool flipped_params(const Conv2dParams& p, Conv2dParams* q) {
  const int64_t eh = p.dil_h * (p.kh - 1), ew = p.dil_w * (p.kw - 1);
  if (p.stride_h != 1 || p.stride_w != 1 || p.pad_h > eh || p.pad_w > ew) return false;
  *q = p;
  q->c_in = p.c_out;
  q->h = p.out_h;
  q->w = p.out_w;
  q->c_out = p.c_in;
  q->pad_h = eh - p.pad_h;
  q->pad_w = ew - p.pad_w;
  q->out_h = p.h;
  q->out_w = p.w;
  return true;
}

// The padding makes the flipped convolution compute h * w outputs where the GEMM path
// scatters out_h * out_w columns: direct only where that costs little, with lanes well used.
Path path_for_input_grad(const Conv2dParams& p, DType dtype, Conv2dParams* q) {
  if (!flipped_params(p, q)) return Path::Gemm;
  if (const Path forced = g_forced; forced != Path::Auto) return forced;
  const int64_t cin_g = p.c_in / p.groups;
  if (lane_use(cin_g, dtype) < 0.5 || 10 * p.h * p.w > 13 * p.out_h * p.out_w) return Path::Gemm;
  return direct_suits(p, cin_g, p.c_out / p.groups * p.kh * p.kw, dtype) ? Path::Direct : Path::Gemm;
}

// The kernel with the output's pixels in the lanes (conv_isa.cpp's corr_rows), for stride 1 without
// dilation or groups, at most 8 output channels (of the forward, or of the input gradient: c_in), rows of at
// least 8 pixels, and for the input gradient padding within the kernel. LeNet-5's first forward at batch 512
// took 2.0 ms with the channels in the lanes, its second's input gradient 4.2 ms by im2col.
bool rows_suit(const Conv2dParams& p, bool input_grad) {
  const bool within = !input_grad || (p.pad_h < p.kh && p.pad_w < p.kw);
  return g_forced == Path::Auto && p.groups == 1 && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 &&
         p.dil_w == 1 && (input_grad ? p.c_in : p.c_out) <= 8 && (input_grad ? p.w : p.out_w) >= 8 && within;
}

// w' (c_in, c_out / groups, kh, kw) with w'[g, c][co][i][j] = w[g, co][c][kh-1-i][kw-1-j].
template <class T>
std::vector<T> flipped_weight(const Conv2dParams& p, const T* w) {
  const int64_t cin_g = p.c_in / p.groups, cout_g = p.c_out / p.groups, taps = p.kh * p.kw;
  std::vector<T> f(size_t(p.c_out * cin_g * taps));
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t co = 0; co < cout_g; ++co)
      for (int64_t c = 0; c < cin_g; ++c)
        for (int64_t t = 0; t < taps; ++t)
          f[(((g * cin_g + c) * cout_g + co) * taps) + t] = w[((g * cout_g + co) * cin_g + c) * taps + taps - 1 - t];
  return f;
}

}  // namespace

void conv_force_path(ConvPath path) { g_forced = path; }

void conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias, void* y,
                    bool relu) {
  if (rows_suit(p, false)) {
    PYDL_ISA_CALL(conv_rows_correlation, dtype == DType::Float64, p, false, x, w, bias, relu, y);
    return;
  }
  if (path_for_forward(p, dtype) == Path::Direct) {
    PYDL_ISA_CALL(conv_direct_forward, dtype == DType::Float64, p, x, w, bias, relu, y);
    return;
  }
  PYDL_DISPATCH_FLOAT(dtype, T,
                      Conv<T>(p).forward(static_cast<const T*>(x), static_cast<const T*>(w),
                                         static_cast<const T*>(bias), static_cast<T*>(y), relu));
}

void conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* dy, const void* w, void* dx) {
  if (rows_suit(p, true)) {
    PYDL_DISPATCH_FLOAT(dtype, T, {
      const std::vector<T> f = flipped_weight(p, static_cast<const T*>(w));
      PYDL_ISA_CALL(conv_rows_correlation, dtype == DType::Float64, p, true, dy, f.data(), nullptr, false, dx);
    });
    return;
  }
  Conv2dParams q;
  if (path_for_input_grad(p, dtype, &q) == Path::Direct) {
    PYDL_DISPATCH_FLOAT(dtype, T, {
      const std::vector<T> f = flipped_weight(p, static_cast<const T*>(w));
      PYDL_ISA_CALL(conv_direct_forward, dtype == DType::Float64, q, dy, f.data(), nullptr, false, dx);
    });
    return;
  }
  PYDL_DISPATCH_FLOAT(dtype, T,
                      Conv<T>(p).backward_input(static_cast<const T*>(dy), static_cast<const T*>(w),
                                                static_cast<T*>(dx)));
}

void conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* dy, const void* x, void* dw) {
  if (rows_suit(p, false) && p.kw <= 8) {  // the rows kernel keeps up to 8 taps of a row in registers
    PYDL_ISA_CALL(conv_rows_backward_weight, dtype == DType::Float64, p, dy, x, dw);
    return;
  }
  if (path_for_weight_grad() == Path::Direct) {
    PYDL_ISA_CALL(conv_direct_backward_weight, dtype == DType::Float64, p, dy, x, dw);
    return;
  }
  PYDL_DISPATCH_FLOAT(dtype, T,
                      Conv<T>(p).backward_weight(static_cast<const T*>(dy), static_cast<const T*>(x),
                                                 static_cast<T*>(dw)));
}

void conv2d_backward_bias(DType dtype, const Conv2dParams& p, const void* dy, void* dbias) {
  PYDL_DISPATCH_FLOAT(dtype, T, backward_bias_typed<T>(p, static_cast<const T*>(dy), static_cast<T*>(dbias)));
}

}  // namespace pydl::cpu
