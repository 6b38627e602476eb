// The CUDA runtime: device discovery, a plain device allocator and host<->device copies.
// (The caching allocator and the stream discipline build on this.)
#include <cuda_runtime.h>

#include "csrc/cuda/runtime.h"
#include "csrc/errors.h"

namespace pydl::cuda {

static void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear the sticky-free error state
  if (err == cudaErrorMemoryAllocation) fail<MemoryError>(what, ": CUDA out of memory");
  fail<RuntimeError>(what, ": CUDA error ", int(err), " (", cudaGetErrorString(err), ")");
}

static cudaError_t count_devices(int* n) {
  static int cached = -1;
  static cudaError_t cached_err = cudaSuccess;
  if (cached < 0) {
    int count = 0;
    cached_err = cudaGetDeviceCount(&count);
    cached = cached_err == cudaSuccess ? count : 0;
    if (cached_err != cudaSuccess) cudaGetLastError();
  }
  *n = cached;
  return cached_err;
}

bool compiled() { return true; }

int device_count() {
  int n = 0;
  count_devices(&n);
  return n;
}

std::string unavailable_reason() {
  int n = 0;
  cudaError_t err = count_devices(&n);
  if (err != cudaSuccess)
    return std::string("CUDA is not available: cudaGetDeviceCount returned error ") + std::to_string(int(err)) +
           " (" + cudaGetErrorString(err) + "); no usable driver or GPU";
  if (n == 0) return "CUDA is not available: no GPU found";
  return "";
}

static void use_device(int device) {
  int n = device_count();
  if (n == 0) fail<RuntimeError>(unavailable_reason());
  if (device < 0 || device >= n) fail<RuntimeError>("cuda:", device, " is not a valid device (", n, " present)");
  check(cudaSetDevice(device), "cudaSetDevice");
}

std::string device_name(int index) {
  use_device(index);
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  return prop.name;
}

void* malloc(size_t bytes, int device) {
  use_device(device);
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    fail<MemoryError>("CUDA out of memory: tried to allocate ", bytes, " bytes on cuda:", device);
  }
  check(err, "cudaMalloc");
  return p;
}

void free(void* ptr, int device) {
  if (!ptr) return;
  cudaSetDevice(device);
  cudaFree(ptr);  // errors here cannot be raised from a destructor; a failed free leaks
}

void copy_to_device(void* dst, const void* src, size_t bytes, int device) {
  use_device(device);
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "copy to cuda");
}

void copy_to_host(void* dst, const void* src, size_t bytes, int device) {
  use_device(device);
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "copy to cpu");
}

void copy_device_to_device(void* dst, const void* src, size_t bytes, int device) {
  use_device(device);
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "copy on cuda");
}

void synchronize(int device) {
  if (device_count() == 0) return;
  use_device(device);
  check(cudaDeviceSynchronize(), "cuda synchronize");
}

}  // namespace pydl::cuda
