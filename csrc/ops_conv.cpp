// conv2d and the 2-d poolings: each checks devices, dtypes, shapes and hyper-parameters,
// makes its inputs contiguous, allocates the result and calls one kernel, the CPU's or
// the CUDA one by the inputs' device. Every check runs before any kernel.
#include "csrc/ops_conv.h"

#include <algorithm>
#include <string>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "kernels/common/conv.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/pool.h"

namespace pydl {

namespace {

std::string ints_str(const Ints& v) { return shape_str(v); }

void check_same_dtype(const Array& x, const Array& other, const char* op, const char* what) {
  if (other.dtype() != x.dtype())
    fail<TypeError>(op, ": input is ", dtype_name(x.dtype()), " but ", what, " is ", dtype_name(other.dtype()));
}

void check_image(const Shape& s, const char* op, const char* what) {
  if (s.size() != 3 && s.size() != 4)
    fail<ValueError>(op, ": expected a 3-d (C, H, W) or 4-d (N, C, H, W) ", what, ", got shape ", shape_str(s));
}

// The (N, C, H, W) form of a (C, H, W) or (N, C, H, W) shape.
Shape batched(const Shape& s) { return s.size() == 3 ? Shape{1, s[0], s[1], s[2]} : s; }

void check_pair(const Ints& v, const char* op, const char* name, int64_t min) {
  if (v.size() != 2) fail<ValueError>(op, ": expected ", name, " as an int or a pair of ints, got ", ints_str(v));
  if (v[0] < min || v[1] < min)
    fail<ValueError>(op, ": ", name, " must be ", min > 0 ? "positive" : "non-negative", ", got ", ints_str(v));
}

Conv2dParams conv_params(const Shape& xs, const Shape& ws, const Ints& stride, const Ints& padding,
                         const Ints& dilation, int64_t groups, const char* op) {
  check_image(xs, op, "input");
  if (ws.size() != 4)
    fail<ValueError>(op, ": expected a 4-d weight (C_out, C_in / groups, kH, kW), got shape ", shape_str(ws));
  check_pair(stride, op, "stride", 1);
  check_pair(dilation, op, "dilation", 1);
  if (padding.size() != 2 && padding.size() != 4)
    fail<ValueError>(op, ": expected padding as an int, a pair or (top, left, bottom, right), got ", ints_str(padding));
  for (int64_t v : padding)
    if (v < 0) fail<ValueError>(op, ": padding must be non-negative, got ", ints_str(padding));
  if (groups < 1) fail<ValueError>(op, ": groups must be positive, got ", groups);
  const Shape b = batched(xs);
  Conv2dParams p;
  p.n = b[0];
  p.c_in = b[1];
  p.h = b[2];
  p.w = b[3];
  p.c_out = ws[0];
  p.kh = ws[2];
  p.kw = ws[3];
  p.stride_h = stride[0];
  p.stride_w = stride[1];
  p.dil_h = dilation[0];
  p.dil_w = dilation[1];
  p.pad_h = padding[0];
  p.pad_w = padding[1];
  p.groups = groups;
  const int64_t pad_bottom = padding.size() == 4 ? padding[2] : padding[0];
  const int64_t pad_right = padding.size() == 4 ? padding[3] : padding[1];
  if (p.c_in % groups)
    fail<ValueError>(op, ": input ", shape_str(xs), " has ", p.c_in, " channels, not divisible by groups=", groups);
  if (p.c_out % groups)
    fail<ValueError>(op, ": weight ", shape_str(ws), " has ", p.c_out, " output channels, not divisible by groups=",
                     groups);
  if (ws[1] * groups != p.c_in) {
    if (groups == 1)
      fail<ValueError>(op, ": input ", shape_str(xs), " has ", p.c_in, " channels but weight ", shape_str(ws),
                       " expects ", ws[1]);
    fail<ValueError>(op, ": input ", shape_str(xs), " has ", p.c_in, " channels but weight ", shape_str(ws),
                     " with groups=", groups, " expects ", ws[1] * groups);
  }
  if (p.kh < 1 || p.kw < 1) fail<ValueError>(op, ": expected a non-empty kernel, got weight ", shape_str(ws));
  const int64_t eh = p.dil_h * (p.kh - 1) + 1, ew = p.dil_w * (p.kw - 1) + 1;
  if (p.h + p.pad_h + pad_bottom < eh || p.w + p.pad_w + pad_right < ew)
    fail<ValueError>(op, ": the kernel (", eh, "x", ew, " with dilation) is larger than the padded input (",
                     p.h + p.pad_h + pad_bottom, "x", p.w + p.pad_w + pad_right, ") of input ", shape_str(xs),
                     " and weight ", shape_str(ws));
  p.out_h = kernels::conv_out_size(p.h, p.pad_h + pad_bottom, p.kh, p.stride_h, p.dil_h);
  p.out_w = kernels::conv_out_size(p.w, p.pad_w + pad_right, p.kw, p.stride_w, p.dil_w);
  return p;
}

// The CUDA kernels index planes and taps with 32 bits (kernels/cuda/conv.h).
void check_cuda_conv_size(const Array& a, const Conv2dParams& p, const char* op) {
  if (on_cuda(a) && !cuda_kernels::conv2d_fits(p))
    fail<ValueError>(op, ": on CUDA, image planes, channel counts and taps per group must stay below 2^31 "
                     "elements, got input (", p.n, ", ", p.c_in, ", ", p.h, ", ", p.w, ") and weight (", p.c_out,
                     ", ", p.c_in / p.groups, ", ", p.kh, ", ", p.kw, ")");
}

Shape conv_out_shape(const Conv2dParams& p, bool unbatched) {
  return unbatched ? Shape{p.c_out, p.out_h, p.out_w} : Shape{p.n, p.c_out, p.out_h, p.out_w};
}

void check_grad(const Array& grad, const Shape& expected, const char* op) {
  if (grad.shape() != expected)
    fail<ValueError>(op, ": expected a gradient of shape ", shape_str(expected), ", got ", shape_str(grad.shape()));
}

Pool2dParams pool_params(const Shape& xs, const Ints& kernel, const Ints& stride_in, const Ints& padding,
                         const Ints& dilation, bool ceil_mode, const char* op) {
  check_image(xs, op, "input");
  check_pair(kernel, op, "kernel_size", 1);
  const Ints& stride = stride_in.empty() ? kernel : stride_in;
  check_pair(stride, op, "stride", 1);
  check_pair(padding, op, "padding", 0);
  check_pair(dilation, op, "dilation", 1);
  if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2)
    fail<ValueError>(op, ": padding must be at most half of the kernel size, got padding ", ints_str(padding),
                     " for kernel_size ", ints_str(kernel));
  Pool2dParams p;
  p.planes = 1;
  for (size_t d = 0; d + 2 < xs.size(); ++d) p.planes *= xs[d];
  p.h = xs[xs.size() - 2];
  p.w = xs[xs.size() - 1];
  p.kh = kernel[0];
  p.kw = kernel[1];
  p.stride_h = stride[0];
  p.stride_w = stride[1];
  p.pad_h = padding[0];
  p.pad_w = padding[1];
  p.dil_h = dilation[0];
  p.dil_w = dilation[1];
  p.out_h = kernels::pool_out_size(p.h, p.pad_h, p.kh, p.stride_h, p.dil_h, ceil_mode);
  p.out_w = kernels::pool_out_size(p.w, p.pad_w, p.kw, p.stride_w, p.dil_w, ceil_mode);
  if (p.h < 1 || p.w < 1 || p.out_h < 1 || p.out_w < 1)
    fail<ValueError>(op, ": input ", shape_str(xs), " is too small for kernel_size ", ints_str(kernel), ", stride ",
                     ints_str(stride), ", padding ", ints_str(padding), " and dilation ", ints_str(dilation),
                     " (the output would be ", p.out_h, "x", p.out_w, ")");
  return p;
}


void check_pool_input(const Array& x, const char* op) { check_float(x, op, "input"); }

void check_pool_grad(const Array& grad, const Shape& input_shape, const char* op) {
  check_float(grad, op, "gradient");
  check_image(input_shape, op, "input shape");
}

}  // namespace

// ------------------------------------------------------------------------------ conv2d

Array conv2d(const Array& x, const Array& weight, const std::optional<Array>& bias, const Ints& stride,
             const Ints& padding, const Ints& dilation, int64_t groups, bool relu) {
  const char* op = "conv2d";
  check_same_device(x, weight, op);
  check_float(x, op, "input");
  check_same_dtype(x, weight, op, "weight");
  const Conv2dParams p = conv_params(x.shape(), weight.shape(), stride, padding, dilation, groups, op);
  Array b;
  if (bias) {
    check_same_device(x, *bias, op);
    check_same_dtype(x, *bias, op, "bias");
    if (bias->ndim() != 1 || bias->shape()[0] != p.c_out)
      fail<ValueError>(op, ": expected a bias of shape (", p.c_out, ",) for weight ", shape_str(weight.shape()),
                       ", got shape ", shape_str(bias->shape()));
    b = bias->contiguous();
  }
  check_cuda_conv_size(x, p, op);
  Array y = Array::empty(conv_out_shape(p, x.ndim() == 3), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  const Array xc = x.contiguous(), wc = weight.contiguous();
  const void* bp = bias ? b.data() : nullptr;
  if (on_cuda(x)) {
    PYDL_CUDA_LAUNCH(x.device(), cuda_kernels::conv2d_forward(x.dtype(), p, xc.data(), wc.data(), bp, relu, y.data(),
                                                              stream, check));
    return y;
  }
  cpu::conv2d_forward(x.dtype(), p, xc.data(), wc.data(), bp, y.data(), relu);
  return y;
}

Array conv2d_backward_input(const Array& grad, const Array& weight, const Shape& input_shape, const Ints& stride,
                            const Ints& padding, const Ints& dilation, int64_t groups) {
  const char* op = "conv2d_backward_input";
  check_same_device(grad, weight, op);
  check_float(grad, op, "gradient");
  check_same_dtype(grad, weight, op, "weight");
  const Conv2dParams p = conv_params(input_shape, weight.shape(), stride, padding, dilation, groups, op);
  check_grad(grad, conv_out_shape(p, input_shape.size() == 3), op);
  check_cuda_conv_size(grad, p, op);
  Array dx = Array::empty(input_shape, grad.dtype(), grad.device());
  if (dx.numel() == 0) return dx;
  if (grad.numel() == 0) {
    dx.fill(0.0);
    return dx;
  }
  const Array gc = grad.contiguous(), wc = weight.contiguous();
  PYDL_KERNEL(grad.device(), conv2d_backward_input, grad.dtype(), p, gc.data(), wc.data(), dx.data());
  return dx;
}

Array conv2d_backward_weight(const Array& grad, const Array& x, const Shape& weight_shape, const Ints& stride,
                             const Ints& padding, const Ints& dilation, int64_t groups) {
  const char* op = "conv2d_backward_weight";
  check_same_device(grad, x, op);
  check_float(grad, op, "gradient");
  check_same_dtype(x, grad, op, "gradient");
  const Conv2dParams p = conv_params(x.shape(), weight_shape, stride, padding, dilation, groups, op);
  check_grad(grad, conv_out_shape(p, x.ndim() == 3), op);
  check_cuda_conv_size(grad, p, op);
  Array dw = Array::empty(weight_shape, grad.dtype(), grad.device());
  if (dw.numel() == 0) return dw;
  if (grad.numel() == 0) {
    dw.fill(0.0);
    return dw;
  }
  const Array gc = grad.contiguous(), xc = x.contiguous();
  PYDL_KERNEL_WITH_WORKSPACE(grad.device(), conv2d_backward_weight,
                             cuda_kernels::conv2d_backward_weight_workspace_bytes(grad.dtype(), p), grad.dtype(), p,
                             gc.data(), xc.data(), dw.data());
  return dw;
}

Array conv2d_backward_bias(const Array& grad) {
  const char* op = "conv2d_backward_bias";
  check_float(grad, op, "gradient");
  check_image(grad.shape(), op, "gradient");
  const Shape g = batched(grad.shape());
  Conv2dParams p;
  p.n = g[0];
  p.c_out = g[1];
  p.out_h = g[2];
  p.out_w = g[3];
  Array db = Array::empty({p.c_out}, grad.dtype(), grad.device());
  if (db.numel() == 0) return db;
  if (grad.numel() == 0) {
    db.fill(0.0);
    return db;
  }
  const Array gc = grad.contiguous();
  PYDL_KERNEL(grad.device(), conv2d_backward_bias, grad.dtype(), p, gc.data(), db.data());
  return db;
}

// ------------------------------------------------------------------------------ pooling

std::tuple<Array, Array> max_pool2d(const Array& x, const Ints& kernel_size, const Ints& stride, const Ints& padding,
                                    const Ints& dilation, bool ceil_mode) {
  const char* op = "max_pool2d";
  check_pool_input(x, op);
  const Pool2dParams p = pool_params(x.shape(), kernel_size, stride, padding, dilation, ceil_mode, op);
  const Shape out_shape = with_last_two(x.shape(), p.out_h, p.out_w);
  Array y = Array::empty(out_shape, x.dtype(), x.device());
  Array indices = Array::empty(out_shape, DType::Int64, x.device());
  if (y.numel() == 0) return {y, indices};
  const Array xc = x.contiguous();
  int64_t* ip = reinterpret_cast<int64_t*>(indices.data());
  PYDL_KERNEL(x.device(), max_pool2d_forward, x.dtype(), p, xc.data(), y.data(), ip);
  return {y, indices};
}

Array max_pool2d_backward(const Array& grad, const Array& indices, const Shape& input_shape, const Ints& kernel_size,
                          const Ints& stride, const Ints& padding, const Ints& dilation) {
  const char* op = "max_pool2d_backward";
  check_pool_grad(grad, input_shape, op);
  check_same_device(grad, indices, op);
  if (indices.dtype() != DType::Int64)
    fail<TypeError>(op, ": expected int64 indices, got ", dtype_name(indices.dtype()));
  if (indices.shape() != grad.shape() || grad.ndim() != int64_t(input_shape.size()) ||
      !std::equal(input_shape.begin(), input_shape.end() - 2, grad.shape().begin()))
    fail<ValueError>(op, ": gradient ", shape_str(grad.shape()), " and indices ", shape_str(indices.shape()),
                     " do not match input shape ", shape_str(input_shape));
  Pool2dParams p;
  p.planes = 1;
  for (size_t d = 0; d + 2 < input_shape.size(); ++d) p.planes *= input_shape[d];
  p.h = input_shape[input_shape.size() - 2];
  p.w = input_shape[input_shape.size() - 1];
  p.out_h = grad.shape()[grad.ndim() - 2];
  p.out_w = grad.shape()[grad.ndim() - 1];
  // The window: the CPU scatters to the indices and needs none; the CUDA gather looks for
  // each input among the outputs whose windows cover it.
  if (!kernel_size.empty()) {
    check_pair(kernel_size, op, "kernel_size", 1);
    const Ints& st = stride.empty() ? kernel_size : stride;
    check_pair(st, op, "stride", 1);
    check_pair(padding, op, "padding", 0);
    check_pair(dilation, op, "dilation", 1);
    p.kh = kernel_size[0];
    p.kw = kernel_size[1];
    p.stride_h = st[0];
    p.stride_w = st[1];
    p.pad_h = padding[0];
    p.pad_w = padding[1];
    p.dil_h = dilation[0];
    p.dil_w = dilation[1];
  } else if (on_cuda(grad)) {
    fail<ValueError>(op, ": on CUDA, expected the forward's kernel_size, stride, padding and dilation");
  }
  Array dx = Array::empty(input_shape, grad.dtype(), grad.device());
  if (dx.numel() == 0) return dx;
  const Array gc = grad.contiguous(), ic = indices.contiguous();
  const int64_t* ip = reinterpret_cast<const int64_t*>(ic.data());
  PYDL_KERNEL(grad.device(), max_pool2d_backward, grad.dtype(), p, gc.data(), ip, dx.data());
  return dx;
}

Array avg_pool2d(const Array& x, const Ints& kernel_size, const Ints& stride, const Ints& padding, bool ceil_mode,
                 bool count_include_pad, int64_t divisor_override) {
  const char* op = "avg_pool2d";
  check_pool_input(x, op);
  if (divisor_override < 0) fail<ValueError>(op, ": divisor_override must be positive, got ", divisor_override);
  const Pool2dParams p = pool_params(x.shape(), kernel_size, stride, padding, {1, 1}, ceil_mode, op);
  Array y = Array::empty(with_last_two(x.shape(), p.out_h, p.out_w), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  const Array xc = x.contiguous();
  PYDL_KERNEL(x.device(), avg_pool2d_forward, x.dtype(), p, count_include_pad, divisor_override, xc.data(), y.data());
  return y;
}

Array avg_pool2d_backward(const Array& grad, const Shape& input_shape, const Ints& kernel_size, const Ints& stride,
                          const Ints& padding, bool ceil_mode, bool count_include_pad, int64_t divisor_override) {
  const char* op = "avg_pool2d_backward";
  check_pool_grad(grad, input_shape, op);
  if (divisor_override < 0) fail<ValueError>(op, ": divisor_override must be positive, got ", divisor_override);
  const Pool2dParams p = pool_params(input_shape, kernel_size, stride, padding, {1, 1}, ceil_mode, op);
  check_grad(grad, with_last_two(input_shape, p.out_h, p.out_w), op);
  Array dx = Array::empty(input_shape, grad.dtype(), grad.device());
  if (dx.numel() == 0) return dx;
  const Array gc = grad.contiguous();
  PYDL_KERNEL(grad.device(), avg_pool2d_backward, grad.dtype(), p, count_include_pad, divisor_override, gc.data(),
              dx.data());
  return dx;
}

namespace {

Pool2dParams adaptive_params(const Shape& xs, const Ints& output_size, const char* op) {
  check_image(xs, op, "input");
  if (output_size.size() != 2 || output_size[0] < 1 || output_size[1] < 1)
    fail<ValueError>(op, ": expected output_size as a positive int or a pair of positive ints, got ",
                     ints_str(output_size));
  Pool2dParams p;
  p.planes = 1;
  for (size_t d = 0; d + 2 < xs.size(); ++d) p.planes *= xs[d];
  p.h = xs[xs.size() - 2];
  p.w = xs[xs.size() - 1];
  if (p.h < 1 || p.w < 1) fail<ValueError>(op, ": expected non-empty H and W, got input ", shape_str(xs));
  p.out_h = output_size[0];
  p.out_w = output_size[1];
  return p;
}

}  // namespace

Array adaptive_avg_pool2d(const Array& x, const Ints& output_size) {
  const char* op = "adaptive_avg_pool2d";
  check_pool_input(x, op);
  const Pool2dParams p = adaptive_params(x.shape(), output_size, op);
  Array y = Array::empty(with_last_two(x.shape(), p.out_h, p.out_w), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  const Array xc = x.contiguous();
  PYDL_KERNEL(x.device(), adaptive_avg_pool2d_forward, x.dtype(), p, xc.data(), y.data());
  return y;
}

Array adaptive_avg_pool2d_backward(const Array& grad, const Shape& input_shape) {
  const char* op = "adaptive_avg_pool2d_backward";
  check_pool_grad(grad, input_shape, op);
  if (grad.ndim() != int64_t(input_shape.size()))
    fail<ValueError>(op, ": gradient ", shape_str(grad.shape()), " does not match input shape ",
                     shape_str(input_shape));
  const Pool2dParams p =
      adaptive_params(input_shape, {grad.shape()[grad.ndim() - 2], grad.shape()[grad.ndim() - 1]}, op);
  check_grad(grad, with_last_two(input_shape, p.out_h, p.out_w), op);
  Array dx = Array::empty(input_shape, grad.dtype(), grad.device());
  if (dx.numel() == 0) return dx;
  const Array gc = grad.contiguous();
  PYDL_KERNEL(grad.device(), adaptive_avg_pool2d_backward, grad.dtype(), p, gc.data(), dx.data());
  return dx;
}

}  // namespace pydl
