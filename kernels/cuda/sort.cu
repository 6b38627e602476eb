// Sorting on CUDA; see sort.h. Positions >= n are the padding: they sort after every real
// entry, so the first n of a sorted padded row are the sorted row.
#include "kernels/cuda/sort.h"

#include "kernels/common/sort.h"
#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

int64_t padded(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

size_t align_up(size_t bytes) { return (bytes + 255) & ~size_t(255); }

template <class T>
__device__ __forceinline__ bool before(T a, int64_t ia, T b, int64_t ib, int64_t n, bool descending) {
  if ((ia >= n) || (ib >= n)) return ib >= n && (ia < n || ia < ib);
  return kernels::sorts_before(a, ia, b, ib, descending);
}

template <class T>
__global__ void load_kernel(const T* in, T* keys, int64_t* pos, int64_t rows, int64_t n, int64_t p) {
  for (int64_t t = global_thread(); t < rows * p; t += grid_threads()) {
    const int64_t r = t / p, i = t % p;
    keys[t] = i < n ? in[r * n + i] : T();
    pos[t] = i;
  }
}

// One step of the network: pairs (i, i + j) within blocks of `stage` entries, blocks
// alternately ascending and descending until the last stage.
template <class T>
__global__ void step_kernel(T* keys, int64_t* pos, int64_t rows, int64_t n, int64_t p, int64_t stage, int64_t j,
                            bool descending) {
  const int64_t half = p / 2;
  for (int64_t t = global_thread(); t < rows * half; t += grid_threads()) {
    const int64_t r = t / half, c = t % half;
    const int64_t i = r * p + (c / j) * 2 * j + c % j, l = i + j;
    const bool up = ((i - r * p) & stage) == 0;
    const bool l_first = before(keys[l], pos[l], keys[i], pos[i], n, descending);
    if (l_first == up) {
      const T k = keys[i];
      keys[i] = keys[l];
      keys[l] = k;
      const int64_t q = pos[i];
      pos[i] = pos[l];
      pos[l] = q;
    }
  }
}

template <class T>
__global__ void store_kernel(const T* keys, const int64_t* pos, T* values, int64_t* indices, int64_t rows, int64_t p,
                             int64_t k) {
  for (int64_t t = global_thread(); t < rows * k; t += grid_threads()) {
    const int64_t r = t / k, i = t % k;
    values[t] = keys[r * p + i];
    indices[t] = pos[r * p + i];
  }
}

}  // namespace

size_t sort_workspace_bytes(DType dtype, int64_t rows, int64_t n) {
  const size_t entries = static_cast<size_t>(rows * padded(n));
  return align_up(entries * itemsize(dtype)) + entries * sizeof(int64_t);
}

void sort_rows(DType dtype, const void* in, void* values, int64_t* indices, int64_t rows, int64_t n, int64_t k,
               bool descending, void* workspace, void* stream, LaunchCheck check) {
  const int64_t p = padded(n);
  cudaStream_t s = as_stream(stream);
  PYDL_DISPATCH_ALL(dtype, T, {
    T* keys = static_cast<T*>(workspace);
    int64_t* pos = reinterpret_cast<int64_t*>(static_cast<char*>(workspace) + align_up(rows * p * sizeof(T)));
    load_kernel<T><<<grid_for(rows * p), kBlock, 0, s>>>(static_cast<const T*>(in), keys, pos, rows, n, p);
    check("pydl_sort_load");
    for (int64_t stage = 2; stage <= p; stage <<= 1)
      for (int64_t j = stage / 2; j > 0; j >>= 1) {
        step_kernel<T><<<grid_for(rows * p / 2), kBlock, 0, s>>>(keys, pos, rows, n, p, stage, j, descending);
        check("pydl_sort_step");
      }
    store_kernel<T><<<grid_for(rows * k), kBlock, 0, s>>>(keys, pos, static_cast<T*>(values), indices, rows, p, k);
    check("pydl_sort_store");
  });
}

}  // namespace pydl::cuda_kernels
