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
