// Element types known to every layer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "kernels/common/registry.h"

namespace pydl {

// The dtype registry: X(Name, "name", itemsize). Order matters among the first six:
// promotion picks the larger code (bool < uint8 < int32 < int64 < float32 < float64). float16 and
// bfloat16 come after and take no part in promotion: they are storage types for the GPU's
// tensor cores (creation, casts and matmul); every other op raises a TypeError for them
// (see csrc/promote.h). Python reads the codes as _C.DType.FLOAT32 etc.
#define PYDL_DTYPES(X)      \
  X(Bool, "bool", 1)        \
  X(UInt8, "uint8", 1)      \
  X(Int32, "int32", 4)      \
  X(Int64, "int64", 8)      \
  X(Float32, "float32", 4)  \
  X(Float64, "float64", 8)  \
  X(Float16, "float16", 2)  \
  X(BFloat16, "bfloat16", 2)

enum class DType : int8_t { PYDL_DTYPES(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(DType, PYDL_DTYPES)
constexpr int kNumDTypes = count_of<DType>();

constexpr size_t itemsize(DType d) {
#define PYDL_DTYPE_SIZE(Name, name, size) size,
  constexpr size_t sizes[] = {PYDL_DTYPES(PYDL_DTYPE_SIZE)};
#undef PYDL_DTYPE_SIZE
  return sizes[static_cast<int>(d)];
}
// The floating types the kernels compute in (halves are converted, see is_half).
constexpr bool is_floating(DType d) { return d == DType::Float32 || d == DType::Float64; }
constexpr bool is_half(DType d) { return d == DType::Float16 || d == DType::BFloat16; }
constexpr const char* dtype_name(DType d) { return name_of(d); }

// Raised by the dispatch macros below for a dtype they have no kernel for (so a half tensor
// reaching a float-only kernel is an error, never garbage); Python sees a TypeError. Defined
// out of line (kernels/cpu/dtype.cpp): the per-ISA objects must not carry shared code.
struct UnsupportedDType : std::runtime_error {
  explicit UnsupportedDType(DType d);
  ~UnsupportedDType() override;
};
[[noreturn]] void unsupported_dtype(DType d);

// The DType of a computing C++ type (the dispatchers' refusals name it).
template <class T>
constexpr DType dtype_of() {
  return std::is_same<T, bool>::value      ? DType::Bool
         : std::is_same<T, uint8_t>::value ? DType::UInt8
         : std::is_same<T, int32_t>::value ? DType::Int32
         : std::is_same<T, int64_t>::value ? DType::Int64
         : std::is_same<T, float>::value   ? DType::Float32
                                           : DType::Float64;
}

}  // namespace pydl

// Runs the statements with `T` bound to the C++ type of `dtype`. The macros cover the six
// computing types only; any other dtype raises UnsupportedDType.
#define PYDL_DTYPE_CASE(code, type, T, ...) \
  case ::pydl::DType::code: {               \
    using T = type;                         \
    __VA_ARGS__;                            \
    break;                                  \
  }
#define PYDL_DISPATCH_ALL(dtype, T, ...)                     \
  switch (dtype) {                                          \
    PYDL_DTYPE_CASE(Bool, bool, T, __VA_ARGS__)             \
    PYDL_DTYPE_CASE(UInt8, uint8_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Int32, int32_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Int64, int64_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float32, float, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float64, double, T, __VA_ARGS__)        \
    default: ::pydl::unsupported_dtype(dtype);              \
  }
// Arithmetic types: bool is promoted to int64 before arithmetic (see csrc/promote.h).
#define PYDL_DISPATCH_NUMERIC(dtype, T, ...)                 \
  switch (dtype) {                                          \
    PYDL_DTYPE_CASE(UInt8, uint8_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Int32, int32_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Int64, int64_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float32, float, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float64, double, T, __VA_ARGS__)        \
    default: ::pydl::unsupported_dtype(dtype);              \
  }
#define PYDL_DISPATCH_FLOAT(dtype, T, ...)                   \
  switch (dtype) {                                          \
    PYDL_DTYPE_CASE(Float32, float, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float64, double, T, __VA_ARGS__)        \
    default: ::pydl::unsupported_dtype(dtype);              \
  }
