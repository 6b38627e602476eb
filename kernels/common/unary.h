// The pointwise family: every one-input elementwise op (neg, exp, tanh, relu, gelu, ...),
// each a scalar functor with its forward and backward side by side, shared by the CPU and
// CUDA kernels, and the family's registry (PYDL_UNARY_OPS below). Tensor.tanh, pydl.tanh,
// nn.functional.tanh and nn.Tanh all run the one entry.
//
// A functor Op<T> is built from two parameters (p0, p1) (LeakyRelu's slope, Softplus' beta
// and threshold; the others ignore them) and has
//   forward(x) -> y
//   backward(dy, v) -> dx, with v the forward's output where the registry says Output, its
//                    input where it says Input.
// The float math lives in kernels/common/pointwise_math.h, with the rule that makes every
// backend give the same bits.
#pragma once
#include <math.h>
#include <type_traits>

#include "kernels/common/dtype.h"
#include "kernels/common/macros.h"
#include "kernels/common/pointwise_math.h"
#include "kernels/common/registry.h"

PYDL_KERNELS_BEGIN

// ---------------------------------------------------------------- any numeric type
template <class T>
struct IdentityOp {
  PYDL_HD IdentityOp(double, double) {}
  PYDL_HD T forward(T x) const { return x; }
  PYDL_HD T backward(T dy, T) const { return dy; }
};

// -x; a signed integer's computed unsigned, so that the most negative value wraps to itself (as
// PyTorch's) rather than overflow (undefined behaviour).
template <class T>
PYDL_HD T negate(T x) {
  if constexpr (std::is_integral<T>::value && std::is_signed<T>::value) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(U(0) - static_cast<U>(x));
  } else {
    return static_cast<T>(-x);
  }
}

template <class T>
struct NegOp {
  PYDL_HD NegOp(double, double) {}
  PYDL_HD T forward(T x) const { return negate(x); }
  PYDL_HD T backward(T dy, T) const { return -dy; }
};

template <class T>
struct SignOp {
  PYDL_HD SignOp(double, double) {}
  PYDL_HD T forward(T x) const { return static_cast<T>((T(0) < x) - (x < T(0))); }
  PYDL_HD T backward(T, T) const { return T(0); }
};

template <class T>
struct AbsOp {
  PYDL_HD AbsOp(double, double) {}
  PYDL_HD T forward(T x) const { return x < T(0) ? negate(x) : x; }
  PYDL_HD T backward(T dy, T x) const { return dy * SignOp<T>(0, 0).forward(x); }
};

// Rounding: integers pass through; the gradient is 0, as PyTorch's. Round is half to even.
template <class T, class Rounding>
struct RoundingOp {
  PYDL_HD RoundingOp(double, double) {}
  PYDL_HD T forward(T x) const { if constexpr (std::is_integral<T>::value) return x; else return Rounding::of(x); }
  PYDL_HD T backward(T, T) const { return T(0); }
};
struct FloorOf { template <class T> static PYDL_HD T of(T x) { return floor_fast(x); } };
struct CeilOf { template <class T> static PYDL_HD T of(T x) { return ceil_fast(x); } };
struct TruncOf { template <class T> static PYDL_HD T of(T x) { return trunc_fast(x); } };
struct RoundOf { template <class T> static PYDL_HD T of(T x) { return rint(x); } };
template <class T> struct FloorOp : RoundingOp<T, FloorOf> { using RoundingOp<T, FloorOf>::RoundingOp; };
template <class T> struct CeilOp : RoundingOp<T, CeilOf> { using RoundingOp<T, CeilOf>::RoundingOp; };
template <class T> struct TruncOp : RoundingOp<T, TruncOf> { using RoundingOp<T, TruncOf>::RoundingOp; };
template <class T> struct RoundOp : RoundingOp<T, RoundOf> { using RoundingOp<T, RoundOf>::RoundingOp; };

// NaN stays NaN forward; backward passes dy except where x <= 0, as PyTorch.
template <class T>
struct ReluOp {
  PYDL_HD ReluOp(double, double) {}
  PYDL_HD T forward(T x) const { return x < T(0) ? T(0) : x; }
  PYDL_HD T backward(T dy, T x) const { return x <= T(0) ? T(0) : dy; }
};

// ---------------------------------------------------------------- floating types
template <class T>
struct ExpOp {
  PYDL_HD ExpOp(double, double) {}
  PYDL_HD T forward(T x) const { return exp_fast(x); }
  PYDL_HD T backward(T dy, T y) const { return dy * y; }
};

// e^x - 1, exact to an ulp or two for small x, where e^x - 1 would cancel. From exp's range
// reduction (pointwise_math.h): e^x - 1 = 2^n q + (2^n - 1) with q = e^r - 1 straight from the
// polynomial, computed as 2 (2^(n-1) q + (2^(n-1) - 1/2)) so that n = 128 cannot overflow on
// the way. Below |x| = 2^-24 the result is x itself (-0 and subnormals kept); from -30 down
// it is -1. The backward is dy e^x from the input: (y + 1) from the output (PyTorch's) would
// cancel for x << 0, where y is -1 to within an ulp.
template <class T>
struct Expm1Op {
  PYDL_HD Expm1Op(double, double) {}
  PYDL_HD T forward(T x) const { return expm1_of(x); }
  PYDL_HD T backward(T dy, T x) const { return dy * exp_fast(x); }

  static PYDL_HD float expm1_of(float x) {
    const ExpReduced e = exp_reduce(pick(x < -30.0f, -30.0f, x));  // NaN compares false: kept
    const float half = pow2_biased(e.n + 126);                      // 2^(n-1), n in [-43, 128]
    const float y = 2.0f * fmadd(half, e.q, half - 0.5f);
    return pick(abs_bits(x) < 5.96046448e-8f, x, pick(x > 88.75f, INFINITY, y));
  }
  static PYDL_HD double expm1_of(double x) { return expm1(x); }
};

template <class T>
struct LogOp {
  PYDL_HD LogOp(double, double) {}
  PYDL_HD T forward(T x) const { return log_fast(x); }
  PYDL_HD T backward(T dy, T x) const { return dy / x; }
};

// log(1 + x), exact to an ulp or two for tiny x, where log(1 + x) would round 1 + x first.
template <class T>
struct Log1pOp {
  PYDL_HD Log1pOp(double, double) {}
  PYDL_HD T forward(T x) const { return log1p_fast(x); }
  PYDL_HD T backward(T dy, T x) const { return dy / (T(1) + x); }
};

template <class T>
struct SqrtOp {
  PYDL_HD SqrtOp(double, double) {}
  PYDL_HD T forward(T x) const { return fsqrt(x); }
  PYDL_HD T backward(T dy, T y) const { return dy / (T(2) * y); }
};

template <class T>
struct RsqrtOp {
  PYDL_HD RsqrtOp(double, double) {}
  PYDL_HD T forward(T x) const { return T(1) / fsqrt(x); }
  PYDL_HD T backward(T dy, T y) const { return T(-0.5) * dy * (y * y * y); }
};

template <class T>
struct SigmoidOp {
  PYDL_HD SigmoidOp(double, double) {}
  PYDL_HD T forward(T x) const { return sigmoid_fast(x); }
  PYDL_HD T backward(T dy, T y) const { return dy * y * (T(1) - y); }
};

template <class T>
struct TanhOp {
  PYDL_HD TanhOp(double, double) {}
  PYDL_HD T forward(T x) const { return tanh_fast(x); }
  PYDL_HD T backward(T dy, T y) const { return dy * fmadd(-y, y, T(1)); }
};

template <class T>
struct ErfOp {
  PYDL_HD ErfOp(double, double) {}
  PYDL_HD T forward(T x) const { return erf_fast(x); }
  PYDL_HD T backward(T dy, T x) const { return dy * (T(1.12837916709551257390) * exp_fast(-x * x)); }
};

// log2 and log10: in float32 the natural log times a constant (two roundings: within 2 ulp),
// in float64 libm's (exact at powers of the base).
template <class T>
struct Log2Op {
  PYDL_HD Log2Op(double, double) {}
  PYDL_HD T forward(T x) const {
    if constexpr (std::is_same<T, double>::value) return log2(x); else return log_fast(x) * T(1.44269504088896340736);
  }
  PYDL_HD T backward(T dy, T x) const { return dy / (x * T(0.69314718055994530942)); }
};
template <class T>
struct Log10Op {
  PYDL_HD Log10Op(double, double) {}
  PYDL_HD T forward(T x) const {
    if constexpr (std::is_same<T, double>::value) return log10(x); else return log_fast(x) * T(0.43429448190325182765);
  }
  PYDL_HD T backward(T dy, T x) const { return dy / (x * T(2.30258509299404568402)); }
};

template <class T>
struct SinOp {
  PYDL_HD SinOp(double, double) {}
  PYDL_HD T forward(T x) const { return sin_fast(x); }
  PYDL_HD T backward(T dy, T x) const { return dy * cos_fast(x); }
};

template <class T>
struct CosOp {
  PYDL_HD CosOp(double, double) {}
  PYDL_HD T forward(T x) const { return cos_fast(x); }
  PYDL_HD T backward(T dy, T x) const { return -dy * sin_fast(x); }
};

// d tan x / dx = 1 + tan^2 x, from the output.
template <class T>
struct TanOp {
  PYDL_HD TanOp(double, double) {}
  PYDL_HD T forward(T x) const { return tan_fast(x); }
  PYDL_HD T backward(T dy, T y) const { return dy * fmadd(y, y, T(1)); }
};

template <class T>
struct LeakyReluOp {
  T slope;
  PYDL_HD LeakyReluOp(double p0, double) : slope(static_cast<T>(p0)) {}
  PYDL_HD T forward(T x) const { return pick(x > T(0), x, x * slope); }
  PYDL_HD T backward(T dy, T x) const { return pick(x > T(0), dy, dy * slope); }
};

// log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule).
// Written max(bx, 0) + log1p(e^-|bx|) so that a large threshold cannot overflow.
template <class T>
struct SoftplusOp {
  T beta, threshold;
  PYDL_HD SoftplusOp(double p0, double p1) : beta(static_cast<T>(p0)), threshold(static_cast<T>(p1)) {}
  PYDL_HD T forward(T x) const {
    const T bx = x * beta;
    const T soft = (pick(bx > T(0), bx, T(0)) + log1p_fast(exp_fast(-abs_bits(bx)))) / beta;
    return pick(bx > threshold, x, soft);
  }
  PYDL_HD T backward(T dy, T x) const {
    const T bx = x * beta;
    return pick(bx > threshold, dy, dy * sigmoid_fast(bx));
  }
};

// ELU and SELU: scale * (x if x > 0 else alpha (e^x - 1)); p0 = alpha, p1 = scale (1 for ELU).
template <class T>
struct EluOp {
  T alpha, scale;
  PYDL_HD EluOp(double p0, double p1) : alpha(static_cast<T>(p0)), scale(static_cast<T>(p1)) {}
  PYDL_HD T forward(T x) const { return scale * pick(x > T(0), x, alpha * Expm1Op<T>::expm1_of(x)); }
  PYDL_HD T backward(T dy, T x) const { return pick(x > T(0), dy * scale, dy * (scale * alpha * exp_fast(x))); }
};

// CELU: x if x > 0 else alpha (e^(x / alpha) - 1); p0 = alpha.
template <class T>
struct CeluOp {
  T alpha;
  PYDL_HD CeluOp(double p0, double) : alpha(static_cast<T>(p0)) {}
  PYDL_HD T forward(T x) const { return pick(x > T(0), x, alpha * Expm1Op<T>::expm1_of(x / alpha)); }
  PYDL_HD T backward(T dy, T x) const { return pick(x > T(0), dy, dy * exp_fast(x / alpha)); }
};

// Hardtanh: x clamped to [p0, p1] (ReLU6: [0, 6]); the gradient passes strictly inside, as PyTorch.
template <class T>
struct HardtanhOp {
  T lo, hi;
  PYDL_HD HardtanhOp(double p0, double p1) : lo(static_cast<T>(p0)), hi(static_cast<T>(p1)) {}
  PYDL_HD T forward(T x) const { return pick(x < lo, lo, pick(x > hi, hi, x)); }
  PYDL_HD T backward(T dy, T x) const { return pick((x > lo) & (x < hi), dy, T(0)); }
};

// Hardsigmoid: min(max(x + 3, 0), 6) / 6 (PyTorch's rounding); the gradient 1/6 strictly
// inside (-3, 3).
template <class T>
struct HardsigmoidOp {
  PYDL_HD HardsigmoidOp(double, double) {}
  PYDL_HD T forward(T x) const { return relu6_of_shifted(x) / T(6); }
  PYDL_HD T backward(T dy, T x) const { return pick((x > T(-3)) & (x < T(3)), dy / T(6), T(0)); }
  static PYDL_HD T relu6_of_shifted(T x) {  // min(max(x + 3, 0), 6), NaN kept
    const T s = x + T(3);
    return pick(s < T(0), T(0), pick(s > T(6), T(6), s));
  }
};

// Hardswish: x min(max(x + 3, 0), 6) / 6; the gradient x / 3 + 1/2 strictly inside (-3, 3),
// 0 from -3 down and 1 from 3 up, as PyTorch.
template <class T>
struct HardswishOp {
  PYDL_HD HardswishOp(double, double) {}
  PYDL_HD T forward(T x) const { return x * HardsigmoidOp<T>::relu6_of_shifted(x) / T(6); }
  PYDL_HD T backward(T dy, T x) const {
    return pick(x <= T(-3), T(0), pick(x < T(3), dy * (x / T(3) + T(0.5)), dy));
  }
};

// Softsign: x / (1 + |x|).
template <class T>
struct SoftsignOp {
  PYDL_HD SoftsignOp(double, double) {}
  PYDL_HD T forward(T x) const { return x / (T(1) + abs_bits(x)); }
  PYDL_HD T backward(T dy, T x) const {
    const T d = T(1) + abs_bits(x);
    return dy / (d * d);
  }
};

// log sigmoid(x) = min(x, 0) - log(1 + e^-|x|): no overflow either way; d/dx = sigmoid(-x).
template <class T>
struct LogsigmoidOp {
  PYDL_HD LogsigmoidOp(double, double) {}
  PYDL_HD T forward(T x) const { return pick(x < T(0), x, T(0)) - log1p_fast(exp_fast(-abs_bits(x))); }
  PYDL_HD T backward(T dy, T x) const { return dy * sigmoid_fast(-x); }
};

// Mish: x tanh(softplus(x)); d/dx = t + x (1 - t^2) sigmoid(x) with t = tanh(softplus(x)).
template <class T>
struct MishOp {
  PYDL_HD MishOp(double, double) {}
  PYDL_HD T forward(T x) const { return x * tanh_fast(softplus(x)); }
  PYDL_HD T backward(T dy, T x) const {
    const T t = tanh_fast(softplus(x));
    return dy * fmadd(x * fmadd(-t, t, T(1)), sigmoid_fast(x), t);
  }
  static PYDL_HD T softplus(T x) { return pick(x > T(0), x, T(0)) + log1p_fast(exp_fast(-abs_bits(x))); }
};

// SiLU (swish): x sigmoid(x); d/dx = s (1 + x (1 - s)) with s = sigmoid(x).
template <class T>
struct SiluOp {
  PYDL_HD SiluOp(double, double) {}
  PYDL_HD T forward(T x) const { return x * sigmoid_fast(x); }
  PYDL_HD T backward(T dy, T x) const {
    const T s = sigmoid_fast(x);
    return dy * (s * fmadd(x, T(1) - s, T(1)));
  }
};

// Exact GELU: x Phi(x); d/dx = Phi(x) + x phi(x).
template <class T>
struct GeluOp {
  PYDL_HD GeluOp(double, double) {}
  PYDL_HD T forward(T x) const { return x * normal_cdf(x); }
  PYDL_HD T backward(T dy, T x) const {
    const T pdf = T(0.39894228040143267794) * exp_fast(T(-0.5) * x * x);
    return dy * fmadd(x, pdf, normal_cdf(x));
  }
};

// GELU, tanh approximation: x (1 + tanh u) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3),
// computed as x sigmoid(2u) (the same number, without 1 + tanh cancelling for x << 0).
template <class T>
struct GeluTanhOp {
  PYDL_HD GeluTanhOp(double, double) {}
  PYDL_HD T forward(T x) const { return x * sigmoid_fast(two_u(x)); }
  PYDL_HD T backward(T dy, T x) const {
    const T s = sigmoid_fast(two_u(x));
    const T du = T(2 * 0.79788456080286535588) * fmadd(T(3 * 0.044715) * x, x, T(1));
    return dy * fmadd(x * (s * (T(1) - s)), du, s);
  }
  static PYDL_HD T two_u(T x) { return T(2 * 0.79788456080286535588) * fmadd(T(0.044715) * x * x, x, x); }
};

PYDL_KERNELS_END

namespace pydl {

// ---------------------------------------------------------------- the registry
// X(Name, "name", Functor, domain, grad from, cost), one line per op:
//   domain     Numeric: integer inputs stay integers; Floating: integers are computed in
//              float32; FloatOnly: integer inputs are refused (TypeError).
//   grad from  what backward(dy, v) reads as v: the forward's Input or its Output.
//   cost       per element, relative to a copy: where the CPU starts threads.
#define PYDL_UNARY_OPS(X)                                      \
  X(Identity, "identity", IdentityOp, Numeric, Input, 1)       \
  X(Neg, "neg", NegOp, Numeric, Input, 1)                      \
  X(Abs, "abs", AbsOp, Numeric, Input, 1)                      \
  X(Sign, "sign", SignOp, Numeric, Input, 1)                   \
  X(Relu, "relu", ReluOp, Numeric, Input, 1)                   \
  X(Floor, "floor", FloorOp, Numeric, Input, 1)                 \
  X(Ceil, "ceil", CeilOp, Numeric, Input, 1)                    \
  X(Trunc, "trunc", TruncOp, Numeric, Input, 1)                 \
  X(Round, "round", RoundOp, Numeric, Input, 1)                 \
  X(Exp, "exp", ExpOp, Floating, Output, 8)                    \
  X(Expm1, "expm1", Expm1Op, Floating, Input, 8)               \
  X(Log, "log", LogOp, Floating, Input, 8)                     \
  X(Log1p, "log1p", Log1pOp, Floating, Input, 8)               \
  X(Log2, "log2", Log2Op, Floating, Input, 8)                  \
  X(Log10, "log10", Log10Op, Floating, Input, 8)               \
  X(Erf, "erf", ErfOp, Floating, Input, 12)                    \
  X(Sqrt, "sqrt", SqrtOp, Floating, Output, 4)                 \
  X(Rsqrt, "rsqrt", RsqrtOp, Floating, Output, 4)              \
  X(Sigmoid, "sigmoid", SigmoidOp, Floating, Output, 8)        \
  X(Tanh, "tanh", TanhOp, Floating, Output, 8)                 \
  X(Sin, "sin", SinOp, Floating, Input, 12)                    \
  X(Cos, "cos", CosOp, Floating, Input, 12)                    \
  X(Tan, "tan", TanOp, Floating, Output, 16)                   \
  X(LeakyRelu, "leaky_relu", LeakyReluOp, FloatOnly, Input, 1) \
  X(Softplus, "softplus", SoftplusOp, FloatOnly, Input, 8)     \
  X(Gelu, "gelu", GeluOp, FloatOnly, Input, 8)                 \
  X(GeluTanh, "gelu_tanh", GeluTanhOp, FloatOnly, Input, 8)    \
  X(Silu, "silu", SiluOp, FloatOnly, Input, 8)                 \
  X(Elu, "elu", EluOp, FloatOnly, Input, 8)                    \
  X(Celu, "celu", CeluOp, FloatOnly, Input, 8)                 \
  X(Hardtanh, "hardtanh", HardtanhOp, FloatOnly, Input, 1)     \
  X(Hardsigmoid, "hardsigmoid", HardsigmoidOp, FloatOnly, Input, 1) \
  X(Hardswish, "hardswish", HardswishOp, FloatOnly, Input, 1)  \
  X(Softsign, "softsign", SoftsignOp, FloatOnly, Input, 2)     \
  X(Logsigmoid, "logsigmoid", LogsigmoidOp, FloatOnly, Input, 8) \
  X(Mish, "mish", MishOp, FloatOnly, Input, 16)

enum class UnaryOp : int { PYDL_UNARY_OPS(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(UnaryOp, PYDL_UNARY_OPS)

enum class UnaryDomain : int { Numeric, Floating, FloatOnly };
enum class GradFrom : int { Input, Output };

#define PYDL_UNARY_DOMAIN(Name, name, Op, domain, from, cost) UnaryDomain::domain,
#define PYDL_UNARY_FROM(Name, name, Op, domain, from, cost) GradFrom::from,
#define PYDL_UNARY_COST(Name, name, Op, domain, from, cost) cost,
// static: the per-ISA objects call these too, and must not export a copy of shared code
// (cmake/check_isa_symbols.cmake).
static constexpr UnaryDomain unary_domain(UnaryOp op) {
  constexpr UnaryDomain table[] = {PYDL_UNARY_OPS(PYDL_UNARY_DOMAIN)};
  return table[static_cast<int>(op)];
}
static constexpr bool grad_from_output(UnaryOp op) {
  constexpr GradFrom table[] = {PYDL_UNARY_OPS(PYDL_UNARY_FROM)};
  return table[static_cast<int>(op)] == GradFrom::Output;
}
static constexpr int unary_cost(UnaryOp op) {
  constexpr int table[] = {PYDL_UNARY_OPS(PYDL_UNARY_COST)};
  return table[static_cast<int>(op)];
}
#undef PYDL_UNARY_DOMAIN
#undef PYDL_UNARY_FROM
#undef PYDL_UNARY_COST

}  // namespace pydl

PYDL_KERNELS_BEGIN

// Calls fn(Op<T>(p0, p1)) with the functor of `op` over the element type T. The caller
// (csrc/) has promoted or refused the dtype for the op's domain already; a combination
// the domain rules out is never compiled, and raises UnsupportedDType if reached.
template <class T, class Fn>
void with_unary(UnaryOp op, double p0, double p1, Fn&& fn) {
  constexpr bool floating = std::is_floating_point<T>::value;
  switch (op) {
#define PYDL_UNARY_CASE(Name, name, Op, domain, from, cost) \
  PYDL_DISPATCH_CASE(UnaryOp, Name, floating || UnaryDomain::domain == UnaryDomain::Numeric, fn(Op<T>(p0, p1)))
    PYDL_UNARY_OPS(PYDL_UNARY_CASE)
#undef PYDL_UNARY_CASE
  }
  unsupported_dtype(dtype_of<T>());
}

PYDL_KERNELS_END
