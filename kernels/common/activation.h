// Activation functions as scalar functors, forward and backward side by side, shared by
// the CPU and CUDA kernels; and the float32 exp / tanh / normal CDF they are built on.
//
// Why our own float32 exp: libm's expf is a call per element, which no compiler turns
// into vector code, and every activation here but ReLU lives on exp. exp_fast is
// Cephes' expf (range reduction by ln 2, degree-6 polynomial, within 1.5 ulp) written
// without branches: GCC will not if-convert float selects under -ftrapping-math, so
// the special cases (overflow, underflow, -inf) are bit masks, not ternaries. float64
// (the gradcheck and reference type) takes libm, which is exact to the last bit or so.
//
// Backward functors compute dx from dy and one saved tensor: the output for sigmoid and
// tanh (cheaper), the input for everything else (see grad_from_output).
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/common/macros.h"

namespace pydl {
enum class Activation : int { Identity, Relu, LeakyRelu, Sigmoid, Tanh, Softplus, Gelu, GeluTanh };
constexpr int kNumActivations = 8;
constexpr bool grad_from_output(Activation a) { return a == Activation::Sigmoid || a == Activation::Tanh; }
}  // namespace pydl

PYDL_KERNELS_BEGIN

// ---------------------------------------------------------------- branch-free float helpers
PYDL_HD float bits_to_float(int32_t i) { float f; memcpy(&f, &i, sizeof f); return f; }
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
PYDL_HD float copysign_bits(float magnitude, float sign) {
  return bits_to_float((float_to_bits(magnitude) & 0x7FFFFFFF) | (float_to_bits(sign) & int32_t(0x80000000)));
}

// ---------------------------------------------------------------- exp
// e^x = 2^n * e^r with n = round(x / ln 2), |r| <= ln2 / 2. The rounding adds and
// subtracts 1.5 * 2^23, which leaves n in the low mantissa bits. 2^n is applied in two
// halves so that n from -150 to 128 (denormal results, FLT_MAX) needs no special case.
PYDL_HD float exp_fast(float x) {
  const float magic = 12582912.0f;
  const float t = x * 1.44269504088896341f + magic;
  const int32_t n = float_to_bits(t) - 0x4B400000;
  const float fn = t - magic;
  float r = x - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  const int32_t h = n >> 1;
  const float y = p * bits_to_float((h + 127) << 23) * bits_to_float((n - h + 127) << 23);
  // Outside [-104, 88.75] the reduction is meaningless: below, e^x is 0 (x = -inf too);
  // above, inf. NaN falls through both masks and stays NaN.
  const int32_t keep = lane_mask((x >= -104.0f) | (x != x));
  const int32_t over = lane_mask(x > 88.75f);
  return bits_to_float(((float_to_bits(y) & keep) & ~over) | (0x7F800000 & over));
}
PYDL_HD double exp_fast(double x) { return exp(x); }

// log(1 + u) for u >= 0 (softplus' tail): v = 1 + u = 2^e m with m in [sqrt(1/2), sqrt 2),
// log m by Cephes' logf polynomial, plus (u - (v - 1)) / v for the rounding of 1 + u,
// which also carries tiny u (v == 1) and NaN through. Within 2.2 ulp.
PYDL_HD float log1p_fast(float u) {
  const float v = 1.0f + u;
  const int32_t bits = float_to_bits(v);
  int32_t e = (bits >> 23) - 127;
  float m = bits_to_float((bits & 0x007FFFFF) | 0x3F800000);  // [1, 2)
  const int32_t big = lane_mask(m > 1.41421356237f);
  m = select_mask(big, 0.5f * m, m);
  e += big & 1;
  const float x = m - 1.0f, fe = static_cast<float>(e), z = x * x;
  float p = 7.0376836292e-2f;
  p = p * x - 1.1514610310e-1f;
  p = p * x + 1.1676998740e-1f;
  p = p * x - 1.2420140846e-1f;
  p = p * x + 1.4249322787e-1f;
  p = p * x - 1.6668057665e-1f;
  p = p * x + 2.0000714765e-1f;
  p = p * x - 2.4999993993e-1f;
  p = p * x + 3.3333331174e-1f;
  const float y = p * x * z - 2.12194440e-4f * fe - 0.5f * z;
  return ((x + y) + 0.693359375f * fe) + (u - (v - 1.0f)) / v;
}
PYDL_HD double log1p_fast(double u) { return log1p(u); }

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
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  const float small = p * s * a + a;
  const float large = 1.0f - 2.0f / (exp_fast(2.0f * a) + 1.0f);
  return copysign_bits(select_mask(lane_mask(a < 0.625f), small, large), x);
}
PYDL_HD double tanh_fast(double x) { return tanh(x); }

// Phi(x) = erfc(-x / sqrt 2) / 2, the standard normal CDF. erfc by the Chebyshev fit of
// Numerical Recipes (erfcc: relative error < 1.2e-7 everywhere), so the left tail keeps
// its relative precision where 1 + erf(x) would cancel: GELU of x = -8 is right to the
// last digits, not 0 or noise.
PYDL_HD float normal_cdf(float x) {
  const float z = abs_bits(x) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  const float tail = 0.5f * t * exp_fast(p * t - z * z - 1.26551223f);  // Phi(-|x|)
  return select_mask(lane_mask(x < 0.0f), tail, 1.0f - tail);
}
PYDL_HD double normal_cdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }

// ---------------------------------------------------------------- the functors
// forward(x) -> y; backward(dy, v) -> dx with v = y for sigmoid/tanh, x otherwise.
// Each is built from two parameters (p0, p1): LeakyRelu's slope, Softplus' beta and
// threshold; the others ignore them.
template <class T>
struct IdentityAct {
  PYDL_HD IdentityAct(double, double) {}
  PYDL_HD T forward(T x) const { return x; }
  PYDL_HD T backward(T dy, T) const { return dy; }
};

// NaN stays NaN forward; backward passes dy except where x <= 0, as PyTorch.
template <class T>
struct ReluAct {
  PYDL_HD ReluAct(double, double) {}
  PYDL_HD T forward(T x) const { return x < T(0) ? T(0) : x; }
  PYDL_HD T backward(T dy, T x) const { return x <= T(0) ? T(0) : dy; }
};

template <class T>
struct LeakyReluAct {
  T slope;
  PYDL_HD LeakyReluAct(double p0, double) : slope(static_cast<T>(p0)) {}
  PYDL_HD T forward(T x) const { return pick(x > T(0), x, x * slope); }
  PYDL_HD T backward(T dy, T x) const { return pick(x > T(0), dy, dy * slope); }
};

template <class T>
struct SigmoidAct {
  PYDL_HD SigmoidAct(double, double) {}
  PYDL_HD T forward(T x) const { return sigmoid_fast(x); }
  PYDL_HD T backward(T dy, T y) const { return dy * y * (T(1) - y); }
};

template <class T>
struct TanhAct {
  PYDL_HD TanhAct(double, double) {}
  PYDL_HD T forward(T x) const { return tanh_fast(x); }
  PYDL_HD T backward(T dy, T y) const { return dy * (T(1) - y * y); }
};

// log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule).
// Written max(bx, 0) + log1p(e^-|bx|) so that a large threshold cannot overflow.
template <class T>
struct SoftplusAct {
  T beta, threshold;
  PYDL_HD SoftplusAct(double p0, double p1) : beta(static_cast<T>(p0)), threshold(static_cast<T>(p1)) {}
  PYDL_HD T forward(T x) const {
    const T bx = x * beta;
    const T soft = (pick(bx > T(0), bx, T(0)) + log1p_fast(exp_fast(-fabs(bx)))) / beta;
    return pick(bx > threshold, x, soft);
  }
  PYDL_HD T backward(T dy, T x) const {
    const T bx = x * beta;
    return pick(bx > threshold, dy, dy * sigmoid_fast(bx));
  }
};

// Exact GELU: x Phi(x); d/dx = Phi(x) + x phi(x).
template <class T>
struct GeluAct {
  PYDL_HD GeluAct(double, double) {}
  PYDL_HD T forward(T x) const { return x * normal_cdf(x); }
  PYDL_HD T backward(T dy, T x) const {
    const T pdf = T(0.39894228040143267794) * exp_fast(T(-0.5) * x * x);
    return dy * (normal_cdf(x) + x * pdf);
  }
};

// GELU, tanh approximation: x (1 + tanh u) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3),
// computed as x sigmoid(2u) (the same number, without 1 + tanh cancelling for x << 0).
template <class T>
struct GeluTanhAct {
  PYDL_HD GeluTanhAct(double, double) {}
  PYDL_HD T forward(T x) const { return x * sigmoid_fast(two_u(x)); }
  PYDL_HD T backward(T dy, T x) const {
    const T s = sigmoid_fast(two_u(x));
    const T du = T(2 * 0.79788456080286535588) * (T(1) + T(3 * 0.044715) * x * x);
    return dy * (s + x * (s * (T(1) - s)) * du);
  }
  static PYDL_HD T two_u(T x) { return T(2 * 0.79788456080286535588) * (x + T(0.044715) * x * x * x); }
};

PYDL_KERNELS_END

// Runs the statements with `f` bound to the functor for a runtime Activation over
// element type T, built from the parameters p0, p1.
#define PYDL_ACT_CASE(code, Fn, T, p0, p1, ...) \
  case ::pydl::Activation::code: { const ::pydl::kernels::Fn<T> f(p0, p1); __VA_ARGS__; break; }
#define PYDL_DISPATCH_ACTIVATION(act, T, p0, p1, ...)                      \
  switch (act) {                                                          \
    PYDL_ACT_CASE(Identity, IdentityAct, T, p0, p1, __VA_ARGS__)          \
    PYDL_ACT_CASE(Relu, ReluAct, T, p0, p1, __VA_ARGS__)                  \
    PYDL_ACT_CASE(LeakyRelu, LeakyReluAct, T, p0, p1, __VA_ARGS__)        \
    PYDL_ACT_CASE(Sigmoid, SigmoidAct, T, p0, p1, __VA_ARGS__)            \
    PYDL_ACT_CASE(Tanh, TanhAct, T, p0, p1, __VA_ARGS__)                  \
    PYDL_ACT_CASE(Softplus, SoftplusAct, T, p0, p1, __VA_ARGS__)          \
    PYDL_ACT_CASE(Gelu, GeluAct, T, p0, p1, __VA_ARGS__)                  \
    PYDL_ACT_CASE(GeluTanh, GeluTanhAct, T, p0, p1, __VA_ARGS__)          \
  }
