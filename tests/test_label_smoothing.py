"""label_smoothing of BinaryCrossentropy / CategoricalCrossentropy (Keras 3:
binary t(1 - ls) + ls/2, categorical t(1 - ls) + ls/classes), in fastnn.ops.loss
and in the network engine (fused softmax/sigmoid forms included), against
PyTorch autograd."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import initializers, layers, losses, models, optimizers

EPS = 1e-7
ONE_MINUS_EPS = float(np.float32(1 - EPS))  # Keras's float32 upper clip (0.99999988)


def torch_reference(torch, kind, from_logits, ls, y_pred, y_true, sw):
    """Loss and d loss / d y_pred, Keras definitions, float64 autograd."""
    out = torch.tensor(y_pred.astype(np.float64), requires_grad=True)
    t = torch.tensor(y_true.astype(np.float64))
    n, c = y_pred.shape
    F = torch.nn.functional
    if kind == "binary_crossentropy":
        t = t * (1 - ls) + 0.5 * ls
        if from_logits:
            per = F.binary_cross_entropy_with_logits(out, t, reduction="none").mean(-1)
        else:
            p = out.clamp(EPS, ONE_MINUS_EPS)
            per = -(t * p.log() + (1 - t) * (1 - p).log()).mean(-1)
    else:
        t = t * (1 - ls) + ls / c
        if from_logits:
            per = -(t * out.log_softmax(-1)).sum(-1)
        else:
            p = (out / out.sum(-1, keepdim=True)).clamp(EPS, ONE_MINUS_EPS)
            per = -(t * p.log()).sum(-1)
    w = torch.ones(n, dtype=torch.float64) if sw is None else torch.tensor(sw.astype(np.float64))
    value = (w * per).sum() / n
    value.backward()
    return value.item(), out.grad.numpy()


@pytest.mark.parametrize("kind", ["binary_crossentropy", "categorical_crossentropy"])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("ls", [0.0, 0.1, 0.35, 1.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_ops_loss_matches_torch(rng, kind, from_logits, ls, weighted):
    torch = pytest.importorskip("torch")
    n, c = 9, 5
    z = rng.standard_normal((n, c)).astype(np.float32)
    if from_logits:
        y_pred = z
    elif kind == "binary_crossentropy":
        y_pred = (1 / (1 + np.exp(-z))).astype(np.float32)
    else:
        y_pred = (np.exp(z) / np.exp(z).sum(1, keepdims=True)).astype(np.float32)
    if kind == "binary_crossentropy":
        y_true = rng.integers(0, 2, (n, c)).astype(np.float32)
    else:
        y_true = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]
    sw = rng.uniform(0.2, 2.0, n).astype(np.float32) if weighted else None
    value, grad = fastnn.ops.loss(
        y_true, y_pred, kind, from_logits=from_logits, sample_weight=sw, label_smoothing=ls
    )
    ref_value, ref_grad = torch_reference(torch, kind, from_logits, ls, y_pred, y_true, sw)
    assert value == pytest.approx(ref_value, rel=1e-5)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-7)
    cls = (
        losses.BinaryCrossentropy
        if kind == "binary_crossentropy"
        else losses.CategoricalCrossentropy
    )
    loss = cls(from_logits=from_logits, label_smoothing=ls)
    assert loss(y_true, y_pred, sample_weight=sw) == pytest.approx(value, rel=1e-12)


def test_categorical_smoothing_equals_torch_cross_entropy_label_smoothing(rng):
    torch = pytest.importorskip("torch")
    z = rng.standard_normal((7, 4)).astype(np.float32)
    y = rng.integers(0, 4, 7)
    value, _ = fastnn.ops.loss(
        np.eye(4)[y], z, "categorical_crossentropy", from_logits=True, label_smoothing=0.2
    )
    ref = torch.nn.functional.cross_entropy(
        torch.tensor(z, dtype=torch.float64), torch.tensor(y), label_smoothing=0.2
    )
    assert value == pytest.approx(ref.item(), rel=1e-6)


@pytest.mark.parametrize(
    "kind,last,from_logits",
    [
        ("categorical_crossentropy", "softmax", False),  # fused softmax + CE
        ("categorical_crossentropy", "linear", True),
        ("binary_crossentropy", "sigmoid", False),  # fused sigmoid + BCE
        ("binary_crossentropy", "linear", True),
    ],
)
def test_network_gradients_match_torch(isa, rng, kind, last, from_logits):
    torch = pytest.importorskip("torch")
    ls = 0.15
    model = models.Sequential(
        [
            layers.Input(shape=(13,)),
            layers.Dense(9, activation="tanh", kernel_initializer=initializers.GlorotUniform(1)),
            layers.Dense(
                6,
                activation=last,
                kernel_initializer=initializers.GlorotUniform(2),
                bias_initializer=initializers.RandomUniform(-0.3, 0.3, seed=3),
            ),
        ]
    )
    cls = (
        losses.BinaryCrossentropy
        if kind == "binary_crossentropy"
        else losses.CategoricalCrossentropy
    )
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.1),
        loss=cls(from_logits=from_logits, label_smoothing=ls),
    )
    assert model._net.fused_output == (not from_logits)
    x = rng.standard_normal((11, 13)).astype(np.float32)
    if kind == "binary_crossentropy":
        y = rng.integers(0, 2, (11, 6)).astype(np.float32)
    else:
        y = np.eye(6, dtype=np.float32)[rng.integers(0, 6, 11)]
    sw = rng.uniform(0.2, 2.0, 11).astype(np.float32)
    result = model._net.train_batch(x, y, sw)
    grads = [g.copy() for g in model._net.grad_views()]

    ws = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in model.get_weights()]
    logits = torch.tanh(torch.tensor(x, dtype=torch.float64) @ ws[0] + ws[1]) @ ws[2] + ws[3]
    t = torch.tensor(y, dtype=torch.float64)
    w = torch.tensor(sw, dtype=torch.float64)
    if kind == "binary_crossentropy":
        t = t * (1 - ls) + 0.5 * ls
        per = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, t, reduction="none"
        ).mean(-1)
    else:
        t = t * (1 - ls) + ls / 6
        per = -(t * logits.log_softmax(-1)).sum(-1)
    value = (w * per).sum() / 11
    value.backward()
    assert result["loss"] == pytest.approx(value.item(), rel=2e-5)
    for g, v in zip(grads, ws):
        r = v.grad.numpy()
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-5 * max(1.0, np.abs(r).max()))


def test_metrics_see_the_unsmoothed_labels(rng):
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(4, activation="softmax")])
    model.compile("sgd", losses.CategoricalCrossentropy(label_smoothing=0.9), metrics=["accuracy"])
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 20)]
    expected = np.mean(model.predict(x, verbose=0).argmax(1) == y.argmax(1))
    assert model.evaluate(x, y, verbose=0)[1] == pytest.approx(expected)


def test_config_and_bad_values():
    loss = losses.CategoricalCrossentropy(label_smoothing=0.25)
    assert loss.get_config()["label_smoothing"] == 0.25
    assert losses.BinaryCrossentropy().get_config()["label_smoothing"] == 0.0
    for bad in (-0.1, 1.5, float("nan"), "x", True):
        with pytest.raises(ValueError, match="label_smoothing must be a float in"):
            losses.BinaryCrossentropy(label_smoothing=bad)
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        fastnn.ops.loss(np.ones((1, 2)), np.ones((1, 2)) / 2, "bce", label_smoothing=2.0)
    with pytest.raises(ValueError, match="label_smoothing applies to binary_crossentropy"):
        fastnn.ops.loss([1], np.ones((1, 2)) / 2, "scce", label_smoothing=0.1)
    net = models.Sequential([layers.Input(shape=(2,)), layers.Dense(2)])._net
    with pytest.raises(ValueError, match="not mean_squared_error"):
        net.set_loss("mse", label_smoothing=0.1)
