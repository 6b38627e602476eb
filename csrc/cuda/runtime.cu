// The CUDA runtime: device discovery, one stream per device, host<->device copies on it,
// launch checks, and the entry points into the caching allocator (allocator.cu).
#include <cuda_runtime.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "csrc/cuda/allocator.h"
#include "csrc/cuda/runtime.h"
#include "csrc/cuda_arch.h"
#include "csrc/errors.h"
#include "kernels/cuda/launch.h"

#ifndef PYDL_CUDA_ARCHS
#define PYDL_CUDA_ARCHS ""  // CMake passes the build's CMAKE_CUDA_ARCHITECTURES
#endif

namespace pydl::cuda {

// Errors after which the CUDA context is unusable (they stay sticky): say so.
static bool is_sticky(cudaError_t err) {
  return err == cudaErrorIllegalAddress || err == cudaErrorLaunchFailure || err == cudaErrorAssert ||
         err == cudaErrorIllegalInstruction || err == cudaErrorMisalignedAddress ||
         err == cudaErrorHardwareStackError || err == cudaErrorInvalidAddressSpace || err == cudaErrorInvalidPc;
}

static std::string describe(cudaError_t err) {
  std::string s = "CUDA error " + std::to_string(int(err)) + " (" + cudaGetErrorName(err) + ": " +
                  cudaGetErrorString(err) + ")";
  if (is_sticky(err)) s += "; the CUDA context is now unusable, restart the process";
  return s;
}

static void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear the error state where it is not sticky
  if (err == cudaErrorMemoryAllocation) fail<MemoryError>(what, ": CUDA out of memory");
  fail<RuntimeError>(what, ": ", describe(err));
}

static cudaError_t count_devices(int* n) {
  static int cached = -1;
  static cudaError_t cached_err = cudaSuccess;
  static std::once_flag once;
  std::call_once(once, [] {
    int count = 0;
    cached_err = cudaGetDeviceCount(&count);
    cached = cached_err == cudaSuccess ? count : 0;
    if (cached_err != cudaSuccess) cudaGetLastError();
  });
  *n = cached;
  return cached_err;
}

bool compiled() { return true; }

int device_count() {
  int n = 0;
  count_devices(&n);
  return n;
}

// Why `device` cannot run pydl's kernels ("" when it can): a compute capability that the
// build carries neither machine code nor PTX for. Asked once per device; needs no context.
static const std::string& device_problem(int device) {
  static std::mutex mu;
  static std::string problems[detail::kMaxDevices];
  static bool asked[detail::kMaxDevices] = {};
  std::lock_guard<std::mutex> lock(mu);
  if (!asked[device]) {
    asked[device] = true;
    cudaDeviceProp prop;
    cudaError_t err = cudaGetDeviceProperties(&prop, device);
    if (err != cudaSuccess) {
      cudaGetLastError();
      problems[device] = "cuda:" + std::to_string(device) + ": cudaGetDeviceProperties failed: " + describe(err);
    } else if (!archs_run_on(PYDL_CUDA_ARCHS, prop.major, prop.minor)) {
      const std::string cc = std::to_string(prop.major) + std::to_string(prop.minor);
      problems[device] = "CUDA is not available: cuda:" + std::to_string(device) + " (" + prop.name +
                         ") has compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                         " (sm_" + cc + "), and this pydl was built for CUDA architectures " PYDL_CUDA_ARCHS
                         " only; rebuild it for this GPU: CUDAARCHS=" + cc + " pip install .";
    }
  }
  return problems[device];
}

std::string unavailable_reason() {
  int n = 0;
  cudaError_t err = count_devices(&n);
  if (err != cudaSuccess)  // what a machine without a GPU (or its driver) answers: say that first
    return std::string("CUDA is not available: no GPU was found (no usable NVIDIA driver or device; "
                       "cudaGetDeviceCount returned error ") +
           std::to_string(int(err)) + ", " + cudaGetErrorString(err) + ")";
  if (n == 0) return "CUDA is not available: no GPU found";
  return device_problem(0);
}

static void use_device(int device) {
  int n = device_count();
  if (n == 0) fail<RuntimeError>(unavailable_reason());
  if (device < 0 || device >= n) fail<RuntimeError>("cuda:", device, " is not a valid device (", n, " present)");
  if (device >= detail::kMaxDevices) fail<RuntimeError>("cuda:", device, ": pydl supports ", detail::kMaxDevices, " devices");
  if (!device_problem(device).empty()) fail<RuntimeError>(device_problem(device));
  check(cudaSetDevice(device), "cudaSetDevice");
}

// ------------------------------------------------------------------ streams

static std::mutex g_streams_mu;
static cudaStream_t g_streams[detail::kMaxDevices] = {};  // never destroyed (see allocator.cu)

// The device's stream; the device must be valid and current.
static cudaStream_t stream_of(int device) {
  std::lock_guard<std::mutex> lock(g_streams_mu);
  if (!g_streams[device]) {
    // A blocking stream (default flags): it also orders with the legacy default stream, which
    // is what other libraries use unless told otherwise. Safer for interop; DLPack still
    // passes streams explicitly.
    cudaStream_t s = nullptr;
    check(cudaStreamCreate(&s), "cudaStreamCreate");
    g_streams[device] = s;
  }
  return g_streams[device];
}

void* current_stream(int device) {
  use_device(device);
  return static_cast<void*>(stream_of(device));
}

// ------------------------------------------------------------------ errors found by kernels

using cuda_kernels::DeviceError;
using cuda_kernels::DeviceErrorCode;

static std::mutex g_errors_mu;
static DeviceError* g_error_slots[detail::kMaxDevices] = {};   // never freed, like the streams
static std::atomic<bool> g_error_pending[detail::kMaxDevices] = {};

void* device_error_slot(int device) {
  use_device(device);
  std::lock_guard<std::mutex> lock(g_errors_mu);
  if (!g_error_slots[device]) {
    void* p = nullptr;
    check(cudaMalloc(&p, sizeof(DeviceError)), "allocating the device error record");
    check(cudaMemsetAsync(p, 0, sizeof(DeviceError), stream_of(device)), "clearing the device error record");
    g_error_slots[device] = static_cast<DeviceError*>(p);
  }
  g_error_pending[device] = true;
  return g_error_slots[device];
}

// After a synchronization of the device's stream: raises what kernels recorded, and clears it.
static void raise_device_errors(int device) {
  if (!g_error_pending[device].exchange(false)) return;
  DeviceError* slot = g_error_slots[device];
  cudaStream_t s = stream_of(device);
  DeviceError e;
  check(cudaMemcpyAsync(&e, slot, sizeof e, cudaMemcpyDeviceToHost, s), "reading the device error record");
  check(cudaStreamSynchronize(s), "reading the device error record");
  if (e.code == int32_t(DeviceErrorCode::None)) return;
  check(cudaMemsetAsync(slot, 0, sizeof e, s), "clearing the device error record");
  const char* when = " (found on cuda:";
  switch (static_cast<DeviceErrorCode>(e.code)) {
    case DeviceErrorCode::CrossEntropyTarget:
      fail<IndexError>("cross_entropy: target ", e.value, " is out of bounds for ", e.bound,
                       " classes (expected a class in [0, ", e.bound, ") or ignore_index ", e.extra, ")", when,
                       device, " by an earlier call, reported at this synchronization)");
    case DeviceErrorCode::BceInput:
      fail<RuntimeError>("binary_cross_entropy: all elements of input should be between 0 and 1 (element ", e.value,
                         " is not", when, device, " by an earlier call, reported at this synchronization)");
    default:
      fail<RuntimeError>("cuda:", device, ": a kernel recorded an unknown error code ", e.code);
  }
}

bool sync_checks_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("PYDL_CUDA_SYNC");
    return v && v[0] && std::strcmp(v, "0") != 0;
  }();
  return enabled;
}

void check_launch(const char* kernel_name) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) fail<RuntimeError>("CUDA kernel ", kernel_name, " failed to launch: ", describe(err));
  if (!sync_checks_enabled()) return;
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  err = cudaStreamSynchronize(stream_of(device));
  if (err != cudaSuccess) {
    cudaGetLastError();
    fail<RuntimeError>("CUDA kernel ", kernel_name, " failed (PYDL_CUDA_SYNC=1 check after the launch): ",
                       describe(err));
  }
  raise_device_errors(device);
}

void stream_synchronize(int device) {
  if (device_count() == 0) return;
  use_device(device);
  check(cudaStreamSynchronize(stream_of(device)), "cuda stream synchronize");
  raise_device_errors(device);
}

void synchronize(int device) {
  if (device_count() == 0) return;
  use_device(device);
  check(cudaDeviceSynchronize(), "cuda synchronize");
  raise_device_errors(device);
}

void make_stream_wait(int device, intptr_t consumer_stream) {
  use_device(device);
  cudaStream_t ours = stream_of(device);
  cudaStream_t theirs = consumer_stream == 1   ? cudaStreamLegacy
                        : consumer_stream == 2 ? cudaStreamPerThread
                                               : reinterpret_cast<cudaStream_t>(consumer_stream);
  if (theirs == ours) return;
  cudaEvent_t ev = nullptr;
  check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "dlpack: cudaEventCreate");
  cudaError_t err = cudaEventRecord(ev, ours);
  if (err == cudaSuccess) err = cudaStreamWaitEvent(theirs, ev, 0);
  cudaEventDestroy(ev);  // safe once the wait is enqueued
  check(err, "dlpack: making the consumer's stream wait for pydl's stream");
}

// ------------------------------------------------------------------ memory

std::string device_name(int index) {
  use_device(index);
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  return prop.name;
}

void* malloc(size_t bytes, int device) {
  use_device(device);
  if (bytes == 0) return nullptr;
  return detail::allocator_malloc(bytes, device);
}

void free(void* ptr, int device) {
  detail::allocator_free(ptr, device);  // no CUDA call: the block goes back to the cache
}

static void copy(void* dst, const void* src, size_t bytes, int device, cudaMemcpyKind kind, const char* what,
                 bool wait) {
  use_device(device);
  if (bytes == 0) return;
  cudaStream_t s = stream_of(device);
  check(cudaMemcpyAsync(dst, src, bytes, kind, s), what);
  // To the host: the caller reads the data next. From the host: the caller may free or
  // overwrite the source next (pageable copies are staged, but a pinned source would not be).
  if (!wait) return;
  check(cudaStreamSynchronize(s), what);
  raise_device_errors(device);
}

void copy_to_device(void* dst, const void* src, size_t bytes, int device) {
  copy(dst, src, bytes, device, cudaMemcpyHostToDevice, "copy to cuda", true);
}

void copy_to_host(void* dst, const void* src, size_t bytes, int device) {
  copy(dst, src, bytes, device, cudaMemcpyDeviceToHost, "copy to cpu", true);
}

void copy_device_to_device(void* dst, const void* src, size_t bytes, int device) {
  copy(dst, src, bytes, device, cudaMemcpyDeviceToDevice, "copy on cuda", false);
}

}  // namespace pydl::cuda
