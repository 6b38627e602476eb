// Optimizer updates on CUDA: the contracts of kernels/cpu/optim.h (the rules of
// kernels/common/optim.h), as multi-tensor kernels. The slots are cut into launches of
// up to kOptimSlotsPerLaunch tensors that share a dtype and a step (and, for SGD, the
// first-step flag); each launch passes its table of pointers and sizes by value as a
// kernel parameter (no device allocation, no host-device copy, no synchronization) and
// every block updates one chunk of one tensor. An optimizer group of a few dozen
// tensors of one dtype is thus one launch.
#pragma once
#include <stdint.h>

#include "kernels/common/optim.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

constexpr int kOptimSlotsPerLaunch = 48;

void sgd(const SgdHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check);
void adam(const AdamHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check);
void rmsprop(const RmspropHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check);
void adagrad(const AdagradHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check);
void adadelta(const AdadeltaHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
