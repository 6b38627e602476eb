#include <cmath>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "csrc/rng.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/random.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/random.h"

namespace pydl {

// Every creation op fills the array where it lives; random draws take the same Philox
// stream positions on every device (rng::reserve), so a seed gives the same numbers.

Array full(const Shape& shape, double value, DType dtype, Device device) {
  Array out = Array::empty(shape, dtype, device, "full");
  out.fill(value);
  return out;
}

Array arange(double start, double end, double step, DType dtype, Device device) {
  if (step == 0) fail<ValueError>("arange: step must be nonzero");
  if (!std::isfinite(start) || !std::isfinite(end)) fail<ValueError>("arange: start and end must be finite");
  const double span = (end - start) / step;
  if (span >= 0x1p62) fail<ValueError>("arange: ", span, " elements are more than a 64-bit size can count");
  const int64_t n = span > 0 ? static_cast<int64_t>(std::ceil(span)) : 0;
  Array out = Array::empty({n}, dtype, device, "arange");
  PYDL_KERNEL(device, arange, dtype, out.data(), n, start, step);
  return out;
}

static void check_float(DType dtype, const char* op) {
  if (!is_floating(dtype)) fail<TypeError>(op, ": expected a floating dtype (float32 or float64), got ", dtype_name(dtype));
}

Array uniform(const Shape& shape, double low, double high, DType dtype, Device device) {
  check_float(dtype, "rand");
  Array out = Array::empty(shape, dtype, device, "rand");
  const rng::Position at = rng::reserve(out.numel());
  PYDL_KERNEL(device, uniform, dtype, out.data(), out.numel(), at.seed, at.offset, low, high);
  return out;
}

Array normal(const Shape& shape, double mean, double std, DType dtype, Device device) {
  check_float(dtype, "randn");
  if (std < 0) fail<ValueError>("normal: std must be non-negative, got ", std);
  Array out = Array::empty(shape, dtype, device, "randn");
  const rng::Position at = rng::reserve(out.numel());
  PYDL_KERNEL(device, normal, dtype, out.data(), out.numel(), at.seed, at.offset, mean, std);
  return out;
}

}  // namespace pydl
