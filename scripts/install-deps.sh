#!/usr/bin/env bash
# Installs the Debian packages timbre's build, tests and examples need.
# Idempotent: quiet and fast when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev           # CPU kernels: GEMM and vectorised loops
  catch2                  # tests (Catch2 v2)
  libbenchmark-dev        # bench/
  python3                 # tools/compare/bench_diff.py and its tests (tests/tools)
  python3-dev python3-venv  # the Python package (python/test.sh: its extension, its venv)
  libcli11-dev            # command-line flags of the examples
  nlohmann-json3-dev      # safetensors headers, history JSON
  libsndfile1-dev         # audio decoding (WAV, AU, FLAC, OGG, MP3)
  libsoxr-dev             # resampling to 22050 Hz
  libfftw3-dev            # STFT of the log-mel pipeline
  zlib1g-dev              # GZIP tf.data snapshots, .npz
  libsnappy-dev           # SNAPPY tf.data snapshots
  libcairo2-dev           # training plots (PNG)
  libhdf5-dev             # Keras .weights.h5 import and export
  openmpi-bin libopenmpi-dev  # data-parallel training across processes (mpirun)
  clang libclang-rt-14-dev libomp-dev  # fuzz/: libFuzzer (libclang_rt.fuzzer) and clang's OpenMP
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
