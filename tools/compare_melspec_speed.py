#!/usr/bin/env python3
"""Times timbre's log-mel extraction (bench/bench_melspec) and librosa's on the
same 30 s clips in one run, and prints clips per second and the ratios.

librosa's pipeline is the one the seed project's features come from:
librosa.load(sr=22050, mono) -> feature.melspectrogram(n_fft 2048, hop 512,
80 mels) -> power_to_db(ref=1.0, top_db=80) -> 15 patches of 80 frames. It is
timed in one process (numpy's default BLAS threads) and in a pool of as many
single-threaded worker processes as timbre gets threads.

    pip install librosa numpy soundfile
    python3 tools/compare_melspec_speed.py --bench build/bench/bench_melspec [--threads 2]
"""
import argparse
import glob
import json
import multiprocessing
import os
import subprocess
import tempfile
import time


def lscpu_model():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def librosa_patches(path):
    import librosa
    y, sr = librosa.load(path, sr=22050, mono=True)
    S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=80)
    D = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)
    return D[:, :1200].reshape(80, 15, 80).transpose(1, 0, 2)


def time_librosa(files, processes, passes):
    """Clips per second (wall) over `passes` passes through `files` after a warm-up pass; in one process
    also the CPU milliseconds per clip (all of its threads)."""
    if processes == 1:
        for f in files:
            librosa_patches(f)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(passes):
            for f in files:
                librosa_patches(f)
        clips = passes * len(files)
        return clips / (time.perf_counter() - start), (time.process_time() - cpu) * 1e3 / clips
    # Workers are spawned with single-threaded BLAS, one core each.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(librosa_patches, files * processes)
        start = time.perf_counter()
        pool.map(librosa_patches, files * passes, chunksize=1)
        return passes * len(files) / (time.perf_counter() - start), None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="build/bench/bench_melspec")
    parser.add_argument("--clips", default=os.path.join(tempfile.gettempdir(), "timbre-bench-melspec"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passes", type=int, default=2, help="librosa passes over the 16 clips")
    parser.add_argument("--min-time", default="3", help="bench_melspec --benchmark_min_time")
    args = parser.parse_args()

    print(f"CPU: {lscpu_model()}, {os.cpu_count()} logical CPUs; load average before: {os.getloadavg()}")
    env = dict(os.environ, TIMBRE_MELSPEC_CLIPS=args.clips)
    out = subprocess.run([args.bench, "--benchmark_format=json", f"--benchmark_min_time={args.min_time}",
                          f"--benchmark_filter=patches_from_files/.*/threads:(1|{args.threads})/"],
                         env=env, capture_output=True, text=True, check=True).stdout
    runs = json.loads(out)["benchmarks"]
    ours = {b["name"]: b["clips/s"] for b in runs}
    # With one thread the benchmark's CPU time is all the work: CPU ms per clip, robust to a busy machine.
    ours_cpu_ms = {b["name"]: b["cpu_time"] * {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]] / 16
                   for b in runs}

    print(f"{'clips (30 s, 16 files)':22} {'timbre 1 thr':>12} {f'timbre {args.threads} thr':>12} "
          f"{'librosa 1 proc':>14} {f'librosa {args.threads} proc':>14} {'x same cores':>12} "
          f"{f'x {args.threads} thr/1 proc':>14} {'CPU ms/clip timbre':>18} {'librosa':>8} {'x CPU':>6}")
    for folder in ("22050-mono", "44100-stereo"):
        files = sorted(glob.glob(os.path.join(args.clips, folder, "*.wav")))
        name = f"BM_patches_from_files/{folder.replace('-', '_')}/threads:"
        one, many = ours[name + "1/real_time"], ours[f"{name}{args.threads}/real_time"]
        cpu_one = ours_cpu_ms[name + "1/real_time"]
        lib_one, lib_cpu = time_librosa(files, 1, args.passes)
        lib_many, _ = time_librosa(files, args.threads, args.passes)
        print(f"{folder:22} {one:12.1f} {many:12.1f} {lib_one:14.2f} {lib_many:14.2f} {many / lib_many:12.1f} "
              f"{many / lib_one:14.1f} {cpu_one:18.2f} {lib_cpu:8.2f} {lib_cpu / cpu_one:6.1f}")
    print(f"clips/s are wall-clock; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
