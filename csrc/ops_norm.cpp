// Batch and layer normalization: checks, allocation, dispatch to the kernels.
#include "csrc/ops_norm.h"

#include <cmath>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/layernorm.h"

namespace pydl {

namespace {

// A per-channel array: same device and dtype as x, one dimension of C values.
void check_channel_array(const Array& a, const Array& x, int64_t C, const char* what) {
  check_same_device(x, a, "batch_norm");
  if (a.dtype() != x.dtype())
    fail<TypeError>("batch_norm: expected ", what, " of the input's dtype ", dtype_name(x.dtype()), ", got ",
                    dtype_name(a.dtype()));
  if (a.ndim() != 1 || a.shape()[0] != C)
    fail<ValueError>("batch_norm: expected ", what, " of shape (", C, ",) for an input of ", C,
                     " channels, got shape ", shape_str(a.shape()));
}

// x viewed as (N, C, S).
void channel_layout(const Array& x, const char* op, BatchNormArgs* a) {
  if (x.ndim() < 2)
    fail<ValueError>(op, ": expected an input of shape (N, C), (N, C, L) or (N, C, H, W), got shape ",
                     shape_str(x.shape()));
  a->n = x.shape()[0];
  a->c = x.shape()[1];
  a->s = 1;
  for (int64_t d = 2; d < x.ndim(); ++d) a->s *= x.shape()[d];
}

}  // namespace

std::tuple<Array, Array, Array> batch_norm(const Array& x, const std::optional<Array>& running_mean,
                                           const std::optional<Array>& running_var,
                                           const std::optional<Array>& weight, const std::optional<Array>& bias,
                                           bool training, double momentum, double eps) {
  check_float(x, "batch_norm", "input");
  BatchNormArgs a;
  channel_layout(x, "batch_norm", &a);
  if (running_mean.has_value() != running_var.has_value())
    fail<ValueError>("batch_norm: expected running_mean and running_var both given or both None");
  if (running_mean) check_channel_array(*running_mean, x, a.c, "running_mean");
  if (running_var) check_channel_array(*running_var, x, a.c, "running_var");
  if (weight) check_channel_array(*weight, x, a.c, "weight");
  if (bias) check_channel_array(*bias, x, a.c, "bias");
  if (!training && !running_mean)
    fail<ValueError>("batch_norm: expected running_mean and running_var in evaluation mode (training=False), got None");
  if (training && a.n * a.s <= 1)
    fail<ValueError>("batch_norm: Expected more than 1 value per channel when training, got input size ",
                     shape_str(x.shape()));
  if (!(eps >= 0.0)) fail<ValueError>("batch_norm: expected eps >= 0, got ", eps);
  if (!std::isfinite(momentum)) fail<ValueError>("batch_norm: expected a finite momentum, got ", momentum);

  Array in = x.contiguous();
  Array wc = weight ? weight->contiguous() : Array(), bc = bias ? bias->contiguous() : Array();
  Array y = Array::empty(x.shape(), x.dtype(), x.device());
  Array save_mean = Array::empty({a.c}, x.dtype(), x.device());
  Array save_invstd = Array::empty({a.c}, x.dtype(), x.device());
  a.x = in.data();
  a.weight = weight ? wc.data() : nullptr;
  a.bias = bias ? bc.data() : nullptr;
  if (running_mean) {  // written in place through their own strides: views stay views
    a.running_mean = running_mean->data();
    a.running_var = running_var->data();
    a.running_mean_stride = running_mean->strides()[0];
    a.running_var_stride = running_var->strides()[0];
  }
  a.training = training;
  a.momentum = momentum;
  a.eps = eps;
  a.y = y.data();
  a.save_mean = save_mean.data();
  a.save_invstd = save_invstd.data();
  PYDL_KERNEL_WITH_WORKSPACE(x.device(), batch_norm_forward,
                             cuda_kernels::batch_norm_workspace_bytes(x.dtype(), a.n, a.c, a.s), x.dtype(), a);
  return {y, save_mean, save_invstd};
}

std::tuple<std::optional<Array>, std::optional<Array>, std::optional<Array>> batch_norm_backward(
    const Array& grad, const Array& x, const Array& save_mean, const Array& save_invstd,
    const std::optional<Array>& weight, bool training, bool need_dx, bool need_dweight, bool need_dbias) {
  const char* op = "batch_norm_backward";
  check_same_device(grad, x, op);
  check_float(x, op, "input");
  if (grad.dtype() != x.dtype())
    fail<TypeError>(op, ": expected a gradient of the input's dtype ", dtype_name(x.dtype()), ", got ",
                    dtype_name(grad.dtype()));
  if (grad.shape() != x.shape())
    fail<ValueError>(op, ": expected a gradient of the input's shape ", shape_str(x.shape()), ", got ",
                     shape_str(grad.shape()));
  BatchNormArgs a;
  channel_layout(x, op, &a);
  for (const Array* s : {&save_mean, &save_invstd}) check_channel_array(*s, x, a.c, "saved statistics");
  if (weight) check_channel_array(*weight, x, a.c, "weight");

  Array g = grad.contiguous(), in = x.contiguous(), m = save_mean.contiguous(), s = save_invstd.contiguous();
  Array wc = weight ? weight->contiguous() : Array();
  std::optional<Array> dx, dweight, dbias;
  a.grad = g.data();
  a.x = in.data();
  a.save_mean = m.data();
  a.save_invstd = s.data();
  a.weight = weight ? wc.data() : nullptr;
  a.training = training;
  if (need_dx) {
    dx = Array::empty(x.shape(), x.dtype(), x.device());
    a.dx = dx->data();
  }
  if (need_dweight) {
    dweight = Array::empty({a.c}, x.dtype(), x.device());
    a.dweight = dweight->data();
  }
  if (need_dbias) {
    dbias = Array::empty({a.c}, x.dtype(), x.device());
    a.dbias = dbias->data();
  }
  PYDL_KERNEL_WITH_WORKSPACE(x.device(), batch_norm_backward,
                             cuda_kernels::batch_norm_workspace_bytes(x.dtype(), a.n, a.c, a.s), x.dtype(), a);
  return {dx, dweight, dbias};
}

namespace {

// (rows, cols) of x normalized over normalized_shape, after checking x ends with it.
LayerNormArgs layer_layout(const Array& x, const std::vector<int64_t>& shape, const char* op) {
  check_float(x, op, "input");
  const int64_t k = int64_t(shape.size());
  bool ends = k >= 1 && k <= x.ndim();
  for (int64_t d = 0; ends && d < k; ++d) ends = x.shape()[x.ndim() - k + d] == shape[d];
  if (!ends)
    fail<ValueError>(op, ": expected an input whose last dims are normalized_shape ", shape_str(shape),
                     ", got shape ", shape_str(x.shape()));
  LayerNormArgs a;
  a.cols = 1;
  for (int64_t v : shape) a.cols *= v;
  a.rows = a.cols ? x.numel() / a.cols : 0;
  return a;
}

void check_param(const Array& p, const Array& x, const std::vector<int64_t>& shape, const char* what,
                 const char* op) {
  check_same_device(x, p, op);
  if (p.dtype() != x.dtype())
    fail<TypeError>(op, ": expected ", what, " of the input's dtype ", dtype_name(x.dtype()), ", got ",
                    dtype_name(p.dtype()));
  if (p.shape() != shape)
    fail<ValueError>(op, ": expected ", what, " of normalized_shape ", shape_str(shape), ", got shape ",
                     shape_str(p.shape()));
}

void check_stats(const Array& s, const Array& x, const LayerNormArgs& a, const char* op) {
  check_same_device(x, s, op);
  if (s.dtype() != DType::Float64 || s.shape() != std::vector<int64_t>{a.rows})
    fail<ValueError>(op, ": expected saved statistics of shape (", a.rows, ",) in float64, got ",
                     dtype_name(s.dtype()), " ", shape_str(s.shape()));
}

}  // namespace

std::tuple<Array, Array, Array> layer_norm(const Array& x, const std::vector<int64_t>& normalized_shape,
                                           const std::optional<Array>& weight, const std::optional<Array>& bias,
                                           double eps) {
  const char* op = "layer_norm";
  LayerNormArgs a = layer_layout(x, normalized_shape, op);
  if (weight) check_param(*weight, x, normalized_shape, "weight", op);
  if (bias) check_param(*bias, x, normalized_shape, "bias", op);
  Array in = x.contiguous();
  Array wc = weight ? weight->contiguous() : Array(), bc = bias ? bias->contiguous() : Array();
  Array y = Array::empty(x.shape(), x.dtype(), x.device());
  Array mean = Array::empty({a.rows}, DType::Float64, x.device());
  Array rstd = Array::empty({a.rows}, DType::Float64, x.device());
  a.eps = eps;
  a.x = in.data();
  a.weight = weight ? wc.data() : nullptr;
  a.bias = bias ? bc.data() : nullptr;
  a.y = y.data();
  a.mean = reinterpret_cast<double*>(mean.data());
  a.rstd = reinterpret_cast<double*>(rstd.data());
  PYDL_KERNEL(x.device(), layer_norm_forward, x.dtype(), a);
  return {y, mean, rstd};
}

std::tuple<std::optional<Array>, std::optional<Array>, std::optional<Array>> layer_norm_backward(
    const Array& grad, const Array& x, const std::vector<int64_t>& normalized_shape, const Array& mean,
    const Array& rstd, const std::optional<Array>& weight, bool need_dx, bool need_dweight, bool need_dbias) {
  const char* op = "layer_norm_backward";
  LayerNormArgs a = layer_layout(x, normalized_shape, op);
  check_same_device(grad, x, op);
  if (grad.dtype() != x.dtype() || grad.shape() != x.shape())
    fail<ValueError>(op, ": expected a gradient of the input's dtype and shape ", dtype_name(x.dtype()), " ",
                     shape_str(x.shape()), ", got ", dtype_name(grad.dtype()), " ", shape_str(grad.shape()));
  check_stats(mean, x, a, op);
  check_stats(rstd, x, a, op);
  if (weight) check_param(*weight, x, normalized_shape, "weight", op);
  Array g = grad.contiguous(), in = x.contiguous(), wc = weight ? weight->contiguous() : Array();
  Array m = mean.contiguous(), r = rstd.contiguous();
  a.grad = g.data();
  a.x = in.data();
  a.weight = weight ? wc.data() : nullptr;
  a.mean = reinterpret_cast<double*>(m.data());
  a.rstd = reinterpret_cast<double*>(r.data());
  std::optional<Array> dx, dweight, dbias;
  if (need_dx) {
    dx = Array::empty(x.shape(), x.dtype(), x.device());
    a.dx = dx->data();
  }
  if (need_dweight) {
    dweight = Array::empty(normalized_shape, x.dtype(), x.device());
    a.dweight = dweight->data();
  }
  if (need_dbias) {
    dbias = Array::empty(normalized_shape, x.dtype(), x.device());
    a.dbias = dbias->data();
  }
  if (a.rows == 0) {  // no rows: the parameters' gradients are empty sums
    for (std::optional<Array>* d : {&dweight, &dbias})
      if (*d) (*d)->fill(0.0);
    return {dx, dweight, dbias};
  }
  PYDL_KERNEL_WITH_WORKSPACE(x.device(), layer_norm_backward, cuda_kernels::layer_norm_workspace_bytes(a.rows, a.cols),
                             x.dtype(), a);
  return {dx, dweight, dbias};
}

}  // namespace pydl
