// Activations and softmax: validation and dispatch. Inputs are made contiguous (a copy
// only when they are not); the kernels run over flat memory.
#include "csrc/ops_activation.h"

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/activation.h"
#include "kernels/cuda/softmax.h"

namespace pydl {

namespace {

// Two arrays that travel together into one kernel: same device, shape and dtype.
void check_pair(const Array& a, const Array& b, const char* op, const char* a_name, const char* b_name) {
  check_same_device(a, b, op);
  if (a.shape() != b.shape())
    fail<ValueError>(op, ": ", a_name, " has shape ", shape_str(a.shape()), ", expected ", shape_str(b.shape()),
                     " like the ", b_name);
  if (a.dtype() != b.dtype())
    fail<TypeError>(op, ": ", a_name, " is ", dtype_name(a.dtype()), ", expected ", dtype_name(b.dtype()),
                    " like the ", b_name);
}

// (outer, n, inner) around dim of a shape.
void split_at(const Shape& shape, int64_t dim, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = inner = n = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim) outer *= shape[d];
    else if (d == dim) n = shape[d];
    else inner *= shape[d];
  }
}

}  // namespace

const char* op_name(Activation act) {
  static const char* names[] = {"identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu", "gelu"};
  return names[static_cast<int>(act)];
}

Array activation(Activation act, const Array& x, double p0, double p1) {
  const char* op = op_name(act);
  check_float(x, op);
  Array in = x.contiguous();
  Array out = Array::empty(x.shape(), x.dtype(), x.device());
  if (on_cuda(x))
    PYDL_CUDA_LAUNCH(x.device(), cuda_kernels::activation_forward(act, x.dtype(), in.data(), out.data(), x.numel(), p0,
                                                                  p1, stream, check));
  else cpu::activation_forward(act, x.dtype(), in.data(), out.data(), x.numel(), p0, p1);
  return out;
}

Array activation_backward(Activation act, const Array& grad, const Array& saved, double p0, double p1) {
  const char* op = op_name(act);
  check_float(saved, op);
  check_pair(grad, saved, op, "grad", grad_from_output(act) ? "output" : "input");
  Array g = grad.contiguous(), v = saved.contiguous();
  Array dx = Array::empty(saved.shape(), saved.dtype(), saved.device());
  if (on_cuda(saved))
    PYDL_CUDA_LAUNCH(saved.device(), cuda_kernels::activation_backward(act, saved.dtype(), g.data(), v.data(),
                                                                       dx.data(), saved.numel(), p0, p1, stream,
                                                                       check));
  else cpu::activation_backward(act, saved.dtype(), g.data(), v.data(), dx.data(), saved.numel(), p0, p1);
  return dx;
}

Array softmax(const Array& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_float(x, op);
  dim = wrap_dim(dim, x.ndim(), op);
  int64_t outer, n, inner;
  split_at(x.shape(), dim, outer, n, inner);
  Array in = x.contiguous();
  Array out = Array::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  if (on_cuda(x))
    PYDL_CUDA_LAUNCH(x.device(), cuda_kernels::softmax(x.dtype(), log, in.data(), out.data(), outer, n, inner, stream,
                                                       check));
  else cpu::softmax(x.dtype(), log, in.data(), out.data(), outer, n, inner);
  return out;
}

Array softmax_backward(const Array& y, const Array& grad, int64_t dim, bool log) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  check_float(y, op, "output");
  check_pair(grad, y, op, "grad", "output");
  dim = wrap_dim(dim, y.ndim(), op);
  int64_t outer, n, inner;
  split_at(y.shape(), dim, outer, n, inner);
  Array yc = y.contiguous(), g = grad.contiguous();
  Array dx = Array::empty(y.shape(), y.dtype(), y.device());
  if (y.numel() == 0) return dx;
  if (on_cuda(y))
    PYDL_CUDA_LAUNCH(y.device(), cuda_kernels::softmax_backward(y.dtype(), log, yc.data(), g.data(), dx.data(), outer,
                                                                n, inner, stream, check));
  else cpu::softmax_backward(y.dtype(), log, yc.data(), g.data(), dx.data(), outer, n, inner);
  return dx;
}

}  // namespace pydl
