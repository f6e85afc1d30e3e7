"""Training from Python: bit-identical to the C++ trainers on the same seed, Keras-style history and
callbacks, the GIL released while timbre works, threads, Ctrl-C, and clear errors."""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import timbre
from timbre.callbacks import Callback


def python_run(name, split, epochs=1, seed=3, **fit_args):
    """What the trainers do with --recipe seed --seed SEED: seed, build (adapted on the training set), fit."""
    train, validation = split
    timbre.manual_seed(seed)
    model = timbre.models.seed_model(name, adapt=train.x)
    history = model.fit(train, validation_data=validation, epochs=epochs, seed=seed, verbose=0, **fit_args)
    return model, history


@pytest.mark.parametrize("name", ["cnn_bilstm", "parallel_cnn"])
def test_fit_is_bit_identical_to_the_trainer(name, split, cpp_build, tmp_path):
    # The conftest split is the trainers' split of --synthetic-songs 5 with --seed 3.
    out = tmp_path / "trainer"
    subprocess.run([str(cpp_build / "examples" / name), "--data", "synthetic", "--synthetic-songs", "5", "--epochs",
                    "1", "--recipe", "seed", "--seed", "3", "--out", str(out), "--progress", "quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    model, history = python_run(name, split)
    model.save(tmp_path / "python.safetensors")
    trainer, _ = timbre.io.load_safetensors(out / "last.safetensors")
    mine, _ = timbre.io.load_safetensors(tmp_path / "python.safetensors")
    assert sorted(mine) == sorted(trainer) and any(k.startswith("optimizer/") for k in mine)
    for key in trainer:  # weights, BatchNorm statistics, Normalization statistics, optimizer state
        np.testing.assert_array_equal(mine[key], trainer[key], err_msg=key)
    trainer_history = timbre.io.load_checkpoint(str(out / "last.safetensors")).history
    assert history.history["loss"] == [trainer_history[0]["loss"]]
    assert history.history["val_accuracy"] == [trainer_history[0]["val_accuracy"]]


def test_history_is_keras_like_and_runs_repeat(split):
    first, history = python_run("parallel_cnn", split, epochs=2)
    again, _ = python_run("parallel_cnn", split, epochs=2)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "val_song_accuracy",
                                    "learning_rate"}
    assert history.epoch == [0, 1] and len(history.history["loss"]) == 2
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    probabilities = first.predict(split[1])
    assert probabilities.shape == (len(split[1]), 8)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    evaluation = first.evaluate(split[1])
    assert evaluation["accuracy"] == history.history["val_accuracy"][-1]


def test_numpy_arrays_and_validation_split(split):
    train, _ = split
    timbre.manual_seed(1)
    model = timbre.models.parallel_cnn()
    history = model.fit(train.x, train.y, epochs=1, validation_split=0.25, verbose=0)
    assert "val_song_accuracy" not in history.history  # plain arrays carry no songs
    tail = train.subset(list(range(len(train) - len(train) // 4, len(train))))
    assert model.evaluate(tail.x, tail.y)["accuracy"] == history.history["val_accuracy"][0]


class Recorder(Callback):
    def __init__(self, stop_after=None):
        super().__init__()
        self.events, self.stop_after = [], stop_after

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch", batch, logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("end", epoch, logs["val_accuracy"]))
        if epoch == self.stop_after:
            self.model.stop_training = True


def test_python_callbacks_see_every_batch_and_can_stop(split):
    recorder = Recorder(stop_after=0)
    _, history = python_run("parallel_cnn", split, epochs=5, batch_size=128, callbacks=[recorder])
    batches = -(-len(split[0]) // 128)
    assert [e[:2] for e in recorder.events] == [("begin", 0)] + [("batch", b) for b in range(batches)] + [("end", 0)]
    assert recorder.events[-1][2] == history.history["val_accuracy"][0] and len(history.epoch) == 1


def test_timbre_callbacks_and_python_schedules(split):
    schedule = timbre.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))
    # val_loss must fall by 100 to count: the second epoch does not improve, patience 0 stops there.
    stopping = timbre.callbacks.EarlyStopping(min_delta=100.0)
    _, history = python_run("parallel_cnn", split, epochs=5, callbacks=[schedule, stopping])
    assert history.history["learning_rate"] == [0.01, 0.005]


def test_errors_in_callbacks_reach_the_caller(split):
    class Failing(Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        python_run("parallel_cnn", split, epochs=3, callbacks=[Failing()])


def python_ticks_during(call, repeat=1, margin=0.05):
    """How often another Python thread ran while `call` worked, away from its start and end by `margin`
    seconds (never, if it held the GIL)."""
    stamps, windows, done = [], [], threading.Event()

    def tick():
        while not done.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.02)
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        windows.append((start + margin, time.perf_counter() - margin))
    done.set()
    ticker.join()
    assert sum(end - start for start, end in windows) > 0.1, "the calls are too short to tell"
    return sum(any(start < t < end for start, end in windows) for t in stamps)


def test_the_gil_is_released_in_fit_predict_and_extraction(split):
    model = timbre.models.cnn_bilstm(normalize="none")
    train, validation = split
    noise = np.random.default_rng(0).standard_normal(22050 * 600).astype(np.float32) * 0.1
    many = np.concatenate([train.x] * 4)
    assert python_ticks_during(lambda: model.predict(many)) > 5
    assert python_ticks_during(lambda: model.fit(train, validation_data=validation, verbose=0)) > 5
    assert python_ticks_during(lambda: timbre.data.log_mel(noise), repeat=6, margin=0.01) > 5


@pytest.mark.parametrize("threads", ["1", "3"])
def test_omp_num_threads_is_honoured(threads):
    env = dict(os.environ, OMP_NUM_THREADS=threads)
    out = subprocess.run([sys.executable, "-c", "import timbre; print(timbre.num_threads())"], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == threads


INTERRUPTED_FIT = """
import os, signal, threading
import numpy as np
import timbre
x = np.random.default_rng(0).standard_normal((256, 80, 80, 1)).astype(np.float32)
y = np.arange(256) % 8
model = timbre.models.parallel_cnn()
threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    model.fit(x, y, epochs=1_000_000, validation_split=0.25, verbose=0)
except KeyboardInterrupt:
    print("interrupted after", model.optimizer.iterations, "steps")
"""


def test_ctrl_c_stops_fit_with_keyboard_interrupt():
    # In a process of its own: without the check, fit would run on for hours (the timeout fails the test).
    out = subprocess.run([sys.executable, "-c", INTERRUPTED_FIT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("interrupted after"), out.stdout + out.stderr


def test_bad_training_input_raises_clear_errors(split):
    train, validation = split
    model = timbre.models.parallel_cnn(classes=3)
    with pytest.raises(timbre.Error, match="8 classes"):
        model.fit(train, validation_data=validation, verbose=0)
    with pytest.raises(ValueError, match="validation_data or a validation_split"):
        model.fit(train, verbose=0)
    with pytest.raises(ValueError, match=r"\(None, 80, 80, 1\)"):
        model.predict(np.zeros((2, 40, 80, 1), dtype=np.float32))
    with pytest.raises(TypeError, match="float32"):
        model.predict(np.zeros((2, 80, 80, 1)))
    with pytest.raises(ValueError, match="compile"):
        timbre.Sequential([timbre.layers.Flatten(), timbre.layers.Dense(8)]).fit(train, validation_data=validation)
    with pytest.raises(ValueError, match="'sgd', 'adam'"):
        model.compile("rmsprop")
