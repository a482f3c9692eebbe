# Warnings as errors for flowex's own code only; third-party headers are system includes.
add_library(flowex_warnings INTERFACE)
target_compile_options(flowex_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wshadow=local -Wnon-virtual-dtor -Wcast-align
  -Wno-missing-field-initializers)

function(flowex_target_defaults target)
  target_link_libraries(${target} PRIVATE flowex_warnings)
endfunction()
