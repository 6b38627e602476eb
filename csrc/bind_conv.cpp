// Bindings of the convolution and pooling ops (csrc/ops_conv.h).
#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/ops_conv.h"

namespace pydl {

void bind_conv(pybind11::module_& m) {
  m.def("conv2d", &conv2d);
  m.def("conv2d_backward_input", &conv2d_backward_input);
  m.def("conv2d_backward_weight", &conv2d_backward_weight);
  m.def("conv2d_backward_bias", &conv2d_backward_bias);
  m.def("max_pool2d", &max_pool2d);
  m.def("max_pool2d_backward", &max_pool2d_backward);
  m.def("avg_pool2d", &avg_pool2d);
  m.def("avg_pool2d_backward", &avg_pool2d_backward);
  m.def("adaptive_avg_pool2d", &adaptive_avg_pool2d);
  m.def("adaptive_avg_pool2d_backward", &adaptive_avg_pool2d_backward);
}

}  // namespace pydl
