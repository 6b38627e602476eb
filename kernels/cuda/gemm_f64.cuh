// float64 GEMM: a plain shared-memory tiled kernel (32 x 32 tiles of C, 2 x 2 per thread).
// float64 is the reference type, so this is about being right, not fast: transposes read
// in place, any leading dimensions, batch strides (0 = broadcast), the epilogue in the
// write-back.
#pragma once
#include "kernels/cuda/gemm_common.cuh"

namespace pydl::cuda_kernels::gemm_detail {

constexpr int kF64Tile = 32;     // C tile is kF64Tile x kF64Tile
constexpr int kF64TileK = 16;    // K slice staged in shared memory
constexpr int kF64Threads = 16;  // 16 x 16 threads, each 2 x 2 outputs

// Stages the kF64TileK-wide K slice at k0 of one operand's tile (rows row0.., zero past
// `rows` and `k_end`) as s[kk][i]; k_contiguous: the operand is stored rows x k. The index
// that is contiguous in memory varies fastest across threads.
__device__ __forceinline__ void stage_f64(double (&s)[kF64TileK][kF64Tile + 1], const double* x, int64_t ld,
                                          bool k_contiguous, int64_t row0, int64_t k0, int64_t rows, int64_t k_end,
                                          int tid) {
  for (int e = tid; e < kF64Tile * kF64TileK; e += kF64Threads * kF64Threads) {
    const int i = k_contiguous ? e / kF64TileK : e % kF64Tile;
    const int kk = k_contiguous ? e % kF64TileK : e / kF64Tile;
    const int64_t gi = row0 + i, gk = k0 + kk;
    double v = 0.0;
    if (gi < rows && gk < k_end) v = k_contiguous ? x[gi * ld + gk] : x[gk * ld + gi];
    s[kk][i] = v;
  }
}

__global__ void __launch_bounds__(kF64Threads* kF64Threads) gemm_f64_kernel(Params<double> p) {
  constexpr int kTile = kF64Tile, kTileK = kF64TileK, kThreads = kF64Threads;
  __shared__ double as[kTileK][kTile + 1];  // as[kk][i] = op(A)[row0 + i, k0 + kk]
  __shared__ double bs[kTileK][kTile + 1];  // bs[kk][j] = op(B)[k0 + kk, col0 + j]
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreads + tx;
  for_each_tile<kTile, kTile>(p, [&](const double* a, const double* b, double* c, int64_t row0, int64_t col0) {
    double acc[2][2] = {{0.0, 0.0}, {0.0, 0.0}};
    for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
      stage_f64(as, a, p.lda, !p.trans_a, row0, k0, p.m, p.k, tid);
      stage_f64(bs, b, p.ldb, p.trans_b, col0, k0, p.n, p.k, tid);
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kTileK; ++kk) {
        const double a0 = as[kk][ty], a1 = as[kk][ty + kThreads];
        const double b0 = bs[kk][tx], b1 = bs[kk][tx + kThreads];
        acc[0][0] += a0 * b0;
        acc[0][1] += a0 * b1;
        acc[1][0] += a1 * b0;
        acc[1][1] += a1 * b1;
      }
      __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < 2; ++r)
#pragma unroll
      for (int q = 0; q < 2; ++q) {
        const int64_t gi = row0 + ty + r * kThreads, gj = col0 + tx + q * kThreads;
        if (gi >= p.m || gj >= p.n) continue;
        double* out = c + gi * p.ldc + gj;
        double v = p.alpha * acc[r][q];
        if (p.beta != 0.0) v += p.beta * *out;  // beta == 0: C is not read (it may be uninitialized)
        if (p.bias) v += p.bias[gj];
        if (p.act == UnaryOp::Relu && v < 0.0) v = 0.0;
        else if (p.act == UnaryOp::Gelu) v = kernels::GeluOp<double>(0, 0).forward(v);
        *out = v;
      }
  });
}

inline void launch_f64(const GemmArgs& g, cudaStream_t stream, LaunchCheck check) {
  const Params<double> p = make_params<double>(g);
  const dim3 grid = tile_grid((g.m + kF64Tile - 1) / kF64Tile, (g.n + kF64Tile - 1) / kF64Tile, g.batch);
  gemm_f64_kernel<<<grid, dim3(kF64Threads, kF64Threads), 0, stream>>>(p);
  check("pydl_gemm_tiled_float64");
}

}  // namespace pydl::cuda_kernels::gemm_detail
