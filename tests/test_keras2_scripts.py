"""What tf.keras 2 scripts and Stack Overflow snippets still write, run with
their imports changed to fastnn (survey round 6): each works as Keras 2
meant it where Keras 3 would fail silently or with a bare error, or raises
Keras 3's error with the fix; compared with Keras 3.15 where it runs."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip

import fastnn
from fastnn import _absent_table, layers, losses, metrics, optimizers
from fastnn import backend as K

# torch's tensors under NumPy 2 (Keras's predict)
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def small_model(units=2, activation=None):
    return fastnn.Sequential([fastnn.Input((3,)), layers.Dense(units, activation=activation)])


# -- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3,), [7], ()])
def test_build_without_the_batch_axis_says_it_comes_first(shape):
    model = fastnn.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match=r"expected min_ndim=2, found ndim=\d") as raised:
        model.build(shape)
    assert f"Full shape received: {tuple(shape)}" in str(raised.value)
    assert "(None, " in str(raised.value)
    assert not model.built


def test_build_without_the_batch_axis_is_keras_s_error():
    keras = keras_or_skip()
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        keras.Sequential([keras.layers.Dense(2)]).build((3,))


@pytest.mark.parametrize(
    "cls,kwargs,hint",
    [
        (layers.Dense, {"units": 2, "init": "uniform"}, "init= is now kernel_initializer="),
        (layers.Dense, {"units": 2, "W_regularizer": None}, "W_regularizer= is now kernel_reg"),
        (layers.Dense, {"units": 2, "bias": False}, "bias= is now use_bias="),
        (layers.Dense, {"units": 2, "output_dim": 3}, "output_dim= is now units="),
        (layers.Dropout, {"rate": 0.5, "p": 0.5}, "p= is now rate="),
        (layers.BatchNormalization, {"mode": 0}, "mode= was removed in Keras 2"),
        (layers.Dense, {"units": 2, "no_such_argument": 1}, None),
    ],
)
def test_unknown_layer_arguments_raise_keras_s_error_with_today_s_name(cls, kwargs, hint):
    unknown = {k: v for k, v in kwargs.items() if k not in ("units", "rate")}
    with pytest.raises(ValueError) as raised:
        cls(**kwargs)
    text = str(raised.value)
    assert text.startswith(f"Unrecognized keyword arguments passed to {cls.__name__}: {unknown!r}")
    assert (hint in text) if hint else "Keras 1" not in text


def test_keras_raises_the_same_unknown_argument_error():
    keras = keras_or_skip()
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments passed to Dense: \{'ini"):
        keras.layers.Dense(2, init="uniform")


@pytest.mark.parametrize("argument", ["epochs", "batch_size"])
def test_a_float_count_is_both_keras_s_type_error_and_a_value_error(argument):
    model = small_model()
    model.compile("sgd", "mse")
    weights = model.get_weights()
    kwargs = {argument: 2.0}
    for error in (TypeError, ValueError):
        with pytest.raises(error, match=rf"`{argument}` must be an integer"):
            model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0, **kwargs)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


# -- classic mistakes Keras warns about ---------------------------------------------------------


@pytest.mark.parametrize(
    "last",
    [
        lambda: layers.Dense(1, activation="softmax"),
        lambda: layers.Dense(1, activation=fastnn.activations.softmax),
        lambda: layers.Softmax(),
        lambda: layers.Activation("softmax"),
    ],
)
def test_softmax_over_one_unit_warns_as_keras(last):
    # warned once, when the model is built (Keras warns when it computes)
    stack = [layers.Dense(1)] if not isinstance(last(), layers.Dense) else []
    model = fastnn.Sequential([*stack, last()])
    with pytest.warns(UserWarning, match="softmax over axis -1 of a tensor of shape") as caught:
        model.predict(np.ones((2, 3)), verbose=0)
    assert len(caught) == 1
    assert "(None, 1)" in str(caught[0].message) and "sigmoid" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(np.ones((2, 3)), verbose=0)


def test_softmax_over_several_units_and_sigmoid_do_not_warn():
    for units, activation in ((2, "softmax"), (1, "sigmoid"), (7, "softmax")):
        model = small_model(units, activation)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.predict(np.ones((2, 3)), verbose=0)


def test_keras_warns_for_softmax_over_one_unit():
    keras = keras_or_skip()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="softmax")])
    with pytest.warns(UserWarning, match="This axis has size 1. The softmax operation will always"):
        model.predict(np.ones((2, 3)), verbose=0)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "categorical_focal_crossentropy"])
def test_categorical_loss_over_one_output_warns_as_keras(loss):
    # compiled after the build, and built after the compile
    built = small_model(1, "sigmoid")
    with pytest.warns(SyntaxWarning, match=rf"In loss {loss}, expected y_pred.shape"):
        built.compile("adam", loss)
    unbuilt = fastnn.Sequential([layers.Dense(1, activation="sigmoid")])
    unbuilt.compile("adam", loss)
    with pytest.warns(SyntaxWarning, match="Consider using 'binary_crossentropy'"):
        unbuilt.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small_model(2, "softmax").compile("adam", loss)
        small_model(1, "sigmoid").compile("adam", "binary_crossentropy")


def test_keras_warns_for_categorical_loss_over_one_output():
    keras = keras_or_skip()
    with pytest.warns(SyntaxWarning, match="In loss categorical_crossentropy, expected y_pred"):
        keras.losses.categorical_crossentropy(np.ones((2, 1)), np.ones((2, 1)))


def test_a_probability_row_summing_to_zero_is_nan_without_numpy_s_warning():
    # a ReLU output under cross-entropy: Keras is silent and gives NaN too
    zero = np.zeros((1, 2), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(losses.categorical_crossentropy([[0.0, 1.0]], zero)).all()
        assert np.isnan(losses.sparse_categorical_crossentropy([1], zero)).all()
        assert np.isnan(losses.categorical_focal_crossentropy([[0.0, 1.0]], zero)).all()


# -- optimizers as Keras 2 wrote them ----------------------------------------------------------


@pytest.mark.parametrize("name", ["Adam", "RMSprop", "Adagrad", "Adamax", "Adadelta", "Nadam"])
def test_epsilon_none_is_keras_2_s_backend_epsilon(name):
    cls = getattr(optimizers, name)
    assert cls(epsilon=None).epsilon == 1e-7 == K.epsilon()
    assert cls(epsilon=None).get_config() == cls().get_config()
    with pytest.raises(ValueError, match="epsilon"):
        cls(epsilon="small")


def test_keras_2_s_rmsprop_line_trains():
    with pytest.warns(DeprecationWarning, match="`lr` is deprecated"):
        with pytest.warns(UserWarning, match=r"will be ignored\.$"):  # (decay 0: no hint)
            opt = optimizers.RMSprop(lr=0.001, rho=0.9, epsilon=None, decay=0.0)
    model = small_model()
    model.compile(opt, "mse")
    assert np.isfinite(model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0).history["loss"][0])


def test_decay_warning_names_the_schedule_that_is_keras_2_s_decay():
    with pytest.warns(UserWarning, match=r"InverseTimeDecay\(<learning rate>, decay_steps=1, "):
        optimizers.SGD(0.1, decay=0.01)
    # Keras 2's rate after t steps was lr / (1 + decay * t): the schedule's
    schedule = optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.01)
    for t in (0, 1, 7, 1000):
        assert float(schedule(t)) == pytest.approx(0.1 / (1 + 0.01 * t), rel=1e-6)


def test_optimizer_lr_is_keras_2_s_name_of_learning_rate():
    opt = optimizers.Adam(0.001)
    with pytest.warns(DeprecationWarning, match="use `optimizer.learning_rate`"):
        assert opt.lr == pytest.approx(0.001)
    with pytest.warns(DeprecationWarning):
        opt.lr = 0.25  # Keras 3 would add a plain attribute and change nothing
    assert float(opt.learning_rate) == 0.25
    schedule = optimizers.Adam(optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="not settable"):
        schedule.lr = 0.1


def test_set_value_and_get_value_change_the_rate_as_tf_keras_2():
    model = small_model()
    model.compile(optimizers.SGD(0.5), "mse")
    with pytest.warns(DeprecationWarning):
        K.set_value(model.optimizer.lr, 0.125)  # the classic LR-scheduler callback line
    assert float(model.optimizer.learning_rate) == 0.125
    K.set_value(model.optimizer.learning_rate, 0.0625)
    value = K.get_value(model.optimizer.learning_rate)
    assert value.dtype == np.float32 and value == np.float32(0.0625)
    np.testing.assert_array_equal(K.get_value([1.0, 2.0]), [1.0, 2.0])
    # one SGD step at the new rate: w -= 0.0625 * grad
    x, y = np.ones((1, 3), np.float32), np.zeros((1, 2), np.float32)
    before = model.get_weights()
    model.train_on_batch(x, y)
    grad_bias = 2 * (x @ before[0] + before[1]) / 2  # mse over 2 outputs
    np.testing.assert_allclose(model.get_weights()[1], before[1] - 0.0625 * grad_bias[0], 1e-6)
    with pytest.raises(TypeError, match="no assign"):
        K.set_value(0.5, 0.1)


# -- names and modules that explain themselves -----------------------------------------------


@pytest.mark.parametrize(
    "statement,keras_name",
    [
        ("import fastnn.applications", "keras.applications"),
        ("from fastnn.optimizers.legacy import Adam", "keras.optimizers.legacy"),
        ("from fastnn.visualization import plot_image_gallery", "keras.visualization"),
        ("import fastnn.legacy", "keras.legacy"),
        ("import fastnn.utils.bounding_boxes", "keras.utils.bounding_boxes"),
        ("from fastnn.export import ExportArchive", "keras.export"),
    ],
)
def test_importing_a_keras_module_fastnn_lacks_says_why(statement, keras_name):
    with pytest.raises(ImportError) as raised:
        exec(statement, {})
    assert f"({keras_name}: " in str(raised.value)
    assert type(raised.value) is ImportError  # not "No module named"


def test_probing_for_an_absent_module_finds_none():
    # importlib.util.find_spec asks whether a module exists: it does not
    import importlib.util

    for name in ("fastnn.applications", "fastnn.optimizers.legacy", "fastnn.nonsense"):
        assert importlib.util.find_spec(name) is None
    with pytest.raises(ImportError, match=r"\(keras\.applications: "):
        importlib.import_module("fastnn.applications")  # importing still explains


def test_other_missing_modules_keep_python_s_errors():
    with pytest.raises(ModuleNotFoundError, match=r"No module named 'fastnn\.nonsense'"):
        importlib.import_module("fastnn.nonsense")
    with pytest.raises(ImportError, match="cannot import name 'Nonsense'"):
        exec("from fastnn import Nonsense", {})
    with pytest.raises(ModuleNotFoundError, match="No module named 'not_fastnn_at_all'"):
        importlib.import_module("not_fastnn_at_all")
    assert importlib.import_module("fastnn.optimizers.schedules")  # real ones unchanged


@pytest.mark.parametrize(
    "name,advice",
    [
        ("sum", "fastnn.ops.sum computes it"),
        ("round", "fastnn.ops.round computes it"),
        ("pow", "fastnn.ops.power"),
        ("switch", "fastnn.ops.where"),
        ("int_shape", "x.shape"),
        ("function", "fastnn.Model(model.inputs, layer.output).predict(x)"),
        ("learning_phase", "no global flag"),
    ],
)
def test_tf_keras_2_backend_names_point_to_fastnn_ops(name, advice):
    with pytest.raises(AttributeError) as raised:
        getattr(K, name)
    text = str(raised.value)
    assert text.startswith(f"fastnn.backend has no {name!r} (tf.keras 2's keras.backend.{name}")
    assert "which Keras 3 removed" in text and advice in text
    with pytest.raises(ImportError, match="Keras 3 removed"):
        exec(f"from fastnn.backend import {name}", {})


def test_the_tf_keras_2_table_holds_names_neither_keras_3_nor_fastnn_has():
    keras_or_skip()
    checked = 0
    for short, groups in _absent_table.KERAS2.items():
        ours = importlib.import_module(f"fastnn.{short}")
        theirs = importlib.import_module(f"keras.{short}")
        for names, what, why in groups:
            assert what and why
            for name in names.split():
                assert not hasattr(ours, name), name
                assert name not in dir(theirs), f"keras.{short}.{name} exists: use ABSENT"
                checked += 1
    assert checked > 60


def test_cosine_proximity_says_its_keras_3_name():
    for get in (losses.get, metrics.get):
        with pytest.raises(ValueError, match="'cosine_proximity' is 'cosine_similarity'"):
            get("cosine_proximity")


# -- the keras.io guides (survey round 5) ------------------------------------------------------


def test_mean_and_sum_are_called_on_values_as_keras():
    assert float(metrics.Mean()([1.0, 3.0])) == 2.0
    assert float(metrics.Mean()([1.0, 3.0], sample_weight=[1.0, 0.0])) == 1.0
    assert float(metrics.Sum()([1.0, 3.0, 5.0])) == 9.0
    accuracy = metrics.SparseCategoricalAccuracy()
    assert float(accuracy([1, 0], [[0.2, 0.8], [0.3, 0.7]])) == 0.5  # (y_true, y_pred) as before
    assert float(accuracy(y_true=[0], y_pred=[[0.9, 0.1]])) == pytest.approx(2 / 3)


def test_mean_called_on_values_matches_keras():
    keras = keras_or_skip()
    values, weights = [1.0, 3.0, 4.0], [1.0, 0.5, 0.0]
    expected = float(keras.metrics.Mean()(values, sample_weight=weights))
    assert float(metrics.Mean()(values, sample_weight=weights)) == pytest.approx(expected)


def test_adapt_with_steps_reads_the_first_batches_as_tf_keras_2():
    data = np.arange(40, dtype=np.float32).reshape(20, 2)
    layer = layers.Normalization()
    layer.adapt(data, batch_size=3, steps=2)  # the first 6 samples
    np.testing.assert_allclose(layer.mean.ravel(), data[:6].mean(axis=0), rtol=1e-6)
    default_batch = layers.Normalization()
    default_batch.adapt(np.arange(100, dtype=np.float32).reshape(50, 2), steps=1)  # 32
    np.testing.assert_allclose(default_batch.mean.ravel(), [31.0, 32.0], rtol=1e-6)
    for bad in ({"steps": 0}, {"batch_size": 2.5}, {"steps": True}):
        with pytest.raises(ValueError, match="must be an integer >= 1"):
            layers.Normalization().adapt(data, **bad)


@pytest.mark.parametrize("bad", ["dense", 3, layers.Dense])
def test_adding_a_non_layer_is_keras_s_value_error(bad):
    model = fastnn.Sequential()
    for error in (ValueError, TypeError):
        with pytest.raises(error, match="Only instances of `fastnn.layers.Layer` can be added"):
            model.add(bad)
    assert model.layers == []


@pytest.mark.parametrize("shape", [(None,), (None, 4), (4, None)])
def test_an_unknown_dimension_says_samples_have_a_fixed_size(shape):
    for error in (ValueError, TypeError):
        with pytest.raises(error, match="every dimension must be given"):
            fastnn.Input(shape)
    with pytest.raises(ValueError, match="fixed size"):
        layers.Dense(2, input_shape=shape)


def test_a_python_activation_function_says_there_is_no_autodiff():
    def custom_fn(x):
        return x * 2

    for error in (NotImplementedError, TypeError):  # as the other refusals, and as before
        with pytest.raises(error, match="no automatic differentiation of Python code") as raised:
            layers.Dense(2, activation=custom_fn)
        assert "custom_fn" in str(raised.value)
    with pytest.raises(TypeError, match=r"got 3$"):  # not a function: no autodiff talk
        layers.Dense(2, activation=3)


def test_add_loss_explains_itself_on_layers_and_models():
    model = small_model()
    for owner in (model, model.layers[0], layers.Dense(2)):
        with pytest.raises(NotImplementedError, match="activity_regularizer"):
            owner.add_loss(0.1)
    assert model.losses == []


def _guide_model(lib):
    model = lib.Sequential(
        [
            lib.Input((4,)),
            lib.layers.Flatten(),
            lib.layers.Dense(5, activation="relu"),
            lib.layers.Dropout(0.2),
            lib.layers.BatchNormalization(),
            lib.layers.LeakyReLU(),
            lib.layers.PReLU(),
            lib.layers.LayerNormalization(),
            lib.layers.Dense(3),
        ]
    )
    model.compile(lib.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


def test_build_configs_are_keras_s():
    keras = keras_or_skip()
    ours, theirs = _guide_model(fastnn), _guide_model(keras)
    assert ours.get_build_config() == theirs.get_build_config() == {"input_shape": (None, 4)}
    for mine, keras_layer in zip(ours.layers, theirs.layers):
        assert mine.get_build_config() == keras_layer.get_build_config(), mine.name
        assert layers.serialize(mine).get("build_config") == mine.get_build_config()
    assert fastnn.Sequential([layers.Dense(2)]).get_build_config() is None
    assert layers.Dense(2).get_build_config() is None
    standalone = layers.Dense(2)
    standalone.build((None, 7))
    assert standalone.get_build_config() == {"input_shape": (None, 7)}


def test_build_from_config_builds_as_keras():
    model = fastnn.Sequential([layers.Dense(2)])
    model.build_from_config({"input_shape": (None, 6)})
    assert model.built and model.input_shape == (None, 6)
    model.build_from_config(None)  # nothing
    layer = layers.Dense(3)
    layer.build_from_config({"input_shape": [None, 5]})
    assert [w.shape for w in layer.weights] == [(5, 3), (3,)]


def test_to_json_holds_build_and_compile_configs_and_model_from_json_uses_them():
    keras = keras_or_skip()
    import json

    ours, theirs = _guide_model(fastnn), _guide_model(keras)
    mine, keras_json = json.loads(ours.to_json()), json.loads(theirs.to_json())
    assert sorted(mine) == sorted(keras_json)
    assert mine["build_config"] == keras_json["build_config"]
    assert mine["compile_config"]["loss"] == keras_json["compile_config"]["loss"]
    for source in (ours.to_json(), theirs.to_json()):
        rebuilt = fastnn.models.model_from_json(source)
        assert rebuilt.built and rebuilt.compiled
        assert type(rebuilt.optimizer) is optimizers.Adam
        assert float(rebuilt.optimizer.learning_rate) == pytest.approx(0.01)
    from_ours = keras.models.model_from_json(ours.to_json())  # Keras reads fastnn's
    assert from_ours.built and from_ours.compiled
    unbuilt = fastnn.Sequential([layers.Dense(2)])
    assert "build_config" not in json.loads(unbuilt.to_json())
    assert not fastnn.models.model_from_json(unbuilt.to_json()).built


def test_deserialize_builds_a_layer_from_its_build_config_as_keras():
    model = _guide_model(fastnn)
    dense = model.layers[1]
    for rebuilt in (
        layers.deserialize(layers.serialize(dense)),
        fastnn.saving.deserialize_keras_object(layers.serialize(dense)),
    ):
        assert rebuilt.built and [w.shape for w in rebuilt.weights] == [(4, 5), (5,)]
    unbuilt = layers.deserialize(layers.serialize(layers.Dense(2)))
    assert not unbuilt.built


def test_the_float32_range_guard_runs_only_for_wider_floats(monkeypatch):
    # float32, integer and bool data skip it (the hot paths); float64 pays it
    import fastnn.models as models_module

    calls = []
    real = models_module._beyond_float32_refused

    def counting(**arrays):
        calls.append(sorted(arrays))
        return real(**arrays)

    monkeypatch.setattr(models_module, "_beyond_float32_refused", counting)
    model = small_model()
    model.compile("sgd", "mse")
    for x, y in (
        (np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)),
        (np.ones((4, 3), np.uint8), np.ones((4, 2), np.int64)),
    ):
        model.predict(x, verbose=0)
        model.train_on_batch(x, y)
    assert calls == []
    model.train_on_batch(np.ones((4, 3)), np.ones((4, 2)))  # float64 both
    # (a C-contiguous float64 x is converted and checked in C++, without the guard)
    assert calls == [["sample_weight", "y"]]
    model.predict(np.ones((4, 6))[:, ::2], verbose=0)  # a strided float64 x takes the guard
    assert calls[-1] == ["x"]
    with pytest.raises(ValueError, match="exceeds float32's range"):
        model.predict(np.full((1, 3), 1e300), verbose=0)
