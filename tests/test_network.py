"""The C++ Network through fastnn.models.Sequential: gradients against PyTorch
autograd and float64 central differences, exact SGD steps, forward against a
float64 NumPy reference, determinism across threads, bad inputs."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import fastnn
from fastnn import initializers, layers, losses, models, optimizers

ACTIVATIONS = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "gelu_approximate",
    "silu",
    "softplus",
    "softsign",
    "hard_sigmoid",
    "exponential",
]
# (loss, from_logits, last activation): every loss, the fused forms included
LOSS_CASES = [
    ("mean_squared_error", False, "linear"),
    ("mean_absolute_error", False, "tanh"),
    ("huber", False, "linear"),
    ("binary_crossentropy", False, "sigmoid"),  # fused sigmoid + BCE
    ("binary_crossentropy", True, "linear"),
    ("categorical_crossentropy", False, "softmax"),  # fused softmax + CE
    ("categorical_crossentropy", True, "linear"),
    ("sparse_categorical_crossentropy", False, "softmax"),  # fused
    ("sparse_categorical_crossentropy", True, "linear"),
]
WIDTHS = (37, 53, 19, 7)


def build(
    hidden_act="relu",
    last_act="softmax",
    loss="sparse_categorical_crossentropy",
    from_logits=False,
    widths=WIDTHS,
    lr=0.1,
    seed=1,
    metrics=None,
    dropout=None,
):
    stack = [layers.Input(shape=(widths[0],))]
    for i, w in enumerate(widths[1:-1]):
        stack.append(
            layers.Dense(
                w,
                activation=hidden_act,
                kernel_initializer=initializers.GlorotUniform(seed + i),
                bias_initializer=initializers.RandomUniform(-0.3, 0.3, seed=seed + 50 + i),
            )
        )
        if dropout:
            stack.append(layers.Dropout(dropout, seed=seed + 100 + i))
    stack.append(
        layers.Dense(
            widths[-1],
            activation=last_act,
            kernel_initializer=initializers.GlorotUniform(seed + 99),
            bias_initializer=initializers.RandomUniform(-0.3, 0.3, seed=seed + 98),
        )
    )
    model = models.Sequential(stack)
    loss_obj = losses._resolve(loss)
    loss_obj.from_logits = from_logits
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss=loss_obj, metrics=metrics)
    return model


def targets(rng, loss, n, c):
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, c, n)
    if loss == "categorical_crossentropy":
        return np.eye(c)[rng.integers(0, c, n)].astype(np.float32)
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, (n, c)).astype(np.float32)
    return rng.standard_normal((n, c)).astype(np.float32)


TORCH_ACTS = {
    "linear": lambda t, F: t,
    "relu": lambda t, F: F.relu(t),
    "sigmoid": lambda t, F: F.sigmoid(t),
    "tanh": lambda t, F: F.tanh(t),
    "softmax": lambda t, F: F.softmax(t, -1),
    "leaky_relu": lambda t, F: F.leaky_relu(t, 0.2),
    "elu": lambda t, F: F.elu(t),
    "selu": lambda t, F: F.selu(t),
    "gelu": lambda t, F: F.gelu(t),
    "gelu_approximate": lambda t, F: F.gelu(t, approximate="tanh"),
    "silu": lambda t, F: F.silu(t),
    "softplus": lambda t, F: F.softplus(t),
    "softsign": lambda t, F: F.softsign(t),
    "hard_sigmoid": lambda t, F: (t / 6 + 0.5).clamp(0, 1),
    "exponential": lambda t, F: t.exp(),
}


def torch_loss(torch, loss, from_logits, out, y, sw, n, c):
    """Keras definitions on the network output (probabilities or logits)."""
    F = torch.nn.functional
    eps = 1e-7
    if loss == "sparse_categorical_crossentropy":
        t = F.one_hot(torch.tensor(np.asarray(y, np.int64)), c).double()
        loss = "categorical_crossentropy"
    else:
        t = torch.tensor(np.asarray(y, np.float64))
    if loss == "mean_squared_error":
        per = ((out - t) ** 2).mean(-1)
    elif loss == "mean_absolute_error":
        per = (out - t).abs().mean(-1)
    elif loss == "huber":
        per = F.huber_loss(out, t, reduction="none").mean(-1)
    elif loss == "binary_crossentropy":
        if from_logits:
            per = F.binary_cross_entropy_with_logits(out, t, reduction="none").mean(-1)
        else:
            p = out.clamp(eps, 1 - eps)
            per = -(t * p.log() + (1 - t) * (1 - p).log()).mean(-1)
    else:
        if from_logits:
            per = -(t * out.log_softmax(-1)).sum(-1)
        else:
            p = (out / out.sum(-1, keepdim=True)).clamp(eps, 1 - eps)
            per = -(t * p.log()).sum(-1)
    w = torch.ones(n, dtype=torch.float64) if sw is None else torch.tensor(sw.astype(np.float64))
    return (w * per).sum() / n


def torch_grads(torch, model, hidden_act, last_act, loss, from_logits, x, y, sw):
    F = torch.nn.functional
    ws = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in model.get_weights()]
    h = torch.tensor(x.astype(np.float64))
    n_dense = len(ws) // 2
    for i in range(n_dense):
        z = h @ ws[2 * i] + ws[2 * i + 1]
        h = TORCH_ACTS[hidden_act if i < n_dense - 1 else last_act](z, F)
    # Keras (and the engine) evaluate a cross-entropy on softmax/sigmoid
    # outputs from the logits; the two agree wherever no clip is active.
    fused = not from_logits and (
        (loss.endswith("categorical_crossentropy") and last_act == "softmax")
        or (loss == "binary_crossentropy" and last_act == "sigmoid")
    )
    out, logits = (z, True) if fused else (h, from_logits)
    value = torch_loss(torch, loss, logits, out, y, sw, x.shape[0], h.shape[1])
    value.backward()
    return value.item(), [w.grad.numpy() for w in ws], h.detach().numpy()


def engine_grads(model, x, y, sw=None):
    result = model._net.train_batch(np.ascontiguousarray(x, np.float32), y, sw)
    return result["loss"], [g.copy() for g in model._net.grad_views()]


@pytest.mark.parametrize("batch", [1, 5, 64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_gradients_match_torch_every_activation(isa, rng, act, batch, weighted):
    torch = pytest.importorskip("torch")
    model = build(hidden_act=act, last_act="softmax")
    x = rng.standard_normal((batch, WIDTHS[0])).astype(np.float32)
    y = rng.integers(0, WIDTHS[-1], batch)
    sw = rng.uniform(0.2, 2.0, batch).astype(np.float32) if weighted else None
    loss, grads = engine_grads(model, x, y, sw)
    ref_loss, ref_grads, _ = torch_grads(
        torch, model, act, "softmax", "sparse_categorical_crossentropy", False, x, y, sw
    )
    assert loss == pytest.approx(ref_loss, rel=2e-5, abs=1e-6)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-5 * max(1.0, np.abs(r).max()))


@pytest.mark.parametrize("batch", [1, 5, 64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss,from_logits,last", LOSS_CASES)
def test_gradients_match_torch_every_loss(isa, rng, loss, from_logits, last, batch, weighted):
    torch = pytest.importorskip("torch")
    model = build(hidden_act="tanh", last_act=last, loss=loss, from_logits=from_logits)
    fused = loss.endswith("crossentropy") and not from_logits
    assert model._net.fused_output == fused
    x = rng.standard_normal((batch, WIDTHS[0])).astype(np.float32)
    y = targets(rng, loss, batch, WIDTHS[-1])
    sw = rng.uniform(0.2, 2.0, batch).astype(np.float32) if weighted else None
    value, grads = engine_grads(model, x, y, sw)
    ref_value, ref_grads, _ = torch_grads(torch, model, "tanh", last, loss, from_logits, x, y, sw)
    assert value == pytest.approx(ref_value, rel=2e-5, abs=1e-6)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-5 * max(1.0, np.abs(r).max()))


def _numpy_forward(weights, acts, x):
    """float64 reference of the network, with NumPy only."""
    refs = {
        "linear": lambda h: h,
        "relu": lambda h: np.maximum(h, 0),
        "tanh": np.tanh,
        "sigmoid": lambda h: 1 / (1 + np.exp(-h)),
        "softmax": lambda h: (
            np.exp(h - h.max(-1, keepdims=True))
            / np.exp(h - h.max(-1, keepdims=True)).sum(-1, keepdims=True)
        ),
        "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0))),
    }
    h = x.astype(np.float64)
    for i, act in enumerate(acts):
        h = refs[act](h @ weights[2 * i].astype(np.float64) + weights[2 * i + 1])
    return h


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "elu"])
@pytest.mark.parametrize("batch", [1, 5, 64, 100])
def test_forward_matches_numpy_float64(isa, rng, hidden, batch):
    model = build(hidden_act=hidden)
    x = rng.standard_normal((batch, WIDTHS[0]))
    expected = _numpy_forward(model.get_weights(), [hidden, hidden, "softmax"], x)
    for bs in (None, 1, 7):
        np.testing.assert_allclose(model.predict(x, batch_size=bs), expected, rtol=1e-5, atol=1e-6)


def test_loss_gradient_matches_central_differences_float64(rng):
    """Without PyTorch: the loss of the engine is checked against a float64
    NumPy forward, and the kernel gradient against central differences of it."""
    model = build(hidden_act="tanh", last_act="softmax", widths=(5, 4, 3))
    x = rng.standard_normal((6, 5))
    y = rng.integers(0, 3, 6)
    weights = model.get_weights()

    def loss64(ws):
        p = _numpy_forward(ws, ["tanh", "softmax"], x)
        return -np.log(p[np.arange(6), y]).mean()

    value, grads = engine_grads(model, x, y)
    assert value == pytest.approx(loss64(weights), rel=1e-5)
    h = 1e-6
    for k, w in enumerate(weights):
        num = np.zeros(w.shape)
        for idx in np.ndindex(w.shape):
            plus = [v.astype(np.float64).copy() for v in weights]
            minus = [v.astype(np.float64).copy() for v in weights]
            plus[k][idx] += h
            minus[k][idx] -= h
            num[idx] = (loss64(plus) - loss64(minus)) / (2 * h)
        np.testing.assert_allclose(grads[k], num, rtol=1e-4, atol=1e-6)


def test_sgd_lr_one_moves_each_weight_by_minus_its_gradient(isa, rng):
    model = build(lr=1.0, dropout=0.3)
    x = rng.standard_normal((13, WIDTHS[0])).astype(np.float32)
    y = rng.integers(0, WIDTHS[-1], 13)
    before = model.get_weights()
    iterations = model._net.iterations
    _, grads = engine_grads(model, x, y)  # same step counter -> same dropout masks
    model._net.iterations = iterations
    model.train_on_batch(x, y)
    for w0, g, w1 in zip(before, grads, model.get_weights()):
        np.testing.assert_array_equal(w1, w0 - g)
    assert model._net.iterations == iterations + 1


def _train_20_steps(threads, isa_name):
    from fastnn import _core

    fastnn.set_num_threads(threads)
    _core.set_isa(isa_name)
    rng = np.random.default_rng(7)
    model = build(hidden_act="relu", widths=(300, 257, 129, 10), dropout=0.25, seed=3)
    x = rng.standard_normal((512, 300)).astype(np.float32)
    y = rng.integers(0, 10, 512)
    for step in range(20):
        sl = slice((step * 61) % 400, (step * 61) % 400 + 97)
        model.train_on_batch(x[sl], y[sl])
    return model.get_weights()


def test_bit_identical_weights_for_1_and_2_threads(isa, threads):
    one = _train_20_steps(1, isa)
    two = _train_20_steps(2, isa)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threads_used", [1, 2])
def test_avx512_trains_to_the_avx2_weights(threads, threads_used):
    """Only the GEMM's tiles differ between the two levels, and its products
    are bit-identical, so 20 steps (dropout, batches of 97 rows, widths that
    are not multiples of 8 or 32) give the same weights on either."""
    from fastnn import _core

    if not {"avx2", "avx512"} <= set(_core.available_isas()):
        pytest.skip("needs a CPU with both AVX2 and AVX-512")
    previous = _core.active_isa()
    try:
        avx2 = _train_20_steps(threads_used, "avx2")
        avx512 = _train_20_steps(threads_used, "avx512")
    finally:
        _core.set_isa(previous)
    for a, b in zip(avx2, avx512):
        np.testing.assert_array_equal(a, b)


# (300, 96, 64, 5) at batch 32 opens a team session on 2 threads, where the
# workers copy the next batch's rows while the caller runs the small last layer
# and the loss (Network::train_epoch).
@pytest.mark.parametrize(
    "widths, threads_used",
    [(WIDTHS, 1), (WIDTHS, 2), ((300, 96, 64, 5), 1), ((300, 96, 64, 5), 2)],
)
@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_train_epoch_equals_train_on_batch_steps(rng, threads, widths, threads_used, loss):
    fastnn.set_num_threads(threads_used)
    x = rng.standard_normal((103, widths[0])).astype(np.float32)
    y = targets(rng, loss, 103, widths[-1])
    sw = rng.uniform(0.5, 1.5, 103).astype(np.float32)
    order = rng.permutation(103)
    a = build(metrics=["accuracy"], dropout=0.2, widths=widths, loss=loss)
    b = build(metrics=["accuracy"], dropout=0.2, widths=widths, loss=loss)
    logs = [
        a.train_on_batch(x[order[s : s + 32]], y[order[s : s + 32]], sw[order[s : s + 32]])
        for s in range(0, 103, 32)
    ]
    b._ensure_optimizer_built()
    data = b._net.prepare(x, y, sw)
    kernel, rates = b.optimizer._kernel, np.full(8, 0.1)
    first = b._net.train_epoch(data, order, 32, 0, 2, kernel, rates)
    rest = b._net.train_epoch(data, order, 32, 2, 10, kernel, rates)  # stops after 4 steps
    assert (first["steps"], rest["steps"]) == (2, 2)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    sizes = [32, 32, 32, 7]  # the last, smaller batch
    expected_loss = sum(n * lg[0] for n, lg in zip(sizes, logs)) / 103
    # the logs are float32 (as Keras's), the engine's sums float64
    assert (first["loss_sum"] + rest["loss_sum"]) / 103 == pytest.approx(expected_loss, rel=1e-7)


def test_fused_softmax_ce_equals_unfused_definition(rng):
    model = build(last_act="softmax", loss="categorical_crossentropy")
    assert model._net.fused_output
    x = rng.standard_normal((9, WIDTHS[0]))
    y = targets(rng, "categorical_crossentropy", 9, WIDTHS[-1])
    probs = model.predict(x)
    unfused, _ = fastnn.ops.loss(y, probs, "categorical_crossentropy")
    data = model._net.prepare(np.asarray(x, np.float32), y)
    assert model._net.evaluate(data)["loss"] == pytest.approx(unfused, rel=1e-5)


def test_metrics_and_return_forms(rng):
    model = build(metrics=["accuracy", "sparse_categorical_accuracy"])
    x = rng.standard_normal((20, WIDTHS[0]))
    y = rng.integers(0, WIDTHS[-1], 20)
    pred = model.predict(x)
    acc = float(np.mean(pred.argmax(1) == y))
    loss, a1, a2 = model.train_on_batch(x, y)
    assert a1 == a2 == pytest.approx(acc)
    logs = model.train_on_batch(x, y, return_dict=True)
    assert list(logs) == ["accuracy", "loss", "sparse_categorical_accuracy"]


def test_any_dtype_and_layout_gives_the_same_step(rng):
    x = rng.standard_normal((16, 2 * WIDTHS[0]))
    y = rng.integers(0, WIDTHS[-1], 16)
    a, b = build(), build()
    a.train_on_batch(np.ascontiguousarray(x[:, ::2], np.float32), y.astype(np.int32))
    b.train_on_batch(x[:, ::2], y.astype(np.float64))  # float64, non-contiguous, float labels
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    c = build()
    c.train_on_batch(np.asfortranarray((x[:, ::2] * 3).astype(np.int64)), y)  # ints accepted


BAD_INPUTS = [
    ("wrong_rank", lambda x, y: (x.reshape(8, 1, 37), y), r"add a Flatten layer or reshape"),
    ("wrong_width", lambda x, y: (x[:, :30], y), r"\(n, 30\) but the model takes \(n, 37\)"),
    ("label_high", lambda x, y: (x, np.where(np.arange(8) == 3, 7, y)), r"label 7.* in \[0, 7\)"),
    ("label_negative", lambda x, y: (x, np.where(np.arange(8) == 2, -1, y)), r"label -1.*\[0, 7\)"),
    ("label_fraction", lambda x, y: (x, y + 0.5), r"label 0?\.?\d*\.5"),
    ("one_hot_for_sparse", lambda x, y: (x, np.eye(7)[y]), r"one-hot labels"),
    ("length_mismatch", lambda x, y: (x, y[:5]), r"same number of samples.* 8 .*\(5,\)"),
    ("empty", lambda x, y: (x[:0], y[:0]), r"empty batch"),
    ("nan", lambda x, y: (np.where(np.arange(37) == 4, np.nan, x), y), r"NaN at row 0, column 4"),
    ("inf", lambda x, y: (np.where(np.arange(37) == 5, np.inf, x), y), r"Inf at row 0, column 5"),
    ("strings", lambda x, y: (x.astype(str), y), r"real numbers"),
]


@pytest.mark.parametrize("case,make,message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_raises_and_changes_no_weight(rng, case, make, message):
    model = build()
    x = rng.standard_normal((8, 37)).astype(np.float32)
    y = rng.integers(0, 7, 8)
    before = model.get_weights()
    iterations = model._net.iterations
    bx, by = make(x, y)
    with pytest.raises((ValueError, TypeError), match=message):
        model.train_on_batch(bx, by)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model._net.iterations == iterations


def test_bad_one_hot_width_and_sample_weights(rng):
    model = build(loss="categorical_crossentropy")
    x = rng.standard_normal((8, 37))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"y of shape \(8, 7\).* got \(8, 6\)"):
        model.train_on_batch(x, np.eye(6)[rng.integers(0, 6, 8)])
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(8,\)"):
        model.train_on_batch(x, np.eye(7)[rng.integers(0, 7, 8)], sample_weight=np.ones(7))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_in_keras_order_and_views_keep_the_network_alive(rng):
    model = models.Sequential(
        [layers.Input(shape=(4,)), layers.Dense(3), layers.Dense(2, use_bias=False)]
    )
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(4, 3), (3,), (3, 2)]
    assert model.count_params() == 4 * 3 + 3 + 3 * 2
    new = [rng.standard_normal(s) for s in shapes]
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    with pytest.raises(ValueError, match=r"weight 1 must have shape \(3,\), got \(4,\)"):
        model.set_weights([new[0], np.zeros(4), new[2]])
    np.testing.assert_array_equal(model.get_weights()[0], new[0].astype(np.float32))
    view = model.layers[0].kernel
    del model
    gc.collect()
    np.testing.assert_array_equal(view, new[0].astype(np.float32))
    assert view.ctypes.data % 64 == 0


def test_dropout_is_identity_in_inference_and_scaled_in_training(rng):
    model = models.Sequential(
        [
            layers.Input(shape=(1000,)),
            layers.Dropout(0.3, seed=1),
            layers.Dense(1, use_bias=False, kernel_initializer="ones"),
        ]
    )
    model.compile("sgd", "mse")
    x = np.ones((4, 1000), np.float32)
    np.testing.assert_allclose(model.predict(x), 1000.0)
    model._net.train_batch(x, np.zeros((4, 1)))
    grad = model._net.grad_views()[0][:, 0]  # sum over rows of x * mask * 2 * out / 4
    assert np.count_nonzero(grad) > 0
    net = model._net
    # kept fraction ~ 0.7; the masked output sum is 1000 * 0.7 / 0.7 on average
    kept = []
    for step in range(5):
        net.iterations = step
        net.train_batch(x, np.zeros((4, 1)))
        kept.append(np.count_nonzero(net.grad_views()[0]))
    assert 0.9 < np.mean(kept) / 1000 <= 1.0  # a weight is zero only if every row dropped it
    assert len(set(kept)) > 1  # masks change with the step


def test_initializers_statistics_and_seeds():
    g = initializers.GlorotUniform(seed=3)((300, 200))
    lim = np.sqrt(6 / 500)
    assert np.abs(g).max() <= lim and np.abs(g).max() > 0.99 * lim
    np.testing.assert_array_equal(g, initializers.GlorotUniform(seed=3)((300, 200)))
    assert not np.array_equal(g, initializers.GlorotUniform(seed=4)((300, 200)))
    he = initializers.HeNormal(seed=1)((1000, 100))
    std = np.sqrt(2 / 1000) / 0.87962566103423978
    assert np.abs(he).max() <= 2 * std * (1 + 1e-6)
    assert he.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    for cls, fan in [(initializers.GlorotNormal, 2 / 1100), (initializers.LecunNormal, 1 / 1000)]:
        assert cls(seed=5)((1000, 100)).std() == pytest.approx(np.sqrt(fan), rel=0.02)
    assert initializers.HeUniform(seed=2)((500, 10)).max() <= np.sqrt(6 / 500)
    rn = initializers.RandomNormal(seed=1)((200, 200))
    assert rn.std() == pytest.approx(0.05, rel=0.02) and abs(rn.mean()) < 0.002
    ru = initializers.RandomUniform(seed=1)((200, 200))
    assert ru.min() >= -0.05 and ru.max() < 0.05
    np.testing.assert_array_equal(initializers.get("zeros")((3,)), 0)
    np.testing.assert_array_equal(initializers.get("Ones")((3,)), 1)
    with pytest.raises(ValueError, match="Unknown initializer 'glorot'"):
        initializers.get("glorot")


def test_initializers_take_keras_s_normal_and_uniform_ids():
    # keras.initializers.get("normal") is RandomNormal(0, 0.05), "uniform" RandomUniform(+-0.05)
    assert type(initializers.get("normal")) is initializers.RandomNormal
    assert type(initializers.get("uniform")) is initializers.RandomUniform
    fastnn.utils.set_random_seed(2)
    model = models.Sequential(
        [
            layers.Input((400,)),
            layers.Dense(300, kernel_initializer="normal", bias_initializer="uniform"),
            layers.Dense(200, kernel_initializer="uniform"),
        ]
    )
    first, bias, second, _ = model.get_weights()
    assert first.std() == pytest.approx(0.05, rel=0.02)
    assert 0 < np.abs(bias).max() < 0.05 and np.abs(second).max() < 0.05
    assert second.std() == pytest.approx(0.1 / np.sqrt(12), rel=0.02)
    config = model.layers[0].get_config()["kernel_initializer"]
    assert config["class_name"] == "RandomNormal"
    assert config["config"]["stddev"] == 0.05


def test_initializers_have_keras_lower_case_aliases():
    # Keras 3: keras.initializers.he_normal is HeNormal, so he_normal(seed=1) builds one.
    for alias, cls in [
        ("he_normal", initializers.HeNormal),
        ("glorot_uniform", initializers.GlorotUniform),
        ("random_normal", initializers.RandomNormal),
        ("zeros", initializers.Zeros),
        ("constant", initializers.Constant),
    ]:
        assert getattr(initializers, alias) is cls
    layer = layers.Dense(3, kernel_initializer=initializers.he_normal(seed=1))
    model = models.Sequential([layers.Input((4,)), layer])
    expected = initializers.HeNormal(seed=1)((4, 3))
    np.testing.assert_array_equal(model.get_weights()[0], expected)


@pytest.mark.parametrize("name", ["sgd", "SGD", "adam", "adamw", "rmsprop", "adagrad"])
def test_compile_takes_every_optimizer_by_string_id(name):
    model = models.Sequential([layers.Dense(1, input_dim=2)])
    model.compile(name, "mse")
    assert type(model.optimizer).__name__.lower() == name.lower()
    model.train_on_batch(np.ones((4, 2)), np.ones((4, 1)))
    assert model.optimizer.iterations == 1


def test_compile_rejects_what_is_not_an_optimizer():
    model = models.Sequential([layers.Dense(1, input_dim=2)])

    class Adam:
        learning_rate = 0.001

    with pytest.raises(ValueError, match="Could not interpret optimizer"):
        model.compile(Adam(), "mse")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: 'adamx2'"):
        model.compile("adamx2", "mse")


def test_metric_must_fit_the_targets_of_the_loss():
    model = models.Sequential([layers.Dense(3, input_dim=2)])
    model.compile("sgd", "mse")
    for metric, loss, message in [
        ("binary_accuracy", "scce", "needs labels shaped like the predictions.*takes class ids"),
        ("sparse_categorical_accuracy", "mse", r"needs integer labels.*takes targets of shape"),
    ]:
        with pytest.raises(ValueError, match=f"Metric '{metric}'.*{message}"):
            model.compile("sgd", loss, metrics=[metric])
        assert model.loss == "mse"  # a failed compile changes nothing
    net = models.Sequential([layers.Dense(3, input_dim=2)])._net
    with pytest.raises(ValueError, match="binary_accuracy needs one-hot or binary targets"):
        net.set_loss("sparse_categorical_crossentropy", metrics=["binary_accuracy"])
    with pytest.raises(ValueError, match="sparse_categorical_accuracy needs integer class ids"):
        net.set_loss("mse", metrics=["sparse_categorical_accuracy"])


def test_keras_style_errors():
    with pytest.raises(ValueError, match="Unknown activation 'relux'"):
        layers.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="Unknown loss 'msee'"):
        models.Sequential([layers.Dense(1, input_dim=2)]).compile("sgd", "msee")
    with pytest.raises(ValueError, match=r"Dropout rate must be in \[0, 1\)"):
        layers.Dropout(1.0)
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model"):
        models.Sequential([layers.Dense(1, input_dim=2)]).train_on_batch(
            np.ones((1, 2)), np.ones(1)
        )
    with pytest.raises(ValueError, match="add a Flatten layer"):
        models.Sequential([layers.Input(shape=(28, 28)), layers.Dense(3)])
    model = models.Sequential([layers.Input(shape=(28, 28))])
    with pytest.raises(ValueError, match="add a Flatten layer"):
        model.add(layers.Dense(3))
    assert model.layers == []


# y targets and sample weights pass the same finiteness check as x (threads
# from 8 chunks of 32,768 floats): a bad value anywhere is named by its index,
# and nothing changes. 30,000 rows x 7 one-hot columns = 210,000 floats of y
# (7 chunks: one thread), 40,000 rows = 280,000 (9 chunks: threads).
@pytest.mark.parametrize("rows", [3, 30000, 40000])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_targets_and_weights_are_named(isa, threads, rng, rows, bad):
    model = build(loss="categorical_crossentropy")
    net = model._net
    x = rng.standard_normal((rows, WIDTHS[0])).astype(np.float32)
    y = np.eye(WIDTHS[-1], dtype=np.float32)[rng.integers(0, WIDTHS[-1], rows)]
    sw = np.ones(rows, np.float32)
    before = [w.copy() for w in model.get_weights()]
    for nt in (1, 2):
        fastnn.set_num_threads(nt)
        for flat in sorted({0, y.size // 2, y.size - 1}):
            y.flat[flat] = bad
            with pytest.raises(ValueError, match=rf"^y contains NaN or Inf at flat index {flat}$"):
                net.train_batch(x, y, None)
            y.flat[flat] = 0.0
        for i in sorted({0, rows // 2, rows - 1}):
            sw[i] = bad
            with pytest.raises(
                ValueError, match=rf"^sample_weight contains NaN or Inf at index {i}$"
            ):
                net.train_batch(x, y, sw)
            sw[i] = 1.0
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
