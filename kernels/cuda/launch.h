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

}  // namespace pydl::cuda_kernels
