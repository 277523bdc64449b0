"""Fused losses (value and gradient) against float64 NumPy references,
central differences and PyTorch autograd."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn

EPS = 1e-7
LOSSES = [
    ("mean_squared_error", False),
    ("mean_absolute_error", False),
    ("huber", False),
    ("binary_crossentropy", False),
    ("binary_crossentropy", True),
    ("categorical_crossentropy", False),
    ("categorical_crossentropy", True),
    ("sparse_categorical_crossentropy", False),
    ("sparse_categorical_crossentropy", True),
]


def _log_softmax(z):
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def ref_loss(name, from_logits, y_true, y_pred, sw=None, delta=1.0):
    """Keras 3 definitions in float64, reduction sum_over_batch_size."""
    o = y_pred.astype(np.float64)
    n, c = o.shape
    if name == "sparse_categorical_crossentropy":
        t = np.eye(c)[y_true.astype(int)]
        name = "categorical_crossentropy"
    else:
        t = y_true.astype(np.float64)
    if name == "mean_squared_error":
        per = ((o - t) ** 2).mean(-1)
    elif name == "mean_absolute_error":
        per = np.abs(o - t).mean(-1)
    elif name == "huber":
        e = np.abs(o - t)
        q = np.minimum(e, delta)
        per = (0.5 * q**2 + delta * (e - q)).mean(-1)
    elif name == "binary_crossentropy":
        if from_logits:
            per = (np.maximum(o, 0) - o * t + np.log1p(np.exp(-np.abs(o)))).mean(-1)
        else:
            p = np.clip(o, EPS, 1 - EPS)
            per = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)
    else:
        if from_logits:
            per = -(t * _log_softmax(o)).sum(-1)
        else:
            p = np.clip(o / o.sum(-1, keepdims=True), EPS, 1 - EPS)
            per = -(t * np.log(p)).sum(-1)
    w = np.ones(n) if sw is None else sw.astype(np.float64)
    return float((w * per).sum() / n)


def make_case(rng, name, from_logits, n, c):
    if from_logits or name in ("mean_squared_error", "mean_absolute_error", "huber"):
        pred = rng.standard_normal((n, c)) * 2
    elif name == "binary_crossentropy":
        pred = rng.uniform(0.05, 0.95, (n, c))
    else:  # probabilities that are not normalised (Keras renormalises)
        pred = rng.uniform(0.05, 1.0, (n, c))
    if name == "sparse_categorical_crossentropy":
        y = rng.integers(0, c, n)
    elif name == "categorical_crossentropy":
        y = np.eye(c)[rng.integers(0, c, n)]
    elif name == "binary_crossentropy":
        y = rng.integers(0, 2, (n, c)).astype(np.float64)
    else:
        y = rng.standard_normal((n, c))
    return y, pred.astype(np.float32)


@pytest.mark.parametrize("name,from_logits", LOSSES)
@pytest.mark.parametrize("n,c", [(1, 1), (5, 7), (64, 10), (3, 37), (4, 65), (3, 1000)])
@pytest.mark.parametrize("weighted", [False, True])
def test_value_and_gradient_match_float64(rng, name, from_logits, n, c, weighted):
    if name == "sparse_categorical_crossentropy" and c == 1 and not from_logits:
        pass  # one class: p = 1, clipped; still well defined
    y, pred = make_case(rng, name, from_logits, n, c)
    sw = rng.uniform(0, 2, n).astype(np.float32) if weighted else None
    loss, grad = fastnn.ops.loss(
        y, pred, name, from_logits=from_logits, sample_weight=sw, delta=0.7
    )
    expected = ref_loss(name, from_logits, y, pred, sw, delta=0.7)
    assert loss == pytest.approx(expected, rel=1e-6, abs=1e-7)
    # central differences of the float64 reference
    p64 = pred.astype(np.float64)
    num = np.zeros_like(p64)
    h = 1e-6
    for idx in np.ndindex(p64.shape):
        e = np.zeros_like(p64)
        e[idx] = h
        num[idx] = (
            ref_loss(name, from_logits, y, p64 + e, sw, 0.7)
            - ref_loss(name, from_logits, y, p64 - e, sw, 0.7)
        ) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,from_logits", LOSSES)
def test_gradient_matches_torch_autograd(rng, name, from_logits):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    n, c = 17, 5
    y, pred = make_case(rng, name, from_logits, n, c)
    sw = rng.uniform(0, 2, n)
    o = torch.tensor(pred.astype(np.float64), requires_grad=True)
    w = torch.tensor(sw)
    if name == "sparse_categorical_crossentropy":
        t = F.one_hot(torch.tensor(y), c).double()
    else:
        t = torch.tensor(y.astype(np.float64))
    if name == "mean_squared_error":
        per = ((o - t) ** 2).mean(-1)
    elif name == "mean_absolute_error":
        per = (o - t).abs().mean(-1)
    elif name == "huber":
        per = F.huber_loss(o, t, reduction="none", delta=1.0).mean(-1)
    elif name == "binary_crossentropy":
        if from_logits:
            per = F.binary_cross_entropy_with_logits(o, t, reduction="none").mean(-1)
        else:
            p = o.clamp(EPS, 1 - EPS)
            per = -(t * p.log() + (1 - t) * (1 - p).log()).mean(-1)
    else:
        if from_logits:
            per = -(t * torch.log_softmax(o, -1)).sum(-1)
        else:
            p = (o / o.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
            per = -(t * p.log()).sum(-1)
    total = (w * per).sum() / n
    total.backward()
    loss, grad = fastnn.ops.loss(y, pred, name, from_logits=from_logits, sample_weight=sw)
    assert loss == pytest.approx(total.item(), rel=1e-6)
    np.testing.assert_allclose(grad, o.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_logits_forms_are_stable_for_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], np.float32)
    loss, grad = fastnn.ops.loss(
        np.array([1, 2]), z, "sparse_categorical_crossentropy", from_logits=True
    )
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert loss == pytest.approx((2e4 + np.log(3)) / 2, rel=1e-6)
    loss, grad = fastnn.ops.loss(np.array([[0.0, 1, 1], [1, 0, 1]]), z, "bce", from_logits=True)
    assert np.isfinite(loss) and np.isfinite(grad).all()


def test_probability_clipping_like_keras():
    # p = 0 is clipped to 1e-7: loss = -log(1e-7), gradient 0 through the clip
    loss, grad = fastnn.ops.loss(
        np.array([[1.0]]), np.array([[0.0]], np.float32), "binary_crossentropy"
    )
    assert loss == pytest.approx(-np.log(1e-7), rel=1e-6)
    assert grad[0, 0] == 0.0


def test_aliases_and_bad_inputs(rng):
    y, pred = make_case(rng, "mean_squared_error", False, 4, 3)
    assert fastnn.ops.loss(y, pred, "mse")[0] == fastnn.ops.loss(y, pred, "mean_squared_error")[0]
    with pytest.raises(ValueError, match="Unknown loss 'msee'"):
        fastnn.ops.loss(y, pred, "msee")
    with pytest.raises(ValueError, match=r"shape of y_pred \(4, 3\), got \(4, 2\)"):
        fastnn.ops.loss(y[:, :2], pred, "mse")
    with pytest.raises(ValueError, match=r"label 3.* outside|label 3.*\[0, 3\)"):
        fastnn.ops.loss(np.array([0, 1, 3, 0]), pred, "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"label -1"):
        fastnn.ops.loss(np.array([0, -1, 2, 0]), pred, "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\) or \(4, 1\)"):
        fastnn.ops.loss(y, pred, "mse", sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"sample_weight must have shape .*got \(4, 2\)"):
        fastnn.ops.loss(y, pred, "mse", sample_weight=np.ones((4, 2)))
    # (n, 1), as models take it: the same as (n,)
    weights = np.array([0.5, 2.0, 0.0, 1.0])
    as_column = fastnn.ops.loss(y, pred, "mse", sample_weight=weights[:, None])
    as_vector = fastnn.ops.loss(y, pred, "mse", sample_weight=weights)
    assert as_column[0] == as_vector[0]
    np.testing.assert_array_equal(as_column[1], as_vector[1])
    with pytest.raises(ValueError, match="delta must be > 0"):
        fastnn.ops.loss(y, pred, "huber", delta=0.0)


def test_any_layout_and_dtype(rng):
    y, pred = make_case(rng, "categorical_crossentropy", True, 9, 6)
    wide = np.asfortranarray(np.repeat(pred.astype(np.float64), 2, axis=1))
    loss_a, grad_a = fastnn.ops.loss(y, pred, "cce", from_logits=True)
    loss_b, grad_b = fastnn.ops.loss(y.astype(np.int64), wide[:, ::2], "cce", from_logits=True)
    assert loss_a == loss_b
    np.testing.assert_array_equal(grad_a, grad_b)
    labels = y.argmax(1)
    loss_c, _ = fastnn.ops.loss(labels.astype(np.float32), pred, "scce", from_logits=True)
    assert loss_c == pytest.approx(loss_a, rel=1e-12)
    loss_d, _ = fastnn.ops.loss(labels[:, None], pred, "scce", from_logits=True)
    assert loss_d == loss_c


@pytest.mark.parametrize("name,from_logits", LOSSES)
def test_wide_outputs_split_rows_over_threads_with_the_same_bits(rng, name, from_logits):
    """64 x 1,000 outputs (past 32,768 elements) run on every thread; the
    total is summed in row order, so any thread count gives the same bits."""
    y, pred = make_case(rng, name, from_logits, 64, 1000)
    sw = rng.uniform(0, 2, 64).astype(np.float32)
    previous = fastnn.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            fastnn.set_num_threads(threads)
            results.append(
                fastnn.ops.loss(y, pred, name, from_logits=from_logits, sample_weight=sw, delta=0.7)
            )
    finally:
        fastnn.set_num_threads(previous)
    for loss, grad in results[1:]:
        assert loss == results[0][0]
        np.testing.assert_array_equal(grad, results[0][1])


# -- Keras's loss functions (keras.losses.mean_squared_error ...) -----------------------


@pytest.mark.parametrize("name,from_logits", LOSSES)
def test_loss_functions_give_keras_per_sample_losses(rng, name, from_logits):
    # Keras's functions return one loss per sample; their mean is the
    # sum_over_batch_size loss the classes and the C++ kernel compute.
    y, pred = make_case(rng, name, from_logits, 6, 4)
    function = getattr(fastnn.losses, name)
    kwargs = {"from_logits": True} if from_logits else {}
    per_sample = function(y, pred, **kwargs)
    assert per_sample.shape == (6,)
    np.testing.assert_allclose(per_sample.mean(), ref_loss(name, from_logits, y, pred), rtol=1e-12)
    assert fastnn.losses.get(function) is function  # keras.losses.get returns it
    loss = fastnn.losses._resolve(function)  # what compile trains with
    assert isinstance(loss, function._loss_class)
    expected = type(loss)(from_logits=True) if from_logits else loss
    np.testing.assert_allclose(per_sample.mean(), expected(y, pred), rtol=1e-5)


def test_loss_functions_keras_values_and_shapes():
    # Values from Keras 3.15 (torch backend): clipped probabilities, a label
    # of rank one less than the prediction, 1-D inputs reduced to a scalar.
    bce = fastnn.losses.binary_crossentropy(np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]]))
    np.testing.assert_allclose(bce, [16.118095, 16.118095], rtol=1e-6)
    assert fastnn.losses.binary_crossentropy(np.array([1.0, 0.0]), np.array([0.6, 0.3])).shape == ()
    mse = fastnn.losses.mean_squared_error(np.array([1.0, 2.0]), np.array([[0.0], [4.0]]))
    np.testing.assert_array_equal(mse, [1.0, 4.0])
    np.testing.assert_allclose(fastnn.losses.huber([[0.0, 0.0]], [[0.5, 2.0]], delta=1.0), [0.8125])
    with pytest.raises(ValueError, match="same shape"):
        fastnn.losses.mean_squared_error(np.zeros((3, 2)), np.zeros((3, 3)))


@pytest.mark.parametrize(
    "function, labels, activation, width",
    [
        ("sparse_categorical_crossentropy", "ids", "softmax", 3),
        ("categorical_crossentropy", "one_hot", "softmax", 3),
        ("binary_crossentropy", "binary", "sigmoid", 1),
        ("mean_squared_error", "real", None, 2),
        ("huber", "real", None, 2),
    ],
)
def test_compile_with_a_keras_loss_function_trains_as_its_string(
    rng, function, labels, activation, width
):
    x = rng.standard_normal((24, 4)).astype(np.float32)
    ids = rng.integers(0, 3, 24)
    y = {
        "ids": ids,
        "one_hot": np.eye(3)[ids],
        "binary": (ids > 0).astype(np.float32),
        "real": x[:, :2],
    }[labels]
    histories = []
    for loss in (getattr(fastnn.losses, function), function):
        fastnn.utils.set_random_seed(0)
        model = fastnn.Sequential(
            [fastnn.Input((4,)), fastnn.layers.Dense(width, activation=activation)]
        )
        model.compile("sgd", loss=loss)
        histories.append(model.fit(x, y, epochs=2, batch_size=8, verbose=0).history)
    assert histories[0] == histories[1]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fastnn.losses.Huber(delta=10**400), "delta must be > 0"),
        (lambda: fastnn.losses.BinaryCrossentropy(label_smoothing=10**400), "label_smoothing"),
        (
            lambda: fastnn.losses.CategoricalCrossentropy(label_smoothing=-(10**400)),
            "label_smoothing",
        ),
    ],
)
def test_an_int_too_large_for_a_float_is_a_value_error(make, match):
    """Was float()'s OverflowError 'int too large to convert to float'."""
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "cls, extra",
    [
        (fastnn.losses.MeanSquaredError, {}),
        (fastnn.losses.MeanAbsoluteError, {}),
        (fastnn.losses.Huber, {}),
        (fastnn.losses.BinaryCrossentropy, {"axis": -1}),
        (fastnn.losses.CategoricalCrossentropy, {"axis": -1}),
        (fastnn.losses.SparseCategoricalCrossentropy, {"ignore_class": None}),
    ],
)
def test_losses_take_keras_arguments_at_their_defaults(cls, extra):
    # Keras 3 scripts pass reduction= / dtype= (and axis, ignore_class); fastnn
    # computes Keras's defaults and says so for other values.
    loss = cls(reduction="sum_over_batch_size", dtype="float32", **extra)
    assert cls.from_config(loss.get_config()).get_config() == loss.get_config()
    assert loss.get_config()["reduction"] == "sum_over_batch_size"
    for reduction in ("sum", None, "none", "mean", "mean_with_sample_weight"):  # Keras's
        assert cls(reduction=reduction).get_config()["reduction"] == reduction
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        cls(reduction="auto")  # (tf.keras's, refused by Keras 3)
    with pytest.raises(ValueError, match="dtype='float64' is not supported"):
        cls(dtype="float64")
    for key in extra:
        with pytest.raises(ValueError, match=f"{key}=0 is not supported"):
            cls(**{key: 0})


@pytest.mark.parametrize(
    "loss,activation",
    [
        ("sparse_categorical_crossentropy", "softmax"),
        ("categorical_crossentropy", "linear"),
        ("binary_crossentropy", "sigmoid"),
    ],
)
def test_cross_entropy_in_a_team_session_has_the_same_bits_on_1_and_2_threads(
    rng, loss, activation
):
    """Inside a training run's team session a cross-entropy splits its rows
    over the threads from 1,024 output elements (128 x 10 here, 1,100 x 1 for
    the binary case); the engine's float64 loss sums and the weights are the
    serial ones bit for bit."""
    classes = 1 if loss == "binary_crossentropy" else 10
    rows = 1100 if classes == 1 else 128
    x = rng.standard_normal((3 * rows, 31)).astype(np.float32)
    labels = rng.integers(0, max(classes, 2), 3 * rows)
    if loss == "sparse_categorical_crossentropy":
        y = labels
    elif loss == "categorical_crossentropy":
        y = np.eye(classes, dtype=np.float32)[labels]
    else:
        y = labels[:, None].astype(np.float32)
    sw = rng.uniform(0.5, 1.5, 3 * rows).astype(np.float32)
    order = rng.permutation(3 * rows)
    previous = fastnn.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            fastnn.set_num_threads(threads)
            fastnn.utils.set_random_seed(5)
            model = fastnn.Sequential(
                [
                    fastnn.Input((31,)),
                    fastnn.layers.Dense(256, activation="relu"),  # big enough for a session
                    fastnn.layers.Dense(classes, activation=activation),
                ]
            )
            loss_class = type(fastnn.losses._resolve(loss))
            model.compile("adam", loss_class(from_logits=activation == "linear"))
            model._ensure_optimizer_built()
            data = model._net.prepare(x, y, sw)
            kernel, rates = model.optimizer._kernel, np.full(3, 1e-3)
            sums = model._net.train_epoch(data, order, rows, 0, 3, kernel, rates)
            results.append((sums["loss_sum"], model.get_weights()))
    finally:
        fastnn.set_num_threads(previous)
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def _exp_reference(x, m):
    import math

    def one(v):
        d = float(v) - m
        if math.isnan(d):
            return math.nan
        return math.inf if d > 709.78 else math.exp(d)

    return np.array([one(v) for v in x], dtype=np.float64)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 31, 100, 1001])
def test_cross_entropy_exp_kernel_is_within_an_ulp_of_libm(isa, rng, n):
    """The softmax cross-entropy's exp(z - max) in float64, vector kernel on
    the x86 levels: every finite result within 2 ulp of math.exp, and the
    same zeros, infinities and NaN, over row widths off the vector's 4 and 8
    and values around the kernel's range (-708, where results turn
    subnormal, and 709, where they overflow)."""
    from fastnn import _core

    special = np.array(
        [0.0, -707.9, -708.1, -744.0, -746.0, -1e30, 709.5, 710.0, np.nan, np.inf, -np.inf],
        dtype=np.float32,
    )
    for m_kind in ("row max", "below", "above"):
        x = (rng.standard_normal(n) * rng.choice([1.0, 30.0, 400.0], n)).astype(np.float32)
        if n > 3:
            x[rng.choice(n, min(n // 3, len(special)), replace=False)] = rng.choice(
                special, min(n // 3, len(special)), replace=False
            )
        finite = x[np.isfinite(x)]
        top = float(finite.max()) if finite.size else 0.0
        m = {"row max": top, "below": top - 5.0, "above": top + 50.0}[m_kind]
        got = _core.ops._exp_shifted(x, m)
        want = _exp_reference(x, m)
        assert got.shape == (n,)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(got == 0.0, want == 0.0)
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        ok = np.isfinite(want) & (want != 0.0)
        ulps = np.abs(got[ok] - want[ok]) / np.spacing(want[ok])
        assert ulps.size == 0 or ulps.max() <= 2.0, (m_kind, ulps.max())


@pytest.mark.parametrize("c", [1, 2, 7, 10, 64, 65, 1000])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_logits_fast_path_equals_one_hot_bit_for_bit(isa, rng, c, weighted):
    """Integer labels take a shortcut (one nonzero target, a vectorized
    gradient); one-hot targets take the general loop. Same operations per
    element, so the loss and every gradient value agree to the bit."""
    n = 37
    z = (rng.standard_normal((n, c)) * 4).astype(np.float32)
    z[3, 0] = np.nan if c > 1 else z[3, 0]  # a NaN row: NaN loss and gradient on both
    labels = rng.integers(0, c, n).astype(np.int32)
    one_hot = np.eye(c, dtype=np.float32)[labels]
    sw = rng.random(n).astype(np.float32) if weighted else None
    sparse = fastnn.ops.loss(
        labels, z, "sparse_categorical_crossentropy", from_logits=True, sample_weight=sw
    )
    dense = fastnn.ops.loss(
        one_hot, z, "categorical_crossentropy", from_logits=True, sample_weight=sw
    )
    np.testing.assert_array_equal(np.float64(sparse[0]), np.float64(dense[0]))
    np.testing.assert_array_equal(sparse[1].view(np.uint32), dense[1].view(np.uint32))
