// Index math shared by the CUDA kernels that decode a linear index into coordinates:
// FastDiv (a division by a launch-constant divisor in a few instructions), and the
// divisor of a coordinate split for 32-bit (int, FastDiv) or 64-bit (int64_t) indices.
// Include from .cu files only.
#pragma once
#include <stdint.h>

#include <type_traits>

namespace pydl::cuda_kernels {

// Division by a positive divisor fixed for a launch, as a multiply-high and a shift (the
// round-up method of Granlund and Montgomery, as in CUTLASS): exact for dividends in
// [0, 2^31), and a few instructions where an integer division takes about twenty.
struct FastDiv {
  int d;
  unsigned mul, shift;  // d == 1: the dividend itself
};

inline FastDiv fast_div(int d) {
  FastDiv f{d, 0, 0};
  if (d > 1) {
    unsigned log2_up = 0;
    while ((int64_t(1) << log2_up) < d) ++log2_up;
    const unsigned p = 31 + log2_up;
    f.mul = unsigned(((uint64_t(1) << p) + unsigned(d) - 1) / unsigned(d));
    f.shift = p - 32;
  }
  return f;
}

// (q, r) of a / f.d for 0 <= a < 2^31.
struct DivMod {
  int q, r;
};
__device__ __forceinline__ DivMod divmod(int a, const FastDiv& f) {
  const int q = f.d == 1 ? a : int(__umulhi(unsigned(a), f.mul) >> f.shift);
  return {q, a - q * f.d};
}

// ---------------------------------------------------------------- 32- or 64-bit coordinates
// Index int: every index and offset of the launch lies in [-2^31, 2^31); else int64_t.
template <class Index>
using Divisor = std::conditional_t<std::is_same<Index, int>::value, FastDiv, int64_t>;

template <class Index>
Divisor<Index> make_divisor(int64_t d) {
  if constexpr (std::is_same<Index, int>::value) return fast_div(static_cast<int>(d));
  else return d;
}

// The coordinate of `i` in a dimension of size `d`; `i` becomes the index of the rest.
__device__ __forceinline__ int split_coord(int& i, const FastDiv& d) {
  const DivMod qr = divmod(i, d);
  i = qr.q;
  return qr.r;
}
__device__ __forceinline__ int64_t split_coord(int64_t& i, int64_t d) {
  const int64_t q = i / d, c = i - q * d;
  i = q;
  return c;
}

constexpr int64_t kInt32Max = 0x7fffffff;

}  // namespace pydl::cuda_kernels
