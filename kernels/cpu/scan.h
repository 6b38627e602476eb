// Scans (cumsum, cumprod) on the CPU over the middle axis of a contiguous (outer, r, inner)
// block; see kernels/common/scan.h.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/scan.h"

namespace pydl::cpu {

// out has in's shape and dtype (float32, float64 or int64).
void scan(ScanOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t r, int64_t inner, bool reverse,
          bool exclusive);

}  // namespace pydl::cpu
