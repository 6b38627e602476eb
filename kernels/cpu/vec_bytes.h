// The width of the vectors a per-ISA kernel (*_isa.cpp, PYDL_ISA) computes with: one register of the
// widest unit its compiler flags allow. Include from *_isa.cpp only.
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

PYDL_KERNELS_END
