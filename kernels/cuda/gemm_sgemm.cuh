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

// TA / TB: whether A / B are stored transposed (p.trans_a / p.trans_b), as template
// parameters so that each layout gets straight-line load code.
template <class Cfg, bool TA, bool TB>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocks) sgemm_kernel(Params<float> p) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, TM = Cfg::TM, TN = Cfg::TN;
  constexpr int LR = Cfg::LR, LC = Cfg::LC, PAD = Cfg::kPad;
  __shared__ __align__(16) float As[2][BK][BM + PAD];
  __shared__ __align__(16) float Bs[2][BK][BN + PAD];

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int warp_m = (warp / (BN / Cfg::WN)) * Cfg::WM, warp_n = (warp % (BN / Cfg::WN)) * Cfg::WN;
  const int lane_m = (lane / LC) * 4, lane_n = (lane % LC) * 4;
  const int64_t m_tiles = (p.m + BM - 1) / BM;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * BN;
  const int64_t k_tiles = (p.k + BK - 1) / BK;

  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const float* a = p.a + bz * p.stride_a;
    const float* b = p.b + bz * p.stride_b;
    float* c = p.c + bz * p.stride_c;
    for (int64_t tm = blockIdx.y; tm < m_tiles; tm += gridDim.y) {
      const int64_t row0 = tm * BM;
      float4 ra[Cfg::kLoadsA], rb[Cfg::kLoadsB];

      // Fetch the K slice starting at k0 into registers. Slot s of op(A): A stored m x k
      // (k contiguous) gives (m, 4 k's); stored k x m (trans_a) gives (k, 4 m's). Same for B.
      auto fetch = [&](int64_t k0) {
#pragma unroll
        for (int l = 0; l < Cfg::kLoadsA; ++l) {
          const int s = tid + l * Cfg::kThreads;
          if constexpr (!TA) {
            const int mi = s / (BK / 4), ki = (s % (BK / 4)) * 4;
            ra[l] = load_slot(a, p.lda, row0 + mi, k0 + ki, p.m, p.k, p.vec_a);
          } else {
            const int ki = s / (BM / 4), mi = (s % (BM / 4)) * 4;
            ra[l] = load_slot(a, p.lda, k0 + ki, row0 + mi, p.k, p.m, p.vec_a);
          }
        }
#pragma unroll
        for (int l = 0; l < Cfg::kLoadsB; ++l) {
          const int s = tid + l * Cfg::kThreads;
          if constexpr (!TB) {
            const int ki = s / (BN / 4), ni = (s % (BN / 4)) * 4;
            rb[l] = load_slot(b, p.ldb, k0 + ki, col0 + ni, p.k, p.n, p.vec_b);
          } else {
            const int ni = s / (BK / 4), ki = (s % (BK / 4)) * 4;
            rb[l] = load_slot(b, p.ldb, col0 + ni, k0 + ki, p.n, p.k, p.vec_b);
          }
        }
      };
      auto stash = [&](int buf) {
#pragma unroll
        for (int l = 0; l < Cfg::kLoadsA; ++l) {
          const int s = tid + l * Cfg::kThreads;
          if constexpr (!TA) {
            const int mi = s / (BK / 4), ki = (s % (BK / 4)) * 4;
            As[buf][ki + 0][mi] = ra[l].x;
            As[buf][ki + 1][mi] = ra[l].y;
            As[buf][ki + 2][mi] = ra[l].z;
            As[buf][ki + 3][mi] = ra[l].w;
          } else {
            const int ki = s / (BM / 4), mi = (s % (BM / 4)) * 4;
            *reinterpret_cast<float4*>(&As[buf][ki][mi]) = ra[l];
          }
        }
#pragma unroll
        for (int l = 0; l < Cfg::kLoadsB; ++l) {
          const int s = tid + l * Cfg::kThreads;
          if constexpr (!TB) {
            const int ki = s / (BN / 4), ni = (s % (BN / 4)) * 4;
            *reinterpret_cast<float4*>(&Bs[buf][ki][ni]) = rb[l];
          } else {
            const int ni = s / (BK / 4), ki = (s % (BK / 4)) * 4;
            Bs[buf][ki + 0][ni] = rb[l].x;
            Bs[buf][ki + 1][ni] = rb[l].y;
            Bs[buf][ki + 2][ni] = rb[l].z;
            Bs[buf][ki + 3][ni] = rb[l].w;
          }
        }
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
#pragma unroll
          for (int r = 0; r < TM / 4; ++r) {
            const float4 v = *reinterpret_cast<const float4*>(&As[cur][kk][warp_m + r * LR * 4 + lane_m]);
            af[r * 4 + 0] = v.x;
            af[r * 4 + 1] = v.y;
            af[r * 4 + 2] = v.z;
            af[r * 4 + 3] = v.w;
          }
#pragma unroll
          for (int q = 0; q < TN / 4; ++q) {
            const float4 v = *reinterpret_cast<const float4*>(&Bs[cur][kk][warp_n + q * LC * 4 + lane_n]);
            bf[q * 4 + 0] = v.x;
            bf[q * 4 + 1] = v.y;
            bf[q * 4 + 2] = v.z;
            bf[q * 4 + 3] = v.w;
          }
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
    }
  }
}

}  // namespace pydl::cuda_kernels::gemm_detail
