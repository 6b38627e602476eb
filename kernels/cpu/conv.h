// 2-d convolution on the CPU (float32 and float64), NCHW: direct kernels or im2col + GEMM,
// whichever suits the shapes (see conv.cpp).
// Every pointer is to contiguous data: x (n, c_in, h, w), w (c_out, c_in / groups, kh, kw),
// y / dy (n, c_out, out_h, out_w), bias / dbias (c_out).
#pragma once
#include "kernels/common/conv.h"
#include "kernels/common/dtype.h"

namespace pydl::cpu {

// Which kernels run: chosen per call from the shapes (Auto), or forced for every call to
// im2col + GEMM or to the direct kernels (for tests that cover both paths).
enum class ConvPath : int { Auto, Gemm, Direct };
void conv_force_path(ConvPath path);

// y = conv(x, w) + bias (bias may be null), then a ReLU where relu is set.
void conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias, void* y,
                    bool relu = false);
// dx = the gradient of the input (written, not accumulated).
void conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* dy, const void* w, void* dx);
// dw = the gradient of the weight (written, not accumulated).
void conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* dy, const void* x, void* dw);
// dbias[c] = sum of dy over batch and pixels of channel c.
void conv2d_backward_bias(DType dtype, const Conv2dParams& p, const void* dy, void* dbias);

}  // namespace pydl::cpu
