// The pybind11 module is assembled from one binding file per op family.
#pragma once
#include <pybind11/pybind11.h>

namespace pydl {

void bind_enums(pybind11::module_& m);  // bind_enums.cpp: the op-family registries as Python enums
void bind_core(pybind11::module_& m);  // bindings.cpp: Array, creation, elementwise, reductions, indexing
void bind_gemm(pybind11::module_& m);  // bind_gemm.cpp: linear (GEMM with fused epilogue)
void bind_softmax_and_losses(pybind11::module_& m);  // bind_loss.cpp: softmax, losses
void bind_norm(pybind11::module_& m);  // bind_norm.cpp: dropout, batch-norm
void bind_conv(pybind11::module_& m);  // bind_conv.cpp: conv2d, pooling
void bind_optim(pybind11::module_& m);  // bind_optim.cpp: optimizer update kernels
void bind_runtime(pybind11::module_& m);  // bind_runtime.cpp: CUDA memory stats and streams, DLPack
void bind_nccl(pybind11::module_& m);  // bind_nccl.cpp: NCCL, loaded at run time (pydl.distributed)

}  // namespace pydl
