"""Losses called on arrays as Keras 3 calls them (torch backend as the
reference): instances on 1-D inputs, labels of one rank less or more, shapes
that broadcast, lists and sample weights; the per-sample functions on the
same shapes; `losses.get` on every kind of identifier; and `compile` with
each of them."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import losses


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _to_numpy(value):
    """Keras's result as float64 NumPy (keras.ops.convert_to_numpy; its
    torch backend's np.array(tensor) warns under NumPy 2)."""
    keras = _keras()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)


# class name -> (function name, kind of values it takes)
LOSSES = {
    "MeanSquaredError": ("mean_squared_error", "real"),
    "MeanAbsoluteError": ("mean_absolute_error", "real"),
    "Huber": ("huber", "real"),
    "LogCosh": ("log_cosh", "real"),
    "CosineSimilarity": ("cosine_similarity", "real"),
    "MeanAbsolutePercentageError": ("mean_absolute_percentage_error", "real"),
    "MeanSquaredLogarithmicError": ("mean_squared_logarithmic_error", "positive"),
    "BinaryCrossentropy": ("binary_crossentropy", "binary"),
    "CategoricalCrossentropy": ("categorical_crossentropy", "probabilities"),
    "KLDivergence": ("kl_divergence", "probabilities"),
    "Poisson": ("poisson", "counts"),
    "Hinge": ("hinge", "signs"),
    "SquaredHinge": ("squared_hinge", "signs"),
    "CategoricalHinge": ("categorical_hinge", "one_hot"),
}

# (y_true shape, y_pred shape): what a tutorial passes, and the odd shapes
# Keras takes or refuses; fastnn must take and refuse the same ones.
SHAPES = [
    ((200,), (200,)),  # 1-D: one sample of 200 outputs
    ((6, 1), (6,)),
    ((6,), (6, 1)),
    ((6, 3), (6, 3)),
    ((6, 1), (6, 3)),  # broadcasts for the elementwise losses only
    ((6, 3), (6, 1)),
    ((6, 4, 1), (6, 4)),
    ((6, 4), (6, 4, 1)),
    ((2, 3, 4), (2, 3, 4)),
    ((), ()),
    ((1,), ()),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
]


def _values(rng, kind, shape, is_label):
    if kind == "real":
        return rng.standard_normal(shape) + (0.0 if is_label else 0.1)
    if kind == "positive":
        return rng.uniform(0.1, 3.0, shape)
    if kind == "counts" and is_label:
        return rng.integers(0, 4, shape).astype(np.float64)
    if kind == "counts":
        return rng.uniform(0.2, 3.0, shape)
    if kind == "binary" and is_label:
        return rng.integers(0, 2, shape).astype(np.float64)
    if kind == "binary":
        return rng.uniform(0.05, 0.95, shape)
    if kind == "signs":
        return rng.choice([-1.0, 1.0], shape) if is_label else rng.standard_normal(shape)
    if kind == "one_hot" and is_label:
        return (rng.uniform(0, 1, shape) > 0.5).astype(np.float64)
    if kind == "one_hot":
        return rng.standard_normal(shape)
    return rng.uniform(0.05, 1.0, shape)  # probabilities (renormalised where Keras does)


def _keras_or_error(call):
    """Keras's result as float64 NumPy, or the exception it raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # categorical on one column
            return _to_numpy(call())
    except (ValueError, RuntimeError, IndexError, TypeError) as error:
        return error


@pytest.mark.parametrize("cls_name", sorted(LOSSES))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_an_instance_takes_the_shapes_keras_takes_with_its_value(rng, cls_name, shapes):
    keras = _keras()
    kind = LOSSES[cls_name][1]
    y = _values(rng, kind, shapes[0], True).astype(np.float32)
    p = _values(rng, kind, shapes[1], False).astype(np.float32)
    ours, theirs = getattr(losses, cls_name)(), getattr(keras.losses, cls_name)()
    expected = _keras_or_error(lambda: theirs(y, p))
    if isinstance(expected, Exception):
        with pytest.raises(ValueError):
            ours(y, p)
        return
    value = ours(y, p)
    assert isinstance(value, float)
    assert value == pytest.approx(float(expected), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("cls_name", sorted(LOSSES))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_a_loss_function_takes_the_shapes_keras_takes_with_its_values(rng, cls_name, shapes):
    keras = _keras()
    name, kind = LOSSES[cls_name]
    y = _values(rng, kind, shapes[0], True)
    p = _values(rng, kind, shapes[1], False)
    expected = _keras_or_error(lambda: getattr(keras.losses, name)(y, p))
    if isinstance(expected, Exception):
        with pytest.raises(ValueError):
            getattr(losses, name)(y, p)
        return
    per_sample = getattr(losses, name)(y, p)
    assert np.shape(per_sample) == expected.shape
    np.testing.assert_allclose(per_sample, expected, rtol=1e-6, atol=1e-9)


def test_the_tutorial_calls_bce_and_mse_on_1d_arrays(rng):
    # A Keras tutorial evaluates its predictions of shape (200,) this way.
    keras = _keras()
    y = rng.integers(0, 2, 200).astype(np.float32)
    p = rng.uniform(0.01, 0.99, 200).astype(np.float32)
    for name in ("BinaryCrossentropy", "MeanSquaredError"):
        expected = float(getattr(keras.losses, name)()(y, p))
        assert getattr(losses, name)()(y, p) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "y_shape, weight",
    [
        ((6, 3), None),
        ((6, 3), np.linspace(0.5, 2.0, 6)),
        ((6, 3), np.linspace(0.5, 2.0, 6)[:, None]),
        ((6, 3), 2.5),
        ((6, 3), np.linspace(0.5, 2.0, 18).reshape(6, 3)),  # per output: refused
        ((6, 3, 2), np.linspace(0.5, 2.0, 18).reshape(6, 3)),  # per position
        ((6,), np.linspace(0.5, 2.0, 6)),  # 1-D: the one loss times the mean weight
        ((6, 1), np.linspace(0.5, 2.0, 6)),
        ((2, 3, 4), np.linspace(0.5, 2.0, 2)[:, None]),
    ],
    ids=str,
)
@pytest.mark.parametrize("cls_name", ["MeanSquaredError", "BinaryCrossentropy", "Huber"])
def test_sample_weight_weighs_as_keras(rng, cls_name, y_shape, weight):
    keras = _keras()
    kind = LOSSES[cls_name][1]
    y = _values(rng, kind, y_shape, True).astype(np.float32)
    p = _values(rng, kind, y_shape, False).astype(np.float32)
    expected = _keras_or_error(lambda: getattr(keras.losses, cls_name)()(y, p, weight))
    if isinstance(expected, Exception):
        with pytest.raises(ValueError):
            getattr(losses, cls_name)()(y, p, sample_weight=weight)
        return
    got = getattr(losses, cls_name)()(y, p, sample_weight=weight)
    assert got == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize(
    "y_true, y_pred",
    [
        (np.array([2, 0, 1]), np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]])),
        (np.array([[2], [0], [1]]), np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]])),
        (np.array(1), np.array([0.2, 0.5, 0.3])),  # one sample, 1-D prediction
        (np.array([[1, 0], [2, 2]]), np.full((2, 2, 3), 1 / 3) + np.arange(3) * 0.1),
    ],
    ids=["ids", "column_of_ids", "one_sample", "rank_3"],
)
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_takes_the_label_shapes_keras_takes(
    y_true, y_pred, from_logits
):
    keras = _keras()
    kwargs = {"from_logits": from_logits}
    weight = np.linspace(0.5, 1.5, y_true.size).reshape(y_true.shape) if y_true.ndim else None
    expected = keras.losses.SparseCategoricalCrossentropy(**kwargs)(
        y_true, y_pred.astype(np.float32), sample_weight=weight
    )
    got = losses.SparseCategoricalCrossentropy(**kwargs)(y_true, y_pred, sample_weight=weight)
    assert got == pytest.approx(float(expected), rel=1e-6)
    per_sample = losses.sparse_categorical_crossentropy(y_true, y_pred, **kwargs)
    theirs = _to_numpy(keras.losses.sparse_categorical_crossentropy(y_true, y_pred, **kwargs))
    np.testing.assert_allclose(per_sample, theirs, rtol=1e-6)


def test_lists_and_arguments_reach_the_function():
    keras = _keras()
    y, p = [[0.0, 1.0], [1.0, 1.0]], [[0.2, 0.7], [0.9, 0.4]]
    cases = [
        ("BinaryCrossentropy", {"label_smoothing": 0.2}),
        ("BinaryCrossentropy", {"from_logits": True}),
        ("CategoricalCrossentropy", {"label_smoothing": 0.1, "from_logits": True}),
        ("Huber", {"delta": 0.3}),
        ("MeanSquaredError", {}),
    ]
    for name, kwargs in cases:
        expected = float(getattr(keras.losses, name)(**kwargs)(y, p))
        assert getattr(losses, name)(**kwargs)(y, p) == pytest.approx(expected, rel=1e-6), name


def test_an_empty_batch_gives_zero():
    assert losses.MeanSquaredError()(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


def test_non_numeric_inputs_raise_type_error():
    with pytest.raises(TypeError, match="y_true must have a real numeric dtype"):
        losses.MeanSquaredError()([["a"]], [[1.0]])
    with pytest.raises(TypeError, match="sample_weight must have a real numeric dtype"):
        losses.MeanSquaredError()([[1.0]], [[1.0]], sample_weight=["x"])


def test_a_subclass_overriding_call_is_reduced_as_keras():
    class Doubled(losses.Loss):
        def call(self, y_true, y_pred):
            return 2.0 * fastnn.ops.mean(fastnn.ops.abs(y_true - y_pred), axis=-1)

    value = Doubled()([[0.0, 2.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 3.0]], sample_weight=[1.0, 3.0])
    assert value == pytest.approx((2.0 * 1.0 + 3.0 * 2.0 * 1.0) / 2)
    with pytest.raises(NotImplementedError, match="overrides call"):
        losses.Loss()([[1.0]], [[1.0]])


def test_compile_refuses_a_loss_it_cannot_train_with():
    """A subclass overriding call() (Keras differentiates it; fastnn would
    silently train the parent's C++ loss) and a direct Loss subclass are
    refused by compile, naming the class; the model keeps its loss."""
    from fastnn import layers, models

    class DoubleMSE(losses.MeanSquaredError):
        def call(self, y_true, y_pred):
            return 2.0 * super().call(y_true, y_pred)

    class Own(losses.Loss):
        def call(self, y_true, y_pred):
            return fastnn.ops.mean(fastnn.ops.abs(y_true - y_pred), axis=-1)

    assert DoubleMSE()([[0.0]], [[1.0]]) == 2.0  # still callable
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    for loss in (DoubleMSE(), DoubleMSE, Own(), Own):
        with pytest.raises(
            NotImplementedError, match=r"fastnn cannot train with the Loss subclass (DoubleMSE|Own)"
        ):
            model.compile("sgd", loss)
        assert model.loss == "mse"


def test_both_python_loss_refusals_are_one_type_with_one_reason_and_the_alternatives():
    """A loss function and a Loss subclass with its own call() are refused
    alike: NotImplementedError (as a custom layer), the same reason and the
    same list of what fastnn trains with instead."""
    from fastnn import layers, models

    def my_loss(y_true, y_pred):
        return (y_true - y_pred) ** 2

    class MyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return (y_true - y_pred) ** 2

    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    messages = []
    for loss in (my_loss, MyLoss()):
        with pytest.raises(Exception) as refused:
            model.compile("sgd", loss)
        assert type(refused.value) is NotImplementedError
        messages.append(str(refused.value))
    function, subclass = messages
    assert function.startswith("fastnn cannot train with the Python loss function 'my_loss': ")
    assert subclass.startswith("fastnn cannot train with the Loss subclass MyLoss ")
    reason = "fastnn has no automatic differentiation of Python code"
    instead = "Use a built-in loss instead: a Keras name ('mse', "
    for message in messages:
        assert reason in message and instead in message and "compile(metrics=[" in message
    assert (
        function.split(": ", 1)[1].split("; the ")[0]
        == subclass.split(": ", 1)[1].split("; the ")[0]
    )
    # what the messages offer works: a built-in loss trains, the refused ones are metrics
    model.compile("sgd", losses.Huber(delta=0.5), metrics=[my_loss, MyLoss(name="mine")])
    logs = model.evaluate(np.ones((4, 3)), np.zeros((4, 2)), verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "mine", "my_loss"] and logs["mine"] == logs["my_loss"]


# -- losses.get ------------------------------------------------------------------------


def _keras_ids():
    keras = _keras()
    from keras.src.losses import ALL_OBJECTS_DICT

    return keras, ALL_OBJECTS_DICT


def test_get_returns_what_keras_get_returns_for_each_string_id():
    keras, ids = _keras_ids()
    for identifier in sorted(set(ids) - {"LossFunctionWrapper"}):  # Keras's needs an `fn`
        theirs = keras.losses.get(identifier)
        if isinstance(theirs, keras.losses.Loss):
            name = type(theirs).__name__
            if name == "Loss" or hasattr(losses, name):
                assert type(losses.get(identifier)).__name__ == name, identifier
            else:  # BinaryFocalCrossentropy, Dice ...: not in fastnn
                with pytest.raises(ValueError, match="Could not interpret loss identifier"):
                    losses.get(identifier)
        else:
            function = getattr(losses, theirs.__name__, None)
            if function is None:  # ctc, dice ...
                with pytest.raises(ValueError, match="Could not interpret loss identifier"):
                    losses.get(identifier)
            else:
                assert losses.get(identifier) is function, identifier


def test_get_on_configs_callables_and_none():
    keras = _keras()
    assert losses.get(None) is None and keras.losses.get(None) is None
    for identifier in [
        {"class_name": "Huber", "config": {"delta": 2.0, "name": "h"}},
        {"class_name": "BinaryCrossentropy", "config": {"from_logits": True}},
        {"class_name": "MeanSquaredError"},
        keras.losses.serialize(keras.losses.CategoricalCrossentropy(label_smoothing=0.1)),
    ]:
        theirs, ours = keras.losses.get(identifier), losses.get(identifier)
        assert type(ours).__name__ == type(theirs).__name__
        assert ours.name == theirs.name
        for key, value in theirs._fn_kwargs.items():
            assert key == "axis" or ours._fn_kwargs()[key] == value, (identifier, key)
    for identifier in [
        keras.losses.serialize(keras.losses.mean_squared_error),
        {"class_name": "mean_squared_error", "config": {}},
    ]:
        assert keras.losses.get(identifier) is keras.losses.mean_squared_error
        assert losses.get(identifier) is losses.mean_squared_error
    instance = losses.Poisson()
    assert losses.get(instance) is instance
    assert type(losses.get(losses.Poisson)) is losses.Poisson
    assert losses.get(losses.poisson) is losses.poisson

    def custom(y_true, y_pred):
        return y_pred

    assert losses.get(custom) is custom and keras.losses.get(custom) is custom
    for bad in [1, [1], "nope", {"config": {}}, {"class_name": "Nope"}]:
        with pytest.raises(ValueError, match="Could not interpret loss identifier"):
            losses.get(bad)


def test_get_keeps_the_tf_keras_ids_keras_3_dropped():
    assert losses.get("logcosh") is losses.log_cosh
    assert losses.get("huber_loss") is losses.huber
    assert losses.get("kullback_leibler_divergence") is losses.kl_divergence


@pytest.mark.parametrize(
    "identifier",
    [
        "mse",
        "MSE",
        "mean_squared_error",
        "MeanSquaredError",
        "huber_loss",
        losses.MeanSquaredError,
        losses.mean_squared_error,
        {"class_name": "MeanSquaredError", "config": {}},
        {"module": "builtins", "class_name": "function", "config": "mean_squared_error"},
    ],
    ids=str,
)
def test_compile_takes_every_kind_of_identifier_get_takes(rng, identifier):
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    model = fastnn.Sequential([fastnn.Input((3,)), fastnn.layers.Dense(2)])
    model.compile("sgd", loss=identifier)
    model.compile("sgd", loss=losses.get(identifier))
    loss = model.evaluate(x, y, verbose=0)
    expected = losses.MeanSquaredError()(y, model.predict(x, verbose=0))
    if losses.get(identifier) is losses.huber or identifier == "huber_loss":
        expected = losses.Huber()(y, model.predict(x, verbose=0))
    assert loss == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("reduction", [None, "none"])
def test_per_sample_reductions_are_refused_in_training(reduction):
    # Keras returns per-sample losses, which no model trains with (Keras's
    # torch backend fails on backward); compile says so before any change.
    model = fastnn.Sequential([fastnn.Input((2,)), fastnn.layers.Dense(1)])
    with pytest.raises(ValueError, match="per-sample losses, which a model cannot train with"):
        model.compile(optimizer="sgd", loss=losses.MeanSquaredError(reduction=reduction))


def test_a_loss_takes_torch_tensors_as_keras_does():
    torch = pytest.importorskip("torch")
    y = torch.tensor([[0.0, 1.0]])
    p = torch.tensor([[0.5, 0.5]], requires_grad=True)
    assert losses.MeanSquaredError()(y, p) == pytest.approx(0.25)
    assert losses.mean_squared_error(y, p.bfloat16()).tolist() == [0.25]
    labels = torch.tensor([1])
    assert losses.sparse_categorical_crossentropy(labels, p).tolist() == pytest.approx([0.693147])
