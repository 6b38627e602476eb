// Recurrent layers on CUDA (kernels/common/rnn.h): the same time loop as the CPU's
// (kernels/common/rnn_loop.h), launched from the host without synchronizing: per step one GEMM
// and one kernel over the step's (batch, hidden) cells.
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/rnn.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

void rnn_forward(DType dtype, const RnnArgs& args, void* stream, LaunchCheck check);
void rnn_backward(DType dtype, const RnnArgs& args, const void* ones, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
