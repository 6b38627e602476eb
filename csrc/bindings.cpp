// pydl._C: the pybind11 surface over csrc/. Thin on purpose: conversions at the edge,
// everything else is a direct call into ops.h or Array.
#include <omp.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "csrc/array.h"
#include "csrc/bind.h"
#include "csrc/gil.h"
#include "csrc/cuda/runtime.h"
#include "csrc/cuda_arch.h"
#include "csrc/errors.h"
#include "csrc/ops.h"
#include "csrc/rng.h"
#include "csrc/threads.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/float_mode.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/team.h"

namespace py = pybind11;
using namespace pydl;

namespace {

py::tuple to_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = py::int_(s[i]);
  return t;
}

// pydl's errors for a bad argument or dtype. PyTorch raises RuntimeError where pydl raises
// ValueError / TypeError, so each is both: ported code that catches RuntimeError still does.
PyObject* argument_error = nullptr;
PyObject* dtype_error = nullptr;

PyObject* new_error(py::module_& m, const char* name, PyObject* builtin, const char* doc) {
  PyObject* bases = PyTuple_Pack(2, builtin, PyExc_RuntimeError);
  if (!bases) throw py::error_already_set();
  PyObject* cls = PyErr_NewExceptionWithDoc((std::string("pydl.") + name).c_str(), doc, bases, nullptr);
  Py_DECREF(bases);
  if (!cls) throw py::error_already_set();
  m.attr(name) = py::handle(cls);  // the module holds one reference, the translator the other
  return cls;
}

DType to_dtype(int code) {
  if (code < 0 || code >= kNumDTypes) fail<TypeError>("unknown dtype code ", code);
  return static_cast<DType>(code);
}

py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::Bool: return py::dtype::of<bool>();
    case DType::UInt8: return py::dtype::of<uint8_t>();
    case DType::Int32: return py::dtype::of<int32_t>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float16: return py::dtype("float16");
    case DType::BFloat16:
      fail<TypeError>("numpy: bfloat16 has no numpy type; convert with .float() first");
    default: return py::dtype::of<double>();
  }
}

// Shares the numpy array's memory (kept alive by the Storage) when its layout allows.
Array from_numpy(py::array arr) {
  const char kind = arr.dtype().kind();
  const ssize_t size = arr.itemsize();
  DType dt;
  if (kind == 'f' && size == 2) dt = DType::Float16;
  else if (kind == 'f' && size == 4) dt = DType::Float32;
  else if (kind == 'f' && size == 8) dt = DType::Float64;
  else if (kind == 'i' && size == 8) dt = DType::Int64;
  else if (kind == 'i' && size == 4) dt = DType::Int32;
  else if (kind == 'u' && size == 1) dt = DType::UInt8;
  else if (kind == 'b') dt = DType::Bool;
  else fail<TypeError>("from_numpy: unsupported numpy dtype ", std::string(py::str(arr.dtype())),
                       "; supported: float16, float32, float64, int64, int32, uint8, bool");
  if (arr.dtype().byteorder() == '>') fail<TypeError>("from_numpy: byte-swapped arrays are not supported");
  Shape shape(arr.ndim()), strides(arr.ndim());
  for (ssize_t d = 0; d < arr.ndim(); ++d) {
    shape[d] = arr.shape(d);
    if (arr.strides(d) < 0 || arr.strides(d) % size)
      fail<ValueError>("from_numpy: negative or unaligned strides; pass np.ascontiguousarray(x)");
    strides[d] = arr.strides(d) / size;
  }
  auto* keep = new py::object(arr);
  auto storage = std::make_shared<Storage>(const_cast<void*>(arr.data()), arr.nbytes(), Device{}, [keep](void*) {
    py::gil_scoped_acquire gil;
    delete keep;
  });
  return Array(std::move(storage), shape, strides, 0, dt);
}

py::array to_numpy(const Array& a) {
  if (!a.device().is_cpu())
    fail<TypeError>("numpy: cannot convert a ", a.device().str(), " tensor to numpy; call .cpu() first");
  std::vector<ssize_t> shape(a.shape().begin(), a.shape().end()), strides(a.ndim());
  for (int64_t d = 0; d < a.ndim(); ++d) strides[d] = a.strides()[d] * static_cast<ssize_t>(a.itemsize());
  auto* owner = new std::shared_ptr<Storage>(a.storage());
  py::capsule base(owner, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(numpy_dtype(a.dtype()), shape, strides, a.data(), base);
}

py::object item(const Array& x) {
  if (x.numel() != 1)
    fail<ValueError>("item: only a tensor with one element can be converted to a Python scalar, got shape ",
                     shape_str(x.shape()));
  Array c = x.to(Device{});
  if (is_half(c.dtype())) c = c.astype(DType::Float32);
  switch (c.dtype()) {
    case DType::Bool: return py::bool_(*reinterpret_cast<bool*>(c.data()));
    case DType::UInt8: return py::int_(*reinterpret_cast<uint8_t*>(c.data()));
    case DType::Int32: return py::int_(*reinterpret_cast<int32_t*>(c.data()));
    case DType::Int64: return py::int_(*reinterpret_cast<int64_t*>(c.data()));
    case DType::Float32: return py::float_(*reinterpret_cast<float*>(c.data()));
    default: return py::float_(*reinterpret_cast<double*>(c.data()));
  }
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "pydl's C++/CUDA runtime and kernels";
  install_fork_handler();
  bind_enums(m);
  bind_core(m);
  bind_gemm(m);
  bind_softmax_and_losses(m);
  bind_norm(m);
  bind_conv(m);
  bind_optim(m);
  bind_runtime(m);
  bind_nccl(m);
}

void pydl::bind_core(py::module_& m) {
  argument_error = new_error(m, "ArgumentError", PyExc_ValueError,
                             "An op's argument is invalid (a shape, a size, an option): a ValueError and a "
                             "RuntimeError.");
  dtype_error = new_error(m, "DTypeError", PyExc_TypeError,
                          "An op was given a dtype it does not take: a TypeError and a RuntimeError.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const pydl::ValueError& e) {
      PyErr_SetString(argument_error, e.what());
    } catch (const pydl::TypeError& e) {
      PyErr_SetString(dtype_error, e.what());
    } catch (const pydl::UnsupportedDType& e) {
      PyErr_SetString(dtype_error, e.what());
    } catch (const pydl::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const pydl::MemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const pydl::RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  py::class_<Array>(m, "Array")
      .def_property_readonly("shape", [](const Array& a) { return to_tuple(a.shape()); })
      .def_property_readonly("strides", [](const Array& a) { return to_tuple(a.strides()); })
      .def_property_readonly("offset", &Array::offset)
      .def_property_readonly("dtype", [](const Array& a) { return static_cast<int>(a.dtype()); })
      .def_property_readonly("device", [](const Array& a) { return a.device().str(); })
      .def_property_readonly("is_cuda", [](const Array& a) { return !a.device().is_cpu(); })
      .def_property_readonly("ndim", &Array::ndim)
      .def_property_readonly("numel", &Array::numel)
      .def_property_readonly("itemsize", &Array::itemsize)
      .def_property_readonly("data_ptr", [](const Array& a) { return reinterpret_cast<uintptr_t>(a.data()); })
      .def_property_readonly("storage_id", [](const Array& a) { return reinterpret_cast<uintptr_t>(a.storage().get()); })
      .def("is_contiguous", &Array::is_contiguous)
      .def("view", [](const Array& a, const Shape& s) { return a.view(s); })
      .def("reshape", &Array::reshape)
      .def("permute", &Array::permute)
      .def("transpose", &Array::transpose)
      .def("slice", &Array::slice)
      .def("select", &Array::select)
      .def("expand", &Array::expand)
      .def("squeeze", &Array::squeeze)
      .def("unsqueeze", &Array::unsqueeze)
      .def("view_as", [](const Array& a, int dt) { return a.view_as(to_dtype(dt)); })
      .def("contiguous",
           [](const Array& a) {
             GilRelease release(a.is_contiguous() ? 0 : a.numel());
             return a.contiguous();
           })
      .def("clone",
           [](const Array& a) {
             GilRelease release(a.numel());
             return a.clone();
           })
      .def("astype",
           [](const Array& a, int dt) {
             GilRelease release(a.numel());
             return a.astype(to_dtype(dt));
           })
      .def("to",
           [](const Array& a, const std::string& dev, bool non_blocking) {
             const Device device = Device::parse(dev);
             GilRelease release(a.numel());
             return a.to(device, non_blocking);
           }, py::arg("device"), py::arg("non_blocking") = false)
      .def("copy_",
           [](Array& a, const Array& src, bool non_blocking) {
             GilRelease release(a.numel());
             a.copy_from(src, non_blocking);
           }, py::arg("src"), py::arg("non_blocking") = false)
      .def_property_readonly("is_pinned", &Array::is_pinned)
      .def("pin_memory",
           [](const Array& a) {
             GilRelease release(a.numel());
             return a.pin_memory();
           })
      .def("fill_",
           [](Array& a, double v) {
             GilRelease release(a.numel());
             a.fill(v);
           })
      .def("numpy", &to_numpy)
      .def("item", &item);

  m.def("from_numpy", &from_numpy);
  m.def("empty", [](const Shape& s, int dt, const std::string& dev) { return Array::empty(s, to_dtype(dt), Device::parse(dev)); });
  m.def("empty_pinned", [](const Shape& s, int dt, const std::string& op) {
    return Array::empty_pinned(s, to_dtype(dt), op.c_str());
  });
  m.def("full", [](const Shape& s, double v, int dt, const std::string& dev) { return full(s, v, to_dtype(dt), Device::parse(dev)); });
  m.def("arange", [](double a, double b, double step, int dt, const std::string& dev) {
    return arange(a, b, step, to_dtype(dt), Device::parse(dev));
  });
  m.def("uniform", [](const Shape& s, double lo, double hi, int dt, const std::string& dev) {
    return uniform(s, lo, hi, to_dtype(dt), Device::parse(dev));
  });
  m.def("normal", [](const Shape& s, double mean, double std, int dt, const std::string& dev) {
    return normal(s, mean, std, to_dtype(dt), Device::parse(dev));
  });

  // The pointwise family: op is a _C.Unary; p0, p1 its parameters (leaky_relu's slope,
  // softplus' beta and threshold). unary_backward takes the saved output or input
  // (op.grad_from_output says which).
  m.def("unary", without_gil<&unary>, py::arg("op"), py::arg("x"), py::arg("p0") = 0.0, py::arg("p1") = 0.0);
  m.def("unary_backward", without_gil<&unary_backward>, py::arg("op"), py::arg("grad"), py::arg("saved"), py::arg("p0") = 0.0,
        py::arg("p1") = 0.0);
  m.def("binary", without_gil<&binary>);
  m.def("binary_scalar", without_gil<&binary_scalar>);
  m.def("binary_", without_gil<&binary_inplace>);
  m.def("binary_scalar_", without_gil<&binary_scalar_inplace>);
  m.def("where", without_gil<&where>);
  m.def("broadcast_shapes", [](const Shape& a, const Shape& b) { return to_tuple(broadcast_shapes(a, b, "broadcast_shapes")); });

  m.def("reduce", without_gil<&reduce>);
  m.def("max_min_dim", without_gil<&max_min_dim>);
  m.def("arg_max_min", without_gil<&arg_max_min>);
  m.def("scan", without_gil<&scan>);
  m.def("sort", [](const Array& x, int64_t dim, bool descending, int64_t k, const std::string& name) {
    GilRelease release(x.numel());
    return sort(x, dim, descending, k, name.c_str());
  });
  m.def("matmul", [](const Array& a, const Array& b) {
    GilRelease release(add_work(a.numel(), b.numel()));
    return matmul(a, b);
  });
  m.def("attention", without_gil<&attention>);
  m.def("rnn_layer", without_gil<&rnn_layer>);
  m.def("rnn_layer_backward", without_gil<&rnn_layer_backward>);
  m.def("attention_backward", without_gil<&attention_backward>);
  m.def("gather", without_gil<&gather>);
  m.def("scatter_add", without_gil<&scatter_add>);
  m.def("scatter_reduce", without_gil<&scatter_reduce>);
  m.def("index_select", without_gil<&index_select>);
  m.def("index_add", without_gil<&index_add>);
  m.def("resample", without_gil<&resample>);
  m.def("resample_backward", without_gil<&resample_backward>);
  m.def("cat", without_gil<&cat>);

  m.def("manual_seed", &rng::manual_seed);
  m.def("rng_state", [] {
    const rng::Position at = rng::state();
    return py::make_tuple(at.seed, at.offset);
  });
  m.def("philox", [](uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
    auto r = kernels::philox4x32_10(counter_lo, counter_hi, key);
    return py::make_tuple(r.v[0], r.v[1], r.v[2], r.v[3]);
  });
  m.def("set_num_threads", &set_num_threads);
  m.def("get_num_threads", &get_num_threads);
  // The busy-machine back-off (kernels/cpu/team.h); team: the size of the calling thread's next region.
  m.def("cpu_team_stats", [] {
    using namespace pybind11::literals;
    const cpu::TeamStats s = cpu::team_stats();
    adopt_num_threads();
    return pybind11::dict("late_regions"_a = s.late_regions, "backoff_s"_a = s.backoff_ns * 1e-9,
                          "backed_off"_a = s.backed_off, "team"_a = omp_get_max_threads());
  });
  m.def("cpu_team_report_late", &cpu::team_report_late);
  m.def("cpu_team_clear", &cpu::team_clear);
  m.def("cpu_isa", [] { return cpu::isa_name(cpu::active_isa()); });
  m.def("set_flush_denormal", [](bool flush) {
    cpu::g_flush_denormal = flush;
    return cpu::flush_denormal_supported();
  });
  m.def("flush_denormal", &cpu::flush_denormal);

  m.def("cuda_compiled", &cuda::compiled);
  m.def("cuda_device_count", &cuda::device_count);
  m.def("cuda_unavailable_reason", &cuda::unavailable_reason);
  m.def("cuda_archs_run_on", &cuda::archs_run_on);
  m.def("cuda_device_name", &cuda::device_name);
  m.def("cuda_synchronize", &cuda::synchronize);
}
