"""Layers and containers from Python: values against NumPy references, Keras' names and totals, and the
seed's P1.1 rebuilt from layers (functional branches) equal to the C++ definition."""

import numpy as np
import pytest

import timbre
from timbre import layers

RNG = np.random.default_rng(1)


def built(layer, input_shape):
    layer.build(input_shape)
    return layer


def weights(layer):
    return {name.split("/")[-1]: np.asarray(t) for name, t in layer.variables.items()}


def test_dense_matches_numpy():
    dense = built(layers.Dense(5, activation="relu"), (7,))
    w = weights(dense)
    assert w["kernel"].shape == (7, 5) and w["bias"].shape == (5,)
    x = RNG.standard_normal((3, 7)).astype(np.float32)
    np.testing.assert_allclose(dense(x), np.maximum(x @ w["kernel"] + w["bias"], 0), rtol=1e-5, atol=1e-6)


def conv2d_reference(x, kernel, bias, padding):
    kh, kw = kernel.shape[:2]
    if padding == "same":  # Keras/TensorFlow pad the extra row and column at the end
        x = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    n, h, w, _ = x.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,cf->nhwf", x[:, i:i + out.shape[1], j:j + out.shape[2], :], kernel[i, j])
    return out + bias


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_matches_numpy(padding):
    conv = built(layers.Conv2D(4, (3, 2), padding=padding), (9, 8, 2))
    w = weights(conv)
    w["bias"][:] = RNG.standard_normal(4)  # Keras initialises it to zeros
    x = RNG.standard_normal((2, 9, 8, 2)).astype(np.float32)
    np.testing.assert_allclose(conv(x), conv2d_reference(x, w["kernel"], w["bias"], padding), rtol=1e-4, atol=1e-5)


def test_pooling_and_leaky_relu_match_numpy():
    model = timbre.Sequential([layers.LeakyReLU(0.2), layers.MaxPooling2D(2)], input_shape=(4, 6, 3))
    x = RNG.standard_normal((2, 4, 6, 3)).astype(np.float32)
    leaky = np.where(x > 0, x, 0.2 * x)
    want = leaky.reshape(2, 2, 2, 3, 2, 3).max(axis=(2, 4))
    np.testing.assert_array_equal(model.module(x), want)


def p11_from_layers():
    branch = lambda filters, size, pool: timbre.Sequential(
        [layers.Conv2D(filters, size), layers.LeakyReLU(0.3), layers.MaxPooling2D(pool), layers.Flatten()])
    return timbre.Sequential([layers.Concatenate([branch(3, 8, 4), branch(4, 4, 2)]), layers.Dense(8)],
                             input_shape=(80, 80, 1))


def test_branches_rebuild_p11_exactly():
    timbre.manual_seed(11)
    mine = p11_from_layers()
    timbre.manual_seed(11)
    seed = timbre.models.parallel_cnn(normalize="none")
    assert mine.count_params() == seed.count_params() == 54_255
    assert list(mine.variables) == list(seed.variables)  # Keras' names: conv2d/kernel, ..., dense/bias
    for a, b in zip(mine.get_weights(), seed.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = RNG.standard_normal((4, 80, 80, 1)).astype(np.float32)
    np.testing.assert_array_equal(mine.predict(x), seed.predict(x))


def test_summary_prints_keras_totals(capsys):
    timbre.models.cnn_bilstm(normalize="none").summary()
    out = capsys.readouterr().out
    assert "bidirectional (Bidirectional)" in out and "Total params: 245,894" in out


def test_layer_arguments_are_checked():
    with pytest.raises(ValueError, match="'valid' or 'same'"):
        layers.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="'relu'"):
        layers.Dense(4, activation="gelu")
    with pytest.raises(TypeError, match="timbre layer"):
        timbre.Sequential([np.zeros(3)])
    with pytest.raises(timbre.Error, match="at least two branches"):
        layers.Concatenate([layers.Flatten()]).build((4, 4, 1))
    model = timbre.Sequential([layers.Dense(2)], input_shape=(3,))
    with pytest.raises(ValueError, match=r"\(None, 3\)"):
        model.predict(np.zeros((2, 4), dtype=np.float32))
