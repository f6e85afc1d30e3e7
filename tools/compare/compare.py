#!/usr/bin/env python3
"""Same-run comparison of timbre with PyTorch and Keras 3 on the seed's three models.

For each thread count: timbre's SGEMM rate (bench_gemm, 1024^3) and model throughput (bench_models),
measured alternately --repeats times so that the yardstick and the models see the same machine (a
shared machine's speed drifts by tens of percent within minutes), then PyTorch and Keras (peers.py,
one process per framework and model), all on random data, batch 128.
Prints a table of samples/s, timbre's ratio to the best peer, and the share of the hardware bound
(FLOPs of a step, counted from the layer shapes, over the SGEMM rate measured in the same run).

  python3 tools/compare/compare.py --build build [--threads 1 2] [--python /path/to/python]

--python must have torch and tensorflow-cpu; without it, a virtual environment is made in
tools/compare/.venv and both are installed with pip. Medians over --repeats timed runs each.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ["parallel_cnn", "cnn_lstm", "cnn_bilstm"]


def lstm_flops(steps, features, units, directions=1):
    return directions * steps * 2 * 4 * units * (features + units)


# Forward FLOPs per sample, from the layer shapes (multiply-adds x 2).
FORWARD_FLOPS = {
    "parallel_cnn": 2 * (73 * 73 * 3 * 64 + 77 * 77 * 4 * 16 + 6748 * 8),
    "cnn_lstm": 2 * (77 * 77 * 8 * 16 + 36 * 36 * 6 * 72 + 32 * 200 + 200 * 8)
    + lstm_flops(324, 6, 128) + lstm_flops(324, 128, 32),
    "cnn_bilstm": 2 * (80 * 80 * 8 * 16 + 40 * 40 * 6 * 72 + 64 * 200 + 200 * 8)
    + lstm_flops(100, 24, 128, 2) + lstm_flops(100, 256, 32, 2),
}
TRAIN_FACTOR = 3  # forward + backward (input and weight gradients)


def python_with_peers(requested):
    if requested:
        return requested
    venv = HERE / ".venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        subprocess.check_call([str(python), "-m", "pip", "install", "-q", "torch", "tensorflow-cpu"])
    return str(python)


def run_benchmark(binary, threads, flt, repetitions):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, f"--benchmark_filter={flt}", "--benchmark_format=json",
                          f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true"],
                         env=env, check=True, capture_output=True, text=True).stdout
    benchmarks = json.loads(out)["benchmarks"]
    medians = {b["run_name"]: b for b in benchmarks if b.get("aggregate_name") == "median"}
    # One repetition reports no aggregates: the single run is the median.
    return medians or {b["run_name"]: b for b in benchmarks if b.get("run_type", "iteration") == "iteration"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="timbre's build directory")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--python", help="a Python with torch and tensorflow-cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write all figures to this file")
    args = parser.parse_args()
    if args.repeats < 1 or any(t < 1 for t in args.threads):
        parser.error("--repeats and --threads must be >= 1")
    python = python_with_peers(args.python)
    bench = Path(args.build) / "bench"
    rows = []
    for threads in args.threads:
        sgemm_runs, model_runs = [], []
        for _ in range(args.repeats):
            gemm = run_benchmark(str(bench / "bench_gemm"), threads, "1024x1024x1024", 1)
            sgemm_runs.append(next(iter(gemm.values()))["GFLOP/s"] * 1e9)
            model_runs.append(run_benchmark(str(bench / "bench_models"), threads, "BM_model", 1))
        sgemm = statistics.median(sgemm_runs)
        for model in MODELS:
            row = {"model": model, "threads": threads, "sgemm_gflops": sgemm / 1e9,
                   "sgemm_gflops_runs": [round(g / 1e9, 1) for g in sgemm_runs]}
            for mode in ("train", "infer"):
                row[f"timbre_{mode}"] = statistics.median(
                    run[f"BM_model_{mode}/{model}/real_time"]["samples/s"] for run in model_runs)
            for framework in ("torch", "keras"):
                out = subprocess.run([python, str(HERE / "peers.py"), "--framework", framework, "--model", model,
                                      "--threads", str(threads), "--repeats", str(args.repeats)],
                                     check=True, capture_output=True, text=True).stdout
                peer = json.loads(out.strip().splitlines()[-1])
                row[f"{framework}_train"] = peer["train_samples_per_s"]
                row[f"{framework}_infer"] = peer["infer_samples_per_s"]
                row[f"{framework}_version"] = peer["version"]
            for mode, factor in (("train", TRAIN_FACTOR), ("infer", 1)):
                row[f"bound_{mode}"] = sgemm / (FORWARD_FLOPS[model] * factor)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    print(f"{'model':<13}{'thr':>4} {'mode':<6}{'timbre':>9}{'torch':>9}{'keras':>9}{'vs best':>9}"
          f"{'bound':>9}{'of bound':>9}")
    for r in rows:
        for mode in ("train", "infer"):
            best = max(r[f"torch_{mode}"], r[f"keras_{mode}"])
            print(f"{r['model']:<13}{r['threads']:>4} {mode:<6}{r[f'timbre_{mode}']:>9.0f}{r[f'torch_{mode}']:>9.0f}"
                  f"{r[f'keras_{mode}']:>9.0f}{r[f'timbre_{mode}'] / best:>8.2f}x{r[f'bound_{mode}']:>9.0f}"
                  f"{100 * r[f'timbre_{mode}'] / r[f'bound_{mode}']:>8.0f}%")
    print("samples/s, batch 128, medians of", args.repeats, "runs; bound = SGEMM rate / FLOPs per sample;",
          "SGEMM GFLOP/s per thread count (median; each run):",
          {r["threads"]: (round(r["sgemm_gflops"]), r["sgemm_gflops_runs"]) for r in rows if r["model"] == MODELS[0]})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
