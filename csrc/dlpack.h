// DLPack: the in-memory tensor structure shared between frameworks, written from the public
// specification (https://dmlc.github.io/dlpack/latest/, ABI of DLPack 1.0), and pydl's
// conversions between it and Array (dlpack.cpp). The Python capsule protocol is in
// bind_runtime.cpp.
#pragma once
#include <cstdint>
#include <functional>

#include "csrc/array.h"

extern "C" {

#define DLPACK_MAJOR_VERSION 1
#define DLPACK_MINOR_VERSION 0

typedef enum {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,
  kDLOneAPI = 14,
  kDLWebGPU = 15,
  kDLHexagon = 16,
} DLDeviceType;

typedef struct {
  DLDeviceType device_type;
  int32_t device_id;
} DLDevice;

typedef enum {
  kDLInt = 0U,
  kDLUInt = 1U,
  kDLFloat = 2U,
  kDLOpaqueHandle = 3U,
  kDLBfloat = 4U,
  kDLComplex = 5U,
  kDLBool = 6U,
} DLDataTypeCode;

typedef struct {
  uint8_t code;    // a DLDataTypeCode
  uint8_t bits;    // bits per lane
  uint16_t lanes;  // 1 for scalars
} DLDataType;

typedef struct {
  void* data;            // element 0 is at (char*)data + byte_offset
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;        // ndim entries
  int64_t* strides;      // ndim entries, in elements; NULL means compact row-major
  uint64_t byte_offset;
} DLTensor;

// The legacy (unversioned) managed tensor: capsule name "dltensor".
typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);  // may be NULL
} DLManagedTensor;

typedef struct {
  uint32_t major;
  uint32_t minor;
} DLPackVersion;

#define DLPACK_FLAG_BITMASK_READ_ONLY (1UL << 0UL)
#define DLPACK_FLAG_BITMASK_IS_COPIED (1UL << 1UL)

// DLPack >= 1.0: capsule name "dltensor_versioned".
typedef struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensorVersioned* self);  // may be NULL
  uint64_t flags;
  DLTensor dl_tensor;
} DLManagedTensorVersioned;

}  // extern "C"

namespace pydl {

// (device_type, device_id) as __dlpack_device__ returns it.
DLDevice dlpack_device(const Array& a);

// A DLManagedTensor(Versioned) that shares `a`'s storage and keeps it alive until its deleter
// runs. The caller owns the result (a capsule destructor or a consumer calls the deleter).
DLManagedTensor* to_dlpack(const Array& a);
DLManagedTensorVersioned* to_dlpack_versioned(const Array& a, bool copied);

// An Array viewing the producer's memory (zero copy). `release` runs once when the last
// Array sharing it dies (it calls the producer's deleter); it is also run if this throws.
// Raises TypeError / ValueError / RuntimeError for dtypes, layouts or devices pydl cannot view.
Array from_dlpack(const DLTensor& t, std::function<void()> release);

}  // namespace pydl
