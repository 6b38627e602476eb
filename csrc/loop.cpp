#include "csrc/loop.h"

#include "csrc/errors.h"

namespace pydl {

LoopOperand operand(const Array& a) { return LoopOperand{a.data(), &a.shape(), &a.strides(), a.itemsize()}; }

StridedLoop make_loop(const Shape& shape, std::initializer_list<LoopOperand> operands) {
  const int nd = static_cast<int>(shape.size());
  if (nd > kMaxDims) fail<ValueError>("tensors with more than ", kMaxDims, " dimensions are not supported, got ", nd);
  StridedLoop L;
  L.nops = static_cast<int>(operands.size());
  if (shape_numel(shape) == 0) {  // nothing to walk: keep a zero-size dim so numel() is 0
    L.ndim = 1;
    L.shape[0] = 0;
    int op = 0;
    for (const LoopOperand& o : operands) {
      L.data[op] = o.data;
      L.strides[op++][0] = 0;
    }
    return L;
  }
  int op = 0;
  for (const LoopOperand& o : operands) {
    L.data[op] = o.data;
    const int on = static_cast<int>(o.shape->size());
    for (int d = 0; d < nd; ++d) {
      const int od = d - (nd - on);
      const bool broadcast = od < 0 || (*o.shape)[od] != shape[d];
      L.strides[op][d] = broadcast ? 0 : (*o.strides)[od] * static_cast<int64_t>(o.itemsize);
    }
    ++op;
  }
  // Coalesce: drop size-1 dims, merge d into the dim before it when every operand
  // steps through them as one.
  L.ndim = 0;
  for (int d = 0; d < nd; ++d) {
    if (shape[d] == 1) continue;
    if (L.ndim > 0) {
      const int prev = L.ndim - 1;
      bool merge = true;
      for (int k = 0; k < L.nops && merge; ++k) {
        int64_t step;  // an overflowing product (a dim of stride 0 elsewhere) never matches
        merge = !__builtin_mul_overflow(L.strides[k][d], shape[d], &step) && L.strides[k][prev] == step;
      }
      if (merge) {
        L.shape[prev] *= shape[d];
        for (int k = 0; k < L.nops; ++k) L.strides[k][prev] = L.strides[k][d];
        continue;
      }
    }
    L.shape[L.ndim] = shape[d];
    for (int k = 0; k < L.nops; ++k) L.strides[k][L.ndim] = L.strides[k][d];
    ++L.ndim;
  }
  return L;
}

StridedLoop make_loop(const Array& out, std::initializer_list<const Array*> inputs) {
  LoopOperand ops[kMaxOperands];
  int n = 0;
  ops[n++] = operand(out);
  for (const Array* a : inputs) ops[n++] = operand(*a);
  switch (n) {
    case 1: return make_loop(out.shape(), {ops[0]});
    case 2: return make_loop(out.shape(), {ops[0], ops[1]});
    case 3: return make_loop(out.shape(), {ops[0], ops[1], ops[2]});
    default: return make_loop(out.shape(), {ops[0], ops[1], ops[2], ops[3]});
  }
}

}  // namespace pydl
