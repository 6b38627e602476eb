// Dispatch of the elementwise kernels to their per-ISA copies, plus the copy/cast
// and fill loops (memory-bound: one baseline copy is enough).
#include "kernels/cpu/elementwise.h"

#include "kernels/common/half.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/strided_walk.h"

PYDL_ISA_DECLARE(void unary_kernel(UnaryOp, DType, const StridedLoop&, double, double))
PYDL_ISA_DECLARE(void unary_backward_kernel(UnaryOp, DType, const StridedLoop&, double, double))
PYDL_ISA_DECLARE(void binary_kernel(BinaryOp, DType, const StridedLoop&))
PYDL_ISA_DECLARE(void where_kernel(DType, const StridedLoop&))

namespace pydl::cpu {

using kernels::walk_strided;

void unary(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1) {
  PYDL_ISA_CALL(unary_kernel, op, dtype, loop, p0, p1);
}
void unary_backward(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1) {
  PYDL_ISA_CALL(unary_backward_kernel, op, dtype, loop, p0, p1);
}
void binary(BinaryOp op, DType dtype, const StridedLoop& loop) { PYDL_ISA_CALL(binary_kernel, op, dtype, loop); }
void where(DType dtype, const StridedLoop& loop) { PYDL_ISA_CALL(where_kernel, dtype, loop); }

namespace {

// Float to unsigned is undefined out of range in C++: go through int64 (wraps like PyTorch).
template <class To, class From>
inline To cast(From x) {
  if constexpr (std::is_same<To, bool>::value) return x != From(0);
  else if constexpr (std::is_same<To, uint8_t>::value && std::is_floating_point<From>::value)
    return static_cast<uint8_t>(static_cast<int64_t>(x));
  else return static_cast<To>(x);
}

// Any cast with a half on either side goes through float32 (kernels/common/half.h).
template <class To, class From>
inline To cast_any(From x) {
  if constexpr (sizeof(To) == 2 || sizeof(From) == 2) return half_cast<To>(x);
  else return cast<To>(x);
}

template <class To, class From>
void copy_loop(const StridedLoop& loop) {
  walk_strided(loop, [](char* const* p, const int64_t* s, int64_t n) {
    To* __restrict out = reinterpret_cast<To*>(p[0]);
    const From* __restrict in = reinterpret_cast<const From*>(p[1]);
    if (s[0] == int64_t(sizeof(To)) && s[1] == int64_t(sizeof(From))) {
      for (int64_t i = 0; i < n; ++i) out[i] = cast_any<To>(in[i]);
    } else {
      const int64_t s0 = s[0] / int64_t(sizeof(To)), s1 = s[1] / int64_t(sizeof(From));
      for (int64_t i = 0; i < n; ++i) out[i * s0] = cast_any<To>(in[i * s1]);
    }
  });
}

}  // namespace

void copy(DType dst, DType src, const StridedLoop& loop) {
  PYDL_DISPATCH_STORAGE(dst, To, PYDL_DISPATCH_STORAGE(src, From, copy_loop<To, From>(loop)));
}

void fill(DType dtype, const StridedLoop& loop, double value) {
  PYDL_DISPATCH_STORAGE(dtype, T, {
    const T v = cast_any<T>(value);
    walk_strided(loop, [v](char* const* p, const int64_t* s, int64_t n) {
      T* out = reinterpret_cast<T*>(p[0]);
      const int64_t s0 = s[0] / int64_t(sizeof(T));
      if (s0 == 1) {
        for (int64_t i = 0; i < n; ++i) out[i] = v;
      } else {
        for (int64_t i = 0; i < n; ++i) out[i * s0] = v;
      }
    });
  });
}

}  // namespace pydl::cpu

namespace pydl::cpu {

void arange(DType dtype, void* out, int64_t n, double start, double step) {
  PYDL_DISPATCH_ALL(dtype, T, {
    T* o = static_cast<T*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = cast<T>(start + double(i) * step);
  });
}

}  // namespace pydl::cpu
