// Letting other Python threads run while an op works. The bindings wrap each op that can run
// long (GEMM, conv, pooling, norms, losses, reductions, elementwise, copies, optimizer steps)
// in a GilRelease, which drops the GIL when the op touches enough elements: smaller ops keep
// it, since dropping and retaking it costs more than they do, and retaking can wait a whole
// switch interval (5 ms) behind a busy Python thread. Either way it gives the calling thread
// pydl's thread count and denormal mode (kernels/cpu/float_mode.h) for the op. Ops run on C++
// Arrays only; nothing under a GilRelease touches a Python object (Storage releases that own
// one retake the GIL).
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "csrc/array.h"
#include "kernels/cpu/float_mode.h"

namespace pydl {

// Elements an op must touch before it releases the GIL (some 10 us of work).
constexpr int64_t kGilReleaseWork = int64_t(1) << 15;

class GilRelease {
 public:
  explicit GilRelease(int64_t work);
  ~GilRelease();
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  cpu::FloatModeScope float_mode_;  // the kernels run in pydl's denormal mode
  PyThreadState* state_ = nullptr;
};

// The elements an op's argument brings (0 for anything but arrays).
template <class T>
int64_t work_of(const T&) {
  return 0;
}
inline int64_t work_of(const Array& a) { return a.numel(); }
inline int64_t work_of(const std::optional<Array>& a) { return a ? a->numel() : 0; }
inline int64_t work_of(const Array* a) { return a ? a->numel() : 0; }
// a + b, saturating: views of zero stride can be huge.
inline int64_t add_work(int64_t a, int64_t b) {
  int64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? INT64_MAX : sum;
}
template <class T>
int64_t work_of(const std::vector<T>& list) {
  int64_t n = 0;
  for (const T& x : list) n = add_work(n, work_of(x));
  return n;
}

// without_gil<&op>: op, called with the GIL released when its array arguments are large.
template <auto Fn>
struct WithoutGil;
template <class R, class... A, R (*Fn)(A...)>
struct WithoutGil<Fn> {
  static R call(A... a) {
    int64_t work = 0;
    ((work = add_work(work, work_of(a))), ...);
    GilRelease release(work);
    return Fn(std::forward<A>(a)...);
  }
};
template <auto Fn>
constexpr auto without_gil = &WithoutGil<Fn>::call;

}  // namespace pydl
