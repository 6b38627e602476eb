// Max pooling's forward over 2x2 windows at stride 2 without padding (LeNet's, VGG's), compiled once
// per ISA (PYDL_ISA). The general kernel (pool.cpp) walks each output row tap by tap; rows of 14 or 5
// windows left it mostly loop overhead ((512, 16, 10, 10) took 1.3 ms on 2 Intel cores, 12x a ReLU
// over the same input; 0.2 ms here). Here each input row's pairs come first, in one vector loop over a whole
// plane (pairs never straddle rows when the width is even), then each pair of rows' results.
// The taps keep PyTorch's order: (0, 0) then (0, 1) within a row; the second row's winner replaces
// the first row's only where greater, or NaN. So ties keep the first maximum and NaN wins (the
// last NaN), as in the general kernel.
#include <stdint.h>
#include <string.h>

#include <vector>

#include "kernels/common/macros.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_bytes.h"

PYDL_KERNELS_BEGIN

namespace {

// A vector of T (V), of integers as wide as T (IV: compare-and-select without conversions), and of
// as many int64 lanes (LV: the indices).
template <class T> struct Same;
template <> struct Same<float> {
  using I = int32_t;
  typedef float V __attribute__((vector_size(kVecBytes)));
  typedef int32_t IV __attribute__((vector_size(kVecBytes)));
  typedef int64_t LV __attribute__((vector_size(2 * kVecBytes)));
};
template <> struct Same<double> {
  using I = int64_t;
  typedef double V __attribute__((vector_size(kVecBytes)));
  typedef int64_t IV __attribute__((vector_size(kVecBytes)));
  typedef int64_t LV __attribute__((vector_size(kVecBytes)));
};

// Each pair (src[2j], src[2j + 1]): its maximum in best[j], 1 in second[j] where that is the second.
template <class T, class I>
void pair_maxima(const T* __restrict src, int64_t pairs, T* __restrict best, I* __restrict second) {
  for (int64_t j = 0; j < pairs; ++j) {
    const T a = src[2 * j], b = src[2 * j + 1];
    const bool take = (b > a) | (b != b);
    best[j] = take ? b : a;
    second[j] = take;
  }
}

// Each pair of rows' winners, a vector of windows at a time, into buffers of a plane's outputs copied
// out whole: a row's last vector may reach into the next rows (rows of 14 or 5 windows are shorter
// than a vector), whose stores overwrite what it wrote there.
template <class T>
void forward(int64_t planes, int64_t h, int64_t w, const T* x, T* y, int64_t* ind) {
  using I = typename Same<T>::I;
  using V = typename Same<T>::V;
  using IV = typename Same<T>::IV;
  using LV = typename Same<T>::LV;
  constexpr int VL = kVecBytes / int(sizeof(T));
  IV lane;
  for (int l = 0; l < VL; ++l) lane[l] = I(l);
  const int64_t out_h = h / 2, out_w = w / 2, hw = h * w, ohw = out_h * out_w, rows = 2 * out_h;
  parallel_ranges(planes, hw, [&](int64_t b, int64_t e) {
    std::vector<T> best(size_t(rows * out_w + VL)), win(size_t(ohw + VL));
    std::vector<I> second(size_t(rows * out_w + VL));
    std::vector<int64_t> at(size_t(ohw + VL));
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * hw;
      if (w % 2 == 0) {
        pair_maxima(xp, rows * out_w, best.data(), second.data());
      } else {
        for (int64_t r = 0; r < rows; ++r)
          pair_maxima(xp + r * w, out_w, best.data() + r * out_w, second.data() + r * out_w);
      }
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t c = 0; c < out_w; c += VL) {
          const int64_t top = 2 * oh * out_w + c;
          V b0, b1;
          IV s0, s1;
          memcpy(&b0, best.data() + top, sizeof(V));
          memcpy(&b1, best.data() + top + out_w, sizeof(V));
          memcpy(&s0, second.data() + top, sizeof(IV));
          memcpy(&s1, second.data() + top + out_w, sizeof(IV));
          const IV take = (b1 > b0) | (b1 != b1);  // all ones where the second row wins
          const V v = take ? b1 : b0;
          const IV index = I(2 * oh * w + 2 * c) + (take & I(w)) + 2 * lane + (take ? s1 : s0);
          const LV wide = __builtin_convertvector(index, LV);
          memcpy(win.data() + oh * out_w + c, &v, sizeof(V));
          memcpy(at.data() + oh * out_w + c, &wide, sizeof(LV));
        }
      memcpy(y + pl * ohw, win.data(), sizeof(T) * size_t(ohw));
      memcpy(ind + pl * ohw, at.data(), sizeof(int64_t) * size_t(ohw));
    }
  });
}

}  // namespace

void max_pool_2x2_forward(bool is_double, int64_t planes, int64_t h, int64_t w, const void* x, void* y,
                          int64_t* indices) {
  if (is_double) forward(planes, h, w, static_cast<const double*>(x), static_cast<double*>(y), indices);
  else forward(planes, h, w, static_cast<const float*>(x), static_cast<float*>(y), indices);
}

PYDL_KERNELS_END
