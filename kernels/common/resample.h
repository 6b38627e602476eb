// Resampling along one axis of a contiguous (outer, size, inner) block: each output position
// i takes `taps` source positions src[i * taps + t] with weights w[i * taps + t] (no weights:
// one tap, a copy). Padding (reflect, replicate, circular) and nearest resizing are one tap;
// linear resizing two. The backward adds each output's gradient, weighted, onto its sources.
// Both backends accumulate every input position in the same order (output positions
// ascending, taps in order), so the CPU and CUDA give the same bits.
#pragma once
#include <stdint.h>

namespace pydl {

struct ResampleAxis {
  int64_t outer = 1, in_size = 0, out_size = 0, inner = 1;
  int taps = 1;
  const int64_t* src = nullptr;  // out_size * taps positions in [0, in_size)
  const void* weight = nullptr;  // out_size * taps of the data's dtype, or nullptr (one tap, weight 1)
};

}  // namespace pydl
