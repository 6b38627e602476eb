// The CUDA runtime as pydl's CUDA emulation sees it (PYDL_CUDA=EMULATE): pydl's .cu files,
// their launches rewritten by tools/cuda_emu/rewrite_launches.py, compile as plain C++
// against this header and run on the CPU. "Device" memory is host memory, a stream runs
// everything at once, and a launch runs its blocks one after another, each thread of a
// block a fiber that yields at barriers and warp collectives (tools/cuda_emu/emulator.cpp).
//
// It exists to run the CUDA tests on machines without a GPU. It checks what a GPU would
// refuse (launch limits, dynamic shared memory above 48 KB without the opt-in, misaligned
// cp.async/ldmatrix addresses, warp collectives that name exited lanes, barriers that not
// every thread reaches) and reports it as a CUDA error. It knows nothing of timing, caches or
// memory models beyond what barriers order, so it proves logic, never speed.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmath>
#include <tuple>
#include <type_traits>
#include <utility>

#define PYDL_CUDA_EMULATION 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Blocks run one at a time, so a function-local static is exactly one block's shared memory.
#define __shared__ static

// ---------------------------------------------------------------- types
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct __attribute__((aligned(16))) float4 {
  float x, y, z, w;
};
struct __attribute__((aligned(4))) uchar4 {
  unsigned char x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline uchar4 make_uchar4(unsigned char x, unsigned char y, unsigned char z, unsigned char w) {
  return uchar4{x, y, z, w};
}

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorAssert = 710,
  cudaErrorHardwareStackError = 714,
  cudaErrorIllegalInstruction = 715,
  cudaErrorMisalignedAddress = 716,
  cudaErrorInvalidAddressSpace = 717,
  cudaErrorInvalidPc = 718,
  cudaErrorLaunchFailure = 719,
};
typedef enum cudaError cudaError_t;
typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)
#define cudaEventDefault 0x00
#define cudaEventDisableTiming 0x02
#define cudaHostAllocDefault 0x00
#define cudaHostAllocPortable 0x01

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
};

// ---------------------------------------------------------------- host API (the subset pydl uses)
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
template <class T>
cudaError_t cudaMalloc(T** ptr, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned flags);
cudaError_t cudaMallocHost(void** ptr, size_t bytes);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags = 0);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t err);
const char* cudaGetErrorString(cudaError_t err);

#include <typeinfo>
namespace pydl_emu {
// Kernels are known by their parameter lists: a launch can leave template arguments to
// deduction, so the launcher never sees a function pointer.
cudaError_t set_function_attribute(const std::type_info& params, cudaFuncAttribute attr, int value);
}
template <class... P>
cudaError_t cudaFuncSetAttribute(void (*)(P...), cudaFuncAttribute attr, int value) {
  return pydl_emu::set_function_attribute(typeid(std::tuple<std::decay_t<P>...>), attr, value);
}

// ---------------------------------------------------------------- the emulated thread
namespace pydl_emu {

extern uint3 g_thread_idx, g_block_idx;
extern dim3 g_block_dim, g_grid_dim;

void sync_threads();
void sync_warp(unsigned mask);
[[noreturn]] void trap(const char* why);
unsigned char* dynamic_shared_memory();

// A warp collective: every lane of `mask` hands in a pointer to its own argument; once all
// have, complete(args, mask) runs once (args[lane] is null for lanes outside the mask) and
// writes each lane's result into its argument; then the lanes go on.
using Complete = void (*)(void* const* args, unsigned mask);
void warp_collective(unsigned mask, void* my_arg, Complete complete);

// cp.async as PTX defines it: the copy lands at some point before the wait for its group.
// The emulator delays it until then, so a read before the wait sees stale data.
void cp_async16(void* smem, const void* gmem);
void cp_async_commit();
void cp_async_wait(int pending);
void ldmatrix_x4(unsigned (&r)[4], const void* row_address, bool trans);
unsigned tf32_round(float x);
enum class MmaInput { tf32, f16, bf16 };
void mma_16x8(float (&d)[4], const unsigned* a, const unsigned* b, MmaInput type);

enum class Shfl { idx, up, down, bfly };
uint64_t shuffle(unsigned mask, uint64_t value, int lane_arg, int width, Shfl kind);
unsigned ballot(unsigned mask, bool predicate);

// One launch: checks the configuration, then runs body(ctx) on every thread of the grid.
struct LaunchConfig {
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;
};
// `launcher` names the code that launched (PYDL_EMU_TRACE=1 prints it for every launch).
void run_grid(const LaunchConfig& cfg, const std::type_info& params, const std::type_info& launcher,
              void (*body)(void*), void* ctx);

// kernel<<<grid, block, smem, stream>>>(args...) is rewritten to
// pydl_emu::Launcher(grid, block, smem, stream)([](auto&... a) { kernel(a...); }, args...).
class Launcher {
 public:
  Launcher(dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = nullptr)
      : cfg_{grid, block, smem, stream} {}
  template <class Body, class... A>
  void operator()(Body body, A&&... args) const {
    using Params = std::tuple<std::decay_t<A>...>;
    struct Ctx {
      Body body;
      Params params;
    } ctx{body, Params(std::forward<A>(args)...)};
    run_grid(cfg_, typeid(Params), typeid(Body),
             [](void* c) {
               auto* x = static_cast<Ctx*>(c);
               Params copy = x->params;  // each thread its own arguments, as on a GPU
               std::apply(x->body, copy);
             },
             &ctx);
  }

 private:
  LaunchConfig cfg_;
};

template <class T>
T shuffle_as(unsigned mask, T v, int lane_arg, int width, Shfl kind) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle: at most 8 plain bytes");
  uint64_t bits = 0;
  memcpy(&bits, &v, sizeof(T));
  bits = shuffle(mask, bits, lane_arg, width, kind);
  memcpy(&v, &bits, sizeof(T));
  return v;
}

}  // namespace pydl_emu

#define threadIdx (::pydl_emu::g_thread_idx)
#define blockIdx (::pydl_emu::g_block_idx)
#define blockDim (::pydl_emu::g_block_dim)
#define gridDim (::pydl_emu::g_grid_dim)
constexpr int warpSize = 32;

// ---------------------------------------------------------------- device built-ins
inline void __syncthreads() { pydl_emu::sync_threads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { pydl_emu::sync_warp(mask); }
inline void __threadfence() {}
inline void __threadfence_block() {}
[[noreturn]] inline void __trap() { pydl_emu::trap("__trap()"); }

template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  return pydl_emu::shuffle_as(mask, v, src, width, pydl_emu::Shfl::idx);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return pydl_emu::shuffle_as(mask, v, int(delta), width, pydl_emu::Shfl::up);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return pydl_emu::shuffle_as(mask, v, int(delta), width, pydl_emu::Shfl::down);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  return pydl_emu::shuffle_as(mask, v, lane_mask, width, pydl_emu::Shfl::bfly);
}
inline unsigned __ballot_sync(unsigned mask, int p) { return pydl_emu::ballot(mask, p != 0); }
inline int __any_sync(unsigned mask, int p) { return pydl_emu::ballot(mask, p != 0) != 0; }
inline int __all_sync(unsigned mask, int p) { return pydl_emu::ballot(mask, p != 0) == mask; }

// Fibers never run at the same time: read-modify-write is atomic as written.
template <class T, class U>
T atomicAdd(T* p, U v) {
  T old = *p;
  *p = static_cast<T>(old + static_cast<T>(v));
  return old;
}
template <class T, class U>
T atomicSub(T* p, U v) {
  T old = *p;
  *p = static_cast<T>(old - static_cast<T>(v));
  return old;
}
template <class T, class U>
T atomicMin(T* p, U v) {
  T old = *p;
  if (static_cast<T>(v) < old) *p = static_cast<T>(v);
  return old;
}
template <class T, class U>
T atomicMax(T* p, U v) {
  T old = *p;
  if (static_cast<T>(v) > old) *p = static_cast<T>(v);
  return old;
}
template <class T, class U>
T atomicExch(T* p, U v) {
  T old = *p;
  *p = static_cast<T>(v);
  return old;
}
template <class T, class U, class V>
T atomicCAS(T* p, U compare, V value) {
  T old = *p;
  if (old == static_cast<T>(compare)) *p = static_cast<T>(value);
  return old;
}

template <class T>
T __ldg(const T* p) {
  return *p;
}
inline size_t __cvta_generic_to_shared(const void* p) { return reinterpret_cast<size_t>(p); }

// Rounded arithmetic that must not be contracted into an FMA. The emulated sources are
// compiled with contraction on, as nvcc compiles for a GPU (cmake/cuda_emulation.cmake), so
// each result passes an empty asm that the compiler cannot fuse across.
template <class T>
inline T pydl_emu_rounded(T v) {
  asm("" : "+x"(v));
  return v;
}
inline float __fadd_rn(float a, float b) { return pydl_emu_rounded(a + b); }
inline float __fsub_rn(float a, float b) { return pydl_emu_rounded(a - b); }
inline float __fmul_rn(float a, float b) { return pydl_emu_rounded(a * b); }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline double __dadd_rn(double a, double b) { return pydl_emu_rounded(a + b); }
inline double __dsub_rn(double a, double b) { return pydl_emu_rounded(a - b); }
inline double __dmul_rn(double a, double b) { return pydl_emu_rounded(a * b); }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanhf(float x) { return tanhf(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : (x == x ? x : 0.0f)); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }

inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((uint64_t(a) * b) >> 32); }
inline int __mulhi(int a, int b) { return int((int64_t(a) * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)((__uint128_t(a) * b) >> 64);
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(unsigned(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
namespace pydl_emu {
template <class To, class From>
To bits_as(From x) {
  static_assert(sizeof(To) == sizeof(From), "bits_as: same size");
  To r;
  memcpy(&r, &x, sizeof r);
  return r;
}
}  // namespace pydl_emu
inline int __float_as_int(float x) { return pydl_emu::bits_as<int>(x); }
inline unsigned __float_as_uint(float x) { return pydl_emu::bits_as<unsigned>(x); }
inline float __int_as_float(int x) { return pydl_emu::bits_as<float>(x); }
inline float __uint_as_float(unsigned x) { return pydl_emu::bits_as<float>(x); }
inline long long __double_as_longlong(double x) { return pydl_emu::bits_as<long long>(x); }
inline double __longlong_as_double(long long x) { return pydl_emu::bits_as<double>(x); }

// The integer min/max that CUDA declares for device code.
#define PYDL_EMU_MINMAX(T)                                     \
  inline T min(T a, T b) { return b < a ? b : a; }             \
  inline T max(T a, T b) { return a < b ? b : a; }
PYDL_EMU_MINMAX(int)
PYDL_EMU_MINMAX(unsigned)
PYDL_EMU_MINMAX(long)
PYDL_EMU_MINMAX(unsigned long)
PYDL_EMU_MINMAX(long long)
PYDL_EMU_MINMAX(unsigned long long)
#undef PYDL_EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;
