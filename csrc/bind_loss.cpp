// Bindings of softmax and the losses (the pointwise activations are the unary family,
// bound with the other elementwise ops in bindings.cpp).
#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/gil.h"
#include "csrc/errors.h"
#include "csrc/ops_softmax.h"
#include "csrc/ops_loss.h"

namespace py = pybind11;

namespace pydl {

void bind_softmax_and_losses(py::module_& m) {
  m.def("softmax", without_gil<&softmax>);
  m.def("softmax_backward", without_gil<&softmax_backward>);

  m.def("cross_entropy", without_gil<&cross_entropy>);
  m.def("nll_loss", without_gil<&nll_loss>);
  m.def("nll_loss_backward", without_gil<&nll_loss_backward>);
  m.def("pointwise_loss", without_gil<&pointwise_loss>);
  m.def("pointwise_loss_backward", without_gil<&pointwise_loss_backward>);
}

}  // namespace pydl
