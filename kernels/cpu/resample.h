// Resampling along one axis on the CPU (see kernels/common/resample.h).
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/resample.h"

namespace pydl::cpu {

// out (outer, out_size, inner) from x (outer, in_size, inner); any dtype without weights,
// float32 / float64 with them.
void resample(DType dtype, const ResampleAxis& ax, const void* x, void* out);
// dx (outer, in_size, inner), zeroed here, from g (outer, out_size, inner); float32 / float64.
void resample_backward(DType dtype, const ResampleAxis& ax, const void* g, void* dx);

}  // namespace pydl::cpu
