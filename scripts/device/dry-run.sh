#!/usr/bin/env bash
# The device kit's dry run, on a machine without a GPU: packs the kit (scripts/device/pack.sh),
# unpacks it into a temporary folder and runs its check.sh there with only the kit's libraries
# on LD_LIBRARY_PATH, then asserts what the device would depend on: check.sh exits 0, reports
# no GPU, skips the GPU steps, passes the others, every library is the kit's or one pack.sh left
# to the machine, and the results obey the device tool's limits on what comes back (at most 8
# files, no deeper than two folders, each under 16 MiB, names of letters, digits, '.', '_', '-').
# Skipped (exit 0) where there is no nvcc to build the kit, or where a GPU is present.
# Usage: bash scripts/device/dry-run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

readonly archive=device-kit/timbre-device-kit.tar.gz no_nvcc_status=3

fail() {
  echo "dry-run: FAILED: $*" >&2
  exit 1
}

# The limits of the device tool's $OUT (docs/cuda.md, "The device kit").
check_result_limits() {
  local results=$1 files
  files=$(find "$results" -type f | wc -l)
  ((files <= 8)) || fail "$files result files, more than 8"
  [ -z "$(find "$results" -mindepth 4)" ] || fail "results deeper than two folders: $(find "$results" -mindepth 4)"
  [ -z "$(find "$results" -type f -size +16777215c)" ] || fail "results of 16 MiB or more: $(find "$results" -size +16777215c)"
  [ -z "$(find "$results" -mindepth 1 -regextype posix-extended ! -regex '.*/[A-Za-z0-9._-]+')" ] ||
    fail "result names with other characters than letters, digits, '.', '_', '-'"
  echo "dry-run: $files result files within the limits: $(cd "$results" && echo *)"
}

# What summary.json must say on a machine without a GPU.
check_summary() {
  python3 - "$1/summary.json" <<'EOF'
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
cpu_steps = {"system", "libraries", "p2_cpu", "predict"}
problems = [f"{n}: {s['status']} ({s['note']})" for n, s in steps.items() if n in cpu_steps and s["status"] != "ok"]
problems += [f"{n}: {s['status']}, expected skipped for want of a GPU" for n, s in steps.items()
             if n not in cpu_steps and not (s["status"] == "skipped" and s["note"].startswith("no GPU"))]
libraries = steps["libraries"]["numbers"]
problems += [f"libraries: {key}: {libraries[key]}" for key in ("missing", "unexpected") if libraries.get(key)]
print("\n".join(problems) if problems else f"dry-run: summary.json as expected without a GPU; "
      f"from the machine: {libraries['from_machine']}")
sys.exit(1 if problems else 0)
EOF
}

main() {
  local status=0
  if command -v nvidia-smi >/dev/null && [[ $(nvidia-smi -L 2>/dev/null || true) == *"GPU "* ]]; then
    echo "dry-run: skipped: this machine has a GPU; run the kit's check.sh itself"
    exit 0
  fi
  bash scripts/device/pack.sh || status=$?
  if ((status == no_nvcc_status)); then
    echo "dry-run: skipped: no nvcc here to build the device kit"
    exit 0
  fi
  ((status == 0)) || fail "pack.sh exited with $status"
  tmp=$(mktemp -d)  # global: the EXIT trap runs after main has returned
  trap 'rm -rf "$tmp"' EXIT
  tar -xzf "$archive" -C "$tmp"
  env -u LD_LIBRARY_PATH bash "$tmp/timbre-device-kit/check.sh" "$tmp/results" || fail "check.sh exited with $?"
  check_result_limits "$tmp/results"
  check_summary "$tmp/results" || fail "summary.json: see above"
  echo "dry-run: ok"
}

main "$@"
