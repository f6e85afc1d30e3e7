#!/usr/bin/env bash
# The tests under AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer:
# a second build directory, CPU only, every report fatal. The whole Catch2 suite runs
# (about 1.5 minutes on the 2-core development machine, docs/reliability.md);
# TIMBRE_SANITIZE_TESTS takes a Catch2 test spec to run less, e.g. "~[training]".
# Usage: bash scripts/test-sanitizers.sh [build-dir]   (default: build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-asan}"
jobs="$(nproc)"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# Two OpenMP threads per test process: the parallel kernels still run threaded.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
# -O1: instrumented code stays fast enough to run, and compiles in a fraction of -O3's time;
# assertions (Eigen's bounds checks included) stay on.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DTIMBRE_SANITIZE=address,undefined \
  -DTIMBRE_CUDA=OFF -DTIMBRE_BUILD_BENCH=OFF -DTIMBRE_BUILD_EXAMPLES=OFF
cmake --build "$build" -j "$jobs" --target timbre_tests

suppressions="$PWD/tests/sanitizers/lsan.supp"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$suppressions:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# tests/sanitizers/lsan.supp: leaks of system libraries only (see the file).
"$build/tests/timbre_tests" ${TIMBRE_SANITIZE_TESTS:+"$TIMBRE_SANITIZE_TESTS"} --order decl
