#include "csrc/bind.h"

namespace pydl {

void bind_activation(pybind11::module_& m) { (void)m; }

}  // namespace pydl
