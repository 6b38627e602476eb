// Device dispatch for the ops: CPU arrays go to kernels/cpu, CUDA arrays to the
// launchers of kernels/cuda (plain C++ declarations, no CUDA headers), which take the
// device's stream and call pydl::cuda::check_launch after every launch. In a build
// without CUDA no CUDA array can exist, and the CUDA branch compiles to a raise.
#pragma once
#include "csrc/array.h"
#include "csrc/cuda/runtime.h"
#include "csrc/errors.h"

namespace pydl {

inline bool on_cuda(const Array& a) { return !a.device().is_cpu(); }

// Device scratch of a CUDA kernel (cross-block partials), freed stream-ordered when it goes.
inline Array device_workspace(Device device, size_t bytes) {
  return Array::empty({static_cast<int64_t>(bytes)}, DType::UInt8, device);
}

}  // namespace pydl

// Runs the statements with `stream` (void*, the device's stream; the device is made
// current) and `check` (the launch check) in scope.
#ifdef PYDL_WITH_CUDA
#define PYDL_CUDA_LAUNCH(device, ...)                                     \
  do {                                                                    \
    void* stream = ::pydl::cuda::current_stream((device).index);          \
    ::pydl::cuda_kernels::LaunchCheck check = &::pydl::cuda::check_launch; \
    (void)stream;                                                         \
    (void)check;                                                          \
    __VA_ARGS__;                                                          \
  } while (0)
#else
#define PYDL_CUDA_LAUNCH(device, ...) \
  ::pydl::fail<::pydl::RuntimeError>("pydl was built without CUDA support (no nvcc at build time)")
#endif

// Kernel `name` on `device`'s backend: cpu::name(args...) on the CPU, and on CUDA
// cuda_kernels::name(args..., stream, check). The two entry points share their signature,
// the CUDA one adding its launch context.
#define PYDL_KERNEL(device, name, ...)                                                       \
  do {                                                                                    \
    if ((device).is_cpu()) ::pydl::cpu::name(__VA_ARGS__);                                \
    else PYDL_CUDA_LAUNCH(device, ::pydl::cuda_kernels::name(__VA_ARGS__, stream, check)); \
  } while (0)

// The same for a kernel whose CUDA entry point also takes a device scratch buffer
// (cross-block partial results; the CPU needs none) of `workspace_bytes` bytes, an
// expression evaluated only on CUDA, passed before the launch context (nullptr if empty).
#define PYDL_KERNEL_WITH_WORKSPACE(device, name, workspace_bytes, ...)                             \
  do {                                                                                             \
    if ((device).is_cpu()) {                                                                       \
      ::pydl::cpu::name(__VA_ARGS__);                                                              \
    } else {                                                                                       \
      PYDL_CUDA_LAUNCH(device, {                                                                   \
        ::pydl::Array workspace = ::pydl::device_workspace(device, workspace_bytes);               \
        ::pydl::cuda_kernels::name(__VA_ARGS__, workspace.numel() ? workspace.data() : nullptr, stream, check); \
      });                                                                                          \
    }                                                                                              \
  } while (0)
