#include "kernels/cpu/float_mode.h"

namespace pydl::cpu {

std::atomic<bool> g_flush_denormal{true};

}  // namespace pydl::cpu
