// What the emulator's parts share: the error state of the runtime API (host_api.cpp), the
// launch count (emulator.cpp) and the queue of copies on pinned memory (host_memory.cpp).
#pragma once
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace pydl_emu {

// Keeps the first error until cudaGetLastError takes it; returns `err`.
cudaError_t record(cudaError_t err, const std::string& detail);

extern std::atomic<uint64_t> g_launches;

// Pinned host memory and the copies queued on it (host_memory.cpp).
bool is_pinned(const void* p);  // inside a block of cudaHostAlloc
void queue_copy(void* dst, const void* src, size_t bytes);
void run_queued_copies();  // what the stream does before its next operation
uint64_t copies_queued();  // a ticket: the copies queued so far
bool copies_done_through(uint64_t ticket);

}  // namespace pydl_emu
