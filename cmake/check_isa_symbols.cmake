# Fails the build if an AVX-512 object defines an externally visible symbol outside
# its own namespace: the linker could pick that copy for every caller, and code on a
# CPU without AVX-512 would die of SIGILL. Run with -DNM=... -DOBJECTS=a.o;b.o -DISA=avx512.
foreach(obj IN LISTS OBJECTS)
  execute_process(COMMAND ${NM} -C --defined-only --extern-only ${obj} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${obj}")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  foreach(line IN LISTS lines)
    # DW.ref.__gxx_personality_v0 is a data pointer the exception tables share, not code.
    if(line AND NOT line MATCHES "pydl::kernels::${ISA}::" AND NOT line MATCHES " DW\\.ref\\.")
      message(FATAL_ERROR "${obj}: symbol outside pydl::kernels::${ISA}: ${line}")
    endif()
  endforeach()
endforeach()
