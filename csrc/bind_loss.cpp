// Bindings of softmax and the losses (the pointwise activations are the unary family,
// bound with the other elementwise ops in bindings.cpp).
#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/errors.h"
#include "csrc/ops_softmax.h"
#include "csrc/ops_loss.h"

namespace py = pybind11;

namespace pydl {

void bind_softmax_and_losses(py::module_& m) {
  m.def("softmax", &softmax);
  m.def("softmax_backward", &softmax_backward);

  m.def("cross_entropy", &cross_entropy);
  m.def("nll_loss", &nll_loss);
  m.def("nll_loss_backward", &nll_loss_backward);
  m.def("pointwise_loss", &pointwise_loss);
  m.def("pointwise_loss_backward", &pointwise_loss_backward);
}

}  // namespace pydl
