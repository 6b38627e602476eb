// What every CUDA kernel launcher takes besides its data: the stream to launch on
// (a cudaStream_t passed as void*, so these headers stay plain C++) and a check that
// the launcher calls right after each launch with the kernel's name. csrc/ passes
// pydl::cuda::check_launch, which raises a RuntimeError naming the kernel.
// Nothing under kernels/ includes csrc/.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace pydl::cuda_kernels {

using LaunchCheck = void (*)(const char* kernel_name);

// A bad input found by a kernel, so that checking it costs no read-back per call: the
// kernel records the first one in a DeviceError that csrc/ keeps per device (code 0: none),
// and csrc/ raises it at the next synchronization. A kernel that records one still never
// touches memory out of bounds.
enum class DeviceErrorCode : int32_t {
  None = 0,
  CrossEntropyTarget = 1,  // value: the label, bound: the number of classes, extra: ignore_index
  BceInput = 2,            // value: the index of an input outside [0, 1]
};
struct DeviceError {
  int32_t code;  // a DeviceErrorCode; set first, by compare-and-swap, so the first error wins
  int32_t unused;
  int64_t value, bound, extra;
};

}  // namespace pydl::cuda_kernels
