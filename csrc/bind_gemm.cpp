#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/errors.h"
#include "csrc/ops.h"

namespace pydl {

void bind_gemm(pybind11::module_& m) {
  // epilogue: an Activation code (Identity, Relu or Gelu); relu=True is short for Relu.
  m.def("linear",
        [](const Array& x, const Array& w, std::optional<Array> bias, bool relu, int epilogue) {
          if (epilogue < 0 || epilogue >= kNumActivations) fail<ValueError>("linear: unknown epilogue code ", epilogue);
          const Activation act = relu ? Activation::Relu : static_cast<Activation>(epilogue);
          return linear(x, w, bias ? &*bias : nullptr, act);
        },
        pybind11::arg("x"), pybind11::arg("weight"), pybind11::arg("bias") = pybind11::none(),
        pybind11::arg("relu") = false, pybind11::arg("epilogue") = 0);
  m.def("set_allow_tf32", &set_allow_tf32);
  m.def("allow_tf32", &allow_tf32);
}

}  // namespace pydl
