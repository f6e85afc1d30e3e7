#!/usr/bin/env python3
"""Checks an exported timbre model with ONNX's checker and onnxruntime: its outputs on the patches written
by `export_onnx --check-samples N` must match timbre's to --atol (default 1e-5).

  build/examples/export_onnx runs/p2/best.safetensors /tmp/p2.onnx --check-samples 16
  tools/compare/.venv/bin/python tools/onnx/check_onnx.py /tmp/p2.onnx

Needs `pip install onnx onnxruntime numpy`. Exit 0 when the model is valid and the outputs agree.
"""
import argparse
import sys

import numpy as np
import onnx
import onnxruntime


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args()
    stem = args.model[:-5] if args.model.endswith(".onnx") else args.model
    onnx.checker.check_model(onnx.load(args.model), full_check=True)
    inputs = np.load(stem + ".inputs.npy")
    expected = np.load(stem + ".outputs.npy")
    session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    (got,) = session.run(["probabilities"], {"patches": inputs})
    error = float(np.max(np.abs(got - expected)))
    agree = np.mean(np.argmax(got, 1) == np.argmax(expected, 1))
    print(f"{args.model}: onnx checker ok; onnxruntime {onnxruntime.__version__} on {len(inputs)} patches: "
          f"max |difference| {error:.2e}, top genre agrees on {agree:.0%}")
    return 0 if error <= args.atol else 1


if __name__ == "__main__":
    sys.exit(main())
