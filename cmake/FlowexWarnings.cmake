# Warnings as errors for flowex's own code only; third-party headers are system includes.
add_library(flowex_warnings INTERFACE)
target_compile_options(flowex_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wnon-virtual-dtor -Wcast-align
  -Wno-missing-field-initializers
  # A local shadowing a local; clang's nearest is -Wshadow-uncaptured-local.
  $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
  $<$<CXX_COMPILER_ID:Clang>:-Wshadow-uncaptured-local>
  # GCC 12 reports a false -Wmismatched-new-delete on Asio's coroutine frames (both operators
  # are Asio's own; a known GCC 12 issue with inlined coroutine frames).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)

function(flowex_target_defaults target)
  target_link_libraries(${target} PRIVATE flowex_warnings)
endfunction()
