#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#ifdef PYDL_WITH_CUDA
#include "kernels/cuda/gemm.h"
#endif

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

  // The CUDA GEMM's tile configurations, for tests and benchmarks that validate each one.
  m.def("gemm_configs", [] {
    std::vector<std::string> names;
#ifdef PYDL_WITH_CUDA
    for (int i = 0; i < cuda_kernels::gemm_config_count(); ++i) names.emplace_back(cuda_kernels::gemm_config_name(i));
#endif
    return names;
  });
  m.def("gemm_force_config", [](const std::string& name) {
#ifdef PYDL_WITH_CUDA
    if (!cuda_kernels::gemm_force_config(name.c_str()))
      fail<ValueError>("gemm_force_config: unknown configuration '", name, "'");
#else
    if (!name.empty()) fail<RuntimeError>("gemm_force_config: pydl was built without CUDA support");
#endif
  });
  m.def("gemm_last_config", [] {
#ifdef PYDL_WITH_CUDA
    return std::string(cuda_kernels::gemm_last_config());
#else
    return std::string();
#endif
  });
}

}  // namespace pydl
