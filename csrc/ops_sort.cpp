// Sorting along one dim: the dim is moved last and made contiguous, the kernels sort rows,
// and the results are viewed back in the input's dim order.
#include <algorithm>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "csrc/promote.h"
#include "kernels/cpu/sort.h"
#include "kernels/cuda/sort.h"

namespace pydl {

std::tuple<Array, Array> sort(const Array& x, int64_t dim, bool descending, int64_t k, const char* name) {
  reject_half(x, name);
  const int64_t d = wrap_dim(dim, x.ndim(), name);
  const int64_t n = x.ndim() ? x.shape()[d] : 1;
  if (k == kWholeDim) k = n;
  if (k < 0 || k > n) fail<IndexError>(name, ": k = ", k, " is out of range for a dim of size ", n);
  const int64_t last = std::max<int64_t>(x.ndim() - 1, 0);
  Array rows = (x.ndim() ? x.transpose(d, last) : x.reshape({1})).contiguous();
  Shape shape = rows.shape();
  shape.back() = k;
  Array values = Array::empty(shape, x.dtype(), x.device());
  Array indices = Array::empty(shape, DType::Int64, x.device());
  const int64_t count = n ? rows.numel() / n : 0;
  if (count > 0 && k > 0) {
    int64_t* idx = reinterpret_cast<int64_t*>(indices.data());
    PYDL_KERNEL_WITH_WORKSPACE(x.device(), sort_rows, cuda_kernels::sort_workspace_bytes(x.dtype(), count, n),
                               x.dtype(), rows.data(), values.data(), idx, count, n, k, descending);
  }
  if (x.ndim() == 0) return {values.reshape({}), indices.reshape({})};
  return {values.transpose(d, last), indices.transpose(d, last)};
}

}  // namespace pydl
