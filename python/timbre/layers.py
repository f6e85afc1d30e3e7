"""Layers with Keras' names, arguments and variables. Models end in logits (no softmax): fit applies the
softmax cross-entropy, predict the softmax."""

from . import _timbre
from ._timbre import (
    Activation,
    BatchNormalization,
    Bidirectional,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    LeakyReLU,
    LSTM,
    MaxPooling2D,
    Normalization,
    Reshape,
)

__all__ = [
    "Activation", "BatchNormalization", "Bidirectional", "Concatenate", "Conv2D", "Dense", "Dropout",
    "Flatten", "Layer", "LeakyReLU", "LSTM", "MaxPooling2D", "Normalization", "Reshape", "as_layer",
]


def as_layer(obj):
    """The timbre layer behind `obj`: a Layer itself, or a Model's (a Sequential used as a branch)."""
    module = getattr(obj, "module", obj)
    if not isinstance(module, Layer):
        raise TypeError(f"expected a timbre layer or model, got {type(obj).__name__}")
    return module


def Concatenate(branches):
    """Parallel branches on the same input, joined along the last axis (P1.1's shape): each branch is a
    layer or a Sequential."""
    return _timbre.Concatenate([as_layer(b) for b in branches])
