#include "kernels/cuda/index.h"

#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

// atomicAdd for the dtypes that accumulate on the device (no uint8: the hardware has no byte
// atomics, and a compare-and-swap of the word around a byte touches bytes past the tensor's
// end; csrc runs uint8 in int64). The order of accumulation into one element is unspecified
// (see index.h).
__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int64_t* p, int64_t v) {
  // Two's complement: an unsigned 64-bit add is the signed add.
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
// Element offset into x of index entry t (the index is contiguous with shape ax.shape).
__device__ __forceinline__ int64_t indexed_offset(const IndexedAxis& ax, const int64_t* index, int64_t t) {
  int64_t off = 0, rem = t;
  for (int d = ax.ndim - 1; d >= 0; --d) {
    const int64_t coord = rem % ax.shape[d];
    rem /= ax.shape[d];
    off += (d == ax.dim ? index[t] : coord) * ax.x_strides[d];
  }
  return off;
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    gather_kernel(const T* __restrict__ x, const int64_t* __restrict__ index, T* __restrict__ out, IndexedAxis ax,
                  int64_t n) {
  for (int64_t t = global_thread(); t < n; t += grid_threads()) out[t] = x[indexed_offset(ax, index, t)];
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    scatter_add_kernel(T* x, const int64_t* __restrict__ index, const T* __restrict__ src, IndexedAxis ax, int64_t n) {
  for (int64_t t = global_thread(); t < n; t += grid_threads()) atomic_add(x + indexed_offset(ax, index, t), src[t]);
}

// out[o, i, j] = x[o, index[i], j]; one thread per output element (element-sized words).
template <class W>
__global__ void __launch_bounds__(kBlock)
    index_select_kernel(const W* __restrict__ x, int64_t x_size, const int64_t* __restrict__ index, int64_t n_index,
                        W* __restrict__ out, int64_t inner, int64_t n) {
  for (int64_t t = global_thread(); t < n; t += grid_threads()) {
    const int64_t j = t % inner, oi = t / inner;
    const int64_t i = oi % n_index, o = oi / n_index;
    int64_t k = index[i];
    if (k < 0) k += x_size;
    out[t] = x[(o * x_size + k) * inner + j];
  }
}

// out[o, index[i], j] += src[o, i, j]; one thread per src element, atomics for repeats.
template <class T>
__global__ void __launch_bounds__(kBlock)
    index_add_kernel(T* out, int64_t out_size, const int64_t* __restrict__ index, int64_t n_index,
                     const T* __restrict__ src, int64_t inner, int64_t n) {
  for (int64_t t = global_thread(); t < n; t += grid_threads()) {
    const int64_t j = t % inner, oi = t / inner;
    const int64_t i = oi % n_index, o = oi / n_index;
    int64_t k = index[i];
    if (k < 0) k += out_size;
    atomic_add(out + (o * out_size + k) * inner + j, src[t]);
  }
}

#define PYDL_DISPATCH_ATOMIC(dtype, T, ...)          \
  switch (dtype) {                                  \
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

}  // namespace

void gather(DType dtype, const void* x, const int64_t* index, void* out, const IndexedAxis& ax, void* stream,
            LaunchCheck check) {
  const int64_t n = count(ax);
  if (n == 0) return;
  PYDL_DISPATCH_ALL(dtype, T, {
    gather_kernel<T><<<grid_for(n), kBlock, 0, as_stream(stream)>>>(static_cast<const T*>(x), index,
                                                                     static_cast<T*>(out), ax, n);
    check("pydl_gather");
  });
}

void scatter_add(DType dtype, void* x, const int64_t* index, const void* src, const IndexedAxis& ax, void* stream,
                 LaunchCheck check) {
  const int64_t n = count(ax);
  if (n == 0) return;
  PYDL_DISPATCH_ATOMIC(dtype, T, {
    scatter_add_kernel<T><<<grid_for(n), kBlock, 0, as_stream(stream)>>>(static_cast<T*>(x), index,
                                                                          static_cast<const T*>(src), ax, n);
    check("pydl_scatter_add");
  });
}

void index_select(DType dtype, const void* x, int64_t x_size, const int64_t* index, int64_t n_index, void* out,
                  int64_t outer, int64_t inner, void* stream, LaunchCheck check) {
  const int64_t n = outer * n_index * inner;
  if (n == 0) return;
  cudaStream_t s = as_stream(stream);
  switch (itemsize(dtype)) {
    case 1:
      index_select_kernel<uint8_t><<<grid_for(n), kBlock, 0, s>>>(static_cast<const uint8_t*>(x), x_size, index,
                                                                   n_index, static_cast<uint8_t*>(out), inner, n);
      break;
    case 2:
      index_select_kernel<uint16_t><<<grid_for(n), kBlock, 0, s>>>(static_cast<const uint16_t*>(x), x_size, index,
                                                                    n_index, static_cast<uint16_t*>(out), inner, n);
      break;
    case 4:
      index_select_kernel<uint32_t><<<grid_for(n), kBlock, 0, s>>>(static_cast<const uint32_t*>(x), x_size, index,
                                                                    n_index, static_cast<uint32_t*>(out), inner, n);
      break;
    case 8:
      index_select_kernel<uint64_t><<<grid_for(n), kBlock, 0, s>>>(static_cast<const uint64_t*>(x), x_size, index,
                                                                    n_index, static_cast<uint64_t*>(out), inner, n);
      break;
    default: unsupported_dtype(dtype);
  }
  check("pydl_index_select");
}

void index_add(DType dtype, void* out, int64_t out_size, const int64_t* index, int64_t n_index, const void* src,
               int64_t outer, int64_t inner, void* stream, LaunchCheck check) {
  const int64_t n = outer * n_index * inner;
  if (n == 0) return;
  PYDL_DISPATCH_ATOMIC(dtype, T, {
    index_add_kernel<T><<<grid_for(n), kBlock, 0, as_stream(stream)>>>(static_cast<T*>(out), out_size, index, n_index,
                                                                        static_cast<const T*>(src), inner, n);
    check("pydl_index_add");
  });
}

}  // namespace pydl::cuda_kernels
