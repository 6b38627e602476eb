// Reductions on CUDA over the middle axis of a contiguous (outer, r, inner) block, the
// form csrc/ brings every reduction to (the same as the CPU's kernels/cpu/reduce.h).
// Deterministic: no atomics; every output is combined in a fixed order for a given
// shape. Rows (inner == 1) reduce with one block per row (warp shuffles, then shared
// memory), or one warp per row when rows are short (shuffles only); columns with one
// thread per output walking r. When r is large and there
// are few outputs, r is split into chunks: pass 1 writes per-chunk partials into the
// caller's workspace, pass 2 combines them in chunk order.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/reduce.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

// Device scratch bytes reduce() / arg_reduce() need for this shape (may be 0).
size_t reduce_workspace_bytes(ReduceOp op, DType dtype, int64_t outer, int64_t r, int64_t inner);
size_t arg_reduce_workspace_bytes(DType dtype, int64_t outer, int64_t r, int64_t inner);

// out: (outer, inner) of dtype; r >= 1. Sum over integers is int64 in and out; Var divides
// the sum of squared deviations from the mean by max(r - correction, 0).
void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t r, int64_t inner,
            double correction, void* workspace, void* stream, LaunchCheck check);
// Index (int64) of the first max (min) along r, a NaN winning (the first one); values optional.
void arg_reduce(bool is_max, DType dtype, const void* in, void* values, int64_t* indices, int64_t outer, int64_t r,
                int64_t inner, void* workspace, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
