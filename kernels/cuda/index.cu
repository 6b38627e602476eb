#include "kernels/cuda/index.h"

#include <cstring>

#include "kernels/cuda/device_utils.h"
#include "kernels/cuda/index_math.cuh"

namespace pydl::cuda_kernels {

namespace {

// atomicAdd for the dtypes that accumulate on the device (no uint8: the hardware has no byte
// atomics, and a compare-and-swap of the word around a byte touches bytes past the tensor's
// end; csrc runs uint8 in int64). The order of accumulation into one element is unspecified
// (see index.h).
__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int32_t* p, int32_t v) { atomicAdd(reinterpret_cast<int*>(p), int(v)); }
__device__ __forceinline__ void atomic_add(int64_t* p, int64_t v) {
  // Two's complement: an unsigned 64-bit add is the signed add.
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
// scatter_step (kernels/common/scatter.h) applied atomically: a compare-and-swap of the element's
// bits until no other thread changed it in between (a step that changes nothing writes nothing).
template <class T, class Bits>
__device__ __forceinline__ void atomic_step_bits(ScatterOp op, T* p, T v) {
  Bits* word = reinterpret_cast<Bits*>(p);
  Bits old = *word, assumed;
  do {
    assumed = old;
    T now;
    memcpy(&now, &assumed, sizeof(T));
    const T next = kernels::scatter_step(op, now, v);
    Bits next_bits;
    memcpy(&next_bits, &next, sizeof(T));
    if (next_bits == assumed) return;
    old = atomicCAS(word, assumed, next_bits);
  } while (old != assumed);
}
template <class T>
__device__ __forceinline__ void atomic_step(ScatterOp op, T* p, T v) {
  if (op == ScatterOp::Sum) return atomic_add(p, v);
  if constexpr (sizeof(T) == 4) atomic_step_bits<T, unsigned int>(op, p, v);
  else atomic_step_bits<T, unsigned long long>(op, p, v);
}

// The element offset into x of index entry t: t decoded over the index's shape (innermost
// first, the outermost dim taking the rest of t), the indexed dim's coordinate replaced by
// the index value k (in 64-bit: its reach along x is not bounded by the index's shape).
template <class Index>
struct IndexedOffsets {
  int ndim;
  Divisor<Index> size[kMaxDims];
  Index x_stride[kMaxDims];  // 0 for the indexed dim
  int64_t dim_stride;

  __device__ __forceinline__ int64_t at(Index t, int64_t k) const {
    Index off = 0;
    for (int d = 0; d < ndim; ++d) off += (d + 1 < ndim ? split_coord(t, size[d]) : t) * x_stride[d];
    return int64_t(off) + k * dim_stride;
  }
};

// The index's dims without those of size 1 and with neighbours that x steps through as
// one merged (never the indexed dim), outermost first.
struct Collapsed {
  int ndim = 0;
  int64_t shape[kMaxDims], x_stride[kMaxDims], dim_stride = 0;
};

Collapsed collapse(const IndexedAxis& ax) {
  Collapsed c;
  int dim = -1;
  for (int d = 0; d < ax.ndim; ++d) {
    const bool is_dim = d == ax.dim;
    if (!is_dim && ax.shape[d] == 1) continue;
    const int prev = c.ndim - 1;
    if (!is_dim && prev >= 0 && prev != dim && c.x_stride[prev] == ax.x_strides[d] * ax.shape[d]) {
      c.shape[prev] *= ax.shape[d];
      c.x_stride[prev] = ax.x_strides[d];
      continue;
    }
    if (is_dim) dim = c.ndim;
    c.shape[c.ndim] = ax.shape[d];
    c.x_stride[c.ndim] = is_dim ? 0 : ax.x_strides[d];
    ++c.ndim;
  }
  if (ax.ndim > 0) c.dim_stride = ax.x_strides[ax.dim];
  return c;
}

bool fits_int32(const Collapsed& c, int64_t n) {
  if (n > kInt32Max) return false;
  int64_t reach = 0;
  for (int d = 0; d < c.ndim; ++d) {
    const int64_t stride = c.x_stride[d] < 0 ? -c.x_stride[d] : c.x_stride[d];
    if (stride > kInt32Max) return false;
    reach += (c.shape[d] - 1) * stride;
    if (reach > kInt32Max) return false;
  }
  return true;
}

template <class Index>
IndexedOffsets<Index> indexed_offsets(const Collapsed& c) {
  IndexedOffsets<Index> o;
  o.ndim = c.ndim;
  for (int d = 0; d < c.ndim; ++d) {
    o.size[d] = make_divisor<Index>(c.shape[c.ndim - 1 - d]);
    o.x_stride[d] = static_cast<Index>(c.x_stride[c.ndim - 1 - d]);
  }
  o.dim_stride = c.dim_stride;
  return o;
}

// launch(Index{}) with the narrowest index type that holds every index and offset.
template <class Launch>
void with_index_type(bool fits_int32, Launch launch) {
  if (fits_int32) launch(int{});
  else launch(int64_t{});
}

template <class T, class Index>
__global__ void __launch_bounds__(kBlock)
    gather_kernel(const T* __restrict__ x, const int64_t* __restrict__ index, T* __restrict__ out,
                  IndexedOffsets<Index> offs, int64_t n) {
  for (int64_t t = global_thread(); t < n; t += grid_threads()) out[t] = x[offs.at(Index(t), index[t])];
}

template <class T, class Index>
__global__ void __launch_bounds__(kBlock)
    scatter_reduce_kernel(ScatterOp op, T* x, const int64_t* __restrict__ index, const T* __restrict__ src,
                          IndexedOffsets<Index> offs, int64_t n) {
  for (int64_t t = global_thread(); t < n; t += grid_threads())
    atomic_step(op, x + offs.at(Index(t), index[t]), src[t]);
}

// An (outer, n_index, inner) block around the indexed dim of x (x_size long there);
// Index holds every element offset of x and of the (outer, n_index, inner) side.
template <class Index>
struct Blocked {
  Divisor<Index> by_inner, by_n_index;
  Index inner, x_size;

  // t's (o, i, j) on the n_index side; returns j, sets i and o.
  __device__ __forceinline__ Index split(Index t, Index& i, Index& o) const {
    const Index j = split_coord(t, by_inner);
    i = split_coord(t, by_n_index);
    o = t;
    return j;
  }
  __device__ __forceinline__ Index x_offset(Index o, Index k, Index j) const { return (o * x_size + k) * inner + j; }
};

template <class Index>
Blocked<Index> blocked(int64_t x_size, int64_t n_index, int64_t inner) {
  return Blocked<Index>{make_divisor<Index>(inner), make_divisor<Index>(n_index), Index(inner), Index(x_size)};
}

// out[o, i, j] = x[o, index[i], j]; one thread per output element (element-sized words).
template <class W, class Index>
__global__ void __launch_bounds__(kBlock)
    index_select_kernel(const W* __restrict__ x, const int64_t* __restrict__ index, W* __restrict__ out,
                        Blocked<Index> b, int64_t n) {
  for (int64_t t = global_thread(); t < n; t += grid_threads()) {
    Index i, o;
    const Index j = b.split(Index(t), i, o);
    const int64_t k = index[i];
    out[t] = x[b.x_offset(o, Index(k < 0 ? k + b.x_size : k), j)];
  }
}

// out[o, index[i], j] += src[o, i, j]; one thread per src element, atomics for repeats.
template <class T, class Index>
__global__ void __launch_bounds__(kBlock)
    index_add_kernel(T* out, const int64_t* __restrict__ index, const T* __restrict__ src, Blocked<Index> b,
                     int64_t n) {
  for (int64_t t = global_thread(); t < n; t += grid_threads()) {
    Index i, o;
    const Index j = b.split(Index(t), i, o);
    const int64_t k = index[i];
    atomic_add(out + b.x_offset(o, Index(k < 0 ? k + b.x_size : k), j), src[t]);
  }
}

#define PYDL_DISPATCH_ATOMIC(dtype, T, ...)          \
  switch (dtype) {                                  \
    PYDL_DTYPE_CASE(Int32, int32_t, T, __VA_ARGS__) \
    PYDL_DTYPE_CASE(Int64, int64_t, T, __VA_ARGS__) \
    PYDL_DTYPE_CASE(Float32, float, T, __VA_ARGS__) \
    PYDL_DTYPE_CASE(Float64, double, T, __VA_ARGS__) \
    default: ::pydl::unsupported_dtype(dtype);      \
  }

int64_t count(const IndexedAxis& ax) {
  int64_t n = 1;
  for (int d = 0; d < ax.ndim; ++d) n *= ax.shape[d];
  return n;
}

// out[t] = x[o, index[i], j] over words of W bytes.
template <class W>
void launch_index_select(const void* x, int64_t x_size, const int64_t* index, int64_t n_index, void* out,
                         int64_t outer, int64_t inner, int64_t n, cudaStream_t s) {
  with_index_type(n <= kInt32Max && outer * x_size * inner <= kInt32Max, [&](auto zero) {
    using Index = decltype(zero);
    index_select_kernel<W, Index><<<grid_for(n), kBlock, 0, s>>>(
        static_cast<const W*>(x), index, static_cast<W*>(out), blocked<Index>(x_size, n_index, inner), n);
  });
}

}  // namespace

void gather(DType dtype, const void* x, const int64_t* index, void* out, const IndexedAxis& ax, void* stream,
            LaunchCheck check) {
  const int64_t n = count(ax);
  if (n == 0) return;
  const Collapsed c = collapse(ax);
  PYDL_DISPATCH_ALL(dtype, T, with_index_type(fits_int32(c, n), [&](auto zero) {
    using Index = decltype(zero);
    gather_kernel<T, Index><<<grid_for(n), kBlock, 0, as_stream(stream)>>>(
        static_cast<const T*>(x), index, static_cast<T*>(out), indexed_offsets<Index>(c), n);
  }));
  check("pydl_gather");
}

void scatter_reduce(ScatterOp op, DType dtype, void* x, const int64_t* index, const void* src, const IndexedAxis& ax,
                    void* stream, LaunchCheck check) {
  const int64_t n = count(ax);
  if (n == 0) return;
  const Collapsed c = collapse(ax);
  PYDL_DISPATCH_ATOMIC(dtype, T, with_index_type(fits_int32(c, n), [&](auto zero) {
    using Index = decltype(zero);
    scatter_reduce_kernel<T, Index><<<grid_for(n), kBlock, 0, as_stream(stream)>>>(
        op, static_cast<T*>(x), index, static_cast<const T*>(src), indexed_offsets<Index>(c), n);
  }));
  check("pydl_scatter_reduce");
}

void index_select(DType dtype, const void* x, int64_t x_size, const int64_t* index, int64_t n_index, void* out,
                  int64_t outer, int64_t inner, void* stream, LaunchCheck check) {
  const int64_t n = outer * n_index * inner;
  if (n == 0) return;
  cudaStream_t s = as_stream(stream);
  switch (itemsize(dtype)) {
    case 1: launch_index_select<uint8_t>(x, x_size, index, n_index, out, outer, inner, n, s); break;
    case 2: launch_index_select<uint16_t>(x, x_size, index, n_index, out, outer, inner, n, s); break;
    case 4: launch_index_select<uint32_t>(x, x_size, index, n_index, out, outer, inner, n, s); break;
    case 8: launch_index_select<uint64_t>(x, x_size, index, n_index, out, outer, inner, n, s); break;
    default: unsupported_dtype(dtype);
  }
  check("pydl_index_select");
}

void index_add(DType dtype, void* out, int64_t out_size, const int64_t* index, int64_t n_index, const void* src,
               int64_t outer, int64_t inner, void* stream, LaunchCheck check) {
  const int64_t n = outer * n_index * inner;
  if (n == 0) return;
  const bool fits = n <= kInt32Max && outer * out_size * inner <= kInt32Max;
  PYDL_DISPATCH_ATOMIC(dtype, T, with_index_type(fits, [&](auto zero) {
    using Index = decltype(zero);
    index_add_kernel<T, Index><<<grid_for(n), kBlock, 0, as_stream(stream)>>>(
        static_cast<T*>(out), index, static_cast<const T*>(src), blocked<Index>(out_size, n_index, inner), n);
  }));
  check("pydl_index_add");
}

}  // namespace pydl::cuda_kernels
