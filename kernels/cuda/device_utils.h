// Device-side helpers shared by the .cu files of kernels/cuda/ (include from .cu only).
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

constexpr int kBlock = 256;
// Grid-stride kernels never need more blocks than this to fill a GPU.
constexpr int64_t kMaxBlocks = 8192;

inline unsigned grid_for(int64_t work, int block = kBlock) {
  int64_t blocks = (work + block - 1) / block;
  if (blocks < 1) blocks = 1;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  return static_cast<unsigned>(blocks);
}

inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

__device__ __forceinline__ int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_threads() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// Records a bad input for csrc/ to raise at the next synchronization (see launch.h).
__device__ __forceinline__ void record_error(DeviceError* e, DeviceErrorCode code, int64_t value,
                                             int64_t bound = 0, int64_t extra = 0) {
  if (atomicCAS(reinterpret_cast<int*>(&e->code), 0, static_cast<int>(code)) != 0) return;
  e->value = value;
  e->bound = bound;
  e->extra = extra;
}

// Warp shuffle of any 1-, 2-, 4- or 8-byte trivially copyable value.
template <class T>
__device__ __forceinline__ T shfl_down(T v, int delta) {
  static_assert(sizeof(T) <= 8, "shfl_down: at most 8 bytes");
  if constexpr (sizeof(T) == 8) {
    long long x;
    memcpy(&x, &v, 8);
    x = __shfl_down_sync(0xffffffffu, x, delta);
    memcpy(&v, &x, 8);
  } else {
    int x = 0;
    memcpy(&x, &v, sizeof(T));
    x = __shfl_down_sync(0xffffffffu, x, delta);
    memcpy(&v, &x, sizeof(T));
  }
  return v;
}

// The same value conversion as the CPU's copy (kernels/cpu/elementwise.cpp): to bool is
// x != 0; float to uint8 goes through int64 (wraps like PyTorch).
template <class To, class From>
__host__ __device__ __forceinline__ To cast_value(From x) {
  if constexpr (std::is_same<To, bool>::value) return x != From(0);
  else if constexpr (std::is_same<To, uint8_t>::value && std::is_floating_point<From>::value)
    return static_cast<uint8_t>(static_cast<int64_t>(x));
  else return static_cast<To>(x);
}

}  // namespace pydl::cuda_kernels
