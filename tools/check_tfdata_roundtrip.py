#!/usr/bin/env python3
"""Checks that TensorFlow reads the tf.data directories timbre's save_tfdata writes.

1. Let the C++ test write them (none/gzip/snappy x one-hot/int64 labels, 3 shards)
   with the expected values in expected.npz:
     TIMBRE_TFDATA_EXPORT_DIR=/tmp/tfdata-export ./tests/timbre_tests "tfdata export*"
2. python3 tools/check_tfdata_roundtrip.py /tmp/tfdata-export
   loads each with tf.data.Dataset.load(dir, compression=...) and compares the
   element spec, the patches and the labels (in order: one reader per shard,
   round-robin, as timbre's load_tfdata reads them). Exit status 1 on any mismatch.
Needs tensorflow-cpu and numpy (e.g. the venv tools/make_tfdata_fixtures.py makes).
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def check(directory, expected):
    compression = {"none": None, "gzip": "GZIP", "snappy": "SNAPPY"}[directory.name.split("_")[0]]
    run_dirs = [d for d in directory.iterdir() if d.is_dir()]
    num_shards = len(list(run_dirs[0].glob("*.shard")))
    ds = tf.data.Dataset.load(
        str(directory), compression=compression,
        reader_func=lambda shards: shards.interleave(lambda x: x, cycle_length=num_shards))
    patch_spec, label_spec = ds.element_spec
    elements = list(ds.as_numpy_iterator())
    patches = np.stack([p for p, _ in elements])
    labels = np.array([np.argmax(y) if y.ndim == 1 else y for _, y in elements], dtype=np.int64)
    for _, y in elements:
        if y.ndim == 1 and not (y.max() == 1 and (np.sort(y)[:-1] == 0).all()):
            raise AssertionError(f"label {y} is not one-hot")
    np.testing.assert_array_equal(patches, expected["patches"])
    np.testing.assert_array_equal(labels, expected["labels"])
    # TensorFlow's default reader (its own interleave order) must yield the same elements.
    default = np.stack([p for p, _ in tf.data.Dataset.load(str(directory), compression=compression)
                        .as_numpy_iterator()])
    key = lambda a: np.lexsort(a.reshape(len(a), -1).T[::-1])  # noqa: E731
    np.testing.assert_array_equal(default[key(default)], patches[key(patches)])
    return (f"{directory.name}: OK, {len(elements)} elements, {num_shards} shards, compression={compression}, "
            f"spec=({patch_spec.shape} {patch_spec.dtype.name}, {label_spec.shape} {label_spec.dtype.name})")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = Path(sys.argv[1])
    expected = np.load(root / "expected.npz")
    failures = 0
    for directory in sorted(d for d in root.iterdir() if d.is_dir()):
        try:
            print(check(directory, expected))
        except Exception as e:  # report every directory, then fail
            failures += 1
            print(f"{directory.name}: FAILED: {type(e).__name__}: {e}")
    print("tensorflow", tf.__version__, "-", "all OK" if not failures else f"{failures} FAILED")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
