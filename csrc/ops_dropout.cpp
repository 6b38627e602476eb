// Inverted dropout: checks, allocation, dispatch to the kernels (Philox masks, kernels/common/dropout.h).
#include "csrc/ops_dropout.h"

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/rng.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cuda/dropout.h"

namespace pydl {

std::tuple<Array, Array> dropout(const Array& x, double p) {
  check_float(x, "dropout", "input");
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("dropout: expected a probability p in [0, 1], got ", p);
  Array in = x.contiguous();
  Array out = Array::empty(x.shape(), x.dtype(), x.device());
  Array mask = Array::empty(x.shape(), DType::Bool, x.device());
  const bool draws = p > 0.0 && p < 1.0;
  // The same stream positions on every device, so a seeded run draws the same masks on the GPU.
  const rng::Position at = draws ? rng::reserve(static_cast<uint64_t>(x.numel())) : rng::Position{0, 0};
  bool* m = reinterpret_cast<bool*>(mask.data());
  PYDL_KERNEL(x.device(), dropout_forward, x.dtype(), in.data(), out.data(), m, x.numel(), at.seed, at.offset, p);
  return {out, mask};
}

Array dropout_backward(const Array& grad, const Array& mask, double p) {
  check_same_device(grad, mask, "dropout_backward");
  check_float(grad, "dropout_backward", "gradient");
  if (mask.dtype() != DType::Bool)
    fail<TypeError>("dropout_backward: expected a bool mask, got ", dtype_name(mask.dtype()));
  if (grad.shape() != mask.shape())
    fail<ValueError>("dropout_backward: expected the gradient's shape ", shape_str(grad.shape()),
                     " to equal the mask's ", shape_str(mask.shape()));
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("dropout_backward: expected a probability p in [0, 1], got ", p);
  Array g = grad.contiguous(), m = mask.contiguous();
  Array out = Array::empty(grad.shape(), grad.dtype(), grad.device());
  const bool* mk = reinterpret_cast<const bool*>(m.data());
  PYDL_KERNEL(grad.device(), dropout_backward, grad.dtype(), g.data(), mk, out.data(), grad.numel(), p);
  return out;
}

// ---------------------------------------------------------------------- batch-norm

}  // namespace pydl
