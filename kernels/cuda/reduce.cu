// Reductions on CUDA; see reduce.h for the scheme. One generic engine over a
// "reducer" (identity, term, combine, write): sums (power 1 or 2 around a per-output
// shift, for the variance), and arg-max/min (value, index) pairs.
#include "kernels/cuda/reduce.h"

#include <algorithm>
#include <type_traits>

#include "kernels/cuda/device_utils.h"
#include "kernels/cuda/row_reduce.cuh"

namespace pydl::cuda_kernels {

namespace {

template <class T>
using SumAcc = std::conditional_t<std::is_floating_point<T>::value, T, int64_t>;

// Sum of (x - shift)^POWER; writes T(acc * scale) (POWER 1) or T(acc / denom) (POWER 2).
template <class T, int POWER>
struct SumReducer {
  using acc_t = SumAcc<T>;
  T* out;
  const T* shift;  // POWER 2: one per output
  double scale, denom;
  __device__ __forceinline__ acc_t identity() const { return acc_t(0); }
  __device__ __forceinline__ acc_t term(T v, int64_t, int64_t col) const {
    if constexpr (POWER == 1) {
      return acc_t(v);
    } else {
      const acc_t d = acc_t(v) - acc_t(shift[col]);
      return d * d;
    }
  }
  __device__ __forceinline__ acc_t combine(acc_t a, acc_t b) const { return a + b; }
  __device__ __forceinline__ void write(acc_t a, int64_t col) const {
    if constexpr (!std::is_floating_point<T>::value) out[col] = static_cast<T>(a);
    else if constexpr (POWER == 1) out[col] = static_cast<T>(static_cast<double>(a) * scale);
    else out[col] = static_cast<T>(static_cast<double>(a) / denom);  // denom 0: inf or nan, as PyTorch
  }
};

template <class T>
struct ArgAcc {
  T v;
  int64_t i;  // -1: empty
};

// The first max (min) wins; a NaN beats any number, the first NaN any later one.
// combine() is associative and commutative, so any combining order gives the same pair.
template <class T>
struct ArgReducer {
  using acc_t = ArgAcc<T>;
  T* values;         // optional
  int64_t* indices;  // optional
  bool is_max;
  __device__ __forceinline__ acc_t identity() const { return acc_t{T(), -1}; }
  __device__ __forceinline__ acc_t term(T v, int64_t k, int64_t) const { return acc_t{v, k}; }
  __device__ __forceinline__ acc_t combine(acc_t a, acc_t b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool a_nan = a.v != a.v, b_nan = b.v != b.v;
    if (a_nan || b_nan) {
      if (a_nan && b_nan) return a.i < b.i ? a : b;
      return a_nan ? a : b;
    }
    if (a.v == b.v) return a.i < b.i ? a : b;
    return (is_max ? a.v > b.v : a.v < b.v) ? a : b;
  }
  __device__ __forceinline__ void write(acc_t a, int64_t col) const {
    if (values) values[col] = a.v;
    if (indices) indices[col] = a.i;
  }
};

template <class A>
__device__ __forceinline__ A shfl_acc(A v, int delta) {
  return shfl_down(v, delta);
}
template <class T>
__device__ __forceinline__ ArgAcc<T> shfl_acc(ArgAcc<T> v, int delta) {
  v.v = shfl_down(v.v, delta);
  v.i = shfl_down(v.i, delta);
  return v;
}

// Block-wide reduction (blockDim.x a multiple of 32, at most 1024); the result is valid
// in thread 0. Every thread of the block must call it.
template <class R>
__device__ __forceinline__ typename R::acc_t block_reduce(const R& red, typename R::acc_t v,
                                                          typename R::acc_t* smem) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) v = red.combine(v, shfl_acc(v, d));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nwarps ? smem[lane] : red.identity();
#pragma unroll
    for (int d = 16; d > 0; d >>= 1) v = red.combine(v, shfl_acc(v, d));
  }
  __syncthreads();  // smem may be reused right after
  return v;
}

// inner == 1: block (row, chunk); rows grid-strided over blockIdx.x, chunk = blockIdx.y.
template <class R, class T>
__global__ void __launch_bounds__(kBlock) reduce_rows_kernel(R red, const T* __restrict__ in, int64_t outer, int64_t r,
                                                             int64_t chunk_len, typename R::acc_t* partial) {
  using Acc = typename R::acc_t;
  __shared__ __align__(16) unsigned char smem_raw[32 * sizeof(Acc)];
  Acc* smem = reinterpret_cast<Acc*>(smem_raw);
  const int64_t c = blockIdx.y;
  const int64_t k0 = c * chunk_len, k1 = min(r, k0 + chunk_len);
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    const T* x = in + row * r;
    Acc acc = red.identity();
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) acc = red.combine(acc, red.term(x[k], k, row));
    acc = block_reduce(red, acc, smem);
    if (threadIdx.x == 0) {
      if (partial) partial[c * outer + row] = acc;
      else red.write(acc, row);
    }
  }
}

// inner == 1, short rows (see use_warp_rows): a warp per row, kRowsPerWarpBlock rows per
// block; lane l combines elements l, l + 32, ... in order, then a shuffle tree. No shared
// memory and no barrier.
template <class R, class T>
__global__ void __launch_bounds__(kBlock) reduce_rows_warp_kernel(R red, const T* __restrict__ in, int64_t outer,
                                                                  int64_t r) {
  using Acc = typename R::acc_t;
  const RowOwner<true> own;
  for (int64_t row = own.first(); row < outer; row += own.step()) {
    const T* x = in + row * r;
    Acc acc = red.identity();
    for (int64_t k = own.t(); k < r; k += 32) acc = red.combine(acc, red.term(x[k], k, row));
#pragma unroll
    for (int d = 16; d > 0; d >>= 1) acc = red.combine(acc, shfl_acc(acc, d));
    if (own.t() == 0) red.write(acc, row);
  }
}

// inner > 1: one thread per output column (o, j), walking its chunk of r in order;
// neighbouring threads read neighbouring j (coalesced). chunk = blockIdx.y.
template <class R, class T>
__global__ void __launch_bounds__(kBlock) reduce_cols_kernel(R red, const T* __restrict__ in, int64_t outer, int64_t r,
                                                             int64_t inner, int64_t chunk_len,
                                                             typename R::acc_t* partial) {
  using Acc = typename R::acc_t;
  const int64_t cols = outer * inner;
  const int64_t c = blockIdx.y;
  const int64_t k0 = c * chunk_len, k1 = min(r, k0 + chunk_len);
  for (int64_t col = global_thread(); col < cols; col += grid_threads()) {
    const int64_t o = col / inner, j = col - o * inner;
    const T* x = in + o * r * inner + j;
    Acc acc = red.identity();
    for (int64_t k = k0; k < k1; ++k) acc = red.combine(acc, red.term(x[k * inner], k, col));
    if (partial) partial[c * cols + col] = acc;
    else red.write(acc, col);
  }
}

// Pass 2 with few chunks: one thread per output combines its partials in chunk order.
template <class R>
__global__ void __launch_bounds__(kBlock) reduce_finish_kernel(R red, const typename R::acc_t* __restrict__ partial,
                                                               int64_t cols, int64_t chunks) {
  for (int64_t col = global_thread(); col < cols; col += grid_threads()) {
    typename R::acc_t acc = red.identity();
    for (int64_t c = 0; c < chunks; ++c) acc = red.combine(acc, partial[c * cols + col]);
    red.write(acc, col);
  }
}

// Pass 2 with many chunks: one block per output, a tree over its partials (so a float
// sum's rounding error grows with log(chunks), not with chunks).
template <class R>
__global__ void __launch_bounds__(kBlock) reduce_finish_block_kernel(R red,
                                                                     const typename R::acc_t* __restrict__ partial,
                                                                     int64_t cols, int64_t chunks) {
  using Acc = typename R::acc_t;
  __shared__ __align__(16) unsigned char smem_raw[32 * sizeof(Acc)];
  Acc* smem = reinterpret_cast<Acc*>(smem_raw);
  for (int64_t col = blockIdx.x; col < cols; col += gridDim.x) {
    Acc acc = red.identity();
    for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) acc = red.combine(acc, partial[c * cols + col]);
    acc = block_reduce(red, acc, smem);
    if (threadIdx.x == 0) red.write(acc, col);
  }
}

constexpr int64_t kBlockFinishChunks = 64;  // more partials than this: finish with a block per output

struct Split {
  int64_t chunks = 1, chunk_len = 1;
};

// How r is cut so that a reduction with few outputs still fills the GPU.
Split split_for(int64_t outer, int64_t r, int64_t inner) {
  Split s;
  s.chunk_len = std::max<int64_t>(r, 1);
  const int64_t cols = outer * inner;
  if (cols == 0 || r == 0) return s;
  int64_t chunks = 1;
  if (inner == 1) {
    // A block per row; split long rows only when there are too few rows to fill the GPU.
    if (outer < 1024 && r > 8192) chunks = std::min<int64_t>((r + 4095) / 4096, std::max<int64_t>(1, 2048 / outer));
    chunks = std::min<int64_t>(std::max<int64_t>(chunks, 1), 65535);
    s.chunk_len = (r + chunks - 1) / chunks;
  } else {
    // A thread per column walks at most 256 elements in order (bounded rounding error for
    // float sums), and fewer when there are few columns so that more threads take part.
    const int64_t target_chunks = cols >= 65536 ? 1 : (65536 + cols - 1) / cols;
    s.chunk_len = std::min<int64_t>(std::max<int64_t>((r + target_chunks - 1) / target_chunks, 32), 256);
    // A small reduction (a bias gradient over a batch) in one launch, with no finishing pass.
    if (r <= 256 && r * cols <= (int64_t(1) << 15)) s.chunk_len = r;
    s.chunk_len = std::max<int64_t>(s.chunk_len, (r + 65534) / 65535);  // grid.y holds at most 65535 chunks
  }
  s.chunks = (r + s.chunk_len - 1) / s.chunk_len;
  return s;
}

// A row of r <= 32 leaves all warps but one of its block idle: such rows always go a warp
// per row. Longer rows, up to kWarpRowMax (as softmax and cross-entropy), go a warp per row
// only when there are rows enough for 256 blocks of kRowsPerWarpBlock (about two per SM on
// a 132-SM GPU); fewer rows keep a block each, which reads a row with more warps at once.
// The mode, and so the combining order, is a function of the shape: results stay
// deterministic.
constexpr int64_t kWarpRowsMin = 256 * kRowsPerWarpBlock;

bool use_warp_rows(int64_t outer, int64_t r) { return r <= 32 || (r <= kWarpRowMax && outer >= kWarpRowsMin); }

constexpr size_t kMaxAccBytes = 16;  // sizeof(ArgAcc<double>), the widest accumulator
constexpr size_t kAlign = 256;

size_t partial_bytes(int64_t outer, int64_t r, int64_t inner) {
  const Split s = split_for(outer, r, inner);
  return s.chunks > 1 ? static_cast<size_t>(s.chunks * outer * inner) * kMaxAccBytes : 0;
}

size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

template <class R, class T>
void run(const R& red, const T* in, int64_t outer, int64_t r, int64_t inner, void* partial_ws, cudaStream_t stream,
         LaunchCheck check) {
  using Acc = typename R::acc_t;
  const int64_t cols = outer * inner;
  if (cols == 0 || r == 0) return;
  const Split s = split_for(outer, r, inner);
  Acc* partial = s.chunks > 1 ? static_cast<Acc*>(partial_ws) : nullptr;
  if (inner == 1 && use_warp_rows(outer, r)) {  // r <= kWarpRowMax: never split
    reduce_rows_warp_kernel<R, T><<<row_grid(true, outer), kBlock, 0, stream>>>(red, in, outer, r);
    check("pydl_reduce_rows_warp");
  } else if (inner == 1) {
    const dim3 grid(static_cast<unsigned>(std::min<int64_t>(outer, 65535)), static_cast<unsigned>(s.chunks));
    reduce_rows_kernel<R, T><<<grid, kBlock, 0, stream>>>(red, in, outer, r, s.chunk_len, partial);
    check("pydl_reduce_rows");
  } else {
    const dim3 grid(grid_for(cols), static_cast<unsigned>(s.chunks));
    reduce_cols_kernel<R, T><<<grid, kBlock, 0, stream>>>(red, in, outer, r, inner, s.chunk_len, partial);
    check("pydl_reduce_columns");
  }
  if (partial && s.chunks <= kBlockFinishChunks) {
    reduce_finish_kernel<R><<<grid_for(cols), kBlock, 0, stream>>>(red, partial, cols, s.chunks);
    check("pydl_reduce_finish");
  } else if (partial) {
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(cols, 65535));
    reduce_finish_block_kernel<R><<<blocks, kBlock, 0, stream>>>(red, partial, cols, s.chunks);
    check("pydl_reduce_finish_blocks");
  }
}

}  // namespace

size_t reduce_workspace_bytes(ReduceOp op, DType dtype, int64_t outer, int64_t r, int64_t inner) {
  size_t bytes = round_up(partial_bytes(outer, r, inner));
  if (op == ReduceOp::Var) bytes += round_up(static_cast<size_t>(outer * inner) * itemsize(dtype));
  return bytes;
}

size_t arg_reduce_workspace_bytes(DType, int64_t outer, int64_t r, int64_t inner) {
  return partial_bytes(outer, r, inner);
}

void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t r, int64_t inner,
            double correction, void* workspace, void* stream, LaunchCheck check) {
  cudaStream_t s = as_stream(stream);
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: {
      const double scale = op == ReduceOp::Mean ? 1.0 / double(r) : 1.0;
      PYDL_DISPATCH_NUMERIC(dtype, T, {
        const SumReducer<T, 1> red{static_cast<T*>(out), nullptr, scale, 1.0};
        run(red, static_cast<const T*>(in), outer, r, inner, workspace, s, check);
      });
      break;
    }
    case ReduceOp::Var: {
      // Two passes, as on the CPU: the mean, then the squared deviations from it.
      const double denom = std::max(double(r) - correction, 0.0);
      PYDL_DISPATCH_FLOAT(dtype, T, {
        char* ws = static_cast<char*>(workspace);
        T* mean = reinterpret_cast<T*>(ws);
        void* partial = ws + round_up(static_cast<size_t>(outer * inner) * sizeof(T));
        const SumReducer<T, 1> mean_red{mean, nullptr, r ? 1.0 / double(r) : 0.0, 1.0};
        run(mean_red, static_cast<const T*>(in), outer, r, inner, partial, s, check);
        const SumReducer<T, 2> var_red{static_cast<T*>(out), mean, 1.0, denom};
        run(var_red, static_cast<const T*>(in), outer, r, inner, partial, s, check);
      });
      break;
    }
    case ReduceOp::Max:
    case ReduceOp::Min:
      PYDL_DISPATCH_ALL(dtype, T, {
        const ArgReducer<T> red{static_cast<T*>(out), nullptr, op == ReduceOp::Max};
        run(red, static_cast<const T*>(in), outer, r, inner, workspace, s, check);
      });
      break;
  }
}

void arg_reduce(bool is_max, DType dtype, const void* in, void* values, int64_t* indices, int64_t outer, int64_t r,
                int64_t inner, void* workspace, void* stream, LaunchCheck check) {
  PYDL_DISPATCH_ALL(dtype, T, {
    const ArgReducer<T> red{static_cast<T*>(values), indices, is_max};
    run(red, static_cast<const T*>(in), outer, r, inner, workspace, as_stream(stream), check);
  });
}

}  // namespace pydl::cuda_kernels
