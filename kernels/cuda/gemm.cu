#include "kernels/cuda/gemm.h"

#include <algorithm>

#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

constexpr int kTile = 32;   // C tile is kTile x kTile
constexpr int kTileK = 16;  // K slice staged in shared memory
constexpr int kThreads = 16;  // 16 x 16 threads, each 2 x 2 outputs

template <class T>
struct Params {
  bool trans_a, trans_b;
  int64_t m, n, k;
  T alpha, beta;
  const T* a;
  int64_t lda;
  const T* b;
  int64_t ldb;
  T* c;
  int64_t ldc;
  int64_t batch, stride_a, stride_b, stride_c;
  const T* bias;
  bool relu, gelu;
};

template <class T>
__global__ void __launch_bounds__(kThreads* kThreads) gemm_tiled_kernel(Params<T> p) {
  __shared__ T as[kTileK][kTile + 1];  // as[kk][i] = op(A)[row0 + i, k0 + kk]
  __shared__ T bs[kTileK][kTile + 1];  // bs[kk][j] = op(B)[k0 + kk, col0 + j]
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreads + tx;
  const int64_t m_tiles = (p.m + kTile - 1) / kTile;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kTile;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    const T* a = p.a + bz * p.stride_a;
    const T* b = p.b + bz * p.stride_b;
    T* c = p.c + bz * p.stride_c;
    for (int64_t tm = blockIdx.y; tm < m_tiles; tm += gridDim.y) {
      const int64_t row0 = tm * kTile;
      T acc[2][2] = {{T(0), T(0)}, {T(0), T(0)}};
      for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
        // Stage the tiles; the index that is contiguous in memory varies fastest across threads.
        for (int e = tid; e < kTile * kTileK; e += kThreads * kThreads) {
          int i, kk;
          if (!p.trans_a) { i = e / kTileK; kk = e % kTileK; }
          else { kk = e / kTile; i = e % kTile; }
          const int64_t gi = row0 + i, gk = k0 + kk;
          T v = T(0);
          if (gi < p.m && gk < p.k) v = p.trans_a ? a[gk * p.lda + gi] : a[gi * p.lda + gk];
          as[kk][i] = v;
        }
        for (int e = tid; e < kTile * kTileK; e += kThreads * kThreads) {
          int j, kk;
          if (!p.trans_b) { kk = e / kTile; j = e % kTile; }
          else { j = e / kTileK; kk = e % kTileK; }
          const int64_t gj = col0 + j, gk = k0 + kk;
          T v = T(0);
          if (gj < p.n && gk < p.k) v = p.trans_b ? b[gj * p.ldb + gk] : b[gk * p.ldb + gj];
          bs[kk][j] = v;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTileK; ++kk) {
          const T a0 = as[kk][ty], a1 = as[kk][ty + kThreads];
          const T b0 = bs[kk][tx], b1 = bs[kk][tx + kThreads];
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
          T* out = c + gi * p.ldc + gj;
          T v = p.alpha * acc[r][q];
          if (p.beta != T(0)) v += p.beta * *out;  // beta == 0: C is not read (it may be uninitialized)
          if (p.bias) v += p.bias[gj];
          if (p.relu && v < T(0)) v = T(0);
          if (p.gelu) v = kernels::GeluAct<T>(0, 0).forward(v);
          *out = v;
        }
    }
  }
}

template <class T>
void launch(const GemmArgs& g, cudaStream_t stream, LaunchCheck check) {
  Params<T> p{g.trans_a, g.trans_b, g.m, g.n, g.k, T(g.alpha), T(g.beta), static_cast<const T*>(g.a), g.lda,
              static_cast<const T*>(g.b), g.ldb, static_cast<T*>(g.c), g.ldc, g.batch, g.stride_a, g.stride_b,
              g.stride_c, static_cast<const T*>(g.bias), g.epilogue == Activation::Relu,
              g.epilogue == Activation::Gelu};
  const int64_t n_tiles = (g.n + kTile - 1) / kTile, m_tiles = (g.m + kTile - 1) / kTile;
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>(n_tiles, 2147483647)),
                  static_cast<unsigned>(std::min<int64_t>(m_tiles, 65535)),
                  static_cast<unsigned>(std::min<int64_t>(g.batch, 65535)));
  gemm_tiled_kernel<T><<<grid, dim3(kThreads, kThreads), 0, stream>>>(p);
  check(sizeof(T) == 4 ? "pydl_gemm_tiled_float32" : "pydl_gemm_tiled_float64");
}

}  // namespace

void gemm(DType dtype, const GemmArgs& g, void* stream, LaunchCheck check) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, launch<T>(g, as_stream(stream), check));
}

}  // namespace pydl::cuda_kernels
