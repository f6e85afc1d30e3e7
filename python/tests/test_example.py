"""The notebook-style example of docs/python.md runs as documented."""

import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "notebook.py"


def test_notebook_example_runs(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "epoch 2/2" in out.stdout and "predictions identical" in out.stdout
    assert (tmp_path / "p2.safetensors").stat().st_size > 1_000_000
