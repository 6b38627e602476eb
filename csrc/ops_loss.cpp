// Losses: validation and dispatch. Class labels are range-checked before any kernel
// writes an output, except cross-entropy on CUDA: there a check kernel records a bad label
// for the next synchronization to raise, so that a training step never waits for the GPU
// (kernels/cuda/loss.h; BCE's [0, 1] check likewise); targets and weights are
// cast to the input's dtype and broadcast (copied contiguous) to the loss's shape so
// that the kernels walk flat memory.
#include "csrc/ops_loss.h"

#include <vector>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "kernels/cpu/loss.h"
#include "kernels/cuda/loss.h"

namespace pydl {

namespace {

// input (N, C, d1, ...) and target (N, d1, ...): N, C and d1 * ... as (outer, classes, inner).
struct ClassShape {
  int64_t outer = 0, classes = 0, inner = 1;
  Shape sample_shape;  // (N, d1, ...)
};

ClassShape class_shape(const Array& input, const Array& target, const char* op, const char* input_name) {
  check_same_device(input, target, op);
  check_float(input, op, input_name);
  if (input.ndim() < 2)
    fail<ValueError>(op, ": expected ", input_name, " of shape (N, C) or (N, C, d1, ...), got ",
                     shape_str(input.shape()));
  if (target.dtype() != DType::Int64)
    fail<TypeError>(op, ": expected int64 class indices as target, got ", dtype_name(target.dtype()),
                    " (class-probability targets are not supported)");
  ClassShape s;
  s.outer = input.shape()[0];
  s.classes = input.shape()[1];
  s.sample_shape = {s.outer};
  for (int64_t d = 2; d < input.ndim(); ++d) {
    s.inner *= input.shape()[d];
    s.sample_shape.push_back(input.shape()[d]);
  }
  if (target.shape() != s.sample_shape)
    fail<ValueError>(op, ": target has shape ", shape_str(target.shape()), ", expected ", shape_str(s.sample_shape),
                     " for ", input_name, " of shape ", shape_str(input.shape()));
  return s;
}

// The class weight as a contiguous (C,) array of the input's dtype, if given.
std::optional<Array> class_weight(const std::optional<Array>& weight, const Array& input, int64_t classes,
                                  const char* op) {
  if (!weight) return std::nullopt;
  check_same_device(input, *weight, op);
  if (weight->shape() != Shape{classes})
    fail<ValueError>(op, ": weight has shape ", shape_str(weight->shape()), ", expected (", classes,
                     ",): one weight per class");
  return weight->astype(input.dtype()).contiguous();
}

// Device memory for a cuda_kernels::ClassTargetCheck.
[[maybe_unused]] Array class_target_verdict(Device device) {
  return Array::empty({static_cast<int64_t>(sizeof(cuda_kernels::ClassTargetCheck))}, DType::UInt8, device);
}

// Range-checks the targets (IndexError naming the first bad label) and returns the sum
// of the weights of those not ignored.
double check_targets(const Array& target, int64_t classes, int64_t ignore_index, const std::optional<Array>& weight,
                     DType dtype, const char* op) {
  const int64_t* t = reinterpret_cast<const int64_t*>(target.data());
  const void* w = weight ? weight->data() : nullptr;
  int64_t bad = -1, bad_value = 0;
  double total = 0;
  if (on_cuda(target)) {
    cuda_kernels::ClassTargetCheck r;
    PYDL_CUDA_LAUNCH(target.device(), {
      Array verdict = class_target_verdict(target.device());
      auto* dev = reinterpret_cast<cuda_kernels::ClassTargetCheck*>(verdict.data());
      cuda_kernels::check_class_targets(t, target.numel(), classes, ignore_index, dtype, w, dev, nullptr, stream,
                                        check);
      cuda::copy_to_host(&r, dev, sizeof r, target.device().index);
    });
    bad = r.bad_index;
    bad_value = r.bad_value;
    total = r.weight_total;
  } else {
    bad = cpu::check_class_targets(t, target.numel(), classes, ignore_index, dtype, w, &total);
    if (bad >= 0) bad_value = t[bad];
  }
  if (bad >= 0)
    fail<IndexError>(op, ": target ", bad_value, " is out of bounds for ", classes,
                     " classes (expected a class in [0, ", classes, ") or ignore_index ", ignore_index, ")");
  return total;
}

// One double computed on the device into `slot`, copied back (a stream synchronization).
[[maybe_unused]] double read_back(const Array& slot) {
  double v = 0;
  cuda::copy_to_host(&v, slot.data(), sizeof v, slot.device().index);
  return v;
}

Shape reduced_shape(Reduction reduction, const Shape& per_sample) {
  return reduction == Reduction::None ? per_sample : Shape{};
}

}  // namespace

// ---------------------------------------------------------------- cross-entropy
std::pair<Array, std::optional<Array>> cross_entropy(const Array& logits, const Array& target,
                                                     const std::optional<Array>& weight, Reduction reduction,
                                                     int64_t ignore_index, double label_smoothing, bool with_grad) {
  const char* op = "cross_entropy";
  const ClassShape s = class_shape(logits, target, op, "logits");
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    fail<ValueError>(op, ": label_smoothing must be in [0, 1], got ", label_smoothing);
  const std::optional<Array> w = class_weight(weight, logits, s.classes, op);
  Array t = target.contiguous();
  const double total = on_cuda(t) ? 1.0 : check_targets(t, s.classes, ignore_index, w, logits.dtype(), op);

  // (N, C, d1, ...) runs as rows of C: move the class axis last (one copy).
  const int64_t nd = logits.ndim();
  std::vector<int64_t> to_last(nd), from_last(nd);
  to_last[0] = from_last[0] = 0;
  for (int64_t d = 1; d < nd - 1; ++d) to_last[d] = d + 1;
  to_last[nd - 1] = 1;
  from_last[1] = nd - 1;
  for (int64_t d = 2; d < nd; ++d) from_last[d] = d - 1;
  Array x = nd > 2 ? logits.permute(to_last).contiguous() : logits.contiguous();

  CrossEntropyRows args;
  args.logits = x.data();
  args.target = reinterpret_cast<const int64_t*>(t.data());
  args.weight = w ? w->data() : nullptr;
  args.rows = s.outer * s.inner;
  args.classes = s.classes;
  args.ignore_index = ignore_index;
  args.label_smoothing = label_smoothing;
  const double scale = reduction == Reduction::Mean ? 1.0 / total : 1.0;  // no target left: nan, as PyTorch
  args.grad_scale = scale;
  std::optional<Array> dlogits;
  if (with_grad) {
    dlogits = Array::empty(x.shape(), x.dtype(), x.device());
    args.dlogits = dlogits->data();
  }
  Array out = Array::empty(reduced_shape(reduction, s.sample_shape), logits.dtype(), logits.device());
  if (on_cuda(x)) {  // the check's verdict stays on the device: its mean scale, and a bad label for later
    PYDL_CUDA_LAUNCH(x.device(), {
      Array verdict = class_target_verdict(x.device());
      auto* dev = reinterpret_cast<cuda_kernels::ClassTargetCheck*>(verdict.data());
      auto* error = static_cast<cuda_kernels::DeviceError*>(cuda::device_error_slot(x.device().index));
      cuda_kernels::check_class_targets(args.target, t.numel(), s.classes, ignore_index, x.dtype(), args.weight, dev,
                                        error, stream, check);
      if (reduction == Reduction::Mean) args.device_scale = &dev->mean_scale;
      Array work = device_workspace(x.device(), cuda_kernels::loss_workspace_bytes(x.dtype(), args.rows));
      cuda_kernels::cross_entropy(x.dtype(), args, reduction, scale, out.data(), work.data(), stream, check);
    });
  } else {
    cpu::cross_entropy(logits.dtype(), args, reduction, scale, out.data());
  }
  if (dlogits && nd > 2) dlogits = dlogits->permute(from_last);
  return {out, dlogits};
}

// ---------------------------------------------------------------- NLL
namespace {

NllArgs nll_args(const ClassShape& s, const Array& target, const std::optional<Array>& w, int64_t ignore_index) {
  NllArgs a;
  a.target = reinterpret_cast<const int64_t*>(target.data());
  a.weight = w ? w->data() : nullptr;
  a.outer = s.outer;
  a.classes = s.classes;
  a.inner = s.inner;
  a.ignore_index = ignore_index;
  return a;
}

}  // namespace

std::pair<Array, double> nll_loss(const Array& input, const Array& target, const std::optional<Array>& weight,
                                  Reduction reduction, int64_t ignore_index) {
  const char* op = "nll_loss";
  const ClassShape s = class_shape(input, target, op, "input");
  const std::optional<Array> w = class_weight(weight, input, s.classes, op);
  Array t = target.contiguous();
  const double total = check_targets(t, s.classes, ignore_index, w, input.dtype(), op);
  Array x = input.contiguous();
  NllArgs a = nll_args(s, t, w, ignore_index);
  a.input = x.data();
  const double scale = reduction == Reduction::Mean ? 1.0 / total : 1.0;
  Array out = Array::empty(reduced_shape(reduction, s.sample_shape), input.dtype(), input.device());
  PYDL_KERNEL_WITH_WORKSPACE(x.device(), nll_loss, cuda_kernels::loss_workspace_bytes(x.dtype(), 0), input.dtype(), a,
                             reduction, scale, out.data());
  return {out, scale};
}

Array nll_loss_backward(const Array& grad, const Shape& input_shape, const Array& target,
                        const std::optional<Array>& weight, Reduction reduction, int64_t ignore_index, double scale) {
  const char* op = "nll_loss_backward";
  Array like = Array::empty(input_shape, grad.dtype(), grad.device());  // the gradient, also the shape reference
  const ClassShape s = class_shape(like, target, op, "input");
  const Shape grad_shape = reduced_shape(reduction, s.sample_shape);
  if (grad.shape() != grad_shape)
    fail<ValueError>(op, ": grad has shape ", shape_str(grad.shape()), ", expected ", shape_str(grad_shape));
  const std::optional<Array> w = class_weight(weight, like, s.classes, op);
  Array t = target.contiguous(), g = grad.contiguous();
  NllArgs a = nll_args(s, t, w, ignore_index);
  const bool scalar_grad = reduction != Reduction::None;
  PYDL_KERNEL(like.device(), nll_loss_backward, grad.dtype(), a, g.data(), scalar_grad, scale, like.data());
  return like;
}

// ---------------------------------------------------------------- pointwise losses
namespace {

// The operands of a pointwise loss, cast to the input's dtype, broadcast to the loss's
// shape and contiguous.
struct PointwiseOperands {
  Shape shape;
  Array x, y;
  std::optional<Array> w, pw;
  PointwiseLossArgs args() const {
    PointwiseLossArgs a;
    a.input = x.data();
    a.target = y.data();
    a.weight = w ? w->data() : nullptr;
    a.pos_weight = pw ? pw->data() : nullptr;
    a.n = shape_numel(shape);
    return a;
  }
};

Array broadcast_operand(const Array& a, const Array& like, const Shape& shape, const char* op, const char* what) {
  check_same_device(like, a, op);
  if (broadcast_shapes(a.shape(), shape, op) != shape)
    fail<ValueError>(op, ": ", what, " of shape ", shape_str(a.shape()), " does not broadcast to the loss's shape ",
                     shape_str(shape));
  return a.astype(like.dtype()).expand(shape).contiguous();
}

PointwiseOperands pointwise_operands(PointwiseLoss op_code, const Array& input, const Array& target,
                                     const std::optional<Array>& weight, const std::optional<Array>& pos_weight) {
  const char* op = name_of(op_code);
  check_same_device(input, target, op);
  check_float(input, op, "input");
  const bool bce = op_code == PointwiseLoss::Bce || op_code == PointwiseLoss::BceWithLogits;
  if (bce && target.shape() != input.shape())
    fail<ValueError>(op, ": target has shape ", shape_str(target.shape()), ", expected ", shape_str(input.shape()),
                     " like the input");
  if (!bce && weight && weight->shape() != input.shape())
    fail<ValueError>(op, ": weight has shape ", shape_str(weight->shape()), ", expected ", shape_str(input.shape()),
                     " like the input");
  if (pos_weight && op_code != PointwiseLoss::BceWithLogits)
    fail<ValueError>(op, ": pos_weight applies to binary_cross_entropy_with_logits only");
  PointwiseOperands o;
  o.shape = broadcast_shapes(input.shape(), target.shape(), op);
  o.x = broadcast_operand(input, input, o.shape, op, "input");
  o.y = broadcast_operand(target, input, o.shape, op, "target");
  if (weight) o.w = broadcast_operand(*weight, input, o.shape, op, "weight");
  if (pos_weight) o.pw = broadcast_operand(*pos_weight, input, o.shape, op, "pos_weight");
  return o;
}

}  // namespace

std::pair<Array, double> pointwise_loss(PointwiseLoss op, const Array& input, const Array& target,
                                        const std::optional<Array>& weight, const std::optional<Array>& pos_weight,
                                        Reduction reduction) {
  const PointwiseOperands o = pointwise_operands(op, input, target, weight, pos_weight);
  Array out = Array::empty(reduced_shape(reduction, o.shape), input.dtype(), input.device());
  const bool over_weight = op == PointwiseLoss::Mse || op == PointwiseLoss::L1;
  double scale = 1.0;
  if (on_cuda(input)) {
    // A read-back (a stream synchronization) only for the weighted mean's 1 / sum(weight);
    // BCE's domain check raises at the next synchronization.
    PYDL_CUDA_LAUNCH(input.device(), {
      const PointwiseLossArgs a = o.args();
      Array work = device_workspace(input.device(), cuda_kernels::loss_workspace_bytes(input.dtype(), 0));
      Array value = Array::empty({1}, DType::Float64, input.device());
      double* v = reinterpret_cast<double*>(value.data());
      if (op == PointwiseLoss::Bce) {
        auto* error = static_cast<cuda_kernels::DeviceError*>(cuda::device_error_slot(input.device().index));
        cuda_kernels::check_pointwise_domain(op, input.dtype(), a, error, stream, check);
      }
      if (reduction == Reduction::Mean) {
        if (over_weight && a.weight) {
          cuda_kernels::loss_weight_sum(input.dtype(), a.weight, a.n, v, work.data(), stream, check);
          scale = 1.0 / read_back(value);
        } else {
          scale = 1.0 / static_cast<double>(a.n);  // an empty mean is 0/0 = nan, as PyTorch
        }
      }
      cuda_kernels::pointwise_loss(op, input.dtype(), a, reduction, scale, out.data(), work.data(), stream, check);
    });
  } else if (!cpu::pointwise_loss(op, input.dtype(), o.args(), reduction, over_weight, out.data(), &scale)) {
    fail<RuntimeError>(name_of(op), ": all elements of input should be between 0 and 1");
  }
  return {out, scale};
}

Array pointwise_loss_backward(PointwiseLoss op, const Array& grad, const Array& input, const Array& target,
                              const std::optional<Array>& weight, const std::optional<Array>& pos_weight,
                              Reduction reduction, double scale, bool wrt_target) {
  const PointwiseOperands o = pointwise_operands(op, input, target, weight, pos_weight);
  const Shape grad_shape = reduced_shape(reduction, o.shape);
  if (grad.shape() != grad_shape)
    fail<ValueError>(name_of(op), "_backward: grad has shape ", shape_str(grad.shape()), ", expected ",
                     shape_str(grad_shape));
  check_same_device(input, grad, name_of(op));
  Array g = grad.astype(input.dtype()).contiguous();
  Array out = Array::empty(o.shape, input.dtype(), input.device());
  const bool scalar_grad = reduction != Reduction::None;
  PYDL_KERNEL(input.device(), pointwise_loss_backward, op, input.dtype(), o.args(), g.data(), scalar_grad, scale,
              wrt_target, out.data());
  return out;
}

}  // namespace pydl
