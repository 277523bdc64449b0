"""fastnn.regularizers and Dense kernel/bias regularization in the C++ engine:
the penalty joins the reported loss (training and evaluate, as Keras 3) and its
gradient the weights' gradient; checked against PyTorch autograd, float64
central differences and exact SGD steps."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fastnn
from fastnn import initializers, layers, models, optimizers, regularizers
from fastnn.regularizers import L1, L1L2, L2, Regularizer

WIDTHS = (23, 17, 11, 5)
# per Dense layer: (kernel regularizer, bias regularizer)
REGS = [
    (L1(0.03), L2(0.2)),
    (L1L2(l1=0.02, l2=0.05), None),
    (L2(0.1), L1L2(l1=0.07, l2=0.3)),
]


def build(regs=REGS, lr=0.1, last="softmax", loss="sparse_categorical_crossentropy", seed=1):
    stack = [layers.Input(shape=(WIDTHS[0],))]
    for i, w in enumerate(WIDTHS[1:]):
        kernel_reg, bias_reg = regs[i] if regs else (None, None)
        stack.append(
            layers.Dense(
                w,
                activation="tanh" if i < len(WIDTHS) - 2 else last,
                kernel_initializer=initializers.GlorotUniform(seed + i),
                bias_initializer=initializers.RandomUniform(-0.3, 0.3, seed=seed + 50 + i),
                kernel_regularizer=kernel_reg,
                bias_regularizer=bias_reg,
            )
        )
    model = models.Sequential(stack)
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss=loss)
    return model


def penalty64(weights, regs=REGS):
    total = 0.0
    for i, (kernel_reg, bias_reg) in enumerate(regs):
        for reg, w in ((kernel_reg, weights[2 * i]), (bias_reg, weights[2 * i + 1])):
            if reg is not None:
                l1, l2 = reg.penalty_factors()
                total += l1 * np.abs(w).sum() + l2 * (w.astype(np.float64) ** 2).sum()
    return total


def penalty_grads64(weights, regs=REGS):
    out = []
    for i, (kernel_reg, bias_reg) in enumerate(regs):
        for reg, w in ((kernel_reg, weights[2 * i]), (bias_reg, weights[2 * i + 1])):
            w = w.astype(np.float64)
            l1, l2 = reg.penalty_factors() if reg is not None else (0.0, 0.0)
            out.append(l1 * np.sign(w) + 2 * l2 * w)
    return out


def engine_grads(model, x, y, sw=None):
    result = model._net.train_batch(np.ascontiguousarray(x, np.float32), y, sw)
    return result["loss"], [g.copy() for g in model._net.grad_views()]


def data(rng, n):
    x = rng.standard_normal((n, WIDTHS[0])).astype(np.float32)
    y = rng.integers(0, WIDTHS[-1], n)
    return x, y


# -- the Python API --------------------------------------------------------------


def test_defaults_configs_and_calls():
    # Keras 3.15's L1 keeps its factor as a float32 tensor: {'l1': 0.009999999776482582}
    assert L1().get_config() == {"l1": 0.009999999776482582}
    assert L2().get_config() == {"l2": 0.01}
    assert L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.l1 is L1 and regularizers.l2 is L2 and regularizers.l1_l2 is L1L2
    assert regularizers.l1_l2(l1=0.1).get_config() == {"l1": 0.1, "l2": 0.0}
    assert L1(None).l1 == 0.01 and L2(None).l2 == 0.01
    x = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert L1(0.5)(x) == pytest.approx(3.0)
    assert L2(2.0)(x) == pytest.approx(28.0)  # no 1/2
    assert L1L2(0.5, 2.0)(x) == pytest.approx(31.0)
    assert L2(2.0)(np.ones((5, 5))) == pytest.approx(50.0)  # Keras's docstring example
    assert Regularizer()(x) == 0.0
    with pytest.raises(NotImplementedError):
        Regularizer().get_config()


@pytest.mark.parametrize("reg", [L1(0.3), L2(0.1), L1L2(l1=0.01, l2=0.02), L1L2()])
def test_serialize_get_round_trip(reg):
    config = regularizers.serialize(reg)
    assert config["module"] == "keras.regularizers"
    assert config["class_name"] == type(reg).__name__
    again = regularizers.get(json.loads(json.dumps(config)))
    assert again == reg and again is not reg
    assert type(reg).from_config(reg.get_config()) == reg
    assert regularizers.deserialize(config) == reg


@pytest.mark.parametrize(
    "identifier,expected",
    [
        ("l1", L1(0.01)),
        ("L1", L1(0.01)),
        ("l2", L2(0.01)),
        ("L2", L2(0.01)),
        ("L1L2", L1L2(0.0, 0.0)),
        ("l1l2", L1L2(0.0, 0.0)),
        ("l1_l2", L1L2(0.01, 0.01)),  # as Keras's L1L2 docstring documents
        (L2, L2(0.01)),
        (L1(0.2), L1(0.2)),
    ],
)
def test_get_string_ids_and_classes(identifier, expected):
    assert regularizers.get(identifier) == expected
    assert regularizers.get(None) is None


@pytest.mark.parametrize(
    "factory,match",
    [
        (lambda: L1(-0.1), "Invalid value for argument l1: expected a non-negative float"),
        (lambda: L2(float("nan")), "argument l2"),
        (lambda: L1L2(l2=float("inf")), "argument l2"),
        (lambda: L1("0.1"), "argument l1"),
        (lambda: L2(True), "argument l2"),
        (lambda: regularizers.get("l3"), "Could not interpret regularizer identifier: 'l3'"),
        (lambda: regularizers.get("orthogonal_regularizer"), "OrthogonalRegularizer"),
        (lambda: regularizers.get(3), "Could not interpret regularizer identifier: 3"),
        (lambda: regularizers.get({"class_name": "Bogus", "config": {}}), "Unknown class_name"),
    ],
)
def test_bad_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_dense_takes_builtin_regularizers_only():
    layer = layers.Dense(3, kernel_regularizer="l2", bias_regularizer=L1(0.5))
    assert layer.kernel_regularizer == L2(0.01) and layer.bias_regularizer == L1(0.5)
    config = layer.get_config()
    assert config["kernel_regularizer"]["config"] == {"l2": 0.01}
    assert config["bias_regularizer"]["class_name"] == "L1"
    assert layers.Dense(3).get_config()["kernel_regularizer"] is None
    again = layers.Dense(
        3,
        kernel_regularizer=config["kernel_regularizer"],
        bias_regularizer=config["bias_regularizer"],
    )
    assert (again.kernel_regularizer, again.bias_regularizer) == (L2(0.01), L1(0.5))

    class Custom(Regularizer):
        def __call__(self, x):
            return 0.0

    for bad in (Custom(), lambda w: 0.0, "regularizer"):
        with pytest.raises(ValueError, match="fastnn computes the L1, L2 and L1L2 penalties"):
            layers.Dense(3, kernel_regularizer=bad)
    with pytest.raises(ValueError, match="bias_regularizer"):
        layers.Dense(3, bias_regularizer=Custom())


# -- the engine ------------------------------------------------------------------


def test_penalty_of_the_current_weights(rng):
    model = build()
    assert model._net.regularization_penalty == pytest.approx(
        penalty64(model.get_weights()), rel=1e-6
    )
    assert build(regs=None)._net.regularization_penalty == 0.0
    # use_bias=False: a bias regularizer has nothing to act on
    model = models.Sequential(
        [layers.Input(shape=(4,)), layers.Dense(3, use_bias=False, bias_regularizer=L2(1.0))]
    )
    assert model._net.regularization_penalty == 0.0


@pytest.mark.parametrize("batch", [1, 5, 64])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_gradients_match_torch_autograd(isa, rng, batch, weighted):
    torch = pytest.importorskip("torch")
    model = build()
    x, y = data(rng, batch)
    sw = rng.uniform(0.2, 2.0, batch).astype(np.float32) if weighted else None
    value, grads = engine_grads(model, x, y, sw)

    ws = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in model.get_weights()]
    h = torch.tensor(x.astype(np.float64))
    for i in range(3):
        z = h @ ws[2 * i] + ws[2 * i + 1]
        h = torch.tanh(z) if i < 2 else z
    per = torch.nn.functional.cross_entropy(h, torch.tensor(y), reduction="none")
    w = torch.ones(batch, dtype=torch.float64) if sw is None else torch.tensor(sw, dtype=float)
    loss = (w * per).sum() / batch
    for i, (kernel_reg, bias_reg) in enumerate(REGS):
        for reg, t in ((kernel_reg, ws[2 * i]), (bias_reg, ws[2 * i + 1])):
            if reg is not None:
                l1, l2 = reg.penalty_factors()
                loss = loss + l1 * t.abs().sum() + l2 * (t**2).sum()
    loss.backward()
    assert value == pytest.approx(loss.item(), rel=2e-5)
    for g, t in zip(grads, ws):
        r = t.grad.numpy()
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-5 * max(1.0, np.abs(r).max()))


def test_gradients_match_float64_central_differences(rng):
    """No PyTorch: a float64 NumPy loss with the penalty, differentiated
    numerically (weights stay away from the L1 kink at 0)."""
    regs = [(L1L2(0.05, 0.1), L1(0.2)), (L2(0.3), L1L2(0.1, 0.2))]
    model = models.Sequential(
        [
            layers.Input(shape=(4,)),
            layers.Dense(
                3, activation="tanh", kernel_regularizer=regs[0][0], bias_regularizer=regs[0][1]
            ),
            layers.Dense(2, kernel_regularizer=regs[1][0], bias_regularizer=regs[1][1]),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    weights = [
        (np.sign(w) + (w == 0)) * (0.1 + np.abs(rng.standard_normal(w.shape)))
        for w in model.get_weights()
    ]
    model.set_weights(weights)
    weights = model.get_weights()
    x = rng.standard_normal((6, 4))
    y = rng.standard_normal((6, 2))

    def loss64(ws):
        h = np.tanh(x @ ws[0] + ws[1]) @ ws[2] + ws[3]
        return ((h - y) ** 2).mean() + penalty64(ws, regs)

    value, grads = engine_grads(model, x, y.astype(np.float32))
    w64 = [w.astype(np.float64) for w in weights]
    assert value == pytest.approx(loss64(w64), rel=1e-5)
    step = 1e-6
    for k, w in enumerate(w64):
        num = np.zeros(w.shape)
        for idx in np.ndindex(w.shape):
            plus = [v.copy() for v in w64]
            minus = [v.copy() for v in w64]
            plus[k][idx] += step
            minus[k][idx] -= step
            num[idx] = (loss64(plus) - loss64(minus)) / (2 * step)
        np.testing.assert_allclose(grads[k], num, rtol=1e-4, atol=1e-6)


def test_gradient_is_the_data_gradient_plus_the_penalty_gradient(isa, rng):
    x, y = data(rng, 9)
    with_reg, without = build(), build(regs=None)
    loss_reg, grads_reg = engine_grads(with_reg, x, y)
    loss_plain, grads_plain = engine_grads(without, x, y)
    weights = with_reg.get_weights()
    assert loss_reg == pytest.approx(loss_plain + penalty64(weights), rel=1e-6)
    for g, g0, p in zip(grads_reg, grads_plain, penalty_grads64(weights)):
        np.testing.assert_allclose(g, g0 + p, rtol=1e-6, atol=1e-7)
    # sign(0) = 0: a zero weight under L1 gets no penalty gradient
    zeros = [np.zeros_like(w) for w in weights]
    with_reg.set_weights(zeros)
    without.set_weights(zeros)
    _, grads_reg = engine_grads(with_reg, x, y)
    _, grads_plain = engine_grads(without, x, y)
    for g, g0 in zip(grads_reg, grads_plain):
        np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("lr", [1.0, 0.25])
def test_sgd_step_moves_weights_by_minus_lr_times_the_full_gradient(isa, rng, lr):
    model = build(lr=lr)
    x, y = data(rng, 13)
    before = model.get_weights()
    _, grads = engine_grads(model, x, y)
    model.train_on_batch(x, y)
    for w0, g, w1 in zip(before, grads, model.get_weights()):
        expected = w0 - np.float32(lr) * g
        if lr == 1.0:
            np.testing.assert_array_equal(w1, expected)
        else:
            np.testing.assert_allclose(w1, expected, rtol=1e-6, atol=1e-7)


def test_reported_loss_includes_the_penalty_in_training_and_evaluate(rng):
    """Keras 3 adds the regularization losses in compute_loss, which both the
    train step and the test step call."""
    x, y = data(rng, 40)
    sw = rng.uniform(0.5, 2.0, 40).astype(np.float32)
    model, plain = build(lr=0.0), build(regs=None, lr=0.0)
    penalty = model._net.regularization_penalty
    assert penalty > 0.1
    for kwargs in ({}, {"sample_weight": sw}):
        a = model.evaluate(x, y, batch_size=16, verbose=0, **kwargs)
        b = plain.evaluate(x, y, batch_size=16, verbose=0, **kwargs)
        assert a == pytest.approx(b + penalty, rel=1e-6)
        a = model.test_on_batch(x, y, **kwargs)
        assert a == pytest.approx(b + penalty, rel=1e-6)
        a = model.train_on_batch(x, y, **kwargs)  # lr 0: weights unchanged
        assert a == pytest.approx(b + penalty, rel=1e-6)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    expected = plain.evaluate(x, y, batch_size=16, verbose=0) + penalty
    assert history.history["loss"] == pytest.approx([expected, expected], rel=1e-6)
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y))
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_training_with_l2_shrinks_the_weights_towards_zero(rng):
    x, y = data(rng, 64)
    strong = [(L2(1.0), L2(1.0))] * 3
    model, plain = build(regs=strong, lr=0.05), build(regs=None, lr=0.05)
    for _ in range(20):
        model.train_on_batch(x, y)
        plain.train_on_batch(x, y)
    norm = sum(float((w**2).sum()) for w in model.get_weights())
    norm_plain = sum(float((w**2).sum()) for w in plain.get_weights())
    assert norm < 0.5 * norm_plain


def _regularized_steps(threads):
    fastnn.set_num_threads(threads)
    rng = np.random.default_rng(3)
    # 401 x 700 kernel: 9 chunks of 32768 floats, the parallel path
    model = models.Sequential(
        [
            layers.Input(shape=(401,)),
            layers.Dense(
                700,
                activation="relu",
                kernel_initializer=initializers.GlorotUniform(1),
                kernel_regularizer=L1L2(1e-4, 1e-3),
                bias_regularizer=L1(1e-3),
            ),
            layers.Dense(
                10,
                activation="softmax",
                kernel_initializer=initializers.GlorotUniform(2),
                kernel_regularizer=L2(1e-3),
            ),
        ]
    )
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.05), loss="sparse_categorical_crossentropy"
    )
    model.set_weights([w + 0.01 for w in model.get_weights()])
    x = rng.standard_normal((64, 401)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    losses = [model.train_on_batch(x[s : s + 32], y[s : s + 32]) for s in (0, 32, 0)]
    return losses, model._net.regularization_penalty, model.get_weights()


def test_bit_identical_for_1_and_2_threads(threads):
    losses1, pen1, w1 = _regularized_steps(1)
    losses2, pen2, w2 = _regularized_steps(2)
    assert losses1 == losses2 and pen1 == pen2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


def test_engine_rejects_bad_factors():
    from fastnn import _core

    for key, value in [("kernel_l1", -0.5), ("bias_l2", float("nan")), ("kernel_l2", float("inf"))]:
        spec = {"type": "dense", "units": 3, key: value}
        with pytest.raises(ValueError, match="must be a finite number >= 0"):
            _core.nn.Network(4, [spec])


@pytest.mark.parametrize(
    "kernel_reg, bias_reg",
    [(L1L2(1e-3, 1e-2), L1(0.1)), (L2(1e-2), L2(0.3)), (L1(1e-3), L1L2(0.2, 0.1))],
    ids=["l1l2-l1", "l2-l2", "l1-l1l2"],
)
def test_penalty_and_its_gradient_are_the_same_bits_on_every_isa(kernel_reg, bias_reg):
    """Each kernel of the penalty pass (l1 and l2, l1 alone, l2 alone)."""
    from fastnn import _core

    regs = [(kernel_reg, bias_reg)]
    model = models.Sequential(
        [
            layers.Input(shape=(37,)),
            layers.Dense(
                1001,  # 37037 kernel floats: two chunks, and lane tails
                kernel_initializer=initializers.GlorotUniform(5),
                bias_initializer=initializers.RandomUniform(-1, 1, seed=6),
                kernel_regularizer=regs[0][0],
                bias_regularizer=regs[0][1],
            ),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    # x = 0 and y = the bias: the output is exactly y, the data gradient
    # exactly 0, so the gradient is the penalty's alone
    x = np.zeros((3, 37), np.float32)
    y = np.tile(model.get_weights()[1], (3, 1))
    previous = _core.active_isa()
    results = []
    try:
        for name in _core.available_isas():
            _core.set_isa(name)
            loss, grads = engine_grads(model, x, y)
            results.append((name, model._net.regularization_penalty, loss, grads))
    finally:
        _core.set_isa(previous)
    weights = model.get_weights()
    # (the factors are float32 in the engine: 1e-7 relative)
    assert results[0][1] == pytest.approx(penalty64(weights, regs), rel=1e-7)
    assert results[0][2] == results[0][1]  # the loss is the penalty alone
    for g, p in zip(results[0][3], penalty_grads64(weights, regs)):
        np.testing.assert_allclose(g, p, rtol=1e-6, atol=1e-9)
    for name, penalty, loss, grads in results[1:]:
        assert (penalty, loss) == (results[0][1], results[0][2]), name
        for g, g0 in zip(grads, results[0][3]):
            np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize(
    "make", [lambda: L2(10**400), lambda: L1(10**400), lambda: L1L2(l2=10**400)]
)
def test_an_int_too_large_for_a_float_is_a_value_error(make):
    """Was float()'s OverflowError 'int too large to convert to float'."""
    with pytest.raises(ValueError, match="expected a non-negative float"):
        make()
