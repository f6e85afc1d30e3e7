"""Keras' SGD and Adam (timbre's kernels): an optimizer is bound to a model's parameters at the model's
first fit and keeps its state (velocity, moments, iterations) across later fits and checkpoints."""

from ._timbre import SGD, Adam, Optimizer

__all__ = ["SGD", "Adam", "Optimizer", "get", "from_config"]


def get(identifier):
    """An Optimizer as given, or a new one with Keras' defaults for "sgd" or "adam"."""
    if isinstance(identifier, Optimizer):
        return identifier
    makers = {"sgd": SGD, "adam": Adam}
    if not isinstance(identifier, str) or identifier.lower() not in makers:
        raise ValueError(f"optimizer: expected 'sgd', 'adam' or a timbre.optimizers optimizer, got {identifier!r}")
    return makers[identifier.lower()]()


def from_config(config):
    """The optimizer that Optimizer.get_config() describes."""
    settings = dict(config)
    name = settings.pop("name")
    return {"SGD": SGD, "Adam": Adam}[name](**settings)
