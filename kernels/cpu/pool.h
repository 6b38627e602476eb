// 2-d pooling on the CPU (float32 and float64) over contiguous (planes, h, w) inputs,
// planes = batch * channels; outputs (planes, out_h, out_w). See pool.cpp.
#pragma once
#include <stdint.h>

#include "kernels/common/conv.h"
#include "kernels/common/dtype.h"

namespace pydl::cpu {

// y = the window maxima (NaN wins, as PyTorch); indices = their flat position ih * w + iw
// within the plane (int64). A window wholly in the padding (possible with dilation) gives
// -inf and, as PyTorch, an index past the plane.
void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, int64_t* indices);
// dx (written, not accumulated) gets dy added at each index; an index outside [0, h * w)
// (such an empty window's) carries no gradient, and nothing is written out of bounds.
void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* dy, const int64_t* indices, void* dx);

// Window means; the divisor is divisor_override when > 0, else the window size with
// (count_include_pad) or without the padding, as PyTorch.
void avg_pool2d_forward(DType dtype, const Pool2dParams& p, bool count_include_pad, int64_t divisor_override,
                        const void* x, void* y);
void avg_pool2d_backward(DType dtype, const Pool2dParams& p, bool count_include_pad, int64_t divisor_override,
                         const void* dy, void* dx);

// Adaptive average pooling to (out_h, out_w) (the kernel/stride fields of p are unused).
void adaptive_avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y);
void adaptive_avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* dy, void* dx);

}  // namespace pydl::cpu
