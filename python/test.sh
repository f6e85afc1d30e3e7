#!/usr/bin/env bash
# The Python package's step of scripts/test.sh: `pip install ./python` into build-python/venv (with pytest
# and numpy), then pytest on python/tests against the C++ build given (default: build).
# Usage: bash python/test.sh [c++-build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
cpp_build="$(realpath "${1:-build}")"
venv="$PWD/build-python/venv"

# python3-dev (the extension's headers) and python3-venv come with the other Debian packages.
bash scripts/install-deps.sh
[ -x "$venv/bin/pip" ] || { rm -rf "$venv" && python3 -m venv "$venv"; }

export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
"$venv/bin/pip" install --quiet ./python pytest numpy
# From outside python/, so that the installed package is the one imported.
(cd build-python && TIMBRE_CPP_BUILD="$cpp_build" "$venv/bin/python" -m pytest -q ../python/tests)
