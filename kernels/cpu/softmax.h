// Softmax and log-softmax on the CPU over the middle axis of a contiguous
// (outer, n, inner) block; csrc/ brings any axis of any tensor to this form.
// Stable: the max along the axis is subtracted before exp, log-softmax is
// (x - max) - log(sum exp(x - max)).
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"

namespace pydl::cpu {

// y = softmax(x) or log_softmax(x) along n.
void softmax(DType dtype, bool log, const void* x, void* y, int64_t outer, int64_t n, int64_t inner);
// dx from the forward's output y and dy: softmax y (dy - sum(dy y)); log-softmax dy - e^y sum(dy).
void softmax_backward(DType dtype, bool log, const void* y, const void* dy, void* dx, int64_t outer, int64_t n,
                      int64_t inner);

}  // namespace pydl::cpu
