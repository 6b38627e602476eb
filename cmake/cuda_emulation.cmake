# PYDL_CUDA=EMULATE: the CUDA sources, their launches rewritten into calls of the emulator
# (tools/cuda_emu/rewrite_launches.py), compiled as C++ against tools/cuda_emu/include.
if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  message(FATAL_ERROR "PYDL_CUDA=EMULATE: the emulator's fibers are written for x86-64")
endif()
set(_emu_dir ${CMAKE_CURRENT_SOURCE_DIR}/tools/cuda_emu)
set(_emu_out ${CMAKE_CURRENT_BINARY_DIR}/emu)
file(GLOB _emu_inputs CONFIGURE_DEPENDS csrc/cuda/*.cu kernels/cuda/*.cu kernels/cuda/*.cuh)
set(_emu_sources ${_emu_dir}/emulator.cpp ${_emu_dir}/host_api.cpp ${_emu_dir}/host_memory.cpp)
set(_emu_no_contract "")
foreach(_src ${_emu_inputs})
  file(RELATIVE_PATH _rel ${CMAKE_CURRENT_SOURCE_DIR} ${_src})
  if(_src MATCHES "\\.cu$")
    set(_dst ${_emu_out}/${_rel}.cpp)
  else()
    set(_dst ${_emu_out}/${_rel})
  endif()
  add_custom_command(OUTPUT ${_dst}
    COMMAND ${Python_EXECUTABLE} ${_emu_dir}/rewrite_launches.py ${_src} ${_dst}
    DEPENDS ${_src} ${_emu_dir}/rewrite_launches.py VERBATIM)
  if(_rel IN_LIST PYDL_NO_CONTRACT_CUDA)  # nvcc --fmad=false for these (CMakeLists.txt)
    list(APPEND _emu_no_contract ${_dst})
  else()
    list(APPEND _emu_sources ${_dst})
  endif()
endforeach()
# Rewritten headers come first, then the emulated <cuda_runtime.h>, then the source tree.
target_include_directories(_C BEFORE PRIVATE ${_emu_out} ${_emu_dir}/include)
target_sources(_C PRIVATE ${_emu_sources} ${_emu_no_contract})
# The default build's architectures: PYDL_EMU_CC=75 then shows how an older GPU is refused.
target_compile_definitions(_C PRIVATE PYDL_WITH_CUDA=1 "PYDL_CUDA_ARCHS=\"80,90\"")
# a * b + c contracted into an FMA, as nvcc does for a GPU (its default -fmad=true), where the
# build machine has FMA: a result that a GPU would round differently from the CPU shows here
# too. No assumptions about shared memory (function-local statics) across the emulator's
# barrier calls.
set(_emu_contract "-ffp-contract=off")
if(EXISTS /proc/cpuinfo)
  file(STRINGS /proc/cpuinfo _emu_cpu_flags REGEX "^flags" LIMIT_COUNT 1)
  if(_emu_cpu_flags MATCHES " fma ")
    set(_emu_contract "-mfma;-ffp-contract=fast")
  endif()
endif()
# The shared scalar math lands in a namespace of its own (see kernels/common/macros.h), so the
# linker never hands these contracted copies to the CPU kernels.
set_source_files_properties(${_emu_sources} PROPERTIES
  COMPILE_OPTIONS "-O2;${_emu_contract};-fno-ipa-reference;-Wno-unused-variable"
  COMPILE_DEFINITIONS "PYDL_ISA=cuda_emu")
# What nvcc compiles with --fmad=false is emulated without contraction (FMA only where the
# source calls fma).
string(REPLACE "-ffp-contract=fast" "-ffp-contract=off" _emu_no_contract_flags "${_emu_contract}")
set_source_files_properties(${_emu_no_contract} PROPERTIES
  COMPILE_OPTIONS "-O2;${_emu_no_contract_flags};-fno-ipa-reference;-Wno-unused-variable"
  COMPILE_DEFINITIONS "PYDL_ISA=cuda_emu")
message(STATUS "pydl: CUDA backend EMULATED on the CPU (tests only)")
