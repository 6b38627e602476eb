// Recurrent layers, one direction of one layer, shared by the CPU and CUDA kernels: the registry
// of cells (see kernels/common/registry.h), the arguments of the time loop, and each cell's
// elementwise step forward and backward, with PyTorch's gate order and formulas:
//   rnn_tanh / rnn_relu  h = act(xp + hh)
//   lstm (i, f, g, o)    i, f, o = sigmoid, g = tanh of xp + hh; c = f c' + i g; h = o tanh(c)
//   gru (r, z, n)        r, z = sigmoid(xp + hh); n = tanh(xp_n + r hh_n); h = (1 - z) n + z h'
// where xp = x W_ih^T + b_ih (+ b_hh, except for the GRU, whose b_hh sits inside r's product) is
// computed for all steps at once by the caller, hh = h' W_hh^T (+ b_hh for the GRU) is each
// step's recurrent product, and h', c' the previous step's state.
#pragma once
#include <stdint.h>

#include "kernels/common/macros.h"
#include "kernels/common/pointwise_math.h"
#include "kernels/common/registry.h"

namespace pydl {

#define PYDL_RNN_CELLS(X) \
  X(Tanh, "rnn_tanh")     \
  X(Relu, "rnn_relu")     \
  X(Lstm, "lstm")         \
  X(Gru, "gru")

enum class RnnCell : int { PYDL_RNN_CELLS(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(RnnCell, PYDL_RNN_CELLS)

// Gates per hidden unit (rows of W_ih and W_hh per unit), and what a step saves per unit.
PYDL_HD int rnn_gates(RnnCell c) { return c == RnnCell::Lstm ? 4 : c == RnnCell::Gru ? 3 : 1; }
PYDL_HD int rnn_saved(RnnCell c) { return c == RnnCell::Lstm ? 5 : c == RnnCell::Gru ? 4 : 0; }

// The time loop's arrays, all contiguous in the element type, G = rnn_gates(cell), S = rnn_saved(cell).
// Steps run t = 0 .. steps-1, or from the last step down when reverse; arrays are in time order.
struct RnnArgs {
  RnnCell cell = RnnCell::Tanh;
  int64_t steps = 0, batch = 0, hidden = 0;
  bool reverse = false;
  // The batch rows [row0, row0 + rows) this call runs (rows < 0: all): the rows are independent
  // through the whole loop, so a CPU thread can take a slice of them from the first step to the last.
  int64_t row0 = 0, rows = -1;
  // (batch) valid steps per row, or null (all): beyond its length a row's state passes through
  // unchanged (so a reversed row starts at its own last step) and its gradient flows straight back.
  const int64_t* lengths = nullptr;
  const void* x_proj = nullptr;  // (steps, batch, G H)
  const void* w_hh = nullptr;    // (G H, H)
  const void* w_hh_t = nullptr;  // forward: W_hh^T (H, G H), contiguous (a B operand the GEMM packs fast)
  const void* b_hh = nullptr;    // (G H): the GRU's, else null (folded into x_proj)
  const void* h0 = nullptr;      // (batch, H)
  const void* c0 = nullptr;      // (batch, H): LSTM
  void* out = nullptr;           // (steps, batch, H) hidden states, then (batch, H) the last c for the LSTM
  void* saved = nullptr;         // (steps, batch, S H): LSTM i f g o c, GRU r z n hh_n
  void* hh = nullptr;            // scratch (batch, G H): a step's recurrent product
  // backward
  const void* grad_out = nullptr;  // like out
  void* grad_x_proj = nullptr;     // (steps, batch, G H)
  void* grad_hh = nullptr;         // (steps, batch, G H): the GRU's recurrent gradient (else grad_x_proj is it)
  void* h_prev = nullptr;          // scratch (steps, batch, H): each step's previous h, for W_hh's gradient
  void* dh = nullptr;              // scratch (batch, H): the gradient reaching the previous h
  void* grad_w_hh = nullptr;       // (G H, H)
  void* grad_b_hh = nullptr;       // (G H): the GRU's
  void* grad_h0 = nullptr;         // (batch, H)
  void* grad_c0 = nullptr;         // (batch, H): LSTM; also the running gradient of c during the loop
};

}  // namespace pydl

PYDL_KERNELS_BEGIN

// Whether row b takes part in step t (a step within its length).
PYDL_HD bool rnn_active(const RnnArgs& a, int64_t t, int64_t b) { return !a.lengths || t < a.lengths[b]; }

// One step of unit j of one batch row, forward: xp and hh the row's G H projections, hp / cp the
// previous state; writes h (and c) and the saved values s (S H per row). An inactive row (past its
// length) keeps its state.
template <class T>
PYDL_HD void rnn_cell_forward(RnnCell cell, int64_t H, int64_t j, const T* xp, const T* hh, T hp, T cp, T* h, T* c,
                              T* s, bool active = true) {
  if (!active) {
    *h = hp;
    if (cell == RnnCell::Lstm) s[4 * H + j] = cp;  // the running c stays as it is; the backward reads it here
    return;
  }
  if (cell == RnnCell::Tanh || cell == RnnCell::Relu) {
    const T a = xp[j] + hh[j];
    *h = cell == RnnCell::Tanh ? tanh_fast(a) : (a > T(0) ? a : T(0));
  } else if (cell == RnnCell::Lstm) {
    const T i = sigmoid_fast(xp[j] + hh[j]), f = sigmoid_fast(xp[H + j] + hh[H + j]);
    const T g = tanh_fast(xp[2 * H + j] + hh[2 * H + j]), o = sigmoid_fast(xp[3 * H + j] + hh[3 * H + j]);
    const T cn = f * cp + i * g;
    *c = cn;
    *h = o * tanh_fast(cn);
    s[j] = i, s[H + j] = f, s[2 * H + j] = g, s[3 * H + j] = o, s[4 * H + j] = cn;
  } else {
    const T r = sigmoid_fast(xp[j] + hh[j]), z = sigmoid_fast(xp[H + j] + hh[H + j]);
    const T n = tanh_fast(xp[2 * H + j] + r * hh[2 * H + j]);
    *h = (T(1) - z) * n + z * hp;
    s[j] = r, s[H + j] = z, s[2 * H + j] = n, s[3 * H + j] = hh[2 * H + j];
  }
}

// Backward of that step: dh the gradient reaching h (from the output and the next step), dc the
// one reaching c (LSTM, updated to the previous c's); writes the row's x_proj gradient gx (G H),
// its recurrent gradient ghh (the GRU's, G H; gx serves the others) and returns the part of the
// previous h's gradient that does not go through W_hh (the GRU's z h').
template <class T>
PYDL_HD T rnn_cell_backward(RnnCell cell, int64_t H, int64_t j, T h, T hp, T cp, const T* s, T dh, T* dc, T* gx,
                            T* ghh, bool active = true) {
  if (!active) {  // the state passed through: so does its gradient (dc unchanged), and no gate had any
    for (int g = 0; g < rnn_gates(cell); ++g) gx[g * H + j] = T(0);
    if (cell == RnnCell::Gru)
      for (int g = 0; g < 3; ++g) ghh[g * H + j] = T(0);
    return dh;
  }
  if (cell == RnnCell::Tanh) {
    gx[j] = dh * (T(1) - h * h);
    return T(0);
  }
  if (cell == RnnCell::Relu) {
    gx[j] = h > T(0) ? dh : T(0);
    return T(0);
  }
  if (cell == RnnCell::Lstm) {
    const T i = s[j], f = s[H + j], g = s[2 * H + j], o = s[3 * H + j], tc = tanh_fast(s[4 * H + j]);
    const T dcn = *dc + dh * o * (T(1) - tc * tc);
    gx[j] = dcn * g * i * (T(1) - i);
    gx[H + j] = dcn * cp * f * (T(1) - f);
    gx[2 * H + j] = dcn * i * (T(1) - g * g);
    gx[3 * H + j] = dh * tc * o * (T(1) - o);
    *dc = dcn * f;
    return T(0);
  }
  const T r = s[j], z = s[H + j], n = s[2 * H + j], hn = s[3 * H + j];
  const T dn = dh * (T(1) - z) * (T(1) - n * n);
  const T dz = dh * (hp - n) * z * (T(1) - z);
  const T dr = dn * hn * r * (T(1) - r);
  gx[j] = ghh[j] = dr;
  gx[H + j] = ghh[H + j] = dz;
  gx[2 * H + j] = dn;
  ghh[2 * H + j] = dn * r;
  return dh * z;
}

PYDL_KERNELS_END
