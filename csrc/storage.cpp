#include "csrc/storage.h"

#include "csrc/cpu_allocator.h"
#include "csrc/cuda/host_allocator.h"
#include "csrc/cuda/runtime.h"
#include "csrc/errors.h"

namespace pydl {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  if (device.is_cpu()) {
    void* p = cpu_allocator::allocate(nbytes);
    return std::make_shared<Storage>(p, nbytes, device, [nbytes](void* q) { cpu_allocator::release(q, nbytes); });
  }
  // The device's caching allocator (csrc/cuda/allocator.h): freeing returns the block to its cache.
  const int index = device.index;
  void* p = cuda::malloc(nbytes, index);
  return std::make_shared<Storage>(p, nbytes, device, [index](void* q) { cuda::free(q, index); });
}

std::shared_ptr<Storage> Storage::allocate_pinned(size_t nbytes, const char* op) {
  void* p = cuda::host_alloc(nbytes, op);
  std::shared_ptr<Storage> s;
  try {
    s = std::make_shared<Storage>(p, nbytes, Device{}, [](void* q) { cuda::host_free(q); });
  } catch (...) {
    cuda::host_free(p);
    throw;
  }
  s->pinned = true;
  return s;
}

Device Device::parse(const std::string& name) {
  if (name == "cpu") return Device{};
  if (name == "cuda") return Device{DeviceType::CUDA, 0};
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.find_first_not_of("0123456789", 5) == std::string::npos)
    return Device{DeviceType::CUDA, std::stoi(name.substr(5))};
  fail<ValueError>("device: expected 'cpu', 'cuda' or 'cuda:N', got '", name, "'");
}

}  // namespace pydl
