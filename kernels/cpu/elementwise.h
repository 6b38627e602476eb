// Elementwise kernels on the CPU. Operand 0 of each loop is the output.
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/binary.h"
#include "kernels/common/strided.h"
#include "kernels/common/unary.h"

namespace pydl::cpu {

// The pointwise family (kernels/common/unary.h); p0, p1: the op's parameters.
void unary(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1);           // out, x
void unary_backward(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1);  // dx, dy, saved
void binary(BinaryOp op, DType dtype, const StridedLoop& loop);  // out (bool for comparisons), a, b: dtype
void where(DType dtype, const StridedLoop& loop);                // out, cond (bool), a, b: dtype
void copy(DType dst, DType src, const StridedLoop& loop);        // out, x; casts
void fill(DType dtype, const StridedLoop& loop, double value);   // out only

}  // namespace pydl::cpu

namespace pydl::cpu {

void arange(DType dtype, void* out, int64_t n, double start, double step);  // contiguous out

}  // namespace pydl::cpu
