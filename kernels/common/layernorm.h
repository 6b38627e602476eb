// Layer normalization over the last `cols` entries of each of `rows` rows, shared by the CPU and
// CUDA kernels:
//   forward:  y = (x - mean) * rstd * w + b, rstd = 1 / sqrt(var + eps), var the biased variance
//             (two passes over the row, float64 sums); mean and rstd are saved as float64
//   backward: with xhat = (x - mean) * rstd and gw = g * w (w = 1 without a weight),
//             dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))
//             dweight = sum over rows of g * xhat, dbias = sum over rows of g (float64 sums)
#pragma once
#include <stdint.h>

namespace pydl {

struct LayerNormArgs {
  int64_t rows = 0, cols = 0;
  double eps = 1e-5;
  const void* x = nullptr;
  const void* weight = nullptr;  // (cols,) or null
  const void* bias = nullptr;    // (cols,) or null
  void* y = nullptr;             // forward's output
  double* mean = nullptr;        // (rows,): written by the forward, read by the backward
  double* rstd = nullptr;
  const void* grad = nullptr;  // backward's incoming gradient
  void* dx = nullptr;          // backward's outputs: each null when not asked for
  void* dweight = nullptr;
  void* dbias = nullptr;
};

}  // namespace pydl
