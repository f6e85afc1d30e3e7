#!/usr/bin/env python3
"""Reads a trainer's TensorBoard logs with TensorBoard's own EventAccumulator and compares every scalar with
the run's history.json (as float32, the precision of a TensorBoard scalar). Exit 0 when they agree.

  build/examples/cnn_bilstm --epochs 2 --out /tmp/run --tensorboard /tmp/tb
  tools/compare/.venv/bin/python tools/tensorboard/check_events.py /tmp/tb /tmp/run/history.json

Needs `pip install tensorboard numpy` (tools/compare/.venv has them once installed there).
"""
import json
import sys

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

# (sub-directory, tag) -> history.json column
EXPECTED = {
    ("train", "epoch_loss"): "loss",
    ("train", "epoch_accuracy"): "accuracy",
    ("train", "epoch_learning_rate"): "learning_rate",
    ("train", "epoch_samples_per_second"): "samples_per_second",
    ("validation", "epoch_loss"): "val_loss",
    ("validation", "epoch_accuracy"): "val_accuracy",
    ("validation", "epoch_song_accuracy"): "val_song_accuracy",
}


def main():
    log_dir, history_path = sys.argv[1], sys.argv[2]
    history = json.load(open(history_path))
    epochs = history["epoch"]
    problems = []
    accumulators = {}
    for (part, tag), column in EXPECTED.items():
        if part not in accumulators:
            accumulators[part] = EventAccumulator(f"{log_dir}/{part}")
            accumulators[part].Reload()
        events = accumulators[part].Scalars(tag)
        got = {e.step: e.value for e in events}
        want = {epoch: float(np.float32(value)) for epoch, value in zip(epochs, history[column])}
        if got != want:
            problems.append(f"{part}/{tag}: TensorBoard read {got}, history.json has {want}")
        else:
            print(f"ok  {part}/{tag}: {len(got)} epochs")
    for p in problems:
        print("MISMATCH", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
