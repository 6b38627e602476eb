// pydl's CUDA emulation: pinned host memory, and the copies that read or write it. A GPU copies
// pinned memory by DMA while the host goes on, so cudaMemcpyAsync to or from it is queued here
// and runs when the stream gets to it: before the stream's next operation (a launch, another
// copy, a memset) or at a synchronization. Host code that reuses a pinned buffer before a copy
// from it has run therefore sends the new contents, as it would on a GPU.
#include <cuda_runtime.h>
#include <stdlib.h>
#include <string.h>

#include <deque>
#include <iterator>
#include <map>
#include <mutex>

#include "emulator_state.h"

namespace {

struct QueuedCopy {
  void* dst;
  const void* src;
  size_t bytes;
};

std::mutex g_mu;
std::map<const char*, size_t> g_pinned;  // block -> bytes
std::deque<QueuedCopy> g_queue;
uint64_t g_queued = 0, g_done = 0;  // copies ever queued, and run

}  // namespace

namespace pydl_emu {

bool is_pinned(const void* p) {
  std::lock_guard<std::mutex> lock(g_mu);
  const char* c = static_cast<const char*>(p);
  auto it = g_pinned.upper_bound(c);
  if (it == g_pinned.begin()) return false;
  --it;
  return c < it->first + it->second;
}

void queue_copy(void* dst, const void* src, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_queue.push_back({dst, src, bytes});
  ++g_queued;
}

void run_queued_copies() {
  std::lock_guard<std::mutex> lock(g_mu);
  for (const QueuedCopy& c : g_queue) {
    if (c.bytes) memmove(c.dst, c.src, c.bytes);
    ++g_done;
  }
  g_queue.clear();
}

uint64_t copies_queued() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_queued;
}

bool copies_done_through(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_done >= ticket;
}

}  // namespace pydl_emu

cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  *ptr = nullptr;
  void* p = nullptr;  // exactly `bytes`, so that a memory checker sees any access past them
  if (posix_memalign(&p, 4096, bytes ? bytes : 1) != 0) return cudaErrorMemoryAllocation;
  memset(p, 0xcd, bytes);
  std::lock_guard<std::mutex> lock(g_mu);
  g_pinned[static_cast<const char*>(p)] = bytes ? bytes : 1;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) { return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault); }

// A GPU's cudaFreeHost waits for the device first, so a queued copy reads the block before it goes.
cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  pydl_emu::run_queued_copies();
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_pinned.find(static_cast<const char*>(ptr));
  if (it == g_pinned.end())
    return pydl_emu::record(cudaErrorInvalidValue, "cudaFreeHost of a pointer cudaHostAlloc did not give");
  g_pinned.erase(it);
  free(ptr);
  return cudaSuccess;
}
