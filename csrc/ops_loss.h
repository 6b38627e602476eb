// Losses: checks (dtypes, shapes, class labels), allocation, one kernel call (ops_loss.cpp).
#pragma once
#include <cstdint>
#include <optional>
#include <utility>

#include "csrc/array.h"
#include "kernels/common/loss.h"

namespace pydl {

// Softmax cross-entropy on logits (N, C) or (N, C, d1, ...) with int64 class targets
// (N,) or (N, d1, ...). Returns the loss (per sample for Reduction::None, else 0-d) and,
// when with_grad, d loss / d logits computed in the same pass: the backward only scales
// it by the incoming gradient. A target outside [0, C) other than ignore_index raises
// IndexError before anything is computed.
std::pair<Array, std::optional<Array>> cross_entropy(const Array& logits, const Array& target,
                                                     const std::optional<Array>& weight, Reduction reduction,
                                                     int64_t ignore_index, double label_smoothing, bool with_grad);

// NLL on log-probabilities of the same shapes. Returns the loss and the scale its
// gradient needs (1 / sum of target weights for 'mean', else 1).
std::pair<Array, double> nll_loss(const Array& input, const Array& target, const std::optional<Array>& weight,
                                  Reduction reduction, int64_t ignore_index);
Array nll_loss_backward(const Array& grad, const Shape& input_shape, const Array& target,
                        const std::optional<Array>& weight, Reduction reduction, int64_t ignore_index, double scale);

// MSE, L1, BCE, BCE with logits over the broadcast shape of input and target. Returns the
// loss and the scale its gradient needs (the mean's 1/n or 1/sum(weight), else 1).
std::pair<Array, double> pointwise_loss(PointwiseLoss op, const Array& input, const Array& target,
                                        const std::optional<Array>& weight, const std::optional<Array>& pos_weight,
                                        Reduction reduction);
// The gradient over the broadcast shape, in input (or in target when wrt_target).
Array pointwise_loss_backward(PointwiseLoss op, const Array& grad, const Array& input, const Array& target,
                              const std::optional<Array>& weight, const std::optional<Array>& pos_weight,
                              Reduction reduction, double scale, bool wrt_target);

}  // namespace pydl
