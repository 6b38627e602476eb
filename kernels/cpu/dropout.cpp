// Dropout: draw the keep mask (one Philox block per four elements), then scale.
// The product x * (keep ? scale : 0) matches PyTorch's input * mask * scale, so a
// dropped inf or nan gives nan there as here.
#include "kernels/cpu/dropout.h"

#include <string.h>

#include "kernels/common/dropout.h"
#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

using namespace kernels;

namespace {

// mask[i] for i in [b, e): the decision at stream position offset + i.
void draw_mask(bool* mask, int64_t b, int64_t e, uint64_t seed, uint64_t offset, uint32_t threshold) {
  if (threshold == 0 || threshold >= (1u << 24)) {  // p = 0 keeps all, p = 1 drops all: nothing to draw
    for (int64_t i = b; i < e; ++i) mask[i] = threshold == 0;
    return;
  }
  int64_t i = b;
  for (; i < e && ((offset + i) & 3); ++i) mask[i] = dropout_keep(seed, offset + i, threshold);  // unaligned head
  for (; i + 4 <= e; i += 4) {
    const uint32_t bits = dropout_keep4(seed, (offset + i) >> 2, threshold);
    const uint8_t bytes[4] = {uint8_t(bits & 1), uint8_t((bits >> 1) & 1), uint8_t((bits >> 2) & 1),
                              uint8_t((bits >> 3) & 1)};
    memcpy(mask + i, bytes, 4);  // one store for the four
  }
  for (; i < e; ++i) mask[i] = dropout_keep(seed, offset + i, threshold);
}

// Branch-free (a random mask would mispredict every other branch): the byte becomes 0 or 1.
template <class T>
void apply_mask(const T* __restrict in, const bool* __restrict mask, T* __restrict out, int64_t b, int64_t e, T scale) {
  const uint8_t* __restrict m = reinterpret_cast<const uint8_t*>(mask);
  for (int64_t i = b; i < e; ++i) out[i] = in[i] * (T(m[i]) * scale);
}

}  // namespace

void dropout_forward(DType dtype, const void* x, void* out, bool* mask, int64_t n, uint64_t seed, uint64_t offset,
                     double p) {
  const uint32_t threshold = dropout_threshold(p);
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const T scale = static_cast<T>(dropout_scale(p));
    const T* in = static_cast<const T*>(x);
    T* o = static_cast<T*>(out);
    // One Philox block (~150 instructions) per four elements: worth threads well below the usual grain.
    parallel_ranges(n, 16, [&](int64_t b, int64_t e) {
      constexpr int64_t kTile = 4096;  // mask then scale one tile at a time, while it is in L1
      for (int64_t t = b; t < e; t += kTile) {
        const int64_t te = t + kTile < e ? t + kTile : e;
        draw_mask(mask, t, te, seed, offset, threshold);
        apply_mask(in, mask, o, t, te, scale);
      }
    });
  });
}

void dropout_backward(DType dtype, const void* grad, const bool* mask, void* grad_in, int64_t n, double p) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    const T scale = static_cast<T>(dropout_scale(p));
    const T* g = static_cast<const T*>(grad);
    T* o = static_cast<T*>(grad_in);
    parallel_ranges(n, 1, [&](int64_t b, int64_t e) { apply_mask(g, mask, o, b, e, scale); });
  });
}

}  // namespace pydl::cpu
