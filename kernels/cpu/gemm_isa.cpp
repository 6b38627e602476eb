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
// panels and a masked write-back, alpha/beta/bias/ReLU/GELU by the write-back.
#include <stdint.h>
#include <stdlib.h>

#include <omp.h>

#include "kernels/common/gemm_args.h"
#include "kernels/common/macros.h"
#include "kernels/cpu/float_mode.h"
#include "kernels/cpu/scratch.h"

PYDL_KERNELS_BEGIN

namespace {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64, kMR = 8;
#elif defined(__AVX2__)
constexpr int kVecBytes = 32, kMR = 6;
#else
constexpr int kVecBytes = 16, kMR = 6;
#endif
constexpr int kNV = 2;  // vectors per micro-tile row

typedef float VecF __attribute__((vector_size(kVecBytes)));
typedef double VecD __attribute__((vector_size(kVecBytes)));

template <class T> struct Cfg;
template <> struct Cfg<float> { using V = VecF; };
template <> struct Cfg<double> { using V = VecD; };

template <class T>
struct Tiles {
  static constexpr int VL = kVecBytes / sizeof(T);
  static constexpr int MR = kMR, NR = kNV * VL;
  static constexpr int64_t KC = 256, MC = MR * 20, NC = NR * 64;
};

// Below this many multiply-adds one thread does the whole product.
constexpr int64_t kThreadedMacs = int64_t(1) << 19;

thread_local ScratchBuffer tls_a, tls_b;

struct View {  // element (i, j) of op(X) is x[i * rs + j * cs]
  int64_t rs, cs;
};

template <class T>
void pack_a_strip(const T* a, View v, int64_t rows, int64_t kc, T* dst) {
  constexpr int MR = Tiles<T>::MR;
  for (int64_t p = 0; p < kc; ++p)
    for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < rows ? a[i * v.rs + p * v.cs] : T(0);
}

template <class T>
void pack_b_strip(const T* b, View v, int64_t cols, int64_t kc, T* dst) {
  constexpr int NR = Tiles<T>::NR;
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

template <class V>
inline V relu_vector(V x) {
  const auto negative = x < V{};  // lanes of all ones where x < 0 (NaN is kept)
  return (V)((decltype(negative))x & ~negative);
}

// Scalar write-back of a partial (edge) tile kept in `tile`.
template <class T>
void write_edge_tile(const T* tile, T* c, int64_t ldc, int64_t rows, int64_t cols, const Epilogue<T>& e, bool first,
                     bool last, const T* bias) {
  constexpr int NR = Tiles<T>::NR;
  for (int64_t i = 0; i < rows; ++i) {
    T* crow = c + i * ldc;
    for (int64_t j = 0; j < cols; ++j) {
      T v = e.alpha * tile[i * NR + j];
      if (!first) v += crow[j];
      else if (e.beta != T(0)) v += e.beta * crow[j];
      if (last) {
        if (bias) v += bias[j];
        if (e.relu && v < T(0)) v = T(0);
        if (e.gelu) v = gelu(v);
      }
      crow[j] = v;
    }
  }
}

// The MR x NR register tile of op(A) @ op(B) over kc, written back into C:
// C = (first ? beta*C : C) + alpha*AB, then bias and ReLU once the last K block is in.
template <class T>
void micro_kernel(int64_t kc, const T* __restrict pa, const T* __restrict pb, T* c, int64_t ldc, int64_t rows,
                  int64_t cols, const Epilogue<T>& e, bool first, bool last, const T* bias) {
  using V = typename Cfg<T>::V;
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR, VL = Tiles<T>::VL;
  V acc[MR][kNV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < kNV; ++v) acc[i][v] = V{};
  for (int64_t p = 0; p < kc; ++p) {
    V b[kNV];
    for (int v = 0; v < kNV; ++v) b[v] = *reinterpret_cast<const V*>(pb + p * NR + v * VL);
    for (int i = 0; i < MR; ++i) {
      const T a = pa[p * MR + i];
      for (int v = 0; v < kNV; ++v) acc[i][v] += b[v] * a;
    }
  }
  if (rows < MR || cols < NR) {
    alignas(64) T tile[MR * NR];
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < kNV; ++v) *reinterpret_cast<V*>(tile + i * NR + v * VL) = acc[i][v];
    write_edge_tile(tile, c, ldc, rows, cols, e, first, last, bias);
    return;
  }
  V bias_v[kNV];
  for (int v = 0; v < kNV; ++v) {
    bias_v[v] = V{};
    if (last && bias) __builtin_memcpy(&bias_v[v], bias + v * VL, sizeof(V));
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < kNV; ++v) {
      T* cp = c + i * ldc + v * VL;
      V r = acc[i][v] * e.alpha, old;
      if (!first || e.beta != T(0)) {
        __builtin_memcpy(&old, cp, sizeof(V));
        r += first ? old * e.beta : old;
      }
      if (last) {
        r += bias_v[v];
        if (e.relu) r = relu_vector(r);
        if (e.gelu)
          for (int l = 0; l < VL; ++l) r[l] = gelu(r[l]);
      }
      __builtin_memcpy(cp, &r, sizeof(V));
    }
}

template <class T>
void gemm_one(const T* a, View va, const T* b, View vb, T* c, int64_t ldc, int64_t m, int64_t n, int64_t k,
              const Epilogue<T>& e, bool threaded) {
  using Tl = Tiles<T>;
  constexpr int MR = Tl::MR, NR = Tl::NR;
  const int64_t kc_max = k < Tl::KC ? (k ? k : 1) : Tl::KC;
  T* pb = tls_b.get<T>(kc_max * (((n < Tl::NC ? n : Tl::NC) + NR - 1) / NR) * NR);
  T* pa = tls_a.get<T>(kc_max * (((m < Tl::MC ? m : Tl::MC) + MR - 1) / MR) * MR);

  // The loop nest with orphaned work-sharing loops: run by a team when threaded, else by this
  // thread alone without entering a parallel region (whose set-up costs more than a small product).
  auto loop_nest = [&]() {
    for (int64_t jc = 0; jc < n; jc += Tl::NC) {
      const int64_t nc = n - jc < Tl::NC ? n - jc : Tl::NC;
      const int64_t n_strips = (nc + NR - 1) / NR;
      for (int64_t pc = 0; pc < k || (pc == 0 && k == 0); pc += Tl::KC) {
        const int64_t kc = k - pc < Tl::KC ? k - pc : Tl::KC;
        const bool first = pc == 0, last = pc + Tl::KC >= k;
#pragma omp for schedule(static)
        for (int64_t s = 0; s < n_strips; ++s) {
          const int64_t cols = nc - s * NR < NR ? nc - s * NR : NR;
          pack_b_strip(b + pc * vb.rs + (jc + s * NR) * vb.cs, vb, cols, kc, pb + s * NR * kc);
        }
        for (int64_t ic = 0; ic < m; ic += Tl::MC) {
          const int64_t mc = m - ic < Tl::MC ? m - ic : Tl::MC;
          const int64_t m_strips = (mc + MR - 1) / MR;
#pragma omp for schedule(static)
          for (int64_t s = 0; s < m_strips; ++s) {
            const int64_t rows = mc - s * MR < MR ? mc - s * MR : MR;
            pack_a_strip(a + (ic + s * MR) * va.rs + pc * va.cs, va, rows, kc, pa + s * MR * kc);
          }
#pragma omp for schedule(static)
          for (int64_t t = 0; t < n_strips * m_strips; ++t) {
            const int64_t js = t / m_strips, is = t % m_strips;
            const int64_t rows = mc - is * MR < MR ? mc - is * MR : MR;
            const int64_t cols = nc - js * NR < NR ? nc - js * NR : NR;
            const int64_t col0 = jc + js * NR;
            micro_kernel<T>(kc, pa + is * MR * kc, pb + js * NR * kc, c + (ic + is * MR) * ldc + col0, ldc, rows, cols,
                            e, first, last, e.bias ? e.bias + col0 : nullptr);
          }
        }
      }
    }
  };
  if (threaded) {
#pragma omp parallel
    {
      cpu::FloatModeScope float_mode;
      loop_nest();
    }
  } else if (omp_in_parallel()) {  // inside another team: a team of one keeps the loops to ourselves
#pragma omp parallel num_threads(1)
    loop_nest();
  } else {
    loop_nest();
  }
}

template <class T>
void gemm_typed(const GemmArgs& g) {
  if (g.m == 0 || g.n == 0) return;
  const View va = g.trans_a ? View{1, g.lda} : View{g.lda, 1};
  const View vb = g.trans_b ? View{1, g.ldb} : View{g.ldb, 1};
  const Epilogue<T> e{T(g.alpha), T(g.beta), static_cast<const T*>(g.bias), g.epilogue == UnaryOp::Relu,
                      g.epilogue == UnaryOp::Gelu};
  const T* a = static_cast<const T*>(g.a);
  const T* b = static_cast<const T*>(g.b);
  T* c = static_cast<T*>(g.c);
  const int64_t macs = g.m * g.n * (g.k ? g.k : 1);
  const bool threads = omp_get_max_threads() > 1 && !omp_in_parallel();
  if (g.batch > 1 && threads && macs < kThreadedMacs) {  // many small products: one per thread
#pragma omp parallel if (macs * g.batch >= kThreadedMacs)
    {
      cpu::FloatModeScope float_mode;
#pragma omp for schedule(static)
      for (int64_t i = 0; i < g.batch; ++i)
        gemm_one(a + i * g.stride_a, va, b + i * g.stride_b, vb, c + i * g.stride_c, g.ldc, g.m, g.n, g.k, e, false);
    }
    return;
  }
  for (int64_t i = 0; i < g.batch; ++i)
    gemm_one(a + i * g.stride_a, va, b + i * g.stride_b, vb, c + i * g.stride_c, g.ldc, g.m, g.n, g.k, e,
             threads && macs >= kThreadedMacs);
}

}  // namespace

void gemm_kernel(bool is_double, const GemmArgs& args) {
  if (is_double) gemm_typed<double>(args);
  else gemm_typed<float>(args);
}

PYDL_KERNELS_END
