// Index-driven ops and cat. Every index is range-checked before a kernel runs.
#include <string>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/size_check.h"
#include "csrc/ops.h"
#include "kernels/cpu/index.h"
#include "kernels/cpu/resample.h"
#include "kernels/cuda/index.h"
#include "kernels/cuda/resample.h"

namespace pydl {

namespace {

// int32 indices are widened (one copy, as small as the index).
Array checked_index(const Array& index, const Array& x, const char* op) {
  check_same_device(x, index, op);
  if (index.dtype() == DType::Int32) return index.astype(DType::Int64);
  if (index.dtype() != DType::Int64)
    fail<TypeError>(op, ": expected an int64 or int32 index, got ", dtype_name(index.dtype()));
  return index.contiguous();
}

// On CUDA the check runs on a host copy of the index, before any kernel is launched.
void check_range(const Array& index_in, int64_t low, int64_t high, int64_t dim, const char* op) {
  const Array index = index_in.to(Device{});
  const int64_t* idx = reinterpret_cast<const int64_t*>(index.data());
  const int64_t bad = cpu::first_out_of_range(idx, index.numel(), low, high);
  if (bad >= 0)
    fail<IndexError>(op, ": index ", idx[bad], " is out of bounds for dimension ", dim, " with size ", high);
}

IndexedAxis indexed_axis(const Array& x, const Array& index, int64_t dim, const char* op) {
  if (index.ndim() != x.ndim())
    fail<ValueError>(op, ": index has ", index.ndim(), " dimensions, expected ", x.ndim(), " like the input");
  IndexedAxis ax;
  ax.ndim = static_cast<int>(x.ndim());
  ax.dim = static_cast<int>(dim);
  for (int64_t d = 0; d < x.ndim(); ++d) {
    if (d != dim && index.shape()[d] > x.shape()[d])
      fail<ValueError>(op, ": index shape ", shape_str(index.shape()), " exceeds input shape ", shape_str(x.shape()),
                       " in dimension ", d);
    ax.shape[d] = index.shape()[d];
    ax.x_strides[d] = x.strides()[d];
  }
  return ax;
}

// CUDA has no byte atomics: a uint8 accumulation on the device runs in int64 and wraps back
// to uint8 (mod 256, as the CPU's byte arithmetic).
bool accumulates_wide(const Array& x) { return on_cuda(x) && x.dtype() == DType::UInt8; }

// (outer, size, inner) around `dim` of a contiguous shape.
void split_at(const Shape& shape, int64_t dim, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
  for (size_t d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
}

// The resampling of x's `dim` (in_size entries) into out_size, each from src.numel() / out_size
// taps: src and weight checked against the sizes, src against the range, weight against x; the
// axis laid over the contiguous `shape` (src and weight contiguous, kept alive by the caller).
ResampleAxis resample_axis(const Array& x, int64_t dim, const Array& src, const Array* weight, int64_t in_size,
                           int64_t out_size, const Shape& shape, const char* op) {
  if (out_size < 0) fail<ValueError>(op, ": the output size must be non-negative, got ", out_size);
  ResampleAxis ax;
  ax.in_size = in_size;
  ax.out_size = out_size;
  ax.taps = out_size ? static_cast<int>(src.numel() / out_size) : 1;
  if (src.numel() != out_size * ax.taps || ax.taps < 1 || ax.taps > 4 || (!weight && ax.taps != 1))
    fail<ValueError>(op, ": expected 1 to 4 source positions per output (1 without weights), got ", src.numel(),
                     " for ", out_size, " outputs");
  if (weight) {
    check_same_device(x, *weight, op);
    if (weight->dtype() != x.dtype() || !is_floating(x.dtype()))
      fail<TypeError>(op, ": expected float32 or float64 weights of the data's dtype, got ",
                      dtype_name(weight->dtype()), " weights for ", dtype_name(x.dtype()), " data");
    if (weight->numel() != src.numel())
      fail<ValueError>(op, ": expected ", src.numel(), " weights, got ", weight->numel());
  }
  check_range(src, 0, in_size, dim, op);
  split_at(shape, dim, ax.outer, ax.inner);
  ax.src = reinterpret_cast<const int64_t*>(src.data());
  ax.weight = weight ? weight->data() : nullptr;
  return ax;
}

}  // namespace

Array resample(const Array& x_in, int64_t dim, const Array& src_in, const Array* weight_in, int64_t out_size) {
  const char* op = "resample";
  dim = wrap_dim(dim, x_in.ndim(), op);
  const Array src = checked_index(src_in, x_in, op);
  const Array weight = weight_in ? weight_in->contiguous() : Array();
  const ResampleAxis ax = resample_axis(x_in, dim, src, weight_in ? &weight : nullptr, x_in.shape()[dim], out_size,
                                       x_in.shape(), op);
  const Array x = x_in.contiguous();
  Shape out_shape = x.shape();
  out_shape[dim] = out_size;
  Array out = Array::empty(out_shape, x.dtype(), x.device());
  if (out.numel()) PYDL_KERNEL(x.device(), resample, x.dtype(), ax, x.data(), out.data());
  return out;
}

Array resample_backward(const Array& g_in, int64_t dim, const Array& src_in, const Array* weight_in, int64_t in_size) {
  const char* op = "resample_backward";
  dim = wrap_dim(dim, g_in.ndim(), op);
  check_float(g_in, op, "gradient");
  const Array src = checked_index(src_in, g_in, op);
  const Array weight = weight_in ? weight_in->contiguous() : Array();
  const ResampleAxis ax = resample_axis(g_in, dim, src, weight_in ? &weight : nullptr, in_size, g_in.shape()[dim],
                                       g_in.shape(), op);
  const Array g = g_in.contiguous();
  Shape shape = g.shape();
  shape[dim] = in_size;
  Array dx = Array::empty(shape, g.dtype(), g.device());
  if (dx.numel() == 0) return dx;
  if (g.numel() == 0) {
    dx.fill(0.0);
    return dx;
  }
  PYDL_KERNEL(g.device(), resample_backward, g.dtype(), ax, g.data(), dx.data());
  return dx;
}

Array gather(const Array& x, int64_t dim, const Array& index_in) {
  dim = wrap_dim(dim, x.ndim(), "gather");
  Array index = checked_index(index_in, x, "gather");
  const IndexedAxis ax = indexed_axis(x, index, dim, "gather");
  check_range(index, 0, x.ndim() ? x.shape()[dim] : 1, dim, "gather");
  Array out = Array::empty(index.shape(), x.dtype(), x.device());
  const int64_t* idx = reinterpret_cast<const int64_t*>(index.data());
  PYDL_KERNEL(x.device(), gather, x.dtype(), x.data(), idx, out.data(), ax);
  return out;
}

Array scatter_reduce(ScatterOp op, const Array& x, int64_t dim, const Array& index_in, const Array& src_in) {
  const std::string name = std::string("scatter_") + (op == ScatterOp::Sum ? "add" : "reduce");
  if (accumulates_wide(x))
    return scatter_reduce(op, x.astype(DType::Int64), dim, index_in, src_in.astype(DType::Int64)).astype(DType::UInt8);
  dim = wrap_dim(dim, x.ndim(), name.c_str());
  Array index = checked_index(index_in, x, name.c_str());
  if (src_in.shape() != index.shape())
    fail<ValueError>(name, ": src shape ", shape_str(src_in.shape()), " differs from index shape ",
                     shape_str(index.shape()));
  Array out = x.clone();
  const IndexedAxis ax = indexed_axis(out, index, dim, name.c_str());
  check_range(index, 0, x.ndim() ? x.shape()[dim] : 1, dim, name.c_str());
  Array src = src_in.astype(x.dtype()).contiguous();
  const int64_t* idx = reinterpret_cast<const int64_t*>(index.data());
  // CUDA: atomics, so repeated float indices may sum in any order (kernels/cuda/index.h)
  PYDL_KERNEL(x.device(), scatter_reduce, op, x.dtype(), out.data(), idx, src.data(), ax);
  return out;
}

Array scatter_add(const Array& x, int64_t dim, const Array& index, const Array& src) {
  return scatter_reduce(ScatterOp::Sum, x, dim, index, src);
}

Array index_select(const Array& x_in, int64_t dim, const Array& index_in) {
  if (x_in.ndim() == 0) fail<IndexError>("index_select: cannot index a 0-d tensor");
  dim = wrap_dim(dim, x_in.ndim(), "index_select");
  Array index = checked_index(index_in, x_in, "index_select");
  if (index.ndim() > 1) fail<ValueError>("index_select: expected a 1-d index, got ", index.ndim(), " dimensions");
  const int64_t size = x_in.shape()[dim];
  check_range(index, -size, size, dim, "index_select");
  Array x = x_in.contiguous();
  Shape out_shape = x.shape();
  out_shape[dim] = index.numel();
  Array out = Array::empty(out_shape, x.dtype(), x.device());
  int64_t outer, inner;
  split_at(x.shape(), dim, outer, inner);
  const int64_t* idx = reinterpret_cast<const int64_t*>(index.data());
  PYDL_KERNEL(x.device(), index_select, x.dtype(), x.data(), size, idx, index.numel(), out.data(), outer, inner);
  return out;
}

Array index_add(const Array& x, int64_t dim, const Array& index_in, const Array& src_in) {
  if (accumulates_wide(x))
    return index_add(x.astype(DType::Int64), dim, index_in, src_in.astype(DType::Int64)).astype(DType::UInt8);
  if (x.ndim() == 0) fail<IndexError>("index_add: cannot index a 0-d tensor");
  dim = wrap_dim(dim, x.ndim(), "index_add");
  Array index = checked_index(index_in, x, "index_add");
  Shape expect = x.shape();
  expect[dim] = index.numel();
  if (src_in.shape() != expect)
    fail<ValueError>("index_add: src shape ", shape_str(src_in.shape()), " should be ", shape_str(expect));
  const int64_t size = x.shape()[dim];
  check_range(index, -size, size, dim, "index_add");
  if (x.dtype() == DType::Bool) fail<TypeError>("index_add: not supported for bool tensors");
  Array out = x.clone();
  Array src = src_in.astype(x.dtype()).contiguous();
  int64_t outer, inner;
  split_at(out.shape(), dim, outer, inner);
  const int64_t* idx = reinterpret_cast<const int64_t*>(index.data());
  // CUDA: atomics, so repeated float indices may sum in any order (kernels/cuda/index.h)
  PYDL_KERNEL(x.device(), index_add, x.dtype(), out.data(), size, idx, index.numel(), src.data(), outer, inner);
  return out;
}

Array cat(const std::vector<Array>& xs, int64_t dim) {
  if (xs.empty()) fail<ValueError>("cat: expected a non-empty list of tensors");
  const Array& first = xs[0];
  if (first.ndim() == 0) fail<ValueError>("cat: zero-dimensional tensors cannot be concatenated");
  dim = wrap_dim(dim, first.ndim(), "cat");
  DType dt = first.dtype();
  Shape shape = first.shape();
  shape[dim] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Array& x = xs[i];
    check_same_device(first, x, "cat");
    if (x.ndim() != first.ndim())
      fail<ValueError>("cat: tensor ", i, " has ", x.ndim(), " dimensions, expected ", first.ndim());
    for (int64_t d = 0; d < x.ndim(); ++d)
      if (d != dim && x.shape()[d] != first.shape()[d])
        fail<ValueError>("cat: sizes must match except in dimension ", dim, "; tensor ", i, " has shape ",
                         shape_str(x.shape()), ", tensor 0 has ", shape_str(first.shape()));
    shape[dim] = checked_add(shape[dim], x.shape()[dim], "cat", shape);
    dt = promote(dt, x.dtype(), "cat");
  }
  Array out = Array::empty(shape, dt, first.device(), "cat");
  int64_t at = 0;
  for (const Array& x : xs) {
    const int64_t len = x.shape()[dim];
    if (len) out.slice(dim, at, at + len, 1).copy_from(x);
    at += len;
  }
  return out;
}

}  // namespace pydl
