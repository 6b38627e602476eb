// Pinned (page-locked) host memory from the CUDA runtime, behind CPU tensors made by
// pin_memory(): a GPU copies from it by DMA, so a copy to the device can be queued on pydl's
// stream and return at once (copy_pinned_to_device), where a copy from pageable memory waits.
//
// cudaHostAlloc is slow (it pins pages and maps them for the GPU) and cudaFreeHost synchronizes
// the device, so freed blocks are cached by size bucket (the device allocator's buckets) apart
// from the CPU block cache (csrc/cpu_allocator.h), and handed out again. A block that a queued
// copy may still read is not: each copy records an event on the stream after it, and a block
// freed before its events completed waits (pending) until they have, as PyTorch's
// CachingHostAllocator does. Plain C++ header: stubs in cuda_stub.cpp when built without CUDA.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pydl::cuda {

// `op` names the caller in errors: RuntimeError saying why when CUDA is unusable (no build, no
// driver, no GPU), MemoryError when the host cannot pin that much. Never nullptr.
void* host_alloc(size_t bytes, const char* op);
void host_free(void* block) noexcept;  // back to the pinned cache, or pending while copies read it

// Queues a copy of `bytes` from `src` (inside the pinned `block` of host_alloc) to the device
// memory `dst` on `device`'s stream and returns without waiting; `block` is kept from reuse until
// the copy is done. The caller must not write `src` before synchronizing.
void copy_pinned_to_device(void* dst, const void* src, size_t bytes, int device, const void* block);

struct HostStats {
  int64_t allocated_bytes;  // blocks held by live tensors (bucket sizes)
  int64_t cached_bytes;     // free blocks ready for reuse
  int64_t pending_bytes;    // freed blocks that queued copies may still read
  int64_t host_allocs;      // cudaHostAlloc calls made
};
HostStats host_stats();
void host_empty_cache();  // cudaFreeHost every cached block (pending ones stay until their copies end)

}  // namespace pydl::cuda
