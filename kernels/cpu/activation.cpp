// Dispatch of the activation kernels to their per-ISA copies (activation_isa.cpp).
#include "kernels/cpu/activation.h"

#include "kernels/cpu/isa.h"

PYDL_ISA_DECLARE(void activation_forward_kernel(Activation, DType, const void*, void*, int64_t, double, double))
PYDL_ISA_DECLARE(void activation_backward_kernel(Activation, DType, const void*, const void*, void*, int64_t, double,
                                                 double))

namespace pydl::cpu {

void activation_forward(Activation act, DType dtype, const void* x, void* y, int64_t n, double p0, double p1) {
  PYDL_ISA_CALL(activation_forward_kernel, act, dtype, x, y, n, p0, p1);
}

void activation_backward(Activation act, DType dtype, const void* dy, const void* v, void* dx, int64_t n, double p0,
                         double p1) {
  PYDL_ISA_CALL(activation_backward_kernel, act, dtype, dy, v, dx, n, p0, p1);
}

}  // namespace pydl::cpu
