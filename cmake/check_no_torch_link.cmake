# ctest core_tests_link_no_torch: fails when BINARY needs libtorch, libc10 or libcaffe2,
# directly or through another library (ldd lists the whole closure).
#   cmake -DBINARY=<executable> -P check_no_torch_link.cmake
if(NOT BINARY OR NOT EXISTS "${BINARY}")
  message(FATAL_ERROR "check_no_torch_link: no such binary '${BINARY}'")
endif()
execute_process(COMMAND ldd "${BINARY}" OUTPUT_VARIABLE libs RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_no_torch_link: ldd ${BINARY} failed (${rc})")
endif()
string(REGEX MATCHALL "[^\n\t ]*(libtorch|libc10|libcaffe2)[^\n\t ]*" torch_libs "${libs}")
if(torch_libs)
  list(REMOVE_DUPLICATES torch_libs)
  message(FATAL_ERROR "${BINARY} links torch: ${torch_libs}")
endif()
message(STATUS "${BINARY}: no libtorch/libc10/libcaffe2 among its libraries")
