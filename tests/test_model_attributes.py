"""Model and layer attributes Keras scripts read: input_shape/output_shape,
losses (the regularization penalties), to_json/model_from_json, dtype, the
callbacks' `verbose` param as given, float32 log values, and the hints of
common shape and label mistakes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fastnn
from fastnn import Input, Model, callbacks, layers, models, regularizers


def mlp(l2=0.0, name=None):
    model = models.Sequential(
        [
            Input(shape=(5,)),
            layers.Dense(
                4, activation="relu", kernel_regularizer=regularizers.l2(l2) if l2 else None
            ),
            layers.Dense(3, activation="softmax", bias_regularizer=regularizers.l1(0.5)),
        ],
        name=name,
    )
    model.set_weights([np.linspace(-1, 1, w.size).reshape(w.shape) for w in model.weights])
    return model


def test_input_and_output_shapes():
    model = mlp()
    assert model.input_shape == (None, 5) and model.output_shape == (None, 3)
    unbuilt = models.Sequential([layers.Dense(2)])
    with pytest.raises(AttributeError, match="no defined input"):
        _ = unbuilt.input_shape
    with pytest.raises(AttributeError, match="not built"):
        _ = unbuilt.output_shape
    assert layers.Dense(2).dtype == "float32" and Input(shape=(2,)).dtype == "float32"


def test_losses_are_the_penalties_of_the_trainable_weights():
    model = mlp(l2=0.1)
    kernel, bias = model.weights[0].astype(np.float64), model.weights[3].astype(np.float64)
    expected = [0.1 * float((kernel**2).sum()), 0.5 * float(np.abs(bias).sum())]
    assert model.losses == pytest.approx(expected, rel=1e-6)
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.zeros((2, 5), np.float32)
    y = np.array([0, 1])
    # the evaluated loss is the data loss plus their sum
    data_loss = model.evaluate(x, y, verbose=0) - sum(model.losses)
    assert data_loss == pytest.approx(
        -np.log(model.predict(x, verbose=0)[[0, 1], [0, 1]]).mean(), rel=1e-5
    )
    model.layers[0].trainable = False
    assert model.losses == pytest.approx(expected[1:], rel=1e-6)
    assert mlp().losses == pytest.approx([0.5 * float(np.abs(mlp().weights[3]).sum())], rel=1e-6)
    assert models.Sequential([layers.Dense(2)]).losses == []


def test_to_json_and_model_from_json_round_trip():
    model = mlp(name="net")
    text = model.to_json(indent=2)
    config = json.loads(text)
    assert config["class_name"] == "Sequential" and config["config"]["name"] == "net"
    clone = models.model_from_json(text)
    assert [type(layer).__name__ for layer in clone.layers] == ["Dense", "Dense"]
    assert clone.input_shape == (None, 5)
    inputs = Input(shape=(5,))
    functional = Model(inputs, layers.Dense(2)(inputs), name="f")
    again = models.model_from_json(functional.to_json())
    assert isinstance(again, Model) and again.name == "f"
    with pytest.raises(ValueError, match="JSON string"):
        models.model_from_json("{not json")
    with pytest.raises(ValueError, match="'Conv' model"):
        models.model_from_json(json.dumps({"class_name": "Conv", "config": {}}))


def test_callback_params_keep_verbose_as_given():
    seen = {}

    class Spy(callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["fit"] = self.params["verbose"]

        def on_test_begin(self, logs=None):
            seen.setdefault("evaluate", self.params["verbose"])

    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.zeros((4, 5), np.float32), np.zeros(4, np.int64)
    model.fit(x, y, verbose=0, callbacks=[Spy()])
    assert seen["fit"] == 0
    model.fit(x, y, verbose="auto", callbacks=[Spy()])
    assert seen["fit"] == "auto"
    model.evaluate(x, y, verbose=2, callbacks=[Spy()])
    assert seen["evaluate"] == 2


def test_logged_values_are_float32_as_keras():
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.zeros((60, 5), np.float32)
    predicted = int(model.predict(x[:1], verbose=0).argmax())  # the same for every row
    y = np.array([predicted] * 31 + [(predicted + 1) % 3] * 29)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["accuracy"] == float(np.float32(31 / 60)) == 0.5166666507720947
    assert logs["accuracy"] != 31 / 60
    assert logs["loss"] == float(np.float32(logs["loss"]))


def test_mistake_hints():
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"x\[None\]"):
        model.predict(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=r"label 7 at index 1 is not a class id in \[0, 3\)"):
        model.fit(np.zeros((2, 5), np.float32), np.array([0, 7]), verbose=0)
    with pytest.raises(ValueError, match=r"label 2.5 at index 0"):
        model.fit(np.zeros((2, 5), np.float32), np.array([2.5, 0]), verbose=0)
    assert fastnn.__version__


def test_weights_are_keras_style_variables_viewing_the_buffer():
    import copy
    import pickle

    model = mlp(name="net")
    kernel = model.weights[0]
    assert isinstance(kernel, layers.Variable) and isinstance(kernel, np.ndarray)
    assert (kernel.name, kernel.shape, kernel.dtype) == ("kernel", (5, 4), np.float32)
    assert kernel.path == f"net/{model.layers[0].name}/kernel"
    assert model.weights[1].name == "bias" and model.layers[0].bias.name == "bias"
    assert repr(kernel).startswith(f"<Variable path=net/{model.layers[0].name}/kernel")
    # a view: numpy() copies, assign writes through, arithmetic gives plain arrays
    snapshot = kernel.numpy()
    assert type(snapshot) is np.ndarray and type(kernel * 2) is np.ndarray
    kernel.assign(np.full((5, 4), 0.5))
    np.testing.assert_array_equal(model.get_weights()[0], np.full((5, 4), 0.5, np.float32))
    assert type(model.get_weights()[0]) is np.ndarray
    with pytest.raises(ValueError, match="must match"):
        kernel.assign(np.zeros(3))
    assert type(pickle.loads(pickle.dumps(kernel))) is np.ndarray
    np.testing.assert_array_equal(copy.deepcopy(kernel), kernel)
    model.layers[0].trainable = False
    assert kernel.trainable is False and model.weights[2].trainable is True
    inputs = Input(shape=(2,))
    functional = Model(inputs, layers.Dense(3, name="d")(inputs))
    assert [w.path for w in functional.weights] == ["d/kernel", "d/bias"]


def test_layer_activation_is_the_name_and_a_callable():
    dense = layers.Dense(3, activation="relu")
    assert dense.activation == "relu" and dense.activation.__name__ == "relu"
    np.testing.assert_array_equal(dense.activation(np.array([-1.0, 2.0])), [0.0, 2.0])
    assert layers.Dense(2).activation.__name__ == "linear"
    assert json.loads(json.dumps(dense.get_config()))["activation"] == "relu"
    assert layers.Activation("tanh").activation.__name__ == "tanh"


def test_variable_aliases_and_updates():
    model = mlp()
    assert [v.path for v in model.variables] == [w.path for w in model.weights]
    assert len(model.trainable_variables) == 4 and model.non_trainable_variables == []
    layer = model.layers[0]
    assert len(layer.variables) == 2 and len(layer.trainable_variables) == 2
    bias = layer.bias
    bias.assign_add(np.ones(4))
    bias.assign_sub(np.full(4, 0.25))
    np.testing.assert_allclose(model.get_weights()[1], mlp().get_weights()[1] + 0.75, rtol=1e-6)
    assert type(bias.value) is np.ndarray and np.shares_memory(bias.value, model.weights[1])
    fastnn.utils.clear_session()  # keras.utils.clear_session, as in Keras 3
    assert layers.Dense(1).name == "dense"


def test_keras_only_layer_options_at_their_defaults():
    dense = layers.Dense(
        3, activity_regularizer=None, kernel_constraint=None, bias_constraint=None, dtype="float32"
    )
    assert dense.units == 3
    with pytest.raises(ValueError, match="activity_regularizer=.*not supported"):
        layers.Activation("relu", activity_regularizer="l2")
    with pytest.raises(ValueError, match="dtype='float16' is not supported"):
        layers.Dense(3, dtype="float16")
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Dense"):
        layers.Dense(3, bogus=1)


def test_a_model_called_on_a_symbolic_input_calls_its_layers():
    """(Functional graphs through a model: tests/test_shared_layers.py.)"""
    model = mlp()
    inputs = Input(shape=(5,))
    out = model(inputs)
    assert out.shape == model.output_shape and out._layer is model.layers[-1]
    with pytest.raises(ValueError, match=r"takes inputs of shape \(None, 5\), but is called on"):
        model(Input(shape=(6,)))


def test_model_dtype_and_layer_path_as_keras():
    # Keras 3.15: model.dtype "float32"; layer.path "<sequential>/<layer>" in a
    # Sequential, the name in a functional model, None outside a model and
    # for the InputLayer.
    seq = models.Sequential([Input((3,)), layers.Dense(2, name="x")], name="sq")
    assert seq.dtype == "float32"
    assert seq.layers[0].path == "sq/x" and seq.weights[0].path == "sq/x/kernel"
    inputs = Input((5,), name="inp")
    functional = Model(inputs, layers.Dense(2, name="d2")(inputs), name="fm")
    assert [layer.path for layer in functional.layers] == [None, "d2"]
    assert functional.weights[0].path == "d2/kernel" and functional.dtype == "float32"
    assert layers.Dense(3, name="free").path is None


def test_metrics_get_metrics_result_and_reset_metrics_as_keras():
    # Keras 3.15: [] before compile; the "loss" tracker, then "compile_metrics"
    # (holding the compiled metrics) when there are some; the values are
    # the last run's; reset_metrics zeroes them.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    model = models.Sequential([Input((3,)), layers.Dense(1)])
    assert model.metrics == []
    model.compile("sgd", "mse")
    assert [m.name for m in model.metrics] == ["loss"]
    assert model.get_metrics_result() == {"loss": 0.0}
    model.compile("sgd", "mse", metrics=["mae"])
    tracker, compiled = model.metrics
    assert (tracker.name, compiled.name) == ("loss", "compile_metrics")
    assert [m.name for m in compiled.metrics] == ["mae"]
    history = model.fit(x, y, epochs=2, verbose=0)
    last = {key: values[-1] for key, values in history.history.items()}
    assert model.get_metrics_result() == last
    assert tracker.result() == last["loss"] and compiled.result() == {"mae": last["mae"]}
    logs = model.evaluate(x[:5], y[:5], verbose=0, return_dict=True)
    assert model.get_metrics_result() == logs
    model.reset_metrics()
    assert model.get_metrics_result() == {"loss": 0.0, "mae": 0.0}
    # EarlyStopping's mode="auto" reads the compiled metrics' direction through them
    stopper = callbacks.EarlyStopping(monitor="val_mae", patience=0)
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=[stopper])
    assert stopper.monitor_op is np.less


def test_unbuilt_dense_has_no_kernel_or_bias_attribute_as_keras():
    dense = layers.Dense(2)
    assert not hasattr(dense, "kernel") and not hasattr(dense, "bias")
    with pytest.raises(AttributeError, match="'Dense' object has no attribute 'kernel'"):
        dense.kernel  # noqa: B018
    models.Sequential([Input((3,)), dense])
    assert dense.kernel.shape == (3, 2) and dense.bias.shape == (2,)
    assert models.Sequential([Input((3,)), layers.Dense(2, use_bias=False)]).layers[0].bias is None


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda v: v.assign(np.full((5, 4), np.nan)), ValueError, "NaN or Inf"),
        (lambda v: v.assign(np.full((5, 4), 1e39)), ValueError, "NaN or Inf"),
        (lambda v: v.assign(np.full((5, 4), None)), TypeError, "must be numeric, got dtype object"),
        (lambda v: v.assign(np.full((5, 4), "1")), TypeError, "must be numeric"),
        (lambda v: v.assign_add(np.full((5, 4), None)), TypeError, "assign_add"),
        (lambda v: v.assign_sub(np.full((5, 4), np.inf)), ValueError, "NaN or Inf"),
        (lambda v: v.assign(np.ones((5, 4), complex)), TypeError, "complex"),
    ],
)
def test_variable_assign_refuses_what_set_weights_refuses(call, error, match):
    """assign wrote NaN/Inf (its docstring promised finite values), turned None
    into NaN, and said 'could not convert string to float' for strings."""
    model = mlp()
    before = model.get_weights()
    with pytest.raises(error, match=match):
        call(model.weights[0])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_compute_output_shape_takes_the_batch_axis_as_keras():
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    cases = [
        (lambda m: m.layers.Dense(3), (None, 5)),
        (lambda m: m.layers.Dense(7), (11, 2)),
        (lambda m: m.layers.Flatten(), (None, 4, 5)),
        (lambda m: m.layers.Reshape((2, -1)), (3, 12)),
        (lambda m: m.layers.Dropout(0.5), (None, 13)),
        (lambda m: m.layers.BatchNormalization(), (None, 6)),
        (
            lambda m: m.Sequential([m.layers.Flatten(), m.layers.Dense(4), m.layers.Dense(2)]),
            (None, 3, 3),
        ),
        (lambda m: m.Sequential([m.layers.Dense(4), m.layers.Softmax()]), (8, 9)),
    ]
    for make, shape in cases:
        with keras_quiet():
            expected = tuple(make(keras).compute_output_shape(shape))
        assert make(fastnn).compute_output_shape(shape) == expected, shape
        assert make(fastnn).compute_output_shape(list(shape)) == expected
    x = Input((5,))
    model = Model(x, layers.Dense(2, name="head")(layers.Dense(3)(x)))
    assert model.compute_output_shape((None, 5)) == (None, 2)
    assert model.output_names == ["head"]
    with pytest.raises(ValueError, match="add a Flatten layer"):
        layers.Dense(3).compute_output_shape((None, 4, 5))
    with pytest.raises(ValueError, match="batch axis first"):
        layers.Dense(3).compute_output_shape((5,))
    with pytest.raises(ValueError, match="expected a shape tuple"):
        layers.Dense(3).compute_output_shape("abc")
