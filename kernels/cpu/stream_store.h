// Non-temporal (streaming) stores for per-ISA kernels whose outputs are far larger than the
// caches: a normal store first reads the line it writes (a third more memory traffic for a
// read-x-write-y pass) and evicts what the next rows need. Include from *_isa.cpp only.
#pragma once
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

// Outputs of at least this many bytes are streamed (well past a core's share of L2 and L3).
constexpr int64_t kStreamBytes = int64_t(8) << 20;

// dst[0, n) = src[0, n), the whole 64-byte lines of dst streamed; stream_fence() before another
// thread reads dst.
template <class T>
inline void stream_copy(T* dst, const T* src, int64_t n) {
#if defined(__AVX512F__) || defined(__AVX2__)
  char* d = reinterpret_cast<char*>(dst);
  const char* s = reinterpret_cast<const char*>(src);
  const int64_t bytes = n * int64_t(sizeof(T)), misalign = int64_t(reinterpret_cast<uintptr_t>(d) & 63);
  const int64_t head = misalign ? (64 - misalign < bytes ? 64 - misalign : bytes) : 0;
  memcpy(d, s, size_t(head));
  int64_t b = head;
  for (; b + 64 <= bytes; b += 64) {
#if defined(__AVX512F__)
    _mm512_stream_si512(reinterpret_cast<__m512i*>(d + b), _mm512_loadu_si512(s + b));
#else
    for (int half = 0; half < 64; half += 32)
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d + b + half),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + b + half)));
#endif
  }
  memcpy(d + b, s + b, size_t(bytes - b));
#else
  memcpy(dst, src, sizeof(T) * size_t(n));
#endif
}

inline void stream_fence() {
#if defined(__AVX512F__) || defined(__AVX2__)
  _mm_sfence();
#endif
}

PYDL_KERNELS_END
