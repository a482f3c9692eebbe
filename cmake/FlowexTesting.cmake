include(GoogleTest)

# flowex_add_test(<target> SOURCES ... LIBS ... [INTEGRATION] [PROPERTIES ...])
#   One gtest executable per library. Each TEST becomes its own CTest entry named by scenario.
#   Unit tests carry the label `unit`; INTEGRATION tests carry `integration` and require the
#   private PostgreSQL/Redis fixtures (scripts/test-services), whose URLs they read through
#   flowex::testing::TestEnv() (FLOWEX_TEST_ENV_FILE).
set(FLOWEX_TEST_STATE_DIR ${CMAKE_BINARY_DIR}/test-state)
function(flowex_add_test target)
  cmake_parse_arguments(T "INTEGRATION" "" "SOURCES;LIBS;PROPERTIES" ${ARGN})
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
  gtest_discover_tests(${target}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS ${label} ${props} ${T_PROPERTIES})
endfunction()
