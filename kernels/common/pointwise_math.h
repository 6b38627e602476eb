// The scalar math of the pointwise family (kernels/common/unary.h), shared by the CPU and
// CUDA kernels: float32 exp, log, log1p, expm1, tanh, sigmoid, sin, cos, tan and the normal
// CDF, written branch-free so that the CPU's loops vectorize, and the rule that makes every
// backend give the same bits.
//
// The bit-identity promise. A float32 pointwise op (every entry of PYDL_UNARY_OPS, forward
// and backward) gives the same bits on the CPU, in each of its generic, AVX2 and AVX-512
// copies, as on CUDA. Integer ops are exact everywhere. It holds because every rounding is
// written in the source:
//   1. No contraction. The pointwise engines are compiled without FMA contraction
//      (kernels/cpu/elementwise_isa.cpp with -ffp-contract=off, kernels/cuda/elementwise.cu
//      with nvcc --fmad=false, and -ffp-contract=off again in the CUDA emulation; see
//      CMakeLists.txt and cmake/cuda_emulation.cmake), so a * b + c is two roundings on every
//      backend, never one on some and two on others.
//   2. Fused where we say so. Where one rounding is wanted (polynomials, range reductions),
//      the source calls fmadd(a, b, c): vfmadd on AVX2/AVX-512 (vectorized), fmaf on CUDA;
//      in the generic CPU copy, which has no FMA instruction, it is a libm call: the same
//      bits, more slowly.
//   3. Nothing inexact from a library. + - * /, sqrt and the compares are correctly rounded
//      on both (CUDA's defaults: -prec-div, -prec-sqrt; no fast-math anywhere); float32
//      transcendentals are the polynomials below, never libm's or CUDA's.
//   4. Denormals flush to zero on both: the CPU kernels' default mode (kernels/cpu/float_mode.h)
//      and nvcc -ftz=true. After pydl.set_flush_denormal(False) the CPU keeps them and CUDA does
//      not, so results that are denormal, or come from denormal inputs, may differ.
// float64 follows rules 1 and 2 but takes libm's exp, log, log1p, expm1, tanh, sin, cos, tan
// and erfc: on a GPU those are CUDA's double versions, which may differ from glibc's in the
// last bit, so float64 ops built on them agree to an ulp or so there, not bit for bit (the
// emulation calls the host's libm and cannot tell). tests/test_pointwise_parity.py holds every
// op to this.
//
// The math here and in the functors leaves no a * b + c for a compiler to contract (every
// such step is an fmadd), so an inline function that one object compiles with contraction
// and another without (the GEMM's GELU epilogue and the engines share GeluOp) computes the
// same values in both. The callers' own arithmetic around it (softmax, cross-entropy, the
// GEMM) is compiled with contraction on and promises closeness only.
//
// Why our own float32 exp: libm's expf is a call per element, which no compiler turns into
// vector code, and most ops here live on exp. GCC will not if-convert float selects under
// -ftrapping-math, so special cases (overflow, underflow, -inf) are bit masks, not ternaries.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

// ---------------------------------------------------------------- helpers
// a * b + c rounded once (rule 2 above).
PYDL_HD float fmadd(float a, float b, float c) { return fmaf(a, b, c); }
PYDL_HD double fmadd(double a, double b, double c) { return fma(a, b, c); }

PYDL_HD float bits_to_float(int32_t i) { float f; memcpy(&f, &i, sizeof f); return f; }
// 2^(e - 127) for a biased exponent e in [1, 254]; outside, defined garbage that callers mask
// (the shift is unsigned: a signed one would be undefined behaviour).
PYDL_HD float pow2_biased(int32_t e) { return bits_to_float(static_cast<int32_t>(static_cast<uint32_t>(e) << 23)); }
PYDL_HD int32_t float_to_bits(float f) { int32_t i; memcpy(&i, &f, sizeof i); return i; }
// All ones when c holds, else zero: a lane mask the vectorizer keeps as a compare.
PYDL_HD int32_t lane_mask(bool c) { return -static_cast<int32_t>(c); }
PYDL_HD float select_mask(int32_t mask, float a, float b) {
  return bits_to_float((float_to_bits(a) & mask) | (float_to_bits(b) & ~mask));
}
// c ? a : b with both sides computed: a lane select for float, a ternary for double.
PYDL_HD float pick(bool c, float a, float b) { return select_mask(lane_mask(c), a, b); }
PYDL_HD double pick(bool c, double a, double b) { return c ? a : b; }
PYDL_HD float abs_bits(float x) { return bits_to_float(float_to_bits(x) & 0x7FFFFFFF); }
PYDL_HD double abs_bits(double x) { return fabs(x); }
PYDL_HD float copysign_bits(float magnitude, float sign) {
  return bits_to_float((float_to_bits(magnitude) & 0x7FFFFFFF) | (float_to_bits(sign) & int32_t(0x80000000)));
}
PYDL_HD float fsqrt(float x) { return sqrtf(x); }
PYDL_HD double fsqrt(double x) { return sqrt(x); }

// ---------------------------------------------------------------- exp
// e^x = 2^n * e^r with n = round(x / ln 2), |r| <= ln2 / 2 (Cephes' expf: ln 2 in two parts,
// a degree-6 polynomial; within 1.5 ulp). The rounding adds and subtracts 1.5 * 2^23, which
// leaves n in the low mantissa bits.
struct ExpReduced {
  int32_t n;  // the power of two
  float q;    // e^r - 1
};
PYDL_HD ExpReduced exp_reduce(float x) {
  const float magic = 12582912.0f;
  const float t = fmadd(x, 1.44269504088896341f, magic);
  const float fn = t - magic;
  float r = fmadd(fn, -0.693359375f, x);
  r = fmadd(fn, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = fmadd(p, r, 1.3981999507e-3f);
  p = fmadd(p, r, 8.3334519073e-3f);
  p = fmadd(p, r, 4.1665795894e-2f);
  p = fmadd(p, r, 1.6666665459e-1f);
  p = fmadd(p, r, 5.0000001201e-1f);
  // n from t's bits, in unsigned arithmetic: out of range (masked later) it wraps, defined.
  return {static_cast<int32_t>(static_cast<uint32_t>(float_to_bits(t)) - 0x4B400000u), fmadd(p, r * r, r)};
}

// 2^n is applied in two halves so that n from -150 to 128 (denormal results, FLT_MAX) needs
// no special case. Outside [-104, 88.75] the reduction is meaningless: below, e^x is 0
// (x = -inf too); above, inf. NaN falls through both masks and stays NaN.
PYDL_HD float exp_fast(float x) {
  const ExpReduced e = exp_reduce(x);
  const int32_t h = e.n >> 1;
  const float y = (e.q + 1.0f) * pow2_biased(h + 127) * pow2_biased(e.n - h + 127);
  const int32_t keep = lane_mask((x >= -104.0f) | (x != x));
  const int32_t over = lane_mask(x > 88.75f);
  return bits_to_float(((float_to_bits(y) & keep) & ~over) | (0x7F800000 & over));
}
PYDL_HD double exp_fast(double x) { return exp(x); }

// ---------------------------------------------------------------- log
// log v for a positive normal float v times 2^e_adjust: v = 2^e m with m in [sqrt(1/2), sqrt 2),
// log m by Cephes' logf polynomial, e ln 2 added in two parts.
PYDL_HD float log_normal(float v, int32_t e_adjust) {
  const int32_t bits = float_to_bits(v);
  int32_t e = (bits >> 23) - 127 + e_adjust;
  float m = bits_to_float((bits & 0x007FFFFF) | 0x3F800000);  // [1, 2)
  const int32_t big = lane_mask(m > 1.41421356237f);
  m = select_mask(big, 0.5f * m, m);
  e += big & 1;
  const float f = m - 1.0f, fe = static_cast<float>(e), z = f * f;
  float p = 7.0376836292e-2f;
  p = fmadd(p, f, -1.1514610310e-1f);
  p = fmadd(p, f, 1.1676998740e-1f);
  p = fmadd(p, f, -1.2420140846e-1f);
  p = fmadd(p, f, 1.4249322787e-1f);
  p = fmadd(p, f, -1.6668057665e-1f);
  p = fmadd(p, f, 2.0000714765e-1f);
  p = fmadd(p, f, -2.4999993993e-1f);
  p = fmadd(p, f, 3.3333331174e-1f);
  float y = fmadd(fe, -2.12194440e-4f, (p * f) * z);
  y = fmadd(-0.5f, z, y);
  return fmadd(fe, 0.693359375f, f + y);
}

// Within 1 ulp or so. Subnormal x is scaled into the normal range first; 0 gives -inf,
// negative x NaN, inf and NaN themselves.
PYDL_HD float log_fast(float x) {
  const bool tiny = x < 1.17549435e-38f;
  const float y = log_normal(pick(tiny, x * 8388608.0f, x), tiny ? -23 : 0);
  const float special = pick(x == 0.0f, -INFINITY, pick(x < 0.0f, NAN, x));  // x <= 0, inf, NaN
  return pick((x > 0.0f) & (x < INFINITY), y, special);
}
PYDL_HD double log_fast(double x) { return log(x); }

// log(1 + u): v = 1 + u, log v, plus (u - (v - 1)) / v for the rounding of 1 + u. v - 1 is
// exact, and for u in (-1, 0) v is exact and normal (at least 2^-25), so this holds on the
// whole domain. Within 2.2 ulp. Below |u| = 2^-24 log(1 + u) rounds to u itself, which keeps
// -0 and the subnormals.
PYDL_HD float log1p_fast(float u) {
  const float v = 1.0f + u;
  const float y = pick(abs_bits(u) < 5.96046448e-8f, u, log_normal(v, 0) + (u - (v - 1.0f)) / v);
  const float special = pick(u == -1.0f, -INFINITY, pick(u < -1.0f, NAN, u));  // u <= -1, inf, NaN
  return pick((u > -1.0f) & (u < INFINITY), y, special);
}
PYDL_HD double log1p_fast(double u) { return log1p(u); }

// ---------------------------------------------------------------- sigmoid, tanh
// 1 / (1 + e^-x): e^-x overflows to inf for very negative x and the quotient is 0.
PYDL_HD float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }
PYDL_HD double sigmoid_fast(double x) {
  const double e = exp(-fabs(x));  // never overflows
  return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

// tanh: Cephes' tanhf. An odd polynomial below |x| = 0.625 (where 1 - 2/(e^2x + 1)
// would cancel), the exp form above; both computed, one kept.
PYDL_HD float tanh_fast(float x) {
  const float a = abs_bits(x);
  const float s = a * a;
  float p = -5.70498872745e-3f;
  p = fmadd(p, s, 2.06390887954e-2f);
  p = fmadd(p, s, -5.37397155531e-2f);
  p = fmadd(p, s, 1.33314422036e-1f);
  p = fmadd(p, s, -3.33332819422e-1f);
  const float small = fmadd(p * s, a, a);
  const float large = 1.0f - 2.0f / (exp_fast(2.0f * a) + 1.0f);
  return copysign_bits(select_mask(lane_mask(a < 0.625f), small, large), x);
}
PYDL_HD double tanh_fast(double x) { return tanh(x); }

// ---------------------------------------------------------------- sin, cos, tan
// float32 through double (musl's sinf / cosf / tanf kernels): x - j pi/2 with j = rint(x 2/pi)
// in double, pi/2 in two parts (the first of 33 bits, so j times it is exact for |j| < 2^20),
// then polynomials on |r| <= pi/4 whose double results round once to float. Within an ulp
// for |x| up to about 2^28; beyond, the reduction loses bits (and x itself is spaced 2^5
// apart there). The quadrant is j mod 4 as j - 4 rint(j / 4), in {-2, ..., 2}, exact for
// every finite j (rint, not floor: floor is a libm call that stops the loops vectorizing).
// Below |x| = 2^-12, sin x and tan x round to x itself, which keeps -0.
struct TrigReduced {
  double r, quadrant;
  PYDL_HD bool odd() const { return (quadrant == 1.0) | (quadrant == -1.0); }
  PYDL_HD bool is(double q) const { return (quadrant == q) | (quadrant == q - 4.0); }
};
PYDL_HD TrigReduced trig_reduce(float x) {
  const double xd = x;
  const double j = rint(xd * 6.36619772367581382433e-01);
  const double r = fmadd(-j, 1.58932547735281966916e-08, fmadd(-j, 1.57079631090164184570e+00, xd));
  return {r, fmadd(-4.0, rint(j * 0.25), j)};
}
PYDL_HD double sin_kernel(double r) {
  const double z = r * r, s = z * r;
  return fmadd(s * (z * z), fmadd(z, 2.71831149398982191e-06, -1.98393348360966317e-04),
               fmadd(s, fmadd(z, 8.33332938588946318e-03, -1.66666666416265236e-01), r));
}
PYDL_HD double cos_kernel(double r) {
  const double z = r * r, w = z * z;
  return fmadd(w * z, fmadd(z, 2.43904487962774091e-05, -1.38867637746099295e-03),
               fmadd(w, 4.16666233237390632e-02, fmadd(z, -4.99999997251031003e-01, 1.0)));
}
PYDL_HD float keep_tiny(float x, double v) {
  return select_mask(lane_mask(abs_bits(x) < 2.44140625e-4f), x, static_cast<float>(v));
}
// sin x = (sin r, cos r, -sin r, -cos r)[quadrant]; cos x = (cos r, -sin r, -cos r, sin r)[quadrant].
PYDL_HD float sin_fast(float x) {
  const TrigReduced t = trig_reduce(x);
  const double v = pick(t.odd(), cos_kernel(t.r), sin_kernel(t.r));
  return keep_tiny(x, pick(t.is(2.0) | t.is(3.0), -v, v));
}
PYDL_HD float cos_fast(float x) {
  const TrigReduced t = trig_reduce(x);
  const double v = pick(t.odd(), sin_kernel(t.r), cos_kernel(t.r));
  return static_cast<float>(pick(t.is(1.0) | t.is(2.0), -v, v));
}
PYDL_HD float tan_fast(float x) {
  const TrigReduced t = trig_reduce(x);
  const double s = sin_kernel(t.r), c = cos_kernel(t.r);
  return keep_tiny(x, pick(t.odd(), -c / s, s / c));
}
PYDL_HD double sin_fast(double x) { return sin(x); }
PYDL_HD double cos_fast(double x) { return cos(x); }
PYDL_HD double tan_fast(double x) { return tan(x); }

// ---------------------------------------------------------------- rounding
// floor, ceil and trunc of a float32 from rint (one instruction that vectorizes, where floorf
// is a libm call under -ftrapping-math): rint(x) stepped by one where it overshot. Each
// result takes x's sign, so -0.5 gives -0 as libm's does; NaN and the integral values from
// 2^23 up pass through. float64 takes libm's, exact as well.
PYDL_HD float floor_fast(float x) {
  const float r = rintf(x);
  return copysign_bits(abs_bits(pick(r > x, r - 1.0f, r)), x);
}
PYDL_HD float ceil_fast(float x) {
  const float r = rintf(x);
  return copysign_bits(abs_bits(pick(r < x, r + 1.0f, r)), x);
}
PYDL_HD float trunc_fast(float x) { return pick(x < 0.0f, ceil_fast(x), floor_fast(x)); }
PYDL_HD double floor_fast(double x) { return floor(x); }
PYDL_HD double ceil_fast(double x) { return ceil(x); }
PYDL_HD double trunc_fast(double x) { return trunc(x); }

// ---------------------------------------------------------------- erf, erfc
// erfc(z) = t e for z >= 0, by the Chebyshev fit of Numerical Recipes (erfcc: relative error
// < 1.2e-7 everywhere), kept as its two factors for normal_cdf's roundings.
struct ErfcParts {
  float t, e;
};
PYDL_HD ErfcParts erfc_parts(float z) {
  const float t = 1.0f / fmadd(0.5f, z, 1.0f);
  float p = 0.17087277f;
  p = fmadd(p, t, -0.82215223f);
  p = fmadd(p, t, 1.48851587f);
  p = fmadd(p, t, -1.13520398f);
  p = fmadd(p, t, 0.27886807f);
  p = fmadd(p, t, -0.18628806f);
  p = fmadd(p, t, 0.09678418f);
  p = fmadd(p, t, 0.37409196f);
  p = fmadd(p, t, 1.00002368f);
  return {t, exp_fast(fmadd(p, t, fmadd(-z, z, -1.26551223f)))};
}
// erf: Cephes' erff, x P(x^2) below |x| = 1 (relative error ~1e-7), 1 - erfc(|x|) above
// (erfc < 0.16 there: no cancellation).
PYDL_HD float erfc_positive(float z) {
  const ErfcParts parts = erfc_parts(z);
  return parts.t * parts.e;
}
PYDL_HD float erf_fast(float x) {
  const float a = abs_bits(x), z = x * x;
  float p = 7.853861353153693e-5f;
  p = fmadd(p, z, -8.010193625184903e-4f);
  p = fmadd(p, z, 5.188327685732524e-3f);
  p = fmadd(p, z, -2.685381193529856e-2f);
  p = fmadd(p, z, 1.128358514861418e-1f);
  p = fmadd(p, z, -3.761262582423300e-1f);
  p = fmadd(p, z, 1.128379165726710f);
  const float large = copysign_bits(1.0f - erfc_positive(a), x);
  return select_mask(lane_mask(a < 1.0f), x * p, large);
}
PYDL_HD double erf_fast(double x) { return erf(x); }

// ---------------------------------------------------------------- the normal CDF
// Phi(x) = erfc(-x / sqrt 2) / 2. erfc by the Chebyshev fit of Numerical Recipes (erfcc:
// relative error < 1.2e-7 everywhere), so the left tail keeps its relative precision where
// 1 + erf(x) would cancel: GELU of x = -8 is right to the last digits, not 0 or noise.
PYDL_HD float normal_cdf(float x) {
  const ErfcParts parts = erfc_parts(abs_bits(x) * 0.70710678118654752f);
  const float half_t = 0.5f * parts.t;
  return select_mask(lane_mask(x < 0.0f), half_t * parts.e, fmadd(-half_t, parts.e, 1.0f));  // Phi(-|x|), 1 - Phi(-|x|)
}
PYDL_HD double normal_cdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }

PYDL_KERNELS_END
