"""The seed's three models, built for (80, 80, 1) log-mel patches and compiled with the seed's optimizer
(P1.1 and P1.2: SGD 0.01, momentum 0.9; P2: Adam 1e-3). As the trainers build them, an input
Normalization comes first (normalize="band": one mean and variance per mel band; "global"; "none" gives
the seed's model exactly); fit adapts it on the training patches unless `adapt` was given."""

from . import _timbre
from .model import Model
from .optimizers import SGD, Adam

__all__ = ["parallel_cnn", "cnn_lstm", "cnn_bilstm", "seed_model", "seed_model_names"]


def seed_model_names():
    return [spec["name"] for spec in _timbre.seed_models()]


def seed_model(name, classes=8, normalize="band", adapt=None, optimizer=None):
    """The seed model called `name` ("parallel_cnn", "cnn_lstm" or "cnn_bilstm") as a Model."""
    spec = next((s for s in _timbre.seed_models() if s["name"] == name), None)
    if spec is None:
        raise ValueError(f"unknown seed model {name!r}; known: {', '.join(seed_model_names())}")
    if optimizer is None:
        optimizer = (SGD(spec["learning_rate"], momentum=spec["momentum"]) if spec["optimizer"] == "SGD"
                     else Adam(spec["learning_rate"]))
    module = _timbre.seed_model(name, classes, normalize, adapt)
    return Model(module, optimizer=optimizer, seed_model=name, normalize=normalize)


def parallel_cnn(classes=8, normalize="band", adapt=None):
    """P1.1: two convolutional branches side by side, concatenated, one Dense (54,255 parameters)."""
    return seed_model("parallel_cnn", classes, normalize, adapt)


def cnn_lstm(classes=8, normalize="band", adapt=None):
    """P1.2: two convolutions, LSTM 128 and LSTM 32, Dense 200, Dropout 0.2 (98,510 parameters)."""
    return seed_model("cnn_lstm", classes, normalize, adapt)


def cnn_bilstm(classes=8, normalize="band", adapt=None):
    """P2: convolutions with BatchNorm, two bidirectional LSTMs, Dense 200, Dropout 0.3 (245,894)."""
    return seed_model("cnn_bilstm", classes, normalize, adapt)
