// Batch and layer normalization: argument checks, allocation, one kernel call each.
#pragma once
#include <optional>
#include <tuple>
#include <vector>

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

// x (..., *normalized_shape) float32/float64, normalized over its last dims; weight and bias
// of normalized_shape, x's dtype. Returns (y, mean, rstd), the statistics float64, one per row.
std::tuple<Array, Array, Array> layer_norm(const Array& x, const std::vector<int64_t>& normalized_shape,
                                           const std::optional<Array>& weight, const std::optional<Array>& bias,
                                           double eps);
// The gradients asked for (None for the others), from the forward's mean and rstd.
std::tuple<std::optional<Array>, std::optional<Array>, std::optional<Array>> layer_norm_backward(
    const Array& grad, const Array& x, const std::vector<int64_t>& normalized_shape, const Array& mean,
    const Array& rstd, const std::optional<Array>& weight, bool need_dx, bool need_dweight, bool need_dbias);

}  // namespace pydl
