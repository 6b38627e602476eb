// The per-device caching allocator behind cuda::malloc / cuda::free (runtime.h).
//
// Blocks are rounded up to a size bucket (4 buckets per power of two from 512 bytes, so at
// most 25% slack) and, when freed, kept on that bucket's free list for the next allocation
// of the same bucket instead of going back to cudaFree. A training loop that allocates the
// same shapes every step therefore stops calling cudaMalloc after its first step. All pydl
// work on a device runs on one stream (runtime.h), so a freed block may be reused at once:
// anything still reading it was queued on the same stream before the new user's work.
//
// Out of memory: the cache of the device is released (cudaFree of every free block) and the
// allocation retried once; if it still fails, MemoryError names the requested size and the
// memory in use. Plain C++ header: stubs in cuda_stub.cpp when built without CUDA.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pydl::cuda {

size_t allocator_round_size(size_t bytes);  // the bucket a request of `bytes` lands in

// Per device; all 0 without a GPU or before the first allocation on that device.
size_t memory_allocated(int device);      // bytes in blocks held by live storage (bucket sizes)
size_t memory_reserved(int device);       // allocated + cached free blocks (all cudaMalloc'ed bytes)
size_t max_memory_allocated(int device);  // peak of memory_allocated since start / the last reset
void reset_peak_memory_stats(int device);  // peak := current
void empty_cache(int device);             // cudaFree every cached free block
uint64_t allocator_num_cuda_mallocs(int device);  // cudaMalloc calls made (for reuse tests)

}  // namespace pydl::cuda

namespace pydl::cuda::detail {
// For runtime.cu: the device is valid and current when these are called.
void* allocator_malloc(size_t bytes, int device);  // bytes > 0
void allocator_free(void* ptr, int device) noexcept;
// PYDL_CUDA_NO_CACHING=1: exact blocks, freed at once (for memory checkers; host_allocator.h too).
bool caching_disabled();
constexpr int kMaxDevices = 64;
}  // namespace pydl::cuda::detail
