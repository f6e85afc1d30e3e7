#!/usr/bin/env python3
"""Adapts keras.layers.Normalization on a small array and saves what Keras learned and computed,
for tests/test_normalization.cpp. Needs tensorflow-cpu (pip); run with a Python that has it, e.g.
  python3 -m venv /tmp/venv-tf && /tmp/venv-tf/bin/pip install tensorflow-cpu && /tmp/venv-tf/bin/python tools/make_normalization_fixture.py

Writes tests/fixtures/normalization/keras_band.npz:
  x         float32 (6, 5, 4, 1)  inputs: band b offset by 100 * b, scaled by (b + 1)
  mean      float32 (5,)          Normalization(axis=1).adapt(x) mean per band (mel axis)
  variance  float32 (5,)
  y         float32 (6, 5, 4, 1)  the layer's output on x
and keras_global.npz with the same for axis=None (one mean and variance).
"""
from pathlib import Path

import numpy as np
import keras

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "normalization"
OUT.mkdir(parents=True, exist_ok=True)

rng = np.random.default_rng(5)
x = rng.normal(size=(6, 5, 4, 1)).astype(np.float32)
x = x * (np.arange(5) + 1)[None, :, None, None] + 100 * np.arange(5)[None, :, None, None]
x = x.astype(np.float32)

for name, axis in (("band", 1), ("global", None)):
    layer = keras.layers.Normalization(axis=axis)
    layer.adapt(x)
    y = np.asarray(layer(x))
    mean = np.asarray(layer.mean).reshape(-1).astype(np.float32)
    variance = np.asarray(layer.variance).reshape(-1).astype(np.float32)
    np.savez(OUT / f"keras_{name}.npz", x=x, mean=mean, variance=variance, y=y.astype(np.float32))
    print(name, "mean", mean, "variance", variance)
