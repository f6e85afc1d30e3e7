# Runs a command and passes when it exits with status EXIT and its output (stdout and stderr
# together) matches the regular expression EXPECT.
#   cmake -DCOMMAND="prog|arg|arg" -DEXIT=1 -DEXPECT="regex" -P expect_exit.cmake
# COMMAND separates its arguments with "|" (a CMake list would split at add_test).
string(REPLACE "|" ";" command "${COMMAND}")
execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc STREQUAL "${EXIT}")
  message(FATAL_ERROR "expected exit ${EXIT}, got ${rc}:\n${out}${err}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "exit ${rc} as expected, but the output does not match \"${EXPECT}\":\n${out}${err}")
endif()
message(STATUS "exit ${rc} as expected:\n${out}${err}")
