// Sorting on the CPU: each row as (value, position) pairs, ordered by the shared total order
// (a full sort, or a partial sort when only the first k are wanted), rows in parallel.
#include "kernels/cpu/sort.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "kernels/common/sort.h"
#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

namespace {

template <class T>
void sort_block(const T* in, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k, bool descending) {
  kernels::parallel_ranges(rows, n * 16, [&](int64_t b, int64_t e) {
    std::vector<std::pair<T, int64_t>> row(n);
    auto before = [descending](const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& c) {
      return kernels::sorts_before(a.first, a.second, c.first, c.second, descending);
    };
    for (int64_t r = b; r < e; ++r) {
      for (int64_t i = 0; i < n; ++i) row[i] = {in[r * n + i], i};
      if (k < n) std::partial_sort(row.begin(), row.begin() + k, row.end(), before);
      else std::sort(row.begin(), row.end(), before);
      for (int64_t i = 0; i < k; ++i) {
        values[r * k + i] = row[i].first;
        indices[r * k + i] = row[i].second;
      }
    }
  });
}

}  // namespace

void sort_rows(DType dtype, const void* in, void* values, int64_t* indices, int64_t rows, int64_t n, int64_t k,
               bool descending) {
  PYDL_DISPATCH_ALL(dtype, T, sort_block<T>(static_cast<const T*>(in), static_cast<T*>(values), indices, rows, n, k,
                                            descending));
}

}  // namespace pydl::cpu
