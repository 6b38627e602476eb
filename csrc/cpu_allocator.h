// Host memory for CPU tensors: 64-byte aligned blocks, with the large ones cached on free.
//
// Why: a block above glibc's mmap threshold comes fresh from the kernel on every allocation, and
// its first touch page-faults page by page. A training step allocates the same large activations
// and gradients every time (an LSTM's saved gates, a convolution's outputs), and those faults took
// some 15% of an LSTM step. Freed blocks of 256 KiB and more are kept, by size class, up to a cap,
// and handed out again to a request of the same class. Smaller ones wait in the freeing thread's
// own lists (a few per size, 4 MiB a thread, outside the stats). PYDL_CPU_CACHE_MB sets the cap
// (0: off, small lists too); builds under AddressSanitizer cache nothing, so that a use after free
// is still reported.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pydl::cpu_allocator {

void* allocate(size_t bytes);  // throws MemoryError
void release(void* p, size_t bytes);

struct Stats {
  int64_t cached_bytes, cap_bytes, hits, misses;
};
Stats stats();
void empty_cache();  // frees every cached block

}  // namespace pydl::cpu_allocator
