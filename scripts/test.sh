#!/usr/bin/env bash
# The test command of README.md: installs the Debian packages, builds timbre
# (Release, CUDA kernels compiled when nvcc is present), and runs every test.
# Usage: bash scripts/test.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
bash scripts/install-deps.sh
jobs="$(nproc)"
# Under ctest -j, OpenMP threads of parallel tests share the cores: no spin-waiting.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${TIMBRE_CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"
# The sanitizer build's tests, every fuzzer for FUZZ_SECONDS (60) each (docs/reliability.md) and
# the device kit's dry run, then the main suite, so that the run ends with ctest's summary.
bash scripts/test-sanitizers.sh
# The suite once more without OpenMP (TIMBRE_OPENMP=OFF): code that only works threaded fails there.
bash scripts/test-serial.sh
FUZZ_SECONDS="${FUZZ_SECONDS:-60}" bash scripts/fuzz.sh
# The device kit's dry run (docs/cuda.md, "The device kit"): its own CUDA build in build-device,
# only the kit's programs; skipped without nvcc.
bash scripts/device/dry-run.sh
# The Python package (python/, docs/python.md): pip builds it from this checkout into its own venv; its tests
# compare it with this build's trainers and programs (TIMBRE_CPP_BUILD).
bash python/test.sh "$build"
cd "$build"
ctest --output-on-failure -j "$jobs" --timeout 900
