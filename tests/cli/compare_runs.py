#!/usr/bin/env python3
"""Compares two training runs' output folders: every checkpoint tensor byte for byte, and the
history (every column but the timings). Exit 0 when identical, 1 naming the first difference.

  python3 compare_runs.py RUN_A RUN_B
"""
import json
import struct
import sys
from pathlib import Path

TIMINGS = {"seconds", "samples_per_second"}


def safetensors(path):
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    meta = header.pop("__metadata__", {})
    return header, data[8 + length:], meta


def without_timings(history_json):
    """The history's columns ({"loss": [per epoch], ...}) but the timings."""
    return {column: values for column, values in json.loads(history_json).items() if column not in TIMINGS}


def compare(a, b):
    for name in ("last.safetensors", "best.safetensors"):
        (ha, da, ma), (hb, db, mb) = safetensors(a / name), safetensors(b / name)
        if ha != hb:
            return f"{name}: the tensors' names, shapes or offsets differ"
        for tensor, entry in ha.items():
            start, end = entry["data_offsets"]
            if da[start:end] != db[start:end]:
                return f"{name}: tensor {tensor} differs"
        if without_timings(ma["history"]) != without_timings(mb["history"]):
            return f"{name}: the recorded history differs"
    rows = [[line.split(",")[:6] for line in (d / "history.csv").read_text().splitlines()] for d in (a, b)]
    if rows[0] != rows[1]:
        return "history.csv differs"
    return None


def main():
    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    difference = compare(a, b)
    if difference:
        print(f"runs {a} and {b} differ: {difference}")
        return 1
    print(f"runs {a} and {b} are identical (weights, optimizer state and history)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
