// The row loops that live on exp, compiled once per ISA (PYDL_ISA): softmax / log-softmax
// and the fused cross-entropy rows. Callers (softmax.cpp, loss.cpp) pick a copy with
// PYDL_ISA_CALL. (Pointwise activations are the unary family: elementwise_isa.cpp.)
//
// Every hot loop is a plain indexed loop over contiguous memory whose body is inline,
// branch-free arithmetic (see exp_fast in kernels/common/pointwise_math.h), so GCC emits
// 4, 8 or 16 lanes per instruction for the generic, AVX2 and AVX-512 copies alike.
// Row reductions keep 16 partial results (max, sum) whatever the ISA, so every copy
// adds in the same order and gives the same bits.
#include <math.h>
#include <stdint.h>

#include "kernels/common/pointwise_math.h"
#include "kernels/common/dtype.h"
#include "kernels/common/loss.h"
#include "kernels/cpu/parallel.h"

PYDL_KERNELS_BEGIN

namespace {

constexpr int kLanes = 16;
constexpr int64_t kChunk = 256;     // scratch for a row's exps when no output row can hold them
constexpr int64_t kColBlock = 256;  // columns per work item when the softmax axis is not the last

// ---------------------------------------------------------------- row reductions
template <class T>
T row_max(const T* __restrict x, int64_t n) {
  T lanes[kLanes];
  for (int l = 0; l < kLanes; ++l) lanes[l] = T(-INFINITY);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  T m = T(-INFINITY);
  for (int l = 0; l < kLanes; ++l) m = lanes[l] > m ? lanes[l] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  // A NaN in the row is skipped here but reaches every output through exp(NaN - m).
  return m;
}

template <class T>
T fold(const T* lanes) {
  T s[8];
  for (int l = 0; l < 8; ++l) s[l] = lanes[l] + lanes[l + 8];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

template <class T>
T row_sum(const T* __restrict x, int64_t n) {
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += x[i + l];
  T s = fold(lanes);
  for (; i < n; ++i) s += x[i];
  return s;
}

template <class T>
T row_dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += a[i + l] * b[i + l];
  T s = fold(lanes);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// sum_i w[i] (x[i] - m), or sum_i (x[i] - m) when w is null.
template <class T>
T row_sum_shifted(const T* __restrict w, const T* __restrict x, int64_t n, T m) {
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += (w ? w[i + l] : T(1)) * (x[i + l] - m);
  T s = fold(lanes);
  for (; i < n; ++i) s += (w ? w[i] : T(1)) * (x[i] - m);
  return s;
}

// e[i] = exp(x[i] - m); returns their sum.
template <class T>
T exp_shifted(const T* __restrict x, T* __restrict e, int64_t n, T m) {
  for (int64_t i = 0; i < n; ++i) e[i] = exp_fast(x[i] - m);
  return row_sum(e, n);
}

// sum_i exp(x[i] - m) without an output row: through a stack chunk.
template <class T>
T exp_shifted_sum(const T* __restrict x, int64_t n, T m) {
  T buf[kChunk];
  T s = 0;
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t len = n - i0 < kChunk ? n - i0 : kChunk;
    s += exp_shifted(x + i0, buf, len, m);
  }
  return s;
}

// Rows shorter than a vector (10 classes) take their exps a block of rows at a time, in one
// vector loop over the block: row by row, exp ran on 10 scalars (log-softmax of 512x10: 25 us).
// The same exps and row sums as row by row, so the same bits.
constexpr int kShortRows = kLanes;

// maxes[r] = the max of row r; e (rows x n) = exp(x - that max).
template <class T>
void exp_block_shifted(const T* __restrict x, T* __restrict e, T* __restrict maxes, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    maxes[r] = row_max(x + r * n, n);
    for (int64_t i = 0; i < n; ++i) e[r * n + i] = x[r * n + i] - maxes[r];
  }
  for (int64_t i = 0; i < rows * n; ++i) e[i] = exp_fast(e[i]);
}

template <class T>
void softmax_short_rows(bool log, const T* x, T* y, int64_t b, int64_t e, int64_t n) {
  T maxes[kChunk];
  for (int64_t r0 = b; r0 < e; r0 += kChunk / n) {
    const int64_t rows = e - r0 < kChunk / n ? e - r0 : kChunk / n;
    exp_block_shifted(x + r0 * n, y + r0 * n, maxes, rows, n);
    for (int64_t r = 0; r < rows; ++r) {
      const T* __restrict xr = x + (r0 + r) * n;
      T* __restrict yr = y + (r0 + r) * n;
      const T sum = row_sum(yr, n), m = maxes[r];
      if (log) {
        const T ls = static_cast<T>(::log(sum));
        for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) - ls;
      } else {
        const T inv = T(1) / sum;
        for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
      }
    }
  }
}

// ---------------------------------------------------------------- softmax, last axis
template <class T>
void softmax_rows(bool log, const T* x, T* y, int64_t rows, int64_t n) {
  parallel_ranges(rows, 4 * n, [&](int64_t b, int64_t e) {
    if (n < kShortRows) return softmax_short_rows(log, x, y, b, e, n);
    for (int64_t r = b; r < e; ++r) {
      const T* __restrict xr = x + r * n;
      T* __restrict yr = y + r * n;
      const T m = row_max(xr, n);
      if (log) {
        const T ls = static_cast<T>(::log(exp_shifted_sum(xr, n, m)));
        for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) - ls;
      } else {
        const T inv = T(1) / exp_shifted(xr, yr, n, m);
        for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
      }
    }
  });
}

// softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - e^y sum(dy).
template <class T>
void softmax_backward_rows(bool log, const T* y, const T* dy, T* dx, int64_t rows, int64_t n) {
  parallel_ranges(rows, 4 * n, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* __restrict yr = y + r * n;
      const T* __restrict gr = dy + r * n;
      T* __restrict dr = dx + r * n;
      if (log) {
        const T s = row_sum(gr, n);
        for (int64_t i = 0; i < n; ++i) dr[i] = gr[i] - exp_fast(yr[i]) * s;
      } else {
        const T dot = row_dot(gr, yr, n);
        for (int64_t i = 0; i < n; ++i) dr[i] = yr[i] * (gr[i] - dot);
      }
    }
  });
}

// ---------------------------------------------------------------- softmax, a middle axis
// (outer, n, inner) with inner > 1: each work item takes one outer index and a block of
// up to kColBlock columns, and walks the n rows of that block with the columns innermost
// (contiguous), keeping the per-column max and sum on the stack.
template <class Body>
void for_column_blocks(int64_t outer, int64_t n, int64_t inner, Body body) {
  const int64_t blocks = (inner + kColBlock - 1) / kColBlock;
  parallel_ranges(outer * blocks, 4 * n * (inner < kColBlock ? inner : kColBlock), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / blocks, j0 = (item % blocks) * kColBlock;
      const int64_t w = inner - j0 < kColBlock ? inner - j0 : kColBlock;
      body(o * n * inner + j0, w);
    }
  });
}

template <class T>
void softmax_columns(bool log, const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  for_column_blocks(outer, n, inner, [&](int64_t base, int64_t w) {
    T m[kColBlock], s[kColBlock];
    for (int64_t j = 0; j < w; ++j) { m[j] = T(-INFINITY); s[j] = T(0); }
    for (int64_t c = 0; c < n; ++c) {
      const T* __restrict xr = x + base + c * inner;
      for (int64_t j = 0; j < w; ++j) m[j] = xr[j] > m[j] ? xr[j] : m[j];
    }
    for (int64_t c = 0; c < n; ++c) {
      const T* __restrict xr = x + base + c * inner;
      T* __restrict yr = y + base + c * inner;
      for (int64_t j = 0; j < w; ++j) {
        yr[j] = exp_fast(xr[j] - m[j]);
        s[j] += yr[j];
      }
    }
    if (log) {
      for (int64_t j = 0; j < w; ++j) s[j] = static_cast<T>(::log(s[j]));
      for (int64_t c = 0; c < n; ++c) {
        const T* __restrict xr = x + base + c * inner;
        T* __restrict yr = y + base + c * inner;
        for (int64_t j = 0; j < w; ++j) yr[j] = (xr[j] - m[j]) - s[j];
      }
    } else {
      for (int64_t j = 0; j < w; ++j) s[j] = T(1) / s[j];
      for (int64_t c = 0; c < n; ++c) {
        T* __restrict yr = y + base + c * inner;
        for (int64_t j = 0; j < w; ++j) yr[j] *= s[j];
      }
    }
  });
}

template <class T>
void softmax_backward_columns(bool log, const T* y, const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner) {
  for_column_blocks(outer, n, inner, [&](int64_t base, int64_t w) {
    T s[kColBlock];
    for (int64_t j = 0; j < w; ++j) s[j] = T(0);
    for (int64_t c = 0; c < n; ++c) {
      const T* __restrict yr = y + base + c * inner;
      const T* __restrict gr = dy + base + c * inner;
      if (log) for (int64_t j = 0; j < w; ++j) s[j] += gr[j];
      else for (int64_t j = 0; j < w; ++j) s[j] += gr[j] * yr[j];
    }
    for (int64_t c = 0; c < n; ++c) {
      const T* __restrict yr = y + base + c * inner;
      const T* __restrict gr = dy + base + c * inner;
      T* __restrict dr = dx + base + c * inner;
      if (log) for (int64_t j = 0; j < w; ++j) dr[j] = gr[j] - exp_fast(yr[j]) * s[j];
      else for (int64_t j = 0; j < w; ++j) dr[j] = yr[j] * (gr[j] - s[j]);
    }
  });
}

// ---------------------------------------------------------------- fused cross-entropy
// One row: max, exps (into the dlogits row when there is one, which then becomes the
// gradient in place while it is still in L1; for short rows a block of rows at a time),
// log-sum-exp, loss. Templated on whether there are class weights and label smoothing so
// that the common case carries neither.
template <class T, bool kWeighted, bool kSmooth>
__attribute__((flatten)) void cross_entropy_range(const CrossEntropyRows& a, T w_total, int64_t b, int64_t e) {
  const T* logits = static_cast<const T*>(a.logits);
  const T* w = static_cast<const T*>(a.weight);
  T* loss = static_cast<T*>(a.loss);
  T* dlogits = static_cast<T*>(a.dlogits);
  const int64_t n = a.classes;
  const T eps = static_cast<T>(a.label_smoothing), scale = static_cast<T>(a.grad_scale), classes = static_cast<T>(n);
  const bool short_rows = n < kShortRows;
  T block_exps[kChunk], maxes[kChunk];
  for (int64_t r0 = b; r0 < e; r0 += short_rows ? kChunk / n : e - b) {
    const int64_t r1 = !short_rows || e - r0 < kChunk / n ? e : r0 + kChunk / n;
    T* exps = dlogits ? dlogits + r0 * n : block_exps;  // short rows: the block's exps, row by row
    if (short_rows) exp_block_shifted(logits + r0 * n, exps, maxes, r1 - r0, n);
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict x = logits + r * n;
      T* __restrict d = dlogits ? dlogits + r * n : nullptr;
      const int64_t t = a.target[r];
      if (t == a.ignore_index) {
        loss[r] = T(0);
        if (d) for (int64_t c = 0; c < n; ++c) d[c] = T(0);
        continue;
      }
      const T m = short_rows ? maxes[r - r0] : row_max(x, n);
      const T s = short_rows ? row_sum(exps + (r - r0) * n, n)
                  : d        ? exp_shifted(x, d, n, m)
                             : exp_shifted_sum(x, n, m);
      const T log_s = static_cast<T>(::log(s));
      const T w_t = kWeighted ? w[t] : T(1);
      T sum_wx = 0;
      if (kSmooth) sum_wx = row_sum_shifted(kWeighted ? w : nullptr, x, n, m);
      loss[r] = cross_entropy_row_loss(log_s, x[t] - m, w_t, eps, classes, w_total, sum_wx);
      if (!d) continue;
      // d[c] holds e^(x_c - m) = s p_c: scale it to the gradient in place.
      const T coef = ((T(1) - eps) * w_t + eps / classes * w_total) * scale / s;
      if (!kSmooth) {
        for (int64_t c = 0; c < n; ++c) d[c] *= coef;
      } else if (!kWeighted) {
        const T shift = eps / classes * scale;
        for (int64_t c = 0; c < n; ++c) d[c] = d[c] * coef - shift;
      } else {
        const T shift = eps / classes * scale;
        for (int64_t c = 0; c < n; ++c) d[c] = d[c] * coef - shift * w[c];
      }
      d[t] -= (T(1) - eps) * w_t * scale;
    }
  }
}

// flatten (above): the row helpers are inlined into the range whatever this file's
// inlining budget, so short rows (10 classes) do not pay a call per helper per row.
template <class T, bool kWeighted, bool kSmooth>
void cross_entropy_rows(const CrossEntropyRows& a) {
  const T w_total = kWeighted ? row_sum(static_cast<const T*>(a.weight), a.classes) : static_cast<T>(a.classes);
  parallel_ranges(a.rows, 4 * a.classes, [&](int64_t b, int64_t e) {
    cross_entropy_range<T, kWeighted, kSmooth>(a, w_total, b, e);
  });
}

template <class T>
void cross_entropy_rows(const CrossEntropyRows& a) {
  const bool weighted = a.weight != nullptr, smooth = a.label_smoothing > 0;
  if (weighted && smooth) cross_entropy_rows<T, true, true>(a);
  else if (weighted) cross_entropy_rows<T, true, false>(a);
  else if (smooth) cross_entropy_rows<T, false, true>(a);
  else cross_entropy_rows<T, false, false>(a);
}

}  // namespace

void softmax_kernel(DType dtype, bool log, const void* x, void* y, int64_t outer, int64_t n, int64_t inner) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    if (inner == 1) softmax_rows(log, static_cast<const T*>(x), static_cast<T*>(y), outer, n);
    else softmax_columns(log, static_cast<const T*>(x), static_cast<T*>(y), outer, n, inner);
  });
}

void softmax_backward_kernel(DType dtype, bool log, const void* y, const void* dy, void* dx, int64_t outer, int64_t n,
                             int64_t inner) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const T* yp = static_cast<const T*>(y);
    const T* gp = static_cast<const T*>(dy);
    if (inner == 1) softmax_backward_rows(log, yp, gp, static_cast<T*>(dx), outer, n);
    else softmax_backward_columns(log, yp, gp, static_cast<T*>(dx), outer, n, inner);
  });
}

void cross_entropy_rows_kernel(DType dtype, const CrossEntropyRows& args) {
  PYDL_DISPATCH_FLOAT(dtype, T, cross_entropy_rows<T>(args));
}

PYDL_KERNELS_END
