#include "kernels/cpu/gemm.h"

#include "kernels/cpu/isa.h"

PYDL_ISA_DECLARE(void gemm_kernel(bool is_double, const GemmArgs& args))

namespace pydl::cpu {

void gemm(DType dtype, const GemmArgs& args) { PYDL_ISA_CALL(gemm_kernel, dtype == DType::Float64, args); }

}  // namespace pydl::cpu
