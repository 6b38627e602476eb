#include "kernels/cpu/random.h"

#include "kernels/common/philox.h"
#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

using namespace kernels;

void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high) {
  parallel_ranges(n, 16, [&](int64_t b, int64_t e) {
    if (dtype == DType::Float64) {
      double* o = static_cast<double*>(out);
      for (int64_t i = b; i < e; ++i) o[i] = low + (high - low) * philox_uniform_double(seed, offset + i);
    } else {
      float* o = static_cast<float*>(out);
      const float lo = float(low), span = float(high - low);
      for (int64_t i = b; i < e; ++i) o[i] = lo + span * philox_uniform_float(seed, offset + i);
    }
  });
}

void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
  parallel_ranges(n, 32, [&](int64_t b, int64_t e) {
    if (dtype == DType::Float64) {
      double* o = static_cast<double*>(out);
      for (int64_t i = b; i < e; ++i) o[i] = mean + std * philox_normal_double(seed, offset + i);
    } else {
      float* o = static_cast<float*>(out);
      const float m = float(mean), s = float(std);
      for (int64_t i = b; i < e; ++i) o[i] = m + s * philox_normal_float(seed, offset + i);
    }
  });
}

}  // namespace pydl::cpu
