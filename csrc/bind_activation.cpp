// Bindings of the activation family: pointwise activations, softmax, losses.
#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/errors.h"
#include "csrc/ops_activation.h"
#include "csrc/ops_loss.h"

namespace py = pybind11;

namespace pydl {

namespace {

Activation to_activation(int code) {
  if (code < 0 || code >= kNumActivations) fail<ValueError>("unknown activation code ", code);
  return static_cast<Activation>(code);
}

PointwiseLoss to_loss(int code) {
  if (code < 0 || code >= kNumPointwiseLosses) fail<ValueError>("unknown loss code ", code);
  return static_cast<PointwiseLoss>(code);
}

Reduction to_reduction(int code) {
  if (code < 0 || code > 2) fail<ValueError>("unknown reduction code ", code);
  return static_cast<Reduction>(code);
}

}  // namespace

void bind_activation(py::module_& m) {
  m.def("activation", [](int act, const Array& x, double p0, double p1) {
    return activation(to_activation(act), x, p0, p1);
  });
  m.def("activation_backward", [](int act, const Array& grad, const Array& saved, double p0, double p1) {
    return activation_backward(to_activation(act), grad, saved, p0, p1);
  });
  m.def("softmax", &softmax);
  m.def("softmax_backward", &softmax_backward);

  m.def("cross_entropy", [](const Array& logits, const Array& target, const std::optional<Array>& weight,
                            int reduction, int64_t ignore_index, double label_smoothing, bool with_grad) {
    return cross_entropy(logits, target, weight, to_reduction(reduction), ignore_index, label_smoothing, with_grad);
  });
  m.def("nll_loss", [](const Array& input, const Array& target, const std::optional<Array>& weight, int reduction,
                       int64_t ignore_index) {
    return nll_loss(input, target, weight, to_reduction(reduction), ignore_index);
  });
  m.def("nll_loss_backward", [](const Array& grad, const Shape& input_shape, const Array& target,
                                const std::optional<Array>& weight, int reduction, int64_t ignore_index, double scale) {
    return nll_loss_backward(grad, input_shape, target, weight, to_reduction(reduction), ignore_index, scale);
  });
  m.def("pointwise_loss", [](int op, const Array& input, const Array& target, const std::optional<Array>& weight,
                             const std::optional<Array>& pos_weight, int reduction) {
    return pointwise_loss(to_loss(op), input, target, weight, pos_weight, to_reduction(reduction));
  });
  m.def("pointwise_loss_backward", [](int op, const Array& grad, const Array& input, const Array& target,
                                      const std::optional<Array>& weight, const std::optional<Array>& pos_weight,
                                      int reduction, double scale, bool wrt_target) {
    return pointwise_loss_backward(to_loss(op), grad, input, target, weight, pos_weight, to_reduction(reduction), scale,
                                   wrt_target);
  });
}

}  // namespace pydl
