// 2-d convolution on CUDA (float32 and float64), NCHW, the twin of kernels/cpu/conv.h:
// forward, input gradient and weight gradient as implicit GEMMs (conv.cu): no im2col
// buffer, the operands are gathered from x, w and dy while shared-memory tiles are staged.
// Every pointer is to contiguous device data: x (n, c_in, h, w), w (c_out, c_in / groups,
// kh, kw), y / dy (n, c_out, out_h, out_w), bias / dbias (c_out). Results are written, not
// accumulated, and are reproducible run to run (no atomics; fixed reduction orders).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernels/common/conv.h"
#include "kernels/common/dtype.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

// Whether the kernels' 32-bit index math holds for p: the images' planes (h * w and
// out_h * out_w), the taps per group (c_in / groups * kh * kw, c_out / groups * kh * kw),
// the channel counts below 2^31, the padded extents below 2^30 (csrc/ refuses larger ones).
// Offsets into the tensors are int64 in any case. Inline: csrc/ calls it in any build.
inline bool conv2d_fits(const Conv2dParams& p) {
  constexpr int64_t kMax = 2147483647, kHalf = int64_t(1) << 30;  // sums of two terms below kHalf fit
  const int64_t taps = p.kh * p.kw;
  return p.h * p.w <= kMax && p.out_h * p.out_w <= kMax && p.c_in <= kMax && p.c_out <= kMax &&
         p.c_in / p.groups * taps <= kMax && p.c_out / p.groups * taps <= kMax && p.h + p.pad_h < kHalf &&
         p.w + p.pad_w < kHalf && (p.kh - 1) * p.dil_h < kHalf && (p.kw - 1) * p.dil_w < kHalf &&
         p.out_h * p.stride_h < kHalf && p.out_w * p.stride_w < kHalf;
}

// y = conv(x, w) + bias (bias may be null), then max(y, 0) when relu.
void conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias, bool relu,
                    void* y, void* stream, LaunchCheck check);
void conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* dy, const void* w, void* dx, void* stream,
                           LaunchCheck check);
// The weight gradient splits its long reduction (over batch and pixels) into chunks whose
// partial sums go to `workspace` and are then added in a fixed order.
size_t conv2d_backward_weight_workspace_bytes(DType dtype, const Conv2dParams& p);
void conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* dy, const void* x, void* dw,
                            void* workspace, void* stream, LaunchCheck check);
// dbias[c] = the sum of dy over batch and pixels of channel c (a block per channel).
void conv2d_backward_bias(DType dtype, const Conv2dParams& p, const void* dy, void* dbias, void* stream,
                          LaunchCheck check);

}  // namespace pydl::cuda_kernels
