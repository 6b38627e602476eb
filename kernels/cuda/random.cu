#include "kernels/cuda/random.h"

#include "kernels/common/philox.h"
#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

__global__ void __launch_bounds__(kBlock)
    uniform_float_kernel(float* out, int64_t n, uint64_t seed, uint64_t offset, float lo, float span) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    out[i] = __fadd_rn(lo, __fmul_rn(span, philox_uniform_float(seed, offset + i)));
}

__global__ void __launch_bounds__(kBlock)
    uniform_double_kernel(double* out, int64_t n, uint64_t seed, uint64_t offset, double lo, double span) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    out[i] = __dadd_rn(lo, __dmul_rn(span, philox_uniform_double(seed, offset + i)));
}

__global__ void __launch_bounds__(kBlock)
    normal_float_kernel(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float std) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    out[i] = __fadd_rn(mean, __fmul_rn(std, philox_normal_float(seed, offset + i)));
}

__global__ void __launch_bounds__(kBlock)
    normal_double_kernel(double* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    out[i] = __dadd_rn(mean, __dmul_rn(std, philox_normal_double(seed, offset + i)));
}

}  // namespace

void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high, void* stream,
             LaunchCheck check) {
  if (n <= 0) return;
  cudaStream_t s = as_stream(stream);
  if (dtype == DType::Float64) {
    uniform_double_kernel<<<grid_for(n), kBlock, 0, s>>>(static_cast<double*>(out), n, seed, offset, low, high - low);
    check("pydl_uniform_float64");
  } else {
    // The CPU's float(low) and float(high - low).
    uniform_float_kernel<<<grid_for(n), kBlock, 0, s>>>(static_cast<float*>(out), n, seed, offset, float(low),
                                                         float(high - low));
    check("pydl_uniform_float32");
  }
}

void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std, void* stream,
            LaunchCheck check) {
  if (n <= 0) return;
  cudaStream_t s = as_stream(stream);
  if (dtype == DType::Float64) {
    normal_double_kernel<<<grid_for(n), kBlock, 0, s>>>(static_cast<double*>(out), n, seed, offset, mean, std);
    check("pydl_normal_float64");
  } else {
    normal_float_kernel<<<grid_for(n), kBlock, 0, s>>>(static_cast<float*>(out), n, seed, offset, float(mean),
                                                        float(std));
    check("pydl_normal_float32");
  }
}

}  // namespace pydl::cuda_kernels
