// Layer normalization on the CPU (kernels/common/layernorm.h): rows split over the threads; the
// weight and bias gradients summed per fixed block of rows, then the blocks in order, so the
// result does not depend on the thread count.
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/layernorm.h"

namespace pydl::cpu {

void layer_norm_forward(DType dtype, const LayerNormArgs& args);
void layer_norm_backward(DType dtype, const LayerNormArgs& args);

}  // namespace pydl::cpu
