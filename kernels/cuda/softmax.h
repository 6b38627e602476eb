// Softmax and log-softmax on CUDA over the middle axis of a contiguous (outer, n, inner)
// block: the contracts of kernels/cpu/softmax.h.
//  - inner == 1 (the last axis, the hot case): a row per warp for n <= 1024, a row per
//    block (512 threads, 1024 from n = 8192) beyond; the max and the sum of exps in one
//    read (online: the sum is rescaled whenever the running max grows), warp shuffles
//    then shared memory, 128-bit loads and stores when the rows are 16-byte aligned.
//  - inner > 1: a thread per (outer, column), walking n with the columns coalesced.
// The sums run in another order than the CPU's, so results agree to rounding.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void softmax(DType dtype, bool log, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, void* stream,
             LaunchCheck check);
// softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - e^y sum(dy).
void softmax_backward(DType dtype, bool log, const void* y, const void* dy, void* dx, int64_t outer, int64_t n,
                      int64_t inner, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
