# Every dependency comes from Debian 12 packages (scripts/bootstrap installs them).
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED COMPONENTS json url system)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
find_package(ZLIB REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(Protobuf REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)

# Boost.Asio with C++20 coroutines; no deprecated interfaces.
add_library(flowex_boost INTERFACE)
target_link_libraries(flowex_boost INTERFACE Boost::headers Boost::json Boost::url Threads::Threads)
target_compile_definitions(flowex_boost INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW BOOST_ASIO_DISABLE_CONCEPTS)

# jemalloc as the process allocator of a binary whose hot path allocates most (the collector:
# 7 % less CPU than glibc's malloc, docs/benchmarks.md). Not under sanitizers (FLOWEX_SANITIZE,
# FLOWEX_FUZZ), which bring their own allocator.
function(flowex_use_jemalloc target)
  if(NOT FLOWEX_SANITIZE AND NOT FLOWEX_FUZZ)
    target_link_libraries(${target} PRIVATE PkgConfig::JEMALLOC)
  endif()
endfunction()
