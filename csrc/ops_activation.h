// Activations and softmax: checks, allocation, one kernel call (ops_activation.cpp).
#pragma once
#include <cstdint>

#include "csrc/array.h"
#include "kernels/common/activation.h"

namespace pydl {

const char* op_name(Activation act);
// y = act(x) for a float tensor; p0, p1: LeakyRelu's slope, Softplus' beta and threshold.
Array activation(Activation act, const Array& x, double p0, double p1);
// dx from grad and `saved`: the forward's output for sigmoid and tanh, its input otherwise.
Array activation_backward(Activation act, const Array& grad, const Array& saved, double p0, double p1);

// softmax or log_softmax of x along dim, and the backward from the forward's output y.
Array softmax(const Array& x, int64_t dim, bool log);
Array softmax_backward(const Array& y, const Array& grad, int64_t dim, bool log);

}  // namespace pydl
