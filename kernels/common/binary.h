// The binary elementwise family (add, mul, pow, maximum, the comparisons, ...) and where():
// one scalar functor per op, shared by the CPU and CUDA kernels, and the family's registry
// (PYDL_BINARY_OPS below, see kernels/common/registry.h).
#pragma once
#include <math.h>
#include <type_traits>

#include "kernels/common/dtype.h"
#include "kernels/common/macros.h"
#include "kernels/common/registry.h"

PYDL_KERNELS_BEGIN

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

namespace pydl {

// ---------------------------------------------------------------- the registry
// X(Name, "name", Functor, kind): Arith computes in the operands' (promoted) numeric type;
// Compare takes any dtype, bool included, and gives bool.
#define PYDL_BINARY_OPS(X)               \
  X(Add, "add", AddF, Arith)             \
  X(Sub, "sub", SubF, Arith)             \
  X(Mul, "mul", MulF, Arith)             \
  X(Div, "div", DivF, Arith)             \
  X(Pow, "pow", PowF, Arith)             \
  X(Maximum, "maximum", MaximumF, Arith) \
  X(Minimum, "minimum", MinimumF, Arith) \
  X(Eq, "eq", EqF, Compare)              \
  X(Ne, "ne", NeF, Compare)              \
  X(Lt, "lt", LtF, Compare)              \
  X(Le, "le", LeF, Compare)              \
  X(Gt, "gt", GtF, Compare)              \
  X(Ge, "ge", GeF, Compare)

enum class BinaryOp : int { PYDL_BINARY_OPS(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(BinaryOp, PYDL_BINARY_OPS)

enum class BinaryKind : int { Arith, Compare };
static constexpr bool is_comparison(BinaryOp op) {  // static: see unary_domain
#define PYDL_BINARY_KIND(Name, name, F, kind) BinaryKind::kind,
  constexpr BinaryKind table[] = {PYDL_BINARY_OPS(PYDL_BINARY_KIND)};
#undef PYDL_BINARY_KIND
  return table[static_cast<int>(op)] == BinaryKind::Compare;
}

}  // namespace pydl

PYDL_KERNELS_BEGIN

// Calls fn(F{}) with the functor of `op` over operands of type T (F returns bool for a
// comparison, T otherwise). Arithmetic on bool is never compiled (csrc/ computes it in int64)
// and raises UnsupportedDType if reached.
template <class T, class Fn>
void with_binary(BinaryOp op, Fn&& fn) {
  switch (op) {
#define PYDL_BINARY_CASE(Name, name, F, kind) \
  PYDL_DISPATCH_CASE(BinaryOp, Name, (BinaryKind::kind == BinaryKind::Compare || !std::is_same<T, bool>::value), \
                     fn(F{}))
    PYDL_BINARY_OPS(PYDL_BINARY_CASE)
#undef PYDL_BINARY_CASE
  }
  unsupported_dtype(dtype_of<T>());
}

PYDL_KERNELS_END
