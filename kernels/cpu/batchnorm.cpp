// Batch normalization on the CPU. The input is a contiguous (N, C, S) block (see
// kernels/common/batchnorm.h). Work is cut into units: for S == 1 a unit is one row
// of C values (the inner loop runs across channels and vectorizes), otherwise one
// channel's S contiguous values of one sample (the inner loop runs along S).
//
// Channel reductions go through "slots": fixed slices of the units that depend only on
// the shape, never on the thread count, each with its own partial results, merged in
// slot order. A result is thus the same bits with 1 thread or 16.
#include "kernels/cpu/batchnorm.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

using namespace kernels;

namespace {

constexpr int64_t kSlotGrain = 16384;  // elements a slot covers at least
constexpr int64_t kMaxSlots = 64;

struct Layout {
  int64_t n, c, s;
  int64_t units() const { return s == 1 ? n : n * c; }
  int64_t unit_size() const { return s == 1 ? c : s; }
  int64_t slots() const {
    const int64_t by_size = n * c * s / kSlotGrain;
    return std::max<int64_t>(1, std::min({by_size, kMaxSlots, units()}));
  }
};

// fn(slot, first unit, end unit) for every slot, slots spread over the threads.
template <class Fn>
void for_each_slot(const Layout& L, int64_t slots, Fn fn) {
  const int64_t units = L.units();
  parallel_ranges(slots, (units / slots + 1) * L.unit_size(), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) fn(k, units * k / slots, units * (k + 1) / slots);
  });
}

// ------------------------------------------------------------------ sums along a run
// float64 accumulators; `omp simd reduction` lets the compiler keep one partial sum per
// vector lane (plain C++ may not reassociate floating-point adds, so it would not vectorize).
template <class T>
double run_sum(const T* __restrict x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += double(x[i]);
  return s;
}

template <class T>
double run_sq_dev(const T* __restrict x, int64_t n, double m) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(x[i]) - m;
    s += d * d;
  }
  return s;
}

// sum(g) and sum(g * (x - m)) along a run.
template <class T>
void run_grad_sums(const T* __restrict g, const T* __restrict x, int64_t n, double m, double* sum_g, double* sum_gx) {
  double sg = 0, sx = 0;
#pragma omp simd reduction(+ : sg, sx)
  for (int64_t i = 0; i < n; ++i) {
    const double gv = double(g[i]);
    sg += gv;
    sx += gv * (double(x[i]) - m);
  }
  *sum_g = sg;
  *sum_gx = sx;
}

// ------------------------------------------------------------------ channel reductions
// Rows of an (N, C) input walk down W channels at a time, their accumulators in registers.
constexpr int kCols = 8;

// Moments of channels [c0, c0 + W) over rows [r0, r1) (two passes: the block is in cache),
// merged into (count, mean, m2).
template <class T, int W>
void column_moments(const T* x, int64_t C, int64_t r0, int64_t r1, int64_t c0, double* cn, double* mn, double* q) {
  double s[W] = {}, m[W], d2[W] = {};
  for (int64_t r = r0; r < r1; ++r) {
    const T* row = x + r * C + c0;
    for (int l = 0; l < W; ++l) s[l] += double(row[l]);
  }
  const double rows = double(r1 - r0);
  for (int l = 0; l < W; ++l) m[l] = s[l] / rows;
  for (int64_t r = r0; r < r1; ++r) {
    const T* row = x + r * C + c0;
    for (int l = 0; l < W; ++l) {
      const double d = double(row[l]) - m[l];
      d2[l] += d * d;
    }
  }
  for (int l = 0; l < W; ++l) bn_merge_moments(&cn[c0 + l], &mn[c0 + l], &q[c0 + l], rows, m[l], d2[l]);
}

// Mean and biased variance of each channel, reading x once: two passes over a block that
// sits in cache (a run of S values, or up to 32768 values of consecutive rows), then the
// blocks' moments merged with Chan's formula. Safe for data far from zero mean.
template <class T>
void batch_moments(const T* x, const Layout& L, double* mean, double* var) {
  const int64_t C = L.c, S = L.s, slots = L.slots();
  std::vector<double> cnt(slots * C, 0.0), mu(slots * C, 0.0), m2(slots * C, 0.0);
  for_each_slot(L, slots, [&](int64_t k, int64_t u0, int64_t u1) {
    double *cn = cnt.data() + k * C, *mn = mu.data() + k * C, *q = m2.data() + k * C;
    if (S == 1) {
      const int64_t block = std::max<int64_t>(1, 32768 / C);
      for (int64_t r0 = u0; r0 < u1; r0 += block) {
        const int64_t r1 = std::min(u1, r0 + block);
        int64_t c0 = 0;
        for (; c0 + kCols <= C; c0 += kCols) column_moments<T, kCols>(x, C, r0, r1, c0, cn, mn, q);
        for (; c0 < C; ++c0) column_moments<T, 1>(x, C, r0, r1, c0, cn, mn, q);
      }
    } else {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t c = u % C;
        const T* run = x + u * S;
        const double m = run_sum(run, S) / double(S);
        bn_merge_moments(&cn[c], &mn[c], &q[c], double(S), m, run_sq_dev(run, S, m));
      }
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    double n = 0, m = 0, q = 0;
    for (int64_t k = 0; k < slots; ++k) bn_merge_moments(&n, &m, &q, cnt[k * C + c], mu[k * C + c], m2[k * C + c]);
    mean[c] = m;
    var[c] = n > 0 ? q / n : 0.0;
  }
}

// sum(g) and sum(g * (x - mean)) of each channel.
template <class T>
void grad_sums(const T* g, const T* x, const T* mean, const Layout& L, double* sum_g, double* sum_gx) {
  const int64_t C = L.c, S = L.s, slots = L.slots();
  std::vector<double> pg(slots * C, 0.0), px(slots * C, 0.0);
  for_each_slot(L, slots, [&](int64_t k, int64_t u0, int64_t u1) {
    double* __restrict ag = pg.data() + k * C;
    double* __restrict ax = px.data() + k * C;
    if (S == 1) {  // two rows per sweep: half the accumulator traffic
      std::vector<double> md(mean, mean + C);
      const double* __restrict m = md.data();
      int64_t r = u0;
      for (; r + 2 <= u1; r += 2) {
        const T* __restrict g0 = g + r * C;
        const T* __restrict x0 = x + r * C;
        const T* __restrict g1 = g0 + C;
        const T* __restrict x1 = x0 + C;
        for (int64_t c = 0; c < C; ++c) {
          const double a = double(g0[c]), b = double(g1[c]);
          ag[c] += a + b;
          ax[c] += a * (double(x0[c]) - m[c]) + b * (double(x1[c]) - m[c]);
        }
      }
      for (; r < u1; ++r) {
        const T* __restrict gr = g + r * C;
        const T* __restrict xr = x + r * C;
        for (int64_t c = 0; c < C; ++c) {
          const double gv = double(gr[c]);
          ag[c] += gv;
          ax[c] += gv * (double(xr[c]) - m[c]);
        }
      }
    } else {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t c = u % C;
        double sg, sx;
        run_grad_sums(g + u * S, x + u * S, S, double(mean[c]), &sg, &sx);
        ag[c] += sg;
        ax[c] += sx;
      }
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    double sg = 0, sx = 0;
    for (int64_t k = 0; k < slots; ++k) {
      sg += pg[k * C + c];
      sx += px[k * C + c];
    }
    sum_g[c] = sg;
    sum_gx[c] = sx;
  }
}

// ------------------------------------------------------------------ elementwise passes
// out = (in - m[c]) * a[c] + b[c]
template <class T>
void channel_affine(const T* __restrict in, T* __restrict out, const Layout& L, const T* __restrict m,
                    const T* __restrict a, const T* __restrict b) {
  const int64_t C = L.c, S = L.s;
  if (S == 1) {
    parallel_ranges(L.n, C, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* __restrict xr = in + r * C;
        T* __restrict yr = out + r * C;
        for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - m[c]) * a[c] + b[c];
      }
    });
  } else {
    parallel_ranges(L.n * C, S, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t c = u % C;
        const T mc = m[c], ac = a[c], bc = b[c];
        const T* __restrict xr = in + u * S;
        T* __restrict yr = out + u * S;
        for (int64_t i = 0; i < S; ++i) yr[i] = (xr[i] - mc) * ac + bc;
      }
    });
  }
}

// dx = g * kg[c] + (x - m[c]) * kx[c] + k0[c]
template <class T>
void channel_backward(const T* __restrict g, const T* __restrict x, T* __restrict dx, const Layout& L,
                      const T* __restrict m, const T* __restrict kg, const T* __restrict kx, const T* __restrict k0) {
  const int64_t C = L.c, S = L.s;
  if (S == 1) {
    parallel_ranges(L.n, 2 * C, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* __restrict gr = g + r * C;
        const T* __restrict xr = x + r * C;
        T* __restrict dr = dx + r * C;
        for (int64_t c = 0; c < C; ++c) dr[c] = gr[c] * kg[c] + (xr[c] - m[c]) * kx[c] + k0[c];
      }
    });
  } else {
    parallel_ranges(L.n * C, 2 * S, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t c = u % C;
        const T mc = m[c], gc = kg[c], xc = kx[c], oc = k0[c];
        const T* __restrict gr = g + u * S;
        const T* __restrict xr = x + u * S;
        T* __restrict dr = dx + u * S;
        for (int64_t i = 0; i < S; ++i) dr[i] = gr[i] * gc + (xr[i] - mc) * xc + oc;
      }
    });
  }
}

// ------------------------------------------------------------------ entry points
template <class T>
void forward(const BatchNormArgs& a) {
  const Layout L{a.n, a.c, a.s};
  const int64_t C = a.c;
  const T* x = static_cast<const T*>(a.x);
  T* rm = static_cast<T*>(a.running_mean);
  T* rv = static_cast<T*>(a.running_var);
  const T* w = static_cast<const T*>(a.weight);
  const T* b = static_cast<const T*>(a.bias);
  std::vector<double> mean(C), var(C);
  if (a.training) {
    batch_moments(x, L, mean.data(), var.data());
    const double count = double(a.n) * double(a.s);
    for (int64_t c = 0; c < C; ++c) {
      if (rm) {
        T& r = rm[c * a.running_mean_stride];
        r = static_cast<T>(bn_running_update(double(r), mean[c], a.momentum));
      }
      if (rv) {
        T& r = rv[c * a.running_var_stride];
        r = static_cast<T>(bn_running_update(double(r), bn_unbiased_var(var[c], count), a.momentum));
      }
    }
  } else {
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = double(rm[c * a.running_mean_stride]);
      var[c] = double(rv[c * a.running_var_stride]);
    }
  }
  T* save_mean = static_cast<T*>(a.save_mean);
  T* save_invstd = static_cast<T*>(a.save_invstd);
  std::vector<T> scale(C), shift(C);
  for (int64_t c = 0; c < C; ++c) {
    const double invstd = bn_invstd(var[c], a.eps);
    const BnAffine f = bn_forward_coeffs(invstd, w ? double(w[c]) : 1.0, b ? double(b[c]) : 0.0);
    save_mean[c] = static_cast<T>(mean[c]);
    save_invstd[c] = static_cast<T>(invstd);
    scale[c] = static_cast<T>(f.scale);
    shift[c] = static_cast<T>(f.shift);
  }
  channel_affine(x, static_cast<T*>(a.y), L, save_mean, scale.data(), shift.data());
}

template <class T>
void backward(const BatchNormArgs& a) {
  const Layout L{a.n, a.c, a.s};
  const int64_t C = a.c;
  const T* g = static_cast<const T*>(a.grad);
  const T* x = static_cast<const T*>(a.x);
  const T* mean = static_cast<const T*>(a.save_mean);
  const T* invstd = static_cast<const T*>(a.save_invstd);
  const T* w = static_cast<const T*>(a.weight);
  const bool need_sums = a.dweight || a.dbias || (a.training && a.dx);
  std::vector<double> sum_g(C, 0.0), sum_gx(C, 0.0);
  if (need_sums) grad_sums(g, x, mean, L, sum_g.data(), sum_gx.data());
  if (a.dweight)
    for (int64_t c = 0; c < C; ++c) static_cast<T*>(a.dweight)[c] = static_cast<T>(sum_gx[c] * double(invstd[c]));
  if (a.dbias)
    for (int64_t c = 0; c < C; ++c) static_cast<T*>(a.dbias)[c] = static_cast<T>(sum_g[c]);
  if (!a.dx) return;
  const double count = double(a.n) * double(a.s);
  std::vector<T> kg(C), kx(C), k0(C);
  for (int64_t c = 0; c < C; ++c) {
    const BnBackward k =
        bn_backward_coeffs(a.training, double(invstd[c]), w ? double(w[c]) : 1.0, sum_g[c], sum_gx[c], count);
    kg[c] = static_cast<T>(k.dy_coef);
    kx[c] = static_cast<T>(k.x_coef);
    k0[c] = static_cast<T>(k.bias_coef);
  }
  T* dx = static_cast<T*>(a.dx);
  if (a.training) {
    channel_backward(g, x, dx, L, mean, kg.data(), kx.data(), k0.data());
  } else {
    const std::vector<T> zero(C, T(0));
    channel_affine(g, dx, L, zero.data(), kg.data(), zero.data());  // dx = g * w * invstd
  }
}

}  // namespace

void batch_norm_forward(DType dtype, const BatchNormArgs& args) { PYDL_DISPATCH_FLOAT(dtype, T, forward<T>(args)); }

void batch_norm_backward(DType dtype, const BatchNormArgs& args) { PYDL_DISPATCH_FLOAT(dtype, T, backward<T>(args)); }

}  // namespace pydl::cpu
