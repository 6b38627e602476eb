// Loss kernels on the CPU (see loss.h). The cross-entropy rows run in their per-ISA
// copies (softmax_isa.cpp); everything here is bound by memory or by a libm log,
// and one baseline copy is enough.
#include "kernels/cpu/loss.h"

#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/parallel.h"

PYDL_ISA_DECLARE(void cross_entropy_rows_kernel(DType, const CrossEntropyRows&))

namespace pydl::cpu {

using kernels::parallel_ranges;

namespace {

// sum_i term(i) for i in [0, n): partial sums in double over fixed blocks (in parallel),
// then the partials in order, so the result is the same on any number of threads.
template <class Term>
double block_sum(int64_t n, int64_t cost, Term term) {
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
  parallel_ranges(blocks, kBlock * cost, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t end = (k + 1) * kBlock < n ? (k + 1) * kBlock : n;
      double s = 0;
      for (int64_t i = k * kBlock; i < end; ++i) s += static_cast<double>(term(i));
      partial[k] = s;
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace

// ---------------------------------------------------------------- class targets
int64_t check_class_targets(const int64_t* target, int64_t n, int64_t classes, int64_t ignore_index, DType dtype,
                            const void* weight, double* weight_total) {
  for (int64_t i = 0; i < n; ++i)
    if (target[i] != ignore_index && (target[i] < 0 || target[i] >= classes)) return i;
  double total = 0;
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const T* w = static_cast<const T*>(weight);
    for (int64_t i = 0; i < n; ++i)
      if (target[i] != ignore_index) total += w ? static_cast<double>(w[target[i]]) : 1.0;
  });
  *weight_total = total;
  return -1;
}

// ---------------------------------------------------------------- cross-entropy
void cross_entropy(DType dtype, CrossEntropyRows args, Reduction reduction, double loss_scale, void* out) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    std::vector<T> rows;
    if (reduction == Reduction::None) {
      args.loss = out;
    } else {
      rows.resize(args.rows);
      args.loss = rows.data();
    }
    PYDL_ISA_CALL(cross_entropy_rows_kernel, dtype, args);
    if (reduction != Reduction::None)
      *static_cast<T*>(out) = static_cast<T>(block_sum(args.rows, 1, [&](int64_t i) { return rows[i]; }) * loss_scale);
  });
}

// ---------------------------------------------------------------- NLL
namespace {

template <class T>
T nll_term(const NllArgs& a, int64_t sample) {
  const int64_t t = a.target[sample];
  if (t == a.ignore_index) return T(0);
  const int64_t o = sample / a.inner, j = sample % a.inner;
  const T x = static_cast<const T*>(a.input)[(o * a.classes + t) * a.inner + j];
  return -(a.weight ? static_cast<const T*>(a.weight)[t] : T(1)) * x;
}

}  // namespace

void nll_loss(DType dtype, const NllArgs& a, Reduction reduction, double scale, void* out) {
  const int64_t samples = a.outer * a.inner;
  PYDL_DISPATCH_FLOAT(dtype, T, {
    if (reduction == Reduction::None) {
      T* o = static_cast<T*>(out);
      parallel_ranges(samples, 4, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) o[i] = nll_term<T>(a, i);
      });
    } else {
      const double total = block_sum(samples, 4, [&](int64_t i) { return nll_term<T>(a, i); });
      *static_cast<T*>(out) = static_cast<T>(total * scale);
    }
  });
}

void nll_loss_backward(DType dtype, const NllArgs& a, const void* grad, bool grad_is_scalar, double scale,
                       void* dinput) {
  const int64_t row = a.classes * a.inner;
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const T* g = static_cast<const T*>(grad);
    const T* w = static_cast<const T*>(a.weight);
    T* d = static_cast<T*>(dinput);
    // One outer slice per item: zero it, then place its samples' gradients.
    parallel_ranges(a.outer, row, [&](int64_t b, int64_t e) {
      std::memset(d + b * row, 0, sizeof(T) * (e - b) * row);
      for (int64_t i = b * a.inner; i < e * a.inner; ++i) {
        const int64_t t = a.target[i];
        if (t == a.ignore_index) continue;
        const int64_t o = i / a.inner, j = i % a.inner;
        const T gi = grad_is_scalar ? g[0] : g[i];
        d[(o * a.classes + t) * a.inner + j] = -(w ? w[t] : T(1)) * gi * static_cast<T>(scale);
      }
    });
  });
}

// ---------------------------------------------------------------- pointwise losses
namespace {

template <class T, class F>
bool pointwise_forward(const PointwiseLossArgs& a, Reduction reduction, bool mean_over_weight, T* out,
                       double* scale) {
  const F f{};
  const T* x = static_cast<const T*>(a.input);
  const T* y = static_cast<const T*>(a.target);
  const T* w = static_cast<const T*>(a.weight);
  const T* pw = static_cast<const T*>(a.pos_weight);
  // The domain check comes first, so a bad input never produces a partial result.
  if constexpr (std::is_same<F, kernels::BceLossF<T>>::value) {
    for (int64_t i = 0; i < a.n; ++i)
      if (!F::in_range(x[i])) return false;
  }
  auto term = [&](int64_t i) {
    const T l = f.loss(x[i], y[i], pw ? pw[i] : T(1));
    return w ? w[i] * l : l;
  };
  *scale = 1.0;
  if (reduction == Reduction::None) {
    parallel_ranges(a.n, 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = term(i);
    });
    return true;
  }
  const double total = block_sum(a.n, 8, term);
  if (reduction == Reduction::Mean) {
    const double denom = mean_over_weight && w ? block_sum(a.n, 1, [&](int64_t i) { return w[i]; }) : double(a.n);
    *scale = 1.0 / denom;  // an empty mean is 0/0 = nan, as PyTorch
  }
  *out = static_cast<T>(total * *scale);
  return true;
}

template <class T, class F>
void pointwise_backward(const PointwiseLossArgs& a, const T* g, bool grad_is_scalar, double scale, bool wrt_target,
                        T* out) {
  const F f{};
  const T* x = static_cast<const T*>(a.input);
  const T* y = static_cast<const T*>(a.target);
  const T* w = static_cast<const T*>(a.weight);
  const T* pw = static_cast<const T*>(a.pos_weight);
  const T s = static_cast<T>(scale);
  parallel_ranges(a.n, 8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T p = pw ? pw[i] : T(1);
      T d = wrt_target ? f.grad_target(x[i], y[i], p) : f.grad_input(x[i], y[i], p);
      if (w) d *= w[i];
      out[i] = d * (grad_is_scalar ? g[0] : g[i]) * s;
    }
  });
}

}  // namespace

bool pointwise_loss(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, Reduction reduction,
                    bool mean_over_weight, void* out, double* scale) {
  bool ok = true;
  PYDL_DISPATCH_FLOAT(dtype, T, kernels::with_pointwise_loss<T>(op, [&](auto f) {
    ok = pointwise_forward<T, decltype(f)>(args, reduction, mean_over_weight, static_cast<T*>(out), scale);
  }));
  return ok;
}

void pointwise_loss_backward(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, const void* grad,
                             bool grad_is_scalar, double scale, bool wrt_target, void* out) {
  PYDL_DISPATCH_FLOAT(dtype, T, kernels::with_pointwise_loss<T>(op, [&](auto f) {
    pointwise_backward<T, decltype(f)>(args, static_cast<const T*>(grad), grad_is_scalar, scale, wrt_target,
                                       static_cast<T*>(out));
  }));
}

}  // namespace pydl::cpu
