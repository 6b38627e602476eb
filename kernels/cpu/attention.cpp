// Fused attention on the CPU: the heads are split over the threads, each head's products run on
// its thread's GEMM and its softmax on the thread's own scores, so nothing waits at a barrier
// inside a head. With fewer heads than threads, the heads run in turn and their products and
// softmax use the threads instead.
#include "kernels/cpu/attention.h"

#include <limits>

#include "kernels/common/gemm_args.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/softmax.h"

namespace pydl::cpu {

using kernels::ScratchBuffer;

namespace {

// C (m x n) = alpha op(A) op(B), row-major with the given leading dimensions.
void product(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const void* a,
             int64_t lda, const void* b, int64_t ldb, void* c, int64_t ldc) {
  GemmArgs g;
  g.trans_a = trans_a, g.trans_b = trans_b, g.m = m, g.n = n, g.k = k, g.alpha = alpha;
  g.a = a, g.lda = lda, g.b = b, g.ldb = ldb, g.c = c, g.ldc = ldc;
  gemm(dtype, g);
}

template <class T>
const T* at(const void* p, int64_t offset) {
  return static_cast<const T*>(p) + offset;
}
template <class T>
T* at(void* p, int64_t offset) {
  return static_cast<T*>(p) + offset;
}

// Runs head(h, scratch) for every head, whole heads per thread when there are enough of them.
template <class T, class Head>
void for_heads(const AttentionShape& s, int64_t scratch_values, Head head) {
  const int team = omp_get_max_threads();
  if (s.heads < team || omp_in_parallel()) {
    ScratchBuffer scratch;
    for (int64_t h = 0; h < s.heads; ++h) head(h, scratch.get<T>(scratch_values));
    return;
  }
  cpu::Region region;
#pragma omp parallel
  {
    cpu::RegionMember member(region);
    ScratchBuffer scratch;
    T* buffer = scratch.get<T>(scratch_values);
#pragma omp for schedule(static)
    for (int64_t h = 0; h < s.heads; ++h) head(h, buffer);
  }
}

template <class T>
void mask_future(T* scores, int64_t L, int64_t S) {
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = i + 1; j < S; ++j) scores[i * S + j] = -std::numeric_limits<T>::infinity();
}

template <class T>
void forward(DType dt, const AttentionShape& s, const void* q, const void* k, const void* v, void* out,
             void* weights) {
  const int64_t L = s.L, S = s.S, E = s.E, Ev = s.Ev;
  for_heads<T>(s, L * S, [&](int64_t h, T* scores) {
    T* p = at<T>(weights, h * L * S);
    product(dt, false, true, L, S, E, s.scale, at<T>(q, h * L * E), E, at<T>(k, h * S * E), E, scores, S);
    if (s.causal) mask_future(scores, L, S);
    softmax(dt, false, scores, p, L, S, 1);
    product(dt, false, false, L, Ev, S, 1.0, p, S, at<T>(v, h * S * Ev), Ev, at<T>(out, h * L * Ev), Ev);
  });
}

// dv = p^T g; dp = g v^T; ds = p (dp - rowsum(dp p)); dq = scale ds k; dk = scale ds^T q.
template <class T>
void backward(DType dt, const AttentionShape& s, const void* q, const void* k, const void* v, const void* weights,
              const void* grad_out, void* dq, void* dk, void* dv) {
  const int64_t L = s.L, S = s.S, E = s.E, Ev = s.Ev;
  for_heads<T>(s, 2 * L * S, [&](int64_t h, T* scratch) {
    T *dp = scratch, *ds = scratch + L * S;
    const T* p = at<T>(weights, h * L * S);
    const T* g = at<T>(grad_out, h * L * Ev);
    product(dt, true, false, S, Ev, L, 1.0, p, S, g, Ev, at<T>(dv, h * S * Ev), Ev);
    product(dt, false, true, L, S, Ev, 1.0, g, Ev, at<T>(v, h * S * Ev), Ev, dp, S);
    softmax_backward(dt, false, p, dp, ds, L, S, 1);
    product(dt, false, false, L, E, S, s.scale, ds, S, at<T>(k, h * S * E), E, at<T>(dq, h * L * E), E);
    product(dt, true, false, S, E, L, s.scale, ds, S, at<T>(q, h * L * E), E, at<T>(dk, h * S * E), E);
  });
}

}  // namespace

void attention_forward(DType dtype, const AttentionShape& shape, const void* q, const void* k, const void* v,
                       void* out, void* weights) {
  PYDL_DISPATCH_FLOAT(dtype, T, forward<T>(dtype, shape, q, k, v, out, weights));
}

void attention_backward(DType dtype, const AttentionShape& shape, const void* q, const void* k, const void* v,
                        const void* weights, const void* grad_out, void* dq, void* dk, void* dv) {
  PYDL_DISPATCH_FLOAT(dtype, T, backward<T>(dtype, shape, q, k, v, weights, grad_out, dq, dk, dv));
}

}  // namespace pydl::cpu
