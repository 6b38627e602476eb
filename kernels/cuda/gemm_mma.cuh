// GEMM on the tensor cores with mma.sync (sm_80 and newer; runs unchanged on sm_90): one
// kernel template for three input types, float32 accumulation.
//   float    -> TF32 (m16n8k8; inputs rounded to TF32 with cvt.rna), output float32;
//   Half     -> FP16 (m16n8k16), output float16;
//   BFloat16 -> BF16 (m16n8k16), output bfloat16.
//
// A block computes a BM x BN tile of C; the K dimension goes by slices of 64 bytes per row
// (BK = 32 halves or 16 floats) through a STAGES-deep cp.async pipeline in dynamic shared
// memory. Each operand slice is kept in shared memory in its global layout (the contiguous
// dimension innermost, rows padded by 16 or 32 bytes), so every copy is a 16-byte cp.async
// whatever the transposes; partial or misaligned chunks fall back to element loads with zero
// fill. Fragments come out with ldmatrix for 16-bit types, ldmatrix.trans when the operand is
// stored the other way round; TF32 fragments are read as 32-bit words. The paddings make
// both conflict-free: 8 rows of 16 bytes at a stride of 80 or 272 bytes hit 32 distinct banks.
//
// Warp tiling: WARPS_M x WARPS_N warps, each a (BM/WARPS_M) x (BN/WARPS_N) sub-tile of
// 16 x 8 mma tiles whose float32 accumulators stay in registers until the write-back.
#pragma once
#include "kernels/cuda/gemm_common.cuh"

namespace pydl::cuda_kernels::gemm_detail {

// MIN_BLOCKS: blocks per SM for __launch_bounds__ (caps the registers per thread); 0 gives
// none (nvcc then emits no .minnctapersm, and ptxas allocates as it did before the knob).
template <int BM_, int BN_, int WARPS_M_, int WARPS_N_, int STAGES_, int MIN_BLOCKS_ = 0>
struct MmaConfig {
  static constexpr int BM = BM_, BN = BN_, WARPS_M = WARPS_M_, WARPS_N = WARPS_N_, STAGES = STAGES_;
  static constexpr int kMinBlocks = MIN_BLOCKS_;
  static constexpr int kThreads = WARPS_M * WARPS_N * 32;
  static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N;
  static constexpr int MI = WM / 16, NI = WN / 8;
  static_assert(WM % 16 == 0 && WN % 16 == 0, "warp tiles are whole 16 x 16 blocks");
  static_assert(STAGES >= 2, "the pipeline needs two stages at least");
};

// The per-type facts: slice depth, mma shape, and how a stored slice is padded.
template <class T>
struct MmaType {
  static constexpr int kElem = sizeof(T);
  static constexpr int BK = 64 / kElem;        // 64 bytes of K per row and slice
  static constexpr int MMA_K = 32 / kElem;     // 8 for TF32, 16 for FP16/BF16
  static constexpr int kChunk = 16 / kElem;    // elements per 16-byte copy
  // Row padding in elements: 16 bytes for 16-bit types; for TF32, 4 floats when K is
  // innermost and 8 when M/N is (the scalar fragment reads are then conflict-free).
  static constexpr int pad(bool k_inner) { return kElem == 2 ? 8 : (k_inner ? 4 : 8); }
};

// A stored slice: OUTER rows of INNER contiguous elements (+ padding).
template <class T, int OUTER, int INNER, bool K_INNER>
struct Slice {
  static constexpr int kLd = INNER + MmaType<T>::pad(K_INNER);
  static constexpr int kElems = OUTER * kLd;
};

template <class T, class Cfg, bool TA, bool TB>
struct MmaLayout {
  static constexpr int BK = MmaType<T>::BK;
  // op(A) is M x K: stored m-major (k inner) unless transposed; op(B) is K x N: stored
  // k-major (n inner) unless transposed.
  using A = Slice<T, TA ? BK : Cfg::BM, TA ? Cfg::BM : BK, !TA>;
  using B = Slice<T, TB ? Cfg::BN : BK, TB ? BK : Cfg::BN, TB>;
  static constexpr int kStageElems = A::kElems + B::kElems;
  static constexpr int kSmemBytes = Cfg::STAGES * kStageElems * static_cast<int>(sizeof(T));
  static_assert((A::kElems * sizeof(T)) % 16 == 0 && (kStageElems * sizeof(T)) % 16 == 0, "16-byte aligned slices");
};

// ---------------------------------------------------------------- PTX wrappers (sm_80+)
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define PYDL_MMA_AVAILABLE 1
#endif

__device__ __forceinline__ unsigned smem_addr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// Under PYDL_CUDA_EMULATION (tools/cuda_emu) each wrapper calls the emulator's model of
// its instruction instead.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
#if defined(PYDL_CUDA_EMULATION)
  pydl_emu::cp_async16(smem, gmem);
#elif defined(PYDL_MMA_AVAILABLE)
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(smem)), "l"(gmem));
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if defined(PYDL_CUDA_EMULATION)
  pydl_emu::cp_async_commit();
#elif defined(PYDL_MMA_AVAILABLE)
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(PYDL_CUDA_EMULATION)
  pydl_emu::cp_async_wait(N);
#elif defined(PYDL_MMA_AVAILABLE)
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

template <bool TRANS>
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void* p) {
#if defined(PYDL_CUDA_EMULATION)
  pydl_emu::ldmatrix_x4(r, p, TRANS);
#elif defined(PYDL_MMA_AVAILABLE)
  if constexpr (TRANS)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
#endif
}

__device__ __forceinline__ unsigned to_tf32(float x) {
  unsigned r = 0;
#if defined(PYDL_CUDA_EMULATION)
  r = pydl_emu::tf32_round(x);
#elif defined(PYDL_MMA_AVAILABLE)
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
#endif
  return r;
}

// d += a * b for one 16 x 8 tile.
template <class T>
__device__ __forceinline__ void mma(float (&d)[4], const unsigned* a, const unsigned* b) {
#if defined(PYDL_CUDA_EMULATION)
  using pydl_emu::MmaInput;
  constexpr MmaInput type =
      sizeof(T) == 4 ? MmaInput::tf32 : std::is_same<T, Half>::value ? MmaInput::f16 : MmaInput::bf16;
  pydl_emu::mma_16x8(d, a, b, type);
#elif defined(PYDL_MMA_AVAILABLE)
  if constexpr (sizeof(T) == 4)
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else if constexpr (std::is_same<T, Half>::value)
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// Copies one stored slice (OUTER x INNER of global rows outer0.. and columns inner0..) into
// shared memory: 16-byte cp.async per chunk when allowed, else element loads with zero fill.
template <class T, class S, int OUTER, int INNER, int THREADS>
__device__ __forceinline__ void load_slice(T* dst, const T* src, int64_t ld, int64_t outer0, int64_t inner0,
                                           int64_t outer_end, int64_t inner_end, bool vec) {
  constexpr int CH = MmaType<T>::kChunk, PER_ROW = INNER / CH, CHUNKS = OUTER * PER_ROW;
  static_assert(INNER % CH == 0, "rows are whole 16-byte chunks");
#pragma unroll
  for (int ch = threadIdx.x; ch < CHUNKS; ch += THREADS) {
    const int o = ch / PER_ROW, i = (ch % PER_ROW) * CH;
    const int64_t go = outer0 + o, gi = inner0 + i;
    T* d = dst + o * S::kLd + i;
    if (vec && go < outer_end && gi + CH <= inner_end) {
      cp_async16(d, src + go * ld + gi);
    } else {
#pragma unroll
      for (int j = 0; j < CH; ++j) d[j] = (go < outer_end && gi + j < inner_end) ? src[go * ld + gi + j] : T{};
    }
  }
}

template <class T, class Cfg, bool TA, bool TB>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocks) mma_gemm_kernel(Params<T> p) {
#ifdef PYDL_MMA_AVAILABLE
  using L = MmaLayout<T, Cfg, TA, TB>;
  using SA = typename L::A;
  using SB = typename L::B;
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = L::BK, MMA_K = MmaType<T>::MMA_K, STAGES = Cfg::STAGES;
  constexpr int MI = Cfg::MI, NI = Cfg::NI, THREADS = Cfg::kThreads;
  extern __shared__ __align__(16) unsigned char gemm_smem[];
  T* const smem = reinterpret_cast<T*>(gemm_smem);

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int warp_m = (warp / Cfg::WARPS_N) * Cfg::WM, warp_n = (warp % Cfg::WARPS_N) * Cfg::WN;
  const int g = lane / 4, t = lane % 4;  // the mma fragments' row group and thread-in-group
  const int64_t k_tiles = (p.k + BK - 1) / BK;

  for_each_tile<BM, BN>(p, [&](const T* a, const T* b, T* c, int64_t row0, int64_t col0) {

    auto load_stage = [&](int stage, int64_t k0) {
      T* sa = smem + stage * L::kStageElems;
      T* sb = sa + SA::kElems;
      if constexpr (!TA) load_slice<T, SA, BM, BK, THREADS>(sa, a, p.lda, row0, k0, p.m, p.k, p.vec_a);
      else load_slice<T, SA, BK, BM, THREADS>(sa, a, p.lda, k0, row0, p.k, p.m, p.vec_a);
      if constexpr (!TB) load_slice<T, SB, BK, BN, THREADS>(sb, b, p.ldb, k0, col0, p.k, p.n, p.vec_b);
      else load_slice<T, SB, BN, BK, THREADS>(sb, b, p.ldb, col0, k0, p.n, p.k, p.vec_b);
    };

    float acc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
      for (int j = 0; j < NI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
      if (s < k_tiles) load_stage(s, s * BK);
      cp_async_commit();
    }
    for (int64_t kt = 0; kt < k_tiles; ++kt) {
      // Slice kt has landed (at most STAGES-2 newer groups pending) and every warp is done
      // with slice kt-1, whose stage the prefetch below overwrites.
      cp_async_wait<STAGES - 2>();
      __syncthreads();
      const int64_t next = kt + STAGES - 1;
      if (next < k_tiles) load_stage(static_cast<int>(next % STAGES), next * BK);
      cp_async_commit();

      const T* sa = smem + static_cast<int>(kt % STAGES) * L::kStageElems;
      const T* sb = sa + SA::kElems;
#pragma unroll
      for (int ks = 0; ks < BK; ks += MMA_K) {
        unsigned af[MI][4], bf[NI][2];
        if constexpr (sizeof(T) == 2) {
          const int idx = lane / 8, r = lane % 8;
#pragma unroll
          for (int i = 0; i < MI; ++i) {
            const int m0 = warp_m + i * 16;
            if constexpr (!TA) ldmatrix_x4<false>(af[i], sa + (m0 + r + (idx & 1) * 8) * SA::kLd + ks + (idx >> 1) * 8);
            else ldmatrix_x4<true>(af[i], sa + (ks + r + (idx >> 1) * 8) * SA::kLd + m0 + (idx & 1) * 8);
          }
#pragma unroll
          for (int j = 0; j < NI; j += 2) {
            const int n0 = warp_n + j * 8;
            unsigned r4[4];
            if constexpr (TB) ldmatrix_x4<false>(r4, sb + (n0 + r + (idx >> 1) * 8) * SB::kLd + ks + (idx & 1) * 8);
            else ldmatrix_x4<true>(r4, sb + (ks + r + (idx & 1) * 8) * SB::kLd + n0 + (idx >> 1) * 8);
            bf[j][0] = r4[0];
            bf[j][1] = r4[1];
            bf[j + 1][0] = r4[2];
            bf[j + 1][1] = r4[3];
          }
        } else {
          auto at = [&](int m, int k) { return TA ? sa[k * SA::kLd + m] : sa[m * SA::kLd + k]; };
          auto bt = [&](int k, int n) { return TB ? sb[n * SB::kLd + k] : sb[k * SB::kLd + n]; };
#pragma unroll
          for (int i = 0; i < MI; ++i) {
            const int m0 = warp_m + i * 16;
            af[i][0] = to_tf32(at(m0 + g, ks + t));
            af[i][1] = to_tf32(at(m0 + g + 8, ks + t));
            af[i][2] = to_tf32(at(m0 + g, ks + t + 4));
            af[i][3] = to_tf32(at(m0 + g + 8, ks + t + 4));
          }
#pragma unroll
          for (int j = 0; j < NI; ++j) {
            const int n0 = warp_n + j * 8;
            bf[j][0] = to_tf32(bt(ks + t, n0 + g));
            bf[j][1] = to_tf32(bt(ks + t + 4, n0 + g));
          }
        }
#pragma unroll
        for (int i = 0; i < MI; ++i)
#pragma unroll
          for (int j = 0; j < NI; ++j) mma<T>(acc[i][j], af[i], bf[j]);
      }
    }
    // Drain (only empty groups can remain) and let every warp finish reading before the
    // next tile's prologue refills the stages.
    cp_async_wait<0>();
    __syncthreads();

    // Accumulator e of tile (i, j) sits at row g (+8 for e >= 2), column 2t (+1 for odd e).
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int64_t row = row0 + warp_m + i * 16 + g + h * 8;
        if (row >= p.m) continue;
        T* crow = c + row * p.ldc;
#pragma unroll
        for (int j = 0; j < NI; ++j) {
          const int64_t col = col0 + warp_n + j * 8 + 2 * t;
          if (col < p.n) crow[col] = finish(p, crow + col, col, acc[i][j][h * 2]);
          if (col + 1 < p.n) crow[col + 1] = finish(p, crow + col + 1, col + 1, acc[i][j][h * 2 + 1]);
        }
      }
  });
#else
  __trap();  // the host never launches this below sm_80 (gemm.cu checks the device)
#endif
}

}  // namespace pydl::cuda_kernels::gemm_detail
