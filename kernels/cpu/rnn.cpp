// The CPU backend of the recurrent time loop: products on the CPU GEMM, cells on their per-ISA
// loops (rnn_isa.cpp), the batch rows split over the threads for the whole loop.
#include "kernels/cpu/rnn.h"

#include <omp.h>
#include <string.h>

#include "kernels/common/rnn_loop.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/team.h"

PYDL_ISA_DECLARE(void rnn_cells_forward_kernel(DType, const RnnArgs&, int64_t, int64_t))
PYDL_ISA_DECLARE(void rnn_cells_backward_kernel(DType, const RnnArgs&, int64_t, int64_t))

namespace pydl::cpu {

namespace {

template <class T>
struct CpuRnn {
  DType dtype;

  void gemm(const GemmArgs& g) const { cpu::gemm(dtype, g); }
  void copy(void* dst, const void* src, size_t bytes) const { memcpy(dst, src, bytes); }
  void zero(void* dst, size_t bytes) const { memset(dst, 0, bytes); }

  void forward_cells(const RnnArgs& a, int64_t t, int64_t tp) const {
    PYDL_ISA_CALL(rnn_cells_forward_kernel, dtype, a, t, tp);
  }
  void backward_cells(const RnnArgs& a, int64_t t, int64_t tp) const {
    PYDL_ISA_CALL(rnn_cells_backward_kernel, dtype, a, t, tp);
  }
};

// Runs loop(args) over the batch rows: one contiguous slice of rows per thread for the whole loop
// (the rows never meet, so no thread waits on another), or all rows on this thread, whose
// products and cells then use the threads themselves, when the batch is too small to split.
template <class Loop>
void by_row_slices(const RnnArgs& args, Loop loop) {
  const int team = omp_get_max_threads();
  const int64_t work = args.steps * args.batch * args.hidden * args.hidden;
  if (team < 2 || omp_in_parallel() || args.batch < 2 * team || work < (int64_t(1) << 20)) {
    loop(args);
    return;
  }
  Region region;
#pragma omp parallel
  {
    RegionMember member(region);
    const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
    RnnArgs slice = args;
    slice.row0 = args.batch * id / nt;
    slice.rows = args.batch * (id + 1) / nt - slice.row0;
    if (slice.rows > 0) loop(slice);
  }
}

}  // namespace

void rnn_forward(DType dtype, const RnnArgs& args) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    CpuRnn<T> be{dtype};
    by_row_slices(args, [&](const RnnArgs& a) { kernels::rnn_forward_loop<T>(a, be); });
  });
}

void rnn_backward(DType dtype, const RnnArgs& args, const void* ones) {
  PYDL_DISPATCH_FLOAT(dtype, T, {
    CpuRnn<T> be{dtype};
    by_row_slices(args, [&](const RnnArgs& a) { kernels::rnn_backward_loop<T>(a, be); });
    kernels::rnn_parameter_grads<T>(args, static_cast<const T*>(ones), be);
  });
}

}  // namespace pydl::cpu
