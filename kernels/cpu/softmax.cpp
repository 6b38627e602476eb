// Dispatch of softmax / log-softmax to their per-ISA copies (softmax_isa.cpp, where the
// exp they share with the pointwise family is compiled for each ISA).
#include "kernels/cpu/softmax.h"

#include "kernels/cpu/isa.h"

PYDL_ISA_DECLARE(void softmax_kernel(DType, bool, const void*, void*, int64_t, int64_t, int64_t))
PYDL_ISA_DECLARE(void softmax_backward_kernel(DType, bool, const void*, const void*, void*, int64_t, int64_t, int64_t))

namespace pydl::cpu {

void softmax(DType dtype, bool log, const void* x, void* y, int64_t outer, int64_t n, int64_t inner) {
  PYDL_ISA_CALL(softmax_kernel, dtype, log, x, y, outer, n, inner);
}

void softmax_backward(DType dtype, bool log, const void* y, const void* dy, void* dx, int64_t outer, int64_t n,
                      int64_t inner) {
  PYDL_ISA_CALL(softmax_backward_kernel, dtype, log, y, dy, dx, outer, n, inner);
}

}  // namespace pydl::cpu
