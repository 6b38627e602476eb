#include <cmath>

#include "csrc/errors.h"
#include "csrc/ops.h"
#include "csrc/rng.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/random.h"

namespace pydl {

// Fills on the CPU and copies over: the GPU kernels for creation come with the CUDA backend.
static Array on_device(const Array& cpu_array, Device device) { return cpu_array.to(device); }

Array full(const Shape& shape, double value, DType dtype, Device device) {
  Array out = Array::empty(shape, dtype, Device{});
  out.fill(value);
  return on_device(out, device);
}

Array arange(double start, double end, double step, DType dtype, Device device) {
  if (step == 0) fail<ValueError>("arange: step must be nonzero");
  if (!std::isfinite(start) || !std::isfinite(end)) fail<ValueError>("arange: start and end must be finite");
  const double span = (end - start) / step;
  const int64_t n = span > 0 ? static_cast<int64_t>(std::ceil(span)) : 0;
  Array out = Array::empty({n}, dtype, Device{});
  cpu::arange(dtype, out.data(), n, start, step);
  return on_device(out, device);
}

static void check_float(DType dtype, const char* op) {
  if (!is_floating(dtype)) fail<TypeError>(op, ": expected a floating dtype (float32 or float64), got ", dtype_name(dtype));
}

Array uniform(const Shape& shape, double low, double high, DType dtype, Device device) {
  check_float(dtype, "rand");
  Array out = Array::empty(shape, dtype, Device{});
  const uint64_t offset = rng::reserve(out.numel());
  cpu::uniform(dtype, out.data(), out.numel(), rng::seed(), offset, low, high);
  return on_device(out, device);
}

Array normal(const Shape& shape, double mean, double std, DType dtype, Device device) {
  check_float(dtype, "randn");
  if (std < 0) fail<ValueError>("normal: std must be non-negative, got ", std);
  Array out = Array::empty(shape, dtype, Device{});
  const uint64_t offset = rng::reserve(out.numel());
  cpu::normal(dtype, out.data(), out.numel(), rng::seed(), offset, mean, std);
  return on_device(out, device);
}

}  // namespace pydl
