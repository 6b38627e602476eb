// CUDA side of csrc/nccl_streams.h. Compiled only with the CUDA backend (CMakeLists.txt).
#include <cuda_runtime.h>

#include <mutex>

#include "csrc/cuda/allocator.h"
#include "csrc/errors.h"
#include "csrc/nccl_streams.h"

namespace pydl::nccl::streams {

static void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();
  fail<RuntimeError>("nccl: ", what, " failed: CUDA error ", int(err), " (", cudaGetErrorName(err), ": ",
                     cudaGetErrorString(err), ")");
}

bool available() { return true; }

void set_device(int device) { check(cudaSetDevice(device), "cudaSetDevice"); }

void* comm_stream(int device) {
  static std::mutex mu;
  static cudaStream_t streams[cuda::detail::kMaxDevices] = {};
  if (device < 0 || device >= cuda::detail::kMaxDevices) fail<ValueError>("nccl: no CUDA device ", device);
  std::lock_guard<std::mutex> lock(mu);
  if (!streams[device]) {
    set_device(device);
    check(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  }
  return streams[device];
}

void* event_create() {
  cudaEvent_t e = nullptr;
  check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  return e;
}

void event_destroy(void* event) noexcept {
  if (event) cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

void record(void* event, void* stream) {
  check(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)), "cudaEventRecord");
}

void wait(void* stream, void* event) {
  check(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0),
        "cudaStreamWaitEvent");
}

bool query(void* event) {
  cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  check(err, "cudaEventQuery");
  return true;
}

}  // namespace pydl::nccl::streams
