// The inner loop of the sums down columns (reduce.cpp), compiled once per ISA (PYDL_ISA) so that
// widening float to double and adding run in whole vectors: acc[j] += x[k * ld + j] for each row k
// in order, the same additions in the same order on every ISA.
#include <stdint.h>

#include "kernels/common/macros.h"

PYDL_KERNELS_BEGIN

namespace {

template <class T>
void add_rows(const T* __restrict x, int64_t ld, int64_t rows, int64_t cols, double* __restrict acc) {
  for (int64_t k = 0; k < rows; ++k, x += ld)
    for (int64_t j = 0; j < cols; ++j) acc[j] += double(x[j]);
}

}  // namespace

void add_rows_kernel(bool is_double, const void* x, int64_t ld, int64_t rows, int64_t cols, double* acc) {
  if (is_double) add_rows(static_cast<const double*>(x), ld, rows, cols, acc);
  else add_rows(static_cast<const float*>(x), ld, rows, cols, acc);
}

PYDL_KERNELS_END
