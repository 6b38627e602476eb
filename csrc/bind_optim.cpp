#include "csrc/bind.h"

namespace pydl {

void bind_optim(pybind11::module_& m) { (void)m; }

}  // namespace pydl
