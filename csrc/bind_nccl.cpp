// Bindings for NCCL (csrc/nccl.h); the Python side is pydl/distributed/nccl.py.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/nccl.h"

namespace py = pybind11;
using namespace pydl;

void pydl::bind_nccl(py::module_& m) {
  using release = py::call_guard<py::gil_scoped_release>;
  m.def("nccl_load", &nccl::load, py::arg("path"), release());
  m.def("nccl_loaded", &nccl::loaded);
  m.def("nccl_unique_id", [] { return py::bytes(nccl::unique_id()); });

  py::class_<nccl::Work, std::shared_ptr<nccl::Work>>(m, "NcclWork")
      .def("wait", &nccl::Work::wait, release())
      .def("is_completed", &nccl::Work::is_completed, release())
      .def("synchronize", &nccl::Work::synchronize, py::arg("timeout_s"), release());

  py::class_<nccl::Communicator>(m, "NcclComm")
      .def(py::init([](const py::bytes& id, int nranks, int rank, int device) {
             std::string raw = id;
             py::gil_scoped_release unlocked;  // NCCL's bootstrap waits for the other ranks
             return new nccl::Communicator(raw, nranks, rank, device);
           }),
           py::arg("unique_id"), py::arg("nranks"), py::arg("rank"), py::arg("device"))
      .def("all_reduce", &nccl::Communicator::all_reduce, release())
      .def("broadcast", &nccl::Communicator::broadcast, release())
      .def("all_gather", &nccl::Communicator::all_gather, release())
      .def("reduce_scatter", &nccl::Communicator::reduce_scatter, release())
      .def("abort", &nccl::Communicator::abort, release())
      .def("destroy", &nccl::Communicator::destroy, release())
      .def_property_readonly("rank", &nccl::Communicator::rank)
      .def_property_readonly("size", &nccl::Communicator::size)
      .def_property_readonly("device", &nccl::Communicator::device);
}
