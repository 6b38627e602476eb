// The CUDA GEMM entry point: picks the kernel and tile configuration and launches it.
// See gemm.h for the plan, gemm_sgemm.cuh / gemm_mma.cuh / gemm_f64.cuh for the kernels.
#include "kernels/cuda/gemm.h"

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cuda/gemm_f64.cuh"
#include "kernels/cuda/gemm_mma.cuh"
#include "kernels/cuda/gemm_sgemm.cuh"

namespace pydl::cuda_kernels {

namespace {

using namespace gemm_detail;

// ---------------------------------------------------------------- configurations
// SIMT (float32): big square tiles for big products, smaller ones so that small and skinny
// products (MLP layers: 64 x 784 x 100, 512 x 100 x 10) still spread over the SMs.
using Sgemm128x128 = SgemmConfig<128, 128, 8, 64, 32, 8, 8>;  // 256 threads, 8 x 8 per thread
using Sgemm128x64 = SgemmConfig<128, 64, 16, 64, 32, 8, 8>;   // 128 threads, 8 x 8
using Sgemm64x64 = SgemmConfig<64, 64, 16, 32, 32, 8, 4>;     // 128 threads, 8 x 4
using Sgemm32x32 = SgemmConfig<32, 32, 16, 16, 32, 4, 4>;     //  64 threads, 4 x 4
// Tensor cores (TF32, FP16, BF16): 3-stage cp.async pipelines.
using Mma128x128 = MmaConfig<128, 128, 2, 4, 3>;  // 8 warps of 64 x 32
using Mma64x64 = MmaConfig<64, 64, 2, 2, 3>;      // 4 warps of 32 x 32
// The 128 x 128 tiles held to 128 registers so that two blocks fit an SM (_lb2): only when
// forced, until timings on a GPU say whether the heuristic should pick them.
using Sgemm128x128Lb2 = SgemmConfig<128, 128, 8, 64, 32, 8, 8, 2>;
using Mma128x128Lb2 = MmaConfig<128, 128, 2, 4, 3, 2>;

enum Config : int {
  kSgemm128x128, kSgemm128x128Lb2, kSgemm128x64, kSgemm64x64, kSgemm32x32,
  kMma128x128, kMma128x128Lb2, kMma64x64, kNumConfigs
};
constexpr const char* kConfigNames[kNumConfigs] = {"sgemm_128x128", "sgemm_128x128_lb2", "sgemm_128x64",
                                                   "sgemm_64x64",   "sgemm_32x32",       "mma_128x128",
                                                   "mma_128x128_lb2", "mma_64x64"};
constexpr bool is_mma(int c) { return c >= kMma128x128; }

std::atomic<int> g_forced{-1};
std::atomic<const char*> g_last{""};

// ---------------------------------------------------------------- device facts, cached
constexpr int kMaxDevices = 64;
std::atomic<int> g_sm_count[kMaxDevices];  // 0 = not read yet
std::atomic<int> g_cc_major[kMaxDevices];

struct DeviceFacts {
  int device, sms, major;
};

DeviceFacts current_device() {
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= kMaxDevices) return {0, 1, 0};
  int sms = g_sm_count[dev].load(std::memory_order_relaxed);
  if (sms == 0) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, dev) != cudaSuccess) return {dev, 1, 0};
    g_cc_major[dev].store(prop.major, std::memory_order_relaxed);
    g_sm_count[dev].store(prop.multiProcessorCount, std::memory_order_relaxed);
    sms = prop.multiProcessorCount;
  }
  return {dev, sms, g_cc_major[dev].load(std::memory_order_relaxed)};
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t tile_count(const GemmArgs& g, int bm, int bn) { return ceil_div(g.m, bm) * ceil_div(g.n, bn) * g.batch; }

// The biggest tile that still gives every SM a block; the smallest tile otherwise.
int pick_sgemm(const GemmArgs& g, int sms) {
  if (tile_count(g, 128, 128) >= sms) return kSgemm128x128;
  if (tile_count(g, 128, 64) >= sms) return kSgemm128x64;
  if (tile_count(g, 64, 64) >= sms) return kSgemm64x64;
  return kSgemm32x32;
}
int pick_mma(const GemmArgs& g, int sms) { return tile_count(g, 128, 128) >= sms ? kMma128x128 : kMma64x64; }

int chosen(bool mma, int automatic) {
  const int forced = g_forced.load(std::memory_order_relaxed);
  return forced >= 0 && is_mma(forced) == mma ? forced : automatic;
}

// ---------------------------------------------------------------- launchers
template <class Cfg, bool TA, bool TB>
void launch_sgemm_layout(const Params<float>& p, const GemmArgs& g, cudaStream_t stream) {
  sgemm_kernel<Cfg, TA, TB>
      <<<tile_grid(ceil_div(g.m, Cfg::BM), ceil_div(g.n, Cfg::BN), g.batch), Cfg::kThreads, 0, stream>>>(p);
}

template <class Cfg>
void launch_sgemm(const GemmArgs& g, cudaStream_t stream, LaunchCheck check) {
  const Params<float> p = make_params<float>(g);
  if (!g.trans_a && !g.trans_b) launch_sgemm_layout<Cfg, false, false>(p, g, stream);
  else if (!g.trans_a) launch_sgemm_layout<Cfg, false, true>(p, g, stream);
  else if (!g.trans_b) launch_sgemm_layout<Cfg, true, false>(p, g, stream);
  else launch_sgemm_layout<Cfg, true, true>(p, g, stream);
  check("pydl_sgemm");
}

// Dynamic shared memory above 48 KB must be opted into, once per kernel and device: `done`
// holds one bit per device and is a different variable for every instantiation.
template <class T, class Cfg, bool TA, bool TB>
void launch_mma_layout(const Params<T>& p, const GemmArgs& g, int device, cudaStream_t stream) {
  constexpr int smem = MmaLayout<T, Cfg, TA, TB>::kSmemBytes;
  static std::atomic<uint64_t> done{0};
  const uint64_t bit = uint64_t(1) << (device % 64);
  if (smem > 48 * 1024 && !(done.load(std::memory_order_relaxed) & bit) &&
      cudaFuncSetAttribute(mma_gemm_kernel<T, Cfg, TA, TB>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem) ==
          cudaSuccess)
    done.fetch_or(bit, std::memory_order_relaxed);
  mma_gemm_kernel<T, Cfg, TA, TB>
      <<<tile_grid(ceil_div(g.m, Cfg::BM), ceil_div(g.n, Cfg::BN), g.batch), Cfg::kThreads, smem, stream>>>(p);
}

template <class T, class Cfg>
void launch_mma(const GemmArgs& g, int device, cudaStream_t stream, LaunchCheck check) {
  const Params<T> p = make_params<T>(g);
  if (!g.trans_a && !g.trans_b) launch_mma_layout<T, Cfg, false, false>(p, g, device, stream);
  else if (!g.trans_a) launch_mma_layout<T, Cfg, false, true>(p, g, device, stream);
  else if (!g.trans_b) launch_mma_layout<T, Cfg, true, false>(p, g, device, stream);
  else launch_mma_layout<T, Cfg, true, true>(p, g, device, stream);
  check(sizeof(T) == 4 ? "pydl_gemm_mma_tf32" : std::is_same<T, Half>::value ? "pydl_gemm_mma_fp16" : "pydl_gemm_mma_bf16");
}

template <class T>
void run_mma(const GemmArgs& g, const DeviceFacts& d, cudaStream_t stream, LaunchCheck check) {
  const int c = chosen(true, pick_mma(g, d.sms));
  g_last.store(kConfigNames[c]);
  if (c == kMma128x128) launch_mma<T, Mma128x128>(g, d.device, stream, check);
  else if (c == kMma128x128Lb2) launch_mma<T, Mma128x128Lb2>(g, d.device, stream, check);
  else launch_mma<T, Mma64x64>(g, d.device, stream, check);
}

void run_sgemm(const GemmArgs& g, const DeviceFacts& d, cudaStream_t stream, LaunchCheck check) {
  const int c = chosen(false, pick_sgemm(g, d.sms));
  g_last.store(kConfigNames[c]);
  switch (c) {
    case kSgemm128x128: launch_sgemm<Sgemm128x128>(g, stream, check); break;
    case kSgemm128x128Lb2: launch_sgemm<Sgemm128x128Lb2>(g, stream, check); break;
    case kSgemm128x64: launch_sgemm<Sgemm128x64>(g, stream, check); break;
    case kSgemm64x64: launch_sgemm<Sgemm64x64>(g, stream, check); break;
    default: launch_sgemm<Sgemm32x32>(g, stream, check); break;
  }
}

}  // namespace

void gemm(DType dtype, const GemmArgs& g, void* stream_ptr, LaunchCheck check) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return;
  const cudaStream_t stream = as_stream(stream_ptr);
  if (dtype == DType::Float64) {
    g_last.store("tiled_float64");
    launch_f64(g, stream, check);
    return;
  }
  if (dtype != DType::Float32 && !is_half(dtype)) unsupported_dtype(dtype);
  const DeviceFacts d = current_device();
  const bool tensor_cores = d.major >= 8;
  if (dtype == DType::Float32) {
    // A forced SIMT configuration wins over allow_tf32 (tests and benchmarks name a kernel).
    const int forced = g_forced.load(std::memory_order_relaxed);
    const bool simt_forced = forced >= 0 && !is_mma(forced);
    if (g.allow_tf32 && tensor_cores && !simt_forced) run_mma<float>(g, d, stream, check);
    else run_sgemm(g, d, stream, check);
    return;
  }
  if (!tensor_cores)
    throw std::runtime_error(std::string("matmul: ") + dtype_name(dtype) +
                             " needs tensor cores of compute capability 8.0 or newer; convert with .float() first");
  if (dtype == DType::Float16) run_mma<Half>(g, d, stream, check);
  else run_mma<BFloat16>(g, d, stream, check);
}

int gemm_config_count() { return kNumConfigs; }

const char* gemm_config_name(int index) { return index >= 0 && index < kNumConfigs ? kConfigNames[index] : ""; }

bool gemm_force_config(const char* name) {
  if (!name || !*name) {
    g_forced.store(-1);
    return true;
  }
  for (int i = 0; i < kNumConfigs; ++i)
    if (std::strcmp(name, kConfigNames[i]) == 0) {
      g_forced.store(i);
      return true;
    }
  return false;
}

const char* gemm_last_config() { return g_last.load(); }

}  // namespace pydl::cuda_kernels
