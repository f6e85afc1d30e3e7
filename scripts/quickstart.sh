#!/usr/bin/env bash
# README quick start, command 1: install the Debian packages, build timbre, and
# train the seed's P2 (CNN-BiLSTM) on the built-in synthetic genre data,
# writing history, plots and checkpoints to runs/p2 (override: OUT=dir). A second
# quick start replaces the first one's run (--overwrite), unless told to --resume it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${TIMBRE_CMAKE_ARGS:-}
cmake --build build -j "$(nproc)" --target cnn_bilstm
start=--overwrite
for arg in "$@"; do [[ $arg == --resume* ]] && start=; done
build/examples/cnn_bilstm --out "${OUT:-runs/p2}" $start "$@"
