// matmul with torch.matmul's semantics (1-d promotion, broadcast batch dims),
// mapped onto the one GEMM entry point: transposed operands are passed as
// transpose flags and broadcast batch dims as stride 0, never copied.
// float16/bfloat16 run on CUDA's tensor cores (float32 accumulation, output in the input
// dtype); on the CPU they are converted to float32, multiplied, and rounded back.
#include <atomic>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/gemm.h"

namespace pydl {

namespace {

// How a (batch..., rows, cols) array is handed to GEMM without a copy, if it can be.
struct MatrixLayout {
  bool ok = false, trans = false;
  int64_t ld = 0, batch_stride = 0;
};

MatrixLayout layout_of(const Array& x) {
  MatrixLayout l;
  const int64_t nd = x.ndim(), rows = x.shape()[nd - 2], cols = x.shape()[nd - 1];
  const int64_t rs = x.strides()[nd - 2], cs = x.strides()[nd - 1];
  if (cs == 1 || cols == 1) {
    l.ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    l.ok = l.ld >= std::max<int64_t>(cols, 1);
  }
  if (!l.ok && (rs == 1 || rows == 1)) {
    l.trans = true;
    l.ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    l.ok = l.ld >= std::max<int64_t>(rows, 1);
  }
  // The batch dims must step by one uniform stride (0 when broadcast).
  int64_t batch = 1;
  for (int64_t d = 0; d < nd - 2; ++d) batch *= x.shape()[d];
  if (batch > 1) {
    int64_t stride = -1, expect = -1;
    for (int64_t d = nd - 3; d >= 0 && l.ok; --d) {
      if (x.shape()[d] == 1) continue;
      if (stride < 0) {
        stride = x.strides()[d];
        expect = stride * x.shape()[d];
      } else {
        l.ok = x.strides()[d] == expect;
        expect *= x.shape()[d];
      }
    }
    l.batch_stride = stride < 0 ? 0 : stride;
  }
  return l;
}

std::atomic<bool> g_allow_tf32{false};

}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }

Array matmul(const Array& a_in, const Array& b_in, const Array* bias, UnaryOp epilogue) {
  check_same_device(a_in, b_in, "matmul");
  if (a_in.ndim() == 0 || b_in.ndim() == 0)
    fail<ValueError>("matmul: both arguments need at least 1 dimension, got shapes ", shape_str(a_in.shape()),
                     " and ", shape_str(b_in.shape()));
  const DType dt = a_in.dtype();
  if (dt != b_in.dtype() || !(is_floating(dt) || is_half(dt)))
    fail<TypeError>("matmul: expected two tensors of one floating dtype (float32, float64, float16 or bfloat16), "
                    "got ", dtype_name(dt), " and ", dtype_name(b_in.dtype()));
  if (!gemm_epilogue_supported(epilogue)) fail<ValueError>("linear: the fused epilogue must be none, ReLU or GELU");
  if (bias) {
    check_same_device(a_in, *bias, "linear");
    if (bias->dtype() != dt)
      fail<ValueError>("linear: expected a ", dtype_name(dt), " bias, got ", dtype_name(bias->dtype()));
  }
  if (is_half(dt) && !on_cuda(a_in)) {  // the CPU has no half kernels: through float32
    Array bias32 = bias ? bias->astype(DType::Float32) : Array();
    return matmul(a_in.astype(DType::Float32), b_in.astype(DType::Float32), bias ? &bias32 : nullptr, epilogue)
        .astype(dt);
  }
  // The operands as (batch..., rows, cols) over the broadcast batch, through pointers: a new array only
  // where a shape changes (copying the arrays and expanding them to their own shapes took a third of
  // a small product's fixed cost, in allocations of their shapes).
  const bool a_vec = a_in.ndim() == 1, b_vec = b_in.ndim() == 1;
  Array a_own = a_vec ? a_in.unsqueeze(0) : Array(), b_own = b_vec ? b_in.unsqueeze(1) : Array();
  const Array* a = a_vec ? &a_own : &a_in;
  const Array* b = b_vec ? &b_own : &b_in;
  const int64_t m = a->shape()[a->ndim() - 2], k = a->shape()[a->ndim() - 1];
  const int64_t k2 = b->shape()[b->ndim() - 2], n = b->shape()[b->ndim() - 1];
  if (k != k2)
    fail<ValueError>("matmul: shapes ", shape_str(a_in.shape()), " and ", shape_str(b_in.shape()),
                     " cannot be multiplied (", k, " != ", k2, ")");
  const Shape a_batch(a->shape().begin(), a->shape().end() - 2), b_batch(b->shape().begin(), b->shape().end() - 2);
  const Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  Shape a_full = batch, b_full = batch, out_shape = batch;
  a_full.insert(a_full.end(), {m, k});
  b_full.insert(b_full.end(), {k, n});
  out_shape.insert(out_shape.end(), {m, n});
  auto as_matrices = [](const Array*& x, Array& own, const Shape& full) {
    if (x->shape() != full) {
      own = x->expand(full);
      x = &own;
    }
    MatrixLayout l = layout_of(*x);
    if (!l.ok) {
      own = x->contiguous();
      x = &own;
      l = layout_of(own);
    }
    return l;
  };
  const MatrixLayout la = as_matrices(a, a_own, a_full), lb = as_matrices(b, b_own, b_full);

  Array bias_c;
  if (bias) {
    check_same_device(a_in, *bias, "linear");
    if (bias->dtype() != a->dtype() || bias->ndim() != 1 || bias->shape()[0] != n)
      fail<ValueError>("linear: expected a ", dtype_name(a->dtype()), " bias of shape (", n, ",), got ",
                       dtype_name(bias->dtype()), " ", shape_str(bias->shape()));
    bias_c = bias->contiguous();
  }
  Array out = Array::empty(out_shape, a->dtype(), a->device());
  GemmArgs g;
  g.bias = bias ? bias_c.data() : nullptr;
  g.epilogue = epilogue;
  g.allow_tf32 = allow_tf32();
  g.trans_a = la.trans;
  g.trans_b = lb.trans;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a->data();
  g.lda = la.ld;
  g.b = b->data();
  g.ldb = lb.ld;
  g.c = out.data();
  g.ldc = std::max<int64_t>(n, 1);
  g.batch = shape_numel(batch);
  g.stride_a = la.batch_stride;
  g.stride_b = lb.batch_stride;
  g.stride_c = m * n;
  if (g.batch > 0) PYDL_KERNEL(out.device(), gemm, a->dtype(), g);

  if (a_vec && b_vec) return out.reshape(Shape(batch));
  if (a_vec) return out.squeeze({-2});
  if (b_vec) return out.squeeze({-1});
  return out;
}

Array linear(const Array& x, const Array& weight, const Array* bias, UnaryOp epilogue) {
  if (weight.ndim() != 2)
    fail<ValueError>("linear: expected a 2-d weight (out_features, in_features), got shape ", shape_str(weight.shape()));
  if (x.ndim() == 0 || x.shape().back() != weight.shape()[1])
    fail<ValueError>("linear: input has ", x.ndim() ? x.shape().back() : 0, " features (shape ",
                     shape_str(x.shape()), "), weight expects ", weight.shape()[1]);
  return matmul(x, weight.transpose(0, 1), bias, epilogue);
}

}  // namespace pydl
