#!/usr/bin/env python3
"""Writes tests/fixtures/lstm/keras_lstm.txt: Keras' LSTM and Bidirectional(LSTM)
outputs and gradients (float64) for fixed weights and inputs, which
tests/test_lstm.cpp compares timbre against.

Usage: python3 tools/make_lstm_fixture.py   (needs tensorflow-cpu: pip install tensorflow-cpu)

Each case: the output of the layer on x, and the gradients of sum(upstream * output)
with respect to x and every weight. File format, one array per line:
    <name> <shape as d0,d1,...> <values...>
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

keras.backend.set_floatx("float64")
BATCH, STEPS, FEATURES, UNITS = 2, 5, 3, 4
rng = np.random.default_rng(2024)


def weights():
    return [rng.uniform(-0.6, 0.6, (FEATURES, 4 * UNITS)),
            rng.uniform(-0.6, 0.6, (UNITS, 4 * UNITS)),
            rng.uniform(-0.5, 0.5, (4 * UNITS,))]


def write(out, name, array):
    array = np.asarray(array, dtype=np.float64)
    shape = ",".join(str(d) for d in array.shape)
    out.write(f"{name} {shape} " + " ".join(repr(float(v)) for v in array.ravel()) + "\n")


def run_case(out, name, layer, layer_weights, halves):
    """halves: the sub-layers whose weights are set (the layer itself, or forward and backward of a Bidirectional)."""
    x = tf.Variable(rng.uniform(-1, 1, (BATCH, STEPS, FEATURES)))
    layer.build(x.shape)
    for half, w in zip(halves, layer_weights):
        half.set_weights(w)
    with tf.GradientTape() as tape:
        y = layer(x)
        upstream = tf.constant(rng.normal(size=y.shape))
        loss = tf.reduce_sum(upstream * y)
    variables = [x] + [v for half in halves for v in half.trainable_variables]
    grads = tape.gradient(loss, variables)
    write(out, f"{name}.x", x.numpy())
    for h, w in enumerate(layer_weights):
        for label, value in zip(["kernel", "recurrent_kernel", "bias"], w):
            write(out, f"{name}.w{h}.{label}", value)
    write(out, f"{name}.upstream", upstream.numpy())
    write(out, f"{name}.y", y.numpy())
    write(out, f"{name}.grad.x", grads[0].numpy())
    for h in range(len(halves)):
        for k, label in enumerate(["kernel", "recurrent_kernel", "bias"]):
            write(out, f"{name}.grad.w{h}.{label}", np.asarray(grads[1 + 3 * h + k]))


def main():
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "lstm", "keras_lstm.txt")
    with open(path + ".tmp", "w") as out:
        out.write(f"# keras {keras.__version__}, tensorflow {tf.__version__}; "
                  f"batch {BATCH} steps {STEPS} features {FEATURES} units {UNITS}\n")
        for sequences in (False, True):
            for backwards in (False, True):
                layer = keras.layers.LSTM(UNITS, return_sequences=sequences, go_backwards=backwards)
                run_case(out, f"lstm_seq{int(sequences)}_back{int(backwards)}", layer, [weights()], [layer])
            layer = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=sequences))
            x_shape = (BATCH, STEPS, FEATURES)
            layer.build(x_shape)
            run_case(out, f"bidirectional_seq{int(sequences)}", layer, [weights(), weights()],
                     [layer.forward_layer, layer.backward_layer])
    os.replace(path + ".tmp", path)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
