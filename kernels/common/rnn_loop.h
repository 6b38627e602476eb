// The time loop of a recurrent layer (kernels/common/rnn.h), written once for both backends, over
// the batch rows [row0, row0 + rows). Per step: the recurrent product hh = h' W_hh^T (+ b_hh) as one
// GEMM, then every unit's cell step; backward, the cell steps from the last step down, each
// followed by one GEMM taking the recurrent gradient back through W_hh. The parameters' gradients
// (rnn_parameter_grads) then take all rows and steps at once: W_hh's as one GEMM.
// A Backend supplies:
//   gemm(const GemmArgs&)                the products
//   forward_cells(args, t, tp)           the rows' forward cell steps at step t (tp: the previous step, or -1)
//   backward_cells(args, t, tp)          their backward steps (the dh and dc they read and rewrite)
//   copy(dst, src, bytes), zero(dst, bytes)
#pragma once
#include <stdint.h>

#include "kernels/common/gemm_args.h"
#include "kernels/common/rnn.h"

PYDL_KERNELS_BEGIN

template <class T>
const T* rnn_prev_h(const RnnArgs& a, int64_t tp) {
  return tp < 0 ? static_cast<const T*>(a.h0) : static_cast<const T*>(a.out) + tp * a.batch * a.hidden;
}

// The number of rows of a call (from a.row0).
inline int64_t rnn_rows(const RnnArgs& a) { return a.rows < 0 ? a.batch - a.row0 : a.rows; }

// The step processed k-th, and the one before it (-1 for the first).
inline void rnn_step(const RnnArgs& a, int64_t k, int64_t* t, int64_t* tp) {
  *t = a.reverse ? a.steps - 1 - k : k;
  *tp = k == 0 ? -1 : (a.reverse ? *t + 1 : *t - 1);
}

template <class T, class Backend>
void rnn_forward_loop(const RnnArgs& a, Backend& be) {
  const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(a.cell) * H, r0 = a.row0, R = rnn_rows(a);
  if (a.cell == RnnCell::Lstm)  // the running c lives in out's last block, which ends as the last c
    be.copy(static_cast<T*>(a.out) + (a.steps * B + r0) * H, static_cast<const T*>(a.c0) + r0 * H, sizeof(T) * R * H);
  for (int64_t k = 0; k < a.steps; ++k) {
    int64_t t, tp;
    rnn_step(a, k, &t, &tp);
    GemmArgs g;
    g.m = R, g.n = GH, g.k = H, g.a = rnn_prev_h<T>(a, tp) + r0 * H, g.lda = H, g.b = a.w_hh_t, g.ldb = GH;
    g.c = static_cast<T*>(a.hh) + r0 * GH, g.ldc = GH, g.bias = a.b_hh;
    be.gemm(g);
    be.forward_cells(a, t, tp);
  }
}

// The backward through time of the rows; leaves the recurrent gradients (grad_x_proj, and grad_hh
// for the GRU) of every step, each step's previous h, and the gradients of h0 and c0.
template <class T, class Backend>
void rnn_backward_loop(const RnnArgs& a, Backend& be) {
  const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(a.cell) * H, r0 = a.row0, R = rnn_rows(a);
  const T* ghh = static_cast<const T*>(a.cell == RnnCell::Gru ? a.grad_hh : a.grad_x_proj);
  T* dh = static_cast<T*>(a.dh) + r0 * H;
  be.zero(dh, sizeof(T) * R * H);
  if (a.cell == RnnCell::Lstm)
    be.copy(static_cast<T*>(a.grad_c0) + r0 * H, static_cast<const T*>(a.grad_out) + (a.steps * B + r0) * H,
            sizeof(T) * R * H);
  for (int64_t k = a.steps - 1; k >= 0; --k) {
    int64_t t, tp;
    rnn_step(a, k, &t, &tp);
    be.copy(static_cast<T*>(a.h_prev) + (t * B + r0) * H, rnn_prev_h<T>(a, tp) + r0 * H, sizeof(T) * R * H);
    be.backward_cells(a, t, tp);
    GemmArgs g;  // dh += ghh[t] W_hh
    g.m = R, g.n = H, g.k = GH, g.beta = 1.0;
    g.a = ghh + (t * B + r0) * GH, g.lda = GH, g.b = a.w_hh, g.ldb = H, g.c = dh, g.ldc = H;
    be.gemm(g);
  }
  be.copy(static_cast<T*>(a.grad_h0) + r0 * H, dh, sizeof(T) * R * H);
}

// W_hh's gradient (and the GRU's b_hh's) over all rows and steps, after rnn_backward_loop.
// ones: (steps * batch) ones of T, for b_hh (column sums as a product).
template <class T, class Backend>
void rnn_parameter_grads(const RnnArgs& a, const T* ones, Backend& be) {
  const int64_t H = a.hidden, GH = rnn_gates(a.cell) * H, n = a.steps * a.batch;
  const void* ghh = a.cell == RnnCell::Gru ? a.grad_hh : a.grad_x_proj;
  GemmArgs w;  // ghh^T h_prev
  w.trans_a = true, w.m = GH, w.n = H, w.k = n;
  w.a = ghh, w.lda = GH, w.b = a.h_prev, w.ldb = H, w.c = a.grad_w_hh, w.ldc = H;
  be.gemm(w);
  if (a.grad_b_hh) {
    GemmArgs s;
    s.m = 1, s.n = GH, s.k = n;
    s.a = ones, s.lda = n, s.b = ghh, s.ldb = GH, s.c = a.grad_b_hh, s.ldc = GH;
    be.gemm(s);
  }
}

PYDL_KERNELS_END
