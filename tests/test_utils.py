"""fastnn.utils: to_categorical, normalize, seeds; the front modules stay light."""

from __future__ import annotations

import importlib
import random
import subprocess
import sys

import numpy as np
import pytest

from fastnn import utils

seeding = importlib.import_module("fastnn.utils.seeding")


@pytest.fixture
def fresh_seed():
    seeding._reset_for_tests()
    yield
    seeding._reset_for_tests()


# -- to_categorical / normalize ------------------------------------------------


def test_to_categorical_keras_example():
    expected = np.eye(4)
    got = utils.to_categorical([0, 1, 2, 3], num_classes=4)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "shape, out_shape",
    [((5,), (5, 3)), ((5, 1), (5, 3)), ((2, 5), (2, 5, 3)), ((2, 5, 1), (2, 5, 3)), ((1,), (1, 3))],
)
def test_to_categorical_shapes(rng, shape, out_shape):
    labels = rng.integers(0, 3, size=shape)
    got = utils.to_categorical(labels, 3)
    assert got.shape == out_shape
    flat = labels.reshape(-1)
    np.testing.assert_array_equal(got.reshape(-1, 3), np.eye(3)[flat])


def test_to_categorical_infers_num_classes_and_accepts_integral_floats():
    np.testing.assert_array_equal(utils.to_categorical(np.array([2, 0])), np.eye(3)[[2, 0]])
    np.testing.assert_array_equal(utils.to_categorical([1.0, 0.0], 2), np.eye(2)[[1, 0]])
    np.testing.assert_array_equal(utils.to_categorical(np.uint8([9]), 10), np.eye(10)[[9]])
    assert utils.to_categorical(np.zeros(0, np.int64), 4).shape == (0, 4)


@pytest.mark.parametrize(
    "labels, num_classes, match",
    [
        ([0, 3], 3, "class index 3 is out of range for num_classes=3"),
        ([-1, 0], 3, "class index -1"),
        ([0.5], 2, "non-integer"),
        ([float("nan")], 2, "non-integer or non-finite"),
        (["a"], 2, "integer class indices"),
        ([0, 1], -2, "positive integer"),
        ([0, 1], 2.5, "positive integer"),
        ([0, 1], True, "positive integer"),
        (np.zeros(0, np.int64), None, "empty"),
        # int64 wrapped these: "class index -9223372036854775808 ... num_classes=-9223..."
        (np.array([2**64 - 1], np.uint64), None, "class index 18446744073709551615 is out"),
        (np.array([0, 2**63], np.uint64), 3, "class index 9223372036854775808 is out"),
        ([1e30], 3, r"class index 1e\+30 is out"),
        ([-1e30], None, r"class index -1e\+30 is out"),
    ],
)
def test_to_categorical_bad_input(labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        utils.to_categorical(labels, num_classes)


def test_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0, order=1), [[1.0, 1.0], [0.0, 0.0]])


# -- seeds ----------------------------------------------------------------------


def test_set_random_seed_seeds_python_and_numpy(fresh_seed):
    utils.set_random_seed(42)
    a = (random.random(), np.random.rand())  # noqa: NPY002
    utils.set_random_seed(42)
    b = (random.random(), np.random.rand())  # noqa: NPY002
    assert a == b
    assert utils.get_random_seed() == 42


def test_next_seed_sequence_is_fixed_by_the_global_seed(fresh_seed):
    utils.set_random_seed(7)
    first = [utils.next_seed() for _ in range(5)]
    assert len(set(first)) == 5
    assert all(isinstance(s, int) and 0 <= s < 2**64 for s in first)
    utils.set_random_seed(7)
    assert [utils.next_seed() for _ in range(5)] == first
    utils.set_random_seed(8)
    assert utils.next_seed() not in first


def test_next_seed_is_not_reproducible_without_a_global_seed(fresh_seed):
    assert utils.get_random_seed() is None
    assert len({utils.next_seed() for _ in range(4)}) == 4


def test_next_seed_ignores_numpy_global_state(fresh_seed):
    utils.set_random_seed(3)
    a = utils.next_seed()
    utils.set_random_seed(3)
    np.random.seed(99)  # noqa: NPY002
    random.seed(99)
    assert utils.next_seed() == a


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "1", None, True, [1]])
def test_set_random_seed_rejects_bad_seeds(fresh_seed, bad):
    with pytest.raises(ValueError, match="seed"):
        utils.set_random_seed(bad)
    assert utils.get_random_seed() is None


def test_set_random_seed_accepts_numpy_integers_and_bounds(fresh_seed):
    utils.set_random_seed(np.int64(5))
    assert utils.get_random_seed() == 5 and type(utils.get_random_seed()) is int
    utils.set_random_seed(0)
    utils.set_random_seed(2**32 - 1)


def test_seed_is_the_same_in_a_fresh_process():
    code = "from fastnn import utils; utils.set_random_seed(11); print(utils.next_seed())"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
        ).stdout
        for _ in range(2)
    }
    assert len(outs) == 1


# -- import weight -------------------------------------------------------------


def test_front_modules_import_light():
    code = (
        "import sys; import numpy; base = set(sys.modules);"
        "import fastnn; from fastnn import callbacks, datasets, metrics, utils;"
        "import fastnn.datasets.mnist, fastnn.datasets.fashion_mnist, fastnn.datasets.imdb;"
        "added = set(sys.modules) - base;"
        "heavy = [m for m in added if m.split('.')[0] in "
        "('torch', 'tensorflow', 'keras', 'scipy', 'sklearn', 'pandas', 'matplotlib', 'h5py',"
        " 'urllib', 'http', 'email', 'zipfile', 'json', 'threadpoolctl', 'gzip', 'csv',"
        " 'hashlib', 'tempfile', 'pickle', 'fastnn.saving')];"
        "heavy += [m for m in added if m == 'fastnn.saving'];"
        "print(sorted(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
