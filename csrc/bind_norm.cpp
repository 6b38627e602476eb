// Bindings of dropout, batch-norm and layer-norm (csrc/ops_dropout.h, csrc/ops_norm.h).
#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/gil.h"
#include "csrc/ops_dropout.h"
#include "csrc/ops_norm.h"

namespace py = pybind11;

namespace pydl {

void bind_norm(py::module_& m) {
  m.def("dropout", without_gil<&dropout>, py::arg("x"), py::arg("p"));
  m.def("dropout_backward", without_gil<&dropout_backward>, py::arg("grad"), py::arg("mask"), py::arg("p"));
  m.def("batch_norm", without_gil<&batch_norm>, py::arg("x"), py::arg("running_mean"), py::arg("running_var"), py::arg("weight"),
        py::arg("bias"), py::arg("training"), py::arg("momentum"), py::arg("eps"));
  m.def("batch_norm_backward", without_gil<&batch_norm_backward>, py::arg("grad"), py::arg("x"), py::arg("save_mean"),
        py::arg("save_invstd"), py::arg("weight"), py::arg("training"), py::arg("need_dx"), py::arg("need_dweight"),
        py::arg("need_dbias"));
  m.def("layer_norm", without_gil<&layer_norm>, py::arg("x"), py::arg("normalized_shape"), py::arg("weight"),
        py::arg("bias"), py::arg("eps"));
  m.def("layer_norm_backward", without_gil<&layer_norm_backward>, py::arg("grad"), py::arg("x"),
        py::arg("normalized_shape"), py::arg("mean"), py::arg("rstd"), py::arg("weight"), py::arg("need_dx"),
        py::arg("need_dweight"), py::arg("need_dbias"));
}

}  // namespace pydl
