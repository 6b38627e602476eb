// pydl's CUDA emulation, host side: the runtime API (devices, memory, streams, events,
// errors) over host memory. The launches are in emulator.cpp.
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "emulator_state.h"

namespace pydl_emu {
namespace {
cudaError_t g_last_error = cudaSuccess;
std::string g_last_detail;
}  // namespace

cudaError_t record(cudaError_t err, const std::string& detail) {
  if (g_last_error == cudaSuccess) {
    g_last_error = err;
    g_last_detail = detail;
  }
  if (getenv("PYDL_EMU_VERBOSE")) fprintf(stderr, "pydl CUDA emulation: %s\n", detail.c_str());
  return err;
}

}  // namespace pydl_emu

using pydl_emu::g_last_detail;
using pydl_emu::g_last_error;
using pydl_emu::record;


namespace {
struct EmuStream {};
EmuStream g_stream_object;
std::mutex g_alloc_mu;
size_t g_allocated = 0;
constexpr size_t kEmulatedMemory = size_t(16) << 30;
std::unordered_map<void*, size_t> g_allocations;
}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : record(cudaErrorInvalidDevice, "cudaSetDevice: only device 0 is emulated");
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return record(cudaErrorInvalidDevice, "cudaGetDeviceProperties: only device 0 is emulated");
  memset(prop, 0, sizeof *prop);
  snprintf(prop->name, sizeof prop->name, "pydl CUDA emulation");
  prop->totalGlobalMem = kEmulatedMemory;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = 227 * 1024;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  const char* cc = getenv("PYDL_EMU_CC");  // e.g. 75: the emulated GPU's compute capability
  const int capability = cc && *cc ? atoi(cc) : 90;
  prop->major = capability / 10;
  prop->minor = capability % 10;
  prop->multiProcessorCount = 4;
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  *ptr = nullptr;
  if (bytes > kEmulatedMemory - g_allocated) return cudaErrorMemoryAllocation;
  void* p = nullptr;  // exactly `bytes`, so that a memory checker sees any access past them
  if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0) return cudaErrorMemoryAllocation;
  memset(p, 0xcd, bytes);  // garbage, as on a GPU
  g_allocations[p] = bytes;
  g_allocated += bytes;
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  auto it = g_allocations.find(ptr);
  if (it == g_allocations.end()) return record(cudaErrorInvalidValue, "cudaFree of a pointer cudaMalloc did not give");
  g_allocated -= it->second;
  g_allocations.erase(it);
  free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  *free_bytes = kEmulatedMemory - g_allocated;
  *total_bytes = kEmulatedMemory;
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  pydl_emu::run_queued_copies();
  if (bytes) memmove(dst, src, bytes);
  return cudaSuccess;
}
// Between the host and pinned memory the copy is queued (host_memory.cpp); from pageable memory a
// GPU stages the data before returning, so it is done at once.
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  if (kind != cudaMemcpyDeviceToDevice && (pydl_emu::is_pinned(src) || pydl_emu::is_pinned(dst))) {
    pydl_emu::queue_copy(dst, src, bytes);
    return cudaSuccess;
  }
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
  pydl_emu::run_queued_copies();
  if (bytes) memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* s) {
  *s = reinterpret_cast<cudaStream_t>(&g_stream_object);
  return cudaSuccess;
}
static cudaError_t pending_error() { return g_last_error; }
static std::atomic<uint64_t> g_synchronizations{0};  // where a GPU would make the host wait
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  pydl_emu::run_queued_copies();
  ++g_synchronizations;
  return pending_error();
}
cudaError_t cudaDeviceSynchronize() {
  pydl_emu::run_queued_copies();
  ++g_synchronizations;
  return pending_error();
}
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
// An event completes once the queued copies before its record have run.
struct EmuEvent {
  uint64_t ticket = 0;
};
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = reinterpret_cast<cudaEvent_t>(new EmuEvent);
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { return cudaEventCreate(e); }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  reinterpret_cast<EmuEvent*>(e)->ticket = pydl_emu::copies_queued();
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t e) {
  return pydl_emu::copies_done_through(reinterpret_cast<EmuEvent*>(e)->ticket) ? cudaSuccess : cudaErrorNotReady;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) {
  pydl_emu::run_queued_copies();
  ++g_synchronizations;
  return pending_error();
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<EmuEvent*>(e);
  return cudaSuccess;
}
// Errors are not sticky here: a test that provokes one can go on with the next.
cudaError_t cudaGetLastError() {
  const cudaError_t err = g_last_error;
  g_last_error = cudaSuccess;
  return err;
}
cudaError_t cudaPeekAtLastError() { return g_last_error; }

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    default: return "cudaError";
  }
}
const char* cudaGetErrorString(cudaError_t err) {
  static thread_local std::string text;
  text = err == cudaSuccess ? "no error" : "emulated: " + g_last_detail;
  return text.c_str();
}

// Kernel launches so far, for counting what a step costs in launches:
// ctypes.CDLL(pydl._C.__file__).pydl_emu_launch_count()
extern "C" __attribute__((visibility("default"))) uint64_t pydl_emu_launch_count() { return pydl_emu::g_launches; }
// Stream and device synchronizations so far (a training step should make none).
extern "C" __attribute__((visibility("default"))) uint64_t pydl_emu_sync_count() { return g_synchronizations; }
