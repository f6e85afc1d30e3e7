#!/usr/bin/env python3
"""Checks that Keras 3 loads timbre's exported weights: runs the timbre test that exports each seed
model (tests/test_keras_weights.cpp, with TIMBRE_KERAS_EXPORT_DIR set, so it keeps the
<model>.timbre.weights.h5 files and timbre's probabilities on the fixture's inputs), loads each file
into the same Keras model with model.load_weights and compares Keras' probabilities with timbre's.

Usage: /path/to/venv/bin/python tools/reference/check_keras_weights.py [--tests build/tests/timbre_tests]
Exit status 0 when every model agrees within --tolerance (default 1e-4, relative to the largest value).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_seed_models import SEED_MODELS  # noqa: E402

EXPORT_TEST = "keras weights: export then import gives the same variables"


def load_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": "<f4", "F64": "<f8"}[entry["dtype"]]
        begin, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", default=os.path.join("build", "tests", "timbre_tests"))
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run([args.tests, EXPORT_TEST], check=True, env={**os.environ, "TIMBRE_KERAS_EXPORT_DIR": directory},
                       stdout=subprocess.DEVNULL)
        for name, make in SEED_MODELS.items():
            model = make()
            model.load_weights(os.path.join(directory, f"{name}.timbre.weights.h5"))
            timbre = load_safetensors(os.path.join(directory, f"{name}.timbre.probs.safetensors"))
            keras_probs = model(timbre["x"], training=False).numpy()
            error = float(np.max(np.abs(keras_probs - timbre["probs"])) / np.max(np.abs(keras_probs)))
            ok = error <= args.tolerance
            failures += not ok
            print(f"{name}: Keras loaded timbre's weights; largest probability difference / largest probability "
                  f"{error:.3g} ({'ok' if ok else 'FAIL'})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
