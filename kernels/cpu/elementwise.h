// Elementwise kernels on the CPU. Operand 0 of each loop is the output.
#pragma once
#include "kernels/common/dtype.h"
#include "kernels/common/functors.h"
#include "kernels/common/strided.h"

namespace pydl::cpu {

void unary(UnaryOp op, DType dtype, const StridedLoop& loop);    // out, x: dtype
void binary(BinaryOp op, DType dtype, const StridedLoop& loop);  // out (bool for comparisons), a, b: dtype
void where(DType dtype, const StridedLoop& loop);                // out, cond (bool), a, b: dtype
void copy(DType dst, DType src, const StridedLoop& loop);        // out, x; casts
void fill(DType dtype, const StridedLoop& loop, double value);   // out only

}  // namespace pydl::cpu

namespace pydl::cpu {

void arange(DType dtype, void* out, int64_t n, double start, double step);  // contiguous out

}  // namespace pydl::cpu
