#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/ops.h"

namespace pydl {

void bind_gemm(pybind11::module_& m) {
  m.def("linear",
        [](const Array& x, const Array& w, std::optional<Array> bias, bool relu) {
          return linear(x, w, bias ? &*bias : nullptr, relu);
        },
        pybind11::arg("x"), pybind11::arg("weight"), pybind11::arg("bias") = pybind11::none(),
        pybind11::arg("relu") = false);
}

}  // namespace pydl
