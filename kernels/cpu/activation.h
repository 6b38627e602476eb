// Pointwise activations on the CPU, forward and backward, over contiguous memory.
#pragma once
#include <stdint.h>

#include "kernels/common/activation.h"
#include "kernels/common/dtype.h"

namespace pydl::cpu {

// y = act(x); n elements of dtype (float32 or float64). p0, p1: the activation's
// parameters (LeakyRelu: slope; Softplus: beta, threshold).
void activation_forward(Activation act, DType dtype, const void* x, void* y, int64_t n, double p0, double p1);
// dx = dy * act'(.) from v: the forward's output for sigmoid and tanh, its input otherwise
// (grad_from_output in kernels/common/activation.h).
void activation_backward(Activation act, DType dtype, const void* dy, const void* v, void* dx, int64_t n, double p0,
                         double p1);

}  // namespace pydl::cpu
