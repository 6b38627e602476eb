// GEMM, BLIS loop nest, compiled once per ISA (PYDL_ISA).
//
//   for jc in N by NC:            B panel  (KC x NC) packed into NR-wide strips (L3)
//     for pc in K by KC:
//       for ic in M by MC:        A block  (MC x KC) packed into MR-tall strips (L2)
//         for (jr, ir) strips:    micro-kernel: MR x NR register tile, K-loop of
//                                 broadcast(A) * B-vector FMAs (GCC vector extensions,
//                                 so each ISA gets its own register width)
//
// Transposes are absorbed by the packing (row/column strides), edges by zero-padded
// panels and a masked write-back, alpha/beta/bias/ReLU by the write-back (whole tiles from
// the registers). Where packing does not pay, the micro-kernel reads A or B in place
// (gemm_one says when). The register tile itself (packing, write-back, micro-kernel) is in
// gemm_tile.h; this file holds the paths that use it and the ones that do without.
#include <stdint.h>
#include <stdlib.h>

#include <type_traits>

#include <omp.h>

#include "kernels/common/gemm_args.h"
#include "kernels/common/macros.h"
#include "kernels/cpu/gemm_plan.h"
#include "kernels/cpu/gemm_tile.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/team.h"

PYDL_KERNELS_BEGIN

namespace {

// Below this many multiply-adds one thread does the whole product: on two cores a second
// thread gains nothing on a 128^3 product (2M) and some 30% at 64x100x784 (5M).
constexpr int64_t kThreadedMacs = int64_t(1) << 22;

thread_local ScratchBuffer tls_a, tls_b;

// Up to this many rows of C, a row-major B is not packed (gemm_one).
constexpr int64_t kInPlaceMaxM = 128;

// ---------------------------------------------------------------- small products
// Below kSmallMacs multiply-adds (the MLP's 64x100x10 layers and their backward products),
// packing A and B costs more than the product: A is read in place, and B too where it is row-major
// (else copied once into rows padded to whole vectors); each block of SR rows x CV
// vectors of C is summed over all of K in registers, then written once through the epilogue.
// Up to kSmallThinMacs too where C is one vector wide or K one vector deep (an MLP's last layer
// at batch 512 and its dh: 512x100 by 100x10 26.8 -> 21.8 us, 512x10 by 10x100 21.6 -> 16.7 on 2
// Intel cores); not where C is short (10x512 by 512x100) or both sides are wider (64x120 by 120x84).
constexpr int64_t kSmallMacs = int64_t(1) << 18, kSmallThinMacs = int64_t(1) << 20;

template <class T>
bool small_product(int64_t m, int64_t n, int64_t k) {
  const int64_t macs = m * n * (k ? k : 1);
  return macs <= kSmallMacs || (macs <= kSmallThinMacs && (n <= kVL<T> || k <= kVL<T>) && m >= 64);
}

template <class T, int SR, int CV>
void small_block(const T* a, View va, const T* pb, int64_t ldp, bool padded, T* c, int64_t ldc, int64_t cols,
                 int64_t k, const Epilogue<T>& e, const T* bias) {
  using V = typename Cfg<T>::V;
  constexpr int VL = kVL<T>;
  const int64_t tail = cols - (CV - 1) * VL;  // lanes of the last vector
  const bool masked_b = !padded && tail < VL;
  V acc[SR][CV];
  for (int r = 0; r < SR; ++r)
    for (int v = 0; v < CV; ++v) acc[r][v] = V{};
  // Two loops, the masked load chosen at compile time: a branch in the loop left the sums on the stack.
  auto sum = [&](auto masked) {
    for (int64_t p = 0; p < k; ++p) {
      V b[CV];
      for (int v = 0; v < CV; ++v) {
        if (decltype(masked)::value && v == CV - 1) b[v] = load_lanes<V>(pb + p * ldp + v * VL, tail);
        else __builtin_memcpy(&b[v], pb + p * ldp + v * VL, sizeof(V));
      }
      for (int r = 0; r < SR; ++r) {
        const T x = a[r * va.rs + p * va.cs];
        for (int v = 0; v < CV; ++v) acc[r][v] += b[v] * x;
      }
    }
  };
  if (masked_b) sum(std::true_type{});
  else sum(std::false_type{});
  // Written from the registers, the epilogue's choices made once per block: with a short K (an MLP's
  // dh, 64x100 from 10) the write-back costs as much as the sums (3.1 -> 2.6 us on one Zen 4 core).
  auto load = [&](const T* p, int v) {
    V x;
    if (v < CV - 1 || tail == VL) __builtin_memcpy(&x, p, sizeof(V));
    else x = load_lanes<V>(p, tail);
    return x;
  };
  V bias_v[CV];
  for (int v = 0; v < CV; ++v) bias_v[v] = bias ? load(bias + v * VL, v) : V{};
  const V alpha = V{} + e.alpha, beta = V{} + e.beta;
  const bool add_old = e.beta != T(0);
#pragma GCC unroll 16
  for (int r = 0; r < SR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < CV; ++v) {
      T* cp = c + r * ldc + v * VL;
      V out = acc[r][v] * alpha;
      if (add_old) out += load(cp, v) * beta;
      if (bias) out += bias_v[v];
      if (e.relu) out = relu_vector(out);
      if (e.gelu)
        for (int l = 0; l < VL; ++l) out[l] = gelu(out[l]);
      if (v < CV - 1 || tail == VL) __builtin_memcpy(cp, &out, sizeof(V));
      else store_lanes(cp, out, tail);
    }
}

// Columns [j0, j0 + cols) of C for SR rows: CV, the vectors they take, picked at compile time.
template <class T, int SR>
void small_rows(const T* a, View va, const T* pb, int64_t ldp, bool padded, T* c, int64_t ldc, int64_t n, int64_t k,
                const Epilogue<T>& e) {
  constexpr int VL = kVL<T>, CV = 4;
  for (int64_t j0 = 0; j0 < n; j0 += CV * VL) {
    const int64_t cols = n - j0 < CV * VL ? n - j0 : CV * VL;
    const T* bias = e.bias ? e.bias + j0 : nullptr;
    switch ((cols + VL - 1) / VL) {
      case 1: small_block<T, SR, 1>(a, va, pb + j0, ldp, padded, c + j0, ldc, cols, k, e, bias); break;
      case 2: small_block<T, SR, 2>(a, va, pb + j0, ldp, padded, c + j0, ldc, cols, k, e, bias); break;
      case 3: small_block<T, SR, 3>(a, va, pb + j0, ldp, padded, c + j0, ldc, cols, k, e, bias); break;
      default: small_block<T, SR, 4>(a, va, pb + j0, ldp, padded, c + j0, ldc, cols, k, e, bias); break;
    }
  }
}

// Above this many multiply-adds a small product's rows are split among the threads (512x10 by 10x100:
// 15.8 -> 12 us on 2 Intel cores; a 64^3 product, 6.5 us on one thread, took 10 on two).
constexpr int64_t kSmallThreadedMacs = int64_t(1) << 18;

// B's k x n into rows ldp apart padded with zeros to whole vectors, absorbing its transpose.
template <class T>
void pack_small_b(const T* b, View vb, int64_t k, int64_t n, T* pb, int64_t ldp) {
  constexpr int VL = kVL<T>;
  if (vb.rs == 1 && vb.cs != 1) {  // B transposed: along K in the source, by VL x VL blocks
    // transposed in registers (element by element, the writes ldp apart missed L1 where ldp was
    // a multiple of 1 KiB: 4x128 by 128x512 took 208 us)
    const int64_t kv = k / VL * VL, nv = n / VL * VL;
    for (int64_t j0 = 0; j0 < nv; j0 += VL)
      for (int64_t p0 = 0; p0 < kv; p0 += VL) transpose_block(b + j0 * vb.cs + p0, vb.cs, pb + p0 * ldp + j0, ldp);
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = p < kv ? nv : 0; j < ldp; ++j) pb[p * ldp + j] = j < n ? b[p + j * vb.cs] : T(0);
  } else if (vb.cs == 1) {  // row-major: whole vectors, the last one masked (its padding zero)
    using V = typename Cfg<T>::V;
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; j += VL) {
        const V x = load_vector<V>(b + p * vb.rs + j, n - j < VL ? n - j : VL);
        __builtin_memcpy(pb + p * ldp + j, &x, sizeof(V));
      }
  } else {
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < ldp; ++j) pb[p * ldp + j] = j < n ? b[p * vb.rs + j * vb.cs] : T(0);
  }
}

template <class T>
void gemm_small(const T* a, View va, const T* b, View vb, T* c, int64_t ldc, int64_t m, int64_t n, int64_t k,
                const Epilogue<T>& e, bool threaded) {
  constexpr int VL = kVL<T>, SR = 4;
  // A row-major B is read in place, its last partial vector by masked loads (packed, 64x100 by 100x64
  // took twice the L1 and 3.0 against 2.5 us on one Zen 4 core); not where its rows are a multiple
  // of 4 KiB apart (they would share an L1 set), nor without masked loads.
  const bool padded = !(vb.cs == 1 && kVecBytes >= 32 && (vb.rs * int64_t(sizeof(T))) % 4096 != 0);
  const T* pb = b;
  int64_t ldp = vb.rs;
  if (padded) {
    ldp = (n + VL - 1) / VL * VL;
    T* packed = tls_b.get<T>((k ? k : 1) * ldp);
    pack_small_b(b, vb, k, n, packed, ldp);
    pb = packed;
  }
  constexpr int64_t kBlockRows = 16;
  auto rows = [&](int64_t block0, int64_t block1) {
    int64_t i = block0 * kBlockRows;
    const int64_t end = block1 * kBlockRows < m ? block1 * kBlockRows : m;
    // With 32 vector registers, 16 accumulators in flight: 16 rows of one vector, or 8 of two (64 x 10
    // from 100 on one Intel core: 4.9 -> 3.3 us with 8 rows).
    if (kVecBytes == 64 && n <= VL)
      for (; i + 16 <= end; i += 16) small_rows<T, 16>(a + i * va.rs, va, pb, ldp, padded, c + i * ldc, ldc, n, k, e);
    if (kVecBytes == 64 && n <= 2 * VL)
      for (; i + 8 <= end; i += 8) small_rows<T, 8>(a + i * va.rs, va, pb, ldp, padded, c + i * ldc, ldc, n, k, e);
    for (; i + SR <= end; i += SR) small_rows<T, SR>(a + i * va.rs, va, pb, ldp, padded, c + i * ldc, ldc, n, k, e);
    for (; i < end; ++i) small_rows<T, 1>(a + i * va.rs, va, pb, ldp, padded, c + i * ldc, ldc, n, k, e);
  };
  const int64_t blocks = (m + kBlockRows - 1) / kBlockRows;
  if (threaded && m * n * k > kSmallThreadedMacs)
    parallel_ranges(blocks, kParallelGrain, rows);  // B (packed above) read by every thread
  else
    rows(0, blocks);
}

// A few rows of A against a transposed B (x @ W.T for a batch of one, the forward of a Linear in
// inference): dot products of A's rows with W's rows, both read in place along K. The small path
// would first copy all of W into padded rows, several times the work of a one-row product
// (1x784 by 784x100: 41 -> 7 us, 4 rows 41 -> 17, 6 rows 40 -> 24 on one Intel core; 8 rows
// gained on 784-deep rows and lost on 128-deep ones).
constexpr int64_t kDotsMaxRows = 6;

bool dots_pay(View va, View vb, int64_t m) {
  return m <= kDotsMaxRows && va.cs == 1 && vb.rs == 1 && vb.cs != 1;
}

// Lane l of the result: the sum of the lanes of x[l], for VL vectors x (overwritten). Halves of
// pairs of vectors are added, so that each step halves the vectors and doubles the sums each holds.
template <class T>
inline typename Cfg<T>::V sum_lanes(typename Cfg<T>::V* x) {
  using V = typename Cfg<T>::V;
  using M = decltype(V{} < V{});
  constexpr int VL = kVL<T>;
  int n = VL;
#pragma GCC unroll 4
  for (int h = VL / 2; h >= 1; h /= 2, n /= 2) {
    M lo, hi;  // lanes [s * h, (s + 1) * h) of a sum: the two halves of a's s-th sum, or b's (s - q)-th
    for (int l = 0, q = VL / (2 * h); l < VL; ++l) {
      const int seg = l / h, from = seg < q ? seg * 2 * h + l % h : VL + (seg - q) * 2 * h + l % h;
      lo[l] = from, hi[l] = from + h;
    }
#pragma GCC unroll 8
    for (int i = 0; i < n / 2; ++i)
      x[i] = __builtin_shuffle(x[2 * i], x[2 * i + 1], lo) + __builtin_shuffle(x[2 * i], x[2 * i + 1], hi);
  }
  return x[0];
}

// The R x J sums along K of R rows of A (lda apart) with J of W's rows, both read in place.
template <class T, int R, int J>
inline void dot_block(const T* a, int64_t lda, const T* const* w, int64_t k, T (*sums)[J]) {
  using V = typename Cfg<T>::V;
  constexpr int VL = kVL<T>;
  const int64_t kv = k / VL * VL;
  V acc[R][J];
  for (int r = 0; r < R; ++r)
    for (int jj = 0; jj < J; ++jj) acc[r][jj] = V{};
  for (int64_t p = 0; p < kv; p += VL) {
    V x[R], y;
    for (int r = 0; r < R; ++r) __builtin_memcpy(&x[r], a + r * lda + p, sizeof(V));
    for (int jj = 0; jj < J; ++jj) {
      __builtin_memcpy(&y, w[jj] + p, sizeof(V));
      for (int r = 0; r < R; ++r) acc[r][jj] += x[r] * y;
    }
  }
  constexpr int S = R * J;
  for (int s0 = 0; s0 < S; s0 += VL) {
    V x[VL];
    for (int i = 0; i < VL; ++i) x[i] = s0 + i < S ? acc[(s0 + i) / J][(s0 + i) % J] : V{};
    const V total = sum_lanes<T>(x);
    for (int i = 0; i < VL && s0 + i < S; ++i) sums[(s0 + i) / J][(s0 + i) % J] = total[i];
  }
  for (int r = 0; r < R; ++r)
    for (int jj = 0; jj < J; ++jj)
      for (int64_t p = kv; p < k; ++p) sums[r][jj] += a[r * lda + p] * w[jj][p];
}

// R rows of A (and of C) at a time, against J of W's rows at a time.
template <class T, int R>
void dot_rows(const T* a, View va, const T* b, View vb, T* c, int64_t ldc, int64_t n, int64_t k,
              const Epilogue<T>& e) {
  constexpr int J = 4;
  for (int64_t j0 = 0; j0 < n; j0 += J) {
    const int jn = n - j0 < J ? int(n - j0) : J;
    const T* w[J];
    for (int jj = 0; jj < J; ++jj) w[jj] = b + (j0 + (jj < jn ? jj : 0)) * vb.cs;
    T sums[R][J];
    dot_block<T, R, J>(a, va.rs, w, k, sums);
    for (int r = 0; r < R; ++r)
      for (int jj = 0; jj < jn; ++jj) {
        T* out = c + r * ldc + j0 + jj;
        *out = apply_epilogue(sums[r][jj], e.beta != T(0) ? *out : T(0), e, e.bias, j0 + jj);
      }
  }
}

// C's last few columns past its whole strips (100 = 3 x 32 + 4), where A is read in place and B is
// transposed, as an MR-row tile of dot products along K of A's rows with W's: a quarter of the FMAs
// of the one-vector strip, mostly padding, that the micro-kernel would run. Written back as its tile.
template <class T, int MR>
void dot_tile(int64_t kc, const T* a, int64_t lda, const T* w, int64_t ldw, T* c, int64_t ldc, int64_t cols,
              const Epilogue<T>& e, bool first, bool last, const T* bias) {
  constexpr int R = MR % 4 == 0 ? 4 : 2, J = 4;
  alignas(64) typename Cfg<T>::V tile[MR][kNV] = {};
  for (int64_t j0 = 0; j0 < cols; j0 += J) {
    const T* wj[J];
    for (int jj = 0; jj < J; ++jj) wj[jj] = w + (j0 + (j0 + jj < cols ? jj : 0)) * ldw;
    for (int r0 = 0; r0 < MR; r0 += R) {
      T sums[R][J];
      dot_block<T, R, J>(a + r0 * lda, lda, wj, kc, sums);
      for (int r = 0; r < R; ++r)
        for (int jj = 0; jj < J && j0 + jj < cols; ++jj) tile[r0 + r][0][j0 + jj] = sums[r][jj];
    }
  }
  write_back<T, MR>(tile, c, ldc, MR, cols, e, first, last, bias);
}

template <class T>
void gemm_dots(const T* a, View va, const T* b, View vb, T* c, int64_t ldc, int64_t m, int64_t n, int64_t k,
               const Epilogue<T>& e) {
  int64_t i = 0;
  for (; i + 2 <= m; i += 2) dot_rows<T, 2>(a + i * va.rs, va, b, vb, c + i * ldc, ldc, n, k, e);
  if (i < m) dot_rows<T, 1>(a + i * va.rs, va, b, vb, c + i * ldc, ldc, n, k, e);
}

// whole_n: the columns of the whole product when this computes some of them (its blocking, hence its
// bits, are the whole product's).
template <class T, int MR>
void gemm_one(const T* a, View va, const T* b, View vb, T* c, int64_t ldc, int64_t m, int64_t n, int64_t k,
              const Epilogue<T>& e, bool threaded, int64_t whole_n = 0) {
  constexpr int NR = Tiles<T, MR>::NR, VL = Tiles<T, MR>::VL;
  const cpu::GemmBlocking blk = cpu::gemm_blocking_for(sizeof(T), MR, NR, m, whole_n ? whole_n : n, k);
  const int64_t KC = blk.kc, MC = blk.mc, NC = blk.nc;
  const int64_t kc_max = k < KC ? (k ? k : 1) : KC;
  T* pb = tls_b.get<T>(kc_max * (((n < NC ? n : NC) + NR - 1) / NR) * NR);
  T* pa = tls_a.get<T>(kc_max * (((m < MC ? m : MC) + MR - 1) / MR) * MR);
  // A row-major is read in place (whole strips; the last, partial one is packed): packing
  // transposes it, which cost more than the micro-kernel's reads along its rows save (a 256x256 A
  // took a quarter of the time of its product with a 256x64 B; 64x128 by 128x512 ran 10-15%
  // faster unpacked, and no shape measured slower). Not when its rows lie a multiple of 4 KiB
  // apart: a strip's rows would share one L1 set.
  const bool in_place_a = va.cs == 1 && va.rs > 0 && (va.rs * int64_t(sizeof(T))) % 4096 != 0;
  // A transposed (a weight gradient's) holds each p's MR entries side by side, as a packed strip
  // does, but lda apart: read in place when C is one B strip wide, so that packing A would serve
  // that strip only (512x1792 by 1792x28: 61 -> 82 GFLOP/s on one Intel core).
  const bool in_place_at = va.rs == 1 && va.cs > 1 && n <= NR && (va.cs * int64_t(sizeof(T))) % 4096 != 0;
  // Likewise a row-major B when C is short (each packed B strip would serve a few A strips only:
  // a recurrent layer's step, 64 rows by 512 from 128, spent a third of its time packing W_hh; an
  // MLP's dW1 at batch 512, 100 rows by 784 from 512, ran 10% faster reading x in place).
  const bool in_place_b = vb.cs == 1 && vb.rs > 0 && m <= kInPlaceMaxM && (vb.rs * int64_t(sizeof(T))) % 4096 != 0;
  // C's last strip, where it is at most half a vector wide against a transposed B: dot products
  // (dot_tile) for the whole A strips read in place.
  const bool dot_edge = in_place_a && vb.rs == 1 && vb.cs != 1 && n > NR;

  // The loop nest with orphaned work-sharing loops: run by a team when threaded, else by this
  // thread alone without entering a parallel region (whose set-up costs more than a small product).
  auto loop_nest = [&]() {
    for (int64_t jc = 0; jc < n; jc += NC) {
      const int64_t nc = n - jc < NC ? n - jc : NC;
      const int64_t n_strips = (nc + NR - 1) / NR;
      for (int64_t pc = 0; pc < k || (pc == 0 && k == 0); pc += KC) {
        const int64_t kc = k - pc < KC ? k - pc : KC;
        const bool first = pc == 0, last = pc + KC >= k;
#pragma omp for schedule(static)
        for (int64_t s = 0; s < n_strips; ++s) {
          const int64_t cols = nc - s * NR < NR ? nc - s * NR : NR;
          if (!in_place_b || cols < NR)
            pack_b_strip(b + pc * vb.rs + (jc + s * NR) * vb.cs, vb, cols, kc, pb + s * NR * kc);
        }
        for (int64_t ic = 0; ic < m; ic += MC) {
          const int64_t mc = m - ic < MC ? m - ic : MC;
          const int64_t m_strips = (mc + MR - 1) / MR;
#pragma omp for schedule(static)
          for (int64_t s = 0; s < m_strips; ++s) {
            const int64_t rows = mc - s * MR < MR ? mc - s * MR : MR;
            if (!(in_place_a || in_place_at) || rows < MR)
              pack_a_strip<T, MR>(a + (ic + s * MR) * va.rs + pc * va.cs, va, rows, kc, pa + s * MR * kc);
          }
          // The tiles in B-strip order, a run per thread: each thread computes with the B strips it
          // packed. Where C is much taller than wide, in A-strip order: each thread reads its band of
          // A only (the MLP's 512x784 by 784x100: x is 1.6 MB, W's panel 0.2 MB).
          const int64_t tiles = n_strips * m_strips;
          const int64_t team = omp_get_num_threads(), me = omp_get_thread_num();
          const bool a_bands = m >= 4 * n && m_strips >= 2 * team;
          for (int64_t t = tiles * me / team; t < tiles * (me + 1) / team; ++t) {
            const int64_t js = a_bands ? t % n_strips : t / m_strips, is = a_bands ? t / n_strips : t % m_strips;
            const int64_t rows = mc - is * MR < MR ? mc - is * MR : MR;
            const int64_t cols = nc - js * NR < NR ? nc - js * NR : NR;
            const int64_t col0 = jc + js * NR;
            const bool whole = in_place_a && rows == MR, b_whole = in_place_b && cols == NR;
            const bool whole_t = in_place_at && rows == MR;
            const T* strip = whole     ? a + (ic + is * MR) * va.rs + pc
                             : whole_t ? a + (ic + is * MR) + pc * va.cs
                                       : pa + is * MR * kc;
            const T* b_strip = b_whole ? b + pc * vb.rs + col0 : pb + js * NR * kc;
            if (dot_edge && whole && cols <= VL / 2) {
              dot_tile<T, MR>(kc, strip, va.rs, b + pc + col0 * vb.cs, vb.cs, c + (ic + is * MR) * ldc + col0, ldc,
                              cols, e, first, last, e.bias ? e.bias + col0 : nullptr);
              continue;
            }
            micro_kernel_for<T, MR>(rows, cols)(kc, strip, whole ? va.rs : whole_t ? -va.cs : -MR, b_strip,
                                                b_whole ? vb.rs : NR, c + (ic + is * MR) * ldc + col0, ldc, rows, cols,
                                                e, first, last, e.bias ? e.bias + col0 : nullptr);
          }
#pragma omp barrier
        }
      }
    }
  };
  if (threaded) {
    cpu::Region region;
#pragma omp parallel
    {
      cpu::RegionMember member(region);
      loop_nest();
    }
  } else if (omp_in_parallel()) {  // inside another team: a team of one keeps the loops to ourselves
#pragma omp parallel num_threads(1)
    loop_nest();
  } else {
    loop_nest();
  }
}

template <class T, int MR>
void gemm_batch(const GemmArgs& g) {
  const View va = g.trans_a ? View{1, g.lda} : View{g.lda, 1};
  const View vb = g.trans_b ? View{1, g.ldb} : View{g.ldb, 1};
  const Epilogue<T> e{T(g.alpha), T(g.beta), static_cast<const T*>(g.bias), g.epilogue == UnaryOp::Relu,
                      g.epilogue == UnaryOp::Gelu};
  const T* a = static_cast<const T*>(g.a);
  const T* b = static_cast<const T*>(g.b);
  T* c = static_cast<T*>(g.c);
  const int64_t macs = g.m * g.n * (g.k ? g.k : 1);
  auto one = [&](int64_t i, bool threaded) {
    if (dots_pay(va, vb, g.m))
      gemm_dots<T>(a + i * g.stride_a, va, b + i * g.stride_b, vb, c + i * g.stride_c, g.ldc, g.m, g.n, g.k, e);
    else if (small_product<T>(g.m, g.n, g.k))
      gemm_small<T>(a + i * g.stride_a, va, b + i * g.stride_b, vb, c + i * g.stride_c, g.ldc, g.m, g.n, g.k, e,
                    threaded);
    else
      gemm_one<T, MR>(a + i * g.stride_a, va, b + i * g.stride_b, vb, c + i * g.stride_c, g.ldc, g.m, g.n, g.k, e,
                      threaded && macs >= kThreadedMacs);
  };
  const int team = omp_get_max_threads();
  const bool threads = team > 1 && !omp_in_parallel();
  // Whole products per thread (no barrier inside a product) when they are small, or when the batch
  // splits evenly or is long enough that an uneven split costs little: attention's 64 products of
  // 256x256x64 took 1.5x as long (and up to 3.7x on a busy machine) as a sequence of threaded ones.
  const bool by_product = macs < kThreadedMacs || g.batch % team == 0 || g.batch >= 4 * team;
  if (g.batch > 1 && threads && by_product) {
    cpu::Region region;
#pragma omp parallel if (macs * g.batch >= kThreadedMacs)
    {
      cpu::RegionMember member(region);
#pragma omp for schedule(static)
      for (int64_t i = 0; i < g.batch; ++i) one(i, false);
    }
    return;
  }
  for (int64_t i = 0; i < g.batch; ++i) one(i, threads);
}

// C = alpha A^T B with B row-major and C much taller than wide (a weight gradient g^T x with few
// inputs, or W_hh's in a recurrent layer): computed as C^T = B^T A, whose operands are packed as
// cheaply, into scratch, then transposed into C (512x128 and 512x28 from 1792, 784x100 from 64 took
// 0.7-0.8 of the direct product's time on 2 Intel cores). The swapped product runs the narrow side
// as rows; each thread computes a band of C^T's columns on its own, then transposes it into its rows
// of C, with no barrier between the threads (an MLP's dW1, 784x100 from 64: 107 -> 93 us on 2 Zen 4
// cores against one team-wide product). The same products in the same order, so the same bits; not
// with beta, bias or an activation, which would apply in another order.
// A small product whose C is under a vector wide (an MLP's dW2 stored as h^T g, 100x10 from 64) is
// swapped where C^T's rows fill its vectors with at most 3/4 of the multiply-adds (4480 against 6400:
// 3.2 -> 2.7 us on one Zen 4 core), computed by one thread.
template <class T>
bool gemm_swapped_pays(const GemmArgs& g) {
  if (!(g.batch == 1 && g.trans_a && !g.trans_b && g.beta == 0.0 && !g.bias && g.epilogue == UnaryOp::Identity))
    return false;
  if (g.m * g.n * g.k >= kThreadedMacs) return g.m >= 2 * g.n && (g.k >= 256 || omp_get_max_threads() > 1);
  constexpr int64_t VL = kVL<T>;
  return g.n < VL && small_product<T>(g.m, g.n, g.k) && small_product<T>(g.n, g.m, g.k) &&
         4 * g.n * ((g.m + VL - 1) / VL) <= 3 * g.m;
}

thread_local ScratchBuffer tls_c;

// Rows [i_begin, i_end) of C (m x n, ldc) from its transpose ct (n x m), by VL x VL blocks transposed
// in registers.
template <class T>
void transpose_rows(const T* ct, int64_t m, T* c, int64_t ldc, int64_t n, int64_t i_begin, int64_t i_end) {
  constexpr int64_t VL = kVL<T>;
  for (int64_t i0 = i_begin; i0 < i_end; i0 += VL) {
    int64_t j0 = 0;
    if (i0 + VL <= i_end)
      for (; j0 + VL <= n; j0 += VL) transpose_block(ct + j0 * m + i0, m, c + i0 * ldc + j0, ldc);
    for (int64_t i = i0; i < i_end && i < i0 + VL; ++i)
      for (int64_t j = j0; j < n; ++j) c[i * ldc + j] = ct[j * m + i];
  }
}

// A small swapped product (C under a vector wide): C^T into VL rows of scratch padded with zeros (rows
// past C's n columns, columns past its m rows), so that C comes back by whole VL x VL blocks transposed
// in registers, each row of C stored masked (lane by lane, the transpose took a third of an MLP's dW2).
template <class T>
void gemm_swapped_small(const GemmArgs& g, const T* a, View va, const T* b, View vbt, T* c, const Epilogue<T>& e) {
  using V = typename Cfg<T>::V;
  constexpr int64_t VL = kVL<T>;
  const int64_t ldt = (g.m + VL - 1) / VL * VL;
  T* ct = tls_c.get<T>(VL * ldt);
  for (int64_t j = 0; j < g.n; ++j) __builtin_memset(ct + j * ldt + g.m, 0, (ldt - g.m) * sizeof(T));
  for (int64_t i = g.n * ldt; i < VL * ldt; i += VL) __builtin_memset(ct + i, 0, sizeof(V));
  gemm_small<T>(b, vbt, a, va, ct, ldt, g.n, g.m, g.k, e, false);
  for (int64_t i0 = 0; i0 < g.m; i0 += VL) {
    alignas(64) T block[VL * VL];
    transpose_block(ct + i0, ldt, block, VL);
    for (int64_t i = i0; i < g.m && i < i0 + VL; ++i) {
      V row;
      __builtin_memcpy(&row, block + (i - i0) * VL, sizeof(V));
      store_lanes(c + i * g.ldc, row, g.n);
    }
  }
}

template <class T, int MR>
void gemm_swapped(const GemmArgs& g) {
  constexpr int64_t NR = Tiles<T, MR>::NR;
  T* c = static_cast<T*>(g.c);
  const T* a = static_cast<const T*>(g.a);
  const T* b = static_cast<const T*>(g.b);
  const Epilogue<T> e{T(g.alpha), T(0), nullptr, false, false};
  // C^T (n x m) = B^T A: B^T read from B (k x n) with its transpose's strides, A (k x m) as it is.
  const View vbt{1, g.ldb}, va{g.lda, 1};
  if (g.m * g.n * g.k < kThreadedMacs) return gemm_swapped_small<T>(g, a, va, b, vbt, c, e);
  T* ct = tls_c.get<T>(g.m * g.n);
  const int64_t strips = (g.m + NR - 1) / NR;
  auto band = [&](int64_t s0, int64_t s1) {  // C^T's columns of B strips [s0, s1), C's rows
    const int64_t j0 = s0 * NR, j1 = s1 * NR < g.m ? s1 * NR : g.m;
    if (j0 >= j1) return;
    gemm_one<T, MR>(b, vbt, a + j0, va, ct + j0, g.m, g.n, j1 - j0, g.k, e, false, g.m);
    transpose_rows(ct, g.m, c, g.ldc, g.n, j0, j1);
  };
  if (omp_get_max_threads() == 1 || omp_in_parallel()) return band(0, strips);
  cpu::Region region;
#pragma omp parallel
  {
    cpu::RegionMember member(region);
    const int64_t team = omp_get_num_threads(), me = omp_get_thread_num();
    band(strips * me / team, strips * (me + 1) / team);
  }
}

template <class T, int MR>
void gemm_tiled(const GemmArgs& g, bool swapped) {
  if (swapped) gemm_swapped<T, MR>(g);
  else gemm_batch<T, MR>(g);
}

// The register tile's rows: on AVX-512, the core family's for C's rows as computed (gemm_plan.h);
// with 16 vector registers (AVX2, SSE), 6 rows of two vectors leave room for B's and A's.
template <class T>
void gemm_typed(const GemmArgs& g) {
  if (g.m == 0 || g.n == 0) return;
  const bool swapped = gemm_swapped_pays<T>(g);
#if defined(__AVX512F__)
  if (cpu::avx512_tile_rows_for(swapped ? g.n : g.m) == 12) return gemm_tiled<T, 12>(g, swapped);
  gemm_tiled<T, 8>(g, swapped);
#else
  gemm_tiled<T, 6>(g, swapped);
#endif
}

}  // namespace

void gemm_kernel(bool is_double, const GemmArgs& args) {
  if (is_double) gemm_typed<double>(args);
  else gemm_typed<float>(args);
}

PYDL_KERNELS_END
