// Sorting on the CPU, rows in parallel, by the shared total order: a radix sort of the whole row
// (kernels/cpu/radix_sort.h), or, when only a few first entries are wanted, a heap of the best k
// seen (most entries cost one comparison with its top), then a sort of the k.
#include "kernels/cpu/sort.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "kernels/common/sort.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/radix_sort.h"

namespace pydl::cpu {

namespace {

// Whether any of x[0..n) might sort before `top` (a superset: NaNs always might), in one
// branch-free pass, so that blocks with nothing to enter the heap are skipped.
constexpr int64_t kBlock = 64;
template <class T>
bool may_enter(const T* x, int64_t n, T top, bool descending) {
  int any = top != top;  // an int, not a bool: GCC vectorizes the int or-reduction only
  if (descending)
    for (int64_t j = 0; j < n; ++j) any |= int(x[j] > top) | int(x[j] != x[j]);
  else
    for (int64_t j = 0; j < n; ++j) any |= int(x[j] < top) | int(x[j] != x[j]);
  return any != 0;
}

template <class T>
void sort_block(const T* in, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k, bool descending) {
  using Entry = std::pair<T, int64_t>;
  kernels::parallel_ranges(rows, n * 16, [&](int64_t b, int64_t e) {
    std::vector<Entry> row;
    std::vector<std::pair<RadixKey<T>, int64_t>> order, scratch;
    auto before = [descending](const Entry& a, const Entry& c) {
      return kernels::sorts_before(a.first, a.second, c.first, c.second, descending);
    };
    for (int64_t r = b; r < e; ++r) {
      const T* x = in + r * n;
      if (k * 8 <= n) {  // few wanted: a heap of the best k so far, its last-sorting entry on top
        row.clear();
        for (int64_t i = 0; i < k; ++i) row.emplace_back(x[i], i);
        std::make_heap(row.begin(), row.end(), before);
        for (int64_t i = k; i < n && k > 0; i += kBlock) {
          const int64_t end = std::min(n, i + kBlock);
          if (!may_enter(x + i, end - i, row.front().first, descending)) continue;
          for (int64_t j = i; j < end; ++j) {
            if (!before(Entry(x[j], j), row.front())) continue;
            std::pop_heap(row.begin(), row.end(), before);
            row.back() = Entry(x[j], j);
            std::push_heap(row.begin(), row.end(), before);
          }
        }
        std::sort_heap(row.begin(), row.end(), before);
        for (int64_t i = 0; i < k; ++i) {
          values[r * k + i] = row[i].first;
          indices[r * k + i] = row[i].second;
        }
      } else {
        radix_sort_row(x, n, descending, order, scratch);
        for (int64_t i = 0; i < k; ++i) {
          values[r * k + i] = x[order[i].second];
          indices[r * k + i] = order[i].second;
        }
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
