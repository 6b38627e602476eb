// float64 GEMM: a plain shared-memory tiled kernel (32 x 32 tiles of C, 2 x 2 per thread).
// float64 is the reference type, so this is about being right, not fast: transposes read
// in place, any leading dimensions, batch strides (0 = broadcast), the epilogue in the
// write-back.
#pragma once
#include "kernels/cuda/gemm_common.cuh"

namespace pydl::cuda_kernels::gemm_detail {

struct F64Params {
  bool trans_a, trans_b;
  int64_t m, n, k;
  double alpha, beta;
  const double* a;
  int64_t lda;
  const double* b;
  int64_t ldb;
  double* c;
  int64_t ldc;
  int64_t batch, stride_a, stride_b, stride_c;
  const double* bias;
  UnaryOp act;
};

constexpr int kF64Tile = 32;     // C tile is kF64Tile x kF64Tile
constexpr int kF64TileK = 16;    // K slice staged in shared memory
constexpr int kF64Threads = 16;  // 16 x 16 threads, each 2 x 2 outputs

__global__ void __launch_bounds__(kF64Threads* kF64Threads) gemm_f64_kernel(F64Params p) {
  constexpr int kTile = kF64Tile, kTileK = kF64TileK, kThreads = kF64Threads;
  __shared__ double as[kTileK][kTile + 1];  // as[kk][i] = op(A)[row0 + i, k0 + kk]
  __shared__ double bs[kTileK][kTile + 1];  // bs[kk][j] = op(B)[k0 + kk, col0 + j]
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreads + tx;
  const int64_t m_tiles = (p.m + kTile - 1) / kTile;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kTile;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const double* a = p.a + bz * p.stride_a;
    const double* b = p.b + bz * p.stride_b;
    double* c = p.c + bz * p.stride_c;
    for (int64_t tm = blockIdx.y; tm < m_tiles; tm += gridDim.y) {
      const int64_t row0 = tm * kTile;
      double acc[2][2] = {{0.0, 0.0}, {0.0, 0.0}};
      for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
        // Stage the tiles; the index that is contiguous in memory varies fastest across threads.
        for (int e = tid; e < kTile * kTileK; e += kThreads * kThreads) {
          int i, kk;
          if (!p.trans_a) { i = e / kTileK; kk = e % kTileK; }
          else { kk = e / kTile; i = e % kTile; }
          const int64_t gi = row0 + i, gk = k0 + kk;
          double v = 0.0;
          if (gi < p.m && gk < p.k) v = p.trans_a ? a[gk * p.lda + gi] : a[gi * p.lda + gk];
          as[kk][i] = v;
        }
        for (int e = tid; e < kTile * kTileK; e += kThreads * kThreads) {
          int j, kk;
          if (!p.trans_b) { kk = e / kTile; j = e % kTile; }
          else { j = e / kTileK; kk = e % kTileK; }
          const int64_t gj = col0 + j, gk = k0 + kk;
          double v = 0.0;
          if (gj < p.n && gk < p.k) v = p.trans_b ? b[gj * p.ldb + gk] : b[gk * p.ldb + gj];
          bs[kk][j] = v;
        }
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
    }
  }
}

inline void launch_f64(const GemmArgs& g, cudaStream_t stream, LaunchCheck check) {
  const F64Params p{g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, g.beta, static_cast<const double*>(g.a), g.lda,
                    static_cast<const double*>(g.b), g.ldb, static_cast<double*>(g.c), g.ldc, g.batch, g.stride_a,
                    g.stride_b, g.stride_c, static_cast<const double*>(g.bias), g.epilogue};
  const dim3 grid = tile_grid((g.m + kF64Tile - 1) / kF64Tile, (g.n + kF64Tile - 1) / kF64Tile, g.batch);
  gemm_f64_kernel<<<grid, dim3(kF64Threads, kF64Threads), 0, stream>>>(p);
  check("pydl_gemm_tiled_float64");
}

}  // namespace pydl::cuda_kernels::gemm_detail
