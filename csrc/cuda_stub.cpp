// The CUDA runtime interface in a build without CUDA: nothing is available.
#ifndef PYDL_WITH_CUDA
#include "csrc/cuda/runtime.h"
#include "csrc/errors.h"

namespace pydl::cuda {

static const char* kNoCuda = "pydl was built without CUDA support (no nvcc at build time; rebuild with PYDL_CUDA=ON)";

bool compiled() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return kNoCuda; }
std::string device_name(int) { fail<RuntimeError>(kNoCuda); }
void* malloc(size_t, int) { fail<RuntimeError>(kNoCuda); }
void free(void*, int) {}
void copy_to_device(void*, const void*, size_t, int) { fail<RuntimeError>(kNoCuda); }
void copy_to_host(void*, const void*, size_t, int) { fail<RuntimeError>(kNoCuda); }
void copy_device_to_device(void*, const void*, size_t, int) { fail<RuntimeError>(kNoCuda); }
void synchronize(int) {}

}  // namespace pydl::cuda
#endif
