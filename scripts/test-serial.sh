#!/usr/bin/env bash
# The Catch2 suite of a build without OpenMP (TIMBRE_OPENMP=OFF), as llm.c builds
# it too: code that only works threaded, or only compiles with OpenMP, fails here.
# CPU only, no benchmarks or trainers. On x86-64 it is built for x86-64-v2 (SSE,
# 16-byte vectors) while the other builds use the machine's own -march, so the
# kernels' narrow-vector paths (kernels/cpu/simd.h) are tested too.
# Usage: bash scripts/test-serial.sh [build-dir]   (default: build-serial)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-serial}"
arch=native
[[ "$(uname -m)" == x86_64 ]] && arch=x86-64-v2
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIMBRE_OPENMP=OFF -DTIMBRE_CUDA=OFF \
  -DTIMBRE_DISTRIBUTED=OFF -DTIMBRE_BUILD_BENCH=OFF -DTIMBRE_BUILD_EXAMPLES=OFF -DTIMBRE_ARCH="$arch"
cmake --build "$build" -j "$(nproc)" --target timbre_tests
"$build/tests/timbre_tests" --order decl
