// Batch normalization: argument checks, allocation, one kernel call each.
#pragma once
#include <optional>
#include <tuple>

#include "csrc/array.h"

namespace pydl {

// x: (N, C, *) float32/float64; every per-channel array (C,) of x's dtype. Training
// updates running_mean / running_var in place when given. Returns (y, save_mean, save_invstd).
std::tuple<Array, Array, Array> batch_norm(const Array& x, const std::optional<Array>& running_mean,
                                           const std::optional<Array>& running_var,
                                           const std::optional<Array>& weight, const std::optional<Array>& bias,
                                           bool training, double momentum, double eps);
// The gradients asked for (None for the others); weight None means w = 1.
std::tuple<std::optional<Array>, std::optional<Array>, std::optional<Array>> batch_norm_backward(
    const Array& grad, const Array& x, const Array& save_mean, const Array& save_invstd,
    const std::optional<Array>& weight, bool training, bool need_dx, bool need_dweight, bool need_dbias);

}  // namespace pydl
