// Dispatch of layer normalization to its per-ISA copies (layernorm_isa.cpp).
#include "kernels/cpu/layernorm.h"

#include "kernels/cpu/isa.h"

PYDL_ISA_DECLARE(void layer_norm_forward_kernel(DType, const LayerNormArgs&))
PYDL_ISA_DECLARE(void layer_norm_backward_kernel(DType, const LayerNormArgs&))

namespace pydl::cpu {

void layer_norm_forward(DType dtype, const LayerNormArgs& args) {
  PYDL_ISA_CALL(layer_norm_forward_kernel, dtype, args);
}

void layer_norm_backward(DType dtype, const LayerNormArgs& args) {
  PYDL_ISA_CALL(layer_norm_backward_kernel, dtype, args);
}

}  // namespace pydl::cpu
