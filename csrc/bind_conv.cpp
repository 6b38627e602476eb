// Bindings of the convolution and pooling ops (csrc/ops_conv.h).
#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/gil.h"
#include "csrc/errors.h"
#include "csrc/ops_conv.h"
#include "kernels/cpu/conv.h"

namespace pydl {

void bind_conv(pybind11::module_& m) {
  namespace py = pybind11;
  m.def("conv2d", without_gil<&conv2d>, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("stride"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"), py::arg("relu") = false);
  m.def("conv2d_backward_input", without_gil<&conv2d_backward_input>);
  // The CPU's kernel choice, for tests that cover both paths: "auto" (from the shapes), "gemm", "direct".
  m.def("conv_force_path", [](const std::string& path) {
    if (path == "auto") cpu::conv_force_path(cpu::ConvPath::Auto);
    else if (path == "gemm") cpu::conv_force_path(cpu::ConvPath::Gemm);
    else if (path == "direct") cpu::conv_force_path(cpu::ConvPath::Direct);
    else fail<ValueError>("conv_force_path: expected 'auto', 'gemm' or 'direct', got '", path, "'");
  });
  m.def("conv2d_backward_weight", without_gil<&conv2d_backward_weight>);
  m.def("conv2d_backward_bias", without_gil<&conv2d_backward_bias>);
  m.def("max_pool2d", without_gil<&max_pool2d>);
  m.def("max_pool2d_backward", without_gil<&max_pool2d_backward>, py::arg("grad"), py::arg("indices"), py::arg("input_shape"),
        py::arg("kernel_size") = Ints{}, py::arg("stride") = Ints{}, py::arg("padding") = Ints{0, 0},
        py::arg("dilation") = Ints{1, 1});
  m.def("avg_pool2d", without_gil<&avg_pool2d>);
  m.def("avg_pool2d_backward", without_gil<&avg_pool2d_backward>);
  m.def("adaptive_avg_pool2d", without_gil<&adaptive_avg_pool2d>);
  m.def("adaptive_avg_pool2d_backward", without_gil<&adaptive_avg_pool2d_backward>);
}

}  // namespace pydl
