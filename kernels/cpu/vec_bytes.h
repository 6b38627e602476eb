// The width of the vectors a per-ISA kernel (*_isa.cpp, PYDL_ISA) computes with: one register of the
// widest unit its compiler flags allow, and what the kernels do alike on such vectors. Include from
// *_isa.cpp only.
#pragma once

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

PYDL_KERNELS_END
