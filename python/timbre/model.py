"""Model and Sequential: Keras' training surface (compile, fit, predict, evaluate, summary, save) over a
timbre layer. fit, predict and evaluate run in C++ without the GIL."""

import json
import math

import numpy as np

from . import _timbre
from .callbacks import Callback, NativeCallback
from .data import Dataset, FeatureOptions
from .layers import as_layer
from .optimizers import from_config, get as get_optimizer


class History:
    """What fit returns, as Keras' History: history[metric] holds one value per epoch of that fit."""

    def __init__(self, logs, params):
        self.epoch = list(range(len(logs)))
        self.history = {key: [entry[key] for entry in logs] for key in (logs[0] if logs else {})}
        self.params = params

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class Model:
    """A trainable model around a timbre layer (`module`), usually a seed model or a Sequential.

    The model gives logits; fit trains them with softmax cross-entropy and reports accuracy, predict
    returns softmax probabilities."""

    def __init__(self, module, optimizer=None, seed_model=None, normalize="none"):
        self.module = as_layer(module)
        self.optimizer = optimizer
        self.stop_training = False
        self.class_names = None  # taken from the first training set, kept in checkpoints
        self.features = FeatureOptions()  # how the patches were cut from audio, kept in checkpoints
        self._seed_model = seed_model  # lets load_model rebuild the model from a checkpoint
        self._normalize = normalize
        self._device = "cpu"
        self._logs = []  # every epoch this model trained, for its checkpoints

    # ---- structure
    @property
    def name(self):
        return self.module.name

    @property
    def layers(self):
        return self.module.layers

    @property
    def built(self):
        return self.module.built

    @property
    def variables(self):
        """Every variable by qualified name, as Tensors (np.asarray views one; get_weights copies)."""
        return self.module.variables

    def build(self, input_shape):
        """Creates the variables for samples of `input_shape` (no batch axis), as Keras' build."""
        return self.module.build(tuple(input_shape))

    def summary(self, print_fn=print):
        """Prints Keras' summary: each layer, its output shape and parameters, and the totals."""
        self._require_built("summary")
        print_fn(self.module.summary_text().rstrip("\n"))

    def count_params(self):
        return self.module.count_params(True) + self.module.count_params(False)

    def get_weights(self):
        """Copies of the variables' values, in the order of `variables`."""
        return [np.array(t) for t in self.variables.values()]

    def set_weights(self, weights):
        variables = list(self.variables.items())
        if len(weights) != len(variables):
            raise ValueError(f"set_weights: the model has {len(variables)} variables, got {len(weights)} arrays")
        for (name, t), w in zip(variables, weights):
            target = np.asarray(t)
            if target.shape != np.shape(w):
                raise ValueError(f"set_weights: {name} has shape {target.shape}, got {np.shape(w)}")
            if t.device != "cpu":
                raise ValueError("set_weights: the model is on " + t.device + "; set weights on the CPU")
            target[...] = w

    # ---- device and optimizer
    @property
    def device(self):
        return self._device

    def to(self, device="auto"):
        """Moves the model to `device` ('auto', 'cpu', 'cuda', 'cuda:N'); before its first fit."""
        resolved = _timbre.device(device)
        if self.optimizer is not None and self.optimizer.attached:
            raise _timbre.Error("Model.to: the optimizer already holds this model's parameters; move the model "
                                "before training it")
        _timbre.move(self.module, resolved)
        self._device = resolved
        return self

    def compile(self, optimizer="adam"):
        """Sets the optimizer ('sgd', 'adam' or a timbre.optimizers optimizer). The loss is always the
        softmax cross-entropy of the logits, the metric accuracy."""
        self.optimizer = get_optimizer(optimizer)

    def adapt(self, x):
        """Adapts the model's input Normalization on patches `x` (N, 80, 80, 1)."""
        normalization = _timbre.input_normalization(self.module)
        if normalization is None:
            raise ValueError("adapt: the model has no input Normalization layer")
        normalization.adapt(_patches(x))

    # ---- training and inference
    def fit(self, x=None, y=None, batch_size=128, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, seed=42, augmentation=None):
        """Trains for `epochs` on x (N, 80, 80, 1) float32 and y (N,) class indices, or on a Dataset x,
        validating after every epoch on validation_data ((x, y) or a Dataset) or on the last
        validation_split of the rows, as Keras does. `seed` seeds the shuffling (timbre.manual_seed seeds
        initializers and dropout). An input Normalization that was never adapted is adapted on the
        training patches first, as the trainers do. Returns a History."""
        if self.optimizer is None:
            raise ValueError("fit: compile the model with an optimizer first (model.compile('adam'))")
        train = self._dataset(x, y, "x")
        if validation_data is not None:
            validation = self._validation_set(validation_data, train)
        elif 0 < validation_split < 1:
            train, validation = _split_tail(train, validation_split)
        else:
            raise ValueError("fit: timbre validates after every epoch; give validation_data or a validation_split "
                             "in (0, 1)")
        self._build_for(train.x)
        self._adapt_if_needed(train, verbose)
        self.class_names = list(train.class_names)
        callbacks = list(callbacks or [])
        for c in callbacks:
            if isinstance(c, Callback):
                c.set_model(self)
            elif not isinstance(c, NativeCallback):
                raise TypeError(f"callbacks: expected timbre.callbacks callbacks, got {type(c).__name__}")
        self.stop_training = False
        logs = _timbre.fit(self, self.module, self.optimizer, train, validation, epochs, batch_size, seed,
                           self._device, verbose, augmentation, callbacks)
        if not (validation.songs >= 0).any():  # no songs known: no song accuracy
            for entry in logs:
                del entry["val_song_accuracy"]
        self._logs.extend(logs)
        return History(logs, {"epochs": epochs, "steps": math.ceil(len(train) / batch_size), "verbose": verbose})

    def predict(self, x, batch_size=128):
        """Softmax probabilities (N, classes) for x (N, 80, 80, 1) float32 (or a Dataset)."""
        patches = _patches(x)
        self._build_for(patches)
        return _timbre.predict(self.module, patches, batch_size, self._device)

    def evaluate(self, x, y=None, batch_size=128):
        """Loss, accuracy (and song accuracy for a Dataset with songs), confusion matrix and per-class
        precision and recall, as a dict."""
        dataset = self._dataset(x, y, "x")
        self._build_for(dataset.x)
        return _timbre.evaluate(self.module, dataset, batch_size, self._device)

    # ---- files
    def save(self, path):
        """A timbre checkpoint (.safetensors): weights, optimizer state, classes, features and history. For
        a seed model timbre.load_model, the trainers' predict and timbre::Classifier read it."""
        self._require_built("save")
        config = {"source": "python"}
        if self.optimizer is not None:
            config["optimizer"] = self.optimizer.get_config()
        attached = self.optimizer if self.optimizer is not None and self.optimizer.attached else None
        _timbre.save_checkpoint(str(path), self.module, attached, self._seed_model or "", self._class_names(),
                                self._logs, self._normalize, self.features, json.dumps(config))

    def save_weights(self, path):
        """Keras 3 weights (path ending in .weights.h5, which Keras' load_weights reads) or a timbre
        checkpoint (.safetensors)."""
        self._require_built("save_weights")
        if str(path).endswith(".weights.h5"):
            _timbre.save_keras_weights(self.module, str(path))
        else:
            self.save(path)

    def load_weights(self, path):
        """Weights from a Keras 3 .weights.h5 file or a timbre checkpoint, into this (built) model: every
        variable must match by name (or, for Keras, by layer order) and shape."""
        self._require_built("load_weights")
        if str(path).endswith(".weights.h5"):
            _timbre.load_keras_weights(self.module, str(path))
        else:
            _timbre.load_checkpoint(str(path)).restore_model(self.module, str(path))

    def export_onnx(self, path):
        """The inference graph as ONNX (opset 17), softmax output named 'probabilities'."""
        self._require_built("export_onnx")
        _timbre.save_onnx(self.module, str(path))

    # ---- helpers
    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: build the model first (model.build(input_shape), or fit or predict it)")

    def _build_for(self, patches):
        if not self.built:
            self.build(np.shape(patches)[1:])

    def _class_names(self):
        if self.class_names is not None:
            return self.class_names
        if not self.built:
            return None
        return [f"class_{c}" for c in range(self.module.output_shape[-1])]

    def _dataset(self, x, y, what):
        if isinstance(x, Dataset):
            if y is not None:
                raise ValueError(f"{what}: a Dataset carries its labels; give y=None")
            return x
        if x is None or y is None:
            raise ValueError(f"{what}: give x and y, or a timbre.data.Dataset")
        self._build_for(x)
        return Dataset(x, y, class_names=self._class_names())

    def _validation_set(self, validation_data, train):
        if isinstance(validation_data, Dataset):
            return validation_data
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data: expected (x, y) or a timbre.data.Dataset")
        return Dataset(validation_data[0], validation_data[1], class_names=train.class_names)

    def _adapt_if_needed(self, train, verbose):
        normalization = _timbre.input_normalization(self.module)
        if normalization is not None and not normalization.adapted:
            if verbose:
                print(f"adapting the input Normalization on the {len(train)} training patches")
            normalization.adapt(train.x)


class Sequential(Model):
    """Layers one after another (Keras' Sequential); a Sequential is also a layer for another model, e.g.
    a branch of timbre.layers.Concatenate. Built from `input_shape`, or at its first fit or predict."""

    def __init__(self, layers=(), name=None, input_shape=None):
        super().__init__(_timbre.Sequential([as_layer(layer) for layer in layers]))
        if name is not None:
            self.module.name = name
        if input_shape is not None:
            self.build(input_shape)

    def add(self, layer):
        if self.built:
            raise ValueError("add: the model is built; add every layer before building it")
        self.module.add(as_layer(layer))


def load_model(path, device="cpu"):
    """The seed model saved in a timbre checkpoint (by Model.save or a trainer), with its weights, classes,
    features, history and optimizer state, on `device`."""
    from . import models  # models builds on this module

    path = str(path)
    checkpoint = _timbre.load_checkpoint(path)
    if checkpoint.model not in models.seed_model_names():
        raise _timbre.Error(f"load_model: {path} holds a model that is not a seed model ({checkpoint.model!r}); "
                            "build that model and call model.load_weights(path)")
    model = models.seed_model(checkpoint.model, len(checkpoint.class_names), checkpoint.normalize,
                              optimizer=_saved_optimizer(checkpoint))
    checkpoint.restore_model(model.module, path)
    model.to(device)
    if checkpoint.has_optimizer_state and checkpoint.optimizer == model.optimizer.name:
        checkpoint.restore_optimizer(model.optimizer, model.module, path)
    model.class_names = list(checkpoint.class_names)
    model.features = checkpoint.features
    model._logs = checkpoint.history
    return model


def _saved_optimizer(checkpoint):
    """The optimizer Model.save recorded in the checkpoint, or None (a trainer's: the seed's recipe)."""
    config = json.loads(checkpoint.config or "{}")
    if "optimizer" in config:
        return from_config(config["optimizer"])
    return None


def _patches(x):
    return x.x if isinstance(x, Dataset) else x


def _split_tail(dataset, fraction):
    """Keras' validation_split: the last `fraction` of the rows validate, before any shuffling."""
    n = len(dataset)
    validating = int(n * fraction)
    if validating < 1 or validating >= n:
        raise ValueError(f"validation_split: {fraction} of {n} rows leaves no training or no validation rows")
    return dataset.subset(list(range(n - validating))), dataset.subset(list(range(n - validating, n)))
