// float16 and bfloat16: 16-bit storage types and their conversions to and from float32,
// written with integer bit manipulation so that the CPU and the GPU round identically.
//
// float32 -> half rounds to nearest, ties to even (as IEEE and numpy); NaN stays NaN (made
// quiet, sign kept), inf stays inf, and finite values beyond the type's range become inf
// (float16: |x| >= 65520; bfloat16: beyond 3.3895e38). float16 keeps its subnormals (down
// to 2^-24); bfloat16 shares float32's exponent range, so float32 subnormals round like any
// other value. Wider types (float64, int64) convert through float32.
#pragma once
#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "kernels/common/dtype.h"
#include "kernels/common/macros.h"

namespace pydl {

// The element types of float16 / bfloat16 arrays on the host: just the bits.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

PYDL_HD uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
PYDL_HD float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

PYDL_HD uint16_t float_to_half_bits(float f) {
  const uint32_t x = f32_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));  // NaN
  if (ax >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // >= 65520 (and inf): inf
  if (ax >= 0x38800000u) {  // a normal half: rebias the exponent, round the low 13 bits
    const uint32_t r = ax - 0x38000000u;
    return static_cast<uint16_t>(sign | ((r + 0xFFFu + ((r >> 13) & 1u)) >> 13));
  }
  if (ax < 0x33000000u) return static_cast<uint16_t>(sign);  // below 2^-25: rounds to zero
  // A subnormal half m * 2^-24: m = the 24-bit significand >> (126 - exponent), rounded to
  // even (m may round up to 1024, which is the smallest normal's encoding).
  const uint32_t e = ax >> 23, sig = (ax & 0x7FFFFFu) | 0x800000u, shift = 126u - e;  // 14..24
  uint32_t m = sig >> shift;
  const uint32_t rem = sig & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
  if (rem > halfway || (rem == halfway && (m & 1u))) ++m;
  return static_cast<uint16_t>(sign | m);
}

PYDL_HD float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0x1Fu) return f32_from_bits(sign | 0x7F800000u | (m << 13));  // inf, NaN
  if (e != 0) return f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
  // zero or subnormal: m * 2^-24, exact in float32
  return f32_from_bits(sign | f32_bits(static_cast<float>(m) * 5.9604644775390625e-8f));
}

PYDL_HD uint16_t float_to_bf16_bits(float f) {
  const uint32_t x = f32_bits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);  // overflow carries into inf
}

PYDL_HD float bf16_bits_to_float(uint16_t b) { return f32_from_bits(static_cast<uint32_t>(b) << 16); }

PYDL_HD float to_float(Half h) { return half_bits_to_float(h.bits); }
PYDL_HD float to_float(BFloat16 b) { return bf16_bits_to_float(b.bits); }
PYDL_HD Half to_half(float f) { return Half{float_to_half_bits(f)}; }
PYDL_HD BFloat16 to_bfloat16(float f) { return BFloat16{float_to_bf16_bits(f)}; }

// The float32 value of any element type (bool, integers, floats, Half, BFloat16), and back:
// half_cast<To>(x) converts through float32 whenever either side is a half. To bool is
// x != 0; float to uint8 wraps through int64, like the other casts.
PYDL_HD float as_float(Half h) { return to_float(h); }
PYDL_HD float as_float(BFloat16 b) { return to_float(b); }
template <class T>
PYDL_HD float as_float(T x) { return static_cast<float>(x); }

template <class To>
PYDL_HD To from_float(float f) {
  if constexpr (std::is_same<To, Half>::value) return to_half(f);
  else if constexpr (std::is_same<To, BFloat16>::value) return to_bfloat16(f);
  else if constexpr (std::is_same<To, bool>::value) return f != 0.0f;
  else if constexpr (std::is_same<To, uint8_t>::value) return static_cast<uint8_t>(static_cast<int64_t>(f));
  else return static_cast<To>(f);
}

template <class To, class From>
PYDL_HD To half_cast(From x) { return from_float<To>(as_float(x)); }

}  // namespace pydl

// Runs the statements with `H` bound to Half or BFloat16 for a half `dtype`.
#define PYDL_DISPATCH_HALF(dtype, H, ...)                          \
  switch (dtype) {                                                \
    case ::pydl::DType::Float16: { using H = ::pydl::Half; __VA_ARGS__; break; }     \
    case ::pydl::DType::BFloat16: { using H = ::pydl::BFloat16; __VA_ARGS__; break; } \
    default: ::pydl::unsupported_dtype(dtype);                    \
  }
// Every dtype, halves included, bound to `T` (for the copies and fills that halves need).
#define PYDL_DISPATCH_STORAGE(dtype, T, ...)                         \
  if (::pydl::is_half(dtype)) { PYDL_DISPATCH_HALF(dtype, T, __VA_ARGS__); } \
  else { PYDL_DISPATCH_ALL(dtype, T, __VA_ARGS__); }
