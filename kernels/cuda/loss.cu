// Losses on CUDA (see loss.h). Section by section: deterministic sums, the class-target
// check, the fused cross-entropy rows, NLL, the pointwise losses.
#include "kernels/cuda/loss.h"

#include <algorithm>
#include <limits>

#include "kernels/cuda/row_reduce.cuh"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

// ---------------------------------------------------------------- deterministic sums
constexpr int kMaxPartials = 512;
constexpr int kSumBlock = 256;

int partial_blocks(int64_t n) {
  const int64_t b = (n + int64_t(kSumBlock) * 16 - 1) / (int64_t(kSumBlock) * 16);
  return static_cast<int>(std::min<int64_t>(std::max<int64_t>(b, 1), kMaxPartials));
}

// The factor a sum is multiplied by: a host value, or one a kernel left on the device.
struct Scale {
  double host = 1;
  const double* device = nullptr;
  __device__ __forceinline__ double get() const { return device ? *device : host; }
};

// partial[blockIdx.x] = sum of term(i) over the block's share of [0, n); a single block
// (out given) writes *out = Out(sum * scale) itself, what finish_sum_kernel would.
template <class Term, class Out>
__global__ void __launch_bounds__(kSumBlock)
    partial_sum_kernel(Term term, int64_t n, double* __restrict__ partial, Scale scale, Out* __restrict__ out) {
  __shared__ double scratch[32];
  double acc = 0;
  for (int64_t i = global_thread(); i < n; i += grid_threads()) acc += term(i);
  acc = block_sum(acc, scratch);
  if (threadIdx.x != 0) return;
  if (out) *out = static_cast<Out>(acc * scale.get());
  else partial[blockIdx.x] = acc;
}

// *out = Out(sum(partial[0..count)) * scale), by one block.
template <class Out>
__global__ void __launch_bounds__(kSumBlock)
    finish_sum_kernel(const double* __restrict__ partial, int count, Scale scale, Out* __restrict__ out) {
  __shared__ double scratch[32];
  double acc = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) *out = static_cast<Out>(acc * scale.get());
}

template <class Out, class Term>
void sum_terms(const Term& term, int64_t n, Scale scale, Out* out, double* partial, cudaStream_t s,
               LaunchCheck check, const char* name) {
  const int blocks = partial_blocks(n);
  partial_sum_kernel<<<blocks, kSumBlock, 0, s>>>(term, n, partial, scale, blocks == 1 ? out : nullptr);
  check(name);
  if (blocks == 1) return;  // small sums (a batch's losses): one launch
  finish_sum_kernel<Out><<<1, kSumBlock, 0, s>>>(partial, blocks, scale, out);
  check("pydl_loss_finish_sum");
}

template <class T>
struct ValueTerm {  // the values themselves
  const T* v;
  __device__ __forceinline__ double operator()(int64_t i) const { return double(v[i]); }
};

// ---------------------------------------------------------------- class targets
// One block: the first bad target by a min over indices, the weight total by a fixed tree.
template <class T>
__global__ void __launch_bounds__(1024)
    check_targets_kernel(const int64_t* __restrict__ target, int64_t n, int64_t classes, int64_t ignore_index,
                         const T* __restrict__ w, ClassTargetCheck* __restrict__ result, DeviceError* error) {
  __shared__ double scratch[32];
  __shared__ unsigned long long first_bad;
  if (threadIdx.x == 0) first_bad = ~0ull;
  __syncthreads();
  double total = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int64_t t = target[i];
    if (t == ignore_index) continue;
    if (t < 0 || t >= classes) {
      atomicMin(&first_bad, static_cast<unsigned long long>(i));  // integers: the order does not matter
      continue;
    }
    total += w ? double(w[t]) : 1.0;
  }
  total = block_sum(total, scratch);  // synchronizes: first_bad is final
  if (threadIdx.x == 0) {
    const bool bad = first_bad != ~0ull;
    result->bad_index = bad ? static_cast<int64_t>(first_bad) : -1;
    result->bad_value = bad ? target[first_bad] : 0;
    result->weight_total = total;
    result->mean_scale = 1.0 / total;  // no target left: inf, and the mean 0 * inf = nan, as PyTorch
    if (bad && error)
      record_error(error, DeviceErrorCode::CrossEntropyTarget, result->bad_value, classes, ignore_index);
  }
}

// ---------------------------------------------------------------- fused cross-entropy
// One row per owner: pass 1 the online max and sum of exps (and W = sum w when smoothing
// with weights); pass 2 writes dlogits and, when smoothing, sums w_c (x_c - m) for the loss.
// The gradient is the CPU's: e^(x_c - m) coef - shift w_c, then - (1 - eps) w_t scale at t.
template <bool WARP, bool VEC, bool kWeighted, bool kSmooth, class T>
__global__ void __launch_bounds__(WARP ? kBlock : kRowBlockMax) cross_entropy_rows_kernel(CrossEntropyRows a) {
  __shared__ MaxSum<T> scratch_ms[32];
  __shared__ T scratch[32];
  const RowOwner<WARP> own;
  const T* logits = static_cast<const T*>(a.logits);
  const T* w = static_cast<const T*>(a.weight);
  T* loss = static_cast<T*>(a.loss);
  T* dlogits = static_cast<T*>(a.dlogits);
  const int64_t n = a.classes;
  const T eps = static_cast<T>(a.label_smoothing), classes = static_cast<T>(n);
  const T scale = static_cast<T>(a.device_scale ? *a.device_scale : a.grad_scale);
  for (int64_t r = own.first(); r < a.rows; r += own.step()) {
    const T* x = logits + r * n;
    T* d = dlogits ? dlogits + r * n : nullptr;
    const int64_t t = a.target[r];
    if (t == a.ignore_index || t < 0 || t >= n) {  // the same t for the whole owner: a uniform branch
      const T v = t == a.ignore_index ? T(0) : std::numeric_limits<T>::quiet_NaN();  // bad: the check reports it
      if (own.t() == 0) loss[r] = v;
      if (d) for (int64_t c = own.t(); c < n; c += own.threads()) d[c] = v;
      continue;
    }
    MaxSum<T> ms = max_sum_identity<T>();
    T w_part = 0;
    for_row<VEC>(x, n, own.t(), own.threads(), [&](int64_t c, T v) {
      max_sum_add(ms, v);
      if constexpr (kWeighted && kSmooth) w_part += w[c];
    });
    ms = owner_max_sum<WARP>(ms, scratch_ms);
    T w_total = classes;
    if constexpr (kWeighted && kSmooth) w_total = owner_sum<WARP>(w_part, scratch);
    const T m = ms.m, s = ms.s;
    const T w_t = kWeighted ? w[t] : T(1);
    T wx_part = 0;
    if (d) {
      const T coef = ((T(1) - eps) * w_t + eps / classes * w_total) * scale / s;
      const T shift = eps / classes * scale, hit = (T(1) - eps) * w_t * scale;
      map_row<VEC>(x, d, n, own.t(), own.threads(), [&](int64_t c, T v) {
        const T wc = kWeighted ? w[c] : T(1);
        if constexpr (kSmooth) wx_part += wc * (v - m);
        T g = exp_fast(v - m) * coef;
        if constexpr (kSmooth) g = g - (kWeighted ? shift * wc : shift);
        return c == t ? g - hit : g;
      });
    } else if constexpr (kSmooth) {
      for_row<VEC>(x, n, own.t(), own.threads(),
                   [&](int64_t c, T v) { wx_part += (kWeighted ? w[c] : T(1)) * (v - m); });
    }
    T sum_wx = 0;
    if constexpr (kSmooth) sum_wx = owner_sum<WARP>(wx_part, scratch);
    if (own.t() == 0) loss[r] = cross_entropy_row_loss(dev_log(s), x[t] - m, w_t, eps, classes, w_total, sum_wx);
  }
}

template <bool WARP, bool VEC, class T>
void launch_ce_rows(const CrossEntropyRows& a, cudaStream_t s) {
  const unsigned grid = row_grid(WARP, a.rows);
  const int threads = WARP ? kBlock : row_block_threads(a.classes);
  const bool weighted = a.weight != nullptr, smooth = a.label_smoothing > 0;
  if (weighted && smooth) cross_entropy_rows_kernel<WARP, VEC, true, true, T><<<grid, threads, 0, s>>>(a);
  else if (weighted) cross_entropy_rows_kernel<WARP, VEC, true, false, T><<<grid, threads, 0, s>>>(a);
  else if (smooth) cross_entropy_rows_kernel<WARP, VEC, false, true, T><<<grid, threads, 0, s>>>(a);
  else cross_entropy_rows_kernel<WARP, VEC, false, false, T><<<grid, threads, 0, s>>>(a);
}

// Workspace layout: [partials: kMaxPartials doubles][per-row losses: rows T].
template <class T>
void run_cross_entropy(CrossEntropyRows a, Reduction reduction, double loss_scale, void* out, void* workspace,
                       cudaStream_t s, LaunchCheck check) {
  double* partial = static_cast<double*>(workspace);
  a.loss = reduction == Reduction::None ? out : static_cast<void*>(partial + kMaxPartials);
  const bool warp = a.classes <= kWarpRowMax;
  const bool vec = is_aligned16(a.logits) && (!a.dlogits || is_aligned16(a.dlogits)) &&
                   a.classes % Pack16<T>::kLanes == 0;
  if (warp && vec) launch_ce_rows<true, true, T>(a, s);
  else if (warp) launch_ce_rows<true, false, T>(a, s);
  else if (vec) launch_ce_rows<false, true, T>(a, s);
  else launch_ce_rows<false, false, T>(a, s);
  check(warp ? "pydl_cross_entropy_rows_warp" : "pydl_cross_entropy_rows_block");
  if (reduction != Reduction::None)
    sum_terms(ValueTerm<T>{static_cast<const T*>(a.loss)}, a.rows, Scale{loss_scale, a.device_scale},
              static_cast<T*>(out), partial, s, check, "pydl_cross_entropy_sum");
}

// ---------------------------------------------------------------- NLL
template <class T>
struct NllTerm {
  NllArgs a;
  __device__ __forceinline__ T operator()(int64_t sample) const {
    const int64_t t = a.target[sample];
    if (t == a.ignore_index) return T(0);
    const int64_t o = sample / a.inner, j = sample - o * a.inner;
    const T x = static_cast<const T*>(a.input)[(o * a.classes + t) * a.inner + j];
    return -(a.weight ? static_cast<const T*>(a.weight)[t] : T(1)) * x;
  }
};

template <class T>
struct AsDouble {
  NllTerm<T> f;
  __device__ __forceinline__ double operator()(int64_t i) const { return double(f(i)); }
};

template <class T>
__global__ void __launch_bounds__(kBlock) nll_per_sample_kernel(NllTerm<T> f, int64_t samples, T* __restrict__ out) {
  for (int64_t i = global_thread(); i < samples; i += grid_threads()) out[i] = f(i);
}

// Every element of dinput: -w[t] g scale where the class is the sample's target, else 0.
template <class T>
__global__ void __launch_bounds__(kBlock)
    nll_backward_kernel(NllArgs a, const T* __restrict__ g, bool grad_is_scalar, T scale, T* __restrict__ d) {
  const int64_t total = a.outer * a.classes * a.inner;
  const T* w = static_cast<const T*>(a.weight);
  for (int64_t e = global_thread(); e < total; e += grid_threads()) {
    const int64_t j = e % a.inner, oc = e / a.inner, c = oc % a.classes, o = oc / a.classes;
    const int64_t sample = o * a.inner + j, t = a.target[sample];
    T v = T(0);
    if (t != a.ignore_index && t == c) v = -(w ? w[t] : T(1)) * (grad_is_scalar ? g[0] : g[sample]) * scale;
    d[e] = v;
  }
}

// ---------------------------------------------------------------- pointwise losses
template <class T, class F>
struct PointwiseTerm {
  const T *x, *y, *w, *pw;
  __device__ __forceinline__ T operator()(int64_t i) const {
    const T l = F{}.loss(x[i], y[i], pw ? pw[i] : T(1));
    return w ? w[i] * l : l;
  }
};

template <class T, class F>
struct PointwiseTermD {
  PointwiseTerm<T, F> f;
  __device__ __forceinline__ double operator()(int64_t i) const { return double(f(i)); }
};

template <class T, class F>
__global__ void __launch_bounds__(kBlock)
    domain_check_kernel(const T* __restrict__ x, int64_t n, DeviceError* error) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    if (!F::in_range(x[i])) record_error(error, DeviceErrorCode::BceInput, i);
}

template <class T, class F>
__global__ void __launch_bounds__(kBlock) pointwise_map_kernel(PointwiseTerm<T, F> f, int64_t n, T* __restrict__ out) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = f(i);
}

template <class T, class F>
__global__ void __launch_bounds__(kBlock)
    pointwise_backward_kernel(PointwiseTerm<T, F> a, int64_t n, const T* __restrict__ g, bool grad_is_scalar, T s,
                              bool wrt_target, T* __restrict__ out) {
  const F f{};
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const T p = a.pw ? a.pw[i] : T(1);
    T d = wrt_target ? f.grad_target(a.x[i], a.y[i], p) : f.grad_input(a.x[i], a.y[i], p);
    if (a.w) d *= a.w[i];
    out[i] = d * (grad_is_scalar ? g[0] : g[i]) * s;
  }
}

template <class T, class F>
PointwiseTerm<T, F> pointwise_term(const PointwiseLossArgs& a) {
  return PointwiseTerm<T, F>{static_cast<const T*>(a.input), static_cast<const T*>(a.target),
                             static_cast<const T*>(a.weight), static_cast<const T*>(a.pos_weight)};
}

}  // namespace

// ---------------------------------------------------------------- entry points
size_t loss_workspace_bytes(DType dtype, int64_t terms) {
  return sizeof(double) * kMaxPartials + itemsize(dtype) * static_cast<size_t>(std::max<int64_t>(terms, 0));
}

void check_class_targets(const int64_t* target, int64_t n, int64_t classes, int64_t ignore_index, DType dtype,
                         const void* weight, ClassTargetCheck* result, DeviceError* error, void* stream,
                         LaunchCheck check) {
  cudaStream_t s = as_stream(stream);
  PYDL_DISPATCH_FLOAT(dtype, T, {
    check_targets_kernel<T><<<1, 1024, 0, s>>>(target, n, classes, ignore_index, static_cast<const T*>(weight),
                                               result, error);
  });
  check("pydl_check_class_targets");
}

void cross_entropy(DType dtype, CrossEntropyRows args, Reduction reduction, double loss_scale, void* out,
                   void* workspace, void* stream, LaunchCheck check) {
  if (args.rows <= 0) {  // an empty batch: the sum is 0 (times the scale: nan for 'mean', as PyTorch)
    if (reduction != Reduction::None) {
      PYDL_DISPATCH_FLOAT(dtype, T, {
        finish_sum_kernel<T><<<1, kSumBlock, 0, as_stream(stream)>>>(
            static_cast<const double*>(workspace), 0, Scale{loss_scale, args.device_scale}, static_cast<T*>(out));
      });
      check("pydl_loss_finish_sum");
    }
    return;
  }
  PYDL_DISPATCH_FLOAT(dtype, T, run_cross_entropy<T>(args, reduction, loss_scale, out, workspace, as_stream(stream),
                                                     check));
}

void nll_loss(DType dtype, const NllArgs& a, Reduction reduction, double scale, void* out, void* workspace,
              void* stream, LaunchCheck check) {
  const int64_t samples = a.outer * a.inner;
  cudaStream_t s = as_stream(stream);
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const NllTerm<T> f{a};
    if (reduction == Reduction::None) {
      if (samples <= 0) return;
      nll_per_sample_kernel<T><<<grid_for(samples), kBlock, 0, s>>>(f, samples, static_cast<T*>(out));
      check("pydl_nll_loss");
    } else {
      sum_terms(AsDouble<T>{f}, samples, Scale{scale}, static_cast<T*>(out), static_cast<double*>(workspace), s, check,
                "pydl_nll_loss_sum");
    }
  });
}

void nll_loss_backward(DType dtype, const NllArgs& a, const void* grad, bool grad_is_scalar, double scale,
                       void* dinput, void* stream, LaunchCheck check) {
  const int64_t total = a.outer * a.classes * a.inner;
  if (total <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, {
    nll_backward_kernel<T><<<grid_for(total), kBlock, 0, as_stream(stream)>>>(
        a, static_cast<const T*>(grad), grad_is_scalar, static_cast<T>(scale), static_cast<T*>(dinput));
  });
  check("pydl_nll_loss_backward");
}

void loss_weight_sum(DType dtype, const void* weight, int64_t n, double* result, void* workspace, void* stream,
                     LaunchCheck check) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    sum_terms(ValueTerm<T>{static_cast<const T*>(weight)}, n, Scale{}, result, static_cast<double*>(workspace),
              as_stream(stream), check, "pydl_loss_weight_sum");
  });
}

void check_pointwise_domain(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, DeviceError* error,
                            void* stream, LaunchCheck check) {
  if (op != PointwiseLoss::Bce || args.n <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, {
    domain_check_kernel<T, BceLossF<T>><<<grid_for(args.n), kBlock, 0, as_stream(stream)>>>(
        static_cast<const T*>(args.input), args.n, error);
  });
  check("pydl_loss_domain_check");
}

void pointwise_loss(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, Reduction reduction,
                    double scale, void* out, void* workspace, void* stream, LaunchCheck check) {
  cudaStream_t s = as_stream(stream);
  PYDL_DISPATCH_FLOAT(dtype, T, kernels::with_pointwise_loss<T>(op, [&](auto loss_functor) {
    using F = decltype(loss_functor);
    const PointwiseTerm<T, F> f = pointwise_term<T, F>(args);
    if (reduction == Reduction::None) {
      if (args.n > 0) {
        pointwise_map_kernel<T, F><<<grid_for(args.n), kBlock, 0, s>>>(f, args.n, static_cast<T*>(out));
        check("pydl_pointwise_loss");
      }
    } else {
      sum_terms(PointwiseTermD<T, F>{f}, args.n, Scale{scale}, static_cast<T*>(out), static_cast<double*>(workspace), s,
                check, "pydl_pointwise_loss_sum");
    }
  }));
}

void pointwise_loss_backward(PointwiseLoss op, DType dtype, const PointwiseLossArgs& args, const void* grad,
                             bool grad_is_scalar, double scale, bool wrt_target, void* out, void* stream,
                             LaunchCheck check) {
  if (args.n <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, kernels::with_pointwise_loss<T>(op, [&](auto loss_functor) {
    using F = decltype(loss_functor);
    pointwise_backward_kernel<T, F><<<grid_for(args.n), kBlock, 0, as_stream(stream)>>>(
        pointwise_term<T, F>(args), args.n, static_cast<const T*>(grad), grad_is_scalar, static_cast<T>(scale),
        wrt_target, static_cast<T*>(out));
  }));
  check("pydl_pointwise_loss_backward");
}

}  // namespace pydl::cuda_kernels
