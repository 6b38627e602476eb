// A growable 64-byte aligned scratch buffer that keeps its memory between calls: kernels
// hold one per thread (thread_local) for packed panels, im2col columns and staging rows.
#pragma once
#include <stddef.h>
#include <stdlib.h>

#include <new>

#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

struct ScratchBuffer {
  void* p = nullptr;
  size_t bytes = 0;

  // Room for at least `count` values of T (std::bad_alloc when memory runs out).
  template <class T>
  T* get(size_t count) {
    if (count > (size_t(1) << 62) / sizeof(T)) throw std::bad_alloc();  // a wrapped size, never a small buffer
    const size_t want = sizeof(T) * (count ? count : 1);
    if (want > bytes) {
      free(p);
      bytes = (want + 4095) & ~size_t(4095);
      p = aligned_alloc(64, bytes);
      if (!p) {
        bytes = 0;
        throw std::bad_alloc();
      }
    }
    return static_cast<T*>(p);
  }
  ~ScratchBuffer() { free(p); }
};

PYDL_KERNELS_END
