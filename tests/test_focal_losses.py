"""BinaryFocalCrossentropy / CategoricalFocalCrossentropy (Keras 3.15's
formulas, keras/src/losses/losses.py; the categorical one with a number or
Keras's list of one alpha per class) and Keras's `reduction` on loss
objects: the C++ kernel's value and gradient against torch autograd in
float64 and against Keras 3 (torch backend), on every ISA and thread count,
in training against Keras's trajectory, and in configs and saved files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import _core, losses

EPS = 1e-7
ONE_MINUS_EPS = float(np.float32(1 - EPS))  # Keras's float32 upper clip
BFCE, CFCE = "binary_focal_crossentropy", "categorical_focal_crossentropy"
SHAPES = [(1, 1), (1, 3), (2, 2), (7, 3), (13, 10), (5, 1), (31, 2)]
OPTIONS = [
    {},
    {"from_logits": True},
    {"label_smoothing": 0.1},
    {"gamma": 0.0},
    {"gamma": 3.5, "alpha": 0.6},
    {"gamma": 1.0, "from_logits": True, "label_smoothing": 0.3},
]
BALANCED = [{"apply_class_balancing": True}, {"apply_class_balancing": True, "alpha": 0.9}]


def class_alpha(c: int, **options) -> list:
    """Options with Keras's per-class alpha for c classes (0 and > 1 among
    them when there are enough): alpha_j = 0.25 * j + 0.1, the third 0."""
    alpha = [0.25 * j + 0.1 for j in range(c)]
    if c > 2:
        alpha[2] = 0.0
    return {**options, "alpha": alpha}


def per_class_options(c: int) -> list:
    return [
        class_alpha(c),
        class_alpha(c, from_logits=True, gamma=1.5),
        class_alpha(c, label_smoothing=0.2, gamma=0.0),
    ]


def case(rng, kind, n, c, from_logits=False, soft=False):
    if kind == BFCE:
        y = (rng.random((n, c)) < 0.4).astype(np.float32)
    else:
        y = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]
    if soft:
        y = rng.random((n, c)).astype(np.float32)
    if from_logits:
        p = (rng.normal(size=(n, c)) * 3).astype(np.float32)
    else:
        p = rng.uniform(0.01, 0.99, (n, c)).astype(np.float32)
    w = rng.uniform(0.0, 2.0, n).astype(np.float32)
    return y, p, w


def torch_focal(kind, y, p, w, options):
    """Keras's formula in float64 torch: (sum_over_batch_size value, d / d p)."""
    torch = pytest.importorskip("torch")
    t = torch.tensor(y, dtype=torch.float64)
    out = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    ls = options.get("label_smoothing", 0.0)
    alpha, gamma = options.get("alpha", 0.25), options.get("gamma", 2.0)
    if isinstance(alpha, list):  # Keras's float32 tensor, broadcast over the last axis
        alpha = torch.tensor(np.float32(alpha), dtype=torch.float64)
    logits = options.get("from_logits", False)
    if kind == BFCE:
        t = t * (1 - ls) + 0.5 * ls if ls else t
        q = torch.sigmoid(out) if logits else out
        c = torch.clip(q, EPS, ONE_MINUS_EPS)
        bce = -(t * torch.log(c) + (1 - t) * torch.log(1 - c))
        focal = torch.pow(1 - (t * q + (1 - t) * (1 - q)), gamma) * bce
        if options.get("apply_class_balancing"):
            focal = (t * alpha + (1 - t) * (1 - alpha)) * focal
        per = focal.mean(-1)
    else:
        t = t * (1 - ls) + ls / t.shape[-1] if ls else t
        q = torch.softmax(out, -1) if logits else out
        c = torch.clip(q / q.sum(-1, keepdim=True), EPS, ONE_MINUS_EPS)
        per = (alpha * torch.pow(1 - c, gamma) * (-t * torch.log(c))).sum(-1)
    weights = torch.ones(len(y), dtype=torch.float64) if w is None else torch.tensor(w).double()
    loss = (per * weights).sum() / len(y)
    loss.backward()
    return float(loss.detach()), out.grad.numpy()


def kernel(kind, y, p, w, options):
    return fastnn.ops.loss(y, p, kind, sample_weight=w, **options)


# -- the kernel against torch autograd -------------------------------------------------


@pytest.mark.parametrize("kind", [BFCE, CFCE])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_value_and_gradient_match_torch_autograd(isa, rng, kind, shape, weighted):
    options = OPTIONS + (BALANCED if kind == BFCE else per_class_options(shape[1]))
    for opts in options:
        y, p, w = case(rng, kind, *shape, from_logits=opts.get("from_logits", False))
        w = w if weighted else None
        value, grad = kernel(kind, y, p, w, opts)
        expected, expected_grad = torch_focal(kind, y, p, w, opts)
        assert value == pytest.approx(expected, rel=1e-6, abs=1e-9), opts
        scale = np.abs(expected_grad).max() + 1e-30
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6 * scale, err_msg=opts)


@pytest.mark.parametrize("kind", [BFCE, CFCE])
def test_soft_targets_match_torch_autograd(rng, kind):
    for opts in ({}, {"from_logits": True, "gamma": 1.5}):
        y, p, w = case(rng, kind, 9, 4, from_logits=opts.get("from_logits", False), soft=True)
        value, grad = kernel(kind, y, p, w, opts)
        expected, expected_grad = torch_focal(kind, y, p, w, opts)
        assert value == pytest.approx(expected, rel=1e-6)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-9)


def test_gamma_zero_is_plain_cross_entropy(rng):
    y, p, w = case(rng, BFCE, 11, 3)
    focal = kernel(BFCE, y, p, w, {"gamma": 0.0})
    plain = kernel("binary_crossentropy", y, p, w, {})
    assert focal[0] == pytest.approx(plain[0], rel=1e-12)
    np.testing.assert_allclose(focal[1], plain[1], rtol=1e-6)
    y, p, w = case(rng, CFCE, 11, 5)
    focal = kernel(CFCE, y, p, w, {"gamma": 0.0, "alpha": 1.0, "label_smoothing": 0.2})
    plain = kernel("categorical_crossentropy", y, p, w, {"label_smoothing": 0.2})
    assert focal[0] == pytest.approx(plain[0], rel=1e-12)
    np.testing.assert_allclose(focal[1], plain[1], rtol=1e-6, atol=1e-9)
    assert losses.BinaryFocalCrossentropy(gamma=0.0)(y, p) == pytest.approx(
        losses.BinaryCrossentropy()(y, p), rel=1e-7
    )


@pytest.mark.parametrize("kind", [BFCE, CFCE])
def test_extreme_probabilities_and_saturated_logits_stay_finite(isa, kind):
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1]], np.float32)
    if kind == BFCE:
        y[2] = [0, 1, 1]
    p = np.array([[0, 1, 1], [1, 0, 0], [0.5, 0, 1], [1e-30, 1 - 1e-8, 1]], np.float32)
    logits = np.array([[-1e4, 1e4, 50], [88, -88, 0], [1e30, -1e30, 17], [-17, 0, 30]], np.float32)
    for pred, opts in ((p, {}), (logits, {"from_logits": True}), (p, {"gamma": 0.0})):
        for o in (opts, {**opts, "label_smoothing": 0.2}):
            value, grad = kernel(kind, y, pred, None, o)
            assert np.isfinite(value) and np.isfinite(grad).all(), (pred, o)
            expected, expected_grad = torch_focal(kind, y, pred, None, o)
            assert value == pytest.approx(expected, rel=1e-6, abs=1e-12)
            np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("kind", [BFCE, CFCE])
def test_every_isa_and_thread_count_give_the_same_bits(threads, rng, kind):
    # 4096 x 10 outputs: past the size where the rows split over the threads
    y, p, w = case(rng, kind, 4096, 10)
    z = (rng.normal(size=p.shape) * 4).astype(np.float32)
    previous = _core.active_isa()
    results = []
    try:
        for isa in _core.available_isas():
            _core.set_isa(isa)
            for n in (1, 2):
                fastnn.set_num_threads(n)
                opts = class_alpha(10) if kind == CFCE else {}
                results.append(
                    [
                        kernel(kind, y, p, w, {}),
                        kernel(kind, y, z, w, {"from_logits": True}),
                        kernel(kind, y, p, w, opts),
                    ]
                )
    finally:
        _core.set_isa(previous)
    for other in results[1:]:
        for (v0, g0), (v1, g1) in zip(results[0], other):
            assert v0 == v1
            np.testing.assert_array_equal(g0, g1)


# -- against Keras 3 -------------------------------------------------------------------


def _numpy(tensor):
    return tensor.detach().cpu().numpy()


@pytest.mark.parametrize("kind", [BFCE, CFCE])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean", None, "none"])
def test_loss_objects_match_keras(rng, kind, reduction):
    keras = keras_or_skip()
    name = "BinaryFocalCrossentropy" if kind == BFCE else "CategoricalFocalCrossentropy"
    for shape in [(1, 1), (7, 3), (13, 10)]:
        options = OPTIONS + (BALANCED if kind == BFCE else per_class_options(shape[1]))
        for opts in options:
            y, p, w = case(rng, kind, *shape, from_logits=opts.get("from_logits", False))
            for sw in (None, w):
                ours = getattr(losses, name)(reduction=reduction, **opts)(y, p, sample_weight=sw)
                with warnings.catch_warnings():  # Keras warns of 1 class (Syntax-, UserWarning)
                    warnings.simplefilter("ignore", SyntaxWarning)
                    warnings.simplefilter("ignore", UserWarning)
                    keras_loss = getattr(keras.losses, name)(reduction=reduction, **opts)
                    theirs = _numpy(keras_loss(y, p, sample_weight=sw))
                # Keras computes in float32 (a sigmoid's 1 - p of logits ~8 loses digits)
                rtol = 2e-4 if opts.get("from_logits") else 2e-6
                np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-7, err_msg=opts)
                assert np.shape(ours) == theirs.shape
                if reduction in (None, "none"):
                    assert ours.dtype == np.float32
                else:
                    assert isinstance(ours, float)


@pytest.mark.parametrize("kind", [BFCE, CFCE])
def test_functions_match_keras(rng, kind):
    keras = keras_or_skip()
    for opts in OPTIONS + (per_class_options(4) if kind == CFCE else []):
        y, p, _ = case(rng, kind, 6, 4, from_logits=opts.get("from_logits", False))
        ours = getattr(losses, kind)(y, p, **opts)
        theirs = _numpy(getattr(keras.losses, kind)(y, p, **opts))
        np.testing.assert_allclose(ours, theirs, rtol=2e-4 if opts else 2e-6, atol=1e-7)
    assert losses.get(kind) is getattr(losses, kind)


def test_keras_docstring_examples():
    per = losses.binary_focal_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], gamma=2)
    np.testing.assert_allclose(per, [0.330, 0.206], atol=1e-3)
    per = losses.categorical_focal_crossentropy(
        [[0, 1, 0], [0, 0, 1]], [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]
    )
    np.testing.assert_allclose(per, [2.63401289e-04, 6.75912094e-01], rtol=1e-6)


LOSS_CASES = {
    "MeanSquaredError": "regression",
    "MeanAbsoluteError": "regression",
    "Huber": "regression",
    "LogCosh": "regression",
    "MeanAbsolutePercentageError": "regression",
    "MeanSquaredLogarithmicError": "positive",
    "Poisson": "positive",
    "KLDivergence": "probs",
    "BinaryCrossentropy": "probs",
    "CategoricalCrossentropy": "onehot",
    "SparseCategoricalCrossentropy": "sparse",
    "Hinge": "regression",
    "SquaredHinge": "regression",
    "CategoricalHinge": "onehot",
    "CosineSimilarity": "regression",
    "BinaryFocalCrossentropy": "probs",
    "CategoricalFocalCrossentropy": "onehot",
}
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None, "none"]


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_loss_class_reduces_as_keras(rng, name, reduction):
    keras = keras_or_skip()
    n, c = 5, 3
    p = rng.uniform(0.05, 0.95, (n, c)).astype(np.float32)
    y = {
        "regression": rng.normal(size=(n, c)),
        "positive": rng.uniform(0, 2, (n, c)),
        "probs": rng.random((n, c)),
        "onehot": np.eye(c)[rng.integers(0, c, n)],
        "sparse": rng.integers(0, c, n),
    }[LOSS_CASES[name]].astype(np.float32)
    weights = [None, rng.uniform(0, 2, n).astype(np.float32), np.float32(2.5), np.zeros(n)]
    for sw in weights:
        ours = getattr(losses, name)(reduction=reduction)(y, p, sample_weight=sw)
        theirs = _numpy(getattr(keras.losses, name)(reduction=reduction)(y, p, sample_weight=sw))
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-6, err_msg=str(sw))
        assert np.shape(ours) == theirs.shape
    # shapes that broadcast (NumPy's path): weights of (n, c) on per-sample losses of (n,)
    ours = getattr(losses, name)(reduction=reduction)(y, p, sample_weight=np.ones((n, 1)) * 2)
    theirs = getattr(keras.losses, name)(reduction=reduction)(
        y, p, sample_weight=np.ones((n, 1), np.float32) * 2
    )
    np.testing.assert_allclose(ours, _numpy(theirs), rtol=2e-6, atol=1e-6)


def test_reduction_is_validated_and_kept_in_the_config():
    for reduction in REDUCTIONS:
        loss = losses.BinaryFocalCrossentropy(reduction=reduction)
        assert loss.get_config()["reduction"] == reduction
        again = losses.BinaryFocalCrossentropy.from_config(loss.get_config())
        assert again.get_config() == loss.get_config()
    for bad in ("auto", "SUM", 1, ["sum"]):
        with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
            losses.CategoricalFocalCrossentropy(reduction=bad)


def test_an_empty_batch_reduces_to_zero_or_an_empty_array():
    y = np.zeros((0, 3), np.float32)
    assert losses.BinaryFocalCrossentropy()(y, y) == 0.0
    assert losses.BinaryFocalCrossentropy(reduction="sum")(y, y) == 0.0
    assert losses.BinaryFocalCrossentropy(reduction=None)(y, y).shape == (0,)


# -- arguments, configs, ids -------------------------------------------------------------


def test_defaults_config_and_ids_as_keras():
    keras = keras_or_skip()
    for name in ("BinaryFocalCrossentropy", "CategoricalFocalCrossentropy"):
        ours = getattr(losses, name)().get_config()
        theirs = getattr(keras.losses, name)().get_config()
        assert ours == theirs
        kwargs = {"alpha": 0.5, "gamma": 1.0, "from_logits": True, "label_smoothing": 0.1}
        ours = getattr(losses, name)(reduction="sum", **kwargs).get_config()
        theirs = getattr(keras.losses, name)(reduction="sum", **kwargs).get_config()
        assert ours == theirs
        assert type(losses.get(name)) is getattr(losses, name)
        restored = losses.get({"class_name": name, "config": ours})
        assert restored.get_config() == ours
    assert type(losses._resolve(BFCE)) is losses.BinaryFocalCrossentropy
    assert type(losses._resolve(CFCE)) is losses.CategoricalFocalCrossentropy
    assert type(losses._resolve(losses.binary_focal_crossentropy)) is losses.BinaryFocalCrossentropy


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: losses.BinaryFocalCrossentropy(alpha=[0.2, 0.8]), ValueError, "takes one alpha"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha=[]), ValueError, "one number per class"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha=[[0.2, 0.8]]), ValueError,
         r"alpha\[0\] must be a finite number"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha=np.ones((2, 2))), ValueError,
         "one number per class"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha=[0.2, float("nan")]), ValueError,
         r"alpha\[1\] must be a finite number"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha=[0.2, "0.8"]), ValueError, "alpha"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha=None), ValueError, "per class"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.8])([[1, 0, 0]], [[0.5] * 3]),
         ValueError, "alpha has 2 values"),
        (lambda: losses.categorical_focal_crossentropy([[1, 0, 0]], [[0.5] * 3], alpha=[1, 2]),
         ValueError, "alpha has 2 values"),
        (lambda: fastnn.ops.loss([[1.0, 0]], [[0.5, 0.5]], CFCE, alpha=[1.0]), ValueError,
         "alpha has 1 values"),
        (lambda: fastnn.ops.loss([[1.0]], [[0.5]], BFCE, alpha=[1.0]), ValueError,
         "takes one alpha"),
        (lambda: fastnn.ops.loss([[1.0]], [[0.5]], CFCE, alpha=[[1.0]]), ValueError, "shape"),
        (lambda: fastnn.ops.loss([[1.0]], [[0.5]], CFCE, alpha=["a"]), TypeError, "alpha"),
        (lambda: losses.BinaryFocalCrossentropy(gamma=float("nan")), ValueError, "gamma"),
        (lambda: losses.BinaryFocalCrossentropy(alpha="0.5"), ValueError, "alpha"),
        (lambda: losses.BinaryFocalCrossentropy(label_smoothing=1.5), ValueError, "label_smo"),
        (lambda: losses.CategoricalFocalCrossentropy(axis=True), ValueError, "must be of type"),
        (lambda: losses.BinaryFocalCrossentropy(axis=0), ValueError, "axis=0"),
        (lambda: losses.BinaryFocalCrossentropy(dtype="float64"), ValueError, "dtype"),
        (lambda: losses.categorical_focal_crossentropy([[1, 0]], [[0.5, 0.5]], axis=False),
         ValueError, "must be of type"),
        (lambda: losses.binary_focal_crossentropy([[1, 0]], [[0.5, 0.5, 0]]), ValueError, "shape"),
        (lambda: fastnn.ops.loss([[1.0]], [[0.5]], BFCE, gamma=float("inf")), ValueError, "finite"),
        (lambda: fastnn.ops.loss([[1.0]], [[0.5]], "mse", label_smoothing=1), ValueError, "focal"),
    ],
)  # fmt: skip
def test_bad_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make()


# -- training --------------------------------------------------------------------------


def _data(rng, n, c, categorical):
    x = rng.normal(size=(n, 4)).astype(np.float32)
    if categorical:
        y = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]
    else:
        y = (rng.random((n, c)) < 0.3).astype(np.float32)
    return x, y


def _pair(keras, activation, units, loss_name, loss_kwargs, optimizer="sgd"):
    """A fastnn and a Keras model with the same weights, compiled alike."""
    ours = fastnn.Sequential(
        [
            fastnn.Input((4,)),
            fastnn.layers.Dense(5, activation="tanh"),
            fastnn.layers.Dense(units, activation=activation),
        ]
    )
    theirs = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(5, activation="tanh"),
            keras.layers.Dense(units, activation=activation),
        ]
    )
    with keras_quiet():
        theirs.set_weights(ours.get_weights())
    ours.compile(
        optimizer=fastnn.optimizers.get(optimizer),
        loss=getattr(losses, loss_name)(**loss_kwargs),
    )
    theirs.compile(
        optimizer=keras.optimizers.get(optimizer),
        loss=getattr(keras.losses, loss_name)(**loss_kwargs),
    )
    return ours, theirs


TRAINING = [
    ("BinaryFocalCrossentropy", "sigmoid", 1, {}),
    ("BinaryFocalCrossentropy", "sigmoid", 3, {"apply_class_balancing": True, "gamma": 1.5}),
    ("BinaryFocalCrossentropy", None, 2, {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalFocalCrossentropy", "softmax", 3, {}),
    ("CategoricalFocalCrossentropy", None, 10, {"from_logits": True, "alpha": 0.5}),
    ("CategoricalFocalCrossentropy", "softmax", 2, {"gamma": 0.0, "reduction": "sum"}),
    ("BinaryFocalCrossentropy", "sigmoid", 2, {"reduction": "mean_with_sample_weight"}),
]


@pytest.mark.parametrize("loss_name, activation, units, kwargs", TRAINING)
def test_training_follows_keras(rng, loss_name, activation, units, kwargs):
    keras = keras_or_skip()
    ours, theirs = _pair(keras, activation, units, loss_name, kwargs, optimizer="adam")
    x, y = _data(rng, 37, units, loss_name.startswith("Categorical"))
    sw = rng.uniform(0.1, 2.0, len(x)).astype(np.float32)
    fit = {"epochs": 3, "batch_size": 8, "verbose": 0, "shuffle": False, "sample_weight": sw}
    history = ours.fit(x, y, **fit)
    with keras_quiet():
        reference = theirs.fit(x, y, **fit)
        expected_weights = theirs.get_weights()
        expected_eval = theirs.evaluate(x, y, sample_weight=sw, verbose=0)
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), expected_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert ours.evaluate(x, y, sample_weight=sw, verbose=0) == pytest.approx(
        expected_eval, rel=1e-4
    )


def test_class_weights_train_as_keras(rng):
    keras = keras_or_skip()
    ours, theirs = _pair(keras, "softmax", 3, "CategoricalFocalCrossentropy", {"gamma": 1.0})
    x, y = _data(rng, 29, 3, True)
    fit = {"epochs": 2, "batch_size": 5, "verbose": 0, "shuffle": False}
    fit["class_weight"] = {0: 0.5, 1: 2.0, 2: 1.0}
    ours.fit(x, y, **fit)
    with keras_quiet():
        theirs.fit(x, y, **fit)
        expected = theirs.get_weights()
    for a, b in zip(ours.get_weights(), expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_engine_gradient_is_the_kernels_through_the_output_layer(rng):
    # on a linear output, train_on_batch's loss equals the standalone loss of predict
    model = fastnn.Sequential([fastnn.Input((4,)), fastnn.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=losses.CategoricalFocalCrossentropy(from_logits=True))
    x, y = _data(rng, 6, 3, True)
    expected = losses.CategoricalFocalCrossentropy(from_logits=True)(y, model.predict(x, verbose=0))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-6)


# -- saving ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss",
    [
        losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.0),
        losses.CategoricalFocalCrossentropy(alpha=0.5, from_logits=True, reduction="sum"),
        losses.CategoricalFocalCrossentropy(alpha=[0.5, 2.0, 1.0], gamma=1.0),
        "binary_focal_crossentropy",
    ],
)
def test_saving_round_trips(tmp_path, rng, loss):
    units = 1 if "inary" in str(getattr(loss, "name", loss)) else 3
    model = fastnn.Sequential([fastnn.Input((4,)), fastnn.layers.Dense(units)])
    model.compile(optimizer="sgd", loss=loss)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = fastnn.models.load_model(path)
    x, y = _data(rng, 8, units, units > 1)
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    if not isinstance(loss, str):
        assert loaded.loss.get_config() == loss.get_config()


def test_a_keras_file_loads(tmp_path, rng):
    keras = keras_or_skip()
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    theirs.compile(
        optimizer="sgd",
        loss=keras.losses.CategoricalFocalCrossentropy(gamma=3.0, label_smoothing=0.2),
    )
    path = tmp_path / "keras.keras"
    with keras_quiet():
        theirs.save(path)
    ours = fastnn.models.load_model(path)
    assert type(ours.loss) is losses.CategoricalFocalCrossentropy
    assert ours.loss.get_config() == theirs.loss.get_config()
    x, y = _data(rng, 8, 3, True)
    with keras_quiet():
        expected = theirs.evaluate(x, y, verbose=0)
    assert ours.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


# -- Keras's per-class alpha -------------------------------------------------------------


@pytest.mark.parametrize(
    "activation, kwargs",
    [
        ("softmax", {}),
        ("softmax", {"gamma": 0.5, "label_smoothing": 0.1}),
        (None, {"from_logits": True, "gamma": 3.0}),
    ],
)
def test_per_class_alpha_trains_as_keras(rng, activation, kwargs):
    """3 epochs of SGD(0.1), batches of 16: Keras's losses, evaluate and
    weights (rtol 2e-6, 1e-5)."""
    keras = keras_or_skip()
    from layer_recipes import check_fit_matches_keras

    x = rng.normal(size=(51, 6)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 51)]
    alpha = [0.1, 1.5, 0.0, 0.6]

    def build(lib):
        return lib.Sequential(
            [
                lib.Input((6,)),
                lib.layers.Dense(7, activation="tanh"),
                lib.layers.Dense(4, activation=activation),
            ]
        )

    def loss(lib):
        return lib.losses.CategoricalFocalCrossentropy(alpha=alpha, **kwargs)

    check_fit_matches_keras(keras, build, x, y, loss)


def test_alpha_of_one_value_is_that_value_for_every_class(rng):
    y, p, w = case(rng, CFCE, 9, 5)
    listed = losses.CategoricalFocalCrossentropy(alpha=[0.7])
    assert listed(y, p, sample_weight=w) == losses.CategoricalFocalCrossentropy(alpha=0.7)(
        y, p, sample_weight=w
    )
    assert listed.get_config()["alpha"] == [0.7]
    np.testing.assert_array_equal(
        losses.categorical_focal_crossentropy(y, p, alpha=[0.7]),
        losses.categorical_focal_crossentropy(y, p, alpha=0.7),
    )
    model = fastnn.Sequential([fastnn.Input((4,)), fastnn.layers.Dense(5, activation="softmax")])
    model.compile(optimizer="sgd", loss=listed)
    x = rng.normal(size=(9, 4)).astype(np.float32)
    expected = losses.CategoricalFocalCrossentropy(alpha=0.7)(y, model.predict(x, verbose=0))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-6)


def test_alpha_as_a_tuple_or_an_array_is_a_list_in_the_config():
    keras = keras_or_skip()
    for alpha in ((0.5, 1.5, 1.0), np.array([0.5, 1.5, 1.0]), np.float32([0.5, 1.5, 1.0])):
        loss = losses.CategoricalFocalCrossentropy(alpha=alpha)
        assert loss.get_config()["alpha"] == [0.5, 1.5, 1.0]
    ours = losses.CategoricalFocalCrossentropy(alpha=[0.5, 1.5, 1], reduction="sum").get_config()
    theirs = keras.losses.CategoricalFocalCrossentropy(alpha=[0.5, 1.5, 1], reduction="sum")
    assert ours == theirs.get_config()
    restored = losses.get({"class_name": "CategoricalFocalCrossentropy", "config": ours})
    assert restored.get_config() == ours


def test_a_wrong_alpha_length_is_refused_and_changes_nothing(rng):
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    model = fastnn.Sequential([fastnn.Input((4,)), fastnn.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss=losses.CategoricalFocalCrossentropy(alpha=[1.0, 2.0, 3.0]))
    before = model.get_weights()
    # As in Keras, the length is checked against the outputs when the loss is
    # computed (compile and a rebuild may come first: pop the head, add
    # another), here before anything runs.
    model.compile(optimizer="adam", loss=losses.CategoricalFocalCrossentropy(alpha=[1.0] * 4))
    iterations = int(model.optimizer.iterations)
    for call in (
        lambda: model.fit(x, y, verbose=0),
        lambda: model.evaluate(x, y, verbose=0),
        lambda: model.train_on_batch(x, y),
        lambda: model.test_on_batch(x, y),
    ):
        with pytest.raises(ValueError, match="alpha has 4 values .* 3 classes"):
            call()
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)
        assert int(model.optimizer.iterations) == iterations
    assert model.predict(x, verbose=0).shape == (8, 3)  # no loss there, as in Keras
    model.pop()  # the transfer-learning sequence: a new head of 4 classes
    model.add(fastnn.layers.Dense(4, activation="softmax"))
    model.compile(optimizer="sgd", loss=model.loss)
    y4 = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 8)]
    assert np.isfinite(model.fit(x, y4, verbose=0).history["loss"][0])
    model.compile(optimizer="sgd", loss=losses.CategoricalFocalCrossentropy(alpha=[1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="alpha has 3 values .* 4 classes"):
        model.evaluate(x, y4, verbose=0)  # (compiled, as in Keras; refused when computed)
    unbuilt = fastnn.Sequential([fastnn.layers.Dense(3, activation="softmax")])
    unbuilt.compile(optimizer="sgd", loss=losses.CategoricalFocalCrossentropy(alpha=[1.0, 2.0]))
    assert unbuilt.predict(x, verbose=0).shape == (8, 3)
    with pytest.raises(ValueError, match="alpha has 2 values"):
        unbuilt.fit(x, y, verbose=0)


def test_per_class_alpha_as_a_metric_matches_keras(rng):
    """A loss object and the function wrapped with its alpha, as metrics."""
    keras = keras_or_skip()
    x = rng.normal(size=(20, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 20)]
    alpha = [0.2, 1.0, 3.0]
    results = []
    for lib in (fastnn, keras):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="softmax")])
        if results:
            model.set_weights(results[0][0])
        metrics = [
            lib.losses.CategoricalFocalCrossentropy(alpha=alpha, name="focal"),
            lib.metrics.MeanMetricWrapper(
                lib.metrics.categorical_focal_crossentropy, name="wrapped", alpha=alpha
            ),
        ]
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse", metrics=metrics)
        with keras_quiet():
            weights = model.get_weights()
            history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
            evaluated = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
        results.append((weights, history.history, evaluated))
    (_, ours, ours_eval), (_, theirs, theirs_eval) = results
    for key in ("focal", "wrapped"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5)
        assert ours_eval[key] == pytest.approx(theirs_eval[key], rel=1e-5)


def test_a_keras_file_with_per_class_alpha_loads_and_evaluates_as_keras(tmp_path, rng):
    keras = keras_or_skip()
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    theirs.compile(
        optimizer="sgd", loss=keras.losses.CategoricalFocalCrossentropy(alpha=[0.3, 1.0, 2.0])
    )
    path = tmp_path / "keras.keras"
    with keras_quiet():
        theirs.save(path)
    ours = fastnn.models.load_model(path)
    assert ours.loss.get_config() == theirs.loss.get_config()
    x, y = _data(rng, 8, 3, True)
    with keras_quiet():
        expected = theirs.evaluate(x, y, verbose=0)
    assert ours.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=2e-6)
