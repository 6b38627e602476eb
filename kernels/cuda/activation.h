// Pointwise activations on CUDA, forward and backward: the contracts of
// kernels/cpu/activation.h, with the same scalar functors (kernels/common/activation.h),
// over contiguous memory. Grid-stride, 128-bit loads and stores where every pointer is
// 16-byte aligned, element by element otherwise.
#pragma once
#include <stdint.h>

#include "kernels/common/activation.h"
#include "kernels/common/dtype.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void activation_forward(Activation act, DType dtype, const void* x, void* y, int64_t n, double p0, double p1,
                        void* stream, LaunchCheck check);
void activation_backward(Activation act, DType dtype, const void* dy, const void* v, void* dx, int64_t n, double p0,
                         double p1, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
