#include "kernels/cuda/random.h"

#include "kernels/common/philox.h"
#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

enum class Draw { Uniform, Normal };

template <Draw D>
__device__ __forceinline__ float draw(float, uint64_t seed, uint64_t i) {
  return D == Draw::Uniform ? philox_uniform_float(seed, i) : philox_normal_float(seed, i);
}
template <Draw D>
__device__ __forceinline__ double draw(double, uint64_t seed, uint64_t i) {
  return D == Draw::Uniform ? philox_uniform_double(seed, i) : philox_normal_double(seed, i);
}

// shift + scale * u, rounded as the CPU does it (no FMA contraction).
__device__ __forceinline__ float shift_scale(float shift, float scale, float u) {
  return __fadd_rn(shift, __fmul_rn(scale, u));
}
__device__ __forceinline__ double shift_scale(double shift, double scale, double u) {
  return __dadd_rn(shift, __dmul_rn(scale, u));
}

// out[i] = shift + scale * draw i of the stream (seed, offset): uniform in [shift, shift + scale)
// or normal with mean shift and deviation scale.
template <class T, Draw D>
__global__ void __launch_bounds__(kBlock) random_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, T shift,
                                                        T scale) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    out[i] = shift_scale(shift, scale, draw<D>(T{}, seed, offset + i));
}

// The CPU's T(shift) and T(scale): for float32, float(low) and float(high - low).
template <Draw D>
void launch_random(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double shift, double scale,
                   void* stream, LaunchCheck check, const char* name32, const char* name64) {
  if (n <= 0) return;
  cudaStream_t s = as_stream(stream);
  if (dtype == DType::Float64) {
    random_kernel<double, D><<<grid_for(n), kBlock, 0, s>>>(static_cast<double*>(out), n, seed, offset, shift, scale);
    check(name64);
  } else {
    random_kernel<float, D><<<grid_for(n), kBlock, 0, s>>>(static_cast<float*>(out), n, seed, offset, float(shift),
                                                           float(scale));
    check(name32);
  }
}

}  // namespace

void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high, void* stream,
             LaunchCheck check) {
  launch_random<Draw::Uniform>(dtype, out, n, seed, offset, low, high - low, stream, check, "pydl_uniform_float32",
                               "pydl_uniform_float64");
}

void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std, void* stream,
            LaunchCheck check) {
  launch_random<Draw::Normal>(dtype, out, n, seed, offset, mean, std, stream, check, "pydl_normal_float32",
                              "pydl_normal_float64");
}

}  // namespace pydl::cuda_kernels
