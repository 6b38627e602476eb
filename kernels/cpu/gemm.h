// GEMM on the CPU (float32 and float64), BLIS-style; see gemm_isa.cpp.
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/gemm_args.h"

namespace pydl::cpu {

void gemm(DType dtype, const GemmArgs& args);

}  // namespace pydl::cpu
