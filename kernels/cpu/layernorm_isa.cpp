// Layer normalization's row loops, compiled once per ISA (PYDL_ISA). The row sums run over
// 8-lane float64 vectors (GCC vector extensions: one or more registers per ISA, the same lanes
// and order everywhere, so every copy gives the same bits); the elementwise passes run in the
// element type, as PyTorch's.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <vector>

#include "kernels/common/dtype.h"
#include "kernels/common/layernorm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/stream_store.h"

PYDL_KERNELS_BEGIN

namespace {

constexpr int kLanes = 8;
typedef double D8 __attribute__((vector_size(kLanes * sizeof(double))));
typedef float F8 __attribute__((vector_size(kLanes * sizeof(float))));

template <class T>
D8 load8(const T* p) {
  if constexpr (sizeof(T) == sizeof(float)) {
    F8 f;
    memcpy(&f, p, sizeof f);
    return __builtin_convertvector(f, D8);
  } else {
    D8 d;
    memcpy(&d, p, sizeof d);
    return d;
  }
}

double fold(D8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

// (sum of x - shift, sum of (x - shift)^2) over a row.
template <class T>
void shifted_moments(const T* x, int64_t n, double shift, double* s1, double* s2) {
  D8 a = {}, b = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const D8 d = load8(x + i) - shift;
    a += d;
    b += d * d;
  }
  double sa = fold(a), sb = fold(b);
  for (; i < n; ++i) {
    const double d = double(x[i]) - shift;
    sa += d;
    sb += d * d;
  }
  *s1 = sa, *s2 = sb;
}

template <class T>
void forward(const LayerNormArgs& a) {
  const int64_t n = a.cols;
  const T* w = static_cast<const T*>(a.weight);
  const T* b = static_cast<const T*>(a.bias);
  const bool stream = a.rows * n * int64_t(sizeof(T)) >= kStreamBytes;  // rows staged, then streamed out
  parallel_ranges(a.rows, 4 * n, [&](int64_t r0, int64_t r1) {
    std::vector<T> stage(stream ? size_t(n) : 0);
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict x = static_cast<const T*>(a.x) + r * n;
      T* out = static_cast<T*>(a.y) + r * n;
      T* __restrict y = stream ? stage.data() : out;
      // Moments around the row's first entry: one pass, and no cancellation for a large mean.
      double s1, s2;
      shifted_moments(x, n, double(x[0]), &s1, &s2);
      const double d = s1 / double(n), var = s2 / double(n) - d * d;
      const double mean = double(x[0]) + d, rstd = 1.0 / sqrt((var > 0 ? var : 0) + a.eps);
      a.mean[r] = mean;
      a.rstd[r] = rstd;
      const T scale = T(rstd), shift = T(-mean * rstd);
      if (w && b) for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale + shift) * w[i] + b[i];
      else if (w) for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale + shift) * w[i];
      else if (b) for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale + shift) + b[i];
      else for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
      if (stream) stream_copy(out, y, n);
    }
    if (stream) stream_fence();
  });
}

// Rows per block of the weight and bias gradients: from the shape alone, at most ~64 blocks.
int64_t block_rows(int64_t rows) { return rows / 64 > 32 ? rows / 64 : 32; }

// One row's dx, with gw = g * w (or g) and xhat staged in the thread's rows `gw` and `xhat`.
template <class T>
void row_dx(const T* __restrict gw, const T* __restrict xhat, int64_t n, double rstd, T* __restrict dx) {
  D8 a = {}, b = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const D8 g8 = load8(gw + i);
    a += g8;
    b += g8 * load8(xhat + i);
  }
  double s1 = fold(a), s2 = fold(b);
  for (; i < n; ++i) {
    s1 += double(gw[i]);
    s2 += double(gw[i]) * double(xhat[i]);
  }
  const T scale = T(rstd), c0 = T(-rstd * s1 / double(n)), c1 = T(-rstd * s2 / double(n));
  for (i = 0; i < n; ++i) dx[i] = scale * gw[i] + c0 + c1 * xhat[i];
}

template <class T>
void backward(const LayerNormArgs& a) {
  const int64_t n = a.cols, per = block_rows(a.rows), blocks = (a.rows + per - 1) / per;
  const T* w = static_cast<const T*>(a.weight);
  const bool params = a.dweight || a.dbias;
  std::vector<double> partial(params ? size_t(2 * blocks * n) : 0);  // per block: dweight's then dbias' sums
  const bool stream = a.rows * n * int64_t(sizeof(T)) >= kStreamBytes;  // rows staged, then streamed out
  parallel_ranges(blocks, per * n * 6, [&](int64_t b0, int64_t b1) {
    std::vector<T> stage(size_t(3 * n));
    T* __restrict xhat = stage.data();
    T* __restrict gw = xhat + n;
    T* __restrict dx_row = gw + n;
    for (int64_t blk = b0; blk < b1; ++blk) {
      double* __restrict pw = params ? partial.data() + 2 * blk * n : nullptr;
      double* __restrict pb = pw ? pw + n : nullptr;
      const int64_t r1 = (blk + 1) * per < a.rows ? (blk + 1) * per : a.rows;
      for (int64_t r = blk * per; r < r1; ++r) {
        const T* __restrict x = static_cast<const T*>(a.x) + r * n;
        const T* __restrict g = static_cast<const T*>(a.grad) + r * n;
        const double rstd = a.rstd[r];
        const T scale = T(rstd), shift = T(-a.mean[r] * rstd);
        for (int64_t i = 0; i < n; ++i) xhat[i] = x[i] * scale + shift;
        if (params)
          for (int64_t i = 0; i < n; ++i) {
            pw[i] += double(g[i]) * double(xhat[i]);
            pb[i] += double(g[i]);
          }
        if (!a.dx) continue;
        if (w) for (int64_t i = 0; i < n; ++i) gw[i] = g[i] * w[i];
        else memcpy(gw, g, sizeof(T) * size_t(n));
        T* dx = static_cast<T*>(a.dx) + r * n;
        row_dx(gw, xhat, n, rstd, stream ? dx_row : dx);
        if (stream) stream_copy(dx, dx_row, n);
      }
    }
    if (stream) stream_fence();
  });
  if (!params) return;
  for (int64_t i = 0; i < n; ++i) {
    double sw = 0, sb = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      sw += partial[size_t(2 * blk * n + i)];
      sb += partial[size_t(2 * blk * n + n + i)];
    }
    if (a.dweight) static_cast<T*>(a.dweight)[i] = T(sw);
    if (a.dbias) static_cast<T*>(a.dbias)[i] = T(sb);
  }
}

}  // namespace

void layer_norm_forward_kernel(DType dtype, const LayerNormArgs& args) {
  PYDL_DISPATCH_FLOAT(dtype, T, forward<T>(args));
}

void layer_norm_backward_kernel(DType dtype, const LayerNormArgs& args) {
  PYDL_DISPATCH_FLOAT(dtype, T, backward<T>(args));
}

PYDL_KERNELS_END
