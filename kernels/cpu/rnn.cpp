// The CPU backend of the recurrent time loop: products on the CPU GEMM, cells row by row.
#include "kernels/cpu/rnn.h"

#include <string.h>

#include "kernels/common/rnn_loop.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

namespace {

using kernels::rnn_cell_backward;
using kernels::rnn_cell_forward;

template <class T>
struct CpuRnn {
  DType dtype;

  void gemm(const GemmArgs& g) const { cpu::gemm(dtype, g); }
  void copy(void* dst, const void* src, size_t bytes) const { memcpy(dst, src, bytes); }
  void zero(void* dst, size_t bytes) const { memset(dst, 0, bytes); }

  void forward_cells(const RnnArgs& a, int64_t t, int64_t tp) const {
    const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(a.cell) * H, S = rnn_saved(a.cell) * H;
    const T* hp = kernels::rnn_prev_h<T>(a, tp);
    const bool lstm = a.cell == RnnCell::Lstm;
    kernels::parallel_ranges(B, H * 16, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const T* xp = static_cast<const T*>(a.x_proj) + (t * B + b) * GH;
        const T* hh = static_cast<const T*>(a.hh) + b * GH;
        T* h = static_cast<T*>(a.out) + (t * B + b) * H;
        T* c = lstm ? static_cast<T*>(a.out) + (a.steps * B + b) * H : nullptr;  // the LSTM's running c
        T* s = S ? static_cast<T*>(a.saved) + (t * B + b) * S : nullptr;
        const T* hpr = hp + b * H;
        for (int64_t j = 0; j < H; ++j)
          rnn_cell_forward(a.cell, H, j, xp, hh, hpr[j], lstm ? c[j] : T(0), h + j, lstm ? c + j : nullptr, s);
      }
    });
  }

  void backward_cells(const RnnArgs& a, int64_t t, int64_t tp) const {
    const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(a.cell) * H, S = rnn_saved(a.cell) * H;
    const T* hp = kernels::rnn_prev_h<T>(a, tp);
    const bool lstm = a.cell == RnnCell::Lstm, gru = a.cell == RnnCell::Gru;
    kernels::parallel_ranges(B, H * 16, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const T* h = static_cast<const T*>(a.out) + (t * B + b) * H;
        const T* go = static_cast<const T*>(a.grad_out) + (t * B + b) * H;
        const T* s = S ? static_cast<const T*>(a.saved) + (t * B + b) * S : nullptr;
        const T* cprev = !lstm ? nullptr
                         : tp < 0 ? static_cast<const T*>(a.c0) + b * H
                                  : static_cast<const T*>(a.saved) + (tp * B + b) * S + 4 * H;
        T* gx = static_cast<T*>(a.grad_x_proj) + (t * B + b) * GH;
        T* ghh = gru ? static_cast<T*>(a.grad_hh) + (t * B + b) * GH : gx;
        T* dh = static_cast<T*>(a.dh) + b * H;
        T* dc = lstm ? static_cast<T*>(a.grad_c0) + b * H : nullptr;
        T unused = 0;
        for (int64_t j = 0; j < H; ++j)
          dh[j] = rnn_cell_backward(a.cell, H, j, h[j], hp[b * H + j], lstm ? cprev[j] : T(0), s, go[j] + dh[j],
                                    lstm ? dc + j : &unused, gx, ghh);
      }
    });
  }
};

}  // namespace

void rnn_forward(DType dtype, const RnnArgs& args) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    CpuRnn<T> be{dtype};
    kernels::rnn_forward_loop<T>(args, be);
  });
}

void rnn_backward(DType dtype, const RnnArgs& args, const void* ones) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    CpuRnn<T> be{dtype};
    kernels::rnn_backward_loop<T>(args, static_cast<const T*>(ones), be);
  });
}

}  // namespace pydl::cpu
