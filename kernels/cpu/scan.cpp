// Scans on the CPU: each (outer, inner) column walked along r in order. Columns of a
// contiguous block (inner > 1) are walked side by side, so the inner loop runs along memory.
#include "kernels/cpu/scan.h"

#include <vector>

#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

using kernels::ScanAcc;
using kernels::parallel_ranges;
using kernels::scan_identity;
using kernels::scan_step;

namespace {

// One column per row (inner == 1): the accumulator stays in a register.
template <class T, class Op>
void scan_rows(Op, const T* in, T* out, int64_t rows, int64_t r, bool reverse, bool exclusive) {
  using A = ScanAcc<T>;
  constexpr ScanOp op = Op::value;
  parallel_ranges(rows, r, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      A acc = scan_identity<A>(op);
      for (int64_t step = 0; step < r; ++step) {
        const int64_t at = o * r + (reverse ? r - 1 - step : step);
        const A next = scan_step<A>(op, acc, A(in[at]));
        out[at] = static_cast<T>(exclusive ? acc : next);
        acc = next;
      }
    }
  });
}

template <class T, class Op>
void scan_block(Op tag, const T* in, T* out, int64_t outer, int64_t r, int64_t inner, bool reverse,
                bool exclusive) {
  using A = ScanAcc<T>;
  constexpr ScanOp op = Op::value;
  if (inner == 1) return scan_rows(tag, in, out, outer, r, reverse, exclusive);
  parallel_ranges(outer, r * inner, [&](int64_t b, int64_t e) {
    std::vector<A> acc(inner);
    for (int64_t o = b; o < e; ++o) {
      acc.assign(inner, scan_identity<A>(op));
      for (int64_t step = 0; step < r; ++step) {
        const int64_t k = reverse ? r - 1 - step : step;
        const T* x = in + (o * r + k) * inner;
        T* y = out + (o * r + k) * inner;
        for (int64_t j = 0; j < inner; ++j) {
          const A next = scan_step<A>(op, acc[j], A(x[j]));
          y[j] = static_cast<T>(exclusive ? acc[j] : next);
          acc[j] = next;
        }
      }
    }
  });
}

}  // namespace

void scan(ScanOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t r, int64_t inner, bool reverse,
          bool exclusive) {
  kernels::with_scan(op, [&](auto tag) {
    PYDL_DISPATCH_NUMERIC(dtype, T, scan_block<T>(tag, static_cast<const T*>(in), static_cast<T*>(out), outer, r,
                                                  inner, reverse, exclusive));
  });
}

}  // namespace pydl::cpu
