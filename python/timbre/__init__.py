"""timbre from Python: the seed's genre models, layers to build others, Keras-style training, the data
pipeline (GTZAN folders, list files, tf.data directories, log-mel extraction) and checkpoints, over
timbre's C++/CUDA library. NumPy arrays go in and come out without copies where the layout allows."""

from importlib.metadata import PackageNotFoundError, version

from ._timbre import (
    ClipError,
    Error,
    Tensor,
    built_with_cuda,
    cuda_device_count,
    cuda_unavailable_reason,
    device,
    manual_seed,
    num_threads,
    set_num_threads,
    tensor,
)
from . import callbacks, data, io, layers, optimizers
from .model import History, Model, Sequential, load_model
from . import models

try:
    __version__ = version("timbre")
except PackageNotFoundError:  # imported from a source tree
    __version__ = "unknown"

__all__ = [
    "ClipError", "Error", "History", "Model", "Sequential", "Tensor", "built_with_cuda", "callbacks",
    "cuda_device_count", "cuda_unavailable_reason", "data", "device", "io", "layers", "load_model",
    "manual_seed", "models", "num_threads", "optimizers", "set_num_threads", "tensor",
]
