// The CUDA runtime as the rest of csrc/ sees it: plain C++, no CUDA headers, so
// that it compiles (with stubs that raise, cuda_stub.cpp) in a build without CUDA.
//
// Streams: one stream per device (created on first use). Every kernel and every copy
// that pydl issues on a device goes to current_stream(device), so work is ordered on
// that stream, launches are asynchronous, and the caching allocator (allocator.h) can
// hand a freed block to the next allocation without synchronizing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace pydl::cuda {

bool compiled();                 // built with the CUDA backend
int device_count();              // 0 when no driver or no GPU (any CUDA error counts as none)
// Why CUDA is unusable ("" when it is usable): no driver, no GPU, or a GPU (device 0) whose
// compute capability the build has no code for. Using such a device raises the same reason.
std::string unavailable_reason();
std::string device_name(int index);

// Device memory through the per-device caching allocator (allocator.h); nullptr for 0 bytes.
// MemoryError (with the requested size and what is in use) when the device is out of memory.
void* malloc(size_t bytes, int device);
void free(void* ptr, int device);  // never throws: returns the block to the cache

// Copies on the device's stream. copy_to_host and copy_to_device return once the copy is
// complete (the host buffer may be read or freed right away); device-to-device is asynchronous.
void copy_to_device(void* dst, const void* src, size_t bytes, int device);
void copy_to_host(void* dst, const void* src, size_t bytes, int device);
void copy_device_to_device(void* dst, const void* src, size_t bytes, int device);
void synchronize(int device);         // the whole device (cudaDeviceSynchronize); no-op without a GPU
void stream_synchronize(int device);  // pydl's stream on that device; no-op without a GPU

// For kernel launchers: the device's stream as a cudaStream_t (cast it back), created on
// first use; makes `device` the current CUDA device.
void* current_stream(int device);
// Call right after every kernel launch: cudaGetLastError, and a RuntimeError naming the
// kernel on failure. With the environment variable PYDL_CUDA_SYNC=1 it also synchronizes
// the current device's stream and checks again, so an error inside the kernel is reported
// at the launch that caused it (for debugging; slow).
void check_launch(const char* kernel_name);
bool sync_checks_enabled();  // PYDL_CUDA_SYNC=1

// Where kernels record a bad input they find (a cuda_kernels::DeviceError, kernels/cuda/
// launch.h, in device memory, zero when none). Every synchronization above (copies to and
// from the host, synchronize, stream_synchronize, PYDL_CUDA_SYNC's checks) then raises the
// recorded error, as IndexError or RuntimeError naming the op, and clears it. Reading the
// record back costs one small copy, made only after a kernel was handed the slot.
void* device_error_slot(int device);

// DLPack: make `consumer_stream` (a cudaStream_t given as an integer, 1 = legacy default
// stream, 2 = per-thread default stream) wait for all work queued so far on pydl's stream
// of `device`. A no-op when the consumer uses pydl's own stream. RuntimeError on failure.
void make_stream_wait(int device, intptr_t consumer_stream);

}  // namespace pydl::cuda
