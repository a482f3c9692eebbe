# CTest driver for TelemetryInterop.<CHECK>: write sample exports with the test executable,
# then check them with node against @opentelemetry/otlp-transformer@0.52.1 (tests/interop).
# Inputs: TEST_EXE, NODE, INTEROP_DIR, CHECK (protobuf|json), OUT_DIR.
if(NOT EXISTS "${INTEROP_DIR}/node_modules/@opentelemetry/otlp-transformer/package.json")
  message(FATAL_ERROR "tests/interop/node_modules missing: run `npm ci` in ${INTEROP_DIR} "
                      "(scripts/bootstrap does)")
endif()
file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env FLOWEX_INTEROP_OUT=${OUT_DIR}
          ${TEST_EXE} --gtest_filter=TelemetryInteropExport.WriteSamples
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT EXISTS "${OUT_DIR}/expected.json")
  message(FATAL_ERROR "writing samples failed (${rc}):\n${out}")
endif()
execute_process(
  COMMAND ${NODE} ${INTEROP_DIR}/check_${CHECK}.mjs ${OUT_DIR}
  WORKING_DIRECTORY ${INTEROP_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "node check_${CHECK}.mjs failed (${rc})")
endif()
