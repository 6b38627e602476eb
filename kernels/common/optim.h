// Optimizer update rules (SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta), shared by the
// CPU and CUDA kernels.
//
// Each rule updates one element of a parameter and its state in place, with PyTorch's
// semantics: torch.optim's single-tensor implementations op for op, in the same order of
// operations (addcmul is (value * a) * b, addcdiv (value * a) / b), so that results agree
// to rounding and overflow where PyTorch's do. The rules are templates on the value type
// V, so that a kernel can run them on plain float/double or on a SIMD pack of them
// (kernels/cpu/optim.cpp); V needs + - * / with V and with its scalar type S, and the
// helpers optim_sqrt, optim_max and optim_centered_var, found by overloading. Scalars
// derived from the hyperparameters (bias corrections, 1 - beta, ...) are computed once per
// tensor in double, as PyTorch does in Python, then rounded to the element type.
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/macros.h"

namespace pydl {

// Hyperparameters of one call (one parameter group), as the caller gave them.
struct SgdHyper {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
};
struct AdamHyper {  // AdamW is decoupled_weight_decay = true
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool amsgrad = false, maximize = false, decoupled_weight_decay = false;
};
struct RmspropHyper {
  double lr = 0, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false, maximize = false;
};
struct AdagradHyper {
  double lr = 0, lr_decay = 0, weight_decay = 0, eps = 1e-10;
  bool maximize = false;
};
struct AdadeltaHyper {
  double lr = 0, rho = 0.9, eps = 1e-6, weight_decay = 0;
  bool maximize = false;
};

// One tensor of a multi-tensor update: its parameter, gradient and state buffers, all
// contiguous with `numel` elements of `dtype`. The states each optimizer uses:
//   sgd: momentum_buffer (when momentum != 0)
//   adam: exp_avg, exp_avg_sq, max_exp_avg_sq (when amsgrad)
//   rmsprop: square_avg, momentum_buffer (when momentum > 0), grad_avg (when centered)
//   adagrad: state_sum
//   adadelta: square_avg, acc_delta
// `step` counts updates including this one (1 on the first; adam and adagrad use it);
// `init` asks sgd to start its momentum buffer from this step's gradient.
struct OptimSlot {
  DType dtype = DType::Float32;
  int64_t numel = 0;
  void* param = nullptr;
  const void* grad = nullptr;
  void* state[3] = {nullptr, nullptr, nullptr};
  int64_t step = 1;
  bool init = false;
};

}  // namespace pydl

PYDL_KERNELS_BEGIN

PYDL_HD float optim_sqrt(float x) { return sqrtf(x); }
PYDL_HD double optim_sqrt(double x) { return sqrt(x); }
// torch.maximum: NaN propagates.
PYDL_HD float optim_max(float a, float b) { return a > b ? a : (b != b ? b : (a != a ? a : b)); }
PYDL_HD double optim_max(double a, double b) { return a > b ? a : (b != b ? b : (a != a ? a : b)); }

// sq - ga^2 for centered RMSprop. Where sq has overflowed to +inf, ga^2 (finite ga) may
// overflow too: the result is +inf, as the exact value is (and PyTorch's fused multiply-add
// gives), not inf - inf = NaN.
PYDL_HD float optim_centered_var(float sq, float ga) {
  const float r = sq - ga * ga;
  return r != r && sq == INFINITY && ga - ga == 0.0f ? sq : r;
}
PYDL_HD double optim_centered_var(double sq, double ga) {
  const double r = sq - ga * ga;
  return r != r && sq == INFINITY && ga - ga == 0.0 ? sq : r;
}

// torch.lerp(a, b, w) = a + w (b - a), evaluated from the nearer end as PyTorch does
// (w_c = 1 - w rounded in S; w_small = |w| < 0.5).
template <class S>
struct LerpWeight {
  S w, w_c;
  bool w_small;
};
template <class S>
PYDL_HD LerpWeight<S> lerp_weight(double w) {
  return {S(w), S(1) - S(w), fabs(S(w)) < S(0.5)};
}
template <class V, class S>
PYDL_HD V optim_lerp(V a, V b, const LerpWeight<S>& w) {
  return w.w_small ? a + w.w * (b - a) : b - (b - a) * w.w_c;
}

// ---------------------------------------------------------------- SGD
//   g = ±grad (+ wd p);  buf = g on the first step, else momentum buf + (1 - dampening) g;
//   g = g + momentum buf (nesterov) or buf;  p -= lr g
enum class SgdMode : int { Plain, Momentum, Nesterov };

template <class S>
struct SgdScalars {
  S lr, momentum, one_minus_dampening, weight_decay, sign;
};

template <class S>
PYDL_HD SgdScalars<S> sgd_scalars(const SgdHyper& h) {
  return {S(h.lr), S(h.momentum), S(1.0 - h.dampening), S(h.weight_decay), S(h.maximize ? -1.0 : 1.0)};
}

template <bool kWeightDecay, SgdMode kMode, bool kInit, class V, class S>
PYDL_HD void sgd_update(V& p, V g, V& buf, const SgdScalars<S>& s) {
  g = g * s.sign;
  if constexpr (kWeightDecay) g = g + s.weight_decay * p;
  if constexpr (kMode != SgdMode::Plain) {
    if constexpr (kInit) buf = g;
    else buf = buf * s.momentum + s.one_minus_dampening * g;
    if constexpr (kMode == SgdMode::Nesterov) g = g + s.momentum * buf;
    else g = buf;
  }
  p = p - s.lr * g;
}

// ---------------------------------------------------------------- Adam / AdamW
//   g = ±grad (+ wd p for Adam; AdamW scales p by 1 - lr wd first)
//   m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2;  vmax = max(vmax, v) (amsgrad)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
enum class AdamDecay : int { None, L2, Decoupled };

template <class S>
struct AdamScalars {
  LerpWeight<S> m_weight;
  S beta2, one_minus_beta2, eps, weight_decay, decay_factor, neg_step_size, bc2_sqrt, sign;
};

template <class S>
PYDL_HD AdamScalars<S> adam_scalars(const AdamHyper& h, int64_t step) {
  const double bc1 = 1.0 - pow(h.beta1, double(step)), bc2 = 1.0 - pow(h.beta2, double(step));
  return {lerp_weight<S>(1.0 - h.beta1), S(h.beta2), S(1.0 - h.beta2), S(h.eps), S(h.weight_decay),
          S(1.0 - h.lr * h.weight_decay), S(-(h.lr / bc1)), S(sqrt(bc2)), S(h.maximize ? -1.0 : 1.0)};
}

template <AdamDecay kDecay, bool kAmsgrad, class V, class S>
PYDL_HD void adam_update(V& p, V g, V& m, V& v, V& vmax, const AdamScalars<S>& s) {
  g = g * s.sign;
  if constexpr (kDecay == AdamDecay::L2) g = g + s.weight_decay * p;
  if constexpr (kDecay == AdamDecay::Decoupled) p = p * s.decay_factor;
  m = optim_lerp(m, g, s.m_weight);
  v = v * s.beta2 + s.one_minus_beta2 * g * g;
  V denom;
  if constexpr (kAmsgrad) {
    vmax = optim_max(vmax, v);
    denom = optim_sqrt(vmax) / s.bc2_sqrt + s.eps;
  } else {
    denom = optim_sqrt(v) / s.bc2_sqrt + s.eps;
  }
  p = p + s.neg_step_size * m / denom;
}

// ---------------------------------------------------------------- RMSprop
//   g = ±grad (+ wd p);  sq = alpha sq + (1 - alpha) g^2
//   avg = sqrt(sq - ga^2) with ga = lerp(ga, g, 1 - alpha) (centered), else sqrt(sq);  avg += eps
//   buf = momentum buf + g / avg; p -= lr buf (momentum > 0), else p -= lr g / avg
template <class S>
struct RmspropScalars {
  S lr, neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum, sign;
  LerpWeight<S> ga_weight;
};

template <class S>
PYDL_HD RmspropScalars<S> rmsprop_scalars(const RmspropHyper& h) {
  return {S(h.lr), S(-h.lr), S(h.alpha), S(1.0 - h.alpha), S(h.eps), S(h.weight_decay), S(h.momentum),
          S(h.maximize ? -1.0 : 1.0), lerp_weight<S>(1.0 - h.alpha)};
}

template <bool kWeightDecay, bool kCentered, bool kMomentum, class V, class S>
PYDL_HD void rmsprop_update(V& p, V g, V& sq, V& buf, V& ga, const RmspropScalars<S>& s) {
  g = g * s.sign;
  if constexpr (kWeightDecay) g = g + s.weight_decay * p;
  sq = sq * s.alpha + s.one_minus_alpha * g * g;
  V avg;
  if constexpr (kCentered) {
    ga = optim_lerp(ga, g, s.ga_weight);
    avg = optim_sqrt(optim_centered_var(sq, ga));
  } else {
    avg = optim_sqrt(sq);
  }
  avg = avg + s.eps;
  if constexpr (kMomentum) {
    buf = buf * s.momentum + g / avg;
    p = p - s.lr * buf;
  } else {
    p = p + s.neg_lr * g / avg;
  }
}

// ---------------------------------------------------------------- Adagrad
//   g = ±grad (+ wd p);  sum += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)
template <class S>
struct AdagradScalars {
  S neg_clr, eps, weight_decay, sign;
};

template <class S>
PYDL_HD AdagradScalars<S> adagrad_scalars(const AdagradHyper& h, int64_t step) {
  const double clr = h.lr / (1.0 + double(step - 1) * h.lr_decay);
  return {S(-clr), S(h.eps), S(h.weight_decay), S(h.maximize ? -1.0 : 1.0)};
}

template <bool kWeightDecay, class V, class S>
PYDL_HD void adagrad_update(V& p, V g, V& sum, const AdagradScalars<S>& s) {
  g = g * s.sign;
  if constexpr (kWeightDecay) g = g + s.weight_decay * p;
  sum = sum + g * g;
  const V denom = optim_sqrt(sum) + s.eps;
  p = p + s.neg_clr * g / denom;
}

// ---------------------------------------------------------------- Adadelta
//   g = ±grad (+ wd p);  sq = rho sq + (1 - rho) g^2
//   delta = sqrt(acc + eps) / sqrt(sq + eps) g;  acc = rho acc + (1 - rho) delta^2;  p -= lr delta
template <class S>
struct AdadeltaScalars {
  S lr, rho, one_minus_rho, eps, weight_decay, sign;
};

template <class S>
PYDL_HD AdadeltaScalars<S> adadelta_scalars(const AdadeltaHyper& h) {
  return {S(h.lr), S(h.rho), S(1.0 - h.rho), S(h.eps), S(h.weight_decay), S(h.maximize ? -1.0 : 1.0)};
}

template <bool kWeightDecay, class V, class S>
PYDL_HD void adadelta_update(V& p, V g, V& sq, V& acc, const AdadeltaScalars<S>& s) {
  g = g * s.sign;
  if constexpr (kWeightDecay) g = g + s.weight_decay * p;
  sq = sq * s.rho + s.one_minus_rho * g * g;
  const V denom = optim_sqrt(sq + s.eps);
  const V delta = optim_sqrt(acc + s.eps) / denom * g;
  acc = acc * s.rho + s.one_minus_rho * delta * delta;
  p = p - s.lr * delta;
}

// Element i of one tensor: the parameter and the states named by kStates (bit s: state s) are
// read, updated by rule(p, g, s0, s1, s2) and written back. The scalar loop of both backends.
template <unsigned kStates, class T, class Rule>
PYDL_HD void update_element(const Rule& rule, T* p, const T* g, T* s0, T* s1, T* s2, int64_t i) {
  T pv = p[i], a = 0, b = 0, c = 0;
  if constexpr (kStates & 1u) a = s0[i];
  if constexpr (kStates & 2u) b = s1[i];
  if constexpr (kStates & 4u) c = s2[i];
  rule(pv, g[i], a, b, c);
  p[i] = pv;
  if constexpr (kStates & 1u) s0[i] = a;
  if constexpr (kStates & 2u) s1[i] = b;
  if constexpr (kStates & 4u) s2[i] = c;
}

PYDL_KERNELS_END
