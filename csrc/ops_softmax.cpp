// Softmax and log-softmax: validation and dispatch. Inputs are made contiguous (a copy
// only when they are not); the kernels run over flat memory.
#include "csrc/ops_softmax.h"

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/softmax.h"

namespace pydl {

namespace {

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

Array softmax(const Array& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_float(x, op);
  dim = wrap_dim(dim, x.ndim(), op);
  int64_t outer, n, inner;
  split_at(x.shape(), dim, outer, n, inner);
  Array in = x.contiguous();
  Array out = Array::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  PYDL_KERNEL(x.device(), softmax, x.dtype(), log, in.data(), out.data(), outer, n, inner);
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
  PYDL_KERNEL(y.device(), softmax_backward, y.dtype(), log, yc.data(), g.data(), dx.data(), outer, n, inner);
  return dx;
}

}  // namespace pydl
