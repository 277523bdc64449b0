"""`import fastnn as keras` for scripts written against Keras's top-level
namespace, and the activation layers Keras scripts use (ReLU, Softmax)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import fastnn
import fastnn as keras
from fastnn import layers


def test_top_level_names_are_keras_ones():
    assert keras.Sequential is fastnn.models.Sequential
    assert keras.Input is fastnn.layers.Input
    for name in ("layers", "models", "optimizers", "losses", "metrics", "callbacks", "utils"):
        assert hasattr(keras, name)


def test_the_top_level_namespace_holds_only_fastnn_names():
    # `fastnn.os` or `fastnn.operator` would be the package's own imports leaking
    # into what a user sees in dir() and tab completion (keras has none).
    public = {name for name in dir(fastnn) if not name.startswith("_")}
    # (a fastnn submodule appears as an attribute once something imports it)
    own_modules = {
        name
        for name in public
        if getattr(getattr(fastnn, name), "__name__", "") == f"fastnn.{name}"
    }
    assert public - own_modules <= set(fastnn.__all__)
    assert {"Sequential", "layers", "set_num_threads"} <= public


def test_a_keras_tutorial_script_runs_with_the_import_changed(rng):
    x = rng.random((256, 28, 28)).astype("float32")
    y = rng.integers(0, 10, 256)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(32),
            keras.layers.ReLU(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10),
        ]
    )
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss"]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0


@pytest.mark.parametrize(
    "layer,reference",
    [
        (lambda: layers.ReLU(), lambda z: np.maximum(z, 0)),
        (lambda: layers.ReLU(negative_slope=0.25), lambda z: np.where(z > 0, z, 0.25 * z)),
        (
            lambda: layers.Softmax(),
            lambda z: (
                np.exp(z - z.max(1, keepdims=True))
                / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
            ),
        ),
    ],
)
def test_activation_layers_compute_their_function(rng, layer, reference):
    model = fastnn.Sequential([fastnn.Input((7,)), layers.Dense(5), layer()])
    model.compile("sgd", "mse")
    x = rng.standard_normal((9, 7)).astype(np.float32)
    kernel, bias = model.get_weights()
    z = x.astype(np.float64) @ kernel + bias
    np.testing.assert_allclose(model.predict(x, verbose=0), reference(z), rtol=1e-5, atol=1e-6)


def test_activation_layers_names_and_configs_follow_keras(tmp_path, rng):
    # Keras's to_snake_case: ReLU -> re_lu, LeakyReLU -> leaky_re_lu, ELU -> elu
    relu, leaky, elu, softmax = layers.ReLU(), layers.LeakyReLU(), layers.ELU(), layers.Softmax()
    assert relu.name.startswith("re_lu") and "re_l_u" not in relu.name
    assert leaky.name.startswith("leaky_re_lu") and elu.name.startswith("elu")
    assert softmax.name.startswith("softmax")
    config = layers.ReLU(negative_slope=0.5).get_config()
    assert (config["max_value"], config["negative_slope"], config["threshold"]) == (None, 0.5, 0.0)
    assert layers.Softmax().get_config()["axis"] == -1
    model = fastnn.Sequential(
        [fastnn.Input((4,)), layers.Dense(3), layers.ReLU(negative_slope=0.1), layers.Softmax()]
    )
    model.compile("adam", "categorical_crossentropy")
    x = rng.standard_normal((6, 4)).astype(np.float32)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = fastnn.models.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == ["Dense", "ReLU", "Softmax"]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: layers.ReLU(max_value=-6.0), "max_value"),
        (lambda: layers.ReLU(threshold=-0.5), "threshold"),
        (lambda: layers.ReLU(negative_slope=-1.0), "negative_slope"),
        (lambda: layers.ReLU(negative_slope=None), "negative_slope"),
        (lambda: layers.Softmax(axis=0), "axis=-1 or axis=1"),
        (lambda: layers.Softmax(axis=2), "axis=-1 or axis=1"),
    ],
)
def test_activation_layers_reject_what_has_no_kernel(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_model_cannot_be_added_to_itself_and_an_empty_one_adds_nothing(rng):
    """(Nesting and shared layers: tests/test_shared_layers.py.)"""
    inner = fastnn.Sequential([fastnn.Input((4,)), layers.Dense(3)])
    x = rng.standard_normal((5, 4)).astype(np.float32)
    before = inner.predict(x, verbose=0)
    with pytest.raises(ValueError, match="cannot be added to itself"):
        inner.add(inner)
    with pytest.raises(ValueError, match="has no layers to add"):
        inner.add(fastnn.Sequential(name="empty"))
    np.testing.assert_array_equal(inner.predict(x, verbose=0), before)
    assert len(inner.layers) == 1


def test_backend_functions_keras_scripts_call():
    from fastnn import backend as K

    layers.Dense(2)
    K.clear_session()
    assert layers.Dense(2).name == "dense" and layers.Dense(2).name == "dense_1"
    assert fastnn.Sequential().name == "sequential"
    assert (K.floatx(), K.epsilon(), K.backend()) == ("float32", 1e-7, "fastnn")
    assert K.image_data_format() == "channels_last"
    K.set_floatx("float32")
    with pytest.raises(ValueError, match="float32 only"):
        K.set_floatx("float64")


def test_keras_saving_api_and_models_save_model(tmp_path, rng):
    # Keras 3 scripts save and load through keras.saving (and keras.models.save_model).
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    x = rng.standard_normal((4, 3)).astype(np.float32)
    keras.saving.save_model(model, tmp_path / "a.keras")
    keras.models.save_model(model, tmp_path / "b.keras", overwrite=True)
    for name in ("a.keras", "b.keras"):
        loaded = keras.saving.load_model(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    keras.saving.save_weights(model, tmp_path / "w.weights.npz")
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    keras.saving.load_weights(other, tmp_path / "w.weights.npz", skip_mismatch=False)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save_weights(tmp_path / "w2.weights.npz", max_shard_size=None)
    with pytest.raises(ValueError, match="max_shard_size"):
        model.save_weights(tmp_path / "w3.weights.npz", max_shard_size=1)
    other.load_weights(tmp_path / "w2.weights.npz", skip_mismatch=True)  # (all match)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="`by_name` only supports loading legacy"):
        other.load_weights(tmp_path / "w2.weights.npz", by_name=True)
    with pytest.raises(ValueError, match="Invalid keyword arguments"):
        other.load_weights(tmp_path / "w2.weights.npz", foo=1)
    assert "saving" in keras.__all__


def test_keras_config_functions():
    # keras.config (Keras 3): the float32-only answers fastnn can give.
    assert keras.config.floatx() == "float32" and keras.config.epsilon() == 1e-7
    assert keras.config.image_data_format() == "channels_last"
    assert keras.config.backend() == keras.backend.backend()
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
    keras.config.enable_unsafe_deserialization()
    keras.config.disable_traceback_filtering()
    assert keras.config.dtype_policy().name == "float32"
    assert keras.config.is_traceback_filtering_enabled() is False
    with pytest.raises(ValueError, match="float32 only"):
        keras.config.set_dtype_policy("mixed_float16")
    with pytest.raises(ValueError, match="float32 only"):
        keras.config.set_floatx("float64")


# -- Normalization (keras/src/layers/preprocessing/normalization.py) ---------------------


def normalization_data():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((50, 3)) * [1, 10, 100] + [0, 5, -50]).astype(np.float32)
    return x, (x @ np.array([[1.0], [0.1], [0.01]])).astype(np.float32)


def test_normalization_adapt_and_call_as_keras():
    x, _ = normalization_data()
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(x)
    mean, variance, count = layer.get_weights()
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(variance, x.var(0), rtol=1e-5)
    assert count.shape == () and count.dtype == np.int32  # Keras 3.15 keeps it 0
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3
    # Keras 3.15's values for the first sample
    np.testing.assert_allclose(layer(x[:1]), [[0.2928, -0.267, 0.4037]], atol=1e-4)
    given = keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 4.0, 0.0])
    np.testing.assert_array_equal(given(np.ones((1, 3))), [[0.0, -0.5, -2e7]])  # sqrt floor 1e-7
    assert given.weights == []
    inverse = keras.layers.Normalization(invert=True)
    inverse.adapt(x)
    np.testing.assert_allclose(inverse(np.zeros((1, 3))), mean[None], rtol=1e-6)
    assert layer.get_config()["axis"] == (-1,) and layer.get_config()["mean"] is None
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        keras.layers.Normalization(mean=[1.0])
    with pytest.raises(ValueError, match="normalizes the last axis"):
        keras.layers.Normalization(axis=0)


def test_basic_regression_tutorial_normalization_axis_none_shared_and_1d_inputs():
    """TensorFlow's "Basic regression" tutorial: `Normalization(input_shape=[1],
    axis=None)` adapted on a 1-D column, shared by two models, fed 1-D inputs,
    `normalizer.mean.numpy()` and `normalizer(first).numpy()`. Values from
    Keras 3.15.1 (torch backend)."""
    x = np.array([1.0, 2.0, 4.0, 9.0])
    norm = layers.Normalization(input_shape=[1], axis=None)
    norm.adapt(x)
    weights = norm.get_weights()
    assert [w.shape for w in weights] == [(), (), ()]
    np.testing.assert_array_equal(weights[:2], [4.0, 9.5])
    assert norm.mean.shape == (1,) and norm.mean.numpy().tolist() == [4.0]
    assert norm.get_config()["axis"] == ()
    model = keras.Sequential([norm, layers.Dense(1, kernel_initializer="ones")])
    text = []
    model.summary(print_fn=text.append)
    assert "│ normalization" in text[0] and "│             3 │" in text[0]
    want = [-0.97332853, -0.64888567, 0.0, 1.6222142]
    np.testing.assert_allclose(model.predict(x, verbose=0).ravel(), want, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x[:, None], verbose=0).ravel(), want, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x[:, None, None], verbose=0).ravel(), want, rtol=1e-6)
    second = keras.Sequential([norm, layers.Dense(2)])  # the layer is shared, as in Keras
    assert second.predict(x, verbose=0).shape == (4, 2)
    assert norm.path == f"{model.name}/{norm.name}"
    model.compile("sgd", "mse")
    assert sorted(model.fit(x, x, epochs=1, verbose=0).history) == ["loss"]
    np.testing.assert_allclose(model.evaluate(x, x, verbose=0), 19.530298233032227, rtol=1e-5)
    grid = np.arange(12.0).reshape(4, 3)
    every = layers.Normalization(axis=None)
    every.adapt(grid)
    assert [w.shape for w in every.get_weights()] == [(), (), ()] and every.mean.shape == (1, 1)
    out = every(grid[:1])
    np.testing.assert_allclose(out.numpy(), [[-1.593255, -1.3035723, -1.0138896]], rtol=1e-6)
    assert type(out.numpy()) is np.ndarray and type(out + 1) is np.ndarray
    per_feature = layers.Normalization()
    per_feature.adapt(grid)
    np.testing.assert_array_equal(per_feature.mean.numpy(), [[4.5, 5.5, 6.5]])
    np.testing.assert_array_equal(per_feature.variance.numpy(), [grid.var(0)])
    with pytest.raises(ValueError, match="samples of shape"):
        keras.Sequential([keras.Input((3,)), layers.Dense(1)]).predict(grid[:, :2], verbose=0)


def test_summary_of_an_unbuilt_model_counts_an_adapted_normalization():
    """Basic regression's `build_and_compile_model(normalizer).summary()` before
    fit: Keras 3.15.1 counts the adapted layer's 9 + 9 + 1 weights."""
    norm = layers.Normalization(axis=-1)
    norm.adapt(np.arange(18.0).reshape(2, 9))
    model = keras.Sequential([norm, layers.Dense(64, activation="relu"), layers.Dense(1)])
    text = []
    model.summary(print_fn=text.append)
    lines = text[0].splitlines()
    assert lines[4].endswith("│            19 │") and lines[6].endswith("│   0 (unbuilt) │")
    assert lines[-3:] == [
        " Total params: 19 (76.00 B)",
        " Trainable params: 0 (0.00 B)",
        " Non-trainable params: 19 (76.00 B)",
    ]


def test_normalization_first_layer_trains_on_normalized_inputs(tmp_path):
    x, y = normalization_data()
    layer = keras.layers.Normalization()
    layer.adapt(x)
    model = keras.Sequential(
        [keras.Input((3,)), layer, keras.layers.Dense(4), keras.layers.Dense(1)]
    )
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    plain.set_weights(model.get_weights()[3:])
    for m in (model, plain):
        m.compile("adam", "mae")
    history = model.fit(x, y, epochs=2, batch_size=10, verbose=0, shuffle=False).history
    expected = plain.fit(layer(x), y, epochs=2, batch_size=10, verbose=0, shuffle=False).history
    assert history == expected
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(layer(x), verbose=0))
    assert (model.count_params(), len(model.trainable_weights)) == (28, 4)
    text = []
    model.summary(print_fn=text.append)
    assert " Non-trainable params: 7 (28.00 B)" in text[0]  # Keras 3.15's line
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="must come first"):
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(3), keras.layers.Normalization()])


def test_a_copied_normalization_keeps_its_int32_count():
    layer = keras.layers.Normalization()
    layer.adapt(np.arange(12.0).reshape(4, 3))
    for twin in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert [w.dtype for w in twin.get_weights()] == [np.float32, np.float32, np.int32]
        for mine, theirs in zip(twin.get_weights(), layer.get_weights()):
            np.testing.assert_array_equal(mine, theirs)


def test_normalization_statistics_must_fit_the_inputs_and_be_finite():
    """Adapted on 5 features, the layer was accepted into a 3-input model and
    failed only in fit/predict; NaN in adapt's data made fit blame x."""
    adapted = keras.layers.Normalization()
    adapted.adapt(np.arange(20.0).reshape(4, 5))
    with pytest.raises(ValueError, match="statistics for 5 features, but the model's inputs"):
        keras.Sequential([keras.Input((3,)), adapted, keras.layers.Dense(1)])
    given = keras.layers.Normalization(mean=[0.0, 1.0], variance=[1.0, 1.0])
    with pytest.raises(ValueError, match="statistics for 2 features"):
        keras.Sequential([keras.Input((3,)), given, keras.layers.Dense(1)])
    layer = keras.layers.Normalization()
    with pytest.raises(ValueError, match="adapt: the data holds NaN or Inf"):
        layer.adapt(np.array([[1.0, np.nan], [2.0, 3.0]]))
    assert not layer.get_weights()  # nothing adapted
    scalar = keras.layers.Normalization(axis=None)  # one statistic fits any width
    scalar.adapt(np.arange(20.0).reshape(4, 5))
    model = keras.Sequential([keras.Input((3,)), scalar, keras.layers.Dense(1)])
    assert model.predict(np.zeros((2, 3)), verbose=0).shape == (2, 1)


def test_normalization_added_after_a_dense_is_refused_and_changes_nothing():
    """add() skipped the rebuild for a Normalization, so one added after a
    Dense was kept in model.layers and never applied (predict unchanged)."""
    x = np.ones((4, 3), np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    before = model.predict(x, verbose=0)
    with pytest.raises(ValueError, match="must come first"):
        model.add(keras.layers.Normalization(mean=[100.0] * 3, variance=[1.0] * 3))
    assert [type(layer).__name__ for layer in model.layers] == ["Dense"]
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    model.add(keras.layers.Dense(1))  # the model goes on as before
    assert model.predict(x, verbose=0).shape == (4, 1)


def test_models_of_preprocessing_layers_only_load_copy_and_pop():
    """Flatten/Normalization run in Python: a model of only those is not built
    (no engine layer), in the constructor, add, pop and from_config alike."""
    normalizer = keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 4.0, 4.0])
    only = keras.Sequential([keras.Input((3,)), normalizer])
    for copy_of in (keras.Sequential.from_config(only.get_config()), copy.deepcopy(only)):
        assert [type(layer).__name__ for layer in copy_of.layers] == ["Normalization"]
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Normalization(), keras.layers.Dense(1)]
    )
    model.pop()
    assert [type(layer).__name__ for layer in model.layers] == ["Normalization"]
    model.add(keras.layers.Dense(2))
    assert model.predict(np.zeros((1, 3)), verbose=0).shape == (1, 2)


def test_ops_array_constructors_as_keras():
    """keras-io's guides make inputs with `ops.ones((3, 3))` and labels with
    `ops.one_hot(y_train, num_classes=10)` (float labels); values and dtypes
    from Keras 3.15.1 (torch backend)."""
    ones = keras.ops.ones((2, 3))
    assert ones.dtype == np.float32 and ones.shape == (2, 3) and (ones == 1).all()
    assert keras.ops.zeros(3).dtype == np.float32 and not keras.ops.zeros(3).any()
    assert keras.ops.ones((2,), dtype="int32").dtype == np.int32
    hot = keras.ops.one_hot(np.array([0.0, 2.0, 1.0], np.float32), num_classes=3)
    np.testing.assert_array_equal(hot, np.eye(3, dtype=np.float32)[[0, 2, 1]])
    assert hot.dtype == np.float32
    negative = keras.ops.one_hot(np.array([[1, -1]]), 3)
    np.testing.assert_array_equal(negative, [[[0, 1, 0], [0, 0, 0]]])
    first_axis = keras.ops.one_hot(np.array([1, 0]), 3, axis=0)
    np.testing.assert_array_equal(first_axis, [[0, 1], [1, 0], [0, 0]])
    with pytest.raises(ValueError, match="out of range"):
        keras.ops.one_hot(np.array([3]), 3)


def test_dense_called_on_arrays_builds_and_computes_as_keras():
    """keras-io's Sequential-model guide: `layer.weights` is empty until
    `layer(ops.ones((1, 4)))` creates a (4, 3) kernel and a (3,) bias, and
    `layer3(layer2(layer1(x)))` equals the Sequential of those layers."""
    layer = layers.Dense(3)
    assert layer.weights == []
    y = layer(keras.ops.ones((1, 4)))
    assert [tuple(w.shape) for w in layer.weights] == [(4, 3), (3,)]
    assert y.shape == (1, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), layer.kernel.numpy().sum(0, keepdims=True), rtol=1e-6)
    layer1 = layers.Dense(2, activation="relu", name="layer1")
    layer2 = layers.Dense(3, activation="softmax", name="layer2")
    layer3 = layers.Dense(4, activation="elu", name="layer3")
    x = np.random.default_rng(0).standard_normal((3, 3))
    y = layer3(layer2(layer1(x)))
    model = keras.Sequential([keras.Input((3,)), layer1, layer2, layer3])  # keeps their weights
    np.testing.assert_allclose(model(x), y, rtol=1e-6, atol=1e-7)
    layer1.kernel.assign(np.ones((3, 2)))  # the layer now reads the model's buffer
    np.testing.assert_allclose(layer1(x), np.maximum(x.sum(1, keepdims=True) * [1, 1], 0))
    with pytest.raises(ValueError, match="has 3 inputs"):
        layer1(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"input_shape=\(5,\)"):
        layers.Dense(3, input_shape=(5,))(np.ones((2, 4)))


def test_dense_build_creates_weights_for_set_weights():
    """keras-io's serialization guide: `layer.build((None, 784))`, then
    `layer_2.set_weights(layer_1.get_weights())`."""

    def create_layer():
        layer = layers.Dense(64, activation="relu", name="dense_2")
        layer.build((None, 784))
        return layer

    layer_1 = create_layer()
    layer_2 = create_layer()
    assert layer_1.built and [tuple(w.shape) for w in layer_1.weights] == [(784, 64), (64,)]
    assert not np.array_equal(layer_1.kernel, layer_2.kernel)
    layer_2.set_weights(layer_1.get_weights())
    np.testing.assert_array_equal(layer_2.kernel, layer_1.kernel)
    kernel = layer_1.kernel.numpy()
    layer_1.build((None, 784))  # built already: nothing changes
    np.testing.assert_array_equal(layer_1.kernel, kernel)
    model = keras.Sequential([keras.Input((784,)), layer_1])
    np.testing.assert_array_equal(model.get_weights()[0], kernel)
    with pytest.raises(ValueError, match="input shape"):
        layers.Dense(3).build((None, 28, 28))


def test_layer_repr_is_keras_one():
    """keras-io's Sequential guide prints `model.layers`: Keras 3 writes
    `<Dense name=dense_7, built=True>`."""
    layer = layers.Dense(2, name="d")
    assert repr(layer) == "<Dense name=d, built=False>"
    keras.Sequential([keras.Input((4,)), layer])
    assert repr([layer]) == "[<Dense name=d, built=True>]"


# Keras 3.15 constructor arguments fastnn takes through **kwargs (checked
# there: accepted at their defaults, refused otherwise) or not at all on purpose.
_ARGUMENTS_ELSEWHERE = {
    ("layers", "Dense"): {"lora_rank", "lora_alpha", "quantization_config"},
    ("layers", "InputLayer"): {"sparse", "optional", "dtype", "ragged", "input_tensor"},
    ("layers", "Layer"): {"dtype", "autocast", "activity_regularizer"},
    ("losses", "Loss"): {"dtype"},
    ("initializers", "Initializer"): {"args"},
    ("initializers", "Ones"): {"args"},
    ("initializers", "Zeros"): {"args"},
    ("initializers", "ones"): {"args"},
    ("initializers", "zeros"): {"args"},
}


@pytest.mark.parametrize(
    "module",
    ["metrics", "losses", "optimizers", "layers", "regularizers", "constraints", "initializers"],
)
def test_every_class_takes_keras_constructor_arguments(module):
    import inspect

    from keras_inprocess import keras_or_skip

    keras_module = getattr(keras_or_skip(), module)
    ours = getattr(fastnn, module)
    missing = {}
    for name in dir(keras_module):
        theirs = getattr(keras_module, name)
        mine = getattr(ours, name, None)
        if not isinstance(theirs, type) or not isinstance(mine, type):
            continue
        wanted = set(inspect.signature(theirs.__init__).parameters) - {"self", "kwargs"}
        taken = set(inspect.signature(mine.__init__).parameters)
        left = wanted - taken - _ARGUMENTS_ELSEWHERE.get((module, name), set())
        if left:
            missing[name] = sorted(left)
    assert missing == {}


@pytest.mark.parametrize(
    "module,name",
    [
        ("metrics", "SparseCategoricalCrossentropy"),
        ("metrics", "SparseTopKCategoricalAccuracy"),
        ("metrics", "CategoricalCrossentropy"),
        ("metrics", "BinaryCrossentropy"),
        ("losses", "SparseCategoricalCrossentropy"),
        ("losses", "CategoricalCrossentropy"),
    ],
)
def test_keras_configs_of_cross_entropies_load(module, name):
    from keras_inprocess import keras_or_skip

    config = getattr(getattr(keras_or_skip(), module), name)().get_config()
    mine = getattr(getattr(fastnn, module), name).from_config(config)
    assert {k: v for k, v in mine.get_config().items() if k in config} == config


def test_keras_only_arguments_at_other_values_are_refused():
    with pytest.raises(ValueError, match="ignore_class=3 is not supported"):
        fastnn.metrics.SparseCategoricalCrossentropy(ignore_class=3)
    with pytest.raises(ValueError, match="from_sorted_ids=True is not supported"):
        fastnn.metrics.SparseTopKCategoricalAccuracy(from_sorted_ids=True)
    with pytest.raises(ValueError, match="axis=0 is not supported"):
        fastnn.losses.SparseCategoricalCrossentropy(axis=0)
    config = fastnn.losses.SparseCategoricalCrossentropy(axis=-1).get_config()
    assert "axis" not in config  # as Keras's get_config
