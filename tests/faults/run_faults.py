#!/usr/bin/env python3
"""The fault-injection suite (issue 22): runs real short trainings as child processes, injects one fault
into each (SIGKILL at every phase of a checkpoint write, SIGINT and SIGTERM mid-epoch, a full disk, two
runs into one directory, a corrupted checkpoint and feature-cache entry) and checks that nothing is lost:
after each fault the directory holds loadable checkpoints, and resuming reaches the same weights and
history, bit for bit, as a run that was never interrupted.

  python3 run_faults.py --trainer build/examples/parallel_cnn --slow-trainer build/examples/cnn_bilstm \
      --predict build/examples/predict \
      --inject build/tests/faults/libtimbre_fault_inject.so --audio tests/fixtures/melspec/sine.wav --work DIR

Exit 0 when every case passes; else 1, after printing each failed case and why.
"""
import argparse
import math
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cli"))
from compare_runs import compare  # noqa: E402  (weights byte for byte, history without timings)

# A short run of the default recipe: 3 genres x 2 songs x 15 patches, half the songs for validation.
RUN = ["--synthetic-songs", "2", "--genres", "metal,techno,classical", "--split", "song", "--validation-fraction",
       "0.5", "--epochs", "3", "--batch-size", "16", "--threads", "1", "--seed", "3", "--progress", "lines"]
# Longer epochs, so that a signal sent after epoch 1 lands inside a later epoch.
LONG_RUN = ["--synthetic-songs", "20", "--genres", "metal,techno,classical", "--split", "song",
            "--validation-fraction", "0.25", "--epochs", "30", "--batch-size", "8", "--threads", "1", "--seed", "5",
            "--progress", "lines"]


class Suite:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.work)
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.results = []

    def train(self, out, flags, extra=(), fault=None, timeout=300):
        env = dict(os.environ)
        if fault:
            env["LD_PRELOAD"] = self.args.inject
            env["TIMBRE_FAULT"] = fault
        return subprocess.run([self.args.trainer, *flags, *extra, "--out", str(out)], env=env, capture_output=True,
                              text=True, timeout=timeout)

    def start(self, out, flags, trainer=None):
        return subprocess.Popen([trainer or self.args.trainer, *flags, "--out", str(out)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def loadable(self, checkpoint):
        """predict reads the checkpoint (checksums verified) and scores a clip with it."""
        r = subprocess.run([self.args.predict, str(checkpoint), self.args.audio], capture_output=True, text=True,
                           timeout=120)
        return r.returncode == 0 and "nan" not in r.stdout.lower(), r.stdout + r.stderr

    def reference(self, name, flags):
        out = self.work / f"reference-{name}"
        r = self.train(out, flags)
        assert r.returncode == 0, f"the uninterrupted {name} run failed:\n{r.stderr}"
        return out

    def case(self, name, check):
        try:
            check()
            self.results.append((name, None))
            print(f"ok    {name}", flush=True)
        except AssertionError as e:
            self.results.append((name, str(e)))
            print(f"FAIL  {name}: {e}", flush=True)

    def resumes_to(self, out, reference, flags):
        """Continues the run in `out` (a fresh start when no epoch was kept) and compares it with `reference`."""
        start = ["--resume"] if (out / "last.safetensors").exists() else ["--overwrite"]
        r = self.train(out, flags, start)
        assert r.returncode == 0, f"the resume failed (exit {r.returncode}):\n{r.stderr[-2000:]}"
        difference = compare(out, reference)
        assert difference is None, f"the resumed run differs from the uninterrupted one: {difference}"
        leftovers = [p.name for p in out.iterdir() if ".tmp." in p.name]
        assert not leftovers, f"temporaries left after the resume: {leftovers}"

    def kept_both(self, out):
        """After a fault: the checkpoints that exist load, and a last one never lacks its best."""
        last, best = out / "last.safetensors", out / "best.safetensors"
        assert best.exists() or not last.exists(), "last.safetensors exists without best.safetensors"
        for path in (last, best):
            if path.exists():
                ok, text = self.loadable(path)
                assert ok, f"{path.name} does not load after the fault:\n{text[-1500:]}"


def kill_cases(suite, reference):
    # With 3 epochs: every epoch opens, writes and renames at least one checkpoint; epoch 1 always
    # improves (best, then last as its link).
    for fault in ["kill-before-open:1", "kill-before-open:3", "kill-mid-write:1", "kill-mid-write:2",
                  "kill-before-rename:1", "kill-before-rename:2", "kill-before-link:1", "kill-after-rename:1",
                  "kill-after-rename:2", "kill-after-rename:3"]:
        def check(fault=fault):
            out = suite.work / fault.replace(":", "-")
            r = suite.train(out, RUN, fault=fault)
            assert r.returncode == -signal.SIGKILL, f"expected the run to be killed, it exited {r.returncode}"
            suite.kept_both(out)
            suite.resumes_to(out, reference, RUN)
        suite.case(f"SIGKILL {fault}", check)


def signal_cases(suite, reference):
    for sig, status in [(signal.SIGINT, 130), (signal.SIGTERM, 143)]:
        def check(sig=sig, status=status):
            out = suite.work / f"signal-{sig.name}"
            p = suite.start(out, LONG_RUN)
            for line in p.stdout:
                if line.startswith("epoch 1/"):
                    break
            p.send_signal(sig)
            _, err = p.communicate(timeout=300)
            assert p.returncode == status, f"expected exit {status}, got {p.returncode}:\n{err[-1500:]}"
            assert f"stopped by {sig.name}" in err and "--resume continues from epoch" in err, err[-1500:]
            suite.kept_both(out)
            suite.resumes_to(out, reference, LONG_RUN)
        suite.case(f"{sig.name} mid-epoch: exit {status}, the last epoch kept, resume identical", check)

    def twice():
        # P2's batches of 64 take a good part of a second on one thread: the second SIGINT arrives while the
        # first still waits for its batch to end.
        out = suite.work / "signal-twice"
        p = suite.start(out, ["--synthetic-songs", "4", "--genres", "metal,techno,classical", "--epochs", "5",
                              "--batch-size", "64", "--threads", "1", "--progress", "lines"], suite.args.slow_trainer)
        for line in p.stdout:
            if line.startswith("epoch 1/"):
                break
        p.send_signal(signal.SIGINT)
        time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=300)
        assert p.returncode == -signal.SIGINT, f"a second SIGINT should end the run at once, it exited {p.returncode}"
        suite.kept_both(out)
    suite.case("a second SIGINT ends the run at once, the checkpoints intact", twice)


def disk_full_case(suite, reference):
    def check():
        out = suite.work / "disk-full"
        budget = int((reference / "last.safetensors").stat().st_size * 2.5)  # epoch 1's files fit, not epoch 2's
        r = suite.train(out, RUN, fault=f"enospc-after:{budget}")
        assert r.returncode == 1, f"expected exit 1 on a full disk, got {r.returncode}:\n{r.stderr[-1500:]}"
        assert "No space left on device" in r.stderr and str(out) in r.stderr, r.stderr[-1500:]
        assert (out / "last.safetensors").exists(), "no checkpoint survived the full disk"
        suite.kept_both(out)
        suite.resumes_to(out, reference, RUN)  # the disk has room again
    suite.case("a full disk: a clear error naming the file, the last epoch kept, resume identical", check)


def two_runs_case(suite):
    def check():
        out = suite.work / "two-runs"
        first = suite.start(out, LONG_RUN)
        for line in first.stdout:
            if line.startswith("epoch 1/"):
                break
        second = suite.train(out, RUN)
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=300)
        assert second.returncode == 1 and f"in use by another training run (PID {first.pid})" in second.stderr, \
            f"the second run was not kept out (exit {second.returncode}):\n{second.stderr[-1500:]}"
        again = suite.train(out, RUN)
        assert again.returncode == 1 and "holds a run already" in again.stderr, again.stderr[-1500:]
        suite.kept_both(out)
    suite.case("two runs into one directory: the second is refused, naming the first's PID", check)


def flip_byte(path, from_end):
    data = bytearray(path.read_bytes())
    data[len(data) - from_end] ^= 0x20
    path.write_bytes(bytes(data))


def corrupt_checkpoint_case(suite, reference):
    def check():
        out = suite.work / "corrupt-checkpoint"
        shutil.copytree(reference, out)
        # One run's epoch 3 need not improve: break the link first, then flip a byte of each file.
        for name in ("last.safetensors", "best.safetensors"):
            data = (out / name).read_bytes()
            (out / name).unlink()
            (out / name).write_bytes(data)
            flip_byte(out / name, 40)
        four_epochs = [("4" if RUN[i - 1] == "--epochs" else flag) for i, flag in enumerate(RUN)]
        r = suite.train(out, four_epochs, ["--resume"])
        assert r.returncode == 1 and "fails its CRC-32C checksum" in r.stderr and "last.safetensors" in r.stderr, \
            f"a corrupt last checkpoint was not detected (exit {r.returncode}):\n{r.stderr[-1500:]}"
        ok, text = suite.loadable(out / "best.safetensors")
        assert not ok and "fails its CRC-32C checksum" in text, f"predict used a corrupt checkpoint:\n{text[-1500:]}"
    suite.case("a flipped byte in a checkpoint: resume and predict refuse it, naming the file", check)


def write_wav(path, seconds, frequency, rate=22050):
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * frequency * i / rate) *
                                                (0.5 + 0.5 * math.sin(i / 900.0)))) for i in range(n))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def corrupt_cache_case(suite):
    def check():
        data = suite.work / "cache-data"
        for g, genre in enumerate(["low", "high"]):
            for song in range(2):
                write_wav(data / genre / f"{genre}.{song:05d}.wav", 6.0, 220.0 * (1 + 3 * g) + 40 * song)
        flags = ["--data", str(data), "--split", "patch", "--epochs", "1", "--batch-size", "4", "--threads", "1",
                 "--seed", "2", "--recipe", "seed", "--progress", "lines"]
        first = suite.train(suite.work / "cache-run-1", flags)
        assert first.returncode == 0, first.stderr[-1500:]
        entries = sorted((data / ".timbre-cache").glob("*.patches"))
        assert len(entries) == 4, f"expected 4 cache entries, found {len(entries)}"
        flip_byte(entries[0], 100)
        second = suite.train(suite.work / "cache-run-2", flags)
        assert second.returncode == 0, second.stderr[-1500:]
        assert "was damaged" in second.stderr and "1 damaged cache entries extracted again" in second.stdout, \
            second.stdout[-800:] + second.stderr[-800:]
        difference = compare(suite.work / "cache-run-2", suite.work / "cache-run-1")
        assert difference is None, f"the run on the repaired cache differs: {difference}"
    suite.case("a flipped byte in a feature-cache entry: re-extracted with a warning, the run identical", check)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trainer", required=True)
    parser.add_argument("--slow-trainer", required=True, help="a trainer whose batches take long (cnn_bilstm)")
    parser.add_argument("--predict", required=True)
    parser.add_argument("--inject", required=True, help="the LD_PRELOAD fault injector (tests/faults/inject.cpp)")
    parser.add_argument("--audio", required=True, help="a clip for predict")
    parser.add_argument("--work", required=True)
    suite = Suite(parser.parse_args())
    reference = suite.reference("short", RUN)
    long_reference = suite.reference("long", LONG_RUN)
    kill_cases(suite, reference)
    signal_cases(suite, long_reference)
    disk_full_case(suite, reference)
    two_runs_case(suite)
    corrupt_checkpoint_case(suite, reference)
    corrupt_cache_case(suite)
    failed = [name for name, why in suite.results if why]
    print(f"\n{len(suite.results) - len(failed)} of {len(suite.results)} fault cases passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
