// Loss functions: the scalar math shared by the CPU and CUDA kernels.
//
// Cross-entropy is fused: one pass over a row of logits gives the row's loss and, when a
// gradient is wanted, d loss / d logits (softmax computed once, probabilities never
// stored separately). With label smoothing eps, C classes and class weights w (all 1 when
// absent), PyTorch's per-row loss for target t is
//   loss = (1 - eps) w_t (lse - x_t) + (eps / C) sum_c w_c (lse - x_c),  lse = log sum_c e^x_c
// and its gradient, with p = softmax(x) and W = sum_c w_c,
//   d loss / d x_c = ((1 - eps) w_t + (eps / C) W) p_c - (eps / C) w_c - (1 - eps) w_t [c == t].
// 'mean' divides by the sum of w_t over the rows not ignored (their count when unweighted).
// The kernels work in logits shifted by the row's max m (lse - x_c = log s - (x_c - m),
// s = sum_c e^(x_c - m)), so that logits of 400 lose no digits to the shift.
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/common/macros.h"
#include "kernels/common/registry.h"

namespace pydl {

// Registries (kernels/common/registry.h). Reductions in PyTorch's order
// (torch.nn._reduction.get_enum); the pointwise losses X(Name, "name", Functor), named
// as the functions of torch.nn.functional.
#define PYDL_REDUCTIONS(X) \
  X(None, "none")          \
  X(Mean, "mean")          \
  X(Sum, "sum")
#define PYDL_POINTWISE_LOSSES(X)                   \
  X(Mse, "mse_loss", MseLossF)                     \
  X(L1, "l1_loss", L1LossF)                        \
  X(Bce, "binary_cross_entropy", BceLossF)         \
  X(BceWithLogits, "binary_cross_entropy_with_logits", BceWithLogitsLossF)

enum class Reduction : int { PYDL_REDUCTIONS(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(Reduction, PYDL_REDUCTIONS)
enum class PointwiseLoss : int { PYDL_POINTWISE_LOSSES(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(PointwiseLoss, PYDL_POINTWISE_LOSSES)

// The fused cross-entropy over the rows of a contiguous (rows, classes) block of logits.
// Targets are checked beforehand: each is in [0, classes) or equals ignore_index.
struct CrossEntropyRows {
  const void* logits = nullptr;     // (rows, classes)
  const int64_t* target = nullptr;  // (rows,)
  const void* weight = nullptr;     // (classes,) or nullptr
  void* loss = nullptr;             // (rows,): each row's loss, 0 where ignored
  void* dlogits = nullptr;          // (rows, classes) or nullptr: grad_scale * d loss_row / d logits
  int64_t rows = 0, classes = 0, ignore_index = -100;
  double label_smoothing = 0, grad_scale = 1;
  const double* device_scale = nullptr;  // CUDA: when set, the device value replaces grad_scale
};

// NLL over (outer, classes, inner) log-probabilities with targets (outer, inner).
struct NllArgs {
  const void* input = nullptr;
  const int64_t* target = nullptr;
  const void* weight = nullptr;  // (classes,) or nullptr
  int64_t outer = 0, classes = 0, inner = 1, ignore_index = -100;
};

// Elementwise losses over n contiguous elements; weight and pos_weight (BCE with logits)
// are null or n elements too.
struct PointwiseLossArgs {
  const void* input = nullptr;
  const void* target = nullptr;
  const void* weight = nullptr;
  const void* pos_weight = nullptr;
  int64_t n = 0;
};

}  // namespace pydl

PYDL_KERNELS_BEGIN

// The per-row cross-entropy above in shifted logits: log_s = log s, xt = x_t - m and
// (only read when eps > 0) W = sum_c w_c, sum_wx = sum_c w_c (x_c - m).
template <class T>
PYDL_HD T cross_entropy_row_loss(T log_s, T xt, T w_t, T eps, T classes, T w_total, T sum_wx) {
  T loss = (T(1) - eps) * w_t * (log_s - xt);
  if (eps > T(0)) loss += eps / classes * (w_total * log_s - sum_wx);
  return loss;
}

// ---------------------------------------------------------------- pointwise losses
// loss(x, y), and its derivatives in x (the input) and y (the target). pw is
// BCE-with-logits' pos_weight (1 when absent); the others ignore it. The optional
// elementwise weight multiplies all three outside the functor.
template <class T>
struct MseLossF {
  PYDL_HD T loss(T x, T y, T) const { return (x - y) * (x - y); }
  PYDL_HD T grad_input(T x, T y, T) const { return T(2) * (x - y); }
  PYDL_HD T grad_target(T x, T y, T) const { return T(-2) * (x - y); }
};

template <class T>
struct L1LossF {
  PYDL_HD T loss(T x, T y, T) const { return fabs(x - y); }
  PYDL_HD T grad_input(T x, T y, T) const { return sign(x - y); }
  PYDL_HD T grad_target(T x, T y, T) const { return -sign(x - y); }
  static PYDL_HD T sign(T d) { return static_cast<T>((T(0) < d) - (d < T(0))); }
};

// On probabilities x in [0, 1]; the logs are clamped at -100 and the gradient's
// denominator at 1e-12, as PyTorch does, so x = 0 or 1 gives finite numbers.
template <class T>
struct BceLossF {
  PYDL_HD T loss(T x, T y, T) const { return -(y * log_x(x) + (T(1) - y) * log_1mx(x)); }
  PYDL_HD T grad_input(T x, T y, T) const {
    const T d = (T(1) - x) * x;
    return (x - y) / (d > T(1e-12) ? d : T(1e-12));
  }
  PYDL_HD T grad_target(T x, T, T) const { return log_1mx(x) - log_x(x); }
  static PYDL_HD T log_x(T x) { const T l = log(x); return l > T(-100) ? l : T(-100); }
  static PYDL_HD T log_1mx(T x) { const T l = log1p(-x); return l > T(-100) ? l : T(-100); }
  static PYDL_HD bool in_range(T x) { return x >= T(0) && x <= T(1); }
};

// On logits, PyTorch's (1 - y) x - (1 + (pw - 1) y) log sigmoid(x) in the stable form
//   max(x, 0) - x y + (lw - 1) max(-x, 0) + lw log1p(e^-|x|),  lw = 1 + (pw - 1) y,
// which is max(x, 0) - x y + log1p(e^-|x|) for pw = 1: no exp overflows, and no large
// terms cancel (x = -30, y = 0 gives 9.4e-14 to the last digit). The gradient
// (1 - y) sigmoid(x) - pw y sigmoid(-x) is likewise free of cancellation in both tails.
template <class T>
struct BceWithLogitsLossF {
  PYDL_HD T loss(T x, T y, T pw) const {
    const T lw = T(1) + (pw - T(1)) * y;
    const T pos = x > T(0) ? x : T(0), neg = x < T(0) ? -x : T(0);
    return pos - x * y + (lw - T(1)) * neg + lw * log1p(exp(-fabs(x)));
  }
  PYDL_HD T grad_input(T x, T y, T pw) const { return (T(1) - y) * sigmoid(x) - pw * y * sigmoid(-x); }
  PYDL_HD T grad_target(T x, T, T pw) const { return -x - (pw - T(1)) * log_sigmoid(x); }
  static PYDL_HD T log_sigmoid(T x) { return (x < T(0) ? x : T(0)) - log1p(exp(-fabs(x))); }
  static PYDL_HD T sigmoid(T x) {
    const T e = exp(-fabs(x));
    return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
  }
};


// Calls fn(F{}) with the functor of `op` over element type T.
template <class T, class Fn>
void with_pointwise_loss(PointwiseLoss op, Fn&& fn) {
  switch (op) {
#define PYDL_LOSS_CASE(Name, name, F) PYDL_DISPATCH_CASE(PointwiseLoss, Name, true, fn(F<T>{}))
    PYDL_POINTWISE_LOSSES(PYDL_LOSS_CASE)
#undef PYDL_LOSS_CASE
  }
}

PYDL_KERNELS_END
