// Fused scaled dot-product attention (kernels/cpu/attention.h): validation and the heads' layout.
// CPU only; on CUDA, F.scaled_dot_product_attention runs as batched matmuls and the softmax.
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "kernels/cpu/attention.h"

namespace pydl {

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

// The heads' shape, after checking the operands: one float dtype, on the CPU, the same leading dims.
cpu::AttentionShape heads_of(const Array& q, const Array& k, const Array& v, double scale, bool causal) {
  if (q.ndim() < 2 || k.ndim() != q.ndim() || v.ndim() != q.ndim())
    fail(kOp, ": expected query, key and value of the same rank (at least 2), got ", shape_str(q.shape()), ", ",
         shape_str(k.shape()), " and ", shape_str(v.shape()));
  const int64_t n = q.ndim();
  bool same_lead = true;
  for (int64_t d = 0; d < n - 2; ++d) same_lead &= q.shape()[d] == k.shape()[d] && q.shape()[d] == v.shape()[d];
  if (!same_lead || k.shape()[n - 1] != q.shape()[n - 1] || v.shape()[n - 2] != k.shape()[n - 2])
    fail(kOp, ": expected query (..., L, E), key (..., S, E) and value (..., S, Ev) with the same leading dims, got ",
         shape_str(q.shape()), ", ", shape_str(k.shape()), " and ", shape_str(v.shape()));
  if (k.dtype() != q.dtype() || v.dtype() != q.dtype())
    fail<TypeError>(kOp, ": expected query, key and value of one dtype, got ", dtype_name(q.dtype()), ", ",
                    dtype_name(k.dtype()), " and ", dtype_name(v.dtype()));
  if (q.dtype() != DType::Float32 && q.dtype() != DType::Float64)
    fail<TypeError>(kOp, ": the fused kernel takes float32 or float64, got ", dtype_name(q.dtype()));
  if (!q.device().is_cpu() || !k.device().is_cpu() || !v.device().is_cpu())
    fail(kOp, ": the fused kernel runs on the CPU only");
  cpu::AttentionShape s;
  s.heads = 1;
  for (int64_t d = 0; d < n - 2; ++d) s.heads *= q.shape()[d];
  s.L = q.shape()[n - 2], s.S = k.shape()[n - 2], s.E = q.shape()[n - 1], s.Ev = v.shape()[n - 1];
  s.scale = scale, s.causal = causal;
  return s;
}

}  // namespace

std::tuple<Array, Array> attention(const Array& q, const Array& k, const Array& v, double scale, bool causal) {
  const cpu::AttentionShape s = heads_of(q, k, v, scale, causal);
  Array out = Array::empty(with_last_two(q.shape(), s.L, s.Ev), q.dtype(), q.device());
  Array weights = Array::empty(with_last_two(q.shape(), s.L, s.S), q.dtype(), q.device());
  if (s.heads * s.L * s.S == 0) {
    out.fill(0.0);  // no keys: the empty sum, as the op-by-op form gives
    weights.fill(0.0);
    return {out, weights};
  }
  Array qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  cpu::attention_forward(q.dtype(), s, qc.data(), kc.data(), vc.data(), out.data(), weights.data());
  return {out, weights};
}

std::tuple<Array, Array, Array> attention_backward(const Array& q, const Array& k, const Array& v,
                                                   const Array& weights, const Array& grad, double scale) {
  const cpu::AttentionShape s = heads_of(q, k, v, scale, false);
  if (weights.shape() != with_last_two(q.shape(), s.L, s.S) || grad.shape() != with_last_two(q.shape(), s.L, s.Ev))
    fail(kOp, "_backward: expected weights ", shape_str(with_last_two(q.shape(), s.L, s.S)), " and grad ",
         shape_str(with_last_two(q.shape(), s.L, s.Ev)), ", got ", shape_str(weights.shape()), " and ",
         shape_str(grad.shape()));
  Array dq = Array::empty(q.shape(), q.dtype(), q.device());
  Array dk = Array::empty(k.shape(), k.dtype(), k.device());
  Array dv = Array::empty(v.shape(), v.dtype(), v.device());
  if (s.heads * s.L * s.S == 0) {
    for (Array* d : {&dq, &dk, &dv}) d->fill(0.0);
    return {dq, dk, dv};
  }
  Array qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  Array wc = weights.astype(q.dtype()).contiguous(), gc = grad.astype(q.dtype()).contiguous();
  cpu::attention_backward(q.dtype(), s, qc.data(), kc.data(), vc.data(), wc.data(), gc.data(), dq.data(), dk.data(),
                          dv.data());
  return {dq, dk, dv};
}

}  // namespace pydl
