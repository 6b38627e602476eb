#include "csrc/cpu_allocator.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "csrc/errors.h"

namespace pydl::cpu_allocator {

namespace {

constexpr size_t kMinCached = size_t(256) << 10;
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kMinHuge = size_t(4) << 20;  // numpy's threshold for the same advice

// Sizes round up to 64 bytes, and cached ones to one of 8 classes per power of two (at most 12.5%
// over), so that nearby sizes share blocks.
size_t block_size(size_t bytes) {
  const size_t b = ((bytes ? bytes : 1) + 63) & ~size_t(63);
  if (b < kMinCached) return b;
  const size_t step = (size_t(1) << (63 - __builtin_clzll(b))) / 8;
  return (b + step - 1) / step * step;
}

int64_t default_cap() {
#if defined(__SANITIZE_ADDRESS__)
  return 0;
#else
  if (const char* v = std::getenv("PYDL_CPU_CACHE_MB")) return std::atoll(v) > 0 ? std::atoll(v) << 20 : 0;
  const int64_t physical = int64_t(sysconf(_SC_PHYS_PAGES)) * int64_t(sysconf(_SC_PAGE_SIZE));
  const int64_t eighth = physical > 0 ? physical / 8 : 0;
  return eighth < (int64_t(1) << 30) ? eighth : int64_t(1) << 30;
#endif
}

struct Cache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;  // by block size
  int64_t cached = 0, cap = default_cap(), hits = 0, misses = 0;

  // Frees cached blocks (the largest first) until `need` more bytes fit under the cap.
  void trim_for(int64_t need) {
    while (cached + need > cap && !free_blocks.empty()) {
      auto it = std::prev(free_blocks.end());
      std::free(it->second.back());
      it->second.pop_back();
      cached -= int64_t(it->first);
      if (it->second.empty()) free_blocks.erase(it);
    }
  }
};

Cache& cache() {
  static Cache* c = [] {
    Cache* made = new Cache;  // never destroyed: tensors may be freed during interpreter exit
    // A child forked while another thread held the lock (a DataLoader worker) gets a free one.
    pthread_atfork(nullptr, nullptr, [] { new (&cache().mu) std::mutex; });
    return made;
  }();
  return *c;
}

// Blocks of 4 MiB and more start on a 2 MiB boundary and ask for transparent huge pages, as numpy's
// do: with 4 KiB pages a streaming kernel over such a block spends up to a third of its time on TLB
// misses (an MPI all-reduce of 64 MiB took 41 ms from 4 KiB pages, 31 ms from huge ones).
void* fresh_block(size_t size) {
  if (size < kMinHuge) return std::aligned_alloc(64, size);
  const size_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
#ifdef MADV_HUGEPAGE
  if (p) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: a kernel without THP ignores it
#endif
  return p;
}

// Small blocks (below kMinCached) freed on a thread wait in that thread's lists, by size class, for
// the next allocation of the class: glibc's aligned_alloc takes its slow path for them (a fifth of a
// 32x32 matmul's time went to allocating and freeing its result).
struct SmallBlocks {
  static constexpr int kPerClass = 8;
  static constexpr int64_t kCap = int64_t(4) << 20;  // bytes per thread
  std::map<size_t, std::vector<void*>> free_blocks;
  int64_t held = 0;

  void* take(size_t size) {
    auto it = free_blocks.find(size);
    if (it == free_blocks.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    held -= int64_t(size);
    return p;
  }
  bool keep(void* p, size_t size) {
    std::vector<void*>& list = free_blocks[size];
    if (int(list.size()) >= kPerClass || held + int64_t(size) > kCap) return false;
    list.push_back(p);
    held += int64_t(size);
    return true;
  }
  ~SmallBlocks();
};

// False once this thread's lists are gone (a tensor freed later, during exit, goes to free()).
thread_local bool tls_small_alive = true;

SmallBlocks::~SmallBlocks() {
  tls_small_alive = false;
  for (auto& [size, list] : free_blocks)
    for (void* p : list) std::free(p);
}

thread_local SmallBlocks tls_small;

// Off with the cache (PYDL_CPU_CACHE_MB=0, sanitizer builds: a use after free must still be reported).
bool keep_small() {
  static const bool keep = default_cap() > 0;
  return keep;
}

}  // namespace

void* allocate(size_t bytes) {
  const size_t size = block_size(bytes);
  if (size < kMinCached && tls_small_alive && keep_small())
    if (void* p = tls_small.take(size)) return p;
  if (size >= kMinCached) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end()) {
      void* p = it->second.back();
      it->second.pop_back();
      if (it->second.empty()) c.free_blocks.erase(it);
      c.cached -= int64_t(size);
      ++c.hits;
      return p;
    }
    ++c.misses;
  }
  void* p = fresh_block(size);
  if (!p && size >= kMinCached) {  // the cache's memory may be what is missing
    empty_cache();
    p = fresh_block(size);
  }
  if (!p) fail<MemoryError>("cpu: out of memory allocating ", bytes, " bytes");
  return p;
}

void release(void* p, size_t bytes) {
  const size_t size = block_size(bytes);
  if (size < kMinCached && tls_small_alive && keep_small() && tls_small.keep(p, size)) return;
  Cache& c = cache();
  if (size >= kMinCached && int64_t(size) <= c.cap) {
    std::lock_guard<std::mutex> lock(c.mu);
    c.trim_for(int64_t(size));
    c.free_blocks[size].push_back(p);
    c.cached += int64_t(size);
    return;
  }
  std::free(p);
}

Stats stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.cached, c.cap, c.hits, c.misses};
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.trim_for(c.cap + 1);
}

}  // namespace pydl::cpu_allocator
