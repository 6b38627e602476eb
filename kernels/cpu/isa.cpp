#include "kernels/cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace pydl::cpu {

static Isa detect() {
  Isa best = Isa::Generic;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
  if (best == Isa::Avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    best = Isa::Avx512;
  if (const char* want = std::getenv("PYDL_CPU_ISA")) {
    Isa asked = !std::strcmp(want, "avx512") ? Isa::Avx512 : !std::strcmp(want, "avx2") ? Isa::Avx2 : Isa::Generic;
    if (asked < best) best = asked;
  }
  return best;
}

Isa active_isa() {
  static const Isa isa = detect();
  return isa;
}

const char* isa_name(Isa isa) {
  return isa == Isa::Avx512 ? "avx512" : isa == Isa::Avx2 ? "avx2" : "generic";
}

}  // namespace pydl::cpu
