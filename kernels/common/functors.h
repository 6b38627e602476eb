// Scalar math for elementwise ops, shared by the CPU and CUDA kernels.
// Each functor is the single definition of its op: kernels only decide how to
// walk memory. Ops are listed in enums so csrc/ can name them across the boundary.
#pragma once
#include <math.h>
#include <type_traits>

#include "kernels/common/macros.h"

namespace pydl {
enum class UnaryOp : int { Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Tanh, Sigmoid, Relu };
enum class BinaryOp : int { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge };
constexpr bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }
// Unary ops that are only defined on floating types: integer inputs are promoted first.
constexpr bool needs_floating(UnaryOp op) {
  return op == UnaryOp::Exp || op == UnaryOp::Log || op == UnaryOp::Sqrt ||
         op == UnaryOp::Rsqrt || op == UnaryOp::Tanh || op == UnaryOp::Sigmoid;
}
}  // namespace pydl

PYDL_KERNELS_BEGIN

// Transcendentals: float and double call their own libm/CUDA versions; integer types
// (never reached through the dispatcher, which promotes them) go through double.
PYDL_HD float fexp(float x) { return expf(x); }
PYDL_HD double fexp(double x) { return exp(x); }
PYDL_HD float flog(float x) { return logf(x); }
PYDL_HD double flog(double x) { return log(x); }
PYDL_HD float fsqrt(float x) { return sqrtf(x); }
PYDL_HD double fsqrt(double x) { return sqrt(x); }
PYDL_HD float ftanh(float x) { return tanhf(x); }
PYDL_HD double ftanh(double x) { return tanh(x); }
PYDL_HD float fpow(float a, float b) { return powf(a, b); }
PYDL_HD double fpow(double a, double b) { return pow(a, b); }

template <class T>
PYDL_HD T int_pow(T base, T exp) {
  if constexpr (std::is_signed<T>::value) {
    if (exp < 0) return base == 1 ? T(1) : base == T(-1) ? (exp % 2 ? T(-1) : T(1)) : T(0);
  }
  T result = 1;
  while (exp) {
    if (exp & 1) result = static_cast<T>(result * base);
    base = static_cast<T>(base * base);
    exp >>= 1;
  }
  return result;
}

// ---------------------------------------------------------------- unary
struct NegF { template <class T> PYDL_HD T operator()(T x) const { return static_cast<T>(-x); } };
struct AbsF { template <class T> PYDL_HD T operator()(T x) const { return x < T(0) ? static_cast<T>(-x) : x; } };
struct SignF {
  template <class T> PYDL_HD T operator()(T x) const { return static_cast<T>((T(0) < x) - (x < T(0))); }
};
struct ReluF { template <class T> PYDL_HD T operator()(T x) const { return x < T(0) ? T(0) : x; } };
struct ExpF {
  template <class T> PYDL_HD T operator()(T x) const {
    if constexpr (std::is_floating_point<T>::value) return fexp(x); else return static_cast<T>(fexp(static_cast<double>(x)));
  }
};
struct LogF {
  template <class T> PYDL_HD T operator()(T x) const {
    if constexpr (std::is_floating_point<T>::value) return flog(x); else return static_cast<T>(flog(static_cast<double>(x)));
  }
};
struct SqrtF {
  template <class T> PYDL_HD T operator()(T x) const {
    if constexpr (std::is_floating_point<T>::value) return fsqrt(x); else return static_cast<T>(fsqrt(static_cast<double>(x)));
  }
};
struct RsqrtF {
  template <class T> PYDL_HD T operator()(T x) const {
    if constexpr (std::is_floating_point<T>::value) return T(1) / fsqrt(x); else return T(0);
  }
};
struct TanhF {
  template <class T> PYDL_HD T operator()(T x) const {
    if constexpr (std::is_floating_point<T>::value) return ftanh(x); else return static_cast<T>(ftanh(static_cast<double>(x)));
  }
};
// Stable on both tails: exp() only ever sees a non-positive argument.
struct SigmoidF {
  template <class T> PYDL_HD T operator()(T x) const {
    if constexpr (std::is_floating_point<T>::value) {
      T e = fexp(x < T(0) ? x : -x);
      return x < T(0) ? e / (T(1) + e) : T(1) / (T(1) + e);
    } else {
      return x > 0 ? T(1) : T(0);
    }
  }
};

// ---------------------------------------------------------------- binary
struct AddF { template <class T> PYDL_HD T operator()(T a, T b) const { return static_cast<T>(a + b); } };
struct SubF { template <class T> PYDL_HD T operator()(T a, T b) const { return static_cast<T>(a - b); } };
struct MulF { template <class T> PYDL_HD T operator()(T a, T b) const { return static_cast<T>(a * b); } };
struct DivF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value) return a / b;
    else return b == T(0) ? T(0) : static_cast<T>(a / b);  // never trap; csrc promotes ints anyway
  }
};
struct PowF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value) return fpow(a, b); else return int_pow(a, b);
  }
};
// NaN propagates, as in PyTorch.
struct MaximumF {
  template <class T> PYDL_HD T operator()(T a, T b) const { return a > b ? a : (b != b ? b : (a != a ? a : b)); }
};
struct MinimumF {
  template <class T> PYDL_HD T operator()(T a, T b) const { return a < b ? a : (b != b ? b : (a != a ? a : b)); }
};
struct EqF { template <class T> PYDL_HD bool operator()(T a, T b) const { return a == b; } };
struct NeF { template <class T> PYDL_HD bool operator()(T a, T b) const { return a != b; } };
struct LtF { template <class T> PYDL_HD bool operator()(T a, T b) const { return a < b; } };
struct LeF { template <class T> PYDL_HD bool operator()(T a, T b) const { return a <= b; } };
struct GtF { template <class T> PYDL_HD bool operator()(T a, T b) const { return a > b; } };
struct GeF { template <class T> PYDL_HD bool operator()(T a, T b) const { return a >= b; } };

struct WhereF {
  template <class T> PYDL_HD T operator()(bool c, T a, T b) const { return c ? a : b; }
};

PYDL_KERNELS_END

// Calls `body` with the functor type for a runtime op code: `F` is bound in the body.
#define PYDL_UNARY_CASE(code, Fn, ...) case ::pydl::UnaryOp::code: { using F = ::pydl::kernels::Fn; __VA_ARGS__; break; }
#define PYDL_DISPATCH_UNARY(op, F, ...)                                                   \
  switch (op) {                                                                          \
    PYDL_UNARY_CASE(Neg, NegF, __VA_ARGS__) PYDL_UNARY_CASE(Exp, ExpF, __VA_ARGS__)      \
    PYDL_UNARY_CASE(Log, LogF, __VA_ARGS__) PYDL_UNARY_CASE(Sqrt, SqrtF, __VA_ARGS__)    \
    PYDL_UNARY_CASE(Rsqrt, RsqrtF, __VA_ARGS__) PYDL_UNARY_CASE(Abs, AbsF, __VA_ARGS__)  \
    PYDL_UNARY_CASE(Sign, SignF, __VA_ARGS__) PYDL_UNARY_CASE(Tanh, TanhF, __VA_ARGS__)  \
    PYDL_UNARY_CASE(Sigmoid, SigmoidF, __VA_ARGS__) PYDL_UNARY_CASE(Relu, ReluF, __VA_ARGS__) \
  }
#define PYDL_BINARY_CASE(code, Fn, ...) case ::pydl::BinaryOp::code: { using F = ::pydl::kernels::Fn; __VA_ARGS__; break; }
#define PYDL_DISPATCH_ARITH(op, F, ...)                                                       \
  switch (op) {                                                                              \
    PYDL_BINARY_CASE(Add, AddF, __VA_ARGS__) PYDL_BINARY_CASE(Sub, SubF, __VA_ARGS__)        \
    PYDL_BINARY_CASE(Mul, MulF, __VA_ARGS__) PYDL_BINARY_CASE(Div, DivF, __VA_ARGS__)        \
    PYDL_BINARY_CASE(Pow, PowF, __VA_ARGS__) PYDL_BINARY_CASE(Maximum, MaximumF, __VA_ARGS__) \
    PYDL_BINARY_CASE(Minimum, MinimumF, __VA_ARGS__)                                         \
    default: break;                                                                          \
  }
#define PYDL_DISPATCH_COMPARE(op, F, ...)                                                     \
  switch (op) {                                                                              \
    PYDL_BINARY_CASE(Eq, EqF, __VA_ARGS__) PYDL_BINARY_CASE(Ne, NeF, __VA_ARGS__)            \
    PYDL_BINARY_CASE(Lt, LtF, __VA_ARGS__) PYDL_BINARY_CASE(Le, LeF, __VA_ARGS__)            \
    PYDL_BINARY_CASE(Gt, GtF, __VA_ARGS__) PYDL_BINARY_CASE(Ge, GeF, __VA_ARGS__)            \
    default: break;                                                                          \
  }
