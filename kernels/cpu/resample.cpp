// Resampling on the CPU: rows of `inner` contiguous entries are combined whole (the inner loop
// runs along memory); a lone column (inner == 1) is a gather along the row.
#include "kernels/cpu/resample.h"

#include <cstring>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

using kernels::parallel_ranges;

namespace {

// One output row (x's rows taken whole: inner entries each).
template <class T>
void forward_rows(const ResampleAxis& ax, const T* w, const T* xo, T* yo) {
  for (int64_t i = 0; i < ax.out_size; ++i) {
    T* y = yo + i * ax.inner;
    const int64_t* s = ax.src + i * ax.taps;
    if (!w) {
      std::memcpy(y, xo + s[0] * ax.inner, ax.inner * sizeof(T));
      continue;
    }
    const T* wi = w + i * ax.taps;
    for (int64_t j = 0; j < ax.inner; ++j) y[j] = wi[0] * xo[s[0] * ax.inner + j];
    for (int t = 1; t < ax.taps; ++t)
      for (int64_t j = 0; j < ax.inner; ++j) y[j] += wi[t] * xo[s[t] * ax.inner + j];
  }
}

// Stretches of outputs whose sources follow each other (a padding's interior): each is one copy.
struct Run {
  int64_t out, src, size;
};

// The runs of ax.src (one tap), or none when they would be short (then a gather is faster). For
// the backward, also none where a source repeats next to itself: add_runs sums such a repeat
// before adding it, and adding along the runs, in the same order otherwise, must give its bits.
std::vector<Run> consecutive_runs(const ResampleAxis& ax, bool backward) {
  std::vector<Run> runs;
  for (int64_t i = 0; i < ax.out_size; ++i) {
    if (backward && i && ax.src[i] == ax.src[i - 1]) return {};
    if (!runs.empty() && ax.src[i] == runs.back().src + runs.back().size) ++runs.back().size;
    else runs.push_back({i, ax.src[i], 1});
  }
  if (runs.size() * 8 > size_t(ax.out_size)) runs.clear();
  return runs;
}

// A lone column (inner == 1): a gather along the row, or a copy per run.
template <class T>
void forward_column(const ResampleAxis& ax, const std::vector<Run>& runs, const T* w, const T* xo, T* yo) {
  if (!w && !runs.empty()) {
    for (const Run& r : runs) std::memcpy(yo + r.out, xo + r.src, r.size * sizeof(T));
    return;
  }
  if (!w) {
    for (int64_t i = 0; i < ax.out_size; ++i) yo[i] = xo[ax.src[i]];
    return;
  }
  for (int64_t i = 0; i < ax.out_size; ++i) {
    T y = w[i * ax.taps] * xo[ax.src[i * ax.taps]];
    for (int t = 1; t < ax.taps; ++t) y += w[i * ax.taps + t] * xo[ax.src[i * ax.taps + t]];
    yo[i] = y;
  }
}

template <class T>
void forward(const ResampleAxis& ax, const T* x, T* out) {
  const T* w = static_cast<const T*>(ax.weight);
  const std::vector<Run> runs = !w && ax.inner == 1 ? consecutive_runs(ax, false) : std::vector<Run>();
  parallel_ranges(ax.outer, ax.out_size * ax.inner * ax.taps, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* xo = x + o * ax.in_size * ax.inner;
      T* yo = out + o * ax.out_size * ax.inner;
      if (ax.inner == 1) forward_column(ax, runs, w, xo, yo);
      else forward_rows(ax, w, xo, yo);
    }
  });
}

template <class T>
void backward(const ResampleAxis& ax, const T* g, T* dx) {
  using kernels::add_runs;
  const T* w = static_cast<const T*>(ax.weight);
  const int64_t n = ax.out_size * ax.taps;
  const std::vector<Run> runs = !w && ax.inner == 1 ? consecutive_runs(ax, true) : std::vector<Run>();
  parallel_ranges(ax.outer, n * ax.inner, [&](int64_t b, int64_t e) {
    std::vector<T> run(w ? 0 : ax.inner);
    for (int64_t o = b; o < e; ++o) {
      T* dxo = dx + o * ax.in_size * ax.inner;
      const T* go = g + o * ax.out_size * ax.inner;
      std::memset(dxo, 0, ax.in_size * ax.inner * sizeof(T));
      if (!runs.empty()) {
        for (const Run& r : runs) {
          T* d = dxo + r.src;
          const T* gr = go + r.out;
          for (int64_t j = 0; j < r.size; ++j) d[j] += gr[j];
        }
      } else if (!w && ax.inner == 1) {
        add_runs(ax.src, ax.out_size, go, dxo);
      } else if (!w) {  // add_runs on whole rows: a run of a repeated source summed first
        for (int64_t i = 0; i < ax.out_size;) {
          const int64_t target = ax.src[i];
          std::memcpy(run.data(), go + i * ax.inner, ax.inner * sizeof(T));
          for (++i; i < ax.out_size && ax.src[i] == target; ++i)
            for (int64_t j = 0; j < ax.inner; ++j) run[j] += go[i * ax.inner + j];
          T* d = dxo + target * ax.inner;
          for (int64_t j = 0; j < ax.inner; ++j) d[j] += run[j];
        }
      } else if (ax.inner == 1) {
        for (int64_t i = 0; i < ax.out_size; ++i)
          for (int t = 0; t < ax.taps; ++t) dxo[ax.src[i * ax.taps + t]] += w[i * ax.taps + t] * go[i];
      } else {
        for (int64_t k = 0; k < n; ++k) {
          T* d = dxo + ax.src[k] * ax.inner;
          const T* gi = go + (k / ax.taps) * ax.inner;
          const T wk = w[k];
          for (int64_t j = 0; j < ax.inner; ++j) d[j] += wk * gi[j];
        }
      }
    }
  });
}

}  // namespace

void resample(DType dtype, const ResampleAxis& ax, const void* x, void* out) {
  if (ax.weight) {
    PYDL_DISPATCH_FLOAT(dtype, T, forward<T>(ax, static_cast<const T*>(x), static_cast<T*>(out)));
    return;
  }
  switch (itemsize(dtype)) {  // a copy: any dtype, by its width
    case 1: return forward<uint8_t>(ax, static_cast<const uint8_t*>(x), static_cast<uint8_t*>(out));
    case 2: return forward<uint16_t>(ax, static_cast<const uint16_t*>(x), static_cast<uint16_t*>(out));
    case 4: return forward<uint32_t>(ax, static_cast<const uint32_t*>(x), static_cast<uint32_t*>(out));
    default: return forward<uint64_t>(ax, static_cast<const uint64_t*>(x), static_cast<uint64_t*>(out));
  }
}

void resample_backward(DType dtype, const ResampleAxis& ax, const void* g, void* dx) {
  PYDL_DISPATCH_FLOAT(dtype, T, backward<T>(ax, static_cast<const T*>(g), static_cast<T*>(dx)));
}

}  // namespace pydl::cpu
