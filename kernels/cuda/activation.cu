// Pointwise activations on CUDA (see activation.h). One kernel template per direction,
// instantiated for every functor of kernels/common/activation.h, so the GPU computes
// the very expressions the CPU does (exp_fast and friends included).
#include "kernels/cuda/activation.h"

#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

template <class T>
struct alignas(16) Vec16 {
  static constexpr int kLanes = 16 / sizeof(T);
  T v[kLanes];
};

template <class T>
bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

// VEC: 16-byte packs (all pointers aligned, checked by the launcher), then the tail.
template <bool VEC, class T, class F>
__global__ void __launch_bounds__(kBlock)
    act_forward_kernel(const F f, const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  int64_t done = 0;
  if constexpr (VEC) {
    using P = Vec16<T>;
    const int64_t packs = n / P::kLanes;
    for (int64_t k = global_thread(); k < packs; k += grid_threads()) {
      P in = reinterpret_cast<const P*>(x)[k], out;
#pragma unroll
      for (int l = 0; l < P::kLanes; ++l) out.v[l] = f.forward(in.v[l]);
      reinterpret_cast<P*>(y)[k] = out;
    }
    done = packs * P::kLanes;
  }
  for (int64_t i = done + global_thread(); i < n; i += grid_threads()) y[i] = f.forward(x[i]);
}

template <bool VEC, class T, class F>
__global__ void __launch_bounds__(kBlock)
    act_backward_kernel(const F f, const T* __restrict__ dy, const T* __restrict__ v, T* __restrict__ dx, int64_t n) {
  int64_t done = 0;
  if constexpr (VEC) {
    using P = Vec16<T>;
    const int64_t packs = n / P::kLanes;
    for (int64_t k = global_thread(); k < packs; k += grid_threads()) {
      P g = reinterpret_cast<const P*>(dy)[k], s = reinterpret_cast<const P*>(v)[k], out;
#pragma unroll
      for (int l = 0; l < P::kLanes; ++l) out.v[l] = f.backward(g.v[l], s.v[l]);
      reinterpret_cast<P*>(dx)[k] = out;
    }
    done = packs * P::kLanes;
  }
  for (int64_t i = done + global_thread(); i < n; i += grid_threads()) dx[i] = f.backward(dy[i], v[i]);
}

template <class T, class F>
void launch_forward(const F& f, const T* x, T* y, int64_t n, cudaStream_t s, LaunchCheck check) {
  const int64_t lanes = Vec16<T>::kLanes;
  if (aligned16<T>(x) && aligned16<T>(y)) {
    act_forward_kernel<true><<<grid_for((n + lanes - 1) / lanes), kBlock, 0, s>>>(f, x, y, n);
  } else {
    act_forward_kernel<false><<<grid_for(n), kBlock, 0, s>>>(f, x, y, n);
  }
  check("pydl_activation_forward");
}

template <class T, class F>
void launch_backward(const F& f, const T* dy, const T* v, T* dx, int64_t n, cudaStream_t s, LaunchCheck check) {
  const int64_t lanes = Vec16<T>::kLanes;
  if (aligned16<T>(dy) && aligned16<T>(v) && aligned16<T>(dx)) {
    act_backward_kernel<true><<<grid_for((n + lanes - 1) / lanes), kBlock, 0, s>>>(f, dy, v, dx, n);
  } else {
    act_backward_kernel<false><<<grid_for(n), kBlock, 0, s>>>(f, dy, v, dx, n);
  }
  check("pydl_activation_backward");
}

}  // namespace

void activation_forward(Activation act, DType dtype, const void* x, void* y, int64_t n, double p0, double p1,
                        void* stream, LaunchCheck check) {
  if (n <= 0) return;
  cudaStream_t s = as_stream(stream);
  PYDL_DISPATCH_FLOAT(dtype, T, PYDL_DISPATCH_ACTIVATION(act, T, p0, p1, launch_forward(f, static_cast<const T*>(x),
                                                                                        static_cast<T*>(y), n, s,
                                                                                        check)));
}

void activation_backward(Activation act, DType dtype, const void* dy, const void* v, void* dx, int64_t n, double p0,
                         double p1, void* stream, LaunchCheck check) {
  if (n <= 0) return;
  cudaStream_t s = as_stream(stream);
  PYDL_DISPATCH_FLOAT(dtype, T, PYDL_DISPATCH_ACTIVATION(act, T, p0, p1, launch_backward(f, static_cast<const T*>(dy),
                                                                                         static_cast<const T*>(v),
                                                                                         static_cast<T*>(dx), n, s,
                                                                                         check)));
}

}  // namespace pydl::cuda_kernels
