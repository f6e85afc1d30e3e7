#!/usr/bin/env bash
# Packs the device kit (docs/cuda.md, "The device kit"): a CUDA build for sm_90 and a
# portable -march, its programs stripped, the shared libraries they need that a bare GPU
# machine lacks, check.sh and peers.py, in one archive under device-kit/.
# Usage: [TIMBRE_KIT_ARCH=x86-64-v4] bash scripts/device/pack.sh
# TIMBRE_KIT_ARCH: the kit's -march, x86-64-v3 (default: any x86-64 of the last decade) or
# x86-64-v4 (AVX-512, as the kernels of kernels/cpu/simd.h are written for; v3 spills them).
# Exit status 3: no CUDA compiler here, nothing was built (the dry run skips on it).
set -euo pipefail
cd "$(dirname "$0")/../.."

readonly build=build-device out_dir=device-kit kit=timbre-device-kit max_mib=48 no_nvcc_status=3
readonly march=${TIMBRE_KIT_ARCH:-x86-64-v3}
readonly programs=(tests/timbre_tests bench/bench_cuda bench/bench_ops bench/bench_models
  examples/parallel_cnn examples/cnn_lstm examples/cnn_bilstm examples/predict)
# glibc's own libraries and the GPU driver must be the machine's; the C++ and GCC runtimes are
# on every Linux; cuBLAS, cuBLASLt, NCCL and cuDNN are too large to carry (check.sh takes
# PyTorch's copies on the device).
readonly not_bundled='^(linux-vdso|ld-linux-x86-64|libc|libm|libmvec|libdl|libpthread|librt|libresolv|libutil|libanl|libstdc\+\+|libgcc_s|libcuda|libcublas|libcublasLt|libnccl|libcudnn[a-z_]*)\.so'

find_nvcc() {
  local candidate
  for candidate in "${CUDACXX:-}" "$(command -v nvcc || true)" /usr/local/cuda/bin/nvcc; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
  echo "pack.sh: no CUDA compiler: nvcc is neither \$CUDACXX, on PATH nor /usr/local/cuda/bin/nvcc;" \
    "the device kit needs a CUDA build (skipped)" >&2
  exit "$no_nvcc_status"
}

# Only the kit's programs: the other benchmarks, the MPI tests and the fuzzers are not built.
build_programs() {
  local nvcc=$1 targets=() p
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$nvcc" \
    -DTIMBRE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_RUNTIME_LIBRARY=Shared \
    -DTIMBRE_DISTRIBUTED=OFF -DTIMBRE_ARCH="$march"
  for p in "${programs[@]}"; do targets+=("$(basename "$p")"); done
  cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
}

# "soname path" of every library the programs load, once each; stops at one not installed here.
library_closure() {
  local program listing
  for program in "$@"; do
    listing=$(ldd "$program")
    if grep -q "not found" <<<"$listing"; then
      echo "pack.sh: $(basename "$program") needs libraries that are not installed here:" >&2
      grep "not found" <<<"$listing" >&2
      exit 1
    fi
    awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' <<<"$listing"
  done | sort -u
}

# Copies the closure's libraries into lib/ under their sonames, except those left to the machine;
# libraries.txt lists each with where it came from here and whether it is "bundled" or "machine".
bundle_libraries() {
  local stage=$1 soname path closure
  closure=$(library_closure "$stage"/bin/*)
  while read -r soname path; do
    if [[ $soname =~ $not_bundled ]]; then
      echo "$soname $path machine"
    else
      cp -L "$path" "$stage/lib/$soname"
      echo "$soname $path bundled"
    fi
  done <<<"$closure" >"$stage/libraries.txt"
}

# The versions of a glibc symbol set (GLIBC or GLIBCXX) that one file needs, one a line.
versions_needed() {
  readelf -V --wide "$2" | awk -v p="Name: ${1}_" '/Version needs section/ {needs = 1}
    /Version (definition|symbols) section/ {needs = 0} needs && index($0, p) {sub(".*" p, ""); print $1}'
}

# The highest of them over all the files.
highest_needed() {
  local prefix=$1 f; shift
  for f in "$@"; do versions_needed "$prefix" "$f"; done | sort -uV | tail -n 1
}

# The files that need that version: what to rebuild or drop when a device's glibc is older.
needed_by() {
  local prefix=$1 version=$2 f; shift 2
  for f in "$@"; do if versions_needed "$prefix" "$f" | grep -qx "$version"; then basename "$f"; fi; done | tr '\n' ' '
}

write_manifest() {
  local stage=$1 nvcc=$2 glibc glibcxx
  glibc=$(highest_needed GLIBC "$stage"/bin/* "$stage"/lib/*)
  glibcxx=$(highest_needed GLIBCXX "$stage"/bin/* "$stage"/lib/*)
  echo "pack.sh: the kit needs GLIBC_$glibc and GLIBCXX_$glibcxx (glibc and libstdc++ of the device)"
  {
    echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes')"
    echo "packed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "packed_on=$(. /etc/os-release && echo "$PRETTY_NAME"), $(ldd --version | sed -n 1p)"
    echo "nvcc=$("$nvcc" --version | grep -o 'release [0-9.]*' | cut -d' ' -f2)"
    echo "cuda_architectures=90"
    echo "march=$march"
    echo "glibc_needed=$glibc"
    echo "glibc_needed_by=$(needed_by GLIBC "$glibc" "$stage"/bin/* "$stage"/lib/*)"
    echo "glibcxx_needed=$glibcxx"
    echo "glibcxx_needed_by=$(needed_by GLIBCXX "$glibcxx" "$stage"/bin/* "$stage"/lib/*)"
  } >"$stage/kit.txt"
}

stage_kit() {
  local stage=$1 nvcc=$2 p
  mkdir -p "$stage/bin" "$stage/lib" "$stage/data"
  for p in "${programs[@]}"; do cp "$build/$p" "$stage/bin/"; done
  bundle_libraries "$stage"
  strip --strip-unneeded "$stage"/bin/* "$stage"/lib/*
  cp scripts/device/check.sh scripts/device/summarize.py tools/compare/peers.py "$stage/"
  cp tests/fixtures/melspec/chirp.au "$stage/data/"  # a clip for check.sh's predict step
  write_manifest "$stage" "$nvcc"
}

main() {
  local nvcc archive bytes
  case $march in
    x86-64-v3 | x86-64-v4) ;;
    *) echo "pack.sh: TIMBRE_KIT_ARCH=$march: expected x86-64-v3 or x86-64-v4" >&2 && exit 2 ;;
  esac
  nvcc=$(find_nvcc)
  build_programs "$nvcc"
  staging=$(mktemp -d)  # global: the EXIT trap runs after main has returned
  trap 'rm -rf "$staging"' EXIT
  stage_kit "$staging/$kit" "$nvcc"
  mkdir -p "$out_dir"
  archive="$out_dir/$kit.tar.gz"
  tar -C "$staging" -czf "$archive" "$kit"
  bytes=$(stat -c %s "$archive")
  echo "pack.sh: $archive: $((bytes / 1024)) KiB ($(grep -c ' bundled$' "$staging/$kit/libraries.txt") bundled libraries)"
  if ((bytes > max_mib * 1024 * 1024)); then
    echo "pack.sh: $archive is larger than $max_mib MiB: it would not travel to the device with the tree" >&2
    exit 1
  fi
}

main "$@"
