// The CUDA runtime interface in a build without CUDA: nothing is available.
#ifndef PYDL_WITH_CUDA
#include "csrc/cuda/allocator.h"
#include "csrc/cuda/host_allocator.h"
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
void stream_synchronize(int) {}
void* current_stream(int) { fail<RuntimeError>(kNoCuda); }
void check_launch(const char* kernel_name) { fail<RuntimeError>("CUDA kernel ", kernel_name, ": ", kNoCuda); }
bool sync_checks_enabled() { return false; }
void make_stream_wait(int, intptr_t) { fail<RuntimeError>(kNoCuda); }
void* device_error_slot(int) { fail<RuntimeError>(kNoCuda); }

size_t allocator_round_size(size_t bytes) { return bytes; }
size_t memory_allocated(int) { return 0; }
size_t memory_reserved(int) { return 0; }
size_t max_memory_allocated(int) { return 0; }
void reset_peak_memory_stats(int) {}
void empty_cache(int) {}
uint64_t allocator_num_cuda_mallocs(int) { return 0; }

void* host_alloc(size_t, const char* op) {
  fail<RuntimeError>(op, ": pinned memory is page-locked host memory from the CUDA runtime, and ", kNoCuda);
}
void host_free(void*) noexcept {}
void copy_pinned_to_device(void*, const void*, size_t, int, const void*) { fail<RuntimeError>(kNoCuda); }
HostStats host_stats() { return {0, 0, 0, 0}; }
void host_empty_cache() {}

}  // namespace pydl::cuda
#endif
