// FP32 SGEMM on the CUDA cores: one kernel template, instantiated for a few tile shapes.
//
// A block computes a BM x BN tile of C, marching over K in slices of BK:
//  - global -> registers: each thread fetches its share of the op(A) and op(B) slices as
//    16-byte float4 loads along the operand's contiguous dimension when the layout allows it
//    (Params::vec_a/vec_b, and the four elements inside the matrix), element by element
//    with zero fill otherwise (ragged edges, odd leading dimensions, misaligned views);
//  - registers -> shared memory, always as As[k][m] and Bs[k][n] (A transposed on the way
//    when it is stored k-contiguous), rows padded by 4 floats so that the transposing
//    stores of a warp hit 32 different banks;
//  - double buffering: the next slice is fetched into registers while the current one is
//    multiplied out of shared memory, one __syncthreads per slice;
//  - warp tiling: warp w owns a WM x WN sub-tile; its 32 lanes form an LR x LC grid and each
//    lane keeps a TM x TN register tile made of (TM/4) x (TN/4) blocks of 4 x 4, the blocks
//    spaced LR*4 rows / LC*4 columns apart. A lane reads its 4-row / 4-column runs as float4
//    from shared memory; lanes that share a row run read the same address (broadcast).
#pragma once
#include "kernels/cuda/gemm_common.cuh"

namespace pydl::cuda_kernels::gemm_detail {

// MIN_BLOCKS: blocks per SM for __launch_bounds__ (caps the registers per thread).
template <int BM_, int BN_, int BK_, int WM_, int WN_, int TM_, int TN_, int MIN_BLOCKS_ = 1>
struct SgemmConfig {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, WM = WM_, WN = WN_, TM = TM_, TN = TN_;
  static constexpr int kMinBlocks = MIN_BLOCKS_;
  static constexpr int kWarps = (BM / WM) * (BN / WN);
  static constexpr int kThreads = kWarps * 32;
  static constexpr int LR = WM / TM, LC = WN / TN;  // the lane grid of a warp
  static constexpr int kPad = 4;
  static constexpr int kLoadsA = BM * BK / 4 / kThreads, kLoadsB = BN * BK / 4 / kThreads;
  static_assert(BM % WM == 0 && BN % WN == 0, "warps must tile the block");
  static_assert(LR * LC == 32, "a warp's lanes must tile its sub-tile");
  static_assert(TM % 4 == 0 && TN % 4 == 0 && BK % 4 == 0, "register tiles are made of 4 x 4 blocks");
  static_assert(kLoadsA >= 1 && kLoadsB >= 1 && kLoadsA * kThreads * 4 == BM * BK &&
                    kLoadsB * kThreads * 4 == BN * BK,
                "every thread loads whole float4 slots");
  static constexpr int kSmemBytes = 2 * BK * ((BM + kPad) + (BN + kPad)) * 4;
  static_assert(kSmemBytes <= 48 * 1024, "static shared memory is limited to 48 KB");
};

// One 4-element slot of an operand slice: 4 consecutive elements along the operand's
// contiguous dimension `inner` at position (outer, inner) of the stored matrix.
__device__ __forceinline__ float4 load_slot(const float* base, int64_t ld, int64_t outer, int64_t inner,
                                            int64_t outer_end, int64_t inner_end, bool vec) {
  float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
  if (outer >= outer_end) return v;
  const float* row = base + outer * ld;
  if (vec && inner + 4 <= inner_end) return *reinterpret_cast<const float4*>(row + inner);
  if (inner < inner_end) v.x = row[inner];
  if (inner + 1 < inner_end) v.y = row[inner + 1];
  if (inner + 2 < inner_end) v.z = row[inner + 2];
  if (inner + 3 < inner_end) v.w = row[inner + 3];
  return v;
}

// One operand's slice, ROWS (m for A, n for B) by BK, as the block moves it: LOADS float4
// slots per thread fetched along the stored matrix's contiguous dimension (k when
// K_CONTIGUOUS, else the rows), stashed into shared memory as S[k][row] (transposed on the
// way when k is contiguous).
template <int ROWS, int BK, int PAD, int LOADS, int THREADS, bool K_CONTIGUOUS>
struct OperandSlice {
  // Thread tid's slot l: its row and its first k in the slice.
  static __device__ __forceinline__ void slot(int tid, int l, int& row, int& k) {
    const int s = tid + l * THREADS;
    if constexpr (K_CONTIGUOUS) {
      row = s / (BK / 4);
      k = (s % (BK / 4)) * 4;
    } else {
      k = s / (ROWS / 4);
      row = (s % (ROWS / 4)) * 4;
    }
  }

  static __device__ __forceinline__ void fetch(float4 (&r)[LOADS], const float* base, int64_t ld, int64_t row0,
                                               int64_t k0, int64_t rows, int64_t k_end, bool vec, int tid) {
#pragma unroll
    for (int l = 0; l < LOADS; ++l) {
      int row, k;
      slot(tid, l, row, k);
      r[l] = K_CONTIGUOUS ? load_slot(base, ld, row0 + row, k0 + k, rows, k_end, vec)
                          : load_slot(base, ld, k0 + k, row0 + row, k_end, rows, vec);
    }
  }

  static __device__ __forceinline__ void stash(float (&S)[BK][ROWS + PAD], const float4 (&r)[LOADS], int tid) {
#pragma unroll
    for (int l = 0; l < LOADS; ++l) {
      int row, k;
      slot(tid, l, row, k);
      if constexpr (K_CONTIGUOUS) {
        S[k + 0][row] = r[l].x;
        S[k + 1][row] = r[l].y;
        S[k + 2][row] = r[l].z;
        S[k + 3][row] = r[l].w;
      } else {
        *reinterpret_cast<float4*>(&S[k][row]) = r[l];
      }
    }
  }
};

// A lane's N values of one k row of a slice: N / 4 runs of 4, SPACING apart.
template <int N, int SPACING>
__device__ __forceinline__ void read_runs(float (&f)[N], const float* first) {
#pragma unroll
  for (int r = 0; r < N / 4; ++r) {
    const float4 v = *reinterpret_cast<const float4*>(first + r * SPACING);
    f[r * 4 + 0] = v.x;
    f[r * 4 + 1] = v.y;
    f[r * 4 + 2] = v.z;
    f[r * 4 + 3] = v.w;
  }
}

// TA / TB: whether A / B are stored transposed (p.trans_a / p.trans_b), as template
// parameters so that each layout gets straight-line load code.
template <class Cfg, bool TA, bool TB>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocks) sgemm_kernel(Params<float> p) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, TM = Cfg::TM, TN = Cfg::TN;
  constexpr int LR = Cfg::LR, LC = Cfg::LC, PAD = Cfg::kPad;
  __shared__ __align__(16) float As[2][BK][BM + PAD];
  __shared__ __align__(16) float Bs[2][BK][BN + PAD];
  // op(A) is m x k: k-contiguous when A is stored m x k. op(B)ᵀ is n x k: k-contiguous when
  // B is stored transposed.
  using SliceA = OperandSlice<BM, BK, PAD, Cfg::kLoadsA, Cfg::kThreads, !TA>;
  using SliceB = OperandSlice<BN, BK, PAD, Cfg::kLoadsB, Cfg::kThreads, TB>;

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int warp_m = (warp / (BN / Cfg::WN)) * Cfg::WM, warp_n = (warp % (BN / Cfg::WN)) * Cfg::WN;
  const int lane_m = (lane / LC) * 4, lane_n = (lane % LC) * 4;
  const int64_t k_tiles = (p.k + BK - 1) / BK;

  for_each_tile<BM, BN>(p, [&](const float* a, const float* b, float* c, int64_t row0, int64_t col0) {
    float4 ra[Cfg::kLoadsA], rb[Cfg::kLoadsB];

    // Fetch the K slice starting at k0 into registers; stash it into shared memory.
    auto fetch = [&](int64_t k0) {
      SliceA::fetch(ra, a, p.lda, row0, k0, p.m, p.k, p.vec_a, tid);
      SliceB::fetch(rb, b, p.ldb, col0, k0, p.n, p.k, p.vec_b, tid);
    };
    auto stash = [&](int buf) {
      SliceA::stash(As[buf], ra, tid);
      SliceB::stash(Bs[buf], rb, tid);
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    if (k_tiles > 0) {
      fetch(0);
      stash(0);
    }
    __syncthreads();
    for (int64_t kt = 0; kt < k_tiles; ++kt) {
      const int cur = static_cast<int>(kt & 1);
      const bool more = kt + 1 < k_tiles;
      if (more) fetch((kt + 1) * BK);  // in flight while we multiply
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        float af[TM], bf[TN];
        read_runs<TM, LR * 4>(af, &As[cur][kk][warp_m + lane_m]);
        read_runs<TN, LC * 4>(bf, &Bs[cur][kk][warp_n + lane_n]);
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(af[i], bf[j], acc[i][j]);
      }
      // The other buffer was last read in the previous slice, before the barrier that
      // ended it: refill it, then one barrier makes it visible (and frees `cur`).
      if (more) stash(cur ^ 1);
      __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int64_t row = row0 + warp_m + (i / 4) * LR * 4 + lane_m + (i % 4);
#pragma unroll
      for (int q = 0; q < TN / 4; ++q)
        store_run4(p, c, row, col0 + warp_n + q * LC * 4 + lane_n, &acc[i][q * 4]);
    }
  });
}

}  // namespace pydl::cuda_kernels::gemm_detail
