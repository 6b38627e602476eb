// Portability macros shared by the CPU and CUDA kernels.
#pragma once

#if defined(__CUDACC__)
#define PYDL_HD __host__ __device__ __forceinline__
#else
#define PYDL_HD inline
#endif

// Kernels compiled once per ISA (kernels/cpu/*_isa.cpp) define PYDL_ISA to generic,
// avx2 or avx512. Everything they include from kernels/common/ then lands in a
// namespace of that name, so each ISA object carries its own copy of the shared
// inline code and the linker can never give AVX-512 code to a baseline caller.
#ifndef PYDL_ISA
#define PYDL_ISA shared
#endif
#define PYDL_KERNELS_BEGIN namespace pydl { namespace kernels { inline namespace PYDL_ISA {
#define PYDL_KERNELS_END } } }
