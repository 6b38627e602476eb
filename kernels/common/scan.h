// The scan family's registry (see kernels/common/registry.h): X(Name, "name"), and its scalar
// step. A scan runs along the middle axis of a contiguous (outer, r, inner) block, forward or
// reversed, inclusive (out[k] takes x[k]) or exclusive (out[k] stops before it). float32 and
// float64 accumulate in double and integers in int64 (wrapping around), one step at a time in
// order, on the CPU and on CUDA alike: the same bits on both (logcumsumexp's steps take libm's
// exp and log1p in double, CUDA's on a GPU: its float64 results agree within an ulp or so there).
#pragma once

#include <math.h>
#include <stdint.h>

#include <limits>
#include <type_traits>

#include "kernels/common/macros.h"
#include "kernels/common/registry.h"

namespace pydl {

#define PYDL_SCAN_OPS(X) \
  X(Sum, "cumsum")       \
  X(Prod, "cumprod")     \
  X(LogSumExp, "logcumsumexp") \
  X(Max, "cummax")       \
  X(Min, "cummin")

enum class ScanOp : int { PYDL_SCAN_OPS(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(ScanOp, PYDL_SCAN_OPS)

}  // namespace pydl

PYDL_KERNELS_BEGIN

template <class T>
using ScanAcc = std::conditional_t<std::is_floating_point<T>::value, double, int64_t>;

template <class A>
PYDL_HD A scan_identity(ScanOp op) {
  if constexpr (std::is_floating_point<A>::value) {
    if (op == ScanOp::LogSumExp || op == ScanOp::Max) return -INFINITY;
    if (op == ScanOp::Min) return INFINITY;
  } else {
    if (op == ScanOp::Max) return std::numeric_limits<A>::lowest();
    if (op == ScanOp::Min) return std::numeric_limits<A>::max();
  }
  return op == ScanOp::Sum ? A(0) : A(1);
}

// The running max / min keeps the first NaN it meets, as PyTorch's cummax / cummin.
template <class A>
PYDL_HD A scan_extremum(bool is_max, A acc, A v) {
  if (acc != acc) return acc;
  if (v != v) return v;
  return (is_max ? v > acc : v < acc) ? v : acc;
}

// log(e^a + e^b) as max + log1p(e^-|a - b|); equal arguments (infinities too) give a + log 2.
PYDL_HD double log_add_exp(double a, double b) {
  if (a == b) return a + 0.69314718055994530942;
  const double m = a > b ? a : b, d = a > b ? a - b : b - a;
  return m + log1p(exp(-d));  // NaN propagates through d
}
// Integers wrap around on overflow, as PyTorch's (computed unsigned: defined behaviour).
template <class A>
PYDL_HD A scan_step(ScanOp op, A acc, A v) {
  if constexpr (std::is_integral<A>::value) {
    using U = std::make_unsigned_t<A>;
    if (op == ScanOp::Max || op == ScanOp::Min) return scan_extremum(op == ScanOp::Max, acc, v);
    return static_cast<A>(op == ScanOp::Sum ? U(acc) + U(v) : U(acc) * U(v));
  } else {
    if (op == ScanOp::Max || op == ScanOp::Min) return scan_extremum(op == ScanOp::Max, acc, v);
    return op == ScanOp::Sum ? acc + v : op == ScanOp::Prod ? acc * v : log_add_exp(acc, v);
  }
}

// Calls fn(op as a std::integral_constant), so that a kernel compiles one loop per op with its
// step inlined (a run-time op in the loop costs a branch per entry and the vectorization).
template <class Fn>
void with_scan(ScanOp op, Fn&& fn) {
  switch (op) {
#define PYDL_SCAN_CASE(Name, name) \
  case ScanOp::Name:               \
    fn(std::integral_constant<ScanOp, ScanOp::Name>{}); \
    return;
    PYDL_SCAN_OPS(PYDL_SCAN_CASE)
#undef PYDL_SCAN_CASE
  }
}

PYDL_KERNELS_END
