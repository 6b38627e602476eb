// Optimizer updates: each call updates a whole list of parameters and their state in
// place, in one pass per tensor (kernels/cpu/optim.h). Lists are aligned: entry i of each
// belongs to params[i]. Hyperparameters and tensors are checked here (ValueError naming
// the optimizer) before any element is written. The lists hold pointers: an optimizer
// step passes hundreds of arrays, and copying each (two shape vectors) would cost more
// than the checks.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "csrc/array.h"
#include "kernels/common/optim.h"

namespace pydl {

using ArrayList = std::vector<const Array*>;  // no null entries except where stated

// momentum_buffers: one per param when momentum != 0 (null: the first step, where the
// buffer is created from the gradient), ignored otherwise. Returns the buffers it created,
// at their params' positions (nullopt elsewhere; empty when momentum == 0).
std::vector<std::optional<Array>> sgd_update(const ArrayList& params, const ArrayList& grads,
                                             const ArrayList& momentum_buffers, const SgdHyper& h);
// max_exp_avg_sqs only with amsgrad. steps: one per param, or one for all; each counts
// updates including this one (>= 1).
void adam_update(const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
                 const ArrayList& exp_avg_sqs, const ArrayList& max_exp_avg_sqs, const std::vector<int64_t>& steps,
                 const AdamHyper& h);
// momentum_buffers only with momentum > 0, grad_avgs only when centered.
void rmsprop_update(const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs,
                    const ArrayList& grad_avgs, const ArrayList& momentum_buffers, const RmspropHyper& h);
void adagrad_update(const ArrayList& params, const ArrayList& grads, const ArrayList& state_sums,
                    const std::vector<int64_t>& steps, const AdagradHyper& h);
void adadelta_update(const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs,
                     const ArrayList& acc_deltas, const AdadeltaHyper& h);

}  // namespace pydl
