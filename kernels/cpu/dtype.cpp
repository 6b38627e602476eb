// The out-of-line parts of kernels/common/dtype.h.
#include "kernels/common/dtype.h"

#include <string>

namespace pydl {

UnsupportedDType::UnsupportedDType(DType d)
    : std::runtime_error(std::string("no kernel for ") + dtype_name(d) +
                         " tensors here; convert with .float() first (float16/bfloat16 support creation, casts "
                         "and matmul)") {}
UnsupportedDType::~UnsupportedDType() = default;

void unsupported_dtype(DType d) { throw UnsupportedDType(d); }

}  // namespace pydl
