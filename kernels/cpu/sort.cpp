// Sorting on the CPU: each row as (value, position) pairs, ordered by the shared total order,
// rows in parallel. When only the first k are wanted: for small k a heap of the best k seen
// (most entries cost one comparison with its top), else a selection, then a sort of the k.
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
  using Entry = std::pair<T, int64_t>;
  kernels::parallel_ranges(rows, n * 16, [&](int64_t b, int64_t e) {
    std::vector<Entry> row;
    auto before = [descending](const Entry& a, const Entry& c) {
      return kernels::sorts_before(a.first, a.second, c.first, c.second, descending);
    };
    for (int64_t r = b; r < e; ++r) {
      const T* x = in + r * n;
      if (k * 8 <= n) {  // few wanted: a heap of the best k so far, its last-sorting entry on top
        row.clear();
        for (int64_t i = 0; i < k; ++i) row.emplace_back(x[i], i);
        std::make_heap(row.begin(), row.end(), before);
        for (int64_t i = k; i < n && k > 0; ++i) {
          if (!before(Entry(x[i], i), row.front())) continue;
          std::pop_heap(row.begin(), row.end(), before);
          row.back() = Entry(x[i], i);
          std::push_heap(row.begin(), row.end(), before);
        }
        std::sort_heap(row.begin(), row.end(), before);
      } else {
        row.resize(n);
        for (int64_t i = 0; i < n; ++i) row[i] = Entry(x[i], i);
        if (k < n) std::nth_element(row.begin(), row.begin() + k, row.end(), before);  // the first k, unordered
        std::sort(row.begin(), row.begin() + k, before);
      }
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
