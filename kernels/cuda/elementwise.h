// Elementwise kernels on CUDA over the same StridedLoop the CPU walks (operand 0 is
// the output, strides in bytes). A loop whose operands are all contiguous (or
// broadcast scalars) takes a grid-stride path with 128-bit loads and stores; any
// other runs a grid-stride path that decodes each element's offsets (32-bit when they fit).
// The scalar math is kernels/common/unary.h and binary.h, shared with the CPU.
#pragma once
#include "kernels/common/binary.h"
#include "kernels/common/dtype.h"
#include "kernels/common/strided.h"
#include "kernels/common/unary.h"
#include "kernels/cuda/launch.h"

namespace pydl::cuda_kernels {

// A Python scalar operand passed by value: loop.data[index] is ignored (it may point to
// host memory) and `bytes` holds the value in the loop's compute dtype. index 0 = none.
struct HostScalar {
  int index = 0;
  alignas(8) unsigned char bytes[8] = {};
};

// The pointwise family; p0, p1: the op's parameters. unary: (out, x); backward: (dx, dy, saved).
void unary(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1, void* stream, LaunchCheck check);
void unary_backward(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1, void* stream,
                    LaunchCheck check);
void binary(BinaryOp op, DType dtype, const StridedLoop& loop, const HostScalar& scalar, void* stream,
            LaunchCheck check);                                                      // out bool for comparisons
void where(DType dtype, const StridedLoop& loop, void* stream, LaunchCheck check);  // out, cond (bool), a, b
void copy(DType dst, DType src, const StridedLoop& loop, void* stream, LaunchCheck check);  // casts
void fill(DType dtype, const StridedLoop& loop, double value, void* stream, LaunchCheck check);
void arange(DType dtype, void* out, int64_t n, double start, double step, void* stream, LaunchCheck check);

}  // namespace pydl::cuda_kernels
