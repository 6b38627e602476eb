// Which GPUs a CUDA build can run on, from the CMAKE_CUDA_ARCHITECTURES it was built with.
// Plain C++ (no CUDA headers): it compiles, and is tested, in every build.
#pragma once
#include <string>

namespace pydl::cuda {

// archs: CMake's list, separated by ',' ';' or ' ': "80,90", "80-real,90-virtual", "90a", "all".
// Machine code for sm_XY runs on capability X.Z for every Z >= Y ("XYa": on X.Y alone); PTX
// (compute_XY, the "-virtual" half of a plain "XY") is compiled by the driver for any
// capability >= X.Y. An empty list or one CMake keyword ("all", "native", ...) runs anywhere.
bool archs_run_on(const std::string& archs, int major, int minor);

}  // namespace pydl::cuda
