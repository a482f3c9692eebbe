include(GoogleTest)

# flowex_add_test(<target> SOURCES ... LIBS ... [INTEGRATION] [PROPERTIES ...]
#                 [DISCOVERY_FILTER <gtest filter>])
#   DISCOVERY_FILTER keeps tests that only a driver can run (it sets their environment) out
#   of the per-test CTest entries, e.g. "-Interop*".
#   One gtest executable per library. Each TEST becomes its own CTest entry named by scenario.
#   Unit tests carry the label `unit`; INTEGRATION tests carry `integration` and require the
#   private PostgreSQL/Redis fixtures (scripts/test-services), whose URLs they read through
#   flowex::testing::TestEnv() (FLOWEX_TEST_ENV_FILE).
set(FLOWEX_TEST_STATE_DIR ${CMAKE_BINARY_DIR}/test-state)
function(flowex_add_test target)
  cmake_parse_arguments(T "INTEGRATION" "DISCOVERY_FILTER" "SOURCES;LIBS;PROPERTIES" ${ARGN})
  add_executable(${target} ${T_SOURCES})
  target_link_libraries(${target} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  flowex_target_defaults(${target})
  target_compile_definitions(${target} PRIVATE
    FLOWEX_SHARED_DIR="${FLOWEX_SHARED_DIR}"
    FLOWEX_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    FLOWEX_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
  set(label unit)
  set(props ENVIRONMENT "FLOWEX_TEST_ENV_FILE=${FLOWEX_TEST_STATE_DIR}/env")
  if(T_INTEGRATION)
    set(label integration)
    # One fixture, `dbs`, starts the private PostgreSQL and Redis (tests/CMakeLists.txt).
    list(APPEND props FIXTURES_REQUIRED dbs)
  endif()
  set(filter_args)
  if(T_DISCOVERY_FILTER)
    set(filter_args TEST_FILTER "${T_DISCOVERY_FILTER}")
  endif()
  gtest_discover_tests(${target}
    DISCOVERY_TIMEOUT 60
    ${filter_args}
    PROPERTIES LABELS ${label} ${props} ${T_PROPERTIES})
endfunction()
