// The reduction family's registry (see kernels/common/registry.h): X(Name, "name"). The CPU
// (kernels/cpu/reduce.h) and CUDA (kernels/cuda/reduce.h) kernels take the one enum.
#pragma once

#include "kernels/common/registry.h"

namespace pydl {

#define PYDL_REDUCE_OPS(X) \
  X(Sum, "sum")            \
  X(Mean, "mean")          \
  X(Max, "max")            \
  X(Min, "min")            \
  X(Var, "var")

enum class ReduceOp : int { PYDL_REDUCE_OPS(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(ReduceOp, PYDL_REDUCE_OPS)

}  // namespace pydl
