// Resampling on CUDA; see resample.h.
#include "kernels/cuda/resample.h"

#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

template <class T>
__global__ void resample_kernel(ResampleAxis ax, const T* x, T* out) {
  const T* w = static_cast<const T*>(ax.weight);
  const int64_t n = ax.outer * ax.out_size * ax.inner;
  for (int64_t k = global_thread(); k < n; k += grid_threads()) {
    const int64_t j = k % ax.inner, i = (k / ax.inner) % ax.out_size, o = k / (ax.inner * ax.out_size);
    const T* xo = x + o * ax.in_size * ax.inner + j;
    const int64_t* s = ax.src + i * ax.taps;
    if (!w) {
      out[k] = xo[s[0] * ax.inner];
      continue;
    }
    T y = w[i * ax.taps] * xo[s[0] * ax.inner];
    for (int t = 1; t < ax.taps; ++t) y += w[i * ax.taps + t] * xo[s[t] * ax.inner];
    out[k] = y;
  }
}

template <class T>
__global__ void resample_backward_kernel(ResampleAxis ax, const T* g, T* dx) {
  const T* w = static_cast<const T*>(ax.weight);
  for (int64_t c = global_thread(); c < ax.outer * ax.inner; c += grid_threads()) {
    const int64_t o = c / ax.inner, j = c % ax.inner;
    T* d = dx + o * ax.in_size * ax.inner + j;
    const T* gc = g + o * ax.out_size * ax.inner + j;
    for (int64_t p = 0; p < ax.in_size; ++p) d[p * ax.inner] = T(0);
    if (!w) {
      kernels::add_runs(ax.src, ax.out_size, gc, d, ax.inner);
      continue;
    }
    for (int64_t i = 0; i < ax.out_size; ++i)
      for (int t = 0; t < ax.taps; ++t) d[ax.src[i * ax.taps + t] * ax.inner] += w[i * ax.taps + t] * gc[i * ax.inner];
  }
}

template <class T>
void launch(const ResampleAxis& ax, const void* x, void* out, cudaStream_t s, LaunchCheck check) {
  resample_kernel<T><<<grid_for(ax.outer * ax.out_size * ax.inner), kBlock, 0, s>>>(ax, static_cast<const T*>(x),
                                                                                     static_cast<T*>(out));
  check("pydl_resample");
}

}  // namespace

void resample(DType dtype, const ResampleAxis& ax, const void* x, void* out, void* stream, LaunchCheck check) {
  cudaStream_t s = as_stream(stream);
  if (ax.weight) {
    PYDL_DISPATCH_FLOAT(dtype, T, launch<T>(ax, x, out, s, check));
    return;
  }
  switch (itemsize(dtype)) {  // a copy: any dtype, by its width
    case 1: return launch<uint8_t>(ax, x, out, s, check);
    case 2: return launch<uint16_t>(ax, x, out, s, check);
    case 4: return launch<uint32_t>(ax, x, out, s, check);
    default: return launch<uint64_t>(ax, x, out, s, check);
  }
}

void resample_backward(DType dtype, const ResampleAxis& ax, const void* g, void* dx, void* stream,
                       LaunchCheck check) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    resample_backward_kernel<T><<<grid_for(ax.outer * ax.inner), kBlock, 0, as_stream(stream)>>>(
        ax, static_cast<const T*>(g), static_cast<T*>(dx));
    check("pydl_resample_backward");
  });
}

}  // namespace pydl::cuda_kernels
