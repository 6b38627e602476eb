// Batch normalization on CUDA (see batchnorm.h). Three kernels per direction:
//   channel_sums_*  partial float64 sums of two terms per (slice, channel);
//   *_finish        one thread per channel: the slices in order, then the statistics,
//                   running stats, saved mean / invstd and the coefficients of the pass;
//   *_apply         the elementwise pass.
// Workspace: [slices * C * 2 doubles of partial sums][3 * C values of T: coefficients].
#include "kernels/cuda/batchnorm.h"

#include <algorithm>

#include "kernels/cuda/row_reduce.cuh"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

constexpr int kTileC = 32;    // (N, C) inputs: a block covers 32 channels ...
constexpr int kTileRows = 8;  // ... with 8 rows of threads
constexpr int kMaxSlices = 64;

struct Layout {
  int64_t n, c, s;
  // Slices per channel, from the shape alone (so the sums' order is fixed).
  int slices() const {
    const int64_t per_channel = n * s;
    const int64_t want = s == 1 ? n / 32 : per_channel / 4096;
    return static_cast<int>(std::min<int64_t>(std::max<int64_t>(want, 1), kMaxSlices));
  }
};

// The two terms summed per element: statistics (x - x0, (x - x0)^2) or gradients (g, g (x - mean)).
template <class T>
struct StatTerms {
  const T* x;
  __device__ __forceinline__ double shift(int64_t c, const Layout& L) const { return double(x[c * L.s]); }
  __device__ __forceinline__ void add(int64_t i, double sh, double& a, double& b) const {
    const double d = double(x[i]) - sh;
    a += d;
    b += d * d;
  }
};

template <class T>
struct GradTerms {
  const T* g;
  const T* x;
  const T* mean;
  __device__ __forceinline__ double shift(int64_t c, const Layout&) const { return double(mean[c]); }
  __device__ __forceinline__ void add(int64_t i, double m, double& a, double& b) const {
    const double gv = double(g[i]);
    a += gv;
    b += gv * (double(x[i]) - m);
  }
};

// (N, C): block (32 channels) x (8 rows); grid (channel tiles, slices). Rows of the slice
// are split among the 8 row-threads, then added in row-thread order in shared memory.
template <class Terms>
__global__ void __launch_bounds__(kTileC* kTileRows)
    channel_sums_rows_kernel(Terms terms, Layout L, double* __restrict__ partial) {
  __shared__ double sa[kTileRows][kTileC], sb[kTileRows][kTileC];
  const int tx = threadIdx.x % kTileC, ty = threadIdx.x / kTileC;
  const int64_t c = int64_t(blockIdx.x) * kTileC + tx;
  const int slices = gridDim.y, slice = blockIdx.y;
  const int64_t r0 = L.n * slice / slices, r1 = L.n * (slice + 1) / slices;
  double a = 0, b = 0;
  if (c < L.c) {
    const double sh = terms.shift(c, L);
    for (int64_t r = r0 + ty; r < r1; r += kTileRows) terms.add(r * L.c + c, sh, a, b);
  }
  sa[ty][tx] = a;
  sb[ty][tx] = b;
  __syncthreads();
  if (ty == 0 && c < L.c) {
    for (int k = 1; k < kTileRows; ++k) {
      a += sa[k][tx];
      b += sb[k][tx];
    }
    double* p = partial + (int64_t(slice) * L.c + c) * 2;
    p[0] = a;
    p[1] = b;
  }
}

// (N, C, S), S > 1: a block per (channel, slice) of the channel's N * S values.
template <class Terms>
__global__ void __launch_bounds__(kBlock)
    channel_sums_planes_kernel(Terms terms, Layout L, double* __restrict__ partial) {
  __shared__ double scratch[32];
  const int64_t c = blockIdx.x;
  const int slices = gridDim.y, slice = blockIdx.y;
  const int64_t m = L.n * L.s, k0 = m * slice / slices, k1 = m * (slice + 1) / slices;
  const double sh = terms.shift(c, L);
  double a = 0, b = 0;
  for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) {
    const int64_t sample = k / L.s, pos = k - sample * L.s;
    terms.add((sample * L.c + c) * L.s + pos, sh, a, b);
  }
  a = block_sum(a, scratch);
  b = block_sum(b, scratch);
  if (threadIdx.x == 0) {
    double* p = partial + (int64_t(slice) * L.c + c) * 2;
    p[0] = a;
    p[1] = b;
  }
}

template <class Terms>
void channel_sums(const Terms& terms, const Layout& L, double* partial, cudaStream_t s, LaunchCheck check) {
  const dim3 grid_rows(static_cast<unsigned>((L.c + kTileC - 1) / kTileC), static_cast<unsigned>(L.slices()));
  const dim3 grid_planes(static_cast<unsigned>(L.c), static_cast<unsigned>(L.slices()));
  if (L.s == 1) channel_sums_rows_kernel<<<grid_rows, kTileC * kTileRows, 0, s>>>(terms, L, partial);
  else channel_sums_planes_kernel<<<grid_planes, kBlock, 0, s>>>(terms, L, partial);
  check(L.s == 1 ? "pydl_batch_norm_sums_rows" : "pydl_batch_norm_sums_planes");
}

__device__ __forceinline__ void slice_totals(const double* partial, int slices, int64_t C, int64_t c, double* a,
                                             double* b) {
  double sa = 0, sb = 0;
  for (int k = 0; k < slices; ++k) {
    sa += partial[(int64_t(k) * C + c) * 2];
    sb += partial[(int64_t(k) * C + c) * 2 + 1];
  }
  *a = sa;
  *b = sb;
}

// Forward statistics: mean and biased var (batch or running), running stats, saved
// mean / invstd, and the pass's scale and shift (coef[0..C) and coef[C..2C)).
template <class T>
__global__ void __launch_bounds__(kBlock)
    forward_finish_kernel(BatchNormArgs a, Layout L, int slices, const double* __restrict__ partial, T* coef) {
  T* rm = static_cast<T*>(a.running_mean);
  T* rv = static_cast<T*>(a.running_var);
  const T* w = static_cast<const T*>(a.weight);
  const T* b = static_cast<const T*>(a.bias);
  const T* x = static_cast<const T*>(a.x);
  for (int64_t c = global_thread(); c < L.c; c += grid_threads()) {
    double mean, var;
    if (a.training) {
      double s1, s2;
      slice_totals(partial, slices, L.c, c, &s1, &s2);
      const double count = double(L.n) * double(L.s);
      const double d = s1 / count;
      mean = double(x[c * L.s]) + d;
      var = std::max(s2 / count - d * d, 0.0);
      if (rm) {
        T& r = rm[c * a.running_mean_stride];
        r = static_cast<T>(bn_running_update(double(r), mean, a.momentum));
      }
      if (rv) {
        T& r = rv[c * a.running_var_stride];
        r = static_cast<T>(bn_running_update(double(r), bn_unbiased_var(var, count), a.momentum));
      }
    } else {
      mean = double(rm[c * a.running_mean_stride]);
      var = double(rv[c * a.running_var_stride]);
    }
    const double invstd = bn_invstd(var, a.eps);
    const BnAffine f = bn_forward_coeffs(invstd, w ? double(w[c]) : 1.0, b ? double(b[c]) : 0.0);
    static_cast<T*>(a.save_mean)[c] = static_cast<T>(mean);
    static_cast<T*>(a.save_invstd)[c] = static_cast<T>(invstd);
    coef[c] = static_cast<T>(f.scale);
    coef[L.c + c] = static_cast<T>(f.shift);
  }
}

// Backward: dweight, dbias, and dx's coefficients kg, kx, k0 (coef[0..3C)).
template <class T>
__global__ void __launch_bounds__(kBlock)
    backward_finish_kernel(BatchNormArgs a, Layout L, int slices, bool have_sums, const double* __restrict__ partial,
                           T* coef) {
  const T* invstd = static_cast<const T*>(a.save_invstd);
  const T* w = static_cast<const T*>(a.weight);
  const double count = double(L.n) * double(L.s);
  for (int64_t c = global_thread(); c < L.c; c += grid_threads()) {
    double sum_g = 0, sum_gx = 0;
    if (have_sums) slice_totals(partial, slices, L.c, c, &sum_g, &sum_gx);
    if (a.dweight) static_cast<T*>(a.dweight)[c] = static_cast<T>(sum_gx * double(invstd[c]));
    if (a.dbias) static_cast<T*>(a.dbias)[c] = static_cast<T>(sum_g);
    const double wc = w ? double(w[c]) : 1.0;
    const BnBackward k = bn_backward_coeffs(a.training, double(invstd[c]), wc, sum_g, sum_gx, count);
    coef[c] = static_cast<T>(k.dy_coef);
    coef[L.c + c] = static_cast<T>(k.x_coef);
    coef[2 * L.c + c] = static_cast<T>(k.bias_coef);
  }
}

// The channel of element i of a contiguous (N, C, S) block.
template <class I>
__device__ __forceinline__ I channel_of(I i, I C, I S) {
  return S == 1 ? i % C : (i / S) % C;
}

// y = (x - m[c]) * scale[c] + shift[c]   (the CPU's channel_affine)
template <class I, class T>
__global__ void __launch_bounds__(kBlock)
    affine_apply_kernel(const T* __restrict__ in, T* __restrict__ out, I total, I C, I S, const T* __restrict__ m,
                        const T* __restrict__ scale, const T* __restrict__ shift) {
  for (I i = static_cast<I>(global_thread()); i < total; i += static_cast<I>(grid_threads())) {
    const I c = channel_of(i, C, S);
    out[i] = (in[i] - (m ? m[c] : T(0))) * scale[c] + (shift ? shift[c] : T(0));
  }
}

// dx = g * kg[c] + (x - m[c]) * kx[c] + k0[c]   (the CPU's channel_backward)
template <class I, class T>
__global__ void __launch_bounds__(kBlock)
    backward_apply_kernel(const T* __restrict__ g, const T* __restrict__ x, T* __restrict__ dx, I total, I C, I S,
                          const T* __restrict__ m, const T* __restrict__ coef) {
  for (I i = static_cast<I>(global_thread()); i < total; i += static_cast<I>(grid_threads())) {
    const I c = channel_of(i, C, S);
    dx[i] = g[i] * coef[c] + (x[i] - m[c]) * coef[C + c] + coef[2 * C + c];
  }
}

size_t partial_bytes(const Layout& L) { return sizeof(double) * 2 * size_t(L.slices()) * size_t(L.c); }

template <class T>
void forward(const BatchNormArgs& a, void* workspace, cudaStream_t s, LaunchCheck check) {
  const Layout L{a.n, a.c, a.s};
  double* partial = static_cast<double*>(workspace);
  T* coef = reinterpret_cast<T*>(static_cast<char*>(workspace) + partial_bytes(L));
  if (a.training) channel_sums(StatTerms<T>{static_cast<const T*>(a.x)}, L, partial, s, check);
  forward_finish_kernel<T><<<grid_for(L.c), kBlock, 0, s>>>(a, L, L.slices(), partial, coef);
  check("pydl_batch_norm_forward_finish");
  const int64_t total = a.n * a.c * a.s;
  if (total <= 0) return;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  const T* m = static_cast<const T*>(a.save_mean);
  if (total < (int64_t(1) << 31))
    affine_apply_kernel<uint32_t, T><<<grid_for(total), kBlock, 0, s>>>(
        x, y, uint32_t(total), uint32_t(a.c), uint32_t(a.s), m, coef, coef + a.c);
  else
    affine_apply_kernel<int64_t, T><<<grid_for(total), kBlock, 0, s>>>(x, y, total, a.c, a.s, m, coef, coef + a.c);
  check("pydl_batch_norm_forward_apply");
}

template <class T>
void backward(const BatchNormArgs& a, void* workspace, cudaStream_t s, LaunchCheck check) {
  const Layout L{a.n, a.c, a.s};
  double* partial = static_cast<double*>(workspace);
  T* coef = reinterpret_cast<T*>(static_cast<char*>(workspace) + partial_bytes(L));
  const bool need_sums = a.dweight || a.dbias || (a.training && a.dx);
  const T* g = static_cast<const T*>(a.grad);
  const T* x = static_cast<const T*>(a.x);
  const T* m = static_cast<const T*>(a.save_mean);
  if (need_sums) channel_sums(GradTerms<T>{g, x, m}, L, partial, s, check);
  backward_finish_kernel<T><<<grid_for(L.c), kBlock, 0, s>>>(a, L, L.slices(), need_sums, partial, coef);
  check("pydl_batch_norm_backward_finish");
  const int64_t total = a.n * a.c * a.s;
  if (!a.dx || total <= 0) return;
  T* dx = static_cast<T*>(a.dx);
  const bool small = total < (int64_t(1) << 31);
  if (a.training) {
    if (small)
      backward_apply_kernel<uint32_t, T><<<grid_for(total), kBlock, 0, s>>>(g, x, dx, uint32_t(total), uint32_t(a.c),
                                                                           uint32_t(a.s), m, coef);
    else
      backward_apply_kernel<int64_t, T><<<grid_for(total), kBlock, 0, s>>>(g, x, dx, total, a.c, a.s, m, coef);
  } else {  // dx = (g - 0) * kg + 0, as the CPU's channel_affine with zero mean and shift
    if (small)
      affine_apply_kernel<uint32_t, T><<<grid_for(total), kBlock, 0, s>>>(g, dx, uint32_t(total), uint32_t(a.c),
                                                                         uint32_t(a.s), nullptr, coef, nullptr);
    else
      affine_apply_kernel<int64_t, T><<<grid_for(total), kBlock, 0, s>>>(g, dx, total, a.c, a.s, nullptr, coef,
                                                                        nullptr);
  }
  check("pydl_batch_norm_backward_apply");
}

}  // namespace

size_t batch_norm_workspace_bytes(DType dtype, int64_t n, int64_t c, int64_t s) {
  const Layout L{n, c, s};
  return partial_bytes(L) + 3 * itemsize(dtype) * size_t(std::max<int64_t>(c, 0));
}

void batch_norm_forward(DType dtype, const BatchNormArgs& args, void* workspace, void* stream, LaunchCheck check) {
  if (args.c <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, forward<T>(args, workspace, as_stream(stream), check));
}

void batch_norm_backward(DType dtype, const BatchNormArgs& args, void* workspace, void* stream, LaunchCheck check) {
  if (args.c <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, backward<T>(args, workspace, as_stream(stream), check));
}

}  // namespace pydl::cuda_kernels
