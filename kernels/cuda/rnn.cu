// The CUDA backend of the recurrent time loop: products on the CUDA GEMM, one thread per cell.
#include "kernels/cuda/rnn.h"

#include "kernels/common/rnn_loop.h"
#include "kernels/cuda/device_utils.h"
#include "kernels/cuda/gemm.h"

namespace pydl::cuda_kernels {

namespace {

using kernels::rnn_cell_backward;
using kernels::rnn_active;
using kernels::rnn_cell_forward;

template <class T>
__global__ void __launch_bounds__(kBlock) rnn_forward_cells(RnnArgs a, int64_t t, const T* hp) {
  const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(a.cell) * H, S = rnn_saved(a.cell) * H;
  const bool lstm = a.cell == RnnCell::Lstm;
  for (int64_t q = global_thread(); q < B * H; q += grid_threads()) {
    const int64_t b = q / H, j = q - b * H;  // the CUDA backend always runs all rows
    const T* xp = static_cast<const T*>(a.x_proj) + (t * B + b) * GH;
    const T* hh = static_cast<const T*>(a.hh) + b * GH;
    T* h = static_cast<T*>(a.out) + (t * B + b) * H + j;
    T* c = lstm ? static_cast<T*>(a.out) + (a.steps * B + b) * H + j : nullptr;
    T* s = S ? static_cast<T*>(a.saved) + (t * B + b) * S : nullptr;
    rnn_cell_forward(a.cell, H, j, xp, hh, hp[q], lstm ? *c : T(0), h, c, s, rnn_active(a, t, b));
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) rnn_backward_cells(RnnArgs a, int64_t t, int64_t tp, const T* hp) {
  const int64_t B = a.batch, H = a.hidden, GH = rnn_gates(a.cell) * H, S = rnn_saved(a.cell) * H;
  const bool lstm = a.cell == RnnCell::Lstm, gru = a.cell == RnnCell::Gru;
  for (int64_t q = global_thread(); q < B * H; q += grid_threads()) {
    const int64_t b = q / H, j = q - b * H;
    const T* s = S ? static_cast<const T*>(a.saved) + (t * B + b) * S : nullptr;
    T cp = T(0);
    if (lstm)
      cp = tp < 0 ? static_cast<const T*>(a.c0)[q] : static_cast<const T*>(a.saved)[(tp * B + b) * S + 4 * H + j];
    T* gx = static_cast<T*>(a.grad_x_proj) + (t * B + b) * GH;
    T* ghh = gru ? static_cast<T*>(a.grad_hh) + (t * B + b) * GH : gx;
    T* dh = static_cast<T*>(a.dh) + q;
    T unused = 0;
    const T go = static_cast<const T*>(a.grad_out)[t * B * H + q];
    *dh = rnn_cell_backward(a.cell, H, j, static_cast<const T*>(a.out)[t * B * H + q], hp[q], cp, s, go + *dh,
                            lstm ? static_cast<T*>(a.grad_c0) + q : &unused, gx, ghh, rnn_active(a, t, b));
  }
}

template <class T>
struct CudaRnn {
  DType dtype;
  cudaStream_t stream;
  LaunchCheck check;

  void gemm(const GemmArgs& g) const { cuda_kernels::gemm(dtype, g, stream, check); }
  void copy(void* dst, const void* src, size_t bytes) const {
    cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream);
    check("pydl_rnn_copy");
  }
  void zero(void* dst, size_t bytes) const {
    cudaMemsetAsync(dst, 0, bytes, stream);
    check("pydl_rnn_zero");
  }
  void forward_cells(const RnnArgs& a, int64_t t, int64_t tp) const {
    rnn_forward_cells<T><<<grid_for(a.batch * a.hidden), kBlock, 0, stream>>>(a, t, kernels::rnn_prev_h<T>(a, tp));
    check("pydl_rnn_forward_cells");
  }
  void backward_cells(const RnnArgs& a, int64_t t, int64_t tp) const {
    rnn_backward_cells<T><<<grid_for(a.batch * a.hidden), kBlock, 0, stream>>>(a, t, tp,
                                                                                kernels::rnn_prev_h<T>(a, tp));
    check("pydl_rnn_backward_cells");
  }
};

}  // namespace

void rnn_forward(DType dtype, const RnnArgs& args, void* stream, LaunchCheck check) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    CudaRnn<T> be{dtype, as_stream(stream), check};
    kernels::rnn_forward_loop<T>(args, be);
  });
}

void rnn_backward(DType dtype, const RnnArgs& args, const void* ones, void* stream, LaunchCheck check) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    CudaRnn<T> be{dtype, as_stream(stream), check};
    kernels::rnn_backward_loop<T>(args, be);
    kernels::rnn_parameter_grads<T>(args, static_cast<const T*>(ones), be);
  });
}

}  // namespace pydl::cuda_kernels
