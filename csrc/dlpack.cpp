// Array <-> DLPack conversions (zero copy both ways). See dlpack.h.
#include "csrc/dlpack.h"

#include <functional>
#include <memory>
#include <vector>

#include "csrc/cuda/runtime.h"
#include "csrc/errors.h"
#include "csrc/size_check.h"

namespace pydl {

namespace {

DLDataType dl_dtype(DType d) {
  switch (d) {
    case DType::Bool: return DLDataType{kDLBool, 8, 1};
    case DType::UInt8: return DLDataType{kDLUInt, 8, 1};
    case DType::Int32: return DLDataType{kDLInt, 32, 1};
    case DType::Int64: return DLDataType{kDLInt, 64, 1};
    case DType::Float32: return DLDataType{kDLFloat, 32, 1};
    case DType::Float16: return DLDataType{kDLFloat, 16, 1};
    case DType::BFloat16: return DLDataType{kDLBfloat, 16, 1};
    default: return DLDataType{kDLFloat, 64, 1};
  }
}

DType from_dl_dtype(DLDataType t) {
  if (t.lanes == 1) {
    if (t.code == kDLBool && t.bits == 8) return DType::Bool;
    if (t.code == kDLUInt && t.bits == 8) return DType::UInt8;
    if (t.code == kDLInt && t.bits == 32) return DType::Int32;
    if (t.code == kDLInt && t.bits == 64) return DType::Int64;
    if (t.code == kDLFloat && t.bits == 32) return DType::Float32;
    if (t.code == kDLFloat && t.bits == 64) return DType::Float64;
    if (t.code == kDLFloat && t.bits == 16) return DType::Float16;
    if (t.code == kDLBfloat && t.bits == 16) return DType::BFloat16;
  }
  static const char* codes[] = {"int", "uint", "float", "opaque handle", "bfloat", "complex", "bool"};
  const char* name = t.code < 7 ? codes[t.code] : "unknown";
  fail<TypeError>("from_dlpack: unsupported dtype ", name, int(t.bits), (t.lanes != 1 ? " with lanes " : ""),
                  (t.lanes != 1 ? std::to_string(t.lanes) : std::string()),
                  "; pydl supports bool, uint8, int64, float32 and float64");
}

// What a DLManagedTensor(Versioned) we export points into: the storage stays alive, and the
// shape and strides arrays live as long as the managed tensor.
template <class Managed>
struct ExportCtx {
  std::shared_ptr<Storage> storage;
  std::vector<int64_t> shape, strides;
  Managed managed{};
};

template <class Managed>
ExportCtx<Managed>* make_export(const Array& a) {
  auto* ctx = new ExportCtx<Managed>();
  ctx->storage = a.storage();
  ctx->shape = a.shape();
  ctx->strides = a.strides();
  DLTensor& t = ctx->managed.dl_tensor;
  t.data = a.numel() ? static_cast<void*>(a.data()) : a.storage()->data;
  t.device = dlpack_device(a);
  t.ndim = static_cast<int32_t>(a.ndim());
  t.dtype = dl_dtype(a.dtype());
  t.shape = ctx->shape.data();
  t.strides = ctx->strides.data();
  t.byte_offset = 0;
  ctx->managed.manager_ctx = ctx;
  ctx->managed.deleter = [](Managed* self) { delete static_cast<ExportCtx<Managed>*>(self->manager_ctx); };
  return ctx;
}

}  // namespace

DLDevice dlpack_device(const Array& a) {
  if (a.device().is_cpu()) return DLDevice{kDLCPU, 0};
  return DLDevice{kDLCUDA, a.device().index};
}

DLManagedTensor* to_dlpack(const Array& a) { return &make_export<DLManagedTensor>(a)->managed; }

DLManagedTensorVersioned* to_dlpack_versioned(const Array& a, bool copied) {
  auto* ctx = make_export<DLManagedTensorVersioned>(a);
  ctx->managed.version = DLPackVersion{DLPACK_MAJOR_VERSION, DLPACK_MINOR_VERSION};
  ctx->managed.flags = copied ? DLPACK_FLAG_BITMASK_IS_COPIED : 0;
  return &ctx->managed;
}

Array from_dlpack(const DLTensor& t, std::function<void()> release) {
  // Until a Storage owns `release`, every exit path must run it (the producer's deleter).
  struct Guard {
    std::function<void()>* f;
    ~Guard() {
      if (f && *f) (*f)();
    }
  } guard{&release};

  const DType dtype = from_dl_dtype(t.dtype);
  Device device;
  switch (t.device.device_type) {
    case kDLCPU:
    case kDLCUDAHost:  // pinned host memory: an ordinary CPU pointer
      break;
    case kDLCUDA:
    case kDLCUDAManaged: {
      device = Device{DeviceType::CUDA, t.device.device_id};
      const int n = cuda::device_count();
      if (n == 0) fail<RuntimeError>("from_dlpack: the tensor is on cuda:", t.device.device_id, " but ", cuda::unavailable_reason());
      if (t.device.device_id < 0 || t.device.device_id >= n)
        fail<RuntimeError>("from_dlpack: cuda:", t.device.device_id, " is not a valid device (", n, " present)");
      break;
    }
    default:
      fail<RuntimeError>("from_dlpack: unsupported DLPack device type ", int(t.device.device_type),
                         "; pydl reads CPU (1), CUDA (2), CUDA host (3) and CUDA managed (13) memory");
  }
  if (t.ndim < 0) fail<ValueError>("from_dlpack: negative ndim ", t.ndim);
  Shape shape(t.shape, t.shape + t.ndim);
  for (int64_t s : shape)
    if (s < 0) fail<ValueError>("from_dlpack: negative dimension in shape ", shape_str(shape));
  Shape strides = t.strides ? Shape(t.strides, t.strides + t.ndim) : contiguous_strides(shape);
  const char* op = "from_dlpack";
  const int64_t numel = checked_numel(shape, op);
  int64_t extent = numel ? 1 : 0;  // elements from element 0 to the last one, inclusive
  for (int32_t d = 0; d < t.ndim; ++d) {
    if (strides[d] < 0)
      fail<ValueError>("from_dlpack: negative strides ", shape_str(strides),
                       " are not supported; make the source contiguous first");
    if (numel) extent = checked_add(extent, checked_mul(shape[d] - 1, strides[d], op, shape), op, shape);
  }
  void* base = static_cast<char*>(t.data) + t.byte_offset;
  if (numel && !t.data) fail<ValueError>("from_dlpack: null data pointer for a tensor of shape ", shape_str(shape));

  std::function<void(void*)> on_free;
  if (device.is_cpu()) {
    on_free = [release = std::move(release)](void*) {
      try {
        release();
      } catch (...) {  // a destructor must not throw; the producer's memory leaks instead
      }
    };
  } else {
    // Kernels queued on pydl's stream may still read the memory: finish them before the
    // producer may reuse it.
    on_free = [release = std::move(release), index = device.index](void*) {
      try {
        cuda::stream_synchronize(index);
      } catch (...) {
      }
      try {
        release();
      } catch (...) {
      }
    };
  }
  guard.f = nullptr;  // `release` now lives in on_free (moved); if make_shared throws, it is lost
  std::shared_ptr<Storage> storage;
  try {
    const int64_t bytes = checked_mul(extent, static_cast<int64_t>(itemsize(dtype)), op, shape);
    storage = std::make_shared<Storage>(base, static_cast<size_t>(bytes), device, on_free);
  } catch (...) {
    on_free(nullptr);
    throw;
  }
  return Array(std::move(storage), shape, strides, 0, dtype);
}

}  // namespace pydl
