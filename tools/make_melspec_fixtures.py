#!/usr/bin/env python3
"""Reference log-mel spectrograms from librosa for tests/test_melspec.cpp.

Writes short deterministic signals (sines, a chirp, noise, a 44.1 kHz stereo
file that exercises decoding + mixdown + resampling) and, for each, the
log-mel spectrogram librosa computes from the file, as raw little-endian
float32 (n_mels x frames, row-major). manifest.txt lists one case per line as
key=value pairs. Also writes a small mel filterbank for a direct check.

    pip install librosa numpy soundfile
    python3 tools/make_melspec_fixtures.py [tests/fixtures/melspec]
"""
import os
import sys

import librosa
import numpy as np
import soundfile as sf

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures",
                                                         "melspec")
SR = 22050


def sine_mix(seconds, sr):
    t = np.arange(int(seconds * sr)) / sr
    return 0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 1250 * t) + 0.1 * np.sin(2 * np.pi * 5000 * t)


def chirp(seconds, sr, f0=80.0, f1=9000.0):
    t = np.arange(int(seconds * sr)) / sr
    k = (f1 - f0) / seconds
    return 0.6 * np.sin(2 * np.pi * (f0 * t + 0.5 * k * t * t))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(5)
    # name, file, signal (frames[, channels]), file rate, subtype, options
    cases = [
        ("sine", "sine.wav", sine_mix(1.5, SR), SR, "PCM_16", {}),
        ("chirp", "chirp.au", chirp(1.5, SR), SR, "PCM_16", {}),
        # Noise with decaying bursts, under non-default options: reflect padding, ref=max, 64 mels, top_db 60.
        ("noise", "noise.wav", 0.3 * rng.standard_normal(6 * 5512) * np.repeat(np.exp(-np.linspace(0, 3, 6)), 5512), SR,
         "PCM_16", {"padding": "reflect", "ref": "max", "n_mels": 64, "top_db": 60.0}),
        # 44.1 kHz stereo FLAC: decode, mix down, resample to 22050 Hz with soxr HQ, as librosa.load does.
        ("stereo44k", "stereo44k.flac",
         np.stack([sine_mix(1.5, 44100), chirp(1.5, 44100, 200.0, 15000.0)], axis=1), 44100, "PCM_16", {}),
    ]
    lines = []
    for name, filename, signal, rate, subtype, opts in cases:
        path = os.path.join(OUT, filename)
        sf.write(path, signal.astype(np.float32), rate, subtype=subtype)
        y, sr = librosa.load(path, sr=SR, mono=True)
        n_mels = opts.get("n_mels", 80)
        center_mode = opts.get("padding", "constant")
        S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, center=True, pad_mode=center_mode,
                                           power=2.0, n_mels=n_mels, htk=False, norm="slaney")
        ref = np.max if opts.get("ref") == "max" else 1.0
        top_db = opts.get("top_db", 80.0)
        D = librosa.power_to_db(S, ref=ref, amin=1e-10, top_db=top_db).astype("<f4")
        D.tofile(os.path.join(OUT, name + ".f32"))
        lines.append(f"name={name} input={filename} n_mels={n_mels} frames={D.shape[1]} padding={center_mode} "
                     f"ref={opts.get('ref', 'one')} top_db={top_db} samples={len(y)}")
        print(lines[-1])
    fb = librosa.filters.mel(sr=SR, n_fft=512, n_mels=40, htk=False, norm="slaney").astype("<f4")
    fb.tofile(os.path.join(OUT, "filterbank_512_40.f32"))
    fbh = librosa.filters.mel(sr=16000, n_fft=400, n_mels=26, fmin=60.0, fmax=7000.0, htk=True, norm=None).astype("<f4")
    fbh.tofile(os.path.join(OUT, "filterbank_htk_400_26.f32"))
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write(f"# librosa {librosa.__version__}, numpy {np.__version__}, soundfile {sf.__version__}\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
