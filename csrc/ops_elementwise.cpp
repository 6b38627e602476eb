// Elementwise ops, the pointwise (unary) and binary families: dtype promotion,
// broadcasting, dispatch to the one strided engine of each backend.
//
// Promotion (kept simple, documented in the README):
//   tensor op tensor: the larger of the two in bool < uint8 < int64 < float32 < float64;
//   tensor op Python scalar: the tensor's dtype, except that a float scalar makes an
//     integer or bool tensor float32 and an int scalar makes a bool tensor int64;
//   arithmetic on bool computes in int64 (maximum and minimum keep bool); div on integers
//   computes in float32; comparisons return bool; bitwise ops take integers and bool only,
//   shifts integers only;
//   a unary op keeps its input's dtype, except that integer inputs are computed in float32
//     by the ops of the Floating domain and refused by those of the FloatOnly domain.
#include <cstring>
#include <limits>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/loop.h"
#include "csrc/ops.h"
#include "csrc/promote.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/elementwise.h"

namespace pydl {

namespace {

// Device dispatch. `out` is the array the loop writes (it names the device). On CUDA a
// Python scalar operand (operand `scalar_index` of the loop, pointing to host bytes) is
// passed to the kernel by value.
void run_unary(UnaryOp op, DType dt, const Array& out, const StridedLoop& loop, double p0, double p1) {
  PYDL_KERNEL(out.device(), unary, op, dt, loop, p0, p1);
}

void run_unary_backward(UnaryOp op, DType dt, const Array& out, const StridedLoop& loop, double p0, double p1) {
  PYDL_KERNEL(out.device(), unary_backward, op, dt, loop, p0, p1);
}

void run_binary(BinaryOp op, DType dt, const Array& out, const StridedLoop& loop, int scalar_index = 0) {
  if (on_cuda(out)) {
    cuda_kernels::HostScalar scalar;
    if (scalar_index > 0) {
      scalar.index = scalar_index;
      std::memcpy(scalar.bytes, loop.data[scalar_index], itemsize(dt));
    }
    PYDL_CUDA_LAUNCH(out.device(), cuda_kernels::binary(op, dt, loop, scalar, stream, check));
  } else {
    cpu::binary(op, dt, loop);
  }
}

}  // namespace

DType promote(DType a, DType b, const char* op) {
  if (a != b && (is_half(a) || is_half(b)))  // halves sit outside the promotion order
    fail<TypeError>(op, ": cannot mix ", dtype_name(a), " and ", dtype_name(b),
                    " tensors; convert one with .to() first");
  return a > b ? a : b;
}

// The dtype the kernel computes in, given the promoted input dtype.
static DType compute_dtype(BinaryOp op, DType d) {
  const BinaryKind kind = binary_kind(op);
  if ((kind == BinaryKind::Bitwise || kind == BinaryKind::Shift) && is_floating(d))
    fail<TypeError>(name_of(op), ": expected integer", kind == BinaryKind::Bitwise ? " or bool" : "",
                    " tensors, got ", dtype_name(d));
  if (kind == BinaryKind::Shift && d == DType::Bool)
    fail<TypeError>(name_of(op), ": expected integer tensors, got bool");
  if (kind != BinaryKind::Arith) return d;
  if (d == DType::Bool) d = DType::Int64;
  if (op == BinaryOp::Div && !is_floating(d)) d = DType::Float32;
  return d;
}

Array unary(UnaryOp op, const Array& x, double p0, double p1) {
  const char* name = name_of(op);
  reject_half(x, name);
  DType dt = x.dtype();
  if (!is_floating(dt)) {
    if (unary_domain(op) == UnaryDomain::FloatOnly) check_float(x, name);
    if (unary_domain(op) == UnaryDomain::Floating) dt = DType::Float32;
    if (dt == DType::Bool) fail<TypeError>(name, ": not supported for bool tensors");
  }
  Array in = x.astype(dt);
  Array out = Array::empty(x.shape(), dt, x.device());
  run_unary(op, dt, out, make_loop(out, {&in}), p0, p1);
  return out;
}

Array unary_backward(UnaryOp op, const Array& grad, const Array& saved, double p0, double p1) {
  const char* name = name_of(op);
  reject_half(saved, name);
  check_float(saved, name, grad_from_output(op) ? "output" : "input");
  check_pair(grad, saved, name, "grad", grad_from_output(op) ? "output" : "input");
  Array dx = Array::empty(saved.shape(), saved.dtype(), saved.device());
  run_unary_backward(op, saved.dtype(), dx, make_loop(dx, {&grad, &saved}), p0, p1);
  return dx;
}

Array binary(BinaryOp op, const Array& a, const Array& b) {
  const char* name = name_of(op);
  check_same_device(a, b, name);
  reject_half(a, name);
  reject_half(b, name);
  const DType dt = compute_dtype(op, promote(a.dtype(), b.dtype(), name));
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Array ac = a.astype(dt), bc = b.astype(dt);
  Array out = Array::empty(shape, is_comparison(op) ? DType::Bool : dt, a.device());
  run_binary(op, dt, out, make_loop(out, {&ac, &bc}));
  return out;
}

// A Python scalar as a 0-d operand of dtype `dt`, living on the stack. An integer type must
// hold it (as PyTorch, which refuses `int32_tensor + 2**40`): the conversion would be undefined.
struct ScalarOperand {
  alignas(8) char bytes[8];
  Shape none;
  ScalarOperand(double s, DType dt, const char* op) {
    PYDL_DISPATCH_ALL(dt, T, {
      using Limits = std::numeric_limits<T>;
      if (std::is_integral<T>::value && !std::is_same<T, bool>::value &&
          !(s >= double(Limits::lowest()) && s < double(Limits::max()) + 1.0))
        fail<ValueError>(op, ": the scalar ", s, " does not fit in ", dtype_name(dt));
      *reinterpret_cast<T*>(bytes) = static_cast<T>(s);
    });
  }
  LoopOperand operand(DType dt) { return LoopOperand{bytes, &none, &none, itemsize(dt)}; }
};

static DType scalar_dtype(DType tensor, bool is_float) {
  if (is_float && !is_floating(tensor)) return DType::Float32;
  if (tensor == DType::Bool) return DType::Int64;
  return tensor;
}

Array binary_scalar(BinaryOp op, const Array& a, double s, bool is_float, bool reverse) {
  reject_half(a, name_of(op));
  const BinaryKind kind = binary_kind(op);
  if (is_float && (kind == BinaryKind::Bitwise || kind == BinaryKind::Shift))
    fail<TypeError>(name_of(op), ": expected an integer operand, got the float ", s);
  DType dt = is_comparison(op) ? (is_float && !is_floating(a.dtype()) ? DType::Float32 : a.dtype())
                               : compute_dtype(op, scalar_dtype(a.dtype(), is_float));
  if (is_comparison(op) && a.dtype() == DType::Bool && !is_float) dt = DType::Int64;
  if (op == BinaryOp::Pow && !is_floating(dt) && !reverse && s < 0)
    fail<ValueError>("pow: integers to negative integer powers are not allowed (got exponent ", s, ")");
  Array ac = a.astype(dt);
  Array out = Array::empty(a.shape(), is_comparison(op) ? DType::Bool : dt, a.device());
  ScalarOperand scalar(s, dt, name_of(op));
  StridedLoop loop = reverse ? make_loop(out.shape(), {operand(out), scalar.operand(dt), operand(ac)})
                             : make_loop(out.shape(), {operand(out), operand(ac), scalar.operand(dt)});
  run_binary(op, dt, out, loop, reverse ? 1 : 2);
  return out;
}

static void check_inplace(BinaryOp op, const Array& a) {
  reject_half(a, name_of(op));
  if (is_comparison(op)) fail<TypeError>(name_of(op), "_: comparisons cannot be done in place");
  compute_dtype(op, a.dtype());  // refuses the dtypes the op does not take
  if (a.dtype() == DType::Bool && binary_kind(op) != BinaryKind::Bitwise && binary_kind(op) != BinaryKind::Pick)
    fail<TypeError>(name_of(op), "_: in-place arithmetic on a bool tensor");
  if (op == BinaryOp::Div && !is_floating(a.dtype()))
    fail<TypeError>("div_: true division cannot write into a ", dtype_name(a.dtype()), " tensor");
}

void binary_inplace(BinaryOp op, Array& a, const Array& b) {
  check_inplace(op, a);
  check_same_device(a, b, name_of(op));
  reject_half(b, name_of(op));
  if (broadcast_shapes(a.shape(), b.shape(), name_of(op)) != a.shape())
    fail<ValueError>(name_of(op), "_: cannot broadcast ", shape_str(b.shape()), " into the in-place output ",
                     shape_str(a.shape()));
  if (promote(a.dtype(), b.dtype(), name_of(op)) != a.dtype() && is_floating(b.dtype()))
    fail<TypeError>(name_of(op), "_: the result type ", dtype_name(b.dtype()), " cannot be written into a ",
                    dtype_name(a.dtype()), " tensor in place");
  Array bc = b.astype(a.dtype());
  run_binary(op, a.dtype(), a, make_loop(a, {&a, &bc}));
}

void binary_scalar_inplace(BinaryOp op, Array& a, double s) {
  check_inplace(op, a);
  ScalarOperand scalar(s, a.dtype(), name_of(op));
  run_binary(op, a.dtype(), a, make_loop(a.shape(), {operand(a), operand(a), scalar.operand(a.dtype())}), 2);
}

Array where(const Array& cond, const Array& a, const Array& b) {
  check_same_device(cond, a, "where");
  check_same_device(a, b, "where");
  reject_half(a, "where");
  reject_half(b, "where");
  if (cond.dtype() != DType::Bool)
    fail<TypeError>("where: expected a bool condition, got ", dtype_name(cond.dtype()));
  const DType dt = promote(a.dtype(), b.dtype(), "where");
  const Shape shape = broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape(), "where"), "where");
  Array ac = a.astype(dt), bc = b.astype(dt);
  Array out = Array::empty(shape, dt, a.device());
  StridedLoop loop = make_loop(out, {&cond, &ac, &bc});
  PYDL_KERNEL(out.device(), where, dt, loop);
  return out;
}

}  // namespace pydl
