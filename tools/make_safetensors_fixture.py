#!/usr/bin/env python3
"""Writes tests/fixtures/safetensors/reference.safetensors with the reference
implementation (pip install safetensors numpy), for tests/test_safetensors.cpp."""
import pathlib

import numpy as np
from safetensors.numpy import save_file

out = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/safetensors/reference.safetensors"
out.parent.mkdir(parents=True, exist_ok=True)
save_file(
    {
        "dense/kernel": np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5,
        "dense/bias": np.array([1.5, -2.25], dtype=np.float64),
        "scalar": np.array(7.0, dtype=np.float32),
    },
    str(out),
    metadata={"format": "reference", "note": "written by safetensors.numpy.save_file"},
)
print(out, out.stat().st_size, "bytes")
