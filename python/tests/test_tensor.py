"""NumPy in and out: shared memory where the layout allows, clear errors where it does not."""

import numpy as np
import pytest

import timbre


def test_tensor_wraps_the_array_without_copying():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = timbre.tensor(a)
    assert t.shape == (2, 3, 4) and t.dtype == "float32" and t.device == "cpu" and len(t) == 2
    view = np.asarray(t)
    assert np.shares_memory(view, a)
    a[1, 2, 3] = -5.0  # the tensor sees writes to the array
    assert view[1, 2, 3] == -5.0
    np.testing.assert_array_equal(t.numpy(), a)


def test_float64_round_trip_and_conversions():
    a = np.random.default_rng(0).standard_normal((5, 7))
    t = timbre.tensor(a)
    assert t.dtype == "float64"
    np.testing.assert_array_equal(np.asarray(t), a)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    copied = np.array(t, copy=True)
    assert not np.shares_memory(copied, a)


def test_read_only_arrays_are_wrapped_too():
    a = np.ones((3, 3), dtype=np.float32)
    a.setflags(write=False)
    np.testing.assert_array_equal(np.asarray(timbre.tensor(a)), a)


def test_the_array_outlives_its_python_name():
    t = timbre.tensor(np.full((1000,), 3.0, dtype=np.float32))  # the tensor holds the only reference
    assert float(np.asarray(t).sum()) == 3000.0


@pytest.mark.parametrize(
    "bad, error, expected",
    [
        (np.zeros(4, dtype=np.int64), TypeError, "float32 or float64"),
        (np.zeros(4, dtype=np.float16), TypeError, "got float16"),
        (np.zeros((4, 4), dtype=np.float32)[:, ::2], ValueError, "non-contiguous"),
        (np.zeros((4, 4), dtype=np.float32).T, ValueError, "C-contiguous"),
        ([1.0, 2.0], TypeError, "got list"),
        ("text", TypeError, "got str"),
    ],
)
def test_bad_arrays_raise_naming_what_was_expected(bad, error, expected):
    with pytest.raises(error, match=expected):
        timbre.tensor(bad)


def test_timbre_errors_keep_their_message():
    with pytest.raises(timbre.Error, match="(?i)cuda"):
        timbre.tensor(np.zeros(2, dtype=np.float32)).to("cuda:99")
    assert issubclass(timbre.Error, RuntimeError) and issubclass(timbre.ClipError, timbre.Error)
