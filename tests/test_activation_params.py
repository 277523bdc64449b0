"""Configurable leaky_relu negative_slope and elu alpha (keras.activations and
the LeakyReLU / ELU layers): kernels on every ISA against float64 NumPy, the
network's gradients against PyTorch autograd, and bad values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastnn
from fastnn import activations, initializers, layers, models, optimizers

SIZES = [0, 1, 7, 8, 9, 33, 1000]


def leaky64(x, slope):
    x = x.astype(np.float64)
    return np.where(x > 0, x, slope * x), np.where(x > 0, 1.0, slope)


def elu64(x, alpha):
    x = x.astype(np.float64)
    return np.where(x > 0, x, alpha * np.expm1(x)), np.where(x > 0, 1.0, alpha * np.exp(x))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.3, 1.5, -0.5])
def test_leaky_relu_slope(isa, rng, n, slope):
    x = rng.standard_normal(n).astype(np.float32) * 3
    dy = rng.standard_normal(n).astype(np.float32)
    y_ref, d_ref = leaky64(x, slope)
    np.testing.assert_allclose(activations.leaky_relu(x, negative_slope=slope), y_ref, rtol=1e-6)
    grad = fastnn.ops.activation_grad(dy, x, "leaky_relu", slope)
    np.testing.assert_allclose(grad, dy * d_ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.5])
def test_elu_alpha(isa, rng, n, alpha):
    x = rng.standard_normal(n).astype(np.float32) * 3
    dy = rng.standard_normal(n).astype(np.float32)
    y_ref, d_ref = elu64(x, alpha)
    np.testing.assert_allclose(activations.elu(x, alpha=alpha), y_ref, rtol=2e-6, atol=1e-7)
    grad = fastnn.ops.activation_grad(dy, x, "elu", alpha)
    np.testing.assert_allclose(grad, dy * d_ref, rtol=2e-5, atol=1e-6)


def test_defaults_are_keras_defaults(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_array_equal(activations.leaky_relu(x), activations.leaky_relu(x, 0.2))
    np.testing.assert_array_equal(fastnn.ops.activation(x, "leaky_relu"), activations.leaky_relu(x))
    np.testing.assert_array_equal(activations.elu(x), activations.elu(x, 1.0))
    assert layers.LeakyReLU().negative_slope == 0.3  # the Keras layer's default
    assert layers.ELU().alpha == 1.0


def test_layers_forward_matches_numpy(isa, rng):
    model = models.Sequential(
        [
            layers.Input(shape=(6,)),
            layers.Dense(9, kernel_initializer=initializers.GlorotUniform(1)),
            layers.LeakyReLU(negative_slope=0.05),
            layers.Dense(8, kernel_initializer=initializers.GlorotUniform(2)),
            layers.ELU(alpha=0.7),
            layers.Dense(
                5, activation="leaky_relu", kernel_initializer=initializers.GlorotUniform(3)
            ),
        ]
    )
    w = [v.astype(np.float64) for v in model.get_weights()]
    x = rng.standard_normal((11, 6))
    h = leaky64(x @ w[0] + w[1], 0.05)[0]
    h = elu64(h @ w[2] + w[3], 0.7)[0]
    h = leaky64(h @ w[4] + w[5], 0.2)[0]  # the string id: keras.activations' 0.2
    np.testing.assert_allclose(model.predict(x, verbose=0), h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("slope,alpha", [(0.05, 0.7), (0.0, 0.0), (1.7, 3.0)])
def test_network_gradients_match_torch(isa, rng, slope, alpha):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    model = models.Sequential(
        [
            layers.Input(shape=(7,)),
            layers.Dense(10, kernel_initializer=initializers.GlorotUniform(1)),
            layers.LeakyReLU(negative_slope=slope),
            layers.Dense(9, kernel_initializer=initializers.GlorotUniform(2)),
            layers.ELU(alpha=alpha),
            layers.Dense(4, activation="softmax", kernel_initializer=initializers.GlorotUniform(3)),
        ]
    )
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy"
    )
    x = rng.standard_normal((13, 7)).astype(np.float32)
    y = rng.integers(0, 4, 13)
    result = model._net.train_batch(x, y)
    grads = [g.copy() for g in model._net.grad_views()]
    ws = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in model.get_weights()]
    h = F.leaky_relu(torch.tensor(x, dtype=torch.float64) @ ws[0] + ws[1], slope)
    h = F.elu(h @ ws[2] + ws[3], alpha)
    loss = F.cross_entropy(h @ ws[4] + ws[5], torch.tensor(y))
    loss.backward()
    assert result["loss"] == pytest.approx(loss.item(), rel=2e-5)
    for g, t in zip(grads, ws):
        r = t.grad.numpy()
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-5 * max(1.0, np.abs(r).max()))


def test_config_and_legacy_alpha():
    assert layers.LeakyReLU(0.1).get_config()["negative_slope"] == 0.1
    assert "activation" not in layers.LeakyReLU(0.1).get_config()
    assert layers.ELU(0.5).get_config()["alpha"] == 0.5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = layers.LeakyReLU(alpha=0.25)
    assert layer.negative_slope == 0.25
    assert any("negative_slope" in str(w.message) for w in caught)


def test_bad_values():
    x = np.ones(3, np.float32)
    for bad in (-0.1, None, float("nan"), "a"):
        with pytest.raises(ValueError, match="negative_slope"):
            layers.LeakyReLU(negative_slope=bad)
    for bad in (-1.0, float("inf"), True):
        with pytest.raises(ValueError, match="ELU alpha"):
            layers.ELU(alpha=bad)
    with pytest.raises(ValueError, match="elu alpha must be >= 0"):
        activations.elu(x, alpha=-1.0)
    with pytest.raises(ValueError, match="must be finite"):
        activations.leaky_relu(x, negative_slope=float("inf"))
    with pytest.raises(ValueError, match="alpha must be a float"):
        activations.elu(x, alpha="x")
    with pytest.raises(ValueError, match="'relu' takes no parameter"):
        fastnn.ops.activation(x, "relu", 0.5)
    from fastnn import _core

    with pytest.raises(ValueError, match="activation parameter of layer 0 must be finite"):
        _core.nn.Network(
            3, [{"type": "activation", "activation": "leaky_relu", "activation_param": np.inf}]
        )
    with pytest.raises(ValueError, match="and >= 0 for elu"):
        _core.nn.Network(
            3, [{"type": "dense", "units": 2, "activation": "elu", "activation_param": -1}]
        )


def test_ops_activation_parameter_errors_are_clear():
    """A str or a huge int was pybind11's bare RuntimeError 'Unable to cast'."""
    x = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="activation parameter must be a finite number"):
        fastnn.ops.activation(x, "leaky_relu", 10**400)
    with pytest.raises(TypeError, match="activation parameter must be a number, got str"):
        fastnn.ops.activation(x, "elu", "1.0")


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: layers.LeakyReLU(negative_slope=10**400), ValueError, "negative_slope"),
        (lambda: layers.ELU(alpha=10**400), ValueError, "alpha"),
        (lambda: layers.Dropout(10**400), ValueError, r"rate must be in \[0, 1\)"),
        (lambda: activations.leaky_relu(np.ones(2), negative_slope=10**400), ValueError, "float"),
    ],
)
def test_layer_parameters_too_large_for_a_float_are_clear_errors(make, error, match):
    """Were float()'s OverflowError 'int too large to convert to float'."""
    with pytest.raises(error, match=match):
        make()
