#!/usr/bin/env bash
# The Python package's step of scripts/test.sh: `pip install ./python` into build-python/venv (with pytest
# and numpy), then pytest on python/tests against the C++ build given (default: build).
# Usage: bash python/test.sh [c++-build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
cpp_build="$(realpath "${1:-build}")"
venv="$PWD/build-python/venv"

has_headers() {
  python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))'
}
make_venv() { [ -x "$venv/bin/pip" ] || { rm -rf "$venv" && python3 -m venv "$venv" >/dev/null; }; }
# Debian's python3 builds extensions with python3-dev's headers and makes venvs with python3-venv.
if ! has_headers || ! make_venv; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "python/test.sh: installing python3-dev python3-venv"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends python3-dev python3-venv >/dev/null
  make_venv
fi

export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
"$venv/bin/pip" install --quiet ./python pytest numpy
# From outside python/, so that the installed package is the one imported.
(cd build-python && TIMBRE_CPP_BUILD="$cpp_build" "$venv/bin/python" -m pytest -q ../python/tests)
