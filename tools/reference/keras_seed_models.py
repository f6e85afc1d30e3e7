"""The seed's three models in Keras 3 (reference-notes.md, "The seed's three models"),
shared by make_keras_fixtures.py and check_keras_weights.py. Layer names are
Keras' automatic ones; timbre maps weights by layer order and shape, not by name."""
import keras
from keras import layers

INPUT_SHAPE = (80, 80, 1)


def parallel_cnn(classes=8, dropout_scale=1.0):
    del dropout_scale  # P1.1 has no dropout
    inputs = keras.Input(INPUT_SHAPE)
    a = layers.Conv2D(3, (8, 8))(inputs)
    a = layers.LeakyReLU(0.3)(a)
    a = layers.MaxPooling2D(4)(a)
    a = layers.Flatten()(a)
    b = layers.Conv2D(4, (4, 4))(inputs)
    b = layers.LeakyReLU(0.3)(b)
    b = layers.MaxPooling2D(2)(b)
    b = layers.Flatten()(b)
    out = layers.Dense(classes, activation="softmax")(layers.Concatenate()([a, b]))
    return keras.Model(inputs, out, name="parallel_cnn")


def cnn_lstm(classes=8, dropout_scale=1.0):
    """dropout_scale 0 gives the same model with Dropout(0): used for a deterministic training step."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        layers.Conv2D(8, (4, 4)), layers.MaxPooling2D(2),
        layers.Conv2D(6, (3, 3)), layers.MaxPooling2D(2),
        layers.Reshape((324, 6)),
        layers.LSTM(128, return_sequences=True), layers.LSTM(32),
        layers.Dense(200, activation="relu"), layers.Dropout(0.2 * dropout_scale),
        layers.Dense(classes, activation="softmax"),
    ], name="cnn_lstm")


def cnn_bilstm(classes=8, dropout_scale=1.0):
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        layers.Conv2D(8, (4, 4), padding="same"), layers.BatchNormalization(), layers.LeakyReLU(0.3),
        layers.MaxPooling2D(2),
        layers.Conv2D(6, (3, 3), padding="same"), layers.BatchNormalization(), layers.LeakyReLU(0.3),
        layers.MaxPooling2D(2),
        layers.Reshape((100, 24)),
        layers.Bidirectional(layers.LSTM(128, return_sequences=True)), layers.Bidirectional(layers.LSTM(32)),
        layers.Dense(200, activation="relu"), layers.Dropout(0.3 * dropout_scale),
        layers.Dense(classes, activation="softmax"),
    ], name="cnn_bilstm")


SEED_MODELS = {"parallel_cnn": parallel_cnn, "cnn_lstm": cnn_lstm, "cnn_bilstm": cnn_bilstm}


def ordered_weights(model):
    """Every variable in timbre's order: layer by layer as built (P1.1: the 8x8 branch, the 4x4 branch,
    the Dense), each layer's variables in Keras' order (kernel, bias; gamma, beta, moving_mean,
    moving_variance; Bidirectional: forward then backward LSTM)."""
    out = []
    for layer in model.layers:
        if isinstance(layer, layers.Bidirectional):
            out += list(layer.forward_layer.weights) + list(layer.backward_layer.weights)
        else:
            out += list(layer.weights)
    return out
