// Index-driven kernels on the CPU. Indices are int64 and already validated by csrc/
// (index_select and index_add accept negative indices, counted from the end).
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/scatter.h"
#include "kernels/common/strided.h"

namespace pydl::cpu {

// Position of the first index outside [low, high), or -1.
int64_t first_out_of_range(const int64_t* index, int64_t n, int64_t low, int64_t high);

// Along `dim` of contiguous arrays viewed as (outer, size, inner):
// out[o, i, j] = x[o, index[i], j] with x (outer, x_size, inner), out (outer, n_index, inner).
void index_select(DType dtype, const void* x, int64_t x_size, const int64_t* index, int64_t n_index, void* out,
                  int64_t outer, int64_t inner);
// out[o, index[i], j] += src[o, i, j]; repeated indices accumulate (serially, so deterministically).
void index_add(DType dtype, void* out, int64_t out_size, const int64_t* index, int64_t n_index, const void* src,
               int64_t outer, int64_t inner);

// torch.gather / scatter_reduce (see IndexedAxis in kernels/common/strided.h): scatter_reduce takes
// src's entries into x's in index order (kernels/common/scatter.h).
void gather(DType dtype, const void* x, const int64_t* index, void* out, const IndexedAxis& ax);
void scatter_reduce(ScatterOp op, DType dtype, void* x, const int64_t* index, const void* src, const IndexedAxis& ax);

}  // namespace pydl::cpu
