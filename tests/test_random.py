"""fastnn.random, Keras 3's ``keras.random`` on NumPy arrays: the names,
signatures, result shapes and dtypes and argument errors against Keras's
(torch backend), the distributions with fixed seeds (Kolmogorov-Smirnov
statistics and moments against bounds several times the statistical
spread: the seeds are fixed, so they cannot flake), Keras's seed rules
(int seeds repeat, SeedGenerators advance, seed=None follows
set_random_seed), and SeedGenerators as initializer seeds."""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import json
import math
import pickle
import random as python_random

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import initializers, layers, saving, utils
from fastnn import random as R

seeding = importlib.import_module("fastnn.utils.seeding")

# One call of each function on `shape`: (name, fn(shape, **kwargs) of a module).
DRAWS = {
    "normal": lambda m, shape, **kw: m.normal(shape, **kw),
    "uniform": lambda m, shape, **kw: m.uniform(shape, **kw),
    "truncated_normal": lambda m, shape, **kw: m.truncated_normal(shape, **kw),
    "randint": lambda m, shape, **kw: m.randint(shape, 0, 10, **kw),
    "gamma": lambda m, shape, **kw: m.gamma(shape, 2.0, **kw),
    "binomial": lambda m, shape, **kw: m.binomial(shape, 5, 0.5, **kw),
    "beta": lambda m, shape, **kw: m.beta(shape, 2.0, 3.0, **kw),
}
FLOAT_ONLY = ("normal", "uniform", "truncated_normal")
CAST = ("gamma", "binomial", "beta")
ODD_SHAPES = [(), (0,), (1,), (7,), (13, 1), (2, 0, 3), [5, 3], (np.int64(3), np.int32(2)), [11]]


@pytest.fixture
def fresh_seed():
    seeding._reset_for_tests()
    yield
    seeding._reset_for_tests()


def _keras_or_none():
    """Keras, or None where it is missing (the test then checks fastnn alone)."""
    try:
        return keras_or_skip()
    except pytest.skip.Exception:
        return None


def _numpy(tensor) -> np.ndarray:
    keras = keras_or_skip()
    with keras_quiet():  # (NumPy 2's __array__ copy keyword)
        return np.asarray(keras.ops.convert_to_numpy(tensor))


def _raised(fn) -> BaseException:
    with pytest.raises(Exception) as info:
        fn()
    return info.value


def _keras_words(ours: str, theirs: str) -> None:
    """Our message is Keras's, `keras.random` named `fastnn.random`."""
    assert ours == theirs.replace("keras.random", "fastnn.random").rstrip()


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.frompyfunc(math.erf, 1, 1)(x / math.sqrt(2.0)).astype(np.float64))


def _ks(sample, cdf) -> float:
    """The Kolmogorov-Smirnov statistic of `sample` against `cdf`."""
    x = np.sort(np.asarray(sample, np.float64).ravel())
    n, f = x.size, cdf(x)
    return max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max())


# -- the module and its names ---------------------------------------------------------


def test_the_module_is_there_under_every_spelling():
    import fastnn.random as imported
    from fastnn.random import SeedGenerator, normal

    assert imported is R is fastnn.random
    assert normal is R.normal and SeedGenerator is R.SeedGenerator
    assert "random" in fastnn.__all__
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        _ = R.nonsense


def test_public_names_and_signatures_are_kerass():
    keras = keras_or_skip()
    theirs = sorted(n for n in dir(keras.random) if not n.startswith("_"))
    assert sorted(R.__all__) == theirs
    for name in theirs:
        assert _parameters(getattr(R, name)) == _parameters(getattr(keras.random, name)), name
    attributes = [n for n in dir(keras.random.SeedGenerator(1)) if not n.startswith("_")]
    assert [n for n in dir(R.SeedGenerator(1)) if not n.startswith("_")] == attributes
    for method in ("next", "get_config", "from_config"):
        ours, theirs = getattr(R.SeedGenerator, method), getattr(keras.random.SeedGenerator, method)
        assert _parameters(ours) == _parameters(theirs), method
    assert R.SeedGenerator(1).backend is fastnn.backend


def _parameters(fn) -> list:
    """Names, kinds and defaults (annotations aside)."""
    parameters = inspect.signature(fn).parameters.values()
    return [(p.name, p.kind, p.default) for p in parameters]


# -- shapes and dtypes, as Keras's ----------------------------------------------------


@pytest.mark.parametrize("shape", ODD_SHAPES, ids=repr)
@pytest.mark.parametrize("name", sorted(DRAWS))
def test_odd_shapes_give_kerass_shape_and_dtype(name, shape):
    ours = DRAWS[name](R, shape, seed=3)
    assert isinstance(ours, np.ndarray) and ours.shape == tuple(int(d) for d in shape)
    assert ours.dtype == (np.int32 if name == "randint" else np.float32)
    keras = _keras_or_none()
    if keras is None:
        return
    if name == "beta" and 0 in shape:  # (torch's Dirichlet cannot reshape 0 values)
        with pytest.raises(RuntimeError, match="cannot reshape tensor of 0 elements"):
            DRAWS[name](keras.random, shape, seed=3)
        return
    theirs = _numpy(DRAWS[name](keras.random, shape, seed=3))
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_shapes_keras_refuses_are_refused(name):
    """Keras's torch backend takes only a tuple or list of ints (torch's
    `size`) in normal, uniform, truncated_normal and randint; its gamma,
    binomial and beta broadcast to a bare int too (fastnn refuses it
    everywhere)."""
    keras = keras_or_skip()
    for bad in (5, np.int64(3), None, (2.0, 3), "3", (True, 2), np.array([2, 3])):
        with pytest.raises(TypeError, match="`shape` must be a tuple or list of integers"):
            DRAWS[name](R, bad, seed=1)
        if name not in CAST and not isinstance(bad, tuple):  # (torch reads True as 1)
            with pytest.raises(TypeError):
                DRAWS[name](keras.random, bad, seed=1)
    with pytest.raises(ValueError, match="negative dimension"):
        DRAWS[name](R, (2, -1), seed=1)
    with pytest.raises(RuntimeError):
        DRAWS[name](keras.random, (2, -1), seed=1)


FLOAT_DTYPES = [None, "float32", "float64", "float16", np.float32, float]
CAST_DTYPES = [None, "float64", "float16", "int32", "int", "uint8", "bool", np.float32, float]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=repr)
@pytest.mark.parametrize("name", FLOAT_ONLY)
def test_float_dtypes_are_kerass(name, dtype):
    keras = keras_or_skip()
    ours = DRAWS[name](R, (4,), dtype=dtype, seed=1)
    assert ours.dtype == _numpy(DRAWS[name](keras.random, (4,), dtype=dtype, seed=1)).dtype


@pytest.mark.parametrize("dtype", ["int32", "int", "uint8", "bool", np.int64], ids=repr)
@pytest.mark.parametrize("name", FLOAT_ONLY)
def test_float_functions_refuse_other_dtypes(name, dtype):
    keras = keras_or_skip()
    ours = _raised(lambda: DRAWS[name](R, (4,), dtype=dtype, seed=1))
    assert type(ours) is ValueError
    assert str(ours) == (
        f"`fastnn.random.{name}` requires a floating point `dtype`. Received: dtype={dtype}"
    )
    theirs = _raised(lambda: DRAWS[name](keras.random, (4,), dtype=dtype, seed=1))
    if name == "uniform":  # (normal's is torch's NotImplementedError)
        _keras_words(str(ours), str(theirs))


@pytest.mark.parametrize("dtype", CAST_DTYPES, ids=repr)
@pytest.mark.parametrize("name", CAST)
def test_gamma_binomial_beta_cast_to_any_dtype_as_keras(name, dtype):
    keras = keras_or_skip()
    ours = DRAWS[name](R, (4,), dtype=dtype, seed=1)
    assert ours.dtype == _numpy(DRAWS[name](keras.random, (4,), dtype=dtype, seed=1)).dtype


@pytest.mark.parametrize("dtype", ["int32", "int8", "int64", "uint8", "int", np.int16], ids=repr)
def test_randint_dtypes_are_kerass(dtype):
    keras = keras_or_skip()
    ours = R.randint((5,), 0, 100, dtype=dtype, seed=2)
    assert ours.dtype == _numpy(keras.random.randint((5,), 0, 100, dtype=dtype, seed=2)).dtype
    assert R.randint((5,), 0, 100, seed=2).dtype == np.int32  # the default
    assert R.randint((5,), 0, 100, dtype=None, seed=2).dtype == np.int32  # (Keras: float32)


@pytest.mark.parametrize("dtype", ["float32", "float64", "bool", np.float32, float], ids=repr)
def test_randint_refuses_non_integer_dtypes_in_kerass_words(dtype):
    keras = keras_or_skip()
    ours = _raised(lambda: R.randint((3,), 0, 5, dtype=dtype))
    theirs = _raised(lambda: keras.random.randint((3,), 0, 5, dtype=dtype))
    assert type(ours) is type(theirs) is ValueError
    _keras_words(str(ours), str(theirs))


@pytest.mark.parametrize("dtype", ["float", "foo", "float128"])
@pytest.mark.parametrize("name", [*DRAWS, "categorical"])
def test_unknown_dtypes_are_kerass_invalid_dtype(name, dtype):
    keras = keras_or_skip()
    if name == "categorical":
        ours = _raised(lambda: R.categorical([[0.0, 1.0]], 2, dtype=dtype))
        theirs = _raised(lambda: keras.random.categorical([[0.0, 1.0]], 2, dtype=dtype))
    else:
        ours = _raised(lambda: DRAWS[name](R, (2,), dtype=dtype))
        theirs = _raised(lambda: DRAWS[name](keras.random, (2,), dtype=dtype))
    assert type(ours) is type(theirs) is ValueError
    assert str(ours) == str(theirs) == f"Invalid dtype: {dtype}"


def test_dtypes_numpy_lacks_are_refused():
    for dtype in ("bfloat16", "float8_e4m3fn", "string"):
        with pytest.raises(ValueError, match=f"NumPy has no {dtype} dtype"):
            R.gamma((2,), 1.0, dtype=dtype, seed=0)
    with pytest.raises(ValueError, match="NumPy has no bfloat16 dtype"):
        R.normal((2,), dtype="bfloat16", seed=0)


# -- seeds ------------------------------------------------------------------------------


def _all_calls(seed):
    """One draw of every function with `seed`."""
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    return [
        *(DRAWS[name](R, (3, 5), seed=seed) for name in sorted(DRAWS)),
        R.categorical([[0.0, 1.0, 2.0]], 8, seed=seed),
        R.dropout(x, 0.5, seed=seed),
        R.shuffle(x, seed=seed),
    ]


def _same(a: list, b: list) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_an_int_seed_repeats_and_another_differs():
    first = _all_calls(7)
    assert _same(first, _all_calls(7))
    for name in ("beta", "gamma", "normal", "truncated_normal", "uniform"):  # continuous
        assert not np.array_equal(DRAWS[name](R, (5,), seed=7), DRAWS[name](R, (5,), seed=8))


def test_int_seeds_are_uint32s_as_in_keras():
    keras = keras_or_skip()
    for a, b in ((-1, 2**32 - 1), (0, 2**32), (5, 5 + 2**40), (True, 1)):
        assert np.array_equal(R.normal((4,), seed=a), R.normal((4,), seed=b))
        assert np.array_equal(
            _numpy(keras.random.normal((4,), seed=a)), _numpy(keras.random.normal((4,), seed=b))
        )


@pytest.mark.parametrize("seed", [1.5, "a", [1, 2], np.int64(3), (1, 2)], ids=repr)
def test_bad_seeds_are_kerass_error(seed):
    keras = keras_or_skip()
    import torch

    x = torch.ones((2, 3))
    words = (
        "Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
        f"Received: seed={seed} (of type {type(seed)})"
    )
    for name, call in [
        *DRAWS.items(),
        ("categorical", lambda m, shape, **kw: m.categorical([[0.0, 1.0]], 2, **kw)),
        ("dropout", lambda m, shape, **kw: m.dropout(x, 0.5, **kw)),
        ("shuffle", lambda m, shape, **kw: m.shuffle(x, **kw)),
    ]:
        ours = _raised(functools.partial(call, R, (2,), seed=seed))
        theirs = _raised(functools.partial(call, keras.random, (2,), seed=seed))
        assert type(ours) is type(theirs) is ValueError, name
        assert str(ours) == str(theirs) == words


def test_a_seed_generator_advances_and_a_new_one_repeats_the_sequence():
    gen = R.SeedGenerator(42)
    sequence = [R.normal((5,), seed=gen) for _ in range(4)]
    assert gen.state.tolist() == [42, 4]
    assert np.array_equal(sequence[0], R.normal((5,), seed=42))  # the first draw: the int seed's
    for i in range(4):
        for j in range(i):
            assert not np.array_equal(sequence[i], sequence[j])
    again = R.SeedGenerator(42)
    assert all(np.array_equal(a, R.normal((5,), seed=again)) for a in sequence)
    mixed = R.SeedGenerator(42)
    assert _same(_all_calls(mixed), _all_calls(R.SeedGenerator(42)))
    assert mixed.state.tolist() == [42, 10]


def test_the_first_draw_of_a_seed_generator_is_the_int_seeds_as_in_keras():
    keras = keras_or_skip()
    ours = [R.normal((3,), seed=R.SeedGenerator(9)), R.normal((3,), seed=9)]
    theirs = [_numpy(keras.random.normal((3,), seed=s)) for s in (keras.random.SeedGenerator(9), 9)]
    assert np.array_equal(*ours) and np.array_equal(*theirs)


def test_a_failed_call_leaves_the_generator_and_the_global_sequence_alone(fresh_seed):
    gen = R.SeedGenerator(1)
    for bad in (
        lambda: R.normal((2,), stddev=-1.0, seed=gen),
        lambda: R.uniform((2,), dtype="int32", seed=gen),
        lambda: R.randint((2,), 5, 5, seed=gen),
        lambda: R.categorical([0.0, 1.0], 2, seed=gen),
        lambda: R.gamma((2,), 0.0, seed=gen),
        lambda: R.shuffle([1, 2], axis=1, seed=gen),
        lambda: R.dropout([1.0], 2.0, seed=gen),
    ):
        with pytest.raises((ValueError, TypeError)):
            bad()
    assert gen.state.tolist() == [1, 0]
    utils.set_random_seed(3)
    with pytest.raises(ValueError):
        R.beta((2,), -1.0, 1.0)
    assert seeding._mark()[0] == 0  # no seed drawn from the global sequence


def test_dropout_at_rate_0_and_1_draws_no_seed_as_keras():
    gen = R.SeedGenerator(5)
    R.dropout(np.ones(3), 0.0, seed=gen)
    R.dropout(np.ones(3), 1.0, seed=gen)
    assert gen.state.tolist() == [5, 0]


def test_set_random_seed_makes_unseeded_calls_repeat(fresh_seed):
    utils.set_random_seed(1234)
    first = _all_calls(None) + _all_calls(None)
    assert not np.array_equal(first[0], first[10])  # consecutive unseeded calls differ
    utils.set_random_seed(1234)
    assert _same(first, _all_calls(None) + _all_calls(None))
    utils.set_random_seed(1235)
    assert not np.array_equal(first[0], R.beta((3, 5), 2.0, 3.0))


def test_unseeded_calls_differ_without_a_global_seed(fresh_seed):
    assert not np.array_equal(R.normal((8,)), R.normal((8,)))


# -- SeedGenerator ----------------------------------------------------------------------


def test_seed_generator_state_moves_as_kerass():
    keras = keras_or_skip()
    for seed in (0, 42, 123456789, -7, 2**31 - 1):
        ours = R.SeedGenerator(seed, name="g")
        theirs = keras.random.SeedGenerator(seed, name="g")
        for ordered in (True, False, True, False, False, True):
            assert ours.next(ordered).tolist() == _numpy(theirs.next(ordered)).tolist()
            assert ours.state.tolist() == _numpy(theirs.state).tolist()
        assert ours.state.dtype == np.int32 == _numpy(theirs.state).dtype


def test_seed_generator_config_name_and_errors_are_kerass():
    keras = keras_or_skip()
    ours, theirs = R.SeedGenerator(3, name="sg"), keras.random.SeedGenerator(3, name="sg")
    assert ours.get_config() == theirs.get_config() == {"seed": 3, "name": "sg"}
    back = R.SeedGenerator.from_config(theirs.get_config())
    assert back.name == "sg" and back.state.tolist() == [3, 0]
    assert R.SeedGenerator().get_config()["seed"] is None
    assert R.SeedGenerator().name.startswith("seed_generator")
    assert ours.state.name == "seed_generator_state" and not ours.state.trainable
    assert ours.state.path == theirs.state.path == "sg/seed_generator_state"
    for bad in (1.5, "a", np.int64(3), [1]):
        mine = _raised(functools.partial(R.SeedGenerator, bad))
        keras_error = _raised(functools.partial(keras.random.SeedGenerator, bad))
        assert type(mine) is type(keras_error) is ValueError
        words = f"Argument `seed` must be an integer. Received: seed={bad}"
        assert str(mine) == str(keras_error) == words
    mine = _raised(lambda: R.SeedGenerator(1, foo=3))
    assert str(mine) == str(_raised(lambda: keras.random.SeedGenerator(1, foo=3)))


def test_an_unseeded_generator_starts_where_kerass_does_after_set_random_seed(fresh_seed):
    keras = keras_or_skip()
    utils.set_random_seed(77)
    ours = R.SeedGenerator().state.tolist()
    keras.utils.set_random_seed(77)
    assert ours == _numpy(keras.random.SeedGenerator().state).tolist()
    python_random.seed()


def test_seed_generators_copy_and_pickle_with_their_state():
    gen = R.SeedGenerator(6, name="copied")
    gen.next()
    twins = [copy.deepcopy(gen), pickle.loads(pickle.dumps(gen))]
    want = R.normal((3,), seed=gen)  # the draw at [6, 1]
    for twin in twins:
        assert twin.get_config() == gen.get_config()
        assert twin.state.tolist() == [6, 1] and twin.state.path == "copied/seed_generator_state"
        assert np.array_equal(R.normal((3,), seed=twin), want)
        assert twin.state.tolist() == [6, 2]
    assert gen.state.tolist() == [6, 2]
    init = pickle.loads(pickle.dumps(initializers.RandomNormal(seed=gen)))
    assert init.seed.state.tolist() == [6, 2]


def test_seed_generators_serialize_as_kerass():
    keras = keras_or_skip()
    ours = saving.serialize_keras_object(R.SeedGenerator(4, name="x"))
    theirs = keras.saving.serialize_keras_object(keras.random.SeedGenerator(4, name="x"))
    assert ours == theirs
    back = saving.deserialize_keras_object(theirs)
    assert isinstance(back, R.SeedGenerator) and back.get_config() == {"seed": 4, "name": "x"}
    assert keras.saving.deserialize_keras_object(ours).get_config() == {"seed": 4, "name": "x"}


# -- distributions ----------------------------------------------------------------------

N = 200_000


def test_normal_is_normal_with_its_mean_and_stddev():
    x = R.normal((N,), mean=3.0, stddev=2.0, seed=11).astype(np.float64)
    assert abs(x.mean() - 3.0) < 5 * 2.0 / math.sqrt(N)
    assert abs(x.std() - 2.0) < 0.02
    assert _ks((x - 3.0) / 2.0, _normal_cdf) < 2.5 / math.sqrt(N)
    assert np.array_equal(R.normal((3,), stddev=0.0, mean=1.5, seed=0), np.full(3, 1.5, np.float32))


def test_normal_refuses_a_negative_stddev():
    with pytest.raises(ValueError, match=r"stddev >= 0.0. Received: stddev=-1.0"):
        R.normal((3,), stddev=-1.0, seed=1)
    with pytest.raises(ValueError, match="stddev >= 0.0"):
        R.normal((3,), stddev=float("nan"), seed=1)
    with pytest.raises(TypeError, match="`mean` must be a real number"):
        R.normal((3,), mean="a", seed=1)


def test_uniform_fills_its_half_open_interval():
    x = R.uniform((N,), minval=-2.0, maxval=3.0, seed=12).astype(np.float64)
    assert x.min() >= -2.0 and x.max() < 3.0
    assert _ks(x, lambda v: (v + 2.0) / 5.0) < 2.5 / math.sqrt(N)
    assert np.array_equal(R.uniform((2,), 1.0, 1.0, seed=0), np.ones(2, np.float32))  # as Keras
    assert R.uniform((), seed=0).shape == ()


def test_uniform_never_rounds_up_to_maxval():
    """In float16 about one draw in 4000 would round to 1.0."""
    x = R.uniform((N,), dtype="float16", seed=13)
    assert x.max() < 1.0 and x.max() == np.nextafter(np.float16(1), np.float16(0))
    y = R.uniform((N,), minval=1.0, maxval=1.0 + 2**-20, seed=13)  # 8 float32 values wide
    assert y.min() >= 1.0 and y.max() < np.float32(1.0 + 2**-20)


def test_truncated_normal_redraws_beyond_two_stddevs():
    x = R.truncated_normal((N,), mean=1.0, stddev=0.5, seed=14).astype(np.float64)
    z = (x - 1.0) / 0.5
    assert np.abs(z).max() <= 2.0 and np.abs(z).max() > 1.99
    phi2 = float(_normal_cdf(np.array([2.0]))[0])
    truncated_cdf = lambda v: (_normal_cdf(v) - (1 - phi2)) / (2 * phi2 - 1)  # noqa: E731
    assert _ks(z, truncated_cdf) < 2.5 / math.sqrt(N)
    assert abs(z.std() - 0.87962566103423978) < 0.01  # Keras's truncation constant
    assert abs(z.mean()) < 5 * 0.88 / math.sqrt(N)
    big = R.truncated_normal((1000, 1000), seed=15)  # (Keras's torch backend keeps ~4 outside)
    assert np.abs(big).max() <= 2.0


def test_randint_draws_every_integer_of_its_range_evenly():
    x = R.randint((N,), -3, 4, seed=16)
    assert x.min() == -3 and x.max() == 3
    counts = np.bincount(x + 3, minlength=7)
    expected = N / 7
    assert np.abs(counts - expected).max() < 6 * math.sqrt(expected)
    assert R.randint((4,), 0, 1, seed=0).tolist() == [0, 0, 0, 0]
    wide = R.randint((1000,), 0, 2**40, dtype="int64", seed=1)
    assert wide.max() > 2**39


def test_randint_refuses_empty_bounds_beyond_the_dtype_and_floats():
    with pytest.raises(ValueError, match="minval < maxval. Received: minval=1, maxval=1"):
        R.randint((3,), 1, 1)
    with pytest.raises(ValueError, match="minval < maxval"):
        R.randint((3,), 2, 1)
    with pytest.raises(ValueError, match=r"does not fit in uint8"):
        R.randint((3,), 0, 300, dtype="uint8")
    with pytest.raises(ValueError, match=r"does not fit in int32"):
        R.randint((3,), 0, 2**40)
    assert R.randint((3,), 0, 256, dtype="uint8", seed=0).dtype == np.uint8
    with pytest.raises(TypeError, match="integer bounds"):
        R.randint((3,), 0.5, 3.7)


def test_categorical_frequencies_are_the_softmax_of_the_logits():
    probabilities = np.array([0.1, 0.2, 0.7])
    logits = np.stack([np.log(probabilities) + 5.0, np.log(probabilities[::-1])])
    logits = np.concatenate([logits, np.full((2, 1), -np.inf)], axis=1)  # never drawn
    draws = R.categorical(logits, 100_000, seed=17)
    assert draws.shape == (2, 100_000) and draws.dtype == np.int32
    for row, want in ((0, probabilities), (1, probabilities[::-1])):
        frequencies = np.bincount(draws[row], minlength=4) / 100_000
        assert frequencies[3] == 0.0
        assert np.abs(frequencies[:3] - want).max() < 0.01


def test_categorical_edges():
    assert R.categorical([[-np.inf, 0.0, -np.inf]], 5, seed=0).tolist() == [[1] * 5]
    assert R.categorical([[0.0] * 7], 1, seed=0).shape == (1, 1)
    assert R.categorical(np.zeros((0, 3)), 4, seed=0).shape == (0, 4)
    assert R.categorical([[0, 1]], 3, seed=0).shape == (1, 3)  # integer logits (torch refuses)
    assert R.categorical([[0.0, 1.0]], 3, dtype=None, seed=0).dtype == np.float32  # as Keras
    assert R.categorical([[0.0, 1.0]], np.int64(2), seed=0).shape == (1, 2)
    for bad in ([[np.nan, 0.0]], [[np.inf, 0.0]], [[-np.inf, -np.inf]]):
        with pytest.raises(ValueError, match="invalid distribution"):
            R.categorical(bad, 2, seed=0)
    with pytest.raises(ValueError, match="no classes"):
        R.categorical(np.zeros((2, 0)), 2, seed=0)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="n_sample <= 0"):
            R.categorical([[0.0, 1.0]], bad)
    for bad in (2.0, True):
        with pytest.raises(TypeError, match="`num_samples` must be an integer"):
            R.categorical([[0.0, 1.0]], bad)


@pytest.mark.parametrize("logits", [[0.0, 1.0], np.zeros((1, 2, 2))], ids=["1-D", "3-D"])
def test_categorical_wants_2d_logits_in_kerass_words(logits):
    keras = keras_or_skip()
    ours = _raised(lambda: R.categorical(logits, 3))
    theirs = _raised(lambda: keras.random.categorical(logits, 3))
    assert type(ours) is type(theirs) is ValueError
    assert str(ours) == str(theirs)


def test_dropout_zeroes_its_rate_and_scales_the_rest():
    x = np.full((1000, 200), 3.0, np.float32)
    out = R.dropout(x, 0.3, seed=18)
    assert out.dtype == np.float32 and out.shape == x.shape
    zero = out == 0.0
    assert abs(zero.mean() - 0.3) < 0.005
    assert np.all(out[~zero] == np.float32(3.0) / np.float32(0.7))
    assert abs(out.mean() - 3.0) < 0.02  # the expectation is kept


def test_dropout_noise_shape_drops_whole_axes():
    x = np.ones((50, 8), np.float32)
    rows = R.dropout(x, 0.5, noise_shape=(None, 1), seed=19)
    assert all(len(set(row.tolist())) == 1 for row in rows)
    assert 0 < (rows[:, 0] == 0).sum() < 50
    columns = R.dropout(x, 0.5, noise_shape=[1, 8], seed=19)
    assert np.array_equal(columns, np.broadcast_to(columns[0], x.shape))
    short = R.dropout(x, 0.5, noise_shape=(8,), seed=19)  # broadcast from the right, as torch
    assert np.array_equal(short, np.broadcast_to(short[0], x.shape))
    for bad in ((2, 8), (1, 50, 8), (None, 3)):
        with pytest.raises(ValueError, match="noise_shape"):
            R.dropout(x, 0.5, noise_shape=bad, seed=0)


def test_dropout_rates_dtypes_and_errors_as_kerass():
    keras = keras_or_skip()
    import torch

    ints = np.arange(12).reshape(3, 4)
    assert R.dropout(ints, 0.5, seed=1).dtype == np.float32
    assert _numpy(keras.random.dropout(torch.tensor(ints), 0.5, seed=1)).dtype == np.float32
    assert R.dropout(ints.astype(np.int32), 0.5, seed=1).dtype == np.float32
    int32 = torch.tensor(ints, dtype=torch.int32)
    assert _numpy(keras.random.dropout(int32, 0.5, seed=1)).dtype == np.float32
    for rate, want in ((0.0, ints), (1.0, np.zeros_like(ints))):
        ours = R.dropout(ints, rate, seed=1)
        assert ours.dtype == ints.dtype and np.array_equal(ours, want) and ours is not ints
    assert R.dropout(ints.astype(np.float64), 0.5, seed=1).dtype == np.float64
    assert R.dropout([1.0, 2.0], np.float32(0.5), seed=1).dtype == np.float32
    assert R.dropout(torch.ones(3, 2), 0.5, seed=1).shape == (3, 2)
    for rate in (1.5, -0.5, float("nan")):
        with pytest.raises(ValueError, match="0 <= rate <= 1"):
            R.dropout(ints, rate, seed=1)
        with pytest.raises(RuntimeError):
            keras.random.dropout(torch.ones(3), rate, seed=1)


def test_shuffle_permutes_along_its_axis():
    x = np.arange(60).reshape(20, 3)
    rows = R.shuffle(x, seed=20)
    assert not np.array_equal(rows, x)
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, x.tolist()))  # rows intact
    y = np.arange(200).reshape(4, 50)
    columns = R.shuffle(y, axis=1, seed=21)
    assert all(sorted(a) == sorted(b) for a, b in zip(columns.tolist(), y.tolist()))
    assert not np.array_equal(columns[0] - columns[0, 0], columns[1] - columns[1, 0])  # own order
    assert np.array_equal(R.shuffle(y, axis=-1, seed=21), columns)
    z = np.arange(24).reshape(2, 3, 4)
    middle = R.shuffle(z, axis=1, seed=22)
    for i in (0, 1):
        assert sorted(map(tuple, middle[i].tolist())) == sorted(map(tuple, z[i].tolist()))
    assert R.shuffle([3, 1, 2], seed=0).dtype == np.int32
    assert R.shuffle(np.zeros((0, 3)), seed=0).shape == (0, 3)


def test_shuffle_is_uniform_over_permutations():
    firsts = np.array([R.shuffle(np.arange(5), seed=s)[0] for s in range(5000)])
    counts = np.bincount(firsts, minlength=5)
    assert np.abs(counts - 1000).max() < 6 * math.sqrt(1000)


def test_shuffle_axes_as_kerass():
    keras = keras_or_skip()
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for axis in (2, -3):
        with pytest.raises(IndexError):
            R.shuffle(x, axis=axis, seed=0)
        with pytest.raises(IndexError):
            keras.random.shuffle(x, axis=axis, seed=0)
    with pytest.raises(ValueError, match="out of bounds"):  # (AxisError is both)
        R.shuffle(np.float32(3), seed=0)
    with pytest.raises(TypeError, match="`axis` must be an integer"):
        R.shuffle(x, axis=1.0, seed=0)
    assert _numpy(keras.random.shuffle(x, axis=1, seed=0)).shape == R.shuffle(x, axis=1).shape


def test_gamma_has_mean_and_variance_alpha():
    for alpha in (0.5, 2.0, 9.0):
        x = R.gamma((N,), alpha, seed=23).astype(np.float64)
        assert x.min() >= 0.0
        assert abs(x.mean() - alpha) < 6 * math.sqrt(alpha / N)
        assert abs(x.var() / alpha - 1.0) < 0.05
    per_column = R.gamma((N // 4, 3), [1.0, 10.0, 100.0], seed=24).mean(axis=0)
    assert np.allclose(per_column, [1.0, 10.0, 100.0], rtol=0.03)


def test_beta_has_its_mean_and_variance():
    a, b = 2.0, 5.0
    x = R.beta((N,), a, b, seed=25).astype(np.float64)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert abs(x.mean() - a / (a + b)) < 0.002
    assert abs(x.var() - a * b / ((a + b) ** 2 * (a + b + 1))) < 0.001
    per_row = R.beta((2, N // 10), [[1.0], [8.0]], 2.0, seed=26).mean(axis=1)
    assert np.allclose(per_row, [1 / 3, 0.8], atol=0.01)


def test_binomial_has_mean_np_and_variance_npq():
    n, p = 20, 0.3
    x = R.binomial((N,), n, p, seed=27)
    assert x.dtype == np.float32 and np.all(x == np.floor(x)) and x.min() >= 0 and x.max() <= n
    x = x.astype(np.float64)
    assert abs(x.mean() - n * p) < 6 * math.sqrt(n * p * (1 - p) / N)
    assert abs(x.var() / (n * p * (1 - p)) - 1.0) < 0.05
    edges = R.binomial((3, 4), [0, 1, 5, 10], [[0.0], [1.0], [0.5]], seed=28)
    assert edges[0].tolist() == [0, 0, 0, 0] and edges[1].tolist() == [0, 1, 5, 10]


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: R.gamma((3,), -1.0), "`alpha` must be > 0. Received: alpha=-1.0"),
        (lambda: R.gamma((3,), [1.0, 0.0, 2.0]), "`alpha` must be > 0. Received: alpha=0.0"),
        (lambda: R.gamma((3,), np.ones((2, 3))), "does not broadcast to shape=(3,)"),
        (lambda: R.binomial((3,), 5, 1.5), "`probabilities` must be in [0, 1]"),
        (lambda: R.binomial((3,), 5, -0.5), "`probabilities` must be in [0, 1]"),
        (lambda: R.binomial((3,), -5, 0.5), "`counts` must be whole numbers >= 0"),
        (lambda: R.binomial((3,), 2.5, 0.5), "`counts` must be whole numbers >= 0"),
        (lambda: R.beta((3,), -1.0, 1.0), "`alpha` must be > 0"),
        (lambda: R.beta((3,), 1.0, 0.0), "`beta` must be > 0"),
        (lambda: R.beta((3,), float("nan"), 1.0), "`alpha` must be > 0"),
    ],
)
def test_gamma_binomial_beta_refuse_parameters_keras_refuses(call, words):
    """Keras's torch backend raises ValueError for each (torch's distribution checks)."""
    with pytest.raises(ValueError) as info:
        call()
    assert words in str(info.value)


# -- initializers and layers take SeedGenerators where Keras's do -----------------------


def test_initializers_take_a_seed_generator_as_kerass_do():
    gen = R.SeedGenerator(3)
    init = initializers.RandomNormal(seed=gen)
    first, second = init((4, 5)), init((4, 5))
    assert np.array_equal(first, initializers.RandomNormal(seed=3)((4, 5)))
    assert not np.array_equal(first, second)
    assert gen.state.tolist() == [3, 2]
    for cls in (initializers.GlorotUniform, initializers.HeNormal, initializers.Orthogonal):
        a, b = cls(seed=R.SeedGenerator(8)), cls(seed=R.SeedGenerator(8))
        first = a((6, 3))
        assert np.array_equal(first, b((6, 3)))
        assert not np.array_equal(first, a((6, 3)))
        assert np.array_equal(first, cls(seed=8)((6, 3)))
    scaling = initializers.VarianceScaling(seed=R.SeedGenerator(4))
    assert np.array_equal(scaling((3, 3)), initializers.VarianceScaling(seed=4)((3, 3)))
    with pytest.raises(TypeError, match="an int, a fastnn.random.SeedGenerator or None"):
        initializers.RandomUniform(seed=1.5)


def test_initializer_configs_with_a_seed_generator_are_kerass():
    keras = keras_or_skip()
    ours = initializers.RandomNormal(seed=R.SeedGenerator(3, name="sg"))
    theirs = keras.initializers.RandomNormal(seed=keras.random.SeedGenerator(3, name="sg"))
    assert ours.get_config() == theirs.get_config()
    assert initializers.serialize(ours) == keras.initializers.serialize(theirs)
    back = initializers.deserialize(json.loads(json.dumps(keras.initializers.serialize(theirs))))
    assert isinstance(back.seed, R.SeedGenerator) and back.seed.state.tolist() == [3, 0]
    again = keras.initializers.deserialize(initializers.serialize(ours))
    assert again.seed.get_config() == {"seed": 3, "name": "sg"}


def test_a_model_with_a_seed_generator_initializer_saves_and_loads(tmp_path):
    init = initializers.GlorotUniform(seed=R.SeedGenerator(5, name="weights"))
    model = fastnn.Sequential([fastnn.Input((3,)), layers.Dense(2, kernel_initializer=init)])
    model.save(str(tmp_path / "m.keras"))
    loaded = fastnn.models.load_model(str(tmp_path / "m.keras"))
    config = loaded.layers[0].kernel_initializer.get_config()
    assert config["seed"]["class_name"] == "SeedGenerator"
    assert config["seed"]["config"] == {"seed": 5, "name": "weights"}
    assert np.array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_random_layers_refuse_a_seed_generator_as_kerass_do():
    ours = _raised(lambda: layers.Dropout(0.5, seed=R.SeedGenerator(1)))
    assert type(ours) is ValueError
    assert str(ours).startswith("Argument `seed` must be an integer. Received: seed=<")
    keras = keras_or_skip()
    with keras_quiet():
        theirs = _raised(lambda: keras.layers.Dropout(0.5, seed=keras.random.SeedGenerator(1)))
    assert type(theirs) is ValueError and str(theirs).startswith(str(ours)[:50])
