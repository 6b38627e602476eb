// Scans (cumsum, cumprod) on CUDA over the middle axis of a contiguous (outer, r, inner)
// block; see kernels/common/scan.h. One thread per (outer, inner) column, walking r in
// order as the CPU does, so both give the same bits.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/scan.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void scan(ScanOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t r, int64_t inner, bool reverse,
          bool exclusive, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
