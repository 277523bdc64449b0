"""Keras 3's other activations (celu, hard_tanh, log_sigmoid, soft_shrink,
hard_shrink, tanh_shrink, squareplus, sparse_plus, sparse_sigmoid,
log_softmax): their parameters and boundary points on every ISA against
float64 and torch autograd, Keras 3.15's values on arrays of any layout, and
models that use them by name surviving save / load. (test_activations.py and
test_extremes.py hold them in their per-kind tables, and
test_activation_layer_argument.py trains them by name against Keras.)"""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, activations, layers

import activation_reference as ref
from activation_reference import FORWARD, MORE

NAMES = MORE + ["log_softmax"]
NAN, INF = float("nan"), float("inf")

# parameter name, values, float64 forward and derivative of (x, value)
PARAMETERS = {
    "celu": ("alpha", [0.25, 1.0, 2.5, -1.5], ref.celu, ref.celu_derivative),
    "soft_shrink": ("threshold", [0.0, 0.25, 0.5, 2.0], ref.soft_shrink, ref.shrink_derivative),
    "hard_shrink": ("threshold", [0.0, 0.25, 0.5, 2.0], ref.hard_shrink, ref.shrink_derivative),
    "squareplus": ("b", [0.0, 1.0, 4.0, 10.0], ref.squareplus, ref.squareplus_derivative),
}
PARAMETRIZED = [(n, v) for n, (_, values, _, _) in PARAMETERS.items() for v in values]


def _f32(a):
    return np.asarray(a, np.float32)


@pytest.mark.parametrize("name,value", PARAMETRIZED, ids=str)
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 37, 1031])
def test_parameters_against_float64(isa, rng, name, value, n):
    key, _, forward, derivative = PARAMETERS[name]
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    dy = rng.standard_normal(n).astype(np.float32)
    x64 = x.astype(np.float64)
    y = getattr(activations, name)(x, **{key: value})
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, forward(x64, value), rtol=3e-6, atol=1e-7)
    dx = fastnn.ops.activation_grad(dy, x, name, value)
    np.testing.assert_allclose(dx, dy * derivative(x64, value), rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("name,value", PARAMETRIZED, ids=str)
def test_parameters_against_torch_autograd(isa, rng, name, value):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {  # Keras 3's torch backend (keras/src/backend/torch/nn.py)
        "celu": lambda t: F.celu(t, alpha=value),
        "soft_shrink": lambda t: F.softshrink(t, value),
        "hard_shrink": lambda t: F.hardshrink(t, value),
        "squareplus": lambda t: (t + torch.sqrt(t**2 + value)) / 2,
    }
    x = (rng.standard_normal((7, 13)) * 3).astype(np.float32)
    x[np.abs(np.abs(x) - value) < 1e-3] = 0.1 + value  # off the shrinks' kinks
    if name == "squareplus" and value == 0.0:
        x[x == 0] = 1.0  # torch's sqrt(x^2)' is NaN at 0
    dy = rng.standard_normal(x.shape).astype(np.float32)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    y = fns[name](xt)
    y.backward(torch.tensor(dy.astype(np.float64)))
    np.testing.assert_allclose(
        fastnn.ops.activation(x, name, value), y.detach().numpy(), rtol=3e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        fastnn.ops.activation_grad(dy, x, name, value), xt.grad.numpy(), rtol=2e-5, atol=1e-7
    )


# x, then f(x) and f'(x) (dy = 1) exactly, with Keras's defaults: the points
# where a piece ends, which side holds them, and the sign of zero
BOUNDARIES = {
    "hard_tanh": ([-1.0, 1.0, -0.0, 0.999], [-1.0, 1.0, -0.0, 0.999], [0.0, 0.0, 1.0, 1.0]),
    "soft_shrink": ([-0.5, 0.5, -0.25, 0.625], [-0.0, 0.0, -0.0, 0.125], [0.0, 0.0, 0.0, 1.0]),
    "hard_shrink": ([-0.5, 0.5, -0.0, -0.5001], [0.0, 0.0, 0.0, -0.5001], [0.0, 0.0, 0.0, 1.0]),
    "sparse_plus": ([-1.0, 1.0, 0.0, -0.5], [0.0, 1.0, 0.25, 0.0625], [0.0, 1.0, 0.5, 0.25]),
    "sparse_sigmoid": ([-1.0, 1.0, 0.0, 0.5], [0.0, 1.0, 0.5, 0.75], [0.0, 0.0, 0.5, 0.5]),
    "celu": ([0.0, -0.0, 1e-30, -1e4], [0.0, -0.0, 1e-30, -1.0], [1.0, 1.0, 1.0, 0.0]),
    "squareplus": ([0.0, 1e4, -1e4, -3.4e38], [1.0, 1e4, 1e-4, 0.0], [0.5, 1.0, 1e-8, 0.0]),
    "log_sigmoid": ([0.0, -1e4, 1e4, -100.0], [-np.log(2), -1e4, 0.0, -100.0], [0.5, 1, 0, 1]),
    "tanh_shrink": (
        [0.0, 1e-3, -1e-10, 1e4],
        [0.0, 1e-9 / 3, -1e-30 / 3, 9999.0],
        [0, 1e-6, 1e-20, 1],
    ),
}


@pytest.mark.parametrize("name", sorted(BOUNDARIES))
def test_values_at_the_boundaries(isa, name):
    points, want_y, want_dx = BOUNDARIES[name]
    x = _f32(points * 3)  # 12: a vector body and a tail
    y = fastnn.ops.activation(x, name)
    dx = fastnn.ops.activation_grad(np.ones_like(x), x, name)
    np.testing.assert_allclose(y, _f32(want_y * 3), rtol=2e-6, atol=0)
    np.testing.assert_allclose(dx, _f32(want_dx * 3), rtol=2e-6, atol=0)
    if name in ("hard_tanh", "soft_shrink", "hard_shrink", "celu"):  # torch's signs of zero
        assert list(np.signbit(y[:4])) == list(np.signbit(_f32(want_y)))


def test_tanh_shrink_keeps_relative_accuracy_near_zero(isa):
    # x - tanh(x) in float32 (Keras's torch kernel) cancels: all digits lost below 1e-3
    # (from 1e-12: x^3 / 3 a normal float)
    x = np.concatenate([np.geomspace(1e-12, 2.0, 2001), -np.geomspace(1e-6, 0.7, 501)])
    x = x.astype(np.float32)
    y = fastnn.ops.activation(x, "tanh_shrink")
    np.testing.assert_allclose(y, FORWARD["tanh_shrink"](x.astype(np.float64)), rtol=2e-7, atol=0)


def test_squareplus_keeps_relative_accuracy_for_negative_inputs(isa):
    # (x + sqrt(x^2 + b)) / 2 cancels as x -> -inf: 0 at x = -1e4 in float32
    x = -np.geomspace(1e-3, 1e18, 1001).astype(np.float32)
    for b in (4.0, 0.5):
        y = activations.squareplus(x, b=b)
        np.testing.assert_allclose(y, ref.squareplus(x.astype(np.float64), b), rtol=5e-7, atol=0)
        dx = fastnn.ops.activation_grad(np.ones_like(x), x, "squareplus", b)
        want = ref.squareplus_derivative(x.astype(np.float64), b)
        np.testing.assert_allclose(dx, want, rtol=1e-6, atol=1e-37)


def test_log_softmax_rows(isa, rng):
    x = (rng.standard_normal((37, 19)) * 30).astype(np.float32)
    y = activations.log_softmax(x)
    np.testing.assert_allclose(y, ref.log_softmax(x.astype(np.float64)), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(np.exp(y.astype(np.float64)).sum(-1), 1.0, rtol=1e-6)
    # extreme logits stay finite; NaN, +inf or only -inf make the row NaN, as torch
    big = np.array([[1e4, -1e4, 0.0], [3.4e38, 3.4e38, -3.4e38], [1.0, 1.0, 1.0]], np.float32)
    y = activations.log_softmax(big)
    np.testing.assert_allclose(y[0], [0.0, -2e4, -1e4])
    np.testing.assert_allclose(y[1, :2], [-np.log(2)] * 2, rtol=1e-6)
    assert y[1, 2] == -INF
    np.testing.assert_allclose(y[2], [-np.log(3)] * 3, rtol=1e-6)
    special = np.array([[NAN, 0.0, 1.0], [INF, 0.0, 1.0], [-INF, -INF, -INF]], np.float32)
    assert np.isnan(activations.log_softmax(special)).all()
    assert activations.log_softmax(np.zeros((0, 5), np.float32)).shape == (0, 5)
    # any axis, as Keras's function (tests/test_layers_review.py compares with Keras)
    np.testing.assert_allclose(
        activations.log_softmax(x, axis=0),
        ref.log_softmax(x.T.astype(np.float64)).T,
        rtol=2e-6,
        atol=2e-6,
    )


@pytest.mark.parametrize("cols", [1, 7, 8, 9, 100])
def test_log_softmax_gradient_against_torch(isa, rng, cols):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((5, cols)) * 3).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    torch.log_softmax(xt, -1).backward(torch.tensor(dy.astype(np.float64)))
    dx = fastnn.ops.activation_grad(dy, x, "log_softmax")
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=2e-5, atol=2e-6)


def _layouts(rng):
    base = (rng.standard_normal((11, 13)) * 2).astype(np.float32)
    base[0, :8] = [-1.0, 1.0, -0.5, 0.5, 0.0, -0.0, 2.0, -2.0]  # pieces' ends
    return {
        "empty": np.zeros((0, 3), np.float32),
        "one": np.float32([0.75]),
        "prime": base[:7, :11].copy(),
        "strided": base[::2, ::3],
        "fortran": np.asfortranarray(base),
        "3d": base[:10, :12].reshape(2, 5, 12),
        "float64": base.astype(np.float64),
    }


@pytest.mark.parametrize("name", NAMES)
def test_arrays_of_any_layout_give_keras_values(rng, name):
    keras = keras_or_skip()
    for label, x in _layouts(rng).items():
        ours = getattr(activations, name)(x)
        with keras_quiet():
            theirs = keras.ops.convert_to_numpy(
                getattr(keras.activations, name)(np.asarray(x, np.float32))
            )
        assert ours.dtype == np.float32 and ours.shape == np.shape(x), label
        want = FORWARD[name](np.asarray(x, np.float64)) if name in FORWARD else None
        if name == "log_softmax":
            want = ref.log_softmax(np.asarray(x, np.float64)) if np.size(x) else theirs
        np.testing.assert_allclose(ours, want, rtol=3e-6, atol=1e-7, err_msg=label)
        # Keras's float32 subtractions cancel near 0 (tanh_shrink) and below 0
        # (squareplus): absolute agreement there
        np.testing.assert_allclose(ours, theirs, rtol=3e-6, atol=3e-6, err_msg=label)


@pytest.mark.parametrize("name", ["tanh_shrink", "squareplus"])
def test_ops_give_keras_dtypes_and_accurate_values(name):
    keras = keras_or_skip()
    x64 = np.linspace(-30, 30, 121)
    for dtype, rtol in ((np.float32, 3e-7), (np.float64, 1e-14), (np.float16, 1e-3)):
        x = x64.astype(dtype)
        ours = getattr(fastnn.ops, name)(x)
        with keras_quiet():
            theirs = keras.ops.convert_to_numpy(getattr(keras.ops, name)(x))
        assert ours.dtype == theirs.dtype == dtype
        np.testing.assert_allclose(ours, FORWARD[name](x.astype(np.float64)), rtol=rtol, atol=0)
        # (Keras's squareplus cancels below 0: off by ulps of |x|)
        atol = 30 * np.finfo(dtype).eps
        np.testing.assert_allclose(
            ours, theirs, rtol=1e-2 if dtype == np.float16 else 1e-5, atol=atol
        )
    assert fastnn.ops.squareplus(np.float32([-2.0, 0.0]), b=1).tolist() == pytest.approx(
        [(np.sqrt(5) - 2) / 2, 0.5]
    )
    assert fastnn.ops.squareplus(np.arange(3)).dtype == np.float32


def test_by_name_they_use_keras_defaults(rng):
    x = (rng.standard_normal((4, 9)) * 2).astype(np.float32)
    for name, (key, _, _, _) in PARAMETERS.items():
        default = {"alpha": 1.0, "threshold": 0.5, "b": 4.0}[key]
        by_name = fastnn.ops.activation(x, name)
        np.testing.assert_array_equal(by_name, getattr(activations, name)(x))
        np.testing.assert_array_equal(by_name, getattr(activations, name)(x, **{key: default}))
    for name in NAMES:
        assert activations.get(name) is getattr(activations, name)
        assert activations.serialize(getattr(activations, name)) == name
        assert activations.deserialize(name) is getattr(activations, name)
        assert layers.Dense(2, activation=name).get_config()["activation"] == name


@pytest.mark.parametrize(
    "name, key, bad, match",
    [
        ("celu", "alpha", 0.0, "celu alpha must be nonzero"),
        ("soft_shrink", "threshold", -0.5, "soft_shrink threshold must be >= 0"),
        ("squareplus", "b", -1.0, "squareplus b must be >= 0"),
        ("hard_shrink", "threshold", NAN, "must be finite"),
        ("celu", "alpha", INF, "must be finite"),
        ("squareplus", "b", 1e300, "must be finite"),
        ("celu", "alpha", "a", "alpha must be a float"),
    ],
)
def test_bad_parameters_are_clear_errors(name, key, bad, match):
    with pytest.raises(ValueError, match=match):
        getattr(activations, name)(np.ones(3, np.float32), **{key: bad})


def test_the_engine_checks_the_parameter_too():
    from fastnn import _core

    with pytest.raises(ValueError, match="must be finite and nonzero for celu"):
        _core.nn.Network(
            3, [{"type": "dense", "units": 2, "activation": "celu", "activation_param": 0}]
        )
    with pytest.raises(ValueError, match="must be finite and >= 0 for squareplus"):
        _core.nn.Network(
            3, [{"type": "activation", "activation": "squareplus", "activation_param": -4}]
        )


@pytest.mark.parametrize("name", NAMES)
def test_save_load_and_keras_reads_the_file(rng, tmp_path, name):
    x = (rng.standard_normal((6, 5)) * 2).astype(np.float32)
    y = rng.standard_normal((6, 3)).astype(np.float32)
    fastnn.utils.set_random_seed(3)
    model = fastnn.Sequential(
        [Input((5,)), layers.Dense(4, activation=name), layers.Activation(name), layers.Dense(3)]
    )
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, batch_size=3, verbose=0)
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].activation == name
    assert loaded.layers[1].get_config()["activation"] == name
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), before)
    keras = keras_or_skip()
    with keras_quiet():
        theirs = keras.saving.load_model(tmp_path / "m.keras")
        np.testing.assert_allclose(theirs.predict(x, verbose=0), before, rtol=2e-5, atol=2e-6)
