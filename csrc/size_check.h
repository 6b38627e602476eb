// Size arithmetic that cannot wrap: every place that turns a shape into an element count,
// a byte size or a stride goes through these, and an overflow raises ValueError naming the
// op and the shape instead of producing a wrapped (small or negative) number.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/common/dtype.h"

namespace pydl {

using Shape = std::vector<int64_t>;

// a * b for non-negative a and b, or ValueError "op: ... shape ... overflows".
int64_t checked_mul(int64_t a, int64_t b, const char* op, const Shape& shape);
// a + b, likewise.
int64_t checked_add(int64_t a, int64_t b, const char* op, const Shape& shape);
// The element count of `shape` (dims checked non-negative).
int64_t checked_numel(const Shape& shape, const char* op);
// The bytes of a contiguous `shape` of `dtype`.
size_t checked_nbytes(const Shape& shape, DType dtype, const char* op);

}  // namespace pydl
