#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan + coverage) and
# runs each for FUZZ_SECONDS (default 60), seeded from tests/fixtures and from
# fuzz/corpus/<target> (committed inputs, e.g. former crashes). Fails when a
# target crashes; the crashing input is left in $build/crashes/<target>/.
# Usage: bash scripts/fuzz.sh [build-dir] [target...]   (default: build-fuzz, every target but fuzz_keras_weights)
# Environment: FUZZ_SECONDS, FUZZ_JOBS (targets run at once, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build="${1:-build-fuzz}"
shift || true
seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-$(nproc)}"
fixtures="$root/tests/fixtures"
# fuzz_keras_weights is run by name only (not in CI): its parsing is libhdf5's, uninstrumented, and a minute
# of it can end in a crash inside libhdf5 that timbre cannot prevent (docs/reliability.md,
# fuzz/known_crashes/fuzz_keras_weights/); the files it found are replayed by tests/test_keras_weights.cpp.
all_targets=(fuzz_safetensors fuzz_npy fuzz_npz fuzz_tfrecord fuzz_protowire fuzz_tfdata fuzz_audio)
targets=("${@:-${all_targets[@]}}")

CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIMBRE_FUZZ=ON \
  -DTIMBRE_CUDA=OFF -DTIMBRE_BUILD_TESTS=OFF -DTIMBRE_BUILD_BENCH=OFF -DTIMBRE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

# Packs a tf.data save directory as fuzz_tfdata reads it: u32 LE length | dataset_spec.pb |
# u32 LE length | snapshot.metadata | the first snapshot file.
pack_tfdata() {
  local dir="$1" out="$2" part
  : >"$out"
  for part in "$dir/dataset_spec.pb" "$dir/snapshot.metadata"; do
    local n; n=$(stat -c %s "$part")
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))" >>"$out"
    cat "$part" >>"$out"
  done
  cat "$(find "$dir" -name '00000000.snapshot' | sort | head -n 1)" >>"$out"
}

# The seed directories of each target (read only; libFuzzer adds what it finds to the first, work, directory).
seeds() {
  local target="$1" seed_dir="$build/seeds/$target"
  rm -rf "$seed_dir" && mkdir -p "$seed_dir"
  case "$target" in
    fuzz_safetensors) cp "$fixtures"/safetensors/*.safetensors "$seed_dir"/ ;;
    fuzz_npy) cp "$fixtures"/npy/*.npy "$seed_dir"/ ;;
    fuzz_npz) cp "$fixtures"/npy/*.npz "$seed_dir"/ ;;
    fuzz_audio) cp "$fixtures"/melspec/*.wav "$fixtures"/melspec/*.au "$fixtures"/melspec/*.flac "$seed_dir"/ ;;
    fuzz_keras_weights) cp "$fixtures"/keras/*.weights.h5 "$seed_dir"/ ;;  # Keras-written; the tiny one is in fuzz/corpus
    fuzz_tfrecord)
      local f i=0
      for f in $(find "$fixtures/tfdata" -name '*.snapshot' | sort); do cp "$f" "$seed_dir/snapshot_$((i++))"; done ;;
    fuzz_protowire)
      local d
      for d in "$fixtures"/tfdata/*/; do
        [ -f "$d/dataset_spec.pb" ] || continue
        cp "$d/dataset_spec.pb" "$seed_dir/$(basename "$d").spec"
        cp "$d/snapshot.metadata" "$seed_dir/$(basename "$d").metadata"
      done ;;
    fuzz_tfdata)
      local d
      for d in "$fixtures"/tfdata/*/; do
        [ -f "$d/dataset_spec.pb" ] && pack_tfdata "$d" "$seed_dir/$(basename "$d")"
      done ;;
  esac
  [ -d "$root/fuzz/corpus/$target" ] && cp "$root/fuzz/corpus/$target"/* "$seed_dir"/ 2>/dev/null || true
  echo "$seed_dir"
}

run_target() {
  local target="$1" work="$build/corpus/$target" crashes="$build/crashes/$target" log="$build/logs/$target.log"
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  local seed_dir; seed_dir="$(seeds "$target")"
  # Inputs longer than max_len are cut when loaded: HDF5 refuses a cut file, so a
  # Keras fixture (up to 1 MB) is a seed only when max_len holds it whole.
  local max_len=262144
  [ "$target" = fuzz_keras_weights ] && max_len=1200000
  # 2 GB RSS and 1 GB per allocation: a hostile size must be refused before it is allocated.
  if ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    "$build/fuzz/$target" "$work" "$seed_dir" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -timeout=10 -max_len="$max_len" -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1; then
    echo "$target: $(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}') inputs, no crash"
  else
    echo "$target: FAILED, see $log and $crashes/"
    tail -n 40 "$log"
    return 1
  fi
}

status=0
running=0
for target in "${targets[@]}"; do
  run_target "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit "$status"
