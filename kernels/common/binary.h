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

// Integers wrap around on overflow, as PyTorch's: computed unsigned (defined behaviour, same bits).
template <class T, bool = std::is_integral<T>::value && !std::is_same<T, bool>::value>
struct Wrapping { using type = T; };
template <class T>
struct Wrapping<T, true> { using type = std::make_unsigned_t<T>; };
template <class T>
using wrapping_t = typename Wrapping<T>::type;

PYDL_HD float fpow(float a, float b) { return powf(a, b); }
PYDL_HD double fpow(double a, double b) { return pow(a, b); }

template <class T>
PYDL_HD T int_pow(T base, T exp) {
  if constexpr (std::is_signed<T>::value) {
    if (exp < 0) return base == 1 ? T(1) : base == T(-1) ? (exp % 2 ? T(-1) : T(1)) : T(0);
  }
  T result = 1;
  while (exp) {
    if (exp & 1) result = static_cast<T>(wrapping_t<T>(result) * wrapping_t<T>(base));
    base = static_cast<T>(wrapping_t<T>(base) * wrapping_t<T>(base));
    exp >>= 1;
  }
  return result;
}

// ---------------------------------------------------------------- binary
struct AddF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    return static_cast<T>(wrapping_t<T>(a) + wrapping_t<T>(b));
  }
};
struct SubF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    return static_cast<T>(wrapping_t<T>(a) - wrapping_t<T>(b));
  }
};
struct MulF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    return static_cast<T>(wrapping_t<T>(a) * wrapping_t<T>(b));
  }
};
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
// fmod (the remainder with a's sign), remainder (with b's sign, Python's %), floor division
// and truncating division, as PyTorch's kernels compute them (c10's div_floor_floating and
// div_floor_integer). Integers never trap: csrc/ refuses a zero integer divisor first, and
// the kernels give 0 if one reaches them; INT64_MIN / -1 wraps.
template <class T>
PYDL_HD T wrapping_div(T a, T b) {
  if constexpr (std::is_signed<T>::value) {
    if (b == T(-1)) return static_cast<T>(T(0) - static_cast<std::make_unsigned_t<T>>(a));
  }
  return b == T(0) ? T(0) : static_cast<T>(a / b);
}
template <class T>
PYDL_HD T wrapping_mod(T a, T b) {
  if constexpr (std::is_signed<T>::value) {
    if (b == T(-1)) return T(0);
  }
  return b == T(0) ? T(0) : static_cast<T>(a % b);
}
struct FmodF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value) return fmod(a, b); else return wrapping_mod(a, b);
  }
};
struct RemainderF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    const T r = FmodF{}(a, b);
    return (r != T(0)) && ((r < T(0)) != (b < T(0))) ? static_cast<T>(r + b) : r;
  }
};
struct FloorDivideF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value) {
      if (b == T(0)) return a / b;
      const T mod = fmod(a, b);
      T div = (a - mod) / b;
      if ((mod != T(0)) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
      if (div == T(0)) return copysign(T(0), a / b);
      T floordiv = floor(div);
      if (div - floordiv > T(0.5)) floordiv += T(1);
      return floordiv;
    } else {
      const T quot = wrapping_div(a, b);
      return (a < T(0)) != (b < T(0)) && wrapping_mod(a, b) != T(0) ? static_cast<T>(quot - 1) : quot;
    }
  }
};
struct TruncDivideF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value) return trunc(a / b); else return wrapping_div(a, b);
  }
};
// NaN propagates, as in PyTorch.
struct MaximumF {
  template <class T> PYDL_HD T operator()(T a, T b) const { return a > b ? a : (b != b ? b : (a != a ? a : b)); }
};
struct MinimumF {
  template <class T> PYDL_HD T operator()(T a, T b) const { return a < b ? a : (b != b ? b : (a != a ? a : b)); }
};
// Bitwise ops (integer and bool operands; on bool they are the logical ops).
struct BitAndF { template <class T> PYDL_HD T operator()(T a, T b) const { return static_cast<T>(a & b); } };
struct BitOrF { template <class T> PYDL_HD T operator()(T a, T b) const { return static_cast<T>(a | b); } };
struct BitXorF { template <class T> PYDL_HD T operator()(T a, T b) const { return static_cast<T>(a ^ b); } };
// Shifts as PyTorch's: a count outside [0, bits) shifts everything out (a right shift of a
// negative value leaves -1), never the C++ undefined behaviour.
struct ShiftLeftF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    using U = std::make_unsigned_t<T>;
    return b < T(0) || b >= T(8 * sizeof(T)) ? T(0) : static_cast<T>(static_cast<U>(a) << b);
  }
};
struct ShiftRightF {
  template <class T> PYDL_HD T operator()(T a, T b) const {
    const T out = a < T(0) ? T(-1) : T(0);
    return b < T(0) || b >= T(8 * sizeof(T)) ? out : static_cast<T>(a >> b);
  }
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
// X(Name, "name", Functor, kind): Arith computes in the operands' (promoted) numeric type
// (bool computed as int64); Pick (maximum, minimum) the same but keeps bool as bool; Compare
// takes any dtype, bool included, and gives bool; Bitwise takes integers and bool; Shift
// integers only.
#define PYDL_BINARY_OPS(X)               \
  X(Add, "add", AddF, Arith)             \
  X(Sub, "sub", SubF, Arith)             \
  X(Mul, "mul", MulF, Arith)             \
  X(Div, "div", DivF, Arith)             \
  X(Pow, "pow", PowF, Arith)             \
  X(Fmod, "fmod", FmodF, Arith)          \
  X(Remainder, "remainder", RemainderF, Arith) \
  X(FloorDivide, "floor_divide", FloorDivideF, Arith) \
  X(TruncDivide, "trunc_divide", TruncDivideF, Arith) \
  X(Maximum, "maximum", MaximumF, Pick)  \
  X(Minimum, "minimum", MinimumF, Pick)  \
  X(BitAnd, "bitwise_and", BitAndF, Bitwise) \
  X(BitOr, "bitwise_or", BitOrF, Bitwise) \
  X(BitXor, "bitwise_xor", BitXorF, Bitwise) \
  X(ShiftLeft, "bitwise_left_shift", ShiftLeftF, Shift) \
  X(ShiftRight, "bitwise_right_shift", ShiftRightF, Shift) \
  X(Eq, "eq", EqF, Compare)              \
  X(Ne, "ne", NeF, Compare)              \
  X(Lt, "lt", LtF, Compare)              \
  X(Le, "le", LeF, Compare)              \
  X(Gt, "gt", GtF, Compare)              \
  X(Ge, "ge", GeF, Compare)

enum class BinaryOp : int { PYDL_BINARY_OPS(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(BinaryOp, PYDL_BINARY_OPS)

enum class BinaryKind : int { Arith, Pick, Compare, Bitwise, Shift };
static constexpr BinaryKind binary_kind(BinaryOp op) {  // static: see unary_domain
#define PYDL_BINARY_KIND(Name, name, F, kind) BinaryKind::kind,
  constexpr BinaryKind table[] = {PYDL_BINARY_OPS(PYDL_BINARY_KIND)};
#undef PYDL_BINARY_KIND
  return table[static_cast<int>(op)];
}
static constexpr bool is_comparison(BinaryOp op) { return binary_kind(op) == BinaryKind::Compare; }

// Whether an op of `kind` has a kernel for operands of type T (csrc/ refuses the others first).
template <class T>
constexpr bool binary_computes(BinaryKind kind) {
  constexpr bool is_bool = std::is_same<T, bool>::value, integral = std::is_integral<T>::value;
  return kind == BinaryKind::Arith     ? !is_bool
         : kind == BinaryKind::Bitwise ? integral
         : kind == BinaryKind::Shift   ? integral && !is_bool
                                       : true;
}

}  // namespace pydl

PYDL_KERNELS_BEGIN

// Calls fn(F{}) with the functor of `op` over operands of type T (F returns bool for a
// comparison, T otherwise). A functor is compiled only for the types binary_computes allows
// (arithmetic on bool is computed in int64 by csrc/); any other pair raises UnsupportedDType.
template <class T, class Fn>
void with_binary(BinaryOp op, Fn&& fn) {
  switch (op) {
#define PYDL_BINARY_CASE(Name, name, F, kind) \
  PYDL_DISPATCH_CASE(BinaryOp, Name, binary_computes<T>(BinaryKind::kind), fn(F{}))
    PYDL_BINARY_OPS(PYDL_BINARY_CASE)
#undef PYDL_BINARY_CASE
  }
  unsupported_dtype(dtype_of<T>());
}

PYDL_KERNELS_END
