// Convolution and pooling ops (ops_conv.cpp): argument checks, allocation, one kernel call.
// Inputs are (N, C, H, W) or unbatched (C, H, W), any strides; results are contiguous.
// Hyper-parameters come as (h, w) pairs; conv2d's padding may also be (top, left, bottom, right).
#pragma once
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "csrc/array.h"

namespace pydl {

using Ints = std::vector<int64_t>;

// relu: max(y, 0) after the bias (in the CUDA kernel's write-back).
Array conv2d(const Array& x, const Array& weight, const std::optional<Array>& bias, const Ints& stride,
             const Ints& padding, const Ints& dilation, int64_t groups, bool relu);
Array conv2d_backward_input(const Array& grad, const Array& weight, const Shape& input_shape, const Ints& stride,
                            const Ints& padding, const Ints& dilation, int64_t groups);
Array conv2d_backward_weight(const Array& grad, const Array& x, const Shape& weight_shape, const Ints& stride,
                             const Ints& padding, const Ints& dilation, int64_t groups);
Array conv2d_backward_bias(const Array& grad);

// (values, int64 indices into each H * W plane)
std::tuple<Array, Array> max_pool2d(const Array& x, const Ints& kernel_size, const Ints& stride, const Ints& padding,
                                    const Ints& dilation, bool ceil_mode);
// kernel_size (and stride, padding, dilation) as in the forward; the CPU needs none of them (an
// empty kernel_size), CUDA needs them all.
Array max_pool2d_backward(const Array& grad, const Array& indices, const Shape& input_shape, const Ints& kernel_size,
                          const Ints& stride, const Ints& padding, const Ints& dilation);
Array avg_pool2d(const Array& x, const Ints& kernel_size, const Ints& stride, const Ints& padding, bool ceil_mode,
                 bool count_include_pad, int64_t divisor_override);  // divisor_override 0: none
Array avg_pool2d_backward(const Array& grad, const Shape& input_shape, const Ints& kernel_size, const Ints& stride,
                          const Ints& padding, bool ceil_mode, bool count_include_pad, int64_t divisor_override);
Array adaptive_avg_pool2d(const Array& x, const Ints& output_size);
Array adaptive_avg_pool2d_backward(const Array& grad, const Shape& input_shape);

}  // namespace pydl
