#include "csrc/gil.h"

#include "csrc/threads.h"

namespace pydl {

GilRelease::GilRelease(int64_t work) {
  adopt_num_threads();
  if (work >= kGilReleaseWork) state_ = PyEval_SaveThread();
}

GilRelease::~GilRelease() {
  if (state_) PyEval_RestoreThread(state_);
}

}  // namespace pydl
