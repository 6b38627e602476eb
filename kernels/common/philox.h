// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
// Counter-based: the numbers for element i are a pure function of (seed, offset + i),
// so the CPU and the GPU draw bit-identical streams and any element can be drawn alone.
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

struct Philox4 { uint32_t v[4]; };

PYDL_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// One block of four 32-bit words for a 128-bit counter and a 64-bit key.
PYDL_HD Philox4 philox4x32_10(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in [0, 1): 24 random bits for float, 53 for double.
PYDL_HD float u32_to_unit_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
PYDL_HD double u64_to_unit_double(uint32_t hi, uint32_t lo) {
  uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Element g of a stream: floats use one word of block g/4; doubles use two words of block g/2.
PYDL_HD float philox_uniform_float(uint64_t seed, uint64_t g) {
  return u32_to_unit_float(philox4x32_10(g >> 2, 0, seed).v[g & 3]);
}
PYDL_HD double philox_uniform_double(uint64_t seed, uint64_t g) {
  Philox4 r = philox4x32_10(g >> 1, 0, seed);
  int lane = static_cast<int>(g & 1) * 2;
  return u64_to_unit_double(r.v[lane], r.v[lane + 1]);
}

// Standard normal by Box-Muller; element g pairs with its neighbour g^1 (cos / sin).
PYDL_HD float philox_normal_float(uint64_t seed, uint64_t g) {
  Philox4 r = philox4x32_10(g >> 2, 0, seed);
  int pair = static_cast<int>(g & 2);
  float u1 = 1.0f - u32_to_unit_float(r.v[pair]);  // (0, 1]: log is finite
  float u2 = u32_to_unit_float(r.v[pair + 1]);
  float radius = sqrtf(-2.0f * logf(u1));
  float angle = 6.2831853071795864f * u2;
  return radius * ((g & 1) ? sinf(angle) : cosf(angle));
}
PYDL_HD double philox_normal_double(uint64_t seed, uint64_t g) {
  Philox4 r = philox4x32_10(g, 1, seed);  // counter_hi=1: a stream apart from the uniforms
  double u1 = 1.0 - u64_to_unit_double(r.v[0], r.v[1]);
  double u2 = u64_to_unit_double(r.v[2], r.v[3]);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

PYDL_KERNELS_END
