// Resampling along one axis of a contiguous (outer, size, inner) block: each output position
// i takes `taps` source positions src[i * taps + t] with weights w[i * taps + t] (no weights:
// one tap, a copy). Padding (reflect, replicate, circular) and nearest resizing are one tap;
// linear resizing two. The backward adds each output's gradient, weighted, onto its sources.
// Both backends accumulate every input position in the same order (output positions
// ascending, taps in order; one-tap runs of a repeated source summed first, add_runs), so the
// CPU and CUDA give the same bits.
#pragma once
#include <stdint.h>

#include "kernels/common/macros.h"

namespace pydl {

struct ResampleAxis {
  int64_t outer = 1, in_size = 0, out_size = 0, inner = 1;
  int taps = 1;
  const int64_t* src = nullptr;  // out_size * taps positions in [0, in_size)
  const void* weight = nullptr;  // out_size * taps of the data's dtype, or nullptr (one tap, weight 1)
};

}  // namespace pydl

PYDL_KERNELS_BEGIN

// The one-tap backward of a column (entries `stride` apart): dx[src[i]] += g[i] for i in order,
// with each run of equal consecutive sources summed first in a register (nearest upsampling
// repeats every source: one add into memory per run, not a chain of dependent read-modify-
// writes). Both backends run this, so they sum in the same order.
template <class T>
PYDL_HD void add_runs(const int64_t* src, int64_t n, const T* g, T* dx, int64_t stride = 1) {
  for (int64_t i = 0; i < n;) {
    const int64_t target = src[i];
    T run = g[i * stride];
    for (++i; i < n && src[i] == target; ++i) run += g[i * stride];
    dx[target * stride] += run;
  }
}

PYDL_KERNELS_END
