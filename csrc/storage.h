// Refcounted memory behind one or more Arrays (views share it).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

#include "csrc/device.h"

namespace pydl {

struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  std::function<void(void*)> release;  // frees `data`; empty for memory we do not own
  bool pinned = false;                 // page-locked host memory (csrc/cuda/host_allocator.h)

  Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> release)
      : data(data), nbytes(nbytes), device(device), release(std::move(release)) {}
  ~Storage() {
    if (release) release(data);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // 64-byte aligned on the CPU; from the device allocator on a GPU.
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  // Page-locked host memory for a CPU tensor; `op` names the caller in errors.
  static std::shared_ptr<Storage> allocate_pinned(size_t nbytes, const char* op);
};

}  // namespace pydl
