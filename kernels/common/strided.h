// The description of an elementwise loop over strided operands, shared by CPU and CUDA.
// All operands have the loop's shape (broadcast dims carry stride 0); operand 0 is the
// output. Strides are in bytes so that operands of different dtypes can share a loop.
#pragma once
#include <stdint.h>

namespace pydl {

constexpr int kMaxDims = 16;
constexpr int kMaxOperands = 4;

struct StridedLoop {
  int ndim = 0;
  int nops = 0;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxOperands][kMaxDims];
  char* data[kMaxOperands];

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= shape[d];
    return n;
  }
};

// torch.gather / scatter_add along `dim` for contiguous index/src/out of the index's shape
// `shape`; `x_strides` are the (element) strides of the gathered-from / scattered-into array.
struct IndexedAxis {
  int ndim = 0, dim = 0;
  int64_t shape[kMaxDims];
  int64_t x_strides[kMaxDims];
};

}  // namespace pydl
