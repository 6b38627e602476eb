// The time loop of a recurrent layer (kernels/common/rnn.h), written once for both backends.
// Per step: the recurrent product hh = h' W_hh^T (+ b_hh) as one GEMM, then every unit's cell step;
// backward, the cell steps from the last step down, each followed by one GEMM taking the
// recurrent gradient back through W_hh, and W_hh's gradient as one GEMM over all steps.
// A Backend supplies:
//   gemm(const GemmArgs&)                the products
//   forward_cells(args, t, tp)           every unit's forward step at step t (tp: the previous step, or -1)
//   backward_cells(args, t, tp)          every unit's backward step (the dh and dc it reads and rewrites)
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

// The step processed k-th, and the one before it (-1 for the first).
inline void rnn_step(const RnnArgs& a, int64_t k, int64_t* t, int64_t* tp) {
  *t = a.reverse ? a.steps - 1 - k : k;
  *tp = k == 0 ? -1 : (a.reverse ? *t + 1 : *t - 1);
}

template <class T, class Backend>
void rnn_forward_loop(const RnnArgs& a, Backend& be) {
  const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(a.cell) * H;
  if (a.cell == RnnCell::Lstm)  // the running c lives in out's last block, which ends as the last c
    be.copy(static_cast<T*>(a.out) + a.steps * B * H, a.c0, sizeof(T) * B * H);
  for (int64_t k = 0; k < a.steps; ++k) {
    int64_t t, tp;
    rnn_step(a, k, &t, &tp);
    GemmArgs g;
    g.trans_b = true, g.m = B, g.n = GH, g.k = H;
    g.a = rnn_prev_h<T>(a, tp), g.lda = H, g.b = a.w_hh, g.ldb = H, g.c = a.hh, g.ldc = GH, g.bias = a.b_hh;
    be.gemm(g);
    be.forward_cells(a, t, tp);
  }
}

// ones: (steps * batch) ones of T, for the GRU's b_hh gradient (column sums as a product).
template <class T, class Backend>
void rnn_backward_loop(const RnnArgs& a, const T* ones, Backend& be) {
  const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(a.cell) * H, T_ = a.steps;
  T* ghh = static_cast<T*>(a.cell == RnnCell::Gru ? a.grad_hh : a.grad_x_proj);
  be.zero(a.dh, sizeof(T) * B * H);
  if (a.cell == RnnCell::Lstm)
    be.copy(a.grad_c0, static_cast<const T*>(a.grad_out) + T_ * B * H, sizeof(T) * B * H);
  for (int64_t k = T_ - 1; k >= 0; --k) {
    int64_t t, tp;
    rnn_step(a, k, &t, &tp);
    be.copy(static_cast<T*>(a.h_prev) + t * B * H, rnn_prev_h<T>(a, tp), sizeof(T) * B * H);
    be.backward_cells(a, t, tp);
    GemmArgs g;  // dh += ghh[t] W_hh
    g.m = B, g.n = H, g.k = GH, g.beta = 1.0;
    g.a = ghh + t * B * GH, g.lda = GH, g.b = a.w_hh, g.ldb = H, g.c = a.dh, g.ldc = H;
    be.gemm(g);
  }
  be.copy(a.grad_h0, a.dh, sizeof(T) * B * H);
  GemmArgs w;  // grad W_hh = ghh^T h_prev over all steps
  w.trans_a = true, w.m = GH, w.n = H, w.k = T_ * B;
  w.a = ghh, w.lda = GH, w.b = a.h_prev, w.ldb = H, w.c = a.grad_w_hh, w.ldc = H;
  be.gemm(w);
  if (a.grad_b_hh) {  // the GRU's b_hh: the column sums of ghh
    GemmArgs s;
    s.m = 1, s.n = GH, s.k = T_ * B;
    s.a = ones, s.lda = T_ * B, s.b = ghh, s.ldb = GH, s.c = a.grad_b_hh, s.ldc = GH;
    be.gemm(s);
  }
}

PYDL_KERNELS_END
