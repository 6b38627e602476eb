// Run-time choice among the per-ISA copies of the CPU kernels (see kernels/common/macros.h).
#pragma once

namespace pydl::cpu {

enum class Isa : int { Generic = 0, Avx2 = 1, Avx512 = 2 };

// The best ISA this processor supports, or the one named by PYDL_CPU_ISA
// (generic|avx2|avx512; never above what the processor supports).
Isa active_isa();
const char* isa_name(Isa isa);

}  // namespace pydl::cpu

// Picks the copy of `fn` compiled for the active ISA and calls it.
#define PYDL_ISA_CALL(fn, ...)                                              \
  do {                                                                     \
    switch (::pydl::cpu::active_isa()) {                                   \
      case ::pydl::cpu::Isa::Avx512: ::pydl::kernels::avx512::fn(__VA_ARGS__); break; \
      case ::pydl::cpu::Isa::Avx2: ::pydl::kernels::avx2::fn(__VA_ARGS__); break;     \
      default: ::pydl::kernels::generic::fn(__VA_ARGS__); break;           \
    }                                                                      \
  } while (0)
#define PYDL_ISA_DECLARE(decl)             \
  namespace pydl::kernels::generic { decl; } \
  namespace pydl::kernels::avx2 { decl; }    \
  namespace pydl::kernels::avx512 { decl; }
