// Layer normalization on CUDA (see layernorm.h). Three kernels:
//   layer_norm_rows_kernel       forward: a row's two float64 sums, then y
//   layer_norm_dx_kernel         backward: a row's two float64 sums, then dx
//   layer_norm_params_kernel     dweight / dbias: one thread per (slice, column) sums its
//                                slice's rows into the workspace; layer_norm_params_finish
//                                adds the slices in order per column.
#include "kernels/cuda/layernorm.h"

#include <algorithm>

#include "kernels/cuda/row_reduce.cuh"

namespace pydl::cuda_kernels {

namespace {

constexpr int64_t kSliceRows = 256;
constexpr int64_t kMaxSlices = 64;

int64_t slices_for(int64_t rows) { return std::min(kMaxSlices, std::max<int64_t>(1, rows / kSliceRows)); }

template <bool WARP, class T>
__global__ void __launch_bounds__(WARP ? kBlock : kRowBlockMax) layer_norm_rows_kernel(LayerNormArgs a) {
  __shared__ double scratch[32];
  const RowOwner<WARP> own;
  const T* w = static_cast<const T*>(a.weight);
  const T* b = static_cast<const T*>(a.bias);
  const int64_t n = a.cols;
  for (int64_t r = own.first(); r < a.rows; r += own.step()) {
    const T* x = static_cast<const T*>(a.x) + r * n;
    T* y = static_cast<T*>(a.y) + r * n;
    double s = 0;
    for (int64_t i = own.t(); i < n; i += own.threads()) s += double(x[i]);
    const double mean = owner_sum<WARP>(s, scratch) / double(n);
    double q = 0;
    for (int64_t i = own.t(); i < n; i += own.threads()) {
      const double d = double(x[i]) - mean;
      q += d * d;
    }
    const double rstd = 1.0 / sqrt(owner_sum<WARP>(q, scratch) / double(n) + a.eps);
    if (own.t() == 0) {
      a.mean[r] = mean;
      a.rstd[r] = rstd;
    }
    const T scale = T(rstd), shift = T(-mean * rstd);
    for (int64_t i = own.t(); i < n; i += own.threads()) {
      T v = x[i] * scale + shift;
      if (w) v = v * w[i];
      if (b) v = v + b[i];
      y[i] = v;
    }
  }
}

template <bool WARP, class T>
__global__ void __launch_bounds__(WARP ? kBlock : kRowBlockMax) layer_norm_dx_kernel(LayerNormArgs a) {
  __shared__ double scratch[32];
  const RowOwner<WARP> own;
  const T* w = static_cast<const T*>(a.weight);
  const int64_t n = a.cols;
  for (int64_t r = own.first(); r < a.rows; r += own.step()) {
    const T* x = static_cast<const T*>(a.x) + r * n;
    const T* g = static_cast<const T*>(a.grad) + r * n;
    const double rstd = a.rstd[r];
    const T scale = T(rstd), shift = T(-a.mean[r] * rstd);
    double s1 = 0, s2 = 0;
    for (int64_t i = own.t(); i < n; i += own.threads()) {
      const double gw = w ? double(g[i]) * double(w[i]) : double(g[i]);
      s1 += gw;
      s2 += gw * double(x[i] * scale + shift);
    }
    s1 = owner_sum<WARP>(s1, scratch) / double(n);
    s2 = owner_sum<WARP>(s2, scratch) / double(n);
    const T c0 = T(-rstd * s1), c1 = T(-rstd * s2);
    T* dx = static_cast<T*>(a.dx) + r * n;
    for (int64_t i = own.t(); i < n; i += own.threads())
      dx[i] = scale * (w ? g[i] * w[i] : g[i]) + c0 + c1 * (x[i] * scale + shift);
  }
}

// partial[(s * 2 + 0) * cols + j]: slice s's sum of g * xhat in column j; [(s * 2 + 1) * cols + j]: of g.
template <class T>
__global__ void __launch_bounds__(kBlock) layer_norm_params_kernel(LayerNormArgs a, int64_t slices, double* partial) {
  const int64_t n = a.cols, per = (a.rows + slices - 1) / slices;
  for (int64_t t = global_thread(); t < slices * n; t += grid_threads()) {
    const int64_t s = t / n, j = t - s * n;
    const int64_t r1 = (s + 1) * per < a.rows ? (s + 1) * per : a.rows;
    double sw = 0, sb = 0;
    for (int64_t r = s * per; r < r1; ++r) {
      const double rstd = a.rstd[r];
      const T scale = T(rstd), shift = T(-a.mean[r] * rstd);
      const T x = static_cast<const T*>(a.x)[r * n + j], g = static_cast<const T*>(a.grad)[r * n + j];
      sw += double(g) * double(x * scale + shift);
      sb += double(g);
    }
    partial[(s * 2) * n + j] = sw;
    partial[(s * 2 + 1) * n + j] = sb;
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) layer_norm_params_finish(LayerNormArgs a, int64_t slices,
                                                                   const double* partial) {
  const int64_t n = a.cols;
  for (int64_t j = global_thread(); j < n; j += grid_threads()) {
    double sw = 0, sb = 0;
    for (int64_t s = 0; s < slices; ++s) {
      sw += partial[(s * 2) * n + j];
      sb += partial[(s * 2 + 1) * n + j];
    }
    if (a.dweight) static_cast<T*>(a.dweight)[j] = T(sw);
    if (a.dbias) static_cast<T*>(a.dbias)[j] = T(sb);
  }
}

// kernel<WARP, T><<<grid, threads>>>(args) for a row-per-warp or row-per-block launch.
template <class T, template <bool, class> class Launch>
void launch_rows(const LayerNormArgs& a, cudaStream_t s, LaunchCheck check, const char* name) {
  const bool warp = a.cols <= kWarpRowMax;
  const unsigned grid = row_grid(warp, a.rows);
  if (warp) Launch<true, T>::run(grid, kBlock, s, a);
  else Launch<false, T>::run(grid, row_block_threads(a.cols), s, a);
  check(name);
}

template <bool WARP, class T>
struct ForwardRows {
  static void run(unsigned grid, int threads, cudaStream_t s, const LayerNormArgs& a) {
    layer_norm_rows_kernel<WARP, T><<<grid, threads, 0, s>>>(a);
  }
};
template <bool WARP, class T>
struct BackwardRows {
  static void run(unsigned grid, int threads, cudaStream_t s, const LayerNormArgs& a) {
    layer_norm_dx_kernel<WARP, T><<<grid, threads, 0, s>>>(a);
  }
};

}  // namespace

size_t layer_norm_workspace_bytes(int64_t rows, int64_t cols) {
  return size_t(2 * slices_for(rows) * cols) * sizeof(double);
}

void layer_norm_forward(DType dtype, const LayerNormArgs& args, void* stream, LaunchCheck check) {
  if (args.rows == 0 || args.cols == 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, launch_rows<T, ForwardRows>(args, as_stream(stream), check, "pydl_layer_norm"));
}

void layer_norm_backward(DType dtype, const LayerNormArgs& args, void* workspace, void* stream, LaunchCheck check) {
  if (args.rows == 0 || args.cols == 0) return;
  cudaStream_t s = as_stream(stream);
  PYDL_DISPATCH_FLOAT(dtype, T, {
    if (args.dx) launch_rows<T, BackwardRows>(args, s, check, "pydl_layer_norm_dx");
    if (args.dweight || args.dbias) {
      const int64_t slices = slices_for(args.rows);
      double* partial = static_cast<double*>(workspace);
      layer_norm_params_kernel<T><<<grid_for(slices * args.cols), kBlock, 0, s>>>(args, slices, partial);
      check("pydl_layer_norm_params");
      layer_norm_params_finish<T><<<grid_for(args.cols), kBlock, 0, s>>>(args, slices, partial);
      check("pydl_layer_norm_params_finish");
    }
  });
}

}  // namespace pydl::cuda_kernels
