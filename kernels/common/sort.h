// The order of sort / argsort / topk / kthvalue, shared by the CPU and CUDA kernels: a total
// order on (value, position) pairs. NaN comes after +inf (first when descending), as PyTorch;
// equal values keep their positions' order either way, so every backend and every algorithm
// gives the one result of a stable sort.
#pragma once
#include <stdint.h>

#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

// -1, 0 or 1 as a sorts before, with or after b (ascending; NaN last, NaNs equal).
template <class T>
PYDL_HD int compare_values(T a, T b) {
  const bool a_nan = a != a, b_nan = b != b;
  if (a_nan || b_nan) return a_nan == b_nan ? 0 : (a_nan ? 1 : -1);
  return a < b ? -1 : (b < a ? 1 : 0);
}

template <class T>
PYDL_HD bool sorts_before(T a, int64_t ia, T b, int64_t ib, bool descending) {
  const int c = compare_values(a, b);
  if (c != 0) return descending ? c > 0 : c < 0;
  return ia < ib;
}

PYDL_KERNELS_END
