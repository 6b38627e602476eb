// Element types known to every layer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace pydl {

// Order matters among the first five: promotion picks the larger code (bool < uint8 < int64 <
// float32 < float64). float16 and bfloat16 come after and take no part in promotion: they are
// storage types for the GPU's tensor cores (creation, casts and matmul); every other op raises
// a TypeError for them (see csrc/promote.h).
enum class DType : int8_t { Bool = 0, UInt8 = 1, Int64 = 2, Float32 = 3, Float64 = 4, Float16 = 5, BFloat16 = 6 };
constexpr int kNumDTypes = 7;

constexpr size_t itemsize(DType d) {
  return d == DType::Bool || d == DType::UInt8       ? 1
         : d == DType::Float16 || d == DType::BFloat16 ? 2
         : d == DType::Float32                         ? 4
                                                       : 8;
}
// The floating types the kernels compute in (halves are converted, see is_half).
constexpr bool is_floating(DType d) { return d == DType::Float32 || d == DType::Float64; }
constexpr bool is_half(DType d) { return d == DType::Float16 || d == DType::BFloat16; }
constexpr const char* dtype_name(DType d) {
  constexpr const char* names[] = {"bool", "uint8", "int64", "float32", "float64", "float16", "bfloat16"};
  return names[static_cast<int>(d)];
}

// Raised by the dispatch macros below for a dtype they have no kernel for (so a half tensor
// reaching a float-only kernel is an error, never garbage); Python sees a TypeError. Defined
// out of line (kernels/cpu/dtype.cpp): the per-ISA objects must not carry shared code.
struct UnsupportedDType : std::runtime_error {
  explicit UnsupportedDType(DType d);
  ~UnsupportedDType() override;
};
[[noreturn]] void unsupported_dtype(DType d);

}  // namespace pydl

// Runs the statements with `T` bound to the C++ type of `dtype`. The macros cover the five
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
    PYDL_DTYPE_CASE(Int64, int64_t, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float32, float, T, __VA_ARGS__)         \
    PYDL_DTYPE_CASE(Float64, double, T, __VA_ARGS__)        \
    default: ::pydl::unsupported_dtype(dtype);              \
  }
// Arithmetic types: bool is promoted to int64 before arithmetic (see csrc/promote.h).
#define PYDL_DISPATCH_NUMERIC(dtype, T, ...)                 \
  switch (dtype) {                                          \
    PYDL_DTYPE_CASE(UInt8, uint8_t, T, __VA_ARGS__)         \
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
