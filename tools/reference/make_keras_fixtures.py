#!/usr/bin/env python3
"""Writes tests/fixtures/keras/: Keras 3 reference values that tests/test_keras_parity.cpp and
tests/test_keras_weights.cpp compare timbre against (float32 throughout, as Keras computes).

Usage: /path/to/venv/bin/python tools/reference/make_keras_fixtures.py   (needs tensorflow-cpu, keras 3, h5py)

layers.safetensors: one case per layer configuration, tensors named "<case>.<what>":
    x, y (the layer's output), upstream (a fixed random gradient G of y), grad.x and grad.<variable>
    (gradients of sum(G * y)), the variables themselves (kernel, bias, gamma, ...), and for Dense and
    Conv2D the variables after one and two Keras SGD steps (momentum 0.9, lr 0.01: sgd1.<variable>,
    sgd2.<variable>) and Adam steps (lr 1e-3: adam1.<variable>, adam2.<variable>), each step applying
    those same gradients. BatchNorm in training also stores the
    moving statistics after the call (moving_mean.after, moving_variance.after). The loss case compares
    Keras' categorical_crossentropy on softmax(logits) with timbre's fused op on logits.
<model>.weights.h5: the seed model's initial weights as Keras' model.save_weights writes them.
<model>.safetensors: x (2, 80, 80, 1), targets (one-hot), probs (inference forward), and one training step
    on a copy of the model with every Dropout rate set to 0 (Keras' Dropout is random; timbre runs its
    Dropout layers in inference for this step, the same identity): probs.train, loss (mean
    categorical_crossentropy), grad.x, grad.<i>, and after.<i>: for cnn_bilstm every variable after the
    Adam step; for the SGD models only the non-trainable ones, as their first step is exactly
    w - 0.01 * grad (keeps the fixtures under 5 MB). <i> indexes keras_seed_models.ordered_weights(model),
    timbre's variable order. SGD momentum 0.9 lr 0.01 for parallel_cnn and cnn_lstm, Adam lr 1e-3 for
    cnn_bilstm, as the seed trains.
"""
import json
import os
import struct
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from keras_seed_models import SEED_MODELS, ordered_weights  # noqa: E402

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures",
                                    "keras"))
rng = np.random.default_rng(8)


def save_safetensors(path, tensors, metadata):
    """Minimal safetensors writer (float32 only): header length, JSON header, tensor bytes."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, value in tensors.items():
        data = np.ascontiguousarray(value, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(value)), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def metadata():
    return {"keras": keras.__version__, "tensorflow": tf.__version__, "generator": "tools/reference/make_keras_fixtures.py"}


def uniform(shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def layer_case(out, case, layer, x, weights=None, training=False, optimizers=False):
    """Runs `layer` on x, stores output, gradients of sum(G * y) and (optionally) one optimizer step."""
    layer.build(x.shape)
    if weights is not None:
        layer.set_weights(weights)
    names = [w.name for w in layer.weights]
    out[f"{case}.x"] = x
    for name, w in zip(names, layer.weights):
        out[f"{case}.{name}"] = w.numpy()
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = layer(xv, training=training)
        upstream = tf.constant(rng.normal(size=y.shape).astype(np.float32))
        loss = tf.reduce_sum(upstream * y)
    trainable = layer.trainable_weights
    grads = tape.gradient(loss, [xv] + trainable)
    out[f"{case}.y"] = y.numpy()
    out[f"{case}.upstream"] = upstream.numpy()
    out[f"{case}.grad.x"] = grads[0].numpy()
    for w, g in zip(trainable, grads[1:]):
        out[f"{case}.grad.{w.name}"] = g.numpy()
    if training and isinstance(layer, layers.BatchNormalization):
        out[f"{case}.moving_mean.after"] = layer.moving_mean.numpy()
        out[f"{case}.moving_variance.after"] = layer.moving_variance.numpy()
    if optimizers:
        start = [w.numpy() for w in trainable]
        for label, opt in (("sgd", keras.optimizers.SGD(0.01, momentum=0.9)), ("adam", keras.optimizers.Adam(1e-3))):
            for w, v in zip(trainable, start):
                w.assign(v)
            for step in (1, 2):  # the same gradients twice: momentum and bias correction come into play
                opt.apply_gradients(zip(grads[1:], trainable))
                for w in trainable:
                    out[f"{case}.{label}{step}.{w.name}"] = w.numpy()


def make_layers():
    out = {}
    # Conv2D: odd and even kernels, valid and same (even kernels pad 1 before, 2 after for k=4).
    for padding in ("valid", "same"):
        for kh, kw in ((3, 3), (4, 4), (4, 3)):
            cin, cout = 3, 4
            layer_case(out, f"conv2d_{padding}_{kh}x{kw}", layers.Conv2D(cout, (kh, kw), padding=padding),
                       uniform((2, 9, 8, cin)), [uniform((kh, kw, cin, cout), -0.5, 0.5), uniform((cout,), -0.2, 0.2)],
                       optimizers=(padding == "valid" and kh == 3))
    # MaxPool2D: sizes that do not divide the input (floor), and a tie-free random input.
    layer_case(out, "maxpool_2", layers.MaxPooling2D(2), uniform((2, 9, 8, 3)))
    layer_case(out, "maxpool_4", layers.MaxPooling2D(4), uniform((2, 11, 9, 2)))
    # BatchNormalization: non-trivial moving statistics, gamma and beta.
    c = 5
    bn_weights = [uniform((c,), 0.5, 1.5), uniform((c,), -0.5, 0.5), uniform((c,), -0.3, 0.3), uniform((c,), 0.5, 2.0)]
    x_bn = (uniform((4, 3, 3, c)) * 2 + 0.7).astype(np.float32)
    layer_case(out, "batchnorm_train", layers.BatchNormalization(), x_bn, bn_weights, training=True)
    layer_case(out, "batchnorm_infer", layers.BatchNormalization(), x_bn, bn_weights, training=False)
    layer_case(out, "leaky_relu", layers.LeakyReLU(0.3), uniform((3, 7)))
    layer_case(out, "dense", layers.Dense(5), uniform((3, 7)), [uniform((7, 5), -0.5, 0.5), uniform((5,), -0.2, 0.2)],
               optimizers=True)
    layer_case(out, "dense_relu", layers.Dense(5, activation="relu"), uniform((3, 7)),
               [uniform((7, 5), -0.5, 0.5), uniform((5,), -0.2, 0.2)])
    layer_case(out, "dropout_infer", layers.Dropout(0.3), uniform((3, 7)), training=False)
    layer_case(out, "softmax", layers.Softmax(), uniform((4, 8), -3, 3))
    # categorical_crossentropy (mean over the batch) on softmax outputs, one-hot and soft targets.
    for label, targets in (("onehot", np.eye(8, dtype=np.float32)[rng.integers(0, 8, 4)]),
                           ("soft", rng.dirichlet(np.ones(8), 4).astype(np.float32))):
        logits = tf.Variable(uniform((4, 8), -3, 3))
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.categorical_crossentropy(targets, tf.nn.softmax(logits)))
        out[f"xent_{label}.logits"] = logits.numpy()
        out[f"xent_{label}.targets"] = targets
        out[f"xent_{label}.loss"] = np.array(loss.numpy(), dtype=np.float32)
        out[f"xent_{label}.grad.logits"] = tape.gradient(loss, logits).numpy()
    save_safetensors(os.path.join(OUT, "layers.safetensors"), out, metadata())


def make_model(name, make, batch=2, seed=1):
    keras.utils.set_random_seed(seed)
    model = make()
    # Random BatchNorm statistics and affine terms, so that inference does not see the identity.
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([uniform((c,), 0.5, 1.5), uniform((c,), -0.3, 0.3), uniform((c,), -0.3, 0.3),
                               uniform((c,), 0.5, 2.0)])
    model.save_weights(os.path.join(OUT, f"{name}.weights.h5"))
    x = rng.normal(size=(batch, 80, 80, 1)).astype(np.float32)
    targets = np.eye(8, dtype=np.float32)[rng.integers(0, 8, batch)]
    out = {"x": x, "targets": targets, "probs": model(x, training=False).numpy()}

    # The training step: the same weights in a copy whose Dropout layers have rate 0.
    step_model = make(dropout_scale=0.0)
    step_model.set_weights(model.get_weights())
    variables = ordered_weights(step_model)
    trainable_index = [i for i, v in enumerate(variables) if v.trainable]
    trainable = [variables[i] for i in trainable_index]
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        probs = step_model(xv, training=True)
        loss = tf.reduce_mean(keras.losses.categorical_crossentropy(targets, probs))
    grads = tape.gradient(loss, [xv] + trainable)
    out["probs.train"] = probs.numpy()
    out["loss"] = np.array(loss.numpy(), dtype=np.float32)
    out["grad.x"] = grads[0].numpy()
    for i, g in zip(trainable_index, grads[1:]):
        out[f"grad.{i}"] = g.numpy()
    optimizer = (keras.optimizers.Adam(1e-3) if name == "cnn_bilstm" else keras.optimizers.SGD(0.01, momentum=0.9))
    optimizer.apply_gradients(zip(grads[1:], trainable))
    # Keras' first SGD-momentum step is exactly w - lr * g (zero velocity): the SGD models store only the
    # moving statistics (none) and the tests apply that rule to grad.<i>, which keeps the fixtures < 5 MB.
    for i, v in enumerate(variables):
        if name == "cnn_bilstm" or not v.trainable:
            out[f"after.{i}"] = v.numpy()
    meta = metadata()
    meta["optimizer"] = type(optimizer).__name__
    save_safetensors(os.path.join(OUT, f"{name}.safetensors"), out, meta)


def main():
    os.makedirs(OUT, exist_ok=True)
    make_layers()
    for i, (name, make) in enumerate(SEED_MODELS.items()):
        make_model(name, make, seed=10 + i)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {OUT}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
