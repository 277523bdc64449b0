"""Bad inputs a differential survey against Keras 3.15 found accepted or
explained badly (session 19): each is refused before anything changes, with
Keras's exception and message where Keras refuses it, else a message that
names the argument, what was expected and what came.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import layers, models, optimizers

_NAME_MESSAGE = "Argument `name` must be a string and cannot contain character `/`."
_BAD_NAMES = [5, "a/b", b"x", 1.5]


def _constructors():
    return {
        "Dense": lambda **kw: layers.Dense(3, **kw),
        "Dropout": lambda **kw: layers.Dropout(0.5, **kw),
        "LayerNormalization": lambda **kw: layers.LayerNormalization(**kw),
        "Input": lambda **kw: layers.Input((4,), **kw),
        "Sequential": lambda **kw: models.Sequential(**kw),
    }


# -- names -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(_constructors()))
@pytest.mark.parametrize("name", _BAD_NAMES, ids=["int", "slash", "bytes", "float"])
def test_layer_and_model_name_not_a_string_or_with_slash_is_kerass_value_error(kind, name):
    counts = dict(layers._name_counts)
    with pytest.raises(ValueError) as info:
        _constructors()[kind](name=name)
    assert str(info.value) == f"{_NAME_MESSAGE} Received: name={name} (of type {type(name)})"
    assert layers._name_counts == counts  # no automatic name drawn


def test_functional_model_name_with_slash_is_refused():
    inputs = fastnn.Input((4,))
    outputs = layers.Dense(2)(inputs)
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        fastnn.Model(inputs, outputs, name="a/b")
    assert fastnn.Model(inputs, outputs, name="ok").name == "ok"


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.RMSprop])
@pytest.mark.parametrize("name", [5, "a/b"])
def test_optimizer_name_not_a_string_or_with_slash_is_kerass_value_error(cls, name):
    with pytest.raises(ValueError) as info:
        cls(name=name)
    assert str(info.value) == f"{_NAME_MESSAGE} Received: name={name}"


def test_names_keras_takes_still_work():
    assert layers.Dense(3, name="my dense-1").name == "my dense-1"
    assert layers.Dense(3, name=np.str_("npname")).name == "npname"
    assert models.Sequential(name="s.1").name == "s.1"
    assert optimizers.Adam(name="opt").name == "opt"


def test_name_messages_are_kerass():
    keras = keras_or_skip()
    for make_fastnn, make_keras in [
        (lambda: layers.Dense(3, name=5), lambda: keras.layers.Dense(3, name=5)),
        (lambda: models.Sequential(name="a/b"), lambda: keras.Sequential(name="a/b")),
        (lambda: optimizers.SGD(name=5), lambda: keras.optimizers.SGD(name=5)),
    ]:
        with pytest.raises(ValueError) as ours:
            make_fastnn()
        with keras_quiet(), pytest.raises(ValueError) as theirs:
            make_keras()
        assert str(ours.value) == str(theirs.value)


# -- trainable ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(_constructors()))
@pytest.mark.parametrize(
    "value", ["False", 0, 1, None, 1.0, [], np.int64(1)], ids=lambda v: repr(v)
)
def test_trainable_not_a_boolean_is_kerass_value_error(kind, value):
    counts = dict(layers._name_counts)
    with pytest.raises(ValueError) as info:
        _constructors()[kind](trainable=value)
    assert str(info.value) == (
        f"Expected `trainable` to be a boolean. Received: trainable={value} (of type {type(value)})"
    )
    assert layers._name_counts == counts


def test_trainable_bool_and_numpy_bool_are_taken():
    assert layers.Dense(3, trainable=False).trainable is False
    assert layers.Dense(3, trainable=np.bool_(False)).trainable is False
    assert models.Sequential(trainable=np.bool_(True)).trainable is True


def test_trainable_message_is_kerass():
    keras = keras_or_skip()
    with pytest.raises(ValueError) as ours:
        layers.Dense(3, trainable="False")
    with keras_quiet(), pytest.raises(ValueError) as theirs:
        keras.layers.Dense(3, trainable="False")
    assert str(ours.value) == str(theirs.value)


def test_functional_model_trainable_as_kerass_functional_takes_it():
    """Keras 3.15's Functional sets `self.trainable = value` unless it is None:
    0 freezes, 1 and None train, np.bool_ is taken (its layers refuse non-bools)."""
    inputs = fastnn.Input((4,))
    outputs = layers.Dense(2)(inputs)
    for value, want in [(0, False), (1, True), (None, True), (np.bool_(False), False)]:
        assert fastnn.Model(inputs, outputs, trainable=value).trainable is want, value
    keras = keras_or_skip()
    k_in = keras.Input((4,))
    k_out = keras.layers.Dense(2)(k_in)
    for value in (0, 1, None, np.bool_(False)):
        want = fastnn.Model(inputs, outputs, trainable=value).trainable
        assert keras.Model(k_in, k_out, trainable=value).trainable is want, value


@pytest.mark.parametrize("value", ["False", "True", 2, []], ids=repr)
def test_layer_normalization_rms_scaling_not_a_boolean_says_so(value):
    with pytest.raises(ValueError, match="`rms_scaling` must be a boolean") as info:
        layers.LayerNormalization(rms_scaling=value)
    assert f"rms_scaling={value!r}" in str(info.value)
    assert layers.LayerNormalization(rms_scaling=0).rms_scaling is False
    assert layers.LayerNormalization(rms_scaling=None).rms_scaling is False  # as Keras 3


# -- building again at another width ---------------------------------------------------
def _built_model():
    model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile("sgd", "mse")
    return model


def test_build_of_a_built_model_at_another_width_is_kerass_value_error():
    model = _built_model()
    weights = model.get_weights()
    with pytest.raises(ValueError) as info:
        model.build((None, 5))
    assert str(info.value) == (
        f"Sequential model '{model.name}' has already been configured to use input shape "
        "(None, 4). You cannot build it with input_shape (None, 5)"
    )
    assert model.input_shape == (None, 4)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    model.build((None, 4))  # the same shape again changes nothing
    model.build([32, 4])


def test_build_again_without_input_layer_at_another_width_is_refused():
    model = models.Sequential([layers.Dense(3)])
    model.build((None, 4))
    with pytest.raises(ValueError, match=r"configured to use input shape \(None, 4\)"):
        model.build((None, 5))


def test_build_of_a_functional_model_at_another_width_is_refused():
    inputs = fastnn.Input((4,))
    model = fastnn.Model(inputs, layers.Dense(3)(inputs))
    with pytest.raises(ValueError, match=r"cannot build it with input_shape \(None, 5\)"):
        model.build((None, 5))


def test_compute_output_shape_at_another_width_is_refused_naming_both_shapes():
    model = _built_model()
    assert model.compute_output_shape((None, 4)) == (None, 3)
    with pytest.raises(ValueError) as info:
        model.compute_output_shape((None, 5))
    assert str(info.value) == (
        f"Input 0 of layer '{model.name}' is incompatible with the layer: "
        "expected shape=(None, 4), found shape=(None, 5)"
    )
    inputs = fastnn.Input((4,))
    several = fastnn.Model(inputs, [layers.Dense(3)(inputs)])
    with pytest.raises(ValueError, match=r"expected shape=\(None, 4\), found shape=\(None, 5\)"):
        several.compute_output_shape((None, 5))


@pytest.mark.parametrize(
    "make",
    [lambda: layers.Dense(3), layers.PReLU, layers.BatchNormalization, layers.LayerNormalization],
)
def test_layer_built_again_at_another_width_is_refused_and_keeps_its_weights(make):
    layer = make()
    layer.build((None, 4))
    weights = layer.get_weights()
    layer.build((None, 4))  # the same width: nothing changes
    with pytest.raises(ValueError, match=r"already built for inputs of shape \(None, 4\)") as info:
        layer.build((None, 7))
    assert "(None, 7)" in str(info.value)
    assert all(np.array_equal(a, b) for a, b in zip(weights, layer.get_weights()))


def test_layer_of_a_model_built_again_at_another_width_is_refused():
    dense = layers.Dense(3)
    models.Sequential([layers.Input((4,)), dense])
    with pytest.raises(ValueError, match="already built for inputs of shape"):
        dense.build((None, 7))


@pytest.mark.parametrize("shape", [5, "5", 5.0], ids=repr)
def test_build_with_a_number_says_the_shape_needs_the_batch_axis(shape):
    model = models.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match=r"input_shape must be a tuple with the batch axis first"):
        model.build(shape)
    assert not model.built


# -- standalone metrics and losses on what is not numbers, or shapes that do not fit ---------
_NOT_NUMBERS = {
    "None": (None, None),
    "strings": (np.array(["a", "b", "c"]), np.array([0.5, 0.5, 0.5])),
    "objects": (np.array([1, None, 0], dtype=object), np.array([1.0, 0.0, 0.0])),
}
_METRIC_FUNCTIONS = [
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "mean_squared_error",
    "hinge",
    "kl_divergence",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]


@pytest.mark.parametrize("kind", sorted(_NOT_NUMBERS))
@pytest.mark.parametrize("name", _METRIC_FUNCTIONS)
def test_metric_functions_refuse_what_is_not_numbers(name, kind):
    y_true, y_pred = _NOT_NUMBERS[kind]
    with pytest.raises(TypeError, match=r"y_(true|pred) (is None|must have a real numeric dtype)"):
        getattr(fastnn.metrics, name)(y_true, y_pred)


@pytest.mark.parametrize("kind", sorted(_NOT_NUMBERS))
@pytest.mark.parametrize("cls", ["Accuracy", "MeanSquaredError", "SparseCategoricalAccuracy"])
def test_metric_objects_refuse_what_is_not_numbers_and_keep_their_state(cls, kind):
    metric = getattr(fastnn.metrics, cls)()
    if cls.startswith("Sparse"):
        metric.update_state([1, 0], [[0.2, 0.8], [0.3, 0.7]])
    else:
        metric.update_state([[1.0], [0.0]], [[1.0], [0.5]])
    before = float(metric.result())
    with pytest.raises((TypeError, ValueError), match="y_true"):
        metric(*_NOT_NUMBERS[kind])
    assert float(metric.result()) == before


def test_accuracy_of_none_is_refused_not_one():
    with pytest.raises(TypeError, match="y_true is None: expected an array of numbers"):
        fastnn.metrics.Accuracy()(None, None)


@pytest.mark.parametrize("kind", sorted(_NOT_NUMBERS))
@pytest.mark.parametrize(
    "name", ["mean_squared_error", "binary_crossentropy", "huber", "poisson", "cosine_similarity"]
)
def test_loss_functions_refuse_what_is_not_numbers(name, kind):
    with pytest.raises(TypeError, match=r"y_(true|pred) (is None|must have a real numeric dtype)"):
        getattr(fastnn.losses, name)(*_NOT_NUMBERS[kind])


@pytest.mark.parametrize(
    "name",
    [
        "accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
    ],
)
def test_metric_functions_on_shapes_that_do_not_fit_name_both_shapes(name):
    sparse = name.startswith("sparse")
    y_true = np.zeros((3,) if sparse else (3, 2))
    with pytest.raises(ValueError) as info:
        getattr(fastnn.metrics, name)(y_true, np.ones((4, 2)))
    message = str(info.value)
    assert message.startswith(f"{name}: y_true of shape {y_true.shape} does not fit y_pred")
    assert "(4, 2)" in message and "operands could not be broadcast" not in message


@pytest.mark.parametrize("cls", ["MeanSquaredError", "BinaryCrossentropy", "Hinge", "LogCosh"])
def test_loss_sample_weight_of_the_wrong_length_names_the_shapes(cls):
    loss = getattr(fastnn.losses, cls)()
    with pytest.raises(ValueError) as info:
        loss(np.ones((3, 2)), np.ones((3, 2)) / 2, np.ones(5))
    assert str(info.value) == (
        f"{cls}: sample_weight of shape (5,) does not fit the per-sample losses of shape (3,): "
        "expected a number, one weight per sample (shape (3,)) or a shape that broadcasts to it"
    )
    assert np.isfinite(loss(np.ones((3, 2)), np.ones((3, 2)) / 2, np.ones(3)))


def test_sparse_categorical_crossentropy_of_a_1d_y_pred_says_it_takes_batch_by_classes():
    for call in (
        fastnn.losses.SparseCategoricalCrossentropy(),
        fastnn.losses.sparse_categorical_crossentropy,
    ):
        with pytest.raises(ValueError) as info:
            call([1.0, 0.0], [0.5, 0.5])
        message = str(info.value)
        assert message.startswith("Arguments `target` and `output` must have the same shape")
        assert "y_pred must be (batch, classes)" in message
        assert "a 1-D y_pred is one sample of 2 classes" in message


# -- messages that name the argument, what was expected and what came -------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda seed: layers.Dropout(0.5, seed=seed),
        lambda seed: layers.GaussianNoise(0.1, seed=seed),
        lambda seed: layers.GaussianDropout(0.1, seed=seed),
        lambda seed: layers.AlphaDropout(0.1, seed=seed),
    ],
)
@pytest.mark.parametrize("seed", ["a", 1.5, [1]], ids=repr)
def test_random_layer_seed_not_an_integer_is_kerass_error_at_construction(make, seed):
    with pytest.raises(ValueError) as info:
        make(seed)
    assert str(info.value) == f"Argument `seed` must be an integer. Received: seed={seed}"


def test_random_layer_seed_reassigned_is_checked_and_integers_pass():
    layer = layers.Dropout(0.5, seed=np.int64(3))
    with pytest.raises(ValueError, match="`seed` must be an integer"):
        layer.seed = "b"
    assert layer.seed == 3
    layer.seed = None


def _compiled_classifier():
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


_LABELS = np.array([0, 1, 2] * 4)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.fit(x, _LABELS, verbose=0),
        lambda m, x: m.evaluate(x, _LABELS, verbose=0),
        lambda m, x: m.predict(x, verbose=0),
        lambda m, x: m.train_on_batch(x, _LABELS),
    ],
    ids=["fit", "evaluate", "predict", "train_on_batch"],
)
def test_ragged_nested_list_x_names_the_ragged_row(call):
    model = _compiled_classifier()
    before = model.get_weights()
    with pytest.raises(ValueError) as info:
        call(model, [[1.0, 2.0, 3.0, 4.0]] * 11 + [[1.0, 2.0]])
    assert str(info.value).startswith(
        "x is a ragged nested list: x[11] has shape (2,), where x[0] has shape (4,)"
    )
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_ragged_nested_y_and_sample_weight_name_the_ragged_row():
    model = _compiled_classifier()
    x = np.ones((12, 4), np.float32)
    with pytest.raises(ValueError, match=r"^y is a ragged nested list: y\[1\] has shape \(2,\)"):
        model.fit(x, [[1], [2, 0]] + [[0]] * 10, verbose=0)
    with pytest.raises(
        ValueError, match=r"^sample_weight is a ragged nested list: sample_weight\[11\]"
    ):
        model.evaluate(x, _LABELS, sample_weight=[[1.0]] * 11 + [[1.0, 2.0]], verbose=0)
    with pytest.raises(
        ValueError, match=r"x is a ragged nested list: x\[0\]\[1\] has shape \(1,\)"
    ):
        model.predict([[[1.0, 2.0], [3.0]]] * 2, verbose=0)


@pytest.mark.parametrize(
    "what", ["fit", "evaluate", "predict", "test_on_batch", "predict_on_batch"]
)
@pytest.mark.parametrize("built", [True, False], ids=["built", "unbuilt"])
def test_x_none_says_x_is_none_and_is_required(what, built):
    if built:
        model = _compiled_classifier()
    else:
        model = models.Sequential([layers.Dense(3, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
    call = getattr(model, what)
    args = (None,) if what.startswith("predict") else (None, _LABELS)
    kwargs = {"verbose": 0} if what in ("fit", "evaluate", "predict") else {}
    with pytest.raises(ValueError) as info:
        call(*args, **kwargs)
    assert str(info.value).startswith(f"{what}: x is None; {what} needs the input data x")
    assert model.built is built


_ROWS = np.random.default_rng(1).standard_normal((12, 4)).astype(np.float32)


@pytest.mark.parametrize(
    "data",
    [
        lambda: (row for row in _ROWS),
        lambda: (_ROWS[i : i + 5] for i in range(0, 12, 5)),
        lambda: [_ROWS[:5], _ROWS[5:]],
        lambda: ((_ROWS[i : i + 4], np.zeros(4)) for i in range(0, 12, 4)),
    ],
    ids=["generator of rows", "generator of batches", "list of batches", "(x, y) batches"],
)
def test_normalization_adapts_to_an_iterable_of_batches_as_to_their_samples(data):
    expected = layers.Normalization()
    expected.adapt(_ROWS)
    layer = layers.Normalization()
    layer.adapt(data())
    np.testing.assert_allclose(np.ravel(layer.mean), np.ravel(expected.mean), rtol=1e-6)
    np.testing.assert_allclose(np.ravel(layer.variance), np.ravel(expected.variance), rtol=1e-6)


def test_normalization_adapt_of_bad_batches_is_refused_unchanged():
    layer = layers.Normalization()
    layer.adapt(_ROWS)
    mean = np.array(layer.mean)
    with pytest.raises(ValueError, match="adapt\\(\\) received an empty iterable"):
        layer.adapt(iter([]))
    with pytest.raises(ValueError, match=r"Expected \(None, 4\), got \(3, 2\) \(batch 1\)"):
        layer.adapt(b for b in (_ROWS[:3], _ROWS[:3, :2]))
    with pytest.raises(TypeError, match="batch 0 must be an array of numbers"):
        layer.adapt(b for b in ["a"])
    with pytest.raises(TypeError, match="adapt takes numbers"):
        layer.adapt(object())
    np.testing.assert_array_equal(layer.mean, mean)


def test_backup_and_restore_on_a_file_names_the_path_before_training(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("")
    for backup_dir in (path, path / "sub"):
        with pytest.raises(ValueError, match="must be a folder") as info:
            fastnn.callbacks.BackupAndRestore(backup_dir)
        assert repr(str(backup_dir)) in str(info.value)
    # a file made there after the callback: refused when fit starts, before any step
    later = tmp_path / "later"
    callback = fastnn.callbacks.BackupAndRestore(later)
    later.write_text("")
    model = _compiled_classifier()
    before = model.get_weights()
    with pytest.raises(ValueError, match="must be a folder"):
        model.fit(_ROWS, _LABELS, verbose=0, callbacks=[callback])
    assert model.optimizer.iterations == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_save_where_no_file_can_be_made_names_the_users_path(tmp_path):
    import os

    model = _compiled_classifier()
    if os.access("/proc", os.W_OK) and os.getuid() != 0:
        pytest.skip("/proc is writable here")
    with pytest.raises(OSError) as info:
        model.save("/proc/m.keras")
    assert "Cannot save to '/proc/m.keras'" in str(info.value)
    assert ".tmp" not in str(info.value)
    a_file = tmp_path / "f"
    a_file.write_text("")
    with pytest.raises(NotADirectoryError, match="is a file"):
        model.save(str(a_file / "m.keras"))


def test_schedule_that_reaches_inf_names_the_step_and_says_finite():
    schedule = optimizers.schedules.PolynomialDecay(0.1, decay_steps=3, power=-1.0)
    model = _compiled_classifier()
    model.compile(optimizers.SGD(schedule), "sparse_categorical_crossentropy")
    with pytest.raises(ValueError) as info:
        model.fit(_ROWS, _LABELS, epochs=2, batch_size=4, verbose=0)
    assert str(info.value) == (
        "The learning rate schedule returned inf for step 3; expected a finite learning rate >= 0"
    )


def test_variable_assign_add_of_another_shape_names_both_shapes():
    model = _compiled_classifier()
    kernel = model.layers[0].kernel
    before = np.array(kernel)
    with pytest.raises(
        ValueError,
        match=r"value of shape \(2,\) does not broadcast to the variable's shape \(4, 3\)",
    ):
        kernel.assign_add(np.zeros(2, np.float32))
    kernel.assign_sub(np.zeros(3, np.float32))  # broadcasts: taken
    np.testing.assert_array_equal(kernel, before)


# -- compile's metrics ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [{"metrics": [None]}, {"metrics": ("mae", None)}, {"weighted_metrics": [None, "mae"]}],
    ids=["metrics", "tuple", "weighted_metrics"],
)
def test_compile_metric_none_is_kerass_value_error_and_compiles_nothing(kwargs):
    model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    with pytest.raises(ValueError) as info:
        model.compile("sgd", "mse", **kwargs)
    assert str(info.value) == "Expected metric, received `None`"
    assert not model.compiled and model.optimizer is None


def test_compile_metric_none_message_is_kerass():
    keras = keras_or_skip()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", "mse", metrics=[None])
    with keras_quiet(), pytest.raises(ValueError) as theirs:
        model.evaluate(np.ones((4, 4)), np.ones((4, 3)), verbose=0)
    assert str(theirs.value) == "Expected metric, received `None`"


# -- a weighted metric named as an unweighted one (README: deliberate differences) ---------
def _accuracy_twice(module):
    model = module.Sequential([module.Input((4,)), module.layers.Dense(3, activation="softmax")])
    model.compile(
        optimizer="sgd",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=["accuracy"],
    )
    return model


def test_accuracy_as_metric_and_weighted_metric_is_listed_once_each():
    model = _accuracy_twice(fastnn)
    weights = np.arange(12.0)
    logs = model.evaluate(_ROWS, _LABELS, sample_weight=weights, verbose=0, return_dict=True)
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
    expected = [logs["loss"], logs["accuracy"], logs["weighted_accuracy"]]
    assert model.evaluate(_ROWS, _LABELS, sample_weight=weights, verbose=0) == expected
    assert len(model.test_on_batch(_ROWS, _LABELS, sample_weight=weights)) == 3
    assert len(model.train_on_batch(_ROWS, _LABELS, sample_weight=weights)) == 3


def test_kerass_list_repeats_the_unweighted_accuracy_where_fastnns_does_not():
    keras = keras_or_skip()
    ours, theirs = _accuracy_twice(fastnn), _accuracy_twice(keras)
    with keras_quiet():
        theirs.set_weights(ours.get_weights())
        weights = np.arange(12.0)
        listed = theirs.evaluate(_ROWS, _LABELS, sample_weight=weights, verbose=0)
    mine = ours.evaluate(_ROWS, _LABELS, sample_weight=weights, verbose=0)
    # Keras 3.15: [loss, accuracy, accuracy again, weighted_accuracy]
    assert len(listed) == 4 and listed[1] == listed[2]
    np.testing.assert_allclose([listed[0], listed[1], listed[3]], mine, rtol=1e-5)


# -- Keras activations fastnn does not compute -------------------------------------------------
_KERAS_ONLY_ACTIVATIONS = "glu sparsemax threshold".split()


@pytest.mark.parametrize("name", _KERAS_ONLY_ACTIVATIONS)
def test_keras_activation_fastnn_lacks_says_not_supported_yet_not_a_typo(name):
    for make in (
        lambda: layers.Dense(3, activation=name),
        lambda: layers.Activation(name),
        lambda: fastnn.activations.get(name),
    ):
        with pytest.raises(ValueError) as info:
            make()
        message = str(info.value)
        assert message.startswith(
            f"Unknown activation {name!r}: keras.activations.{name} is a Keras 3 activation "
            "that fastnn does not support yet"
        )
        assert "Supported: None or one of: celu, elu, exponential, gelu" in message


def test_a_misspelt_activation_is_still_unknown_with_the_list():
    with pytest.raises(ValueError) as info:
        layers.Dense(3, activation="reluu")
    assert str(info.value).startswith(
        "Unknown activation 'reluu'; expected None or one of: celu, elu"
    )


def test_every_keras_activation_is_computed_or_said_unsupported():
    keras = keras_or_skip()
    names = [n for n in dir(keras.activations) if not n.startswith("_")]
    names = [n for n in names if n not in ("get", "serialize", "deserialize")]
    for name in names:
        try:
            fastnn.activations.get(name)
        except ValueError as e:
            assert "does not support yet" in str(e), name


# -- files written before the checks ------------------------------------------------
def test_an_archive_with_slash_names_still_loads_with_a_warning(tmp_path):
    """fastnn wrote names holding '/' before it refused them: such a file
    loads, the names kept (get_layer finds them), with a warning that Keras
    cannot read it; constructing such a name is still refused."""
    import json
    import zipfile

    model = models.Sequential([layers.Input((4,)), layers.Dense(3, name="enc_dense")], name="m")
    model.compile("adam", "mse")
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    want = model.predict(x, verbose=0)
    good = tmp_path / "good.keras"
    model.save(good)
    old = tmp_path / "old.keras"  # the same archive with the names an older fastnn kept
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                text = data.decode().replace('"enc_dense"', '"enc/dense"')
                text = text.replace('"name": "m"', '"name": "my/model"')
                json.loads(text)
                data = text.encode()
            dst.writestr(item, data)
    with pytest.warns(UserWarning, match="holds '/'"):
        loaded = models.load_model(old)
    assert loaded.name == "my/model"
    assert loaded.get_layer("enc/dense") is loaded.layers[-1]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), want)
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        layers.Dense(3, name="enc/dense")


def test_a_keras_archive_compiled_with_a_none_metric_loads(tmp_path):
    """Keras saves compile(metrics=[None]) as given and loads the file (its
    first evaluate would refuse the None); fastnn loads it without it."""
    model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile("adam", "mse", metrics=["mae"])
    config = model.get_compile_config()
    config["metrics"] = [None, "mae"]
    fresh = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    models._compile_loaded(fresh, config)
    result = fresh.evaluate(np.ones((2, 4)), np.ones((2, 3)), verbose=0, return_dict=True)
    assert sorted(result) == ["loss", "mae"]
