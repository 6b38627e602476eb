// The scatter family's registry (see kernels/common/registry.h): how scatter_reduce combines an
// entry of src into its place in x, X(Name, "name") with PyTorch's reduce names, and "set" for
// scatter (the entry replaces the place's value). The CPU applies the step in index order (the
// last of repeated indices is written); CUDA atomically, in any order (exact for amax and amin
// and for integers; float sums and products may differ in the last bits, and which of repeated
// indices is written is unspecified, as PyTorch's; see kernels/cuda/index.h).
#pragma once

#include "kernels/common/macros.h"
#include "kernels/common/registry.h"
#include "kernels/common/scan.h"

namespace pydl {

#define PYDL_SCATTER_OPS(X) \
  X(Sum, "sum")             \
  X(Prod, "prod")           \
  X(Max, "amax")            \
  X(Min, "amin")            \
  X(Set, "set")

enum class ScatterOp : int { PYDL_SCATTER_OPS(PYDL_ENUM_ENTRY) };
PYDL_REGISTRY(ScatterOp, PYDL_SCATTER_OPS)

}  // namespace pydl

PYDL_KERNELS_BEGIN

// x's entry after taking in v: the scans' step (kernels/common/scan.h) for the combining ops, so
// integers wrap around (computed unsigned) and amax / amin propagate NaN, as torch.maximum /
// torch.minimum.
template <class T>
PYDL_HD T scatter_step(ScatterOp op, T x, T v) {
  switch (op) {
    case ScatterOp::Set: return v;
    case ScatterOp::Sum: return scan_step(ScanOp::Sum, x, v);
    case ScatterOp::Prod: return scan_step(ScanOp::Prod, x, v);
    case ScatterOp::Max: return scan_step(ScanOp::Max, x, v);
    default: return scan_step(ScanOp::Min, x, v);
  }
}

PYDL_KERNELS_END
