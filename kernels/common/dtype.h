// Element types known to every layer.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pydl {

// Order matters: promotion picks the larger code (bool < uint8 < int64 < float32 < float64).
enum class DType : int8_t { Bool = 0, UInt8 = 1, Int64 = 2, Float32 = 3, Float64 = 4 };
constexpr int kNumDTypes = 5;

constexpr size_t itemsize(DType d) {
  return d == DType::Bool || d == DType::UInt8 ? 1 : d == DType::Float32 ? 4 : 8;
}
constexpr bool is_floating(DType d) { return d == DType::Float32 || d == DType::Float64; }
constexpr const char* dtype_name(DType d) {
  constexpr const char* names[] = {"bool", "uint8", "int64", "float32", "float64"};
  return names[static_cast<int>(d)];
}

}  // namespace pydl

// Runs the statements with `T` bound to the C++ type of `dtype`.
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
    PYDL_DTYPE_CASE(Int64, int64_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float32, float, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float64, double, T, __VA_ARGS__)        \
  }
// Arithmetic types: bool is promoted to int64 before arithmetic (see csrc/promote.h).
#define PYDL_DISPATCH_NUMERIC(dtype, T, ...)                 \
  switch (dtype) {                                          \
    PYDL_DTYPE_CASE(UInt8, uint8_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Int64, int64_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float32, float, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float64, double, T, __VA_ARGS__)        \
    default: break;                                         \
  }
#define PYDL_DISPATCH_FLOAT(dtype, T, ...)                   \
  switch (dtype) {                                          \
    PYDL_DTYPE_CASE(Float32, float, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float64, double, T, __VA_ARGS__)        \
    default: break;                                         \
  }
