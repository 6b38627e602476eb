// Scaled dot-product attention on the CPU, fused per head: a head's scores (L x S) stay in the
// thread's cache between its two products and the softmax, forward and backward, where the
// op-by-op form streams every head's scores through memory three times each way.
#pragma once
#include <stdint.h>

#include "kernels/common/dtype.h"

namespace pydl::cpu {

// heads independent heads of contiguous q (L, E), k (S, E), v (S, Ev); causal masks key j > query i.
struct AttentionShape {
  int64_t heads = 0, L = 0, S = 0, E = 0, Ev = 0;
  double scale = 1.0;
  bool causal = false;
};

// out (heads, L, Ev) = weights @ v with weights (heads, L, S) = softmax(scale q k^T), kept for the backward.
void attention_forward(DType dtype, const AttentionShape& shape, const void* q, const void* k, const void* v,
                       void* out, void* weights);
// dq, dk, dv from the forward's weights and the output's gradient.
void attention_backward(DType dtype, const AttentionShape& shape, const void* q, const void* k, const void* v,
                        const void* weights, const void* grad_out, void* dq, void* dk, void* dv);

}  // namespace pydl::cpu
