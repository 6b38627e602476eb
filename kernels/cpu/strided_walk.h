// Walks a StridedLoop on the CPU: the outer dims are split across threads, the
// innermost dim is handed to `body(ptrs, inner_strides, n)` as one run, so the
// body can take a vectorized path when the run is contiguous. `cost`: the work per
// element relative to a copy, which decides how small a loop still gets threads.
#pragma once
#include "kernels/common/strided.h"
#include "kernels/cpu/parallel.h"

PYDL_KERNELS_BEGIN

template <class Body>
void walk_strided(const StridedLoop& L, Body body, int64_t cost = 1) {
  const int nd = L.ndim, nops = L.nops;
  const int64_t numel = L.numel();
  if (numel == 0) return;
  const int64_t inner = nd ? L.shape[nd - 1] : 1;
  const int64_t outer = numel / inner;
  int64_t inner_strides[kMaxOperands] = {};
  for (int op = 0; op < nops; ++op) inner_strides[op] = nd ? L.strides[op][nd - 1] : 0;

  if (outer == 1) {  // one long run: split it
    parallel_ranges(inner, cost, [&](int64_t begin, int64_t end) {
      char* ptrs[kMaxOperands];
      for (int op = 0; op < nops; ++op) ptrs[op] = L.data[op] + begin * inner_strides[op];
      body(ptrs, inner_strides, end - begin);
    });
    return;
  }
  parallel_ranges(outer, inner * cost, [&](int64_t begin, int64_t end) {
    // Odometer over the outer dims, started at `begin`.
    int64_t idx[kMaxDims] = {};
    int64_t rem = begin;
    for (int d = nd - 2; d >= 0; --d) {
      idx[d] = rem % L.shape[d];
      rem /= L.shape[d];
    }
    char* ptrs[kMaxOperands];
    for (int op = 0; op < nops; ++op) {
      int64_t off = 0;
      for (int d = 0; d < nd - 1; ++d) off += idx[d] * L.strides[op][d];
      ptrs[op] = L.data[op] + off;
    }
    for (int64_t o = begin; o < end; ++o) {
      body(ptrs, inner_strides, inner);
      for (int d = nd - 2; d >= 0; --d) {
        for (int op = 0; op < nops; ++op) ptrs[op] += L.strides[op][d];
        if (++idx[d] < L.shape[d]) break;
        for (int op = 0; op < nops; ++op) ptrs[op] -= L.strides[op][d] * L.shape[d];
        idx[d] = 0;
      }
    }
  });
}

PYDL_KERNELS_END
