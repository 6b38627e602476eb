// Resampling along one axis on CUDA (see kernels/common/resample.h): the forward one thread
// per output entry, the backward one thread per (outer, inner) column walking the outputs in
// order, as the CPU does (no atomics: the same bits).
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/resample.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void resample(DType dtype, const ResampleAxis& ax, const void* x, void* out, void* stream, LaunchCheck check);
void resample_backward(DType dtype, const ResampleAxis& ax, const void* g, void* dx, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
