// 2-d convolution on CUDA as implicit GEMM: one tiled kernel template (conv_gemm_kernel)
// and three "views" that tell it how to gather its operands, per group g:
//
//   forward  C[M = n * out_h * out_w][N = c_out/g]        A = x gathered (im2col on the fly),
//            K = c_in/g * kh * kw                          B = w; bias and ReLU in the write-back
//   dgrad    C[M = n * h * w][N = c_in/g]                 A = dy gathered: the output pixel a tap
//            K = c_out/g * kh * kw                          reaches, when the stride divides
//                                                          (a gather, so no atomics), B = w
//   wgrad    C[M = c_in/g * kh * kw][N = c_out/g]         A = x gathered, B = dy; the long K is
//            K = n * out_h * out_w                          split into chunks (split-K), each
//                                                          writing its own partial dw, summed in
//                                                          a fixed order afterwards
//
// (wgrad computes dw transposed so that the small side, c_out, is N: the narrow tile then fits
// LeNet's 6 or 16 channels.) Groups and split-K chunks go along grid.z.
//
// The kernel: 256 threads, a BM x BN block tile of C in registers (TM x TN per thread), K in
// slices of kBK staged through shared memory. Each thread stages fixed (row, k) slots of the
// A and B slices; a view gives a thread's per-row context once (a_row / b_col: the pixel or
// channel decomposed, int64 bases), per slice a k context (k_tile, a_k / b_k: the tap or pixel
// decomposed by 32-bit multiply-high divisions), and the element (a / b), 0 for padding and
// ragged edges.
// Slots run along the operand's contiguous index (m for x and dy gathers by pixel, k where
// k walks memory) so that neighbouring threads read neighbouring addresses. The next slice is
// gathered into registers while the current one computes; a thread's TM x TN sub-tile is
// contiguous in the shared rows, so its operands load as 16-byte (8-byte) vectors.
// Two tile shapes: 64 x 64 (4 x 4 per thread) and, when N <= 16, 128 x 16 (4 x 2).
// Every sum runs in a fixed order: results are reproducible run to run.
#include "kernels/cuda/conv.h"

#include <algorithm>

#include "kernels/cuda/device_utils.h"
#include "kernels/cuda/index_math.cuh"

namespace pydl::cuda_kernels {

namespace {

constexpr int kThreads = 256;
constexpr int kBK = 16;  // K slice per shared-memory stage

template <int BM_, int BN_, int TM_, int TN_>
struct TileShape {
  static constexpr int BM = BM_, BN = BN_, TM = TM_, TN = TN_;
  static_assert((BM / TM) * (BN / TN) == kThreads, "one thread per TM x TN sub-tile");
  static_assert(BM * kBK % kThreads == 0 && BN * kBK % kThreads == 0, "whole staging slots per thread");
};
using WideTile = TileShape<64, 64, 4, 4>;
using NarrowTile = TileShape<128, 16, 4, 2>;

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// What all three views share: the sizes of one convolution, 32-bit where conv2d_fits() holds,
// and the divisors of the index math.
struct Geometry {
  int64_t n, c_in, c_out;
  int h, w, out_h, out_w, kw, khkw;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  int cin_g, cout_g;
  int hw, ohw;  // h * w, out_h * out_w
  FastDiv by_w, by_out_w, by_kw, by_khkw, by_stride_h, by_stride_w;

  // Column kx < k of a gathered A operand whose k runs over (channel of the group, tap i,
  // tap j): the channel's offset at `plane` elements a channel, and the tap's offsets.
  struct Tap {
    int64_t c_off;
    int di, dj;
    bool ok;
  };
  __device__ Tap tap(int kx, int k, int plane) const {
    Tap q{0, 0, 0, kx < k};
    if (!q.ok) return q;
    const DivMod c = divmod(kx, by_khkw), t = divmod(c.r, by_kw);
    q.c_off = int64_t(c.q) * plane;
    q.di = t.q * dil_h;
    q.dj = t.r * dil_w;
    return q;
  }
};

Geometry geometry(const Conv2dParams& p) {
  Geometry g;
  g.n = p.n;
  g.c_in = p.c_in;
  g.c_out = p.c_out;
  g.h = int(p.h);
  g.w = int(p.w);
  g.out_h = int(p.out_h);
  g.out_w = int(p.out_w);
  g.kw = int(p.kw);
  g.khkw = int(p.kh * p.kw);
  g.stride_h = int(p.stride_h);
  g.stride_w = int(p.stride_w);
  g.pad_h = int(p.pad_h);
  g.pad_w = int(p.pad_w);
  g.dil_h = int(p.dil_h);
  g.dil_w = int(p.dil_w);
  g.cin_g = int(p.c_in / p.groups);
  g.cout_g = int(p.c_out / p.groups);
  g.hw = int(p.h * p.w);
  g.ohw = int(p.out_h * p.out_w);
  g.by_w = fast_div(g.w);
  g.by_out_w = fast_div(g.out_w);
  g.by_kw = fast_div(g.kw);
  g.by_khkw = fast_div(g.khkw);
  g.by_stride_h = fast_div(g.stride_h);
  g.by_stride_w = fast_div(g.stride_w);
  return g;
}

// ------------------------------------------------------------------ the views

// What every view holds: the geometry, and the implicit GEMM's m x n output over k_tiles
// slices of kBK (k of them real), per group and split.
struct ConvGemm {
  Geometry s;
  int64_t m, n, k_tiles;
  int k, groups, splits;
};

ConvGemm conv_gemm(const Conv2dParams& p, int64_t m, int64_t n, int k, int64_t k_tiles, int splits) {
  return ConvGemm{geometry(p), m, n, k_tiles, k, int(p.groups), splits};
}

// Forward: row m = (image, output pixel), column = output channel co of group g,
// k = (input channel ci of the group, tap i, tap j), the weight's own order.
template <class T>
struct ForwardView : ConvGemm {
  using value_t = T;
  static constexpr bool kAFastK = false;  // x gathered by pixel: m walks memory
  static constexpr bool kBFastK = true;   // w[co][k]: k walks memory
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  bool relu;

  struct Row {
    int64_t base;  // x offset of (image, first channel of the group)
    int ih0, iw0;  // top-left input position of the pixel's window
    bool ok;
  };
  __device__ Row a_row(int g, int64_t mm) const {
    Row r{0, 0, 0, mm < m};
    if (!r.ok) return r;
    const int64_t img = mm / s.ohw;
    const DivMod o = divmod(int(mm - img * s.ohw), s.by_out_w);
    r.base = (img * s.c_in + int64_t(g) * s.cin_g) * s.hw;
    r.ih0 = o.q * s.stride_h - s.pad_h;
    r.iw0 = o.r * s.stride_w - s.pad_w;
    return r;
  }
  __device__ int k_tile(int64_t kt) const { return int(kt) * kBK; }
  using AK = Geometry::Tap;
  __device__ AK a_k(int k0, int kk) const { return s.tap(k0 + kk, k, s.hw); }
  __device__ T a(const Row& r, const AK& q) const {
    const int ih = r.ih0 + q.di, iw = r.iw0 + q.dj;
    if (!r.ok || !q.ok || ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) return T(0);
    return x[r.base + q.c_off + int64_t(ih) * s.w + iw];
  }
  struct Col {
    int64_t off;
    bool ok;
  };
  __device__ Col b_col(int g, int64_t nn) const { return {(int64_t(g) * s.cout_g + nn) * k, nn < n}; }
  struct BK {
    int k;
    bool ok;
  };
  __device__ BK b_k(int k0, int kk) const { return {k0 + kk, k0 + kk < k}; }
  __device__ T b(const BK& q, const Col& c) const { return q.ok && c.ok ? w[c.off + q.k] : T(0); }

  __device__ void split_tiles(int, int64_t* t0, int64_t* t1) const {
    *t0 = 0;
    *t1 = k_tiles;
  }
  __device__ void store(int g, int, int64_t mm, int64_t nn, T acc) const {
    const int64_t img = mm / s.ohw, co = int64_t(g) * s.cout_g + nn;
    T v = acc;
    if (bias) v += bias[co];
    if (relu && v < T(0)) v = T(0);
    y[(img * s.c_out + co) * s.ohw + (mm - img * s.ohw)] = v;
  }
};

// Input gradient: row m = (image, input pixel), column = input channel ci of group g,
// k = (output channel co of the group, tap i, tap j). Tap (i, j) of input (ih, iw) comes
// from output (oh, ow) when oh * stride_h = ih + pad_h - i * dil_h exactly (and so for w).
template <class T>
struct DgradView : ConvGemm {
  using value_t = T;
  static constexpr bool kAFastK = false;  // dy gathered by input pixel
  static constexpr bool kBFastK = true;   // w[co][ci][i][j]: the taps of k walk memory
  const T* dy;
  const T* w;
  T* dx;

  struct Row {
    int64_t base;  // dy offset of (image, first channel of the group)
    int th, tw;    // ih + pad_h, iw + pad_w
    bool ok;
  };
  __device__ Row a_row(int g, int64_t mm) const {
    Row r{0, 0, 0, mm < m};
    if (!r.ok) return r;
    const int64_t img = mm / s.hw;
    const DivMod o = divmod(int(mm - img * s.hw), s.by_w);
    r.base = (img * s.c_out + int64_t(g) * s.cout_g) * s.ohw;
    r.th = o.q + s.pad_h;
    r.tw = o.r + s.pad_w;
    return r;
  }
  __device__ int k_tile(int64_t kt) const { return int(kt) * kBK; }
  using AK = Geometry::Tap;
  __device__ AK a_k(int k0, int kk) const { return s.tap(k0 + kk, k, s.ohw); }
  // The output index along one axis that tap offset d of position t (= i + pad) reads, or -1.
  __device__ static int source(int t, int d, const FastDiv& stride, int out) {
    const int u = t - d;
    if (u < 0) return -1;
    int o = u;
    if (stride.d != 1) {
      const DivMod qr = divmod(u, stride);
      if (qr.r) return -1;
      o = qr.q;
    }
    return o < out ? o : -1;
  }
  __device__ T a(const Row& r, const AK& q) const {
    if (!r.ok || !q.ok) return T(0);
    const int oh = source(r.th, q.di, s.by_stride_h, s.out_h);
    if (oh < 0) return T(0);
    const int ow = source(r.tw, q.dj, s.by_stride_w, s.out_w);
    if (ow < 0) return T(0);
    return dy[r.base + q.c_off + int64_t(oh) * s.out_w + ow];
  }
  struct Col {
    int64_t off;  // w offset of (first output channel of the group, ci)
    bool ok;
  };
  __device__ Col b_col(int g, int64_t nn) const {
    return {(int64_t(g) * s.cout_g * s.cin_g + nn) * s.khkw, nn < n};
  }
  struct BK {
    int64_t off;  // w offset of (co, tap) relative to (first output channel of the group, ci)
    bool ok;
  };
  __device__ BK b_k(int k0, int kk) const {
    const int kx = k0 + kk;
    if (kx >= k) return {0, false};
    const DivMod c = divmod(kx, s.by_khkw);
    return {int64_t(c.q) * s.cin_g * s.khkw + c.r, true};
  }
  __device__ T b(const BK& q, const Col& c) const { return q.ok && c.ok ? w[c.off + q.off] : T(0); }

  __device__ void split_tiles(int, int64_t* t0, int64_t* t1) const {
    *t0 = 0;
    *t1 = k_tiles;
  }
  __device__ void store(int g, int, int64_t mm, int64_t nn, T acc) const {
    const int64_t img = mm / s.hw;
    dx[(img * s.c_in + int64_t(g) * s.cin_g + nn) * s.hw + (mm - img * s.hw)] = acc;
  }
};

// Weight gradient, transposed: row m = (input channel ci of group g, tap i, tap j), column =
// output channel co of the group, k = (image, output pixel). K goes in slices of kBK pixels
// of one image (an image's last slice may be partly empty), so a slice decomposes its image
// once; split s takes slices [s * per_split, (s + 1) * per_split).
template <class T>
struct WgradView : ConvGemm {
  using value_t = T;
  static constexpr bool kAFastK = true;  // x gathered by output pixel: k walks memory
  static constexpr bool kBFastK = true;  // dy[image][co][pixel]
  int64_t tiles_per_image, per_split, dw_numel;
  const T* x;
  const T* dy;
  T* out;  // dw, or the splits' partial dws one after another

  struct Row {
    int64_t c_off;  // x offset of channel ci (of the group) within an image
    int di, dj;     // the tap's offset minus the padding
    bool ok;
  };
  __device__ Row a_row(int g, int64_t mm) const {
    Row r{0, 0, 0, mm < m};
    if (!r.ok) return r;
    const DivMod c = divmod(int(mm), s.by_khkw), t = divmod(c.r, s.by_kw);
    r.c_off = (int64_t(g) * s.cin_g + c.q) * s.hw;
    r.di = t.q * s.dil_h - s.pad_h;
    r.dj = t.r * s.dil_w - s.pad_w;
    return r;
  }
  struct Slice {
    int64_t img;
    int p0;
  };
  __device__ Slice k_tile(int64_t kt) const {
    const int64_t img = kt / tiles_per_image;
    return {img, int(kt - img * tiles_per_image) * kBK};
  }
  struct AK {
    int64_t x_img;  // x offset of the image
    int ih0, iw0;   // oh * stride_h, ow * stride_w
    bool ok;
  };
  __device__ AK a_k(const Slice& t, int kk) const {
    const int p = t.p0 + kk;
    AK q{0, 0, 0, p < s.ohw};
    if (!q.ok) return q;
    const DivMod o = divmod(p, s.by_out_w);
    q.x_img = t.img * s.c_in * s.hw;
    q.ih0 = o.q * s.stride_h;
    q.iw0 = o.r * s.stride_w;
    return q;
  }
  __device__ T a(const Row& r, const AK& q) const {
    const int ih = q.ih0 + r.di, iw = q.iw0 + r.dj;
    if (!r.ok || !q.ok || ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) return T(0);
    return x[q.x_img + r.c_off + int64_t(ih) * s.w + iw];
  }
  struct Col {
    int64_t off;  // dy offset of channel co (of the group) within an image
    bool ok;
  };
  __device__ Col b_col(int g, int64_t nn) const { return {(int64_t(g) * s.cout_g + nn) * s.ohw, nn < n}; }
  struct BK {
    int64_t off;  // dy offset of (image, pixel) in channel 0
    bool ok;
  };
  __device__ BK b_k(const Slice& t, int kk) const {
    const int p = t.p0 + kk;
    return {t.img * s.c_out * s.ohw + p, p < s.ohw};
  }
  __device__ T b(const BK& q, const Col& c) const { return q.ok && c.ok ? dy[q.off + c.off] : T(0); }

  __device__ void split_tiles(int split, int64_t* t0, int64_t* t1) const {
    *t0 = split * per_split;
    *t1 = *t0 + per_split < k_tiles ? *t0 + per_split : k_tiles;
  }
  __device__ void store(int g, int split, int64_t mm, int64_t nn, T acc) const {
    out[split * dw_numel + (int64_t(g) * s.cout_g + nn) * m + mm] = acc;
  }
};

// ------------------------------------------------------------------ the GEMM

template <class View, class Tile>
__global__ void __launch_bounds__(kThreads) conv_gemm_kernel(const View v) {
  using T = typename View::value_t;
  constexpr int BM = Tile::BM, BN = Tile::BN, TM = Tile::TM, TN = Tile::TN;
  constexpr int RM = BM / TM;  // threads along m
  constexpr int kASlots = BM * kBK / kThreads, kBSlots = BN * kBK / kThreads;
  // Rows padded to a multiple of 16 bytes: a thread's TM (TN) neighbouring values of a row
  // load as one vector from shared memory.
  constexpr int kPad = 16 / int(sizeof(T));
  __shared__ __align__(16) T as[kBK][BM + kPad];  // as[kk][i] = A[m0 + i][k0 + kk]
  __shared__ __align__(16) T bs[kBK][BN + kPad];  // bs[kk][j] = B[k0 + kk][n0 + j]
  const int tid = threadIdx.x, tm = tid % RM, tn = tid / RM;

  // This thread's staging slots: (row, kk) pairs, the same for every K slice. Slot e of
  // thread t is element t + e * kThreads of the slice, counted along the fast index; as
  // kThreads is a multiple of BM, BN and kBK, the fast index is the same for all its slots
  // (so a thread decomposes one row, or one k, for all of them).
  static_assert(kThreads % BM == 0 && kThreads % BN == 0 && kThreads % kBK == 0, "slots share the fast index");
  int a_i[kASlots], a_kk[kASlots], b_j[kBSlots], b_kk[kBSlots];
#pragma unroll
  for (int e = 0; e < kASlots; ++e) {
    a_i[e] = View::kAFastK ? tid / kBK + e * (kThreads / kBK) : tid % BM;
    a_kk[e] = View::kAFastK ? tid % kBK : tid / BM + e * (kThreads / BM);
  }
#pragma unroll
  for (int e = 0; e < kBSlots; ++e) {
    b_j[e] = View::kBFastK ? tid / kBK + e * (kThreads / kBK) : tid % BN;
    b_kk[e] = View::kBFastK ? tid % kBK : tid / BN + e * (kThreads / BN);
  }

  const int64_t m_tiles = ceil_div(v.m, BM), n_tiles = ceil_div(v.n, BN);
  const int64_t zs = int64_t(v.groups) * v.splits;
  // The loops below are uniform across the block: every thread reaches every barrier.
  for (int64_t z = blockIdx.z; z < zs; z += gridDim.z) {
    const int g = int(z / v.splits), split = int(z - int64_t(g) * v.splits);
    int64_t kt0, kt1;
    v.split_tiles(split, &kt0, &kt1);
    for (int64_t nt = blockIdx.y; nt < n_tiles; nt += gridDim.y) {
      for (int64_t mt = blockIdx.x; mt < m_tiles; mt += gridDim.x) {
        const int64_t m0 = mt * BM, n0 = nt * BN;
        typename View::Row rows[kASlots];
        typename View::Col cols[kBSlots];
#pragma unroll
        for (int e = 0; e < kASlots; ++e) rows[e] = v.a_row(g, m0 + a_i[e]);
#pragma unroll
        for (int e = 0; e < kBSlots; ++e) cols[e] = v.b_col(g, n0 + b_j[e]);
        T acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

        // The gathered elements of the next slice wait in registers while this one computes,
        // so their global loads overlap the arithmetic.
        T a_next[kASlots], b_next[kBSlots];
        auto gather = [&](int64_t kt) {
          const auto slice = v.k_tile(kt);
#pragma unroll
          for (int e = 0; e < kASlots; ++e) a_next[e] = v.a(rows[e], v.a_k(slice, a_kk[e]));
#pragma unroll
          for (int e = 0; e < kBSlots; ++e) b_next[e] = v.b(v.b_k(slice, b_kk[e]), cols[e]);
        };
        if (kt0 < kt1) gather(kt0);
        for (int64_t kt = kt0; kt < kt1; ++kt) {
#pragma unroll
          for (int e = 0; e < kASlots; ++e) as[a_kk[e]][a_i[e]] = a_next[e];
#pragma unroll
          for (int e = 0; e < kBSlots; ++e) bs[b_kk[e]][b_j[e]] = b_next[e];
          __syncthreads();
          if (kt + 1 < kt1) gather(kt + 1);
#pragma unroll
          for (int kk = 0; kk < kBK; ++kk) {
            T af[TM], bf[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) af[i] = as[kk][tm * TM + i];
#pragma unroll
            for (int j = 0; j < TN; ++j) bf[j] = bs[kk][tn * TN + j];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
              for (int j = 0; j < TN; ++j) acc[i][j] += af[i] * bf[j];
          }
          __syncthreads();  // the slice is consumed before the next one overwrites it
        }

#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) {
            const int64_t mm = m0 + tm * TM + i, nn = n0 + tn * TN + j;
            if (mm < v.m && nn < v.n) v.store(g, split, mm, nn, acc[i][j]);
          }
      }
    }
  }
}

template <class View, class Tile>
void launch_tiles(const View& v, cudaStream_t stream) {
  const int64_t m_tiles = ceil_div(v.m, Tile::BM), n_tiles = ceil_div(v.n, Tile::BN);
  const dim3 grid(unsigned(std::min<int64_t>(m_tiles, 2147483647)), unsigned(std::min<int64_t>(n_tiles, 65535)),
                  unsigned(std::min<int64_t>(int64_t(v.groups) * v.splits, 65535)));
  conv_gemm_kernel<View, Tile><<<grid, kThreads, 0, stream>>>(v);
}

// The narrow tile when N (channels) is small, else the square one.
template <class View>
bool narrow(const View& v) {
  return v.n <= NarrowTile::BN;
}

template <class View>
void launch_gemm(const View& v, cudaStream_t stream, LaunchCheck check, const char* name) {
  if (v.m <= 0 || v.n <= 0) return;
  if (narrow(v)) launch_tiles<View, NarrowTile>(v, stream);
  else launch_tiles<View, WideTile>(v, stream);
  check(name);
}

// ------------------------------------------------------------------ reductions

// dw[i] = the sum of the splits' partials at i: split k goes to running sum k % 4 (four
// independent chains, so the loads overlap), then ((s0 + s1) + (s2 + s3)). A fixed order.
template <class T>
__global__ void sum_partials_kernel(const T* __restrict__ partial, int64_t splits, int64_t numel,
                                    T* __restrict__ dw) {
  for (int64_t i = global_thread(); i < numel; i += grid_threads()) {
    T s[4] = {T(0), T(0), T(0), T(0)};
    int64_t k = 0;
    for (; k + 4 <= splits; k += 4)
#pragma unroll
      for (int l = 0; l < 4; ++l) s[l] += partial[(k + l) * numel + i];
#pragma unroll
    for (int l = 0; l < 3; ++l)  // the rest: at most three splits
      if (k + l < splits) s[l] += partial[(k + l) * numel + i];
    dw[i] = (s[0] + s[1]) + (s[2] + s[3]);
  }
}

// One block of 1024 threads per channel: thread t sums the (image, pixel) pairs t, t + 1024,
// ... in four independent chains (pair number / 1024 mod 4, so the loads overlap), then the
// block adds its partial sums as a fixed tree. The channel loop and the tree's loop are
// uniform across the block.
constexpr int kBiasThreads = 1024;

template <class T>
__global__ void __launch_bounds__(kBiasThreads) bias_grad_kernel(int64_t images, int64_t channels, int64_t pixels,
                                                                 const T* __restrict__ dy, T* __restrict__ db) {
  __shared__ T partial[kBiasThreads];
  const int tid = threadIdx.x;
  const int64_t total = images * pixels;
  auto at = [&](int64_t c, int64_t j) {
    const int64_t img = j / pixels;
    return dy[(img * channels + c) * pixels + (j - img * pixels)];
  };
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    T s[4] = {T(0), T(0), T(0), T(0)};
    int64_t j = tid;
    for (; j + 3 * kBiasThreads < total; j += 4 * kBiasThreads)
#pragma unroll
      for (int l = 0; l < 4; ++l) s[l] += at(c, j + l * kBiasThreads);
#pragma unroll
    for (int l = 0; l < 3; ++l)  // the rest: at most three pairs
      if (j + l * kBiasThreads < total) s[l] += at(c, j + l * kBiasThreads);
    partial[tid] = (s[0] + s[1]) + (s[2] + s[3]);
    __syncthreads();
    for (int half = kBiasThreads / 2; half > 0; half /= 2) {
      if (tid < half) partial[tid] += partial[tid + half];
      __syncthreads();
    }
    if (tid == 0) db[c] = partial[0];
    __syncthreads();  // partial[0] is read before the next channel overwrites it
  }
}

// ------------------------------------------------------------------ the split-K plan

constexpr int64_t kTargetBlocks = 1024;   // blocks to fill any current GPU a few times over
constexpr int64_t kMinTilesPerSplit = 16;  // a chunk's K loop stays longer than its write-back
constexpr int64_t kMaxSplits = 1024;
constexpr int64_t kMaxWorkspaceBytes = int64_t(256) << 20;

struct WgradPlan {
  int64_t m, n, tiles_per_image, k_tiles, splits, per_split;
};

// From the shapes only (not the GPU's size), so dw comes out the same on every device.
WgradPlan wgrad_plan(const Conv2dParams& p, size_t item) {
  WgradPlan w;
  w.m = p.c_in / p.groups * p.kh * p.kw;
  w.n = p.c_out / p.groups;
  w.tiles_per_image = ceil_div(p.out_h * p.out_w, kBK);
  w.k_tiles = p.n * w.tiles_per_image;
  const bool nar = w.n <= NarrowTile::BN;
  const int64_t blocks = ceil_div(w.m, nar ? NarrowTile::BM : WideTile::BM) *
                         ceil_div(w.n, nar ? NarrowTile::BN : WideTile::BN) * p.groups;
  const int64_t dw_bytes = std::max<int64_t>(1, p.c_out * w.m * int64_t(item));
  int64_t splits = ceil_div(kTargetBlocks, std::max<int64_t>(1, blocks));
  splits = std::min(splits, w.k_tiles / kMinTilesPerSplit);
  splits = std::min(splits, kMaxSplits);
  splits = std::min(splits, kMaxWorkspaceBytes / dw_bytes);
  splits = std::max<int64_t>(1, splits);
  w.per_split = std::max<int64_t>(1, ceil_div(w.k_tiles, splits));
  w.splits = std::max<int64_t>(1, ceil_div(w.k_tiles, w.per_split));  // no empty split
  return w;
}

const char* name(DType dtype, const char* f32, const char* f64) { return dtype == DType::Float32 ? f32 : f64; }

}  // namespace

void conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias, bool relu,
                    void* y, void* stream, LaunchCheck check) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const int k = int(p.c_in / p.groups * p.kh * p.kw);
    ForwardView<T> v{conv_gemm(p, p.n * p.out_h * p.out_w, p.c_out / p.groups, k, ceil_div(k, kBK), 1)};
    v.x = static_cast<const T*>(x);
    v.w = static_cast<const T*>(w);
    v.bias = static_cast<const T*>(bias);
    v.y = static_cast<T*>(y);
    v.relu = relu;
    launch_gemm(v, as_stream(stream), check, name(dtype, "pydl_conv2d_forward_float32", "pydl_conv2d_forward_float64"));
  });
}

void conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* dy, const void* w, void* dx, void* stream,
                           LaunchCheck check) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const int k = int(p.c_out / p.groups * p.kh * p.kw);
    DgradView<T> v{conv_gemm(p, p.n * p.h * p.w, p.c_in / p.groups, k, ceil_div(k, kBK), 1)};
    v.dy = static_cast<const T*>(dy);
    v.w = static_cast<const T*>(w);
    v.dx = static_cast<T*>(dx);
    launch_gemm(v, as_stream(stream), check, name(dtype, "pydl_conv2d_dgrad_float32", "pydl_conv2d_dgrad_float64"));
  });
}

size_t conv2d_backward_weight_workspace_bytes(DType dtype, const Conv2dParams& p) {
  const WgradPlan w = wgrad_plan(p, itemsize(dtype));
  return w.splits > 1 ? size_t(w.splits * p.c_out * w.m) * itemsize(dtype) : 0;
}

void conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* dy, const void* x, void* dw,
                            void* workspace, void* stream, LaunchCheck check) {
  const WgradPlan plan = wgrad_plan(p, itemsize(dtype));
  const int64_t numel = p.c_out * plan.m;
  if (numel <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, {
    // k unused: K is counted in slices
    WgradView<T> v{conv_gemm(p, plan.m, plan.n, 0, plan.k_tiles, int(plan.splits))};
    v.tiles_per_image = plan.tiles_per_image;
    v.per_split = plan.per_split;
    v.dw_numel = numel;
    v.x = static_cast<const T*>(x);
    v.dy = static_cast<const T*>(dy);
    v.out = plan.splits > 1 ? static_cast<T*>(workspace) : static_cast<T*>(dw);
    launch_gemm(v, as_stream(stream), check, name(dtype, "pydl_conv2d_wgrad_float32", "pydl_conv2d_wgrad_float64"));
    if (plan.splits > 1) {
      sum_partials_kernel<T><<<grid_for(numel), kBlock, 0, as_stream(stream)>>>(v.out, plan.splits, numel,
                                                                                static_cast<T*>(dw));
      check(name(dtype, "pydl_conv2d_wgrad_sum_float32", "pydl_conv2d_wgrad_sum_float64"));
    }
  });
}

void conv2d_backward_bias(DType dtype, const Conv2dParams& p, const void* dy, void* dbias, void* stream,
                          LaunchCheck check) {
  if (p.c_out <= 0) return;
  const int64_t pixels = std::max<int64_t>(1, p.out_h * p.out_w);
  const unsigned blocks = unsigned(std::min<int64_t>(p.c_out, 65535));
  PYDL_DISPATCH_FLOAT(dtype, T,
                      bias_grad_kernel<T><<<blocks, kBiasThreads, 0, as_stream(stream)>>>(
                          p.n, p.c_out, pixels, static_cast<const T*>(dy), static_cast<T*>(dbias)));
  check(name(dtype, "pydl_conv2d_bias_grad_float32", "pydl_conv2d_bias_grad_float64"));
}

}  // namespace pydl::cuda_kernels
