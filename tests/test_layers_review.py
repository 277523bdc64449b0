"""Findings of a review of fastnn's layers against Keras 3.15, each against
Keras itself where it is importable: the variable lists of layers with
non-trainable weights, eager calls of the weightless layers, config dicts for
initializers and activations, Softmax/Normalization on axis 1 and the
activation functions on any axis, callable-object initializers in configs and
files, tf.keras 2's LeakyReLU ``alpha`` in configs, an Input's ``batch_size``
in the model's shapes and configs, and the small ones
(``relu`` with a negative threshold, `count_params` of an unbuilt layer,
`Normalization.mean` before adapt)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import activations, initializers, layers, models


def keras_values(tensor) -> np.ndarray:
    return np.asarray(tensor.detach().cpu().numpy() if hasattr(tensor, "detach") else tensor)


# -- 1. trainable_variables / non_trainable_variables follow the subclasses' lists -----


def test_batch_norm_and_normalization_variables_are_their_weights_lists():
    bn = layers.BatchNormalization()
    bn.build((None, 4))
    norm = layers.Normalization()
    norm.adapt(np.arange(40.0).reshape(10, 4))
    assert [v.name for v in bn.trainable_variables] == ["gamma", "beta"]
    assert [v.name for v in bn.non_trainable_variables] == ["moving_mean", "moving_variance"]
    assert norm.trainable_variables == []
    assert [v.name for v in norm.non_trainable_variables] == ["mean", "variance", "count"]
    assert [v.name for v in bn.variables] == [v.name for v in bn.weights]
    bn.trainable = False  # frozen: everything is non-trainable, as trainable_weights says
    assert bn.trainable_variables == [] and len(bn.non_trainable_variables) == 4


def test_variable_lists_match_keras():
    keras = keras_or_skip()
    with keras_quiet():
        kbn = keras.layers.BatchNormalization()
        kbn.build((None, 4))
        knorm = keras.layers.Normalization()
        knorm.adapt(np.arange(40.0).reshape(10, 4))
    bn = layers.BatchNormalization()
    bn.build((None, 4))
    norm = layers.Normalization()
    norm.adapt(np.arange(40.0).reshape(10, 4))
    for ours, theirs in ((bn, kbn), (norm, knorm)):
        for attr in ("trainable_variables", "non_trainable_variables"):
            names = [v.name for v in getattr(ours, attr)]
            assert names == [v.name for v in getattr(theirs, attr)], attr


# -- 2. the weightless layers compute on arrays, as Keras's eager call ------------------


X = np.array([[-1.5, -0.25, 0.0, 0.5, 2.0, 7.0]], np.float32)

EAGER_CASES = [
    ("Activation", ("tanh",), {}),
    ("Activation", ("relu6",), {}),
    ("Activation", ("gelu",), {}),
    ("ReLU", (), {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.05}),
    ("ReLU", (), {}),
    ("LeakyReLU", (), {"negative_slope": 0.2}),
    ("ELU", (), {"alpha": 0.5}),
    ("Softmax", (), {}),
    ("Softmax", (), {"axis": 1}),
    ("Dropout", (0.5,), {}),
    ("GaussianNoise", (0.3,), {}),
    ("GaussianDropout", (0.3,), {}),
    ("AlphaDropout", (0.3,), {}),
    ("Flatten", (), {}),
    ("Reshape", ((3, 2),), {}),
]


@pytest.mark.parametrize("name,args,kwargs", EAGER_CASES, ids=lambda c: str(c))
def test_weightless_layers_compute_on_arrays_as_keras(rng, name, args, kwargs):
    keras = keras_or_skip()
    x = np.concatenate([X, rng.standard_normal((4, 6)).astype(np.float32) * 3])
    ours = getattr(layers, name)(*args, **kwargs)(x)
    with keras_quiet():
        theirs = keras_values(getattr(keras.layers, name)(*args, **kwargs)(x))
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float32
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert ours.numpy().dtype == np.float32  # Keras's tensor method, as Dense's result


def test_eager_calls_on_other_shapes_and_dtypes_match_keras(rng):
    keras = keras_or_skip()
    cube = rng.standard_normal((2, 3, 4)).astype(np.float32)
    cases = [
        (lambda m: m.layers.Flatten(), cube),
        (lambda m: m.layers.Flatten(data_format="channels_first"), cube),
        (lambda m: m.layers.Flatten(), np.arange(3.0)),  # (batch,) -> (batch, 1)
        (lambda m: m.layers.Reshape((-1,)), cube),
        (lambda m: m.layers.Reshape((2, 6)), cube),
        (lambda m: m.layers.Softmax(axis=1), cube),  # axis 1 of a 3-D array, as Keras
        (lambda m: m.layers.Activation("softmax"), cube),
        (lambda m: m.layers.ReLU(), np.arange(-2.0, 3.0)),  # float64 in, float32 out
        (lambda m: m.layers.Dropout(0.3), cube),
    ]
    for make, x in cases:
        ours = make(fastnn)(x)
        with keras_quiet():
            theirs = keras_values(make(keras)(x))
        assert ours.shape == theirs.shape and ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_eager_calls_take_torch_tensors_and_give_torch_tensors():
    torch = pytest.importorskip("torch")
    x = torch.tensor([[-1.0, 0.5, 2.0]])
    for layer in (layers.ReLU(), layers.Dropout(0.2), layers.Flatten(), layers.Softmax()):
        out = layer(x)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32


def test_random_layers_in_training_mode_draw_unless_they_draw_nothing():
    x = np.ones((20, 4), np.float32)
    for layer in (
        layers.Dropout(0.5),
        layers.GaussianNoise(0.1),
        layers.GaussianDropout(0.1),
        layers.AlphaDropout(0.1),
    ):
        np.testing.assert_array_equal(layer(x), x)
        np.testing.assert_array_equal(layer(x, training=False), x)
        assert not np.array_equal(layer(x, training=True), x)
    # rate 0: Keras returns the input in training mode too
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True), x)
    np.testing.assert_array_equal(layers.GaussianNoise(0.0)(x, training=True), x)


def test_eager_calls_refuse_what_keras_refuses():
    with pytest.raises(TypeError, match="real numbers"):
        layers.ReLU()(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="total size"):
        layers.Reshape((4,))(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="unsupported call arguments"):
        layers.Flatten()(np.ones((2, 3)), foo=1)
    with pytest.raises(ValueError, match="masks"):
        layers.Softmax()(np.ones((2, 3)), mask=np.ones((2, 3), bool))


def test_the_functional_api_still_takes_the_layers():
    inputs = fastnn.Input((6,))
    x = layers.Reshape((2, 3))(inputs)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.1)(layers.ReLU()(x))
    outputs = layers.Softmax(axis=1)(layers.Dense(3)(x))
    model = fastnn.Model(inputs, outputs)
    assert model.output_shape == (None, 3)
    np.testing.assert_allclose(model.predict(X, verbose=0).sum(), 1.0, rtol=1e-6)


# -- 3. config dicts for initializers and activations -----------------------------------

HE = {"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": 3}}
RELU = {
    "module": "keras.activations",
    "class_name": "function",
    "config": "relu",
    "registered_name": "function",
}


def test_initializer_and_activation_dicts_are_taken():
    init = initializers.get({**HE, "registered_name": None})
    assert isinstance(init, initializers.HeNormal) and init.seed == 3
    assert isinstance(initializers.get({"class_name": "Zeros", "config": {}}), initializers.Zeros)
    dense = layers.Dense(3, kernel_initializer=HE, activation=RELU)
    assert isinstance(dense.kernel_initializer, initializers.HeNormal)
    assert dense.activation == "relu" and activations.get(RELU) is activations.relu
    leaky = {"module": "keras.layers", "class_name": "LeakyReLU", "config": {"negative_slope": 0.1}}
    dense = layers.Dense(3, activation=leaky)  # an activation layer's config, as Keras
    assert isinstance(dense.activation, layers.LeakyReLU) and dense.activation.negative_slope == 0.1
    with pytest.raises(ValueError, match="Unknown activation"):
        layers.Dense(3, activation={**RELU, "config": "nope"})


def test_initializer_and_activation_dicts_build_as_keras():
    keras = keras_or_skip()
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    ones = {"module": "keras.initializers", "class_name": "Constant", "config": {"value": 0.5}}
    ours = layers.Dense(3, kernel_initializer=ones, activation=RELU)
    with keras_quiet():
        theirs = keras.layers.Dense(3, kernel_initializer=ones, activation=RELU)
        expected = keras_values(theirs(x))
    np.testing.assert_allclose(ours(x), expected, rtol=1e-6)


# -- 4. Softmax / Normalization on axis 1; the functions on any axis --------------------


def test_softmax_and_normalization_take_axis_one(rng):
    keras = keras_or_skip()
    x = rng.standard_normal((6, 4)).astype(np.float32)
    softmax = layers.Softmax(axis=1)
    norm = layers.Normalization(axis=1)
    norm.adapt(x)
    with keras_quiet():
        ksoftmax = keras.layers.Softmax(axis=1)
        knorm = keras.layers.Normalization(axis=1)
        knorm.adapt(x)
        expected = [keras_values(ksoftmax(x)), keras_values(knorm(x))]
        configs = [ksoftmax.get_config()["axis"], knorm.get_config()["axis"]]
    np.testing.assert_allclose(softmax(x), expected[0], rtol=1e-6)
    np.testing.assert_allclose(norm(x), expected[1], rtol=1e-5, atol=1e-6)
    assert [softmax.get_config()["axis"], norm.get_config()["axis"]] == configs
    # in a model, axis 1 is the feature axis
    model = fastnn.Sequential([fastnn.Input((4,)), norm, layers.Dense(3), softmax])
    again = models.model_from_json(model.to_json())
    assert again.layers[-1].axis == 1 and again.layers[0].axis == (1,)
    with pytest.raises(ValueError, match="axis=1 takes data of shape"):
        layers.Normalization(axis=1).adapt(np.ones((4, 2, 3)))
    with pytest.raises(ValueError, match="axis=-1 or axis=1"):
        layers.Softmax(axis=0)


def test_a_keras_file_with_softmax_axis_one_loads(rng, tmp_path):
    keras = keras_or_skip()
    x = rng.standard_normal((5, 4)).astype(np.float32)
    with keras_quiet():
        theirs = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(3), keras.layers.Softmax(axis=1)]
        )
        theirs.save(tmp_path / "m.keras")
        expected = theirs.predict(x, verbose=0)
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, 0, 1, 2, -2, (0, 2), None])
def test_softmax_functions_take_any_axis_as_keras(rng, axis):
    keras = keras_or_skip()
    x = rng.standard_normal((3, 4, 5)).astype(np.float32) * 4
    for name in ("softmax", "log_softmax"):
        ours = getattr(activations, name)(x, axis=axis)
        with keras_quiet():
            theirs = keras_values(getattr(keras.activations, name)(x, axis=axis))
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-6)


# -- 5. callable-object initializers in configs and files -------------------------------


class _Fill:
    """A callable object without get_config."""

    def __call__(self, shape, dtype=None):
        return np.full(shape, 0.1, "float32")


class _FillWithConfig(_Fill):
    def __init__(self, value=0.1):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, "float32")

    def get_config(self):
        return {"value": self.value}


def test_a_callable_object_without_get_config_gives_keras_type_error(tmp_path):
    model = fastnn.Sequential([fastnn.Input((4,)), layers.Dense(3, kernel_initializer=_Fill())])
    np.testing.assert_array_equal(model.get_weights()[0], np.full((4, 3), 0.1, np.float32))
    for action in (model.get_config, model.to_json, lambda: model.save(tmp_path / "m.keras")):
        with pytest.raises(TypeError, match=r"Cannot serialize object .*get_config\(\)"):
            action()


def test_callable_objects_with_get_config_are_saved_as_keras_saves_them(tmp_path):
    model = fastnn.Sequential(
        [fastnn.Input((4,)), layers.Dense(3, kernel_initializer=_FillWithConfig(0.25))]
    )
    entry = model.layers[0].get_config()["kernel_initializer"]
    assert entry["class_name"] == "_FillWithConfig" and entry["config"] == {"value": 0.25}
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(
        tmp_path / "m.keras", custom_objects={"_FillWithConfig": _FillWithConfig}
    )
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])
    assert isinstance(loaded.layers[0].kernel_initializer.function, _FillWithConfig)


def test_a_keras_initializer_instance_is_saved_under_keras_initializers(tmp_path):
    keras = keras_or_skip()
    with keras_quiet():
        init = keras.initializers.Constant(0.5)
    model = fastnn.Sequential([fastnn.Input((4,)), layers.Dense(3, kernel_initializer=init)])
    entry = model.layers[0].get_config()["kernel_initializer"]
    assert entry == {
        "module": "keras.initializers",
        "class_name": "Constant",
        "config": {"value": 0.5},
        "registered_name": None,
    }
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[0].kernel_initializer, initializers.Constant)
    np.testing.assert_array_equal(loaded.get_weights()[0], np.full((4, 3), 0.5, np.float32))


# -- 6. tf.keras 2's LeakyReLU alpha in configs ------------------------------------------


def test_leaky_relu_from_config_takes_alpha_as_keras():
    keras = keras_or_skip()
    config = {"name": "lr", "trainable": True, "dtype": "float32", "alpha": 0.3}
    with pytest.warns(UserWarning, match="`alpha` is deprecated"):
        ours = layers.LeakyReLU.from_config(config)
    with keras_quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = keras.layers.LeakyReLU.from_config(config)
    assert ours.negative_slope == theirs.negative_slope == 0.3
    assert "alpha" not in ours.get_config()
    with pytest.warns(UserWarning, match="`alpha` is deprecated"):
        back = layers.deserialize({"class_name": "LeakyReLU", "config": config})
    assert back.negative_slope == 0.3


def test_a_tf_keras_2_json_with_leaky_relu_alpha_loads():
    j = json.dumps(
        {
            "class_name": "Sequential",
            "config": {
                "name": "s",
                "layers": [
                    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4]}},
                    {"class_name": "Dense", "config": {"name": "d", "units": 3}},
                    {"class_name": "LeakyReLU", "config": {"name": "lr", "alpha": 0.3}},
                ],
            },
            "keras_version": "2.12.0",
            "backend": "tensorflow",
        }
    )
    with pytest.warns(UserWarning, match="`alpha` is deprecated"):
        model = models.model_from_json(j)
    assert model.layers[-1].negative_slope == 0.3
    x = np.array([[-1.0, 1.0, 2.0, -3.0]], np.float32)
    z = x @ model.get_weights()[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), np.where(z > 0, z, 0.3 * z), rtol=1e-6)


# -- 7. Input(batch_size=...) is kept in the shapes, configs and summary ----------------


def _batch_model(module, functional):
    inputs = module.Input((7,), batch_size=5)
    if functional:
        return module.Model(inputs, module.layers.Dense(3)(inputs))
    return module.Sequential([inputs, module.layers.Dense(3)])


def _batch_facts(model, functional):
    config = model.get_config()
    dense = [entry for entry in config["layers"] if entry["class_name"] == "Dense"][0]
    facts = {
        "input_shape": tuple(model.input_shape),
        "output_shape": tuple(model.output_shape),
        "batch_shape": tuple(config["layers"][0]["config"]["batch_shape"]),
        "build_input_shape": tuple(config.get("build_input_shape") or ()),
        "dense_build_config": tuple(dense.get("build_config", {}).get("input_shape", ())),
        "layer_build_config": tuple(model.layers[-1].get_build_config()["input_shape"]),
    }
    if not functional:  # (Keras's functional model has {"input_shape": None})
        facts["model_build_config"] = tuple(model.get_build_config()["input_shape"])
    return facts


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_an_input_batch_size_is_kept_as_keras_keeps_it(rng, capsys, functional):
    keras = keras_or_skip()
    ours = _batch_model(fastnn, functional)
    with keras_quiet():
        theirs = _batch_model(keras, functional)
        expected = _batch_facts(theirs, functional)
    assert _batch_facts(ours, functional) == expected
    assert expected["input_shape"] == (5, 7) and expected["output_shape"] == (5, 3)
    ours.summary()
    assert "(5, 3)" in capsys.readouterr().out
    # other batch sizes still train and predict, as on Keras's torch backend
    x, y = rng.standard_normal((8, 7)).astype(np.float32), np.zeros((8, 3), np.float32)
    assert ours.predict(x, batch_size=3, verbose=0).shape == (8, 3)
    ours.compile("sgd", "mse")
    ours.fit(x, y, batch_size=4, verbose=0)
    assert ours(x[:2]).shape == (2, 3)
    again = models.model_from_json(ours.to_json())
    assert (again.input_shape, again.output_shape) == ((5, 7), (5, 3))


def test_without_a_batch_size_the_batch_axis_stays_none():
    model = fastnn.Sequential([fastnn.Input((7,)), layers.Dense(3)])
    assert model.input_shape == (None, 7) and model.output_shape == (None, 3)
    assert model.get_config()["layers"][0]["config"]["batch_shape"] == (None, 7)


def test_a_keras_file_with_an_input_batch_size_loads_with_it(tmp_path):
    keras = keras_or_skip()
    with keras_quiet():
        _batch_model(keras, False).save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    assert (loaded.input_shape, loaded.output_shape) == ((5, 7), (5, 3))


# -- 8. small ones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": -1.0},
        {"threshold": -1.0, "max_value": 2.0},
        {"threshold": -1.0, "negative_slope": 0.5},
        {"threshold": -0.75, "negative_slope": 0.5, "max_value": 2.0},
    ],
    ids=str,
)
def test_relu_function_with_a_negative_threshold_matches_keras(kwargs):
    keras = keras_or_skip()
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 3.0], np.float32)
    with keras_quiet():
        expected = keras_values(keras.activations.relu(x, **kwargs))
    ours = activations.relu(x, **kwargs)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, rtol=1e-7)
    with pytest.raises(ValueError, match="threshold of a ReLU layer"):
        layers.ReLU(threshold=-1.0)  # the layer refuses it, as Keras's


def test_count_params_of_an_unbuilt_layer_raises_as_keras():
    keras = keras_or_skip()
    for name, args in (
        ("Dense", (3,)),
        ("BatchNormalization", ()),
        ("Flatten", ()),
        ("Dropout", (0.5,)),
        ("ReLU", ()),
    ):
        ours, theirs = getattr(layers, name)(*args), getattr(keras.layers, name)(*args)
        try:
            expected = theirs.count_params()
        except ValueError as error:
            with pytest.raises(ValueError, match="isn't built") as raised:
                ours.count_params()
            assert str(raised.value).replace("fastnn", "keras") == str(error).replace(
                theirs.name, ours.name
            )
        else:
            assert ours.count_params() == expected
    dense = layers.Dense(3)
    dense.build((None, 4))
    assert dense.count_params() == 15


def test_normalization_statistics_are_none_before_adapt():
    layer = layers.Normalization()
    assert layer.mean is None and layer.variance is None
    layer.adapt(np.arange(8.0).reshape(4, 2))
    np.testing.assert_allclose(layer.mean, [[3.0, 4.0]])
