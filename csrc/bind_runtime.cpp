// Bindings for the runtime: CUDA memory statistics and streams, and the DLPack capsule
// protocol (the Python side is pydl/cuda.py and pydl/dlpack.py).
#include <pybind11/pybind11.h>

#include "csrc/array.h"
#include "csrc/bind.h"
#include "csrc/cpu_allocator.h"
#include "csrc/cuda/allocator.h"
#include "csrc/cuda/host_allocator.h"
#include "csrc/cuda/runtime.h"
#include "csrc/dlpack.h"
#include "csrc/errors.h"

namespace py = pybind11;
using namespace pydl;

namespace {

constexpr const char* kLegacy = "dltensor";
constexpr const char* kLegacyUsed = "used_dltensor";
constexpr const char* kVersioned = "dltensor_versioned";
constexpr const char* kVersionedUsed = "used_dltensor_versioned";

// A capsule that no consumer took still owns its tensor: free it with the capsule.
template <class Managed>
void capsule_destructor(PyObject* capsule, const char* name) {
  if (!PyCapsule_IsValid(capsule, name)) return;  // consumed (renamed): the consumer owns it
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  auto* managed = static_cast<Managed*>(PyCapsule_GetPointer(capsule, name));
  if (managed && managed->deleter) managed->deleter(managed);
  PyErr_Restore(type, value, tb);
}

void legacy_destructor(PyObject* capsule) { capsule_destructor<DLManagedTensor>(capsule, kLegacy); }
void versioned_destructor(PyObject* capsule) { capsule_destructor<DLManagedTensorVersioned>(capsule, kVersioned); }

template <class Managed>
py::object make_capsule(Managed* managed, const char* name, PyCapsule_Destructor destructor) {
  PyObject* capsule = PyCapsule_New(managed, name, destructor);
  if (!capsule) {
    managed->deleter(managed);
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(capsule);
}

// Takes ownership of the capsule's tensor (renaming it, as the protocol requires) and views it.
template <class Managed>
Array consume(PyObject* capsule, const char* name, const char* used_name) {
  auto* managed = static_cast<Managed*>(PyCapsule_GetPointer(capsule, name));
  if (!managed) throw py::error_already_set();
  if constexpr (std::is_same_v<Managed, DLManagedTensorVersioned>) {
    if (managed->version.major > DLPACK_MAJOR_VERSION)  // not ours to take: leave it unconsumed
      fail<RuntimeError>("from_dlpack: the producer gave DLPack ", managed->version.major, ".",
                         managed->version.minor, "; pydl reads up to ", DLPACK_MAJOR_VERSION, ".x");
  }
  if (PyCapsule_SetName(capsule, used_name) != 0) throw py::error_already_set();
  auto release = [managed] {
    if (!managed->deleter) return;
    py::gil_scoped_acquire gil;  // producers' deleters may touch Python objects
    managed->deleter(managed);
  };
  return from_dlpack(managed->dl_tensor, release);
}

Array from_capsule(const py::object& obj) {
  PyObject* capsule = obj.ptr();
  if (PyCapsule_IsValid(capsule, kVersioned))
    return consume<DLManagedTensorVersioned>(capsule, kVersioned, kVersionedUsed);
  if (PyCapsule_IsValid(capsule, kLegacy)) return consume<DLManagedTensor>(capsule, kLegacy, kLegacyUsed);
  if (PyCapsule_IsValid(capsule, kLegacyUsed) || PyCapsule_IsValid(capsule, kVersionedUsed))
    fail<ValueError>("from_dlpack: this DLPack capsule was already consumed (a capsule can be used once)");
  fail<TypeError>("from_dlpack: expected a DLPack capsule ('dltensor' or 'dltensor_versioned') or an object with "
                  "__dlpack__, got ", std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
}

}  // namespace

void pydl::bind_runtime(py::module_& m) {
  m.def("cuda_memory_allocated", &cuda::memory_allocated);
  m.def("cuda_memory_reserved", &cuda::memory_reserved);
  m.def("cuda_max_memory_allocated", &cuda::max_memory_allocated);
  m.def("cuda_reset_peak_memory_stats", &cuda::reset_peak_memory_stats);
  m.def("cuda_empty_cache", &cuda::empty_cache);
  m.def("cuda_num_mallocs", &cuda::allocator_num_cuda_mallocs);
  m.def("cuda_round_size", &cuda::allocator_round_size);
  m.def("cuda_stream_synchronize", &cuda::stream_synchronize);
  m.def("cuda_current_stream", [](int device) { return reinterpret_cast<intptr_t>(cuda::current_stream(device)); });
  m.def("cuda_make_stream_wait", &cuda::make_stream_wait);
  m.def("cuda_sync_checks_enabled", &cuda::sync_checks_enabled);
  m.def("cuda_host_memory_stats", [] {
    const cuda::HostStats s = cuda::host_stats();
    py::dict d;
    d["allocated_bytes"] = s.allocated_bytes, d["cached_bytes"] = s.cached_bytes;
    d["pending_bytes"] = s.pending_bytes, d["num_host_allocs"] = s.host_allocs;
    return d;
  });
  m.def("cuda_host_empty_cache", &cuda::host_empty_cache);
  m.def("cpu_cache_stats", [] {
    const cpu_allocator::Stats s = cpu_allocator::stats();
    py::dict d;
    d["cached_bytes"] = s.cached_bytes, d["cap_bytes"] = s.cap_bytes, d["hits"] = s.hits, d["misses"] = s.misses;
    return d;
  });
  m.def("cpu_empty_cache", &cpu_allocator::empty_cache);

  m.def("dlpack_device", [](const Array& a) {
    DLDevice d = dlpack_device(a);
    return py::make_tuple(static_cast<int>(d.device_type), d.device_id);
  });
  m.def("to_dlpack", [](const Array& a, bool versioned, bool copied) {
    if (versioned) return make_capsule(to_dlpack_versioned(a, copied), kVersioned, versioned_destructor);
    return make_capsule(to_dlpack(a), kLegacy, legacy_destructor);
  }, py::arg("array"), py::arg("versioned") = false, py::arg("copied") = false);
  m.def("from_dlpack_capsule", &from_capsule);
}
