// Elementwise kernels, compiled once per ISA (PYDL_ISA): the one strided engine of the
// pointwise (unary) and binary families. A contiguous run, or one with a broadcast scalar
// operand, gets a plain indexed loop the compiler vectorizes; any other run a strided loop.
//
// Compiled with -ffp-contract=off (CMakeLists.txt): the pointwise family's bits must not
// depend on the ISA copy or the backend (see kernels/common/pointwise_math.h).
#include "kernels/common/binary.h"
#include "kernels/common/dtype.h"
#include "kernels/common/unary.h"
#include "kernels/cpu/strided_walk.h"

PYDL_KERNELS_BEGIN

namespace {

// The runs the loops hand over: contiguous (or with a broadcast scalar operand) as plain
// indexed loops the compiler vectorizes, anything else strided. `flatten` inlines every
// call of the functor into them (exp_fast and friends): this file instantiates the whole
// pointwise family, and GCC's inlining budget would otherwise leave calls in some loops,
// which then run scalar (ten times slower).
template <class Tout, class T, class F>
__attribute__((flatten)) void binary_run(char* const* p, const int64_t* s, int64_t n, const F f) {
  Tout* __restrict out = reinterpret_cast<Tout*>(p[0]);
  const T* __restrict a = reinterpret_cast<const T*>(p[1]);
  const T* __restrict b = reinterpret_cast<const T*>(p[2]);
  constexpr int64_t so = sizeof(Tout), st = sizeof(T);
  if (s[0] == so && s[1] == st && s[2] == st) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (s[0] == so && s[1] == st && s[2] == 0) {
    const T bv = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (s[0] == so && s[1] == 0 && s[2] == st) {
    const T av = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    const int64_t s0 = s[0] / so, s1 = s[1] / st, s2 = s[2] / st;
    for (int64_t i = 0; i < n; ++i) out[i * s0] = f(a[i * s1], b[i * s2]);
  }
}

template <class T, class F>
__attribute__((flatten)) void unary_run(char* const* p, const int64_t* s, int64_t n, const F f) {
  T* __restrict out = reinterpret_cast<T*>(p[0]);
  const T* __restrict x = reinterpret_cast<const T*>(p[1]);
  if (s[0] == int64_t(sizeof(T)) && s[1] == int64_t(sizeof(T))) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
  } else {
    const int64_t s0 = s[0] / int64_t(sizeof(T)), s1 = s[1] / int64_t(sizeof(T));
    for (int64_t i = 0; i < n; ++i) out[i * s0] = f(x[i * s1]);
  }
}

// out = f(a, b) over a loop of (out, a, b); out = f(x) over a loop of (out, x). The functor
// is passed by value into each run, so that its parameters are locals the compiler can keep
// in registers (a reference could alias the output).
template <class Tout, class T, class F>
void binary_loop(const StridedLoop& loop, F f, int64_t cost = 1) {
  walk_strided(loop, [f](char* const* p, const int64_t* s, int64_t n) { binary_run<Tout, T>(p, s, n, f); }, cost);
}

template <class T, class F>
void unary_loop(const StridedLoop& loop, F f, int64_t cost) {
  walk_strided(loop, [f](char* const* p, const int64_t* s, int64_t n) { unary_run<T>(p, s, n, f); }, cost);
}

// A pointwise functor's two directions as plain callables for the loops above.
template <class Op>
struct Forward {
  Op op;
  template <class T> T operator()(T x) const { return op.forward(x); }
};
template <class Op>
struct Backward {
  Op op;
  template <class T> T operator()(T dy, T v) const { return op.backward(dy, v); }
};

}  // namespace

void unary_kernel(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1) {
  PYDL_DISPATCH_NUMERIC(dtype, T, with_unary<T>(op, p0, p1, [&](auto f) {
    unary_loop<T>(loop, Forward<decltype(f)>{f}, unary_cost(op));
  }));
}

void unary_backward_kernel(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1) {
  PYDL_DISPATCH_FLOAT(dtype, T, with_unary<T>(op, p0, p1, [&](auto f) {
    binary_loop<T, T>(loop, Backward<decltype(f)>{f}, unary_cost(op));
  }));
}

void binary_kernel(BinaryOp op, DType dtype, const StridedLoop& loop) {
  PYDL_DISPATCH_ALL(dtype, T, with_binary<T>(op, [&](auto f) {
    binary_loop<decltype(f(T(), T())), T>(loop, f);
  }));
}

void where_kernel(DType dtype, const StridedLoop& loop) {
  PYDL_DISPATCH_ALL(dtype, T, walk_strided(loop, [](char* const* p, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
      *reinterpret_cast<T*>(p[0] + i * s[0]) =
          WhereF{}(c, *reinterpret_cast<const T*>(p[2] + i * s[2]), *reinterpret_cast<const T*>(p[3] + i * s[3]));
    }
  }));
}

PYDL_KERNELS_END
