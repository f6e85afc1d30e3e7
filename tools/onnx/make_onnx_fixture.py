#!/usr/bin/env python3
"""Writes tests/fixtures/onnx/every_layer.ort_outputs.npy: onnxruntime's outputs of every_layer.onnx on
every_layer.inputs.npy (both written by tests/test_onnx.cpp with TIMBRE_UPDATE_ONNX_FIXTURE=1), after
ONNX's checker. tests/test_onnx.cpp then compares timbre's outputs with these, without Python.

  tools/compare/.venv/bin/python tools/onnx/make_onnx_fixture.py tests/fixtures/onnx/
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime

folder = Path(sys.argv[1])
model = folder / "every_layer.onnx"
onnx.checker.check_model(onnx.load(str(model)), full_check=True)
session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
(outputs,) = session.run(["probabilities"], {"patches": np.load(folder / "every_layer.inputs.npy")})
np.save(folder / "every_layer.ort_outputs.npy", outputs.astype(np.float32))
print(f"wrote {folder / 'every_layer.ort_outputs.npy'}: {outputs.shape}, onnxruntime {onnxruntime.__version__}")
