#!/usr/bin/env bash
# The device kit's checks (docs/cuda.md, "The device kit"), run on the GPU machine from the
# unpacked archive that scripts/device/pack.sh wrote: the machine and its libraries, the [cuda]
# tests natively and under compute-sanitizer, bench_cuda, bench_models on CPU and GPU, P2
# trained on the CPU and the GPU from the same seed, a longer P2 run on the GPU, predict, and
# PyTorch's speed on the same GPU (peers.py). Results: at most 8 files in RESULTS_DIR, with
# summary.json giving each step's status (ok, failed, skipped, timeout), seconds and numbers.
# Each step runs under its own timeout, its cap or what is left of the 450-s budget if less,
# so that one hang cannot eat the rest and the whole run fits the device tool's 8 minutes.
# Without a GPU the GPU steps are skipped and the others run (the dry run's case).
# Exit status: 0 when every step is ok or skipped, 1 when one failed or timed out, 2 on bad use.
# Usage: bash check.sh RESULTS_DIR
# shellcheck disable=SC2154  # step_name and step_log: set by run_step for each step
set -euo pipefail

readonly budget_s=450 log_cap_bytes=262144
# compute-sanitizer's racecheck looks at shared memory only: these tests cover every kernel
# that uses it (the GEMM tiles and the column sums of kernels/cuda/columns.cuh).
readonly shared_memory_tests='op driver: gemm*,op driver: dense*,op driver: conv2d*,op driver: batchnorm*,op driver: lstm*'

usage_error() {
  echo "check.sh: $*" >&2
  echo "usage: bash check.sh RESULTS_DIR   (an empty or new folder)" >&2
  exit 2
}

# ---- the steps. Each runs in its own bash (bash -euo pipefail -c NAME) under timeout, with
# its output in $step_log; `fact KEY VALUE` hands a number or name to summary.json.
# step_name and step_log are set by run_step for each step.
fact() { printf '%s\t%s\t%s\n' "$step_name" "$1" "$2" >>"$work/facts.tsv"; }

# Is $1 at least $2, as versions (2.39 >= 2.34)?
version_at_least() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | sed -n 1p)" = "$2" ]; }

# The CPU features that the kit's -march (x86-64-v3 or -v4) lets the compiler use, as /proc/cpuinfo names them.
readonly v3_flags="avx avx2 bmi1 bmi2 f16c fma abm movbe xsave" v4_extra_flags="avx512f avx512bw avx512cd avx512dq avx512vl"
missing_cpu_flags() {
  local march=$1 flags have missing=()
  case $march in
    x86-64-v3) flags=$v3_flags ;;
    x86-64-v4) flags="$v3_flags $v4_extra_flags" ;;
    *) echo "(everything: -march=$march is neither x86-64-v3 nor -v4)" && return ;;
  esac
  have=" $(grep -m 1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  for f in $flags; do [[ $have == *" $f "* ]] || missing+=("$f"); done
  echo "${missing[*]}"
}

kit_value() { sed -n "s/^$1=//p" "$kit/kit.txt"; }

step_system() {
  local os glibc libstdcxx glibcxx cpu avx512 missing_flags
  os=$(. /etc/os-release && echo "$PRETTY_NAME")
  glibc=$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)
  libstdcxx=$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found {print $NF; found = 1}')
  [ -n "$libstdcxx" ] || { echo "ldconfig knows no 64-bit libstdc++.so.6: the kit needs one"; return 1; }
  glibcxx=$(grep -ao 'GLIBCXX_3\.4\.[0-9]*' "$libstdcxx" | sed 's/GLIBCXX_//' | sort -uV | tail -n 1)
  echo "OS: $os; kernel $(uname -r); $(nproc) cores; glibc $glibc; $libstdcxx up to GLIBCXX_$glibcxx"
  echo "kit:" && sed 's/^/  /' "$kit/kit.txt"
  cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  avx512=$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)
  missing_flags=$(missing_cpu_flags "$(kit_value march)")
  echo "CPU: $cpu; AVX-512: $avx512"
  fact os "$os" && fact glibc "$glibc" && fact glibcxx "$glibcxx" && fact cores "$(nproc)" && fact cpu "$cpu"
  fact avx512f "$avx512"
  if command -v nvidia-smi >/dev/null; then timeout 20 nvidia-smi || true; fi
  if [ -z "$no_gpu" ]; then
    fact gpu "$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed -n 1p)"
  fi
  [ -z "$missing_flags" ] ||
    { echo "this CPU lacks $missing_flags, which the kit's -march=$(kit_value march) uses"; return 1; }
  version_at_least "$glibc" "$(kit_value glibc_needed)" ||
    { echo "glibc $glibc is older than the kit's GLIBC_$(kit_value glibc_needed)"; return 1; }
  version_at_least "$glibcxx" "$(kit_value glibcxx_needed)" ||
    { echo "libstdc++ has GLIBCXX up to $glibcxx, older than the kit's GLIBCXX_$(kit_value glibcxx_needed)"; return 1; }
}

# Every library of every program found; those found outside the kit must be ones that pack.sh
# left to the machine (glibc, the C++ runtime, the driver, cuBLAS from PyTorch).
step_libraries() {
  local program soname arrow path missing=() unexpected=() from_machine=() left_to_machine found
  read -r -a left_to_machine <<<"$(awk '$3 == "machine" {print $1}' "$kit/libraries.txt" | tr '\n' ' ')"
  for program in "$kit"/bin/*; do
    while read -r soname arrow path _; do
      [ "$arrow" = "=>" ] || continue
      if [ "$path" = "not" ]; then
        missing+=("$(basename "$program"): $soname")
      elif [[ $path != "$kit/lib/"* ]]; then
        if [[ " ${left_to_machine[*]} " == *" $soname "* ]]; then from_machine+=("$soname=$path")
        else unexpected+=("$(basename "$program"): $soname=$path"); fi
      fi
    done < <(ldd "$program")
  done
  found=$(printf '%s\n' "${from_machine[@]}" | sort -u)
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "from the machine:" && sed 's/^/  /' <<<"$found"
  fact from_machine "$(tr '\n' ' ' <<<"$found")"
  fact missing "${missing[*]}"
  fact unexpected "${unexpected[*]}"
  if ((${#missing[@]})); then printf 'missing: %s\n' "${missing[@]}"; fi
  if ((${#unexpected[@]})); then printf 'found outside the kit but not left to the machine: %s\n' "${unexpected[@]}"; fi
  ((${#missing[@]} == 0 && ${#unexpected[@]} == 0))
}

# A GPU was found but the tests ran only their emulated halves: the CUDA runtime refused it.
native_halves_ran() {
  if grep -q "native CUDA comparison skipped" "$step_log"; then
    echo "check.sh: the native halves were skipped although nvidia-smi lists a GPU"
    return 1
  fi
}

step_tests_cuda() {
  CUDA_LAUNCH_BLOCKING=1 "$kit/bin/timbre_tests" "[cuda]"
  native_halves_ran
}

# The caching allocator keeps blocks until exit, so leak checking would report them all.
step_memcheck() {
  "$sanitizer" --tool memcheck --leak-check no --error-exitcode 1 "$kit/bin/timbre_tests" "[cuda]"
  native_halves_ran
}

step_racecheck() {
  "$sanitizer" --tool racecheck --error-exitcode 1 "$kit/bin/timbre_tests" "$shared_memory_tests"
  native_halves_ran
}

step_bench_cuda() {
  "$kit/bin/bench_cuda" --benchmark_min_time=0.2 --benchmark_out="$results/bench_cuda.json" \
    --benchmark_out_format=json
}

# Every op of the op table at the seed models' shapes (bench/bench_ops: the op driver's bench cases).
step_bench_ops() {
  "$kit/bin/bench_ops" --benchmark_filter=BM_cuda_ --benchmark_min_time=0.1 \
    --benchmark_out="$results/bench_ops.json" --benchmark_out_format=json
}

step_bench_models() {
  OMP_NUM_THREADS=$(nproc) "$kit/bin/bench_models" --benchmark_min_time=0.5 \
    --benchmark_out="$results/bench_models.json" --benchmark_out_format=json
}

# RUN: P2 on DEVICE from seed 1, EPOCHS on SONGS synthetic songs per genre (15 patches each), BATCH patches a step.
train_p2() {
  local run=$1 device=$2 songs=$3 epochs=$4 batch=$5
  "$kit/bin/cnn_bilstm" --device "$device" --synthetic-songs "$songs" --epochs "$epochs" --batch-size "$batch" \
    --seed 1 --threads "$(nproc)" --progress lines --overwrite --out "$work/$run"
  cp "$work/$run/history.json" "$results/${run}_history.json"
}

# 480 patches, 360 of them for training: 12 steps of 32 for summarize.py to compare the two losses.
step_p2_cpu() { train_p2 p2_cpu cpu 4 1 32; }
step_p2_cuda() { train_p2 p2_cuda cuda 4 1 32; }
# 8 genres x 80 songs x 15 patches = 9,600 patches, batches of the trainers' default 128.
step_p2_9600() { train_p2 p2_9600 cuda 80 2 128; }

step_predict() {
  "$kit/bin/predict" --device auto "$work/p2_cpu/best.safetensors" "$kit/data/chirp.au"
}

# PyTorch runs with the machine's own libraries, not the kit's.
step_peers_torch() {
  local model tf32
  for tf32 in off on; do
    for model in parallel_cnn cnn_lstm cnn_bilstm; do
      LD_LIBRARY_PATH=$caller_library_path python3 "$kit/peers.py" --framework torch --model "$model" \
        --device cuda --tf32 "$tf32" --threads "$(nproc)"
    done
  done
}

# ---- running the steps

# NAME CAP_S NEEDS: runs step_NAME under its timeout; NEEDS gpu, sanitizer, torch or "-".
run_step() {
  local name=$1 cap=$2 needs=$3 why="" left limit start ms rc=0 status=ok
  case $needs in
    gpu) why=$no_gpu ;;
    sanitizer) why=$no_gpu && [ -n "$why$sanitizer" ] || why="compute-sanitizer not found" ;;
    torch) why=${no_gpu:-$no_torch} ;;
  esac
  left=$((deadline - $(date +%s)))
  if [ -z "$why" ] && ((left < 10)); then why="no time left of the ${budget_s}-s budget"; fi
  if [ -n "$why" ]; then
    record "$name" skipped 0 "$why"
    return
  fi
  limit=$((cap < left ? cap : left))
  start=$(date +%s%N)
  step_name=$name step_log="$work/$name.log" timeout --kill-after=5 "$limit" \
    bash -euo pipefail -c "step_$name" >"$work/$name.log" 2>&1 || rc=$?
  if ((rc == 124 || rc == 137)); then status=timeout; elif ((rc != 0)); then status=failed; fi
  ms=$((($(date +%s%N) - start) / 1000000))
  record "$name" "$status" "$((ms / 1000)).$((ms % 1000 / 100))" "exit status $rc, limit ${limit} s"
  append_log "$name" "$status"
}

record() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$work/steps.tsv"
  printf 'check.sh: %-14s %-8s %6.1f s  %s\n' "$1" "$2" "$3" "$4"
}

# The step's output into log.txt: all of it, or its first and last log_cap_bytes / 2.
append_log() {
  local file="$work/$1.log" size
  size=$(stat -c %s "$file")
  {
    echo "===== $1: $2"
    if ((size <= log_cap_bytes)); then cat "$file"; else
      head -c $((log_cap_bytes / 2)) "$file"
      echo "... ($((size - log_cap_bytes)) bytes left out) ..."
      tail -c $((log_cap_bytes / 2)) "$file"
    fi
  } >>"$results/log.txt"
}

# cuBLAS and cuBLASLt are not in the kit: the device's PyTorch carries them (pip's nvidia-*
# packages and torch/lib); the CUDA toolkit's own folder comes after them.
machine_gpu_library_path() {
  command -v python3 >/dev/null || return 0
  python3 - <<'EOF'
import importlib.util, pathlib
dirs = []
for name, pattern in (("nvidia", "*/lib"), ("torch", "lib")):
    spec = importlib.util.find_spec(name)
    for root in (spec.submodule_search_locations or []) if spec else []:
        dirs += sorted(str(d) for d in pathlib.Path(root).glob(pattern) if d.is_dir())
print(":".join(dirs + [d for d in ("/usr/local/cuda/lib64",) if pathlib.Path(d).is_dir()]))
EOF
}

find_sanitizer() {
  local candidate
  for candidate in "$(command -v compute-sanitizer || true)" /usr/local/cuda/bin/compute-sanitizer \
    /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate" && return; fi
  done
}

gpu_absent_reason() {
  if ! command -v nvidia-smi >/dev/null; then echo "no GPU: nvidia-smi not found"
  elif ! [[ $(timeout 20 nvidia-smi -L 2>/dev/null || true) == *"GPU "* ]]; then echo "no GPU: nvidia-smi lists none"; fi
}

main() {
  (($# == 1)) || usage_error "expected one argument, RESULTS_DIR, got $#"
  results=$1
  kit=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  [ -f "$kit/kit.txt" ] || usage_error "$kit is not an unpacked device kit (no kit.txt): run check.sh from the archive"
  command -v python3 >/dev/null || usage_error "python3 not found: summary.json is written by summarize.py"
  if [ -e "$results" ] && ! [ -d "$results" ]; then usage_error "RESULTS_DIR $results is not a folder"; fi
  mkdir -p "$results"
  [ -z "$(ls -A "$results")" ] || usage_error "RESULTS_DIR $results is not empty"
  results=$(cd "$results" && pwd)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  deadline=$(($(date +%s) + budget_s))
  no_gpu=$(gpu_absent_reason)
  sanitizer=$(find_sanitizer)
  no_torch=$(python3 -c 'import torch' 2>/dev/null || echo "no PyTorch in python3")
  caller_library_path=${LD_LIBRARY_PATH:-}
  gpu_dirs=$(machine_gpu_library_path)
  LD_LIBRARY_PATH=$kit/lib${gpu_dirs:+:$gpu_dirs}
  export kit work results no_gpu sanitizer caller_library_path LD_LIBRARY_PATH shared_memory_tests v3_flags v4_extra_flags
  mapfile -t steps < <(compgen -A function step_)
  export -f fact version_at_least missing_cpu_flags kit_value native_halves_ran train_p2 "${steps[@]}"
  : >"$work/steps.tsv" && : >"$work/facts.tsv"
  echo "check.sh: ${no_gpu:-GPU found}; results in $results"

  run_step system 30 -
  cat "$work/system.log"
  run_step libraries 30 -
  run_step tests_cuda 90 gpu
  run_step bench_cuda 90 gpu
  run_step bench_ops 60 gpu
  run_step bench_models 90 gpu
  run_step p2_cpu 45 -
  run_step p2_cuda 45 gpu
  run_step p2_9600 120 gpu
  run_step predict 20 -
  run_step peers_torch 120 torch
  # Last: the slowest, and capped by what is left of the budget.
  run_step memcheck 120 sanitizer
  run_step racecheck 120 sanitizer
  python3 "$kit/summarize.py" --kit "$kit/kit.txt" --work "$work" --results "$results" --budget "$budget_s"
}

main "$@"
