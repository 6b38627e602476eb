// 2-d pooling on CUDA (float32 and float64), the twins of kernels/cpu/pool.h, over
// contiguous (planes, h, w) inputs and (planes, out_h, out_w) outputs; same semantics
// (window bounds, NaN and tie rules, divisors, indices) as the CPU.
//
// Forwards: one thread per output, visiting the window in the CPU's order. Backwards
// are gathers, one thread per input element: it sums the gradients of the outputs whose
// windows hold it, in increasing output order (the order in which the CPU's scatter adds
// them, so the sums agree bit for bit; max-pool's dilated windows of padding only take a
// second pass). No atomics: overlapping windows are race-free and every result is
// reproducible.
#pragma once
#include <stdint.h>

#include "kernels/common/conv.h"
#include "kernels/common/dtype.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, int64_t* indices, void* stream,
                        LaunchCheck check);
// p must hold the forward's window (kernel, stride, padding, dilation): only the outputs
// whose window covers an input can have picked it. The exception, a dilated window wholly in
// the padding, takes a second pass (see pool.cu). An index outside the plane carries no
// gradient; any other index outside its window (not one the forward gives) is ignored.
void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* dy, const int64_t* indices, void* dx,
                         void* stream, LaunchCheck check);

void avg_pool2d_forward(DType dtype, const Pool2dParams& p, bool count_include_pad, int64_t divisor_override,
                        const void* x, void* y, void* stream, LaunchCheck check);
void avg_pool2d_backward(DType dtype, const Pool2dParams& p, bool count_include_pad, int64_t divisor_override,
                         const void* dy, void* dx, void* stream, LaunchCheck check);

// out_h = out_w = 1 (the global average pool) reduces each plane with one warp.
void adaptive_avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, void* stream,
                                 LaunchCheck check);
void adaptive_avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* dy, void* dx, void* stream,
                                  LaunchCheck check);

}  // namespace pydl::cuda_kernels
