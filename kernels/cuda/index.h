// Index-driven kernels on CUDA: the same contracts as kernels/cpu/index.h. Indices are
// int64 on the device and already range-checked by csrc/ on the host before launch
// (index_select and index_add accept negative indices, counted from the end).
// scatter_reduce and index_add accumulate atomically (atomicAdd, or a compare-and-swap loop for
// the other steps): repeated indices are combined in an unspecified order, so float sums and
// products may differ in the last bits from run to run (amax, amin and integer results are
// exact). They take int64, float32 and float64: the caller runs uint8 in int64. gather and
// index_select are deterministic.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/scatter.h"
#include "kernels/common/strided.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void gather(DType dtype, const void* x, const int64_t* index, void* out, const IndexedAxis& ax, void* stream,
            LaunchCheck check);
void scatter_reduce(ScatterOp op, DType dtype, void* x, const int64_t* index, const void* src, const IndexedAxis& ax,
                    void* stream, LaunchCheck check);
void index_select(DType dtype, const void* x, int64_t x_size, const int64_t* index, int64_t n_index, void* out,
                  int64_t outer, int64_t inner, void* stream, LaunchCheck check);
void index_add(DType dtype, void* out, int64_t out_size, const int64_t* index, int64_t n_index, const void* src,
               int64_t outer, int64_t inner, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
