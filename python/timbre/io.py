"""Files: timbre checkpoints (the trainers' .safetensors), plain safetensors files, and through Model the
Keras 3 .weights.h5 files and ONNX."""

from ._timbre import Checkpoint, load_checkpoint, load_safetensors, save_safetensors

__all__ = ["Checkpoint", "load_checkpoint", "load_safetensors", "save_safetensors"]
