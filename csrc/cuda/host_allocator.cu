// The pinned host memory cache (see host_allocator.h for the policy).
#include <cuda_runtime.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "csrc/cuda/allocator.h"
#include "csrc/cuda/host_allocator.h"
#include "csrc/cuda/runtime.h"
#include "csrc/errors.h"

namespace pydl::cuda {

namespace {

struct Block {
  size_t size = 0;
  std::vector<std::pair<int, cudaEvent_t>> events;  // per device: recorded after the last copy from it
};

struct HostCache {
  std::mutex mu;
  const pid_t owner = getpid();
  std::unordered_map<void*, Block> live, pending;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // bucket size -> blocks
  int64_t allocated = 0, cached = 0, pending_bytes = 0, host_allocs = 0;
};

// Never destroyed: Storage destructors may run during interpreter shutdown.
HostCache& cache() {
  static HostCache* c = new HostCache;
  return *c;
}

void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();
  fail<RuntimeError>(what, ": CUDA error ", int(err), " (", cudaGetErrorName(err), ": ", cudaGetErrorString(err), ")");
}

// Drops the events that completed; true when none is left (no queued copy reads the block).
bool copies_done(Block& b) noexcept {
  while (!b.events.empty()) {
    const cudaError_t err = cudaEventQuery(b.events.back().second);
    if (err == cudaErrorNotReady) {
      cudaGetLastError();
      return false;
    }
    if (err != cudaSuccess) cudaGetLastError();  // a failed context reads nothing any more
    cudaEventDestroy(b.events.back().second);
    b.events.pop_back();
  }
  return true;
}

void wait_for_copies(Block& b) noexcept {
  for (auto& [device, event] : b.events) {
    cudaEventSynchronize(event);
    cudaEventDestroy(event);
  }
  b.events.clear();
  cudaGetLastError();
}

// With c.mu held: pending blocks whose copies have ended go to the cache.
void collect_pending(HostCache& c) {
  for (auto it = c.pending.begin(); it != c.pending.end();) {
    if (!copies_done(it->second)) {
      ++it;
      continue;
    }
    const size_t size = it->second.size;
    c.free_blocks[size].push_back(it->first);
    c.cached += int64_t(size);
    c.pending_bytes -= int64_t(size);
    it = c.pending.erase(it);
  }
}

// With c.mu held: cudaFreeHost every cached block.
void release_cached(HostCache& c) noexcept {
  for (auto& [size, blocks] : c.free_blocks) {
    for (void* p : blocks) cudaFreeHost(p);
    c.cached -= int64_t(size * blocks.size());
  }
  c.free_blocks.clear();
  cudaGetLastError();
}

void* take_cached(HostCache& c, size_t size) {
  auto it = c.free_blocks.find(size);
  if (it == c.free_blocks.end()) return nullptr;
  void* p = it->second.back();
  it->second.pop_back();
  if (it->second.empty()) c.free_blocks.erase(it);
  c.cached -= int64_t(size);
  return p;
}

}  // namespace

void* host_alloc(size_t bytes, const char* op) {
  const std::string why = unavailable_reason();
  if (!why.empty()) fail<RuntimeError>(op, ": pinned memory is page-locked host memory from the CUDA runtime; ", why);
  const bool exact = detail::caching_disabled();
  const size_t size = exact ? (bytes ? bytes : 1) : allocator_round_size(bytes);
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  collect_pending(c);
  void* p = exact ? nullptr : take_cached(c, size);
  if (!p) {
    // Portable: pinned for every device's context, so a copy to any GPU is a direct DMA.
    cudaError_t err = cudaHostAlloc(&p, size, cudaHostAllocPortable);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached(c);
      err = cudaHostAlloc(&p, size, cudaHostAllocPortable);
    }
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      fail<MemoryError>(op, ": cannot pin ", bytes, " bytes of host memory (cudaHostAlloc is out of memory; ",
                        c.allocated, " bytes are pinned by live tensors and ", c.pending_bytes,
                        " wait for copies)");
    }
    check(err, op);
    ++c.host_allocs;
  }
  try {
    c.live.emplace(p, Block{size, {}});
  } catch (...) {
    cudaFreeHost(p);
    throw;
  }
  c.allocated += int64_t(size);
  return p;
}

void host_free(void* block) noexcept {
  if (!block) return;
  HostCache& c = cache();
  if (getpid() != c.owner) return;  // a forked child (a DataLoader worker) never touches the parent's CUDA state
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.live.find(block);
  if (it == c.live.end()) return;
  Block b = std::move(it->second);
  c.live.erase(it);
  c.allocated -= int64_t(b.size);
  try {
    if (detail::caching_disabled()) {
      wait_for_copies(b);
      cudaFreeHost(block);
      cudaGetLastError();
    } else if (copies_done(b)) {
      c.free_blocks[b.size].push_back(block);
      c.cached += int64_t(b.size);
    } else {
      const size_t size = b.size;
      c.pending.emplace(block, std::move(b));
      c.pending_bytes += int64_t(size);
    }
  } catch (...) {  // no host memory for the bookkeeping: wait, and give the block back to the driver
    wait_for_copies(b);
    cudaFreeHost(block);
    cudaGetLastError();
  }
}

void copy_pinned_to_device(void* dst, const void* src, size_t bytes, int device, const void* block) {
  if (bytes == 0) return;
  cudaStream_t stream = static_cast<cudaStream_t>(current_stream(device));  // checks and selects the device
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream), "copy to cuda (non_blocking)");
  cudaEvent_t event = nullptr;
  cudaError_t err = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
  if (err == cudaSuccess) err = cudaEventRecord(event, stream);
  if (err != cudaSuccess) {  // nothing to tell when the copy ends: wait for it instead
    cudaGetLastError();
    if (event) cudaEventDestroy(event);
    check(cudaStreamSynchronize(stream), "copy to cuda (non_blocking)");
    return;
  }
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.live.find(const_cast<void*>(block));
  if (it == c.live.end()) {  // not a block of this cache: the caller broke the contract; stay safe
    cudaEventSynchronize(event);
    cudaEventDestroy(event);
    return;
  }
  // The stream runs in order: this event ends after any earlier one on the same device's stream.
  for (auto& [d, e] : it->second.events) {
    if (d != device) continue;
    cudaEventDestroy(e);
    e = event;
    return;
  }
  it->second.events.emplace_back(device, event);
}

HostStats host_stats() {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  collect_pending(c);
  return {c.allocated, c.cached, c.pending_bytes, c.host_allocs};
}

void host_empty_cache() {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  collect_pending(c);
  release_cached(c);
}

}  // namespace pydl::cuda
