// Scans on CUDA; see scan.h. Neighbouring threads take neighbouring columns of one row
// (inner is the fastest axis), so each step of the walk reads and writes coalesced.
#include "kernels/cuda/scan.h"

#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

using kernels::ScanAcc;

template <class T, ScanOp op>
__global__ void scan_kernel(const T* in, T* out, int64_t outer, int64_t r, int64_t inner, bool reverse,
                            bool exclusive) {
  using A = ScanAcc<T>;
  for (int64_t col = global_thread(); col < outer * inner; col += grid_threads()) {
    const int64_t o = col / inner, j = col % inner;
    A acc = kernels::scan_identity<A>(op);
    for (int64_t step = 0; step < r; ++step) {
      const int64_t at = (o * r + (reverse ? r - 1 - step : step)) * inner + j;
      const A next = kernels::scan_step<A>(op, acc, A(in[at]));
      out[at] = static_cast<T>(exclusive ? acc : next);
      acc = next;
    }
  }
}

}  // namespace

void scan(ScanOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t r, int64_t inner, bool reverse,
          bool exclusive, void* stream, LaunchCheck check) {
  kernels::with_scan(op, [&](auto tag) {
    PYDL_DISPATCH_NUMERIC(dtype, T, {
      scan_kernel<T, decltype(tag)::value><<<grid_for(outer * inner), kBlock, 0, as_stream(stream)>>>(
          static_cast<const T*>(in), static_cast<T*>(out), outer, r, inner, reverse, exclusive);
      check("pydl_scan");
    });
  });
}

}  // namespace pydl::cuda_kernels
