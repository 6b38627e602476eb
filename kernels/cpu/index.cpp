#include "kernels/cpu/index.h"

#include <cstring>

#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

using kernels::parallel_ranges;

int64_t first_out_of_range(const int64_t* index, int64_t n, int64_t low, int64_t high) {
  for (int64_t i = 0; i < n; ++i)
    if (index[i] < low || index[i] >= high) return i;
  return -1;
}

namespace {

// index_select of single elements (inner == 1): a typed loop per row, not a memcpy per element.
template <class Word>
void select_elements(const Word* x, int64_t x_size, const int64_t* index, int64_t n_index, Word* out,
                     int64_t outer) {
  parallel_ranges(outer, n_index, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const Word* row = x + o * x_size;
      Word* dst = out + o * n_index;
      for (int64_t i = 0; i < n_index; ++i) dst[i] = row[index[i] < 0 ? index[i] + x_size : index[i]];
    }
  });
}

}  // namespace

void index_select(DType dtype, const void* x, int64_t x_size, const int64_t* index, int64_t n_index, void* out,
                  int64_t outer, int64_t inner) {
  if (inner == 1) {
    auto run = [&](auto word) {
      using Word = decltype(word);
      select_elements(static_cast<const Word*>(x), x_size, index, n_index, static_cast<Word*>(out), outer);
    };
    switch (itemsize(dtype)) {
      case 1: return run(uint8_t());
      case 2: return run(uint16_t());
      case 4: return run(uint32_t());
      case 8: return run(uint64_t());
    }
  }
  const size_t row = inner * itemsize(dtype);
  const char* src = static_cast<const char*>(x);
  char* dst = static_cast<char*>(out);
  parallel_ranges(outer * n_index, inner, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / n_index, i = t % n_index;
      const int64_t k = index[i] < 0 ? index[i] + x_size : index[i];
      std::memcpy(dst + t * row, src + (o * x_size + k) * row, row);
    }
  });
}

void index_add(DType dtype, void* out, int64_t out_size, const int64_t* index, int64_t n_index, const void* src,
               int64_t outer, int64_t inner) {
  PYDL_DISPATCH_NUMERIC(dtype, T, {
    T* o = static_cast<T*>(out);
    const T* s = static_cast<const T*>(src);
    parallel_ranges(outer, n_index * inner, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
        for (int64_t i = 0; i < n_index; ++i) {
          const int64_t k = index[i] < 0 ? index[i] + out_size : index[i];
          T* orow = o + (p * out_size + k) * inner;
          const T* srow = s + (p * n_index + i) * inner;
          for (int64_t j = 0; j < inner; ++j) orow[j] += srow[j];
        }
    });
  });
}

namespace {

// Calls fn(flat position in the index, element offset in x) for every index entry.
template <class Fn>
void for_each_indexed(const int64_t* index, const IndexedAxis& ax, Fn fn) {
  int64_t n = 1;
  for (int d = 0; d < ax.ndim; ++d) n *= ax.shape[d];
  int64_t coord[kMaxDims] = {};
  for (int64_t t = 0; t < n; ++t) {
    int64_t off = 0;
    for (int d = 0; d < ax.ndim; ++d) off += (d == ax.dim ? index[t] : coord[d]) * ax.x_strides[d];
    fn(t, off);
    for (int d = ax.ndim - 1; d >= 0; --d) {
      if (++coord[d] < ax.shape[d]) break;
      coord[d] = 0;
    }
  }
}

}  // namespace

void gather(DType dtype, const void* x, const int64_t* index, void* out, const IndexedAxis& ax) {
  PYDL_DISPATCH_ALL(dtype, T, {
    const T* xs = static_cast<const T*>(x);
    T* o = static_cast<T*>(out);
    for_each_indexed(index, ax, [&](int64_t t, int64_t off) { o[t] = xs[off]; });
  });
}

void scatter_reduce(ScatterOp op, DType dtype, void* x, const int64_t* index, const void* src, const IndexedAxis& ax) {
  using kernels::scatter_step;
  PYDL_DISPATCH_NUMERIC(dtype, T, {
    T* xs = static_cast<T*>(x);
    const T* s = static_cast<const T*>(src);
    if (op == ScatterOp::Sum) for_each_indexed(index, ax, [&](int64_t t, int64_t off) { xs[off] += s[t]; });
    else for_each_indexed(index, ax, [&](int64_t t, int64_t off) { xs[off] = scatter_step(op, xs[off], s[t]); });
  });
}

}  // namespace pydl::cpu
