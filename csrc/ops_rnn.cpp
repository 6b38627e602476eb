// A recurrent layer's time loop, one direction (kernels/common/rnn.h): checks, allocation and
// dispatch. The caller projects the input for all steps (x W_ih^T + biases) and takes the input's
// and W_ih's gradients from grad_x_proj.
#include <string>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "kernels/cpu/rnn.h"
#include "kernels/cuda/rnn.h"

namespace pydl {

namespace {

void expect_shape(const Array& a, const Shape& shape, const Array& like, const char* op, const char* what) {
  check_same_device(like, a, op);
  if (a.dtype() != like.dtype())
    fail<TypeError>(op, ": expected ", what, " of dtype ", dtype_name(like.dtype()), ", got ", dtype_name(a.dtype()));
  if (a.shape() != shape)
    fail<ValueError>(op, ": expected ", what, " of shape ", shape_str(shape), ", got ", shape_str(a.shape()));
}

// The loop's sizes from x_proj (steps, batch, G H) and w_hh (G H, H), after checking the operands.
RnnArgs layer_args(RnnCell cell, const Array& x_proj, const Array& w_hh, const std::optional<Array>& b_hh,
                   const Array& h0, const std::optional<Array>& c0, bool reverse, const char* op) {
  check_float(x_proj, op, "x_proj");
  const int64_t G = rnn_gates(cell);
  if (w_hh.ndim() != 2 || w_hh.shape()[0] != G * w_hh.shape()[1])
    fail<ValueError>(op, ": expected w_hh of shape (", G, " * hidden, hidden), got ", shape_str(w_hh.shape()));
  RnnArgs a;
  a.cell = cell, a.reverse = reverse, a.hidden = w_hh.shape()[1];
  if (x_proj.ndim() != 3 || x_proj.shape()[2] != G * a.hidden || x_proj.shape()[0] < 1)
    fail<ValueError>(op, ": expected x_proj of shape (steps >= 1, batch, ", G * a.hidden, "), got ",
                     shape_str(x_proj.shape()));
  a.steps = x_proj.shape()[0], a.batch = x_proj.shape()[1];
  expect_shape(w_hh, w_hh.shape(), x_proj, op, "w_hh");
  expect_shape(h0, {a.batch, a.hidden}, x_proj, op, "h0");
  if ((cell == RnnCell::Gru) != bool(b_hh)) fail<ValueError>(op, ": b_hh is passed for the GRU only");
  if (b_hh) expect_shape(*b_hh, {G * a.hidden}, x_proj, op, "b_hh");
  if ((cell == RnnCell::Lstm) != bool(c0)) fail<ValueError>(op, ": c0 is passed for the LSTM only");
  if (c0) expect_shape(*c0, {a.batch, a.hidden}, x_proj, op, "c0");
  return a;
}

// lengths: (batch,) int64 on the operands' device, each in [1, steps] (checked by the caller).
const int64_t* lengths_of(const std::optional<Array>& lengths, const Array& x_proj, const RnnArgs& a, const char* op) {
  if (!lengths) return nullptr;
  check_same_device(x_proj, *lengths, op);
  if (lengths->dtype() != DType::Int64 || lengths->shape() != Shape{a.batch})
    fail<ValueError>(op, ": expected lengths of shape (", a.batch, ",) in int64, got ", dtype_name(lengths->dtype()),
                     " ", shape_str(lengths->shape()));
  return reinterpret_cast<const int64_t*>(lengths->data());
}

Shape out_shape(const RnnArgs& a) { return {a.steps + (a.cell == RnnCell::Lstm ? 1 : 0), a.batch, a.hidden}; }

}  // namespace

std::tuple<Array, Array> rnn_layer(RnnCell cell, const Array& x_proj, const Array& w_hh,
                                   const std::optional<Array>& b_hh, const Array& h0, const std::optional<Array>& c0,
                                   bool reverse, const std::optional<Array>& lengths) {
  RnnArgs a = layer_args(cell, x_proj, w_hh, b_hh, h0, c0, reverse, name_of(cell));
  std::optional<Array> lc = lengths ? std::optional<Array>(lengths->contiguous()) : std::nullopt;
  a.lengths = lengths_of(lc, x_proj, a, name_of(cell));
  const DType dt = x_proj.dtype();
  const Device dev = x_proj.device();
  Array xp = x_proj.contiguous(), w_t = w_hh.transpose(0, 1).contiguous(), h = h0.contiguous();
  Array b = b_hh ? b_hh->contiguous() : Array(), c = c0 ? c0->contiguous() : Array();
  Array out = Array::empty(out_shape(a), dt, dev);
  Array saved = Array::empty({a.steps, a.batch, rnn_saved(cell) * a.hidden}, dt, dev);
  Array hh = Array::empty({a.batch, rnn_gates(cell) * a.hidden}, dt, dev);
  a.x_proj = xp.data(), a.w_hh_t = w_t.data(), a.b_hh = b_hh ? b.data() : nullptr, a.h0 = h.data();
  a.c0 = c0 ? c.data() : nullptr, a.out = out.data(), a.saved = saved.data(), a.hh = hh.data();
  PYDL_KERNEL(dev, rnn_forward, dt, a);
  return {out, saved};
}

std::tuple<Array, Array, std::optional<Array>, Array, std::optional<Array>> rnn_layer_backward(
    RnnCell cell, const Array& x_proj, const Array& w_hh, const std::optional<Array>& b_hh, const Array& h0,
    const std::optional<Array>& c0, bool reverse, const std::optional<Array>& lengths, const Array& out,
    const Array& saved, const Array& grad_out) {
  const std::string op = std::string(name_of(cell)) + "_backward";
  RnnArgs a = layer_args(cell, x_proj, w_hh, b_hh, h0, c0, reverse, op.c_str());
  std::optional<Array> lc = lengths ? std::optional<Array>(lengths->contiguous()) : std::nullopt;
  a.lengths = lengths_of(lc, x_proj, a, op.c_str());
  expect_shape(out, out_shape(a), x_proj, op.c_str(), "out");
  expect_shape(grad_out, out_shape(a), x_proj, op.c_str(), "grad_out");
  expect_shape(saved, {a.steps, a.batch, rnn_saved(cell) * a.hidden}, x_proj, op.c_str(), "saved");
  const DType dt = x_proj.dtype();
  const Device dev = x_proj.device();
  const int64_t GH = rnn_gates(cell) * a.hidden;
  Array w = w_hh.contiguous(), h = h0.contiguous(), c = c0 ? c0->contiguous() : Array();
  Array o = out.contiguous(), s = saved.contiguous(), g = grad_out.contiguous();
  Array gx = Array::empty({a.steps, a.batch, GH}, dt, dev);
  const bool gru = cell == RnnCell::Gru;
  Array ghh = gru ? Array::empty({a.steps, a.batch, GH}, dt, dev) : Array();
  Array h_prev = Array::empty({a.steps, a.batch, a.hidden}, dt, dev);
  Array dh = Array::empty({a.batch, a.hidden}, dt, dev);
  Array gw = Array::empty(w_hh.shape(), dt, dev), gh0 = Array::empty(h0.shape(), dt, dev);
  std::optional<Array> gb, gc0;
  Array ones;
  if (gru) {
    gb = Array::empty({GH}, dt, dev);
    ones = Array::empty({a.steps * a.batch}, dt, dev);
    ones.fill(1.0);
  }
  if (cell == RnnCell::Lstm) gc0 = Array::empty(h0.shape(), dt, dev);
  a.w_hh = w.data(), a.b_hh = b_hh ? b_hh->data() : nullptr, a.h0 = h.data(), a.c0 = c0 ? c.data() : nullptr;
  a.out = o.data(), a.saved = s.data(), a.grad_out = g.data(), a.grad_x_proj = gx.data();
  a.grad_hh = gru ? ghh.data() : nullptr, a.h_prev = h_prev.data(), a.dh = dh.data();
  a.grad_w_hh = gw.data(), a.grad_b_hh = gb ? gb->data() : nullptr, a.grad_h0 = gh0.data();
  a.grad_c0 = gc0 ? gc0->data() : nullptr;
  PYDL_KERNEL(dev, rnn_backward, dt, a, gru ? ones.data() : nullptr);
  return {gx, gw, gb, gh0, gc0};
}

}  // namespace pydl
