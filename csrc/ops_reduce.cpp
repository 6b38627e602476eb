// Reductions over any set of axes, brought to the kernels' (outer, r, inner) form:
// directly when the reduced axes are adjacent in a contiguous array, otherwise after
// permuting them to the end and copying.
#include <algorithm>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "csrc/promote.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cuda/reduce.h"

namespace pydl {

namespace {

struct Plan {
  Array input;  // contiguous
  int64_t outer = 1, r = 1, inner = 1;
  Shape out_shape;
};

Plan plan_reduction(const Array& x, const std::vector<int64_t>& dims_in, bool keepdim, const char* name) {
  const int64_t nd = x.ndim();
  std::vector<bool> reduced(std::max<int64_t>(nd, 1), dims_in.empty()), seen(reduced.size(), false);
  for (int64_t d : dims_in) {
    int64_t w = wrap_dim(d, nd, name);
    if (seen[w]) fail<ValueError>(name, ": dim ", w, " appears more than once");
    seen[w] = reduced[w] = true;
  }
  Plan p;
  for (int64_t d = 0; d < nd; ++d) {
    if (!reduced[d]) p.out_shape.push_back(x.shape()[d]);
    else if (keepdim) p.out_shape.push_back(1);
  }
  int64_t first = -1, last = -1;
  for (int64_t d = 0; d < nd; ++d)
    if (reduced[d] && x.shape()[d] != 1) {
      if (first < 0) first = d;
      last = d;
    }
  bool adjacent = true;
  for (int64_t d = first; first >= 0 && d <= last; ++d) adjacent &= reduced[d] || x.shape()[d] == 1;
  if (first < 0) {  // nothing of size > 1 reduced
    p.input = x.contiguous();
    p.outer = x.numel();  // every reduced dim has size 1
    return p;
  }
  if (adjacent && x.is_contiguous()) {
    p.input = x;
    for (int64_t d = 0; d < first; ++d) p.outer *= x.shape()[d];
    for (int64_t d = first; d <= last; ++d) p.r *= x.shape()[d];
    for (int64_t d = last + 1; d < nd; ++d) p.inner *= x.shape()[d];
    return p;
  }
  std::vector<int64_t> order;
  if (std::all_of(reduced.begin(), reduced.end(), [](bool r) { return r; })) {
    // Everything reduced from a permuted contiguous array (a transposed one): its memory in
    // memory order, without a copy. The order of the terms changes, not the result beyond rounding.
    for (int64_t d = 0; d < nd; ++d) order.push_back(d);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return x.strides()[a] > x.strides()[b]; });
    Array in_memory_order = x.permute(order);
    if (in_memory_order.is_contiguous()) {
      p.input = in_memory_order;
      p.r = x.numel();
      return p;
    }
    order.clear();
  }
  for (int64_t d = 0; d < nd; ++d) if (!reduced[d]) { order.push_back(d); p.outer *= x.shape()[d]; }
  for (int64_t d = 0; d < nd; ++d) if (reduced[d]) { order.push_back(d); p.r *= x.shape()[d]; }
  p.input = x.permute(order).contiguous();
  return p;
}

void run_arg_reduce(bool is_max, DType dt, const Plan& p, void* values, const Array& indices) {
  int64_t* idx = reinterpret_cast<int64_t*>(indices.data());
  PYDL_KERNEL_WITH_WORKSPACE(indices.device(), arg_reduce,
                             cuda_kernels::arg_reduce_workspace_bytes(dt, p.outer, p.r, p.inner), is_max, dt,
                             p.input.data(), values, idx, p.outer, p.r, p.inner);
}

}  // namespace

// float16 / bfloat16 reduce in float32 and round back once, as PyTorch accumulates them.
Array reduce(ReduceOp op, const Array& x, const std::vector<int64_t>& dims, bool keepdim, double correction) {
  const char* name = name_of(op);
  if (is_half(x.dtype())) return reduce(op, x.astype(DType::Float32), dims, keepdim, correction).astype(x.dtype());
  DType dt = x.dtype();
  if (op == ReduceOp::Sum && !is_floating(dt)) dt = DType::Int64;
  if ((op == ReduceOp::Mean || op == ReduceOp::Var) && !is_floating(dt)) dt = DType::Float32;
  Plan p = plan_reduction(x.astype(dt), dims, keepdim, name);
  if (p.r == 0 && (op == ReduceOp::Max || op == ReduceOp::Min) && p.outer * p.inner > 0)
    fail<IndexError>(name, ": cannot reduce over a zero-size dimension (no identity)");
  Array out = Array::empty(p.out_shape, dt, x.device());
  if (p.r == 0) {
    out.fill(op == ReduceOp::Sum ? 0.0 : std::nan(""));
    return out;
  }
  PYDL_KERNEL_WITH_WORKSPACE(x.device(), reduce, cuda_kernels::reduce_workspace_bytes(op, dt, p.outer, p.r, p.inner),
                             op, dt, p.input.data(), out.data(), p.outer, p.r, p.inner, correction);
  return out;
}

std::tuple<Array, Array> max_min_dim(bool is_max, const Array& x, int64_t dim, bool keepdim) {
  const char* name = is_max ? "max" : "min";
  if (is_half(x.dtype())) {
    auto [values, indices] = max_min_dim(is_max, x.astype(DType::Float32), dim, keepdim);
    return {values.astype(x.dtype()), indices};  // exact: the values are x's own
  }
  Plan p = plan_reduction(x, {dim}, keepdim, name);
  if (p.r == 0) fail<IndexError>(name, ": cannot reduce over a zero-size dimension (no identity)");
  Array values = Array::empty(p.out_shape, x.dtype(), x.device());
  Array indices = Array::empty(p.out_shape, DType::Int64, x.device());
  run_arg_reduce(is_max, x.dtype(), p, values.numel() ? values.data() : nullptr, indices);
  return {values, indices};
}

Array arg_max_min(bool is_max, const Array& x, const std::vector<int64_t>& dim, bool keepdim) {
  const char* name = is_max ? "argmax" : "argmin";
  if (is_half(x.dtype())) return arg_max_min(is_max, x.astype(DType::Float32), dim, keepdim);
  Array src = dim.empty() ? x.reshape({x.numel()}) : x;
  Plan p = plan_reduction(src, dim.empty() ? std::vector<int64_t>{0} : dim, keepdim && !dim.empty(), name);
  if (p.r == 0) fail<IndexError>(name, ": cannot reduce over a zero-size dimension (no identity)");
  if (dim.empty() && keepdim) p.out_shape = Shape(x.ndim(), 1);
  Array indices = Array::empty(p.out_shape, DType::Int64, x.device());
  run_arg_reduce(is_max, x.dtype(), p, nullptr, indices);
  return indices;
}

}  // namespace pydl
