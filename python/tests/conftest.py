"""Shared fixtures: a small synthetic data set, the repository's test fixtures, and the C++ build whose
programs the comparisons run (TIMBRE_CPP_BUILD, which scripts/test.sh sets)."""

import os
import pathlib

import pytest

import timbre

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="session")
def synthetic():
    """5 songs per genre of the built-in set: 600 patches, split by song."""
    return timbre.data.synthetic(songs_per_genre=5)


@pytest.fixture(scope="session")
def split(synthetic):
    return synthetic.split(seed=3)


@pytest.fixture(scope="session")
def cpp_build():
    """The C++ build directory of this checkout; the comparisons need its trainers. Unset: skipped."""
    build = os.environ.get("TIMBRE_CPP_BUILD")
    if not build:
        pytest.skip("TIMBRE_CPP_BUILD is not set (scripts/test.sh sets it to the C++ build of this checkout)")
    build = pathlib.Path(build)
    if not (build / "examples" / "cnn_bilstm").exists():
        pytest.fail(f"TIMBRE_CPP_BUILD={build} holds no examples/cnn_bilstm: build the C++ project first")
    return build
