#!/usr/bin/env python3
"""Writes small .npy and .npz files with numpy into tests/fixtures/npy/ for tests/test_npy.cpp.

Values follow simple formulas (arange) so the C++ test can state them:
  f4_2x3.npy      float32 (2, 3)  arange(6) / 4
  f8_4.npy        float64 (4,)    arange(4) - 1.5
  i4_3x2.npy      int32 (3, 2)    arange(6) - 3
  i8_5.npy        int64 (5,)      arange(5) * 1e12
  u1_2x2x2.npy    uint8 (2, 2, 2) arange(8) * 30
  bool_4.npy      bool (4,)       [True, False, False, True]
  scalar_f4.npy   float32 ()      2.5
  empty_f4.npy    float32 (0, 3)
  v2_f4.npy       float32 (3,)    [1, 2, 3], format version 2.0
  v3_f4.npy       float32 (3,)    [1, 2, 3], format version 3.0
  fortran_f4.npy  float32 (2, 3), fortran_order True
  big_endian_f4.npy  >f4 (2,)
  stored.npz      np.savez: a = f4_2x3 values, b = i8_5 values
  deflated.npz    np.savez_compressed: patches float32 (4, 8, 8, 1) = arange / 256, labels int64 (4,) = [3, 1, 4, 1]
"""
import subprocess
import sys
from pathlib import Path

try:
    import numpy as np
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "numpy"])
    import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "npy"


def save_version(path, array, version):
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "f4_2x3.npy", (np.arange(6, dtype=np.float32) / 4).reshape(2, 3))
    np.save(OUT / "f8_4.npy", np.arange(4, dtype=np.float64) - 1.5)
    np.save(OUT / "i4_3x2.npy", (np.arange(6, dtype=np.int32) - 3).reshape(3, 2))
    np.save(OUT / "i8_5.npy", np.arange(5, dtype=np.int64) * 10**12)
    np.save(OUT / "u1_2x2x2.npy", (np.arange(8, dtype=np.uint8) * 30).reshape(2, 2, 2))
    np.save(OUT / "bool_4.npy", np.array([True, False, False, True]))
    np.save(OUT / "scalar_f4.npy", np.float32(2.5))
    np.save(OUT / "empty_f4.npy", np.zeros((0, 3), dtype=np.float32))
    save_version(OUT / "v2_f4.npy", np.array([1, 2, 3], dtype=np.float32), (2, 0))
    save_version(OUT / "v3_f4.npy", np.array([1, 2, 3], dtype=np.float32), (3, 0))
    np.save(OUT / "fortran_f4.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    np.save(OUT / "big_endian_f4.npy", np.array([1, 2], dtype=">f4"))
    np.savez(OUT / "stored.npz", a=(np.arange(6, dtype=np.float32) / 4).reshape(2, 3),
             b=np.arange(5, dtype=np.int64) * 10**12)
    np.savez_compressed(OUT / "deflated.npz",
                        patches=(np.arange(4 * 64, dtype=np.float32) / 256).reshape(4, 8, 8, 1),
                        labels=np.array([3, 1, 4, 1], dtype=np.int64))
    print("numpy", np.__version__, "wrote", len(list(OUT.iterdir())), "files to", OUT)


if __name__ == "__main__":
    main()
