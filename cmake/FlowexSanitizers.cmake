# FLOWEX_SANITIZE=address|undefined|thread (or a comma list such as address,undefined).
set(FLOWEX_SANITIZE "" CACHE STRING "Sanitizers: address, undefined, thread (comma separated)")
if(FLOWEX_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${FLOWEX_SANITIZE}")
  foreach(s IN LISTS _sanitizers)
    if(NOT s MATCHES "^(address|undefined|thread)$")
      message(FATAL_ERROR "FLOWEX_SANITIZE: unknown sanitizer '${s}' (address|undefined|thread)")
    endif()
  endforeach()
  string(REPLACE ";" "," _joined "${_sanitizers}")
  add_compile_options(-fsanitize=${_joined} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_joined})
  add_compile_definitions(FLOWEX_SANITIZED=1)
  if("thread" IN_LIST _sanitizers)
    # GCC warns, at every use, that TSan does not model std::atomic_thread_fence, which
    # Asio's handler invocation uses; under -Werror that stopped the build at libs/http.
    add_compile_options(-Wno-tsan)
  endif()
endif()

# FLOWEX_FUZZ=ON (clang only): every target compiled with libFuzzer's coverage instrumentation
# and AddressSanitizer + UBSan, so that the fuzzers see coverage inside the libraries they
# call, and tests/fuzz adds a libFuzzer binary flowex-fuzz-<target> per fuzz target.
option(FLOWEX_FUZZ "Build the libFuzzer binaries (clang), everything instrumented" OFF)
if(FLOWEX_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FLOWEX_FUZZ needs clang (CC=clang CXX=clang++ cmake ...)")
  endif()
  if(FLOWEX_SANITIZE)
    message(FATAL_ERROR "FLOWEX_FUZZ brings address,undefined itself: leave FLOWEX_SANITIZE empty")
  endif()
  # -fsanitize=function: clang 14 cannot emit its prologue data for Asio's coroutines ("Cannot
  # represent a difference across sections"); the other UBSan checks stay.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function
                      -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(FLOWEX_SANITIZED=1)
endif()
