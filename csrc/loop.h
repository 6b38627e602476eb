// Builds the StridedLoop that elementwise kernels walk: operands broadcast to one
// shape (stride 0 on broadcast dims), strides in bytes, dims coalesced so that a
// contiguous operation becomes a single run.
#pragma once
#include <initializer_list>

#include "csrc/array.h"
#include "kernels/common/strided.h"

namespace pydl {

struct LoopOperand {
  char* data;
  const Shape* shape;    // broadcastable to the loop's shape; empty for a scalar
  const Shape* strides;  // in elements
  size_t itemsize;
};

StridedLoop make_loop(const Shape& shape, std::initializer_list<LoopOperand> operands);  // operand 0 = output
StridedLoop make_loop(const Array& out, std::initializer_list<const Array*> inputs);
LoopOperand operand(const Array& a);

}  // namespace pydl
