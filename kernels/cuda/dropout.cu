// Dropout on CUDA (see dropout.h). A thread takes a quad of elements 4q .. 4q + 3; when
// the offset is a multiple of 4 (csrc/rng keeps it so) the quad is exactly one Philox
// block, drawn once; otherwise each element draws its own word. Aligned quads are read
// and written with one vector access each (16 or 32 bytes, and 4 mask bytes).
#include "kernels/cuda/dropout.h"

#include "kernels/common/dropout.h"
#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

template <class T>
struct alignas(4 * sizeof(T)) Quad {
  T v[4];
};

// QUADS: x and out 4-element aligned and mask 4-byte aligned (checked by the launcher):
// whole quads move as one vector load / store each; the tail (n % 4) goes element by element.
template <bool QUADS, class T>
__global__ void __launch_bounds__(kBlock)
    dropout_forward_kernel(const T* __restrict__ x, T* __restrict__ out, uint8_t* __restrict__ mask, int64_t n,
                           uint64_t seed, uint64_t offset, uint32_t threshold, T scale) {
  const int64_t quads = (n + 3) / 4;
  const bool trivial = threshold == 0 || threshold >= (1u << 24);  // p = 0 or 1: nothing to draw
  for (int64_t q = global_thread(); q < quads; q += grid_threads()) {
    const int64_t i0 = q * 4;
    uint32_t bits;
    if (trivial) {
      bits = threshold == 0 ? 0xFu : 0u;
    } else if ((offset & 3) == 0) {
      bits = dropout_keep4(seed, (offset >> 2) + q, threshold);
    } else {
      bits = 0;
      for (int l = 0; l < 4; ++l)
        if (i0 + l < n) bits |= uint32_t(dropout_keep(seed, offset + i0 + l, threshold)) << l;
    }
    if (QUADS && i0 + 4 <= n) {
      const Quad<T> in = reinterpret_cast<const Quad<T>*>(x)[q];
      Quad<T> o;
      uchar4 m;
      m.x = bits & 1u;
      m.y = (bits >> 1) & 1u;
      m.z = (bits >> 2) & 1u;
      m.w = (bits >> 3) & 1u;
      o.v[0] = in.v[0] * (T(m.x) * scale);
      o.v[1] = in.v[1] * (T(m.y) * scale);
      o.v[2] = in.v[2] * (T(m.z) * scale);
      o.v[3] = in.v[3] * (T(m.w) * scale);
      reinterpret_cast<Quad<T>*>(out)[q] = o;
      reinterpret_cast<uchar4*>(mask)[q] = m;
      continue;
    }
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const int64_t i = i0 + l;
      if (i < n) {
        const uint8_t keep = (bits >> l) & 1u;
        mask[i] = keep;
        out[i] = x[i] * (T(keep) * scale);
      }
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    dropout_backward_kernel(const T* __restrict__ g, const uint8_t* __restrict__ mask, T* __restrict__ out, int64_t n,
                            T scale) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = g[i] * (T(mask[i]) * scale);
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

}  // namespace

void dropout_forward(DType dtype, const void* x, void* out, bool* mask, int64_t n, uint64_t seed, uint64_t offset,
                     double p, void* stream, LaunchCheck check) {
  if (n <= 0) return;
  const uint32_t threshold = dropout_threshold(p);
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const bool quads = aligned(x, 4 * sizeof(T)) && aligned(out, 4 * sizeof(T)) && aligned(mask, 4);
    auto kernel = quads ? dropout_forward_kernel<true, T> : dropout_forward_kernel<false, T>;
    kernel<<<grid_for((n + 3) / 4), kBlock, 0, as_stream(stream)>>>(static_cast<const T*>(x), static_cast<T*>(out),
                                                                     reinterpret_cast<uint8_t*>(mask), n, seed,
                                                                     offset, threshold,
                                                                     static_cast<T>(dropout_scale(p)));
  });
  check("pydl_dropout_forward");
}

void dropout_backward(DType dtype, const void* grad, const bool* mask, void* grad_in, int64_t n, double p,
                      void* stream, LaunchCheck check) {
  if (n <= 0) return;
  PYDL_DISPATCH_FLOAT(dtype, T, {
    dropout_backward_kernel<T><<<grid_for(n), kBlock, 0, as_stream(stream)>>>(
        static_cast<const T*>(grad), reinterpret_cast<const uint8_t*>(mask), static_cast<T*>(grad_in), n,
        static_cast<T>(dropout_scale(p)));
  });
  check("pydl_dropout_backward");
}

}  // namespace pydl::cuda_kernels
