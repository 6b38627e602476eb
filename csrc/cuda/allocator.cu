// The per-device caching allocator (see allocator.h for the policy).
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "csrc/cuda/allocator.h"
#include "csrc/errors.h"

namespace pydl::cuda {

namespace {

struct DeviceCache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // bucket size -> cached blocks
  std::unordered_map<void*, size_t> live;                      // block -> bucket size
  size_t allocated = 0, reserved = 0, peak = 0;
  uint64_t cuda_mallocs = 0;
};

// Never destroyed: Storage destructors may run during interpreter shutdown, after static
// destructors, and must still find their cache (the OS reclaims the memory at exit).
std::mutex g_caches_mu;
DeviceCache* g_caches[detail::kMaxDevices] = {};

DeviceCache* cache_for(int device, bool create) {
  if (device < 0 || device >= detail::kMaxDevices) {
    if (create) fail<RuntimeError>("cuda allocator: device index ", device, " is out of range");
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(g_caches_mu);
  if (!g_caches[device] && create) g_caches[device] = new DeviceCache();
  return g_caches[device];
}

// cudaFree every cached block. Called with c.mu held. Synchronizes the device first: a cached
// block may still be read by work queued on the stream before it was freed.
void release_cached(DeviceCache& c, int device) noexcept {
  if (c.free_blocks.empty()) return;
  cudaSetDevice(device);
  cudaDeviceSynchronize();
  for (auto& [bucket, blocks] : c.free_blocks) {
    for (void* p : blocks) {
      cudaFree(p);
      c.reserved -= bucket;
    }
  }
  c.free_blocks.clear();
  cudaGetLastError();  // a failed free leaks; it must not poison the next check
}

std::string mib(size_t bytes) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

size_t allocator_round_size(size_t bytes) {
  constexpr size_t kMin = 512;
  if (bytes <= kMin) return kMin;
  if (bytes > (size_t(1) << 62)) return bytes;  // cannot be satisfied anyway; let cudaMalloc say so
  const size_t p = size_t(1) << (63 - __builtin_clzll(static_cast<unsigned long long>(bytes - 1)));  // < bytes
  const size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

namespace detail {

// PYDL_CUDA_NO_CACHING=1: every block is exactly the size asked for and goes back to the driver
// when freed, so that a memory checker (compute-sanitizer memcheck, or the CUDA emulation under
// AddressSanitizer) sees every access past a tensor's end. Slow; for checking only.
bool caching_disabled() {
  static const bool disabled = [] {
    const char* v = std::getenv("PYDL_CUDA_NO_CACHING");
    return v && v[0] && std::strcmp(v, "0") != 0;
  }();
  return disabled;
}

void* allocator_malloc(size_t bytes, int device) {
  const size_t bucket = caching_disabled() ? bytes : allocator_round_size(bytes);
  DeviceCache& c = *cache_for(device, true);
  std::lock_guard<std::mutex> lock(c.mu);
  void* p = nullptr;
  auto it = c.free_blocks.find(bucket);
  if (it != c.free_blocks.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else {
    cudaError_t err = cudaMalloc(&p, bucket);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached(c, device);
      err = cudaMalloc(&p, bucket);
    }
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      const bool info = cudaMemGetInfo(&free_b, &total_b) == cudaSuccess;
      cudaGetLastError();
      std::ostringstream os;
      os << "CUDA out of memory: tried to allocate " << bytes << " bytes (" << mib(bytes) << ") on cuda:" << device
         << "; pydl holds " << c.allocated << " bytes (" << mib(c.allocated) << ") in live tensors and "
         << c.reserved << " bytes (" << mib(c.reserved) << ") reserved in total (the cache was emptied and the"
         << " allocation retried)";
      if (info) os << "; the device has " << mib(free_b) << " free of " << mib(total_b);
      throw MemoryError(os.str());
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      fail<RuntimeError>("cudaMalloc of ", bucket, " bytes on cuda:", device, ": CUDA error ", int(err), " (",
                         cudaGetErrorString(err), ")");
    }
    c.reserved += bucket;
    ++c.cuda_mallocs;
  }
  try {
    c.live.emplace(p, bucket);
  } catch (...) {
    c.free_blocks[bucket].push_back(p);  // best effort; rethrow the host allocation failure
    throw;
  }
  c.allocated += bucket;
  if (c.allocated > c.peak) c.peak = c.allocated;
  return p;
}

void allocator_free(void* ptr, int device) noexcept {
  if (!ptr) return;
  DeviceCache* c = cache_for(device, false);
  if (!c) return;
  std::lock_guard<std::mutex> lock(c->mu);
  auto it = c->live.find(ptr);
  if (it == c->live.end()) return;  // not ours: never cudaFree memory we did not allocate
  const size_t bucket = it->second;
  c->live.erase(it);
  c->allocated -= bucket;
  if (!caching_disabled()) {
    try {
      c->free_blocks[bucket].push_back(ptr);
      return;
    } catch (...) {  // no host memory to cache it: give it back to the driver instead
    }
  }
  cudaSetDevice(device);
  cudaDeviceSynchronize();
  cudaFree(ptr);
  cudaGetLastError();
  c->reserved -= bucket;
}

}  // namespace detail

#define PYDL_STAT(name, field)                              \
  size_t name(int device) {                                 \
    DeviceCache* c = cache_for(device, false);              \
    if (!c) return 0;                                       \
    std::lock_guard<std::mutex> lock(c->mu);                \
    return c->field;                                        \
  }
PYDL_STAT(memory_allocated, allocated)
PYDL_STAT(memory_reserved, reserved)
PYDL_STAT(max_memory_allocated, peak)
#undef PYDL_STAT

uint64_t allocator_num_cuda_mallocs(int device) {
  DeviceCache* c = cache_for(device, false);
  if (!c) return 0;
  std::lock_guard<std::mutex> lock(c->mu);
  return c->cuda_mallocs;
}

void reset_peak_memory_stats(int device) {
  DeviceCache* c = cache_for(device, false);
  if (!c) return;
  std::lock_guard<std::mutex> lock(c->mu);
  c->peak = c->allocated;
}

void empty_cache(int device) {
  DeviceCache* c = cache_for(device, false);
  if (!c) return;
  std::lock_guard<std::mutex> lock(c->mu);
  release_cached(*c, device);
}

}  // namespace pydl::cuda
