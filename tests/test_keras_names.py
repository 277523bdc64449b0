"""Keras 3's public names in fastnn's mirrored modules: each is there, or
asking for it says what it is in Keras and why fastnn lacks it
(fastnn._absent_table); and the small gaps filled as Keras fills them
(losses/initializers serialize and deserialize, metrics.huber, the
utils data packers, config.set_epsilon, backend.get_uid ...)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import numpy as np
import pytest
from keras_inprocess import keras_or_skip

import fastnn
from fastnn import _absent_table, backend, config, initializers, layers, losses, metrics, utils

# The Keras modules fastnn mirrors: the top level (""), its modules, and one below.
MIRRORED = (
    "",
    *(name for name in fastnn.__all__ if isinstance(getattr(fastnn, name), types.ModuleType)),
    "optimizers.schedules",
)


def _dotted(prefix: str, module: str) -> str:
    return f"{prefix}.{module}" if module else prefix


def _explained(fastnn_module: str, name: str) -> None:
    """`fastnn_module.name` and `from fastnn_module import name` both say why."""
    module = importlib.import_module(fastnn_module)
    with pytest.raises(AttributeError) as raised:
        getattr(module, name)
    text = str(raised.value)
    assert f"{fastnn_module} has no {name!r}" in text and "has no attribute" not in text, text
    with pytest.raises(ImportError) as imported:
        exec(f"from {fastnn_module} import {name}", {})
    assert str(imported.value) == text
    # (`from package import name` tries the submodule `package.name` next, which
    # fastnn._absent's AbsentModuleFinder refuses with the same explanation)
    assert imported.value.name in (fastnn_module, f"{fastnn_module}.{name}")
    assert not hasattr(module, name)


@pytest.mark.parametrize("module", MIRRORED, ids=lambda m: m or "keras")
def test_every_public_keras_name_is_in_fastnn_or_explained(module):
    """Walks Keras's own namespace: a name a later Keras adds fails here
    until fastnn has it or fastnn._absent explains it."""
    keras_or_skip()
    theirs = importlib.import_module(_dotted("keras", module))
    names = [n for n in dir(theirs) if not n.startswith("_")]
    assert names
    ours = importlib.import_module(_dotted("fastnn", module))
    absent = [n for n in names if not hasattr(ours, n)]
    for name in absent:
        _explained(ours.__name__, name)


def test_the_tables_hold_only_keras_names_fastnn_lacks():
    """An entry for a name fastnn now has (or Keras never had) is stale."""
    keras_or_skip()
    for short, groups in _absent_table.ABSENT.items():
        ours = importlib.import_module(_dotted("fastnn", short))
        theirs = importlib.import_module(_dotted("keras", short))
        for names, what, why in groups:
            assert what and why
            for name in names.split():
                assert not hasattr(ours, name), name
                assert name in dir(theirs), f"keras.{short}.{name}"


def test_messages_say_what_the_name_is_and_what_to_use():
    with pytest.raises(AttributeError) as raised:
        _ = metrics.MeanIoU
    assert str(raised.value).startswith(
        "fastnn.metrics has no 'MeanIoU' (keras.metrics.MeanIoU: an intersection-over-union "
    )
    with pytest.raises(AttributeError, match=r"numpy\.cbrt computes it"):
        _ = fastnn.ops.cbrt
    with pytest.raises(ImportError, match="float32 only"):
        exec("from fastnn.optimizers import LossScaleOptimizer", {})
    with pytest.raises(AttributeError, match="on arrays, fastnn.ops.glu computes it"):
        _ = fastnn.activations.glu
    assert callable(fastnn.ops.glu)


@pytest.mark.parametrize("module", [fastnn, metrics, losses, utils, layers, fastnn.ops])
def test_other_missing_names_keep_python_s_errors(module):
    for name in ("Nonsense", "_private", "__wrapped__"):
        with pytest.raises(AttributeError) as raised:
            getattr(module, name)
        assert str(raised.value) == f"module {module.__name__!r} has no attribute {name!r}"
        assert getattr(module, name, "default") == "default"
    with pytest.raises(ImportError, match="cannot import name 'Nonsense'"):
        exec(f"from {module.__name__} import Nonsense", {})


def test_probing_from_a_shallow_stack_is_a_plain_false(monkeypatch):
    """`hasattr` run directly as a thread's function: the module's
    `__getattr__` is then the only Python frame, with no asker above it."""
    import _thread
    import time

    raised = []
    monkeypatch.setattr(sys, "unraisablehook", lambda report: raised.append(report.exc_value))
    before = _thread._count()
    for module, name in ((metrics, "MeanIoU"), (fastnn, "distribution"), (fastnn.ops, "fft")):
        _thread.start_new_thread(hasattr, (module, name))
    deadline = time.monotonic() + 10
    while _thread._count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert raised == []


def test_import_fastnn_does_not_load_the_tables():
    code = "import sys, fastnn; print('fastnn._absent_table' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_top_level_base_classes_are_the_modules_ones():
    """`keras.Layer`, `keras.Loss` ... are the classes of keras.layers,
    keras.losses ...; so are fastnn's."""
    for name, module in (
        ("Initializer", initializers),
        ("Layer", layers),
        ("Loss", losses),
        ("Metric", metrics),
        ("Optimizer", fastnn.optimizers),
        ("Regularizer", fastnn.regularizers),
    ):
        assert getattr(fastnn, name) is getattr(module, name)
        assert name in fastnn.__all__
    assert initializers.OrthogonalInitializer is initializers.Orthogonal


# -- losses.serialize / deserialize ---------------------------------------------------------

LOSS_CASES = [
    ("MeanSquaredError", {}),
    ("MeanAbsoluteError", {"reduction": "sum", "name": "m"}),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}),
    ("SparseCategoricalCrossentropy", {"from_logits": True}),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3}),
    ("CategoricalFocalCrossentropy", {"gamma": 3.0}),
    ("KLDivergence", {}),
    ("CosineSimilarity", {}),
    ("LogCosh", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_losses_serialize_and_deserialize_as_keras(name, kwargs):
    keras = keras_or_skip()
    ours, theirs = getattr(losses, name)(**kwargs), getattr(keras.losses, name)(**kwargs)
    assert losses.serialize(ours) == keras.losses.serialize(theirs)
    back = losses.deserialize(keras.losses.serialize(theirs))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()
    assert keras.losses.deserialize(losses.serialize(ours)).get_config() == theirs.get_config()


def test_loss_functions_serialize_by_name_and_come_back():
    keras = keras_or_skip()
    for name in ("mean_squared_error", "huber", "binary_crossentropy", "poisson"):
        ours, theirs = getattr(losses, name), getattr(keras.losses, name)
        assert losses.serialize(ours) == keras.losses.serialize(theirs)
        assert losses.deserialize(keras.losses.serialize(theirs)) is ours
        assert keras.losses.deserialize(losses.serialize(ours)) is theirs
        assert losses.deserialize(name) is ours  # a function's name: the function, as Keras
    for value in (None, "mse", 0.5):
        assert losses.serialize(value) == keras.losses.serialize(value)


def test_losses_deserialize_names_custom_objects_and_errors():
    huber = losses.deserialize("Huber")  # a class name: an instance with its defaults
    assert type(huber) is losses.Huber and huber.get_config()["delta"] == 1.0
    assert losses.deserialize({"class_name": "Huber", "config": {"delta": 3.0}}).delta == 3.0
    assert losses.deserialize("mse") is losses.mean_squared_error  # (Keras 3.15 fails here)
    assert losses.deserialize(None) is None

    class Scaled(losses.MeanSquaredError):
        pass

    found = losses.deserialize({"class_name": "Scaled", "config": {}}, {"Scaled": Scaled})
    assert type(found) is Scaled
    with pytest.raises(ValueError, match="Unknown object 'nonsense'"):
        losses.deserialize("nonsense")  # (Keras returns the string)
    with pytest.raises(ValueError, match="Unknown class_name 'Nope'"):
        losses.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="Expected a dict"):
        losses.deserialize(3)
    with pytest.raises(TypeError, match="Could not locate function 'nope'"):
        losses.deserialize({"class_name": "function", "config": "nope"})


# -- initializers.serialize / deserialize ---------------------------------------------------

INITIALIZER_CASES = [
    ("Constant", {"value": 2.0}),
    ("Orthogonal", {"gain": 2.0, "seed": 1}),
    ("RandomNormal", {"mean": 1.0, "stddev": 2.0, "seed": 3}),
    ("RandomUniform", {"minval": -1.0, "maxval": 2.0, "seed": 5}),
    ("TruncatedNormal", {"stddev": 0.1, "seed": 2}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 4}),
    ("Zeros", {}),
    ("Ones", {}),
]


@pytest.mark.parametrize(
    ("name", "kwargs"), INITIALIZER_CASES, ids=[c[0] for c in INITIALIZER_CASES]
)
def test_initializers_serialize_and_deserialize_as_keras(name, kwargs):
    keras = keras_or_skip()
    ours = getattr(initializers, name)(**kwargs)
    theirs = getattr(keras.initializers, name)(**kwargs)
    assert initializers.serialize(ours) == keras.initializers.serialize(theirs)
    back = initializers.deserialize(keras.initializers.serialize(theirs))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()
    again = keras.initializers.deserialize(initializers.serialize(ours))
    assert again.get_config() == theirs.get_config()


def test_initializers_deserialize_names_as_keras():
    keras = keras_or_skip()
    for name in ("glorot_uniform", "GlorotUniform", "he_normal", "normal", "one", "zeros"):
        ours, theirs = initializers.deserialize(name), keras.initializers.deserialize(name)
        assert type(ours).__name__ == type(theirs).__name__, name
    # Keras 3.15's own config (with its input_axes/output_axes) reads back
    config = keras.initializers.serialize(keras.initializers.GlorotUniform(seed=7))
    assert initializers.deserialize(config).seed == 7
    assert initializers.deserialize(None) is None and initializers.serialize(None) is None
    with pytest.raises(ValueError, match="Unknown object 'nonsense'"):
        initializers.deserialize("nonsense")
    with pytest.raises(ValueError, match="Unknown class_name 'Identity'"):
        initializers.deserialize({"class_name": "Identity", "config": {}})


# -- metrics.huber ------------------------------------------------------------------------


def test_metrics_huber_is_the_loss_function_and_reports_as_keras(rng):
    keras = keras_or_skip()
    from keras_inprocess import keras_quiet

    assert metrics.huber is losses.huber  # as keras.metrics.huber is keras.losses.huber
    y_true = rng.standard_normal((7, 3)).astype(np.float32) * 3
    y_pred = rng.standard_normal((7, 3)).astype(np.float32)
    np.testing.assert_allclose(
        metrics.huber(y_true, y_pred, delta=0.5),
        np.asarray(keras.metrics.huber(y_true, y_pred, delta=0.5)),
        rtol=1e-6,
    )
    x = rng.standard_normal((10, 4)).astype(np.float32)
    ours = fastnn.Sequential([fastnn.Input((4,)), layers.Dense(3)])
    ours.compile("sgd", "mse", metrics=[metrics.huber])
    with keras_quiet():
        theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        theirs.set_weights(ours.get_weights())
        theirs.compile("sgd", "mse", metrics=[keras.metrics.huber])
        want = theirs.evaluate(x, y_true[:1].repeat(10, 0), verbose=0, return_dict=True)
    got = ours.evaluate(x, y_true[:1].repeat(10, 0), verbose=0, return_dict=True)
    assert sorted(got) == sorted(want) == ["huber", "loss"]
    np.testing.assert_allclose(got["huber"], want["huber"], rtol=1e-5)
    with pytest.raises(ValueError, match="'huber'"):
        metrics.get("huber")  # not a metric id, as in Keras


# -- utils.pack_x_y_sample_weight / unpack_x_y_sample_weight --------------------------------


def test_pack_and_unpack_x_y_sample_weight_as_keras():
    keras = keras_or_skip()
    packs = [("x",), ("x", "y"), ("x", "y", "w"), (("a", "b"),), (["a"],), (("a",), None, "w")]
    for args in packs:
        ours = utils.pack_x_y_sample_weight(*args)
        assert ours == keras.utils.pack_x_y_sample_weight(*args), args
        assert type(ours) is type(keras.utils.pack_x_y_sample_weight(*args))
    for data in ("x", ("x",), ("x", "y"), ["x", "y", "w"], ("x", None, "w"), np.ones(2)):
        ours = utils.unpack_x_y_sample_weight(data)
        theirs = keras.utils.unpack_x_y_sample_weight(data)
        assert len(ours) == 3 and all(a is b for a, b in zip(ours, theirs)), data
    for bad in ((1, 2, 3, 4), [], ()):
        with pytest.raises(ValueError, match=r"`\(x, y, sample_weight\)`"):
            utils.unpack_x_y_sample_weight(bad)
        with pytest.raises(ValueError, match=r"`\(x, y, sample_weight\)`"):
            keras.utils.unpack_x_y_sample_weight(bad)


# -- config / backend -------------------------------------------------------------------


@pytest.mark.parametrize("where", [config, backend])
def test_set_epsilon_accepts_the_engine_s_value_only(where):
    for value in (1e-7, np.float32(1e-7), np.float64(1e-7)):
        where.set_epsilon(value)
    for value in (1e-5, 0.0, None, "small", 1e-7 * 2, [1e-7], 1e300, 1.000001e-7):
        with pytest.raises(ValueError, match=r"epsilon=1e-07 \(Keras's default\), fixed in"):
            where.set_epsilon(value)
    assert where.epsilon() == 1e-7


@pytest.mark.parametrize("where", ["config", "backend"])
def test_set_image_data_format_as_keras(where):
    keras = keras_or_skip()
    ours, theirs = getattr(fastnn, where), getattr(keras, where)
    ours.set_image_data_format("channels_last")
    ours.set_image_data_format("Channels_Last")
    for bad in ("nchw", None):
        with pytest.raises(ValueError) as raised:
            ours.set_image_data_format(bad)
        with pytest.raises(ValueError) as keras_raised:
            theirs.set_image_data_format(bad)
        assert str(raised.value) == str(keras_raised.value)
    with pytest.raises(ValueError, match="'channels_last' order only"):
        ours.set_image_data_format("channels_first")
    assert ours.image_data_format() == theirs.image_data_format() == "channels_last"


def test_get_uid_shares_the_automatic_names_counters_as_keras():
    keras = keras_or_skip()

    def run(lib):
        lib.backend.clear_session()
        first = lib.layers.Dense(2).name
        counts = [lib.backend.get_uid("dense"), lib.backend.get_uid("x"), lib.backend.get_uid("x")]
        second = lib.layers.Dense(2).name
        model = [lib.Sequential().name, lib.backend.get_uid("sequential"), lib.Sequential().name]
        lib.backend.clear_session()
        return first, counts, second, model, lib.backend.get_uid("x"), lib.backend.get_uid()

    assert run(fastnn) == run(keras) == ("dense", [2, 1, 2], "dense_2", [
        "sequential", 2, "sequential_2"], 1, 1)  # fmt: skip


def test_is_keras_tensor_as_keras():
    keras = keras_or_skip()

    def run(lib):
        inputs = lib.Input((3,))
        return [
            lib.backend.is_keras_tensor(inputs),
            lib.backend.is_keras_tensor(lib.layers.Dense(2)(inputs)),
            lib.utils.is_keras_tensor(inputs),
            lib.backend.is_keras_tensor(np.ones((2, 3), np.float32)),
            lib.backend.is_keras_tensor([inputs]),
            lib.backend.is_keras_tensor(lib.layers.Dense(2)),
        ]

    assert run(fastnn) == run(keras) == [True, True, True, False, False, False]
