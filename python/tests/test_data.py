"""timbre.data: log-mel extraction against a NumPy implementation of librosa's algorithm and against
librosa's own outputs, patches, data sets (zero-copy), the folder, list-file and tf.data readers."""

import wave

import numpy as np
import pytest

import timbre
from conftest import FIXTURES

SR = 22050


# ---- a NumPy log-mel: librosa.power_to_db(librosa.feature.melspectrogram(y, sr)) with its defaults
def hz_to_mel(f):  # Slaney's scale: linear below 1 kHz, logarithmic above
    f = np.asarray(f, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / log_step, f * 3.0 / 200.0)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(log_step * (m - 15.0)), m * 200.0 / 3.0)


def numpy_filterbank(sr=SR, n_fft=2048, n_mels=80):
    bins = np.linspace(0, sr / 2, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    ramps = edges[:, None] - bins[None, :]
    widths = np.diff(edges)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]  # Slaney normalisation: equal area


def numpy_log_mel(y, sr=SR, n_fft=2048, hop=512, n_mels=80, top_db=80.0):
    padded = np.pad(y.astype(np.float64), n_fft // 2)  # centred frames, zero padding (librosa >= 0.10)
    count = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[i * hop:i * hop + n_fft] for i in range(count)])
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    db = 10 * np.log10(np.maximum(1e-10, numpy_filterbank(sr, n_fft, n_mels) @ power.T))
    return np.maximum(db, db.max() - top_db)


@pytest.fixture(scope="module")
def song():
    return timbre.data.synthesize_song("classical", 0, clip_seconds=4.0)


def test_filterbank_matches_numpy():
    np.testing.assert_allclose(timbre.data.mel_filterbank(), numpy_filterbank(), rtol=1e-5, atol=1e-9)


def test_log_mel_matches_numpy(song):
    ours = timbre.data.log_mel(song)
    want = numpy_log_mel(song)
    assert ours.shape == want.shape == (80, 1 + len(song) // 512) and ours.dtype == np.float32
    above_floor = want > want.min() + 1e-3
    assert np.abs(ours - want)[above_floor].max() < 2e-3  # dB; float32 against float64
    assert abs(ours.min() - want.min()) < 2e-3


def test_log_mel_options_change_the_result(song):
    assert timbre.data.log_mel(song, n_mels=40).shape[0] == 40
    np.testing.assert_allclose(timbre.data.log_mel(song, top_db=40.0), numpy_log_mel(song, top_db=40.0), atol=2e-3)


@pytest.mark.parametrize("name, file", [("sine", "sine.wav"), ("chirp", "chirp.au")])
def test_log_mel_of_files_matches_librosa(name, file):
    audio = timbre.data.load_audio(str(FIXTURES / "melspec" / file))
    ours = timbre.data.log_mel(audio)
    librosa = np.fromfile(FIXTURES / "melspec" / f"{name}.f32", dtype="<f4").reshape(80, -1)
    assert ours.shape == librosa.shape
    above_floor = librosa > librosa.min() + 1e-3
    assert np.abs(ours - librosa)[above_floor].max() <= 0.05  # tests/test_melspec.cpp's tolerance


def test_patches_are_the_log_mel_cut_in_80_frames(song):
    patches = timbre.data.extract_patches(song)
    spectrogram = timbre.data.log_mel(song)
    assert patches.shape == (spectrogram.shape[1] // 80, 80, 80, 1)
    for p in range(patches.shape[0]):
        np.testing.assert_array_equal(patches[p, :, :, 0], spectrogram[:, p * 80:(p + 1) * 80])


def test_bad_signals_raise_clear_errors(song):
    with pytest.raises(TypeError, match="float32"):
        timbre.data.log_mel(song.astype(np.float64))
    with pytest.raises(ValueError, match="mono"):
        timbre.data.log_mel(np.stack([song, song], axis=1))
    with pytest.raises(timbre.ClipError, match="silent"):
        timbre.data.extract_patches(np.zeros(SR * 3, dtype=np.float32))
    with pytest.raises(TypeError, match="unknown option 'n_mel'"):
        timbre.data.log_mel(song, n_mel=40)
    with pytest.raises(ValueError, match="'constant', 'reflect'"):
        timbre.data.log_mel(song, padding="edge")


def test_dataset_shares_the_patches_memory():
    x = np.random.default_rng(2).standard_normal((6, 80, 80, 1)).astype(np.float32)
    d = timbre.data.Dataset(x, np.array([0, 1, 2, 0, 1, 2]))
    assert np.shares_memory(d.x, x) and d.class_names == ["class_0", "class_1", "class_2"]
    np.testing.assert_array_equal(d.y, [0, 1, 2, 0, 1, 2])
    assert d.y.dtype == np.int32 and (d.songs == -1).all()
    channel_less = timbre.data.Dataset(x[..., 0], np.zeros(6, dtype=np.uint8))
    assert channel_less.x.shape == (6, 80, 80, 1) and np.shares_memory(channel_less.x, x)


def test_bad_datasets_raise_clear_errors():
    x = np.zeros((4, 80, 80, 1), dtype=np.float32)
    with pytest.raises(TypeError, match="argmax"):
        timbre.data.Dataset(x, np.eye(4, dtype=np.float32))
    with pytest.raises(ValueError, match="expected 4 integer class indices"):
        timbre.data.Dataset(x, np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="float32"):
        timbre.data.Dataset(x.astype(np.float64), np.zeros(4, dtype=np.int64))
    with pytest.raises(timbre.Error, match="label"):
        timbre.data.Dataset(x, np.array([0, 1, 2, 3]), class_names=["a", "b"])


def test_synthetic_set_is_deterministic_and_split_by_song(synthetic, split):
    again = timbre.data.synthetic(songs_per_genre=5)
    np.testing.assert_array_equal(again.x, synthetic.x)
    assert synthetic.class_names == timbre.data.synthetic_genres() and len(synthetic) == 8 * 5 * 15
    train, validation = split
    assert len(train) + len(validation) == len(synthetic)
    assert not set(train.songs.tolist()) & set(validation.songs.tolist())


def write_wav(path, signal):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A GTZAN-style folder: 2 genres of 3 four-second songs, and one file that is not audio."""
    root = tmp_path_factory.mktemp("gtzan")
    for genre in ["metal", "reggae"]:
        (root / genre).mkdir()
        for i in range(3):
            write_wav(root / genre / f"{genre}.{i:05d}.wav", timbre.data.synthesize_song(genre, i, clip_seconds=4.0))
    (root / "metal" / "broken.wav").write_text("not audio")
    return root


def test_gtzan_folder_gives_the_files_patches(folder):
    with pytest.warns(UserWarning, match="broken.wav"):
        d = timbre.data.load_gtzan(str(folder), use_cache=False)
    assert d.class_names == ["metal", "reggae"] and len(d.song_names) == 6
    first = folder / "metal" / "metal.00000.wav"
    np.testing.assert_array_equal(d.x[d.songs == 0], timbre.data.patches_from_file(str(first)))
    assert d.song_names[0] == "metal/metal.00000.wav" and (d.y[d.songs == 5] == 1).all()


def test_list_file_gives_its_splits(folder):
    rows = ["path,genre,split", "metal/metal.00000.wav,metal,train", "metal/metal.00001.wav,metal,validation",
            "reggae/reggae.00000.wav,reggae,train", "reggae/reggae.00001.wav,reggae,validation"]
    listing = folder / "tracks.csv"
    listing.write_text("\n".join(rows) + "\n")
    d, splits = timbre.data.load_track_list(str(listing), use_cache=False)
    assert splits == ["train", "validation", "train", "validation"] and len(d.song_names) == 4


def test_missing_folder_is_a_timbre_error(tmp_path):
    with pytest.raises(timbre.Error, match="nowhere"):
        timbre.data.load_gtzan(str(tmp_path / "nowhere"))


def test_tfdata_round_trip(tmp_path, split):
    _, validation = split
    directory = str(tmp_path / "val")
    timbre.data.save_tfdata(validation, directory, compression="gzip")
    back = timbre.data.load_tfdata(directory, class_names=validation.class_names)
    np.testing.assert_array_equal(back.x, validation.x)
    np.testing.assert_array_equal(back.y, validation.y)
