#include <optional>
#include <tuple>

#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/gil.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "kernels/cpu/gemm_plan.h"
#ifdef PYDL_WITH_CUDA
#include "kernels/cuda/gemm.h"
#endif

namespace pydl {

void bind_gemm(pybind11::module_& m) {
  // epilogue: a _C.Unary (IDENTITY, RELU or GELU); relu=True is short for RELU.
  m.def("linear",
        [](const Array& x, const Array& w, std::optional<Array> bias, bool relu, UnaryOp epilogue) {
          GilRelease release(add_work(x.numel(), w.numel()));
          return linear(x, w, bias ? &*bias : nullptr, relu ? UnaryOp::Relu : epilogue);
        },
        pybind11::arg("x"), pybind11::arg("weight"), pybind11::arg("bias") = pybind11::none(),
        pybind11::arg("relu") = false, pybind11::arg("epilogue") = UnaryOp::Identity);
  // What the CPU GEMM chose for float32 on this machine; with a shape (m, n, k), for that product.
  m.def("gemm_cpu_plan", [](std::optional<std::tuple<int64_t, int64_t, int64_t>> shape) {
    using namespace pybind11::literals;
    const cpu::GemmTile tile = cpu::float32_tile();
    const cpu::GemmBlocking b = shape ? cpu::gemm_blocking_for(4, tile.rows, tile.cols, std::get<0>(*shape),
                                                               std::get<1>(*shape), std::get<2>(*shape))
                                      : cpu::gemm_blocking(4, tile.rows, tile.cols);
    const cpu::CacheSizes& c = cpu::cache_sizes();
    return pybind11::dict("tile"_a = pybind11::make_tuple(tile.rows, tile.cols), "kc"_a = b.kc, "mc"_a = b.mc,
                          "nc"_a = b.nc, "caches"_a = pybind11::make_tuple(c.l1d, c.l2, c.l3));
  }, pybind11::arg("shape") = pybind11::none());
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
