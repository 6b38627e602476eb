// Scans along one dim, brought to the kernels' (outer, r, inner) form of a contiguous array.
#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "csrc/promote.h"
#include "kernels/cpu/scan.h"
#include "kernels/cuda/scan.h"

namespace pydl {

Array scan(ScanOp op, const Array& x, int64_t dim, bool reverse, bool exclusive) {
  const char* name = name_of(op);
  reject_half(x, name);
  const int64_t d = wrap_dim(dim, x.ndim(), name);
  if (op == ScanOp::LogSumExp) check_float(x, name);
  const DType dt = is_floating(x.dtype()) ? x.dtype() : DType::Int64;
  Array in = x.astype(dt).contiguous();
  Array out = Array::empty(x.shape(), dt, x.device());
  if (out.numel() == 0) return out;
  int64_t outer = 1, r = x.ndim() ? x.shape()[d] : 1, inner = 1;
  for (int64_t k = 0; k < d; ++k) outer *= x.shape()[k];
  for (int64_t k = d + 1; k < x.ndim(); ++k) inner *= x.shape()[k];
  PYDL_KERNEL(x.device(), scan, op, dt, in.data(), out.data(), outer, r, inner, reverse, exclusive);
  return out;
}

}  // namespace pydl
