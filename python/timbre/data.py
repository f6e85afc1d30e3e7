"""Data: labelled patch sets (Dataset), the sources the trainers read (the built-in synthetic set, GTZAN
folders, list files, tf.data directories) and the log-mel front end on NumPy signals."""

from ._timbre import data as _data

# The extension's data submodule is not an importable module of its own: take its members by name.
Augmentation = _data.Augmentation
Dataset = _data.Dataset
FeatureOptions = _data.FeatureOptions
MelOptions = _data.MelOptions
extract_patches = _data.extract_patches
load_audio = _data.load_audio
load_gtzan = _data.load_gtzan
load_tfdata = _data.load_tfdata
load_track_list = _data.load_track_list
patches_from_file = _data.patches_from_file
save_tfdata = _data.save_tfdata
synthesize_song = _data.synthesize_song
synthetic = _data.synthetic
synthetic_genres = _data.synthetic_genres

__all__ = [
    "Augmentation", "Dataset", "FeatureOptions", "MelOptions", "extract_patches", "load_audio", "load_gtzan",
    "load_tfdata", "load_track_list", "log_mel", "mel_filterbank", "patches_from_file", "save_tfdata",
    "synthesize_song", "synthetic", "synthetic_genres",
]


def log_mel(signal, sample_rate=22050, **options):
    """The log-mel spectrogram (n_mels, frames), float32, of a float32 mono signal, as librosa computes
    power_to_db(melspectrogram(y, sr)); `options` are MelOptions fields (n_fft=2048, hop_length=512,
    n_mels=80, fmin, fmax, power, htk, norm, top_db, ...)."""
    return _data.log_mel(signal, sample_rate, MelOptions(**options))


def mel_filterbank(sample_rate=22050, **options):
    """librosa.filters.mel(sr=sample_rate, n_fft, n_mels, fmin, fmax, htk, norm): (n_mels, 1 + n_fft // 2)."""
    return _data.mel_filterbank(sample_rate, MelOptions(**options))
