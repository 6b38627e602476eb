// Sorting on CUDA along the last axis of a contiguous (rows, n) block (see
// kernels/common/sort.h for the order): a bitonic network per row over the next power of two,
// padded with entries that sort last, in the caller's workspace. Every launch compares
// disjoint pairs, so the result is the CPU's exactly.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

size_t sort_workspace_bytes(DType dtype, int64_t rows, int64_t n);

void sort_rows(DType dtype, const void* in, void* values, int64_t* indices, int64_t rows, int64_t n, int64_t k,
               bool descending, void* workspace, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
