// Philox random fills on CUDA; element i is drawn at stream position offset + i with
// kernels/common/philox.h, exactly as the CPU's kernels/cpu/random.h.
// uniform: bit-identical to the CPU (the integer Philox rounds are exact, and the
// scaling is done with explicitly rounded mul/add so nvcc cannot contract it into an
// FMA the CPU does not use). normal: Box-Muller calls logf/sinf/cosf (log/cos), whose
// CUDA versions may differ from the host libm's by an ulp or two, so the GPU's normals
// match the CPU's to a few ulp, not bit for bit.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high, void* stream,
             LaunchCheck check);
void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std, void* stream,
            LaunchCheck check);

}  // namespace pydl::cuda_kernels
