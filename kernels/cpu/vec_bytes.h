// The width of the vectors a per-ISA kernel (*_isa.cpp, PYDL_ISA) computes with: one register of the
// widest unit its compiler flags allow, and what the kernels do alike on such vectors. Include from
// *_isa.cpp only.
#pragma once
#include <stdint.h>

#include <type_traits>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX2__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;
#endif

// ReLU on each lane of a GCC vector, as ReluOp: x < 0 ? 0 : x (NaN and -0 kept).
template <class V>
inline V relu_vector(V x) {
  const auto negative = x < V{};  // lanes of all ones where x < 0
  return (V)((decltype(negative))x & ~negative);
}

#if defined(__AVX2__) && !defined(__AVX512F__)
// AVX2's lane mask for maskload / maskstore: all ones in the first `lanes` lanes of T.
template <class T>
inline __m256i avx2_lane_mask(int64_t lanes) {
  if constexpr (sizeof(T) == 4)
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(lanes)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  else return _mm256_cmpgt_epi64(_mm256_set1_epi64x(lanes), _mm256_setr_epi64x(0, 1, 2, 3));
}
#endif

// The first `lanes` elements (0 < lanes <= the vector's) of p into a vector whose other lanes are 0,
// and a vector's first `lanes` stored to p: one masked instruction where the ISA has one (a lane by
// lane loop cost a 64x100 by 100x10 product a tenth of its time), never touching memory past them.
template <class V, class T>
inline V load_lanes(const T* p, int64_t lanes) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
#if defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) {
    const unsigned mask = (1u << lanes) - 1;
    if constexpr (std::is_same_v<T, float>) return (V)_mm512_maskz_loadu_ps(__mmask16(mask), p);
    else return (V)_mm512_maskz_loadu_pd(__mmask8(mask), p);
  }
#elif defined(__AVX2__)
  if constexpr (sizeof(V) == 32) {
    if constexpr (std::is_same_v<T, float>) return (V)_mm256_maskload_ps(p, avx2_lane_mask<T>(lanes));
    else return (V)_mm256_maskload_pd(p, avx2_lane_mask<T>(lanes));
  }
#endif
  V x = V{};
  for (int64_t l = 0; l < lanes; ++l) x[l] = p[l];
  return x;
}

template <class V, class T>
inline void store_lanes(T* p, V x, int64_t lanes) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
#if defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) {
    const unsigned mask = (1u << lanes) - 1;
    if constexpr (std::is_same_v<T, float>) _mm512_mask_storeu_ps(p, __mmask16(mask), (__m512)x);
    else _mm512_mask_storeu_pd(p, __mmask8(mask), (__m512d)x);
    return;
  }
#elif defined(__AVX2__)
  if constexpr (sizeof(V) == 32) {
    if constexpr (std::is_same_v<T, float>) _mm256_maskstore_ps(p, avx2_lane_mask<T>(lanes), (__m256)x);
    else _mm256_maskstore_pd(p, avx2_lane_mask<T>(lanes), (__m256d)x);
    return;
  }
#endif
  for (int64_t l = 0; l < lanes; ++l) p[l] = x[l];
}

// The same for 0 < lanes <= VL, a whole vector by a plain load or store (AVX2's masked store is slow on
// some cores), for the write-backs whose last vector may be partial.
template <class V, class T>
inline V load_vector(const T* p, int64_t lanes) {
  if (lanes < int64_t(sizeof(V) / sizeof(T))) return load_lanes<V>(p, lanes);
  V x;
  __builtin_memcpy(&x, p, sizeof(V));
  return x;
}

template <class V, class T>
inline void store_vector(T* p, V x, int64_t lanes) {
  if (lanes < int64_t(sizeof(V) / sizeof(T))) store_lanes(p, x, lanes);
  else __builtin_memcpy(p, &x, sizeof(V));
}

PYDL_KERNELS_END
