"""Checkpoints in and out (read by timbre.load_model and by the C++ programs), Keras 3 .weights.h5 against
Keras' own outputs, plain safetensors and ONNX."""

import json
import subprocess
import wave

import numpy as np
import pytest

import timbre
from conftest import FIXTURES


@pytest.fixture(scope="module")
def trained(split):
    train, validation = split
    timbre.manual_seed(4)
    model = timbre.models.cnn_bilstm(adapt=train.x)
    model.fit(train, validation_data=validation, epochs=1, verbose=0)
    return model


def test_checkpoint_round_trip_continues_bit_identically(trained, split, tmp_path):
    path = tmp_path / "p2.safetensors"
    trained.save(path)
    loaded = timbre.load_model(path)
    train, validation = split
    np.testing.assert_array_equal(loaded.predict(validation), trained.predict(validation))
    assert loaded.class_names == train.class_names and loaded.optimizer.iterations == trained.optimizer.iterations
    for model in (trained, loaded):  # one more epoch each, from the same generator state
        timbre.manual_seed(9)
        model.fit(train, validation_data=validation, epochs=1, seed=5, verbose=0)
    for a, b in zip(loaded.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_cpp_predict_reads_a_python_checkpoint(trained, tmp_path, cpp_build):
    path = tmp_path / "p2.safetensors"
    trained.save(path)
    song = tmp_path / "song.wav"
    with wave.open(str(song), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        samples = timbre.data.synthesize_song("techno", 3, clip_seconds=6.0)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    out = subprocess.run([str(cpp_build / "examples" / "predict"), str(path), str(song), "--json"],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)["results"][0]
    patches = timbre.data.patches_from_file(song, trained.features)
    mine = trained.predict(patches).astype(np.float64) / len(patches)
    assert result["patches"] == len(patches)
    want = [result["probabilities"][genre] for genre in trained.class_names]
    np.testing.assert_allclose(mine.sum(axis=0), want, rtol=1e-12)


def test_keras_weights_give_keras_outputs():
    model = timbre.models.cnn_bilstm(normalize="none")
    model.load_weights(FIXTURES / "keras" / "cnn_bilstm.weights.h5")
    keras, _ = timbre.io.load_safetensors(FIXTURES / "keras" / "cnn_bilstm.safetensors")
    got = model.predict(keras["x"])
    tolerance = 1e-4 * (np.abs(keras["probs"]) + np.abs(keras["probs"]).max())  # the C++ Keras tests' rule
    assert (np.abs(got - keras["probs"]) <= tolerance).all()


def test_keras_weights_round_trip(trained, tmp_path):
    path = tmp_path / "p2.weights.h5"
    bare = timbre.models.cnn_bilstm(normalize="none")
    bare.set_weights(trained.get_weights()[3:])  # the model without its Normalization (mean, variance, count)
    bare.save_weights(path)
    again = timbre.models.cnn_bilstm(normalize="none")
    again.load_weights(path)
    for a, b in zip(again.get_weights(), bare.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loading_into_the_wrong_model_names_the_difference(tmp_path):
    with pytest.raises(timbre.Error, match="conv2d"):
        timbre.models.parallel_cnn(normalize="none").load_weights(FIXTURES / "keras" / "cnn_bilstm.weights.h5")
    custom = timbre.Sequential([timbre.layers.Flatten(), timbre.layers.Dense(8)], input_shape=(80, 80, 1))
    custom.save(tmp_path / "custom.safetensors")
    with pytest.raises(timbre.Error, match="not a seed model"):
        timbre.load_model(tmp_path / "custom.safetensors")
    with pytest.raises(timbre.Error, match="has no variable"):
        timbre.models.parallel_cnn().load_weights(tmp_path / "custom.safetensors")


def test_safetensors_round_trip(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(4)}
    timbre.io.save_safetensors(tmp_path / "x.safetensors", arrays, {"note": "kept"})
    back, metadata = timbre.io.load_safetensors(tmp_path / "x.safetensors")
    assert metadata == {"note": "kept"} and back["b"].dtype == np.float64
    for key, value in arrays.items():
        np.testing.assert_array_equal(back[key], value)
    with pytest.raises(TypeError, match="tensors\\['c'\\]"):
        timbre.io.save_safetensors(tmp_path / "y.safetensors", {"c": np.zeros(2, dtype=np.int32)})


def test_onnx_export_equals_the_cpp_exporter(trained, tmp_path, cpp_build):
    trained.save(tmp_path / "p2.safetensors")
    trained.export_onnx(tmp_path / "python.onnx")
    subprocess.run([str(cpp_build / "examples" / "export_onnx"), str(tmp_path / "p2.safetensors"),
                    str(tmp_path / "cpp.onnx")], check=True, capture_output=True)
    assert (tmp_path / "python.onnx").read_bytes() == (tmp_path / "cpp.onnx").read_bytes()
