// float16/bfloat16 take no part in dtype promotion: they are storage types for the GPU's
// tensor cores (creation, casts, matmul). Every other op rejects them by name.
#pragma once
#include "csrc/array.h"
#include "csrc/errors.h"

namespace pydl {

inline void reject_half(const Array& x, const char* op) {
  if (is_half(x.dtype()))
    fail<TypeError>(op, ": not supported for ", dtype_name(x.dtype()),
                    " tensors (float16/bfloat16 support creation, casts and matmul); convert with .float() first");
}

}  // namespace pydl
