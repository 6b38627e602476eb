// The recurrent cells' elementwise steps on the CPU, compiled once per ISA (PYDL_ISA): for each
// batch row, one loop over the hidden units with the cell fixed at compile time, so that the
// cell's sigmoids and tanhs (kernels/common/pointwise_math.h) vectorize.
#include <stdint.h>

#include "kernels/common/dtype.h"
#include "kernels/common/rnn.h"
#include "kernels/common/rnn_loop.h"
#include "kernels/cpu/parallel.h"

PYDL_KERNELS_BEGIN

namespace {

template <class Fn>
void with_cell(RnnCell cell, Fn fn) {
  switch (cell) {
    case RnnCell::Tanh: return fn(std::integral_constant<RnnCell, RnnCell::Tanh>());
    case RnnCell::Relu: return fn(std::integral_constant<RnnCell, RnnCell::Relu>());
    case RnnCell::Lstm: return fn(std::integral_constant<RnnCell, RnnCell::Lstm>());
    case RnnCell::Gru: return fn(std::integral_constant<RnnCell, RnnCell::Gru>());
  }
}

// One batch row's units, with every array apart. Not inlined: GCC keeps __restrict only on a
// function's own parameters, and without it the loop (calls to the cell's exp) is not vectorized.
template <class T, RnnCell C>
__attribute__((noinline)) void forward_row(int64_t H, const T* __restrict xp, const T* __restrict hh,
                                           const T* __restrict hp, T* __restrict c, T* __restrict h, T* __restrict s,
                                           bool active) {
  if (!active) {  // past the row's length: the state passes through
    for (int64_t j = 0; j < H; ++j)
      rnn_cell_forward(C, H, j, xp, hh, hp[j], C == RnnCell::Lstm ? c[j] : T(0), h + j, c, s, false);
    return;
  }
  for (int64_t j = 0; j < H; ++j)
    rnn_cell_forward(C, H, j, xp, hh, hp[j], C == RnnCell::Lstm ? c[j] : T(0), h + j, C == RnnCell::Lstm ? c + j : c,
                     s);
}

template <class T, RnnCell C>
__attribute__((noinline)) void backward_row(int64_t H, const T* __restrict h, const T* __restrict hp,
                                            const T* __restrict cp, const T* __restrict s, const T* __restrict go,
                                            T* __restrict dh, T* __restrict dc, T* __restrict gx, T* __restrict ghh,
                                            bool active) {
  T unused = 0;
  const bool lstm = C == RnnCell::Lstm;
  if (!active) {
    for (int64_t j = 0; j < H; ++j)
      dh[j] = rnn_cell_backward(C, H, j, h[j], hp[j], T(0), s, go[j] + dh[j], &unused, gx, ghh, false);
    return;
  }
  for (int64_t j = 0; j < H; ++j)
    dh[j] = rnn_cell_backward(C, H, j, h[j], hp[j], lstm ? cp[j] : T(0), s, go[j] + dh[j], lstm ? dc + j : &unused, gx,
                              C == RnnCell::Gru ? ghh : gx);
}

// fn(b) for the call's batch rows, split over the threads (one thread inside a row slice's loop).
template <class Fn>
void for_rows(const RnnArgs& a, Fn fn) {
  const int64_t r0 = a.row0;
  parallel_ranges(rnn_rows(a), a.hidden * 16, [&](int64_t b0, int64_t b1) {
    for (int64_t b = r0 + b0; b < r0 + b1; ++b) fn(b);
  });
}

template <class T, RnnCell C>
void forward_rows(const RnnArgs& a, int64_t t, int64_t tp) {
  const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(C) * H, S = rnn_saved(C) * H;
  const T* hp = rnn_prev_h<T>(a, tp);
  for_rows(a, [&](int64_t b) {
    const T* xp = static_cast<const T*>(a.x_proj) + (t * B + b) * GH;
    const T* hh = static_cast<const T*>(a.hh) + b * GH;
    T* h = static_cast<T*>(a.out) + (t * B + b) * H;
    T* s = S ? static_cast<T*>(a.saved) + (t * B + b) * S : nullptr;
    T* c = C == RnnCell::Lstm ? static_cast<T*>(a.out) + (a.steps * B + b) * H : nullptr;  // the running c
    forward_row<T, C>(H, xp, hh, hp + b * H, c, h, s, rnn_active(a, t, b));
  });
}

template <class T, RnnCell C>
void backward_rows(const RnnArgs& a, int64_t t, int64_t tp) {
  const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(C) * H, S = rnn_saved(C) * H;
  const T* hp = rnn_prev_h<T>(a, tp);
  for_rows(a, [&](int64_t b) {
    const T* h = static_cast<const T*>(a.out) + (t * B + b) * H;
    const T* go = static_cast<const T*>(a.grad_out) + (t * B + b) * H;
    const T* s = S ? static_cast<const T*>(a.saved) + (t * B + b) * S : nullptr;
    T* gx = static_cast<T*>(a.grad_x_proj) + (t * B + b) * GH;
    T* ghh = C == RnnCell::Gru ? static_cast<T*>(a.grad_hh) + (t * B + b) * GH : nullptr;
    const T* cp = nullptr;
    T* dc = nullptr;
    if (C == RnnCell::Lstm) {
      cp = tp < 0 ? static_cast<const T*>(a.c0) + b * H : static_cast<const T*>(a.saved) + (tp * B + b) * S + 4 * H;
      dc = static_cast<T*>(a.grad_c0) + b * H;
    }
    backward_row<T, C>(H, h, hp + b * H, cp, s, go, static_cast<T*>(a.dh) + b * H, dc, gx, ghh,
                       rnn_active(a, t, b));
  });
}

}  // namespace

void rnn_cells_forward_kernel(DType dtype, const RnnArgs& args, int64_t t, int64_t tp) {
  PYDL_DISPATCH_FLOAT(dtype, T,
                      with_cell(args.cell, [&](auto c) { forward_rows<T, decltype(c)::value>(args, t, tp); }));
}

void rnn_cells_backward_kernel(DType dtype, const RnnArgs& args, int64_t t, int64_t tp) {
  PYDL_DISPATCH_FLOAT(dtype, T,
                      with_cell(args.cell, [&](auto c) { backward_rows<T, decltype(c)::value>(args, t, tp); }));
}

PYDL_KERNELS_END
