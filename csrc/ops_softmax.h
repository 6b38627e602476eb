// Softmax and log-softmax: checks, allocation, one kernel call (ops_softmax.cpp).
// (The pointwise activations are the unary family: unary() in csrc/ops.h.)
#pragma once
#include <cstdint>

#include "csrc/array.h"

namespace pydl {

// softmax or log_softmax of x along dim, and the backward from the forward's output y.
Array softmax(const Array& x, int64_t dim, bool log);
Array softmax_backward(const Array& y, const Array& grad, int64_t dim, bool log);

}  // namespace pydl
