// Reductions. Sums are numerically careful: along a contiguous row, pairwise
// summation over blocks of 8 partial sums (error O(log n) ulp, as numpy);
// down columns, accumulation in double (or int64).
#include "kernels/cpu/reduce.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/parallel.h"

PYDL_ISA_DECLARE(void add_rows_kernel(bool, const void*, int64_t, int64_t, int64_t, double*))

namespace pydl::cpu {

using kernels::parallel_ranges;

namespace {

template <class T>
using Acc = std::conditional_t<std::is_floating_point<T>::value, double, int64_t>;

// Pairwise sum of n contiguous values of (x - shift)^power (power 1 or 2).
template <class T, int power>
T pairwise_sum(const T* x, int64_t n, T shift) {
  auto term = [shift](T v) { T d = v - shift; return power == 2 ? d * d : d; };
  if (n <= 128) {
    T lanes[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += term(x[i + l]);
    T s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; i < n; ++i) s += term(x[i]);
    return s;
  }
  int64_t half = (n / 2 + 7) & ~int64_t(7);
  return pairwise_sum<T, power>(x, half, shift) + pairwise_sum<T, power>(x + half, n - half, shift);
}

template <class T>
void sum_rows(const T* in, T* out, int64_t outer, int64_t r, double scale) {
  parallel_ranges(outer, r, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      if constexpr (std::is_floating_point<T>::value)
        out[o] = static_cast<T>(pairwise_sum<T, 1>(in + o * r, r, T(0)) * scale);
      else {
        int64_t s = 0;
        for (int64_t k = 0; k < r; ++k) s += in[o * r + k];
        out[o] = static_cast<T>(s);
      }
    }
  });
}

// acc[j] += x[k * ld + j] for k < rows, j < cols: floats on the per-ISA loop (reduce_isa.cpp).
template <class T>
void add_rows(const T* x, int64_t ld, int64_t rows, int64_t cols, Acc<T>* acc) {
  if constexpr (std::is_floating_point<T>::value) {
    PYDL_ISA_CALL(add_rows_kernel, std::is_same<T, double>::value, x, ld, rows, cols, acc);
  } else {
    for (int64_t k = 0; k < rows; ++k, x += ld)
      for (int64_t j = 0; j < cols; ++j) acc[j] += x[j];
  }
}

template <class T>
void sum_columns(const T* in, T* out, int64_t outer, int64_t r, int64_t inner, double scale) {
  parallel_ranges(outer * inner, r, [&](int64_t b, int64_t e) {
    // Work on runs of columns within one `outer` slice so the inner loop is contiguous.
    std::vector<Acc<T>> acc;
    for (int64_t flat = b; flat < e;) {
      int64_t o = flat / inner, j0 = flat % inner;
      int64_t j1 = std::min(inner, j0 + (e - flat));
      acc.assign(j1 - j0, Acc<T>(0));
      add_rows(in + o * r * inner + j0, inner, r, j1 - j0, acc.data());
      for (int64_t j = j0; j < j1; ++j) out[o * inner + j] = static_cast<T>(acc[j - j0] * scale);
      flat += j1 - j0;
    }
  });
}

template <class T>
void sum(const T* in, T* out, int64_t outer, int64_t r, int64_t inner, double scale) {
  if (inner == 1) sum_rows(in, out, outer, r, scale);
  else sum_columns(in, out, outer, r, inner, scale);
}

// Two passes: the mean, then the sum of squared deviations from it.
template <class T>
void var(const T* in, T* out, int64_t outer, int64_t r, int64_t inner, double correction) {
  std::vector<T> mean(outer * inner);
  sum(in, mean.data(), outer, r, inner, r ? 1.0 / double(r) : 0.0);
  const double denom = std::max(double(r) - correction, 0.0);
  parallel_ranges(outer * inner, r, [&](int64_t b, int64_t e) {
    for (int64_t flat = b; flat < e; ++flat) {
      int64_t o = flat / inner, j = flat % inner;
      const T* base = in + o * r * inner + j;
      double ss;
      if (inner == 1) {
        ss = pairwise_sum<T, 2>(base, r, mean[flat]);
      } else {
        ss = 0;
        for (int64_t k = 0; k < r; ++k) { double d = double(base[k * inner]) - double(mean[flat]); ss += d * d; }
      }
      out[flat] = static_cast<T>(ss / denom);  // denom 0 gives inf or nan, as PyTorch
    }
  });
}

template <class T>
inline bool better(T a, T b, bool is_max) {  // a replaces b; NaN always wins, first NaN kept
  if (b != b) return false;
  if (a != a) return true;
  return is_max ? a > b : a < b;
}

template <class T>
void arg(bool is_max, const T* in, T* values, int64_t* indices, int64_t outer, int64_t r, int64_t inner) {
  parallel_ranges(outer * inner, r, [&](int64_t b, int64_t e) {
    for (int64_t flat = b; flat < e; ++flat) {
      int64_t o = flat / inner, j = flat % inner;
      const T* base = in + o * r * inner + j;
      T best = base[0];
      int64_t best_k = 0;
      for (int64_t k = 1; k < r; ++k)
        if (better(base[k * inner], best, is_max)) { best = base[k * inner]; best_k = k; }
      if (values) values[flat] = best;
      if (indices) indices[flat] = best_k;
    }
  });
}

}  // namespace

void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t r, int64_t inner,
            double correction) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: {
      const double scale = op == ReduceOp::Mean ? 1.0 / double(r) : 1.0;
      PYDL_DISPATCH_NUMERIC(dtype, T, sum(static_cast<const T*>(in), static_cast<T*>(out), outer, r, inner, scale));
      break;
    }
    case ReduceOp::Var:
      PYDL_DISPATCH_FLOAT(dtype, T, var(static_cast<const T*>(in), static_cast<T*>(out), outer, r, inner, correction));
      break;
    case ReduceOp::Max:
    case ReduceOp::Min:
      PYDL_DISPATCH_ALL(dtype, T, arg<T>(op == ReduceOp::Max, static_cast<const T*>(in), static_cast<T*>(out), nullptr,
                                         outer, r, inner));
      break;
  }
}

void arg_reduce(bool is_max, DType dtype, const void* in, void* values, int64_t* indices, int64_t outer, int64_t r,
                int64_t inner) {
  PYDL_DISPATCH_ALL(dtype, T, arg<T>(is_max, static_cast<const T*>(in), static_cast<T*>(values), indices, outer, r,
                                     inner));
}

}  // namespace pydl::cpu
