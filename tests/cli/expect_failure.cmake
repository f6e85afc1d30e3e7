# Runs a command that must fail: passes when it exits non-zero and its output
# (stdout and stderr together) matches the regular expression EXPECT.
#   cmake -DCOMMAND="prog|--flag|value" -DEXPECT="regex" -P expect_failure.cmake
# COMMAND separates its arguments with "|" (a CMake list would split at add_test).
string(REPLACE "|" ";" command "${COMMAND}")
execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(rc EQUAL 0)
  message(FATAL_ERROR "expected a failure, but the command exited 0:\n${out}${err}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "exit ${rc} as expected, but the output does not match \"${EXPECT}\":\n${out}${err}")
endif()
message(STATUS "failed as expected (exit ${rc}): ${err}")
