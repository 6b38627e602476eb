// Inverted dropout's keep decision, shared by the CPU and CUDA kernels.
//
// Element i of a dropout call keeps its value when the uniform drawn at stream position
// g = offset + i is >= p. The uniform is philox_uniform_float's: the top 24 bits of word
// g & 3 of the Philox block g >> 2, compared as an integer against ceil(p * 2^24). So the
// decision is a pure function of (seed, g), independent of the dtype and of the device,
// and four neighbouring elements share one Philox block (offsets are multiples of 4).
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/common/macros.h"
#include "kernels/common/philox.h"

PYDL_KERNELS_BEGIN

// 24-bit threshold: keep iff (word >> 8) >= threshold. p = 0 keeps all, p = 1 drops all.
PYDL_HD uint32_t dropout_threshold(double p) {
  if (!(p > 0.0)) return 0u;
  if (p >= 1.0) return 1u << 24;
  return static_cast<uint32_t>(ceil(p * 16777216.0));
}

// The factor kept values are multiplied by: 1 / (1 - p), and 0 for p = 1 (all dropped).
PYDL_HD double dropout_scale(double p) { return p >= 1.0 ? 0.0 : 1.0 / (1.0 - p); }

PYDL_HD bool dropout_keep_word(uint32_t word, uint32_t threshold) { return (word >> 8) >= threshold; }

// The decision for stream position g alone.
PYDL_HD bool dropout_keep(uint64_t seed, uint64_t g, uint32_t threshold) {
  return dropout_keep_word(philox4x32_10(g >> 2, 0, seed).v[g & 3], threshold);
}

// The decisions for the four positions 4 * block .. 4 * block + 3, as bits 0..3.
PYDL_HD uint32_t dropout_keep4(uint64_t seed, uint64_t block, uint32_t threshold) {
  Philox4 r = philox4x32_10(block, 0, seed);
  return uint32_t(dropout_keep_word(r.v[0], threshold)) | uint32_t(dropout_keep_word(r.v[1], threshold)) << 1 |
         uint32_t(dropout_keep_word(r.v[2], threshold)) << 2 | uint32_t(dropout_keep_word(r.v[3], threshold)) << 3;
}

PYDL_KERNELS_END
