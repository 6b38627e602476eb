// Philox-based random fills on the CPU; element i is drawn at stream position offset + i.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"

namespace pydl::cpu {

void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high);
void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std);

}  // namespace pydl::cpu
