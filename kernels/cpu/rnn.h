// Recurrent layers on the CPU (kernels/common/rnn.h): one direction of one layer, its time loop
// in C++ (kernels/common/rnn_loop.h), each step's cells split over the threads by batch row.
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/rnn.h"

namespace pydl::cpu {

void rnn_forward(DType dtype, const RnnArgs& args);
// ones: steps * batch ones of dtype (the GRU's bias gradient), else null.
void rnn_backward(DType dtype, const RnnArgs& args, const void* ones);

}  // namespace pydl::cpu
