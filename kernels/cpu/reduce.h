// Reductions on the CPU over the middle axis of a contiguous (outer, r, inner) block.
// csrc/ brings any reduction over any set of axes to this form.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/reduce.h"

namespace pydl::cpu {

// out: (outer, inner) of dtype. Sum over integers takes int64 in and out. Var divides
// the sum of squared deviations by max(r - correction, 0).
void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t r, int64_t inner,
            double correction = 0);
// Index (int64) of the first max (or min) along r; values optional (nullptr to skip).
void arg_reduce(bool is_max, DType dtype, const void* in, void* values, int64_t* indices, int64_t outer,
                int64_t r, int64_t inner);

}  // namespace pydl::cpu
