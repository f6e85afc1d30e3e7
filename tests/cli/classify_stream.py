#!/usr/bin/env python3
"""Feeds 5 s of raw s16 stereo PCM at 44.1 kHz to `classify --stream` and checks that it prints one genre
per patch as the audio arrives (5 s hold two whole patches of about 1.83 s) and exits 0.

  python3 classify_stream.py build/examples/classify CHECKPOINT
"""
import math
import struct
import subprocess
import sys

classify, checkpoint = sys.argv[1], sys.argv[2]
rate = 44100
pcm = b"".join(struct.pack("<hh", int(8000 * math.sin(2 * math.pi * 440 * i / rate)),
                           int(8000 * math.sin(2 * math.pi * 660 * i / rate))) for i in range(5 * rate))
done = subprocess.run([classify, checkpoint, "--stream", "--rate", str(rate), "--channels", "2"], input=pcm,
                      capture_output=True, timeout=120)
lines = done.stdout.decode().splitlines()
if done.returncode != 0 or len(lines) != 2 or not all(line.startswith(f"patch {k} (") for k, line in enumerate(lines)):
    print(f"exit {done.returncode}, output:\n{done.stdout.decode()}{done.stderr.decode()}")
    sys.exit(1)
print("\n".join(lines))
