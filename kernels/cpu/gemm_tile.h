// The register tile of the CPU GEMM (gemm_isa.cpp): vector types, operand views, the packing of A's
// and B's strips, the epilogue (alpha, beta, bias, ReLU/GELU) and the MR x NR micro-kernel with its
// write-back. Include from gemm_isa.cpp only: it is compiled once per ISA (PYDL_ISA).
#pragma once
#include <stdint.h>

#include <type_traits>

#include "kernels/common/macros.h"
#include "kernels/common/unary.h"
#include "kernels/cpu/vec_bytes.h"

PYDL_KERNELS_BEGIN

constexpr int kNV = 2;  // vectors per micro-tile row

typedef float VecF __attribute__((vector_size(kVecBytes)));
typedef double VecD __attribute__((vector_size(kVecBytes)));

template <class T> struct Cfg;
template <> struct Cfg<float> { using V = VecF; };
template <> struct Cfg<double> { using V = VecD; };

// An MR x NR register tile (MR rows of kNV vectors); the cache blocking comes from
// gemm_plan.cpp at run time.
template <class T>
constexpr int kVL = kVecBytes / sizeof(T);  // lanes of a vector
template <class T>
constexpr int kNR = kNV * kVL<T>;  // columns of the register tile

template <class T, int Rows>
struct Tiles {
  static constexpr int VL = kVL<T>;
  static constexpr int MR = Rows, NR = kNR<T>;
};

struct View {  // element (i, j) of op(X) is x[i * rs + j * cs]
  int64_t rs, cs;
};

// Packs MR rows of op(A) over kc: dst[p * MR + i] = A(i, p), rows past `rows` zero. The two
// layouts of a whole strip get loops whose access is contiguous (a transposed A, the weight
// gradients' A^T, is MR consecutive elements per p; a row-major one is read along its rows).
template <class T, int MR>
void pack_a_strip(const T* a, View v, int64_t rows, int64_t kc, T* __restrict dst) {
  if (rows == MR && v.rs == 1) {
    for (int64_t p = 0; p < kc; ++p) {
      const T* __restrict src = a + p * v.cs;
      for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i];
    }
    return;
  }
  if (rows == MR && v.cs == 1) {
    for (int i = 0; i < MR; ++i) {
      const T* __restrict src = a + i * v.rs;
      for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = src[p];
    }
    return;
  }
  for (int64_t p = 0; p < kc; ++p)
    for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < rows ? a[i * v.rs + p * v.cs] : T(0);
}

// The permutations of two rows a, b of a square block that swap their off-diagonal w-wide blocks
// (lanes l with bit w set in a, with those with it clear in b), for w = 1, 2, 4, ...: after them all
// the rows hold the block transposed. [s][0]: a's new lanes, [s][1]: b's, for w = 2^s. A table in
// memory: built in the loop, the masks cost more instructions than the shuffles.
template <class I, int VL>
struct SwapMasks {
  I lanes[5][2][VL];
  constexpr SwapMasks() : lanes{} {
    for (int s = 0, w = 1; w < VL; ++s, w *= 2)
      for (int l = 0; l < VL; ++l) {
        lanes[s][0][l] = I((l & w) ? VL + l - w : l);
        lanes[s][1][l] = I((l & w) ? VL + l : l + w);
      }
  }
};

template <class I, int VL>
inline constexpr SwapMasks<I, VL> kSwapMasks{};

// dst rows (VL of them, ldd apart) = the VL x VL block of src (rows lds apart) transposed.
template <class T>
inline void transpose_block(const T* src, int64_t lds, T* dst, int64_t ldd) {
  using V = typename Cfg<T>::V;
  using M = decltype(V{} < V{});  // integer lanes as wide as T's
  constexpr int VL = kVL<T>;
  V r[VL];
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  for (int i = 0; i < VL; ++i) __builtin_memcpy(&r[i], src + i * lds, sizeof(V));
#pragma GCC unroll 4
  for (int s = 0, w = 1; w < VL; ++s, w *= 2) {
    M lower, upper;
    __builtin_memcpy(&lower, kSwapMasks<I, VL>.lanes[s][0], sizeof(M));
    __builtin_memcpy(&upper, kSwapMasks<I, VL>.lanes[s][1], sizeof(M));
#pragma GCC unroll 16
    for (int i = 0; i < VL; ++i)
      if (!(i & w)) {
        const V a = r[i], b = r[i + w];
        r[i] = __builtin_shuffle(a, b, lower);
        r[i + w] = __builtin_shuffle(a, b, upper);
      }
  }
  for (int i = 0; i < VL; ++i) __builtin_memcpy(dst + i * ldd, &r[i], sizeof(V));
}

template <class T>
void pack_b_strip(const T* b, View v, int64_t cols, int64_t kc, T* dst) {
  constexpr int NR = kNR<T>, VL = kVL<T>;
  if (v.rs == 1 && v.cs != 1) {  // B transposed (x @ W.T): each of W's rows is a column of the strip
    int64_t p0 = 0;
    if (cols == NR)  // whole vector blocks transposed in registers (the scalar loop below took as long
      for (; p0 + VL <= kc; p0 += VL)  // as a 64-row product's micro-kernels)
        for (int j0 = 0; j0 < NR; j0 += VL) transpose_block(b + j0 * v.cs + p0, v.cs, dst + p0 * NR + j0, NR);
    else
      __builtin_memset(dst, 0, sizeof(T) * kc * NR);  // the columns past the edge
    // A block of K at a time: its rows of the strip (2 KiB) stay in L1 while W's rows are read along
    // K (all of K per column at once wrote a whole L1's worth of lines between two visits to each).
    constexpr int64_t kBlockK = 16;
    for (; p0 < kc; p0 += kBlockK) {
      const int64_t p1 = p0 + kBlockK < kc ? p0 + kBlockK : kc;
      for (int j = 0; j < cols; ++j) {
        const T* __restrict src = b + j * v.cs;
        for (int64_t p = p0; p < p1; ++p) dst[p * NR + j] = src[p];
      }
    }
    return;
  }
  if (v.cs == 1 && cols == NR) {  // row-major B: whole rows of the strip
    for (int64_t p = 0; p < kc; ++p) __builtin_memcpy(dst + p * NR, b + p * v.rs, sizeof(T) * NR);
    return;
  }
  for (int64_t p = 0; p < kc; ++p)
    for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < cols ? b[p * v.rs + j * v.cs] : T(0);
}

template <class T>
struct Epilogue {
  T alpha, beta;
  const T* bias;
  bool relu, gelu;
};

template <class T>
inline T gelu(T x) { return GeluOp<T>(0, 0).forward(x); }

template <class T>
inline T apply_epilogue(T v, T old, const Epilogue<T>& e, const T* bias, int64_t j) {
  v = e.alpha * v;
  if (e.beta != T(0)) v += e.beta * old;
  if (bias) v += bias[j];
  if (e.relu && v < T(0)) v = T(0);
  if (e.gelu) v = gelu(v);
  return v;
}

// A tile's write-back through the epilogue: C = (first ? beta*C : C) + alpha*AB, then bias and
// ReLU/GELU once the last K block is in; rows <= MR, cols <= NR, a partial last vector stored
// masked. Kept out of line so the micro-kernel's accumulators stay in registers on its common path.
template <class T, int MR>
__attribute__((noinline)) void write_back(const typename Cfg<T>::V (*tile)[kNV], T* c, int64_t ldc, int64_t rows,
                                          int64_t cols, const Epilogue<T>& e, bool first, bool last,
                                          const T* bias) {
  using V = typename Cfg<T>::V;
  constexpr int VL = kVL<T>;
  for (int v = 0; v < kNV; ++v) {
    const int64_t lanes = cols - v * VL < VL ? cols - v * VL : VL;
    if (lanes <= 0) break;
    const V bias_v = last && bias ? load_vector<V>(bias + v * VL, lanes) : V{};
    for (int64_t i = 0; i < rows; ++i) {
      T* cp = c + i * ldc + v * VL;
      V r = tile[i][v] * e.alpha;
      if (!first || e.beta != T(0)) {
        const V old = load_vector<V>(cp, lanes);
        r += first ? old * e.beta : old;
      }
      if (last) {
        if (bias) r += bias_v;
        if (e.relu) r = relu_vector(r);
        if (e.gelu)
          for (int l = 0; l < VL; ++l) r[l] = gelu(r[l]);
      }
      store_vector(cp, r, lanes);
    }
  }
}

// The MR x NR register tile of op(A) @ op(B) over kc, written back into C:
// C = (first ? beta*C : C) + alpha*AB, then bias and ReLU once the last K block is in.
// A's element (i, p) is at pa[i * lda + p] for MR rows of a row-major A read in place (lda > 0),
// else at pa[p * -lda + i]: a packed strip (lda = -MR) or a transposed A read in place. B's strip
// has its rows ldb apart: NR when packed, or a row-major B's stride when read in place.
template <class T, int MR, int NV = kNV>
void micro_kernel(int64_t kc, const T* __restrict pa, int64_t lda, const T* __restrict pb, int64_t ldb, T* c,
                  int64_t ldc, int64_t rows, int64_t cols, const Epilogue<T>& e, bool first, bool last,
                  const T* bias) {
  using V = typename Cfg<T>::V;
  constexpr int NR = Tiles<T, MR>::NR, VL = Tiles<T, MR>::VL;
  V acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = V{};
  auto step = [&](int64_t p, auto a_at) {
    V b[NV];
    for (int v = 0; v < NV; ++v) __builtin_memcpy(&b[v], pb + p * ldb + v * VL, sizeof(V));
    for (int i = 0; i < MR; ++i) {
      const T a = a_at(i);
      for (int v = 0; v < NV; ++v) acc[i][v] += b[v] * a;
    }
  };
  if (lda > 0) {
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) step(p, [&](int i) { return pa[i * lda + p]; });
  } else {
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) step(p, [&](int i) { return pa[p * -lda + i]; });
  }
  if constexpr (NV == kNV) {
    if (rows == MR && cols == NR && !(last && e.gelu)) {  // a whole tile, written from the registers
      const V alpha = V{} + e.alpha, beta = V{} + (first ? e.beta : T(1));
      const bool add_old = !first || e.beta != T(0), add_bias = last && bias, relu = last && e.relu;
      V bias_v[kNV];
      for (int v = 0; v < kNV; ++v) bias_v[v] = V{};
      if (add_bias)
        for (int v = 0; v < kNV; ++v) __builtin_memcpy(&bias_v[v], bias + v * VL, sizeof(V));
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < kNV; ++v) {  // the operations of write_back, in its order
          T* cp = c + i * ldc + v * VL;
          V r = acc[i][v] * alpha;
          if (add_old) {
            V old;
            __builtin_memcpy(&old, cp, sizeof(V));
            r += first ? old * beta : old;
          }
          if (add_bias) r += bias_v[v];
          if (relu) r = relu_vector(r);
          __builtin_memcpy(cp, &r, sizeof(V));
        }
      return;
    }
  }
  alignas(64) V tile[MR][kNV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) tile[i][v] = v < NV ? acc[i][v] : V{};
  write_back<T, MR>(tile, c, ldc, rows, cols, e, first, last, bias);
}

// The micro-kernel for a tile of rows x cols: one vector of columns where that covers them (C's last
// columns, 100 = 3 x 32 + 4), and 4 or 8 rows for A's last, short strip (100 = 8 x 12 + 4).
template <class T, int MR>
auto micro_kernel_for(int64_t rows, int64_t cols) {
  constexpr int VL = kVL<T>;
  if (MR > 4 && rows <= 4) return cols <= VL ? micro_kernel<T, 4, 1> : micro_kernel<T, 4>;
  if (MR > 8 && rows <= 8) return cols <= VL ? micro_kernel<T, 8, 1> : micro_kernel<T, 8>;
  return cols <= VL ? micro_kernel<T, MR, 1> : micro_kernel<T, MR>;
}

PYDL_KERNELS_END
