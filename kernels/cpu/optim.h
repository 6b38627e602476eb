// Optimizer updates on the CPU: one fused pass over each parameter and its state, in
// place, for a whole list of tensors at once (see kernels/common/optim.h for the rules
// and for which state buffers each optimizer uses). Slots may mix float32 and float64.
#pragma once
#include <stdint.h>

#include "kernels/common/optim.h"

namespace pydl::cpu {

void sgd(const SgdHyper& h, const OptimSlot* slots, int64_t count);
void adam(const AdamHyper& h, const OptimSlot* slots, int64_t count);
void rmsprop(const RmspropHyper& h, const OptimSlot* slots, int64_t count);
void adagrad(const AdagradHyper& h, const OptimSlot* slots, int64_t count);
void adadelta(const AdadeltaHyper& h, const OptimSlot* slots, int64_t count);

}  // namespace pydl::cpu
