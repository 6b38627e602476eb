// Elementwise kernels, compiled once per ISA (PYDL_ISA). A contiguous run, or one
// with a broadcast scalar operand, gets a plain indexed loop the compiler vectorizes.
#include "kernels/common/dtype.h"
#include "kernels/common/functors.h"
#include "kernels/cpu/strided_walk.h"

PYDL_KERNELS_BEGIN

namespace {

template <class Tout, class T, class F>
void binary_loop(const StridedLoop& loop, F f) {
  walk_strided(loop, [f](char* const* p, const int64_t* s, int64_t n) {
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
  });
}

template <class T, class F>
void unary_loop(const StridedLoop& loop, F f) {
  walk_strided(loop, [f](char* const* p, const int64_t* s, int64_t n) {
    T* __restrict out = reinterpret_cast<T*>(p[0]);
    const T* __restrict x = reinterpret_cast<const T*>(p[1]);
    if (s[0] == int64_t(sizeof(T)) && s[1] == int64_t(sizeof(T))) {
      for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
    } else {
      const int64_t s0 = s[0] / int64_t(sizeof(T)), s1 = s[1] / int64_t(sizeof(T));
      for (int64_t i = 0; i < n; ++i) out[i * s0] = f(x[i * s1]);
    }
  });
}

}  // namespace

void unary_kernel(UnaryOp op, DType dtype, const StridedLoop& loop) {
  PYDL_DISPATCH_NUMERIC(dtype, T, PYDL_DISPATCH_UNARY(op, F, unary_loop<T>(loop, F{})));
}

void binary_kernel(BinaryOp op, DType dtype, const StridedLoop& loop) {
  if (is_comparison(op)) {
    PYDL_DISPATCH_ALL(dtype, T, PYDL_DISPATCH_COMPARE(op, F, binary_loop<bool, T>(loop, F{})));
  } else {
    PYDL_DISPATCH_NUMERIC(dtype, T, PYDL_DISPATCH_ARITH(op, F, binary_loop<T, T>(loop, F{})));
  }
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
