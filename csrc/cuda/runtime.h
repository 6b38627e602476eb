// The CUDA runtime as the rest of csrc/ sees it: plain C++, no CUDA headers, so
// that it compiles (with stubs that raise, cuda_stub.cpp) in a build without CUDA.
#pragma once
#include <cstddef>
#include <string>

namespace pydl::cuda {

bool compiled();                 // built with the CUDA backend
int device_count();              // 0 when no driver or no GPU (any CUDA error counts as none)
std::string unavailable_reason();  // why device_count() is 0, for error messages
std::string device_name(int index);
void* malloc(size_t bytes, int device);
void free(void* ptr, int device);
void copy_to_device(void* dst, const void* src, size_t bytes, int device);
void copy_to_host(void* dst, const void* src, size_t bytes, int device);
void copy_device_to_device(void* dst, const void* src, size_t bytes, int device);
void synchronize(int device);

}  // namespace pydl::cuda
