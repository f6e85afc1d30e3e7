#!/usr/bin/env python3
"""Writes the tf.data.Dataset.save fixtures under tests/fixtures/tfdata/ with real TensorFlow.

Each fixture is a small data set of (8, 8, 1) float32 patches with labels, saved
by tf.data.Dataset.save in one of the forms timbre's load_tfdata reads (one-hot
or integer labels, several shards, no compression, GZIP, SNAPPY, a dict element,
a batched element). Beside each, expected/<name>_patches.npy and
expected/<name>_labels.npy hold the values in the order load_tfdata yields them:
round-robin over the shard directories, which is what tf.data.Dataset.load gives
with reader_func=interleave(cycle_length=<number of shards>); the script checks
that against TensorFlow itself.

Usage: python3 tools/make_tfdata_fixtures.py   (installs tensorflow-cpu and numpy
into a venv at $TIMBRE_TF_VENV, default /work/venv-tf, when they are missing)
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

VENV = Path(os.environ.get("TIMBRE_TF_VENV", "/work/venv-tf"))


def ensure_tensorflow():
    try:
        import numpy  # noqa: F401
        import tensorflow  # noqa: F401
        return
    except ImportError:
        pass
    if Path(sys.prefix) == VENV:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "tensorflow-cpu", "numpy"])
        return
    if not (VENV / "bin" / "python").exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    subprocess.check_call([str(VENV / "bin" / "python"), "-m", "pip", "install", "tensorflow-cpu", "numpy"])
    os.execv(str(VENV / "bin" / "python"), [str(VENV / "bin" / "python")] + sys.argv)


ensure_tensorflow()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tfdata"
N, H, W, K = 20, 8, 8, 8


def make_values(seed):
    rng = np.random.default_rng(seed)
    patches = rng.standard_normal((N, H, W, 1)).astype(np.float32)
    labels = rng.integers(0, K, size=N).astype(np.int64)
    return patches, labels


def loader_order(num_shards, shard_of):
    """Original indices in round-robin order over the non-empty shards."""
    groups = [[i for i in range(N) if shard_of[i] == s] for s in range(num_shards)]
    groups = [g for g in groups if g]
    order = []
    for r in range(max(len(g) for g in groups)):
        order += [g[r] for g in groups if r < len(g)]
    return order


def save(name, dataset, compression, shard_func):
    path = ROOT / name
    if path.exists():
        shutil.rmtree(path)
    tf.data.Dataset.save(dataset, str(path), compression=compression, shard_func=shard_func)
    run_dirs = [d for d in path.iterdir() if d.is_dir()]
    return path, sorted(run_dirs[0].iterdir()) if run_dirs else []


def check_against_tensorflow(path, compression, num_shards, expected_patches, flatten):
    """tf.data.Dataset.load with one reader per shard must give the expected order."""
    loaded = tf.data.Dataset.load(
        str(path), compression=compression,
        reader_func=lambda shards: shards.interleave(lambda x: x, cycle_length=num_shards))
    got = np.concatenate([flatten(e) for e in loaded.as_numpy_iterator()]) if num_shards else None
    np.testing.assert_array_equal(got, expected_patches)


def write_expected(name, patches, labels):
    out = ROOT / "expected"
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / f"{name}_patches.npy", patches)
    np.save(out / f"{name}_labels.npy", labels.astype(np.int64))


def main():
    ROOT.mkdir(parents=True, exist_ok=True)
    # (name, seed, label form, compression, shard rule or None, element form)
    cases = [
        ("onehot_3shards", 1, "onehot", None, "label%3", "tuple"),
        ("onehot_3shards_gzip", 2, "onehot", "GZIP", "label%3", "tuple"),
        ("onehot_3shards_snappy", 3, "onehot", "SNAPPY", "label%3", "tuple"),
        ("int64_default_shards", 4, "int64", None, None, "tuple"),
        ("int32_2shards_gzip", 5, "int32", "GZIP", "label%2", "tuple"),
        ("dict_int64", 6, "int64", None, None, "dict"),
        ("batched_onehot", 7, "onehot", None, None, "batch6"),
    ]
    for name, seed, label_form, compression, rule, form in cases:
        patches, labels = make_values(seed)
        if label_form == "onehot":
            y = np.eye(K, dtype=np.float32)[labels]
        else:
            y = labels.astype(np.int32 if label_form == "int32" else np.int64)
        if form == "dict":
            ds = tf.data.Dataset.from_tensor_slices({"patch": patches, "label": y})
        else:
            ds = tf.data.Dataset.from_tensor_slices((patches, y))
        if form == "batch6":
            ds = ds.batch(6)
        shard_func = None
        if rule is not None:
            mod = int(rule.split("%")[1])
            shard_func = lambda x, y, mod=mod, onehot=label_form == "onehot": (  # noqa: E731
                tf.cast(tf.argmax(y) if onehot else y, tf.int64) % mod)
        path, shard_dirs = save(name, ds, compression, shard_func)
        num_shards = len(shard_dirs)
        if rule is not None:
            mod = int(rule.split("%")[1])
            order = loader_order(mod, [int(l) % mod for l in labels])
        else:
            order = list(range(N))
        flatten = (lambda e: e["patch"][None]) if form == "dict" else (
            (lambda e: e[0]) if form == "batch6" else (lambda e: e[0][None]))
        check_against_tensorflow(path, compression, num_shards, patches[order], flatten)
        write_expected(name, patches[order], labels[order])
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        print(f"{name}: {num_shards} shard(s), {compression or 'no'} compression, {size} bytes")

    # The element spec encodings real TensorFlow wrote (tensor_spec_value 33 vs type_spec_value 34).
    for name, *_ in cases:
        spec = (ROOT / name / "dataset_spec.pb").read_bytes()
        print(f"{name}: dataset_spec.pb starts {spec[:8].hex(' ')}")
    print("tensorflow", tf.__version__, "numpy", np.__version__)


if __name__ == "__main__":
    main()
