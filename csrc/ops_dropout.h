// Inverted dropout: argument checks, allocation, one kernel call each.
#pragma once
#include <tuple>

#include "csrc/array.h"

namespace pydl {

// Inverted dropout in training mode: (out, mask), mask a bool array of x's shape. Draws
// x.numel() fresh positions of the global Philox stream (none for p = 0 or p = 1).
std::tuple<Array, Array> dropout(const Array& x, double p);
// grad * mask / (1 - p) (zeros for p = 1).
Array dropout_backward(const Array& grad, const Array& mask, double p);

}  // namespace pydl
