// Every op-family registry of kernels/common as a Python enum of pydl._C: _C.Unary.TANH,
// _C.Binary.ADD, _C.Reduce.SUM, _C.Scan.CUMSUM, _C.Scatter.AMAX, _C.Reduction.MEAN, _C.PointwiseLoss.MSE_LOSS,
// _C.DType.FLOAT32. Values are named by the registry's names in capitals, so Python never
// counts positions and a new registry entry appears here with nothing else to edit.
#include <cctype>
#include <string>

#include "csrc/bind.h"
#include "kernels/common/binary.h"
#include "kernels/common/dtype.h"
#include "kernels/common/loss.h"
#include "kernels/common/reduce.h"
#include "kernels/common/rnn.h"
#include "kernels/common/scan.h"
#include "kernels/common/scatter.h"
#include "kernels/common/unary.h"

namespace py = pybind11;

namespace pydl {

namespace {

template <class E>
py::enum_<E> bind_registry(py::module_& m, const char* name) {
  py::enum_<E> e(m, name);
  for (int i = 0; i < count_of<E>(); ++i) {
    std::string upper = name_of(static_cast<E>(i));
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    e.value(upper.c_str(), static_cast<E>(i));
  }
  return e;
}

}  // namespace

void bind_enums(py::module_& m) {
  bind_registry<UnaryOp>(m, "Unary")
      .def_property_readonly("grad_from_output", [](UnaryOp op) { return grad_from_output(op); },
                             "Whether the backward reads the forward's output (else its input).");
  bind_registry<BinaryOp>(m, "Binary");
  bind_registry<ReduceOp>(m, "Reduce");
  bind_registry<ScanOp>(m, "Scan");
  bind_registry<ScatterOp>(m, "Scatter");
  bind_registry<RnnCell>(m, "Rnn");
  bind_registry<Reduction>(m, "Reduction");
  bind_registry<PointwiseLoss>(m, "PointwiseLoss");
  bind_registry<DType>(m, "DType");
}

}  // namespace pydl
