// Sorting on the CPU along the last axis of a contiguous (rows, n) block; see
// kernels/common/sort.h for the order.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"

namespace pydl::cpu {

// The first k (1 <= k <= n) of each sorted row: values (rows, k) of dtype and their
// positions (rows, k) in the row.
void sort_rows(DType dtype, const void* in, void* values, int64_t* indices, int64_t rows, int64_t n, int64_t k,
               bool descending);

}  // namespace pydl::cpu
