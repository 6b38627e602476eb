// What the emulator's two halves share: the error state of the runtime API (host_api.cpp)
// and the launch count (emulator.cpp).
#pragma once
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace pydl_emu {

// Keeps the first error until cudaGetLastError takes it; returns `err`.
cudaError_t record(cudaError_t err, const std::string& detail);

extern std::atomic<uint64_t> g_launches;

}  // namespace pydl_emu
