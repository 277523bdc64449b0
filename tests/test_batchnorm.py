"""layers.BatchNormalization: the engine's batch_norm layer against float64
NumPy and torch references, Keras 3's moving-average formula, frozen layers,
threads, ISAs, saving, and Keras 3.15 itself (PyTorch backend) where it is
importable."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from keras_subprocess import keras_run_on_random_data, listed, same_config_keys, train_like_keras
from layer_recipes import check_save_load_resume

import fastnn
from fastnn import _core, layers, models, optimizers

WIDTHS = [1, 7, 37]
BATCHES = [1, 5, 64]
FLAGS = [(True, True), (False, True), (True, False), (False, False)]  # (center, scale)


# -- engine-level references ----------------------------------------------------


def dense_bn_net(width, center, scale, momentum=0.99, epsilon=1e-3):
    """x (rows, width) -> Dense(width, linear, no bias) -> batch_norm; mse."""
    net = _core.nn.Network(
        width,
        [
            {"type": "dense", "units": width, "use_bias": False},
            {
                "type": "batch_norm",
                "center": center,
                "scale": scale,
                "momentum": momentum,
                "epsilon": epsilon,
            },
        ],
    )
    net.set_loss("mse")
    return net


def fill_params(net, rng, center, scale):
    views = net.param_views()
    views[0][...] = rng.standard_normal(views[0].shape) / np.sqrt(views[0].shape[0])
    k = 1
    gamma = beta = None
    if scale:
        gamma = views[k]
        gamma[...] = rng.uniform(0.5, 1.5, gamma.shape)
        k += 1
    if center:
        beta = views[k]
        beta[...] = rng.standard_normal(beta.shape)
    return views[0], gamma, beta


def numpy_reference(x, w, gamma, beta, t, eps):
    """Float64 loss and closed-form gradients (dW, dgamma, dbeta) of
    mean((BN_train(x W) - t)^2), the batch mean and variance, and the size of
    the terms dW is summed from (dW cancels to ~0 for one feature: the
    normalized output does not depend on the scale of W but through eps)."""
    z = x.astype(np.float64) @ w.astype(np.float64)
    n, f = z.shape
    mean = z.mean(axis=0)
    var = z.var(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (z - mean) * inv
    g = np.ones(f) if gamma is None else gamma.astype(np.float64)
    y = xhat * g + (0.0 if beta is None else beta.astype(np.float64))
    loss = np.mean((y - t) ** 2)
    dy = 2.0 * (y - t) / y.size
    dgamma = (dy * xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    dz = g * inv / n * (n * dy - dbeta - xhat * dgamma)
    terms = np.abs(x.T.astype(np.float64)) @ np.abs(g * inv * dy)
    return loss, x.T.astype(np.float64) @ dz, dgamma, dbeta, mean, var, terms.max()


def torch_reference(torch, x, w, gamma, beta, t, eps):
    as64 = lambda a: torch.tensor(np.asarray(a, np.float64), requires_grad=True)  # noqa: E731
    xt, wt = torch.tensor(x, dtype=torch.float64), as64(w)
    z = xt @ wt
    mean = z.mean(dim=0)
    var = ((z - mean) ** 2).mean(dim=0)
    y = (z - mean) / torch.sqrt(var + eps)
    gt = bt = None
    if gamma is not None:
        gt = as64(gamma)
        y = y * gt
    if beta is not None:
        bt = as64(beta)
        y = y + bt
    loss = ((y - torch.tensor(t)) ** 2).mean()
    loss.backward()
    grad = lambda v: None if v is None else v.grad.numpy()  # noqa: E731
    return loss.item(), grad(wt), grad(gt), grad(bt)


@pytest.mark.parametrize("center,scale", FLAGS)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("width", WIDTHS)
def test_training_step_matches_numpy_and_torch_float64(isa, rng, width, batch, center, scale):
    torch = pytest.importorskip("torch")
    net = dense_bn_net(width, center, scale)
    w, gamma, beta = fill_params(net, rng, center, scale)
    w, gamma, beta = [None if v is None else v.copy() for v in (w, gamma, beta)]
    x = (rng.standard_normal((batch, width)) * 3 + 1).astype(np.float32)
    t = rng.standard_normal((batch, width)).astype(np.float32)
    result = net.train_batch(x, t)
    grads = net.grad_views()
    loss, dw, dgamma, dbeta, mean, var, terms = numpy_reference(x, w, gamma, beta, t, 1e-3)
    t_loss, t_dw, t_dgamma, t_dbeta = torch_reference(torch, x, w, gamma, beta, t, 1e-3)
    for ref_loss, ref_dw, ref_dgamma, ref_dbeta in [
        (loss, dw, dgamma, dbeta),
        (t_loss, t_dw, t_dgamma, t_dbeta),
    ]:
        np.testing.assert_allclose(result["loss"], ref_loss, rtol=2e-5, atol=1e-7)
        np.testing.assert_allclose(grads[0], ref_dw, rtol=1e-4, atol=1e-5 * terms)
        k = 1
        if scale:
            np.testing.assert_allclose(grads[k], ref_dgamma, rtol=1e-4, atol=1e-6)
            k += 1
        if center:
            np.testing.assert_allclose(grads[k], ref_dbeta, rtol=1e-4, atol=1e-6)
    assert all(np.isfinite(g).all() for g in grads)
    if batch == 1:  # variance 0: the output is beta, nothing flows back to x
        assert not grads[0].any()
    moving_mean, moving_var = net.state_views()
    np.testing.assert_allclose(moving_mean, 0.01 * mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(moving_var, 0.99 + 0.01 * var, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("center,scale", FLAGS)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("width", WIDTHS)
def test_inference_forward_is_keras_float32_arithmetic(rng, width, batch, center, scale):
    """predict: (x - moving_mean) * (rsqrt(moving_var + eps) * gamma) + beta,
    each operation in float32 as Keras's torch backend does it."""
    net = _core.nn.Network(
        width, [{"type": "batch_norm", "center": center, "scale": scale, "epsilon": 0.01}]
    )
    views = net.param_views()
    for v in views:
        v[...] = rng.standard_normal(v.shape)
    moving_mean, moving_var = net.state_views()
    moving_mean[...] = rng.standard_normal(width)
    moving_var[...] = rng.uniform(0.0, 3.0, width)
    x = (rng.standard_normal((batch, width)) * 2).astype(np.float32)
    out = net.predict(x, 32)
    a = np.float32(1) / np.sqrt(moving_var + np.float32(0.01))
    if scale:
        a = a * views[0]
    expected = (x - moving_mean) * a
    if center:
        expected = expected + views[int(scale)]
    np.testing.assert_array_equal(out, expected)
    g = views[0].astype(np.float64) if scale else 1.0
    b = views[int(scale)].astype(np.float64) if center else 0.0
    ref = (x - moving_mean.astype(np.float64)) / np.sqrt(moving_var.astype(np.float64) + 0.01)
    np.testing.assert_allclose(out, ref * g + b, rtol=1e-5, atol=1e-5)


# -- model-level -----------------------------------------------------------------


def bn_model(width=6, momentum=0.99, optimizer=None, loss="mse", seed=0, frozen=False, **bn):
    fastnn.utils.set_random_seed(seed)
    model = models.Sequential(
        [
            layers.Input(shape=(5,)),
            layers.Dense(width, name="d0"),
            layers.BatchNormalization(momentum=momentum, name="bn", trainable=not frozen, **bn),
            layers.Activation("relu"),
            layers.Dense(3, name="d1"),
        ]
    )
    model.compile(optimizer or optimizers.SGD(0.1), loss)
    return model


def test_moving_statistics_follow_the_keras_formula_over_steps(rng):
    fastnn.utils.set_random_seed(1)
    model = models.Sequential(
        [layers.Input(shape=(4,)), layers.BatchNormalization(momentum=0.9), layers.Dense(2)]
    )
    model.compile(optimizers.SGD(0.05), "mse")
    x = (rng.standard_normal((40, 4)) * 2 + 3).astype(np.float32)
    y = rng.standard_normal((40, 2)).astype(np.float32)
    mm, mv = np.zeros(4, np.float32), np.ones(4, np.float32)
    keep, take = np.float32(0.9), np.float32(1.0 - 0.9)
    for step in range(4):
        xb, yb = x[step * 9 : step * 9 + 11], y[step * 9 : step * 9 + 11]
        model.train_on_batch(xb, yb)
        mean = xb.astype(np.float64).mean(axis=0).astype(np.float32)
        var = xb.astype(np.float64).var(axis=0).astype(np.float32)
        mm = mm * keep + mean * take
        mv = mv * keep + var * take
    bn = model.layers[0]
    np.testing.assert_allclose(bn.moving_mean, mm, rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance, mv, rtol=1e-6)
    before = [w.copy() for w in bn.get_weights()]
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    for a, b in zip(before, bn.get_weights()):  # inference never updates them
        np.testing.assert_array_equal(a, b)


def test_sgd_lr_one_moves_gamma_and_beta_by_minus_their_gradients(isa, rng):
    model = bn_model(optimizer=optimizers.SGD(1.0))
    bn = model.get_layer("bn")
    bn.set_weights([rng.uniform(0.5, 2, 6), rng.standard_normal(6), np.zeros(6), np.ones(6)])
    x = rng.standard_normal((9, 5)).astype(np.float32)
    y = rng.standard_normal((9, 3)).astype(np.float32)
    before = model.get_weights()
    model._net.train_batch(x, y)
    grads = [g.copy() for g in model._net.grad_views()]
    stats = bn.get_weights()[2:]
    bn.set_weights(before[2:6])  # the moving statistics as they were
    model.train_on_batch(x, y)
    after = model.get_weights()
    assert len(grads) == 6 and grads[2].any() and grads[3].any()  # dgamma, dbeta
    p0 = [before[i] for i in (0, 1, 2, 3, 6, 7)]  # d0 kernel/bias, gamma, beta, d1 kernel/bias
    p1 = [after[i] for i in (0, 1, 2, 3, 6, 7)]
    for w0, g, w1 in zip(p0, grads, p1):
        np.testing.assert_array_equal(w1, w0 - g)
    for a, b in zip(stats, after[4:6]):
        np.testing.assert_array_equal(a, b)


def test_frozen_layer_runs_in_inference_mode_and_updates_nothing(rng):
    torch = pytest.importorskip("torch")
    model = bn_model(optimizer=optimizers.SGD(1.0))
    bn = model.get_layer("bn")
    bn.set_weights(
        [
            rng.uniform(0.5, 2, 6),
            rng.standard_normal(6),
            rng.standard_normal(6),
            rng.uniform(1, 2, 6),
        ]
    )
    bn.trainable = False
    assert [w.name for w in bn.non_trainable_weights] == [
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ]
    assert bn.trainable_weights == []
    x = rng.standard_normal((8, 5)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    before = model.get_weights()
    test_loss = model.test_on_batch(x, y)
    train_loss = model.train_on_batch(x, y)
    np.testing.assert_allclose(train_loss, test_loss, rtol=1e-6)  # moving stats in training
    after = model.get_weights()
    for i in (2, 3, 4, 5):
        np.testing.assert_array_equal(after[i], before[i])
    # the first Dense trained through the inference-mode layer: dx = dy * gamma * inv
    t = [torch.tensor(np.asarray(w, np.float64), requires_grad=True) for w in before]
    z = torch.tensor(x, dtype=torch.float64) @ t[0] + t[1]
    h = (z - t[4]) / torch.sqrt(t[5] + 1e-3) * t[2] + t[3]
    out = torch.relu(h) @ t[6] + t[7]
    ((out - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    for i in (0, 1, 6, 7):
        np.testing.assert_allclose(before[i] - after[i], t[i].grad.numpy(), rtol=1e-4, atol=1e-6)
    model.fit(x, y, epochs=2, batch_size=3, verbose=0)
    for i in (2, 3, 4, 5):
        np.testing.assert_array_equal(model.get_weights()[i], before[i])


def test_frozen_model_freezes_the_statistics(rng):
    model = bn_model()
    model.trainable = False
    before = model.get_weights()
    x = rng.standard_normal((8, 5)).astype(np.float32)
    with pytest.warns(UserWarning, match="trainable weights"):
        model.train_on_batch(x, rng.standard_normal((8, 3)).astype(np.float32))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_evaluate_predict_agree(rng):
    model = bn_model(optimizer="adam")
    x = rng.standard_normal((70, 5)).astype(np.float32)
    y = rng.standard_normal((70, 3)).astype(np.float32)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    out = model.predict(x, batch_size=64, verbose=0)
    np.testing.assert_array_equal(out, model.predict(x, batch_size=7, verbose=0))
    np.testing.assert_array_equal(out, np.asarray(model(x)))
    loss = model.evaluate(x, y, batch_size=70, verbose=0)
    np.testing.assert_allclose(loss, np.mean((out.astype(np.float64) - y) ** 2), rtol=1e-5)
    bn = model.get_layer("bn")
    assert not np.array_equal(bn.moving_mean, np.zeros(6))
    # Keras's model(x, training=True): the rows' statistics, the moving ones updated
    moving = bn.moving_mean.copy()
    assert not np.array_equal(np.asarray(model(x, training=True)), out)
    assert not np.array_equal(bn.moving_mean, moving)


def _train_bn(threads, isa_name):
    fastnn.set_num_threads(threads)
    _core.set_isa(isa_name)
    rng = np.random.default_rng(11)
    fastnn.utils.set_random_seed(4)
    model = models.Sequential(
        [
            layers.Input(shape=(300,)),
            layers.BatchNormalization(),
            layers.Dense(300, activation="relu"),
            layers.BatchNormalization(momentum=0.9),
            layers.Dense(10),
            layers.BatchNormalization(),
            layers.Activation("softmax"),
        ]
    )
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    x = (rng.standard_normal((512, 300)) * 2 + 0.5).astype(np.float32)
    y = rng.integers(0, 10, 512)
    for step in range(8):  # 129 rows x 300 features: the columns split across threads
        sl = slice(step * 41, step * 41 + 129)
        model.train_on_batch(x[sl], y[sl])
    return model.get_weights()


def test_bit_identical_weights_and_statistics_for_1_and_2_threads(isa, threads):
    one = _train_bn(1, isa)
    two = _train_bn(2, isa)
    assert len(one) == 16
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_softmax_after_batchnorm_keeps_the_fused_loss(rng):
    fastnn.utils.set_random_seed(2)
    model = models.Sequential(
        [
            layers.Input(shape=(2, 3)),
            layers.Flatten(),
            layers.BatchNormalization(),
            layers.Dense(4),
            layers.BatchNormalization(),
            layers.Activation("softmax"),
        ]
    )
    model.compile("sgd", "sparse_categorical_crossentropy")
    assert model._net.fused_output
    x = rng.standard_normal((20, 2, 3)).astype(np.float32)
    y = rng.integers(0, 4, 20)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    p = model.predict(x, verbose=0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    expected = -np.mean(np.log(p[np.arange(20), y].astype(np.float64)))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-5)


# -- the Keras API ---------------------------------------------------------------


def test_weights_names_and_counts_as_keras():
    model = bn_model()
    bn = model.get_layer("bn")
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.path for w in bn.weights][0] == f"{model.name}/bn/gamma"
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    assert bn.gamma is not None and bn.moving_variance.shape == (6,)
    assert bn.count_params() == 24
    assert model.count_params() == 5 * 6 + 6 + 24 + 6 * 3 + 3
    assert len(model.get_weights()) == 8
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    np.testing.assert_array_equal(bn.moving_variance, np.ones(6))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Trainable params: 69 (276.00 B)" in text
    assert "Non-trainable params: 12 (48.00 B)" in text
    bare = bn_model(center=False, scale=False)
    bn = bare.get_layer("bn")
    assert [w.name for w in bn.weights] == ["moving_mean", "moving_variance"]
    assert bn.trainable_weights == [] and bn.gamma is None and bn.beta is None
    only_gamma = bn_model(center=False).get_layer("bn")
    assert [w.name for w in only_gamma.weights] == ["gamma", "moving_mean", "moving_variance"]


def test_set_weights_get_weights_and_config_round_trip(rng):
    model = bn_model(momentum=0.8, epsilon=0.01, center=False)
    bn = model.get_layer("bn")
    values = [rng.uniform(1, 2, 6), rng.standard_normal(6), rng.uniform(1, 2, 6)]
    bn.set_weights(values)
    for a, b in zip(bn.get_weights(), values):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    with pytest.raises(ValueError, match="expects 3 weight arrays"):
        bn.set_weights(values[:2])
    config = bn.get_config()
    assert config["momentum"] == 0.8 and config["epsilon"] == 0.01 and config["center"] is False
    assert config["gamma_initializer"]["class_name"] == "Ones"
    assert config["renorm"] is False and config["synchronized"] is False
    copy = layers.BatchNormalization.from_config(config)
    assert copy.get_config() == config
    same = layers.deserialize(layers.serialize(bn))
    assert isinstance(same, layers.BatchNormalization) and same.momentum == 0.8


def test_save_load_predict_and_resume(tmp_path, rng):
    straight = check_save_load_resume(
        tmp_path, lambda seed: bn_model(optimizer="adam", seed=seed), rng
    )

    other = bn_model(optimizer="adam", seed=9)
    other.save_weights(tmp_path / "other.weights.npz")
    other.load_weights(tmp_path / "other.weights.npz")
    straight.save_weights(tmp_path / "w.weights.npz")
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        other.load_weights(tmp_path / "w.weights.npz")  # (its optimizer is not built)
    for a, b in zip(straight.get_weights(), other.get_weights()):  # moving stats included
        np.testing.assert_array_equal(a, b)


def test_save_weights_h5(tmp_path, rng):
    pytest.importorskip("h5py")
    model = bn_model()
    x = rng.standard_normal((20, 5)).astype(np.float32)
    model.fit(x, rng.standard_normal((20, 3)).astype(np.float32), epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    other = bn_model(seed=3)
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_clone_model_and_functional_api(rng):
    inputs = layers.Input(shape=(5,))
    h = layers.BatchNormalization()(inputs)
    h = layers.Dense(4, activation="relu")(h)
    h = layers.BatchNormalization(scale=False)(h)
    outputs = layers.Dense(2, activation="softmax")(h)
    model = fastnn.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = rng.standard_normal((30, 5)).astype(np.float32)
    model.fit(x, rng.integers(0, 2, 30), epochs=2, verbose=0)
    assert model.count_params() == 20 + 24 + 12 + 10
    clone = models.clone_model(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_eager_call_matches_the_model(rng):
    fastnn.utils.set_random_seed(0)
    bn = layers.BatchNormalization(momentum=0.5)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(bn(x), x / np.sqrt(np.float32(1.001)), rtol=1e-6)
    bn(x, training=True)
    np.testing.assert_allclose(bn.moving_mean, 0.5 * x.mean(axis=0), rtol=1e-5, atol=1e-7)
    model = models.Sequential([layers.Input(shape=(4,)), bn])
    np.testing.assert_allclose(model.predict(x, verbose=0), bn(x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"axis": 0}, "batch axis"),
        ({"axis": 1.5}, "must be an int"),
        ({"momentum": -0.1}, r"momentum must be a number in \[0, 1\], got -0.1"),
        ({"momentum": 1.5}, r"momentum must be a number in \[0, 1\]"),
        ({"momentum": float("nan")}, r"momentum must be a number in \[0, 1\], got nan"),
        ({"momentum": "high"}, r"momentum must be a number"),
        ({"epsilon": -1e-3}, "epsilon must be a finite number > 0, got -0.001"),
        ({"epsilon": 0.0}, "epsilon must be a finite number > 0"),
        ({"epsilon": float("inf")}, "epsilon must be a finite number > 0"),
        ({"beta_regularizer": "l2"}, "beta_regularizer='l2' is not supported"),
        ({"gamma_constraint": "non_neg"}, "gamma_constraint"),
        ({"synchronized": True}, "TensorFlow"),
        ({"renorm": True}, "renorm"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        layers.BatchNormalization(**kwargs)


def test_bad_axis_or_shape_leaves_the_model_unchanged(rng):
    model = bn_model()
    before = model.get_weights()
    net = model._net
    with pytest.raises(ValueError, match="axis=2"):
        model.add(layers.BatchNormalization(axis=2))
    assert model._net is net and len(model.layers) == 4
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    image = models.Sequential([layers.Input(shape=(2, 3))])
    with pytest.raises(ValueError, match="Flatten"):
        image.add(layers.BatchNormalization())
    for bad in ({"momentum": 2.0}, {"epsilon": -1.0}, {"epsilon": float("inf")}):
        with pytest.raises(ValueError, match="BatchNormalization"):
            _core.nn.Network(3, [{"type": "batch_norm", **bad}])


# -- Keras 3 itself (torch backend, in a subprocess as the other Keras checks) -------

KERAS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np
    import keras

    d = sys.argv[1]
    x, y = np.load(os.path.join(d, "x.npy")), np.load(os.path.join(d, "y.npy"))
    out = {}

    # Dense - BN - ReLU - Dense - softmax, 5 SGD steps
    k = keras.Sequential([
        keras.Input((9,)), keras.layers.Dense(11), keras.layers.BatchNormalization(momentum=0.9),
        keras.layers.Activation("relu"), keras.layers.Dense(4), keras.layers.Activation("softmax"),
    ])
    k.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    for i, w in enumerate(k.get_weights()):
        out[f"init{i}"] = w
    out["losses"] = np.array([
        float(k.train_on_batch(x[s * 12 : s * 12 + 13], y[s * 12 : s * 12 + 13]))
        for s in range(5)
    ])
    for i, w in enumerate(k.get_weights()):
        out[f"final{i}"] = w
    out["predict"] = k.predict(x, verbose=0)
    k.save(os.path.join(d, "k.keras"))
    k.save_weights(os.path.join(d, "k.weights.h5"))
    out["evaluate"] = np.array(k.evaluate(x, y, verbose=0))
    bn = k.layers[1]
    meta = {"names": [w.name for w in bn.weights], "config": bn.get_config(),
            "count": k.count_params(), "bn_count": bn.count_params()}

    # frozen BN with given moving statistics, 3 SGD steps (mse)
    f = keras.Sequential([keras.Input((9,)), keras.layers.Dense(6),
                          keras.layers.BatchNormalization(), keras.layers.Dense(4)])
    w = f.get_weights()
    w[4] = np.linspace(-1, 1, 6).astype("float32")
    w[5] = np.linspace(0.5, 2, 6).astype("float32")
    f.set_weights(w)
    f.layers[1].trainable = False
    f.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    for i, v in enumerate(f.get_weights()):
        out[f"frozen_init{i}"] = v
    t = np.eye(4, dtype="float32")[y]
    out["frozen_losses"] = np.array([float(f.train_on_batch(x[:16], t[:16])) for _ in range(3)])
    for i, v in enumerate(f.get_weights()):
        out[f"frozen_final{i}"] = v
    """
)


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    return keras_run_on_random_data(tmp_path_factory, "keras_bn", KERAS_SCRIPT)


def test_matches_keras_over_five_sgd_steps(keras_run):
    x, y, ref, meta, _ = keras_run
    model = models.Sequential(
        [
            layers.Input(shape=(9,)),
            layers.Dense(11),
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
            layers.Dense(4),
            layers.Activation("softmax"),
        ]
    )
    train_like_keras(model, x, y, ref)
    assert len(model.get_weights()) == 8  # moving_mean and moving_variance included
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), ref["evaluate"], rtol=1e-5)
    bn = model.layers[1]
    assert [w.name for w in bn.weights] == meta["names"]
    assert bn.count_params() == meta["bn_count"] and model.count_params() == meta["count"]
    same_config_keys(
        bn,
        meta["config"],
        ("axis", "momentum", "epsilon", "center", "scale", "renorm", "synchronized"),
    )
    from_keras = layers.BatchNormalization.from_config(meta["config"])
    assert from_keras.momentum == 0.9 and from_keras.epsilon == 1e-3


def test_frozen_matches_keras(keras_run):
    x, y, ref, _, _ = keras_run
    model = models.Sequential(
        [layers.Input(shape=(9,)), layers.Dense(6), layers.BatchNormalization(), layers.Dense(4)]
    )
    model.set_weights(listed(ref, "frozen_init"))
    model.layers[1].trainable = False
    model.compile(optimizers.SGD(0.1), "mse")
    t = np.eye(4, dtype=np.float32)[y]
    losses = [model.train_on_batch(x[:16], t[:16]) for _ in range(3)]
    np.testing.assert_allclose(losses, ref["frozen_losses"], rtol=1e-5)
    for a, b in zip(model.get_weights(), listed(ref, "frozen_final")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_loads_keras_files(keras_run):
    x, y, ref, _, d = keras_run
    model = models.load_model(d / "k.keras")
    assert isinstance(model.layers[1], layers.BatchNormalization)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predict"], rtol=1e-6, atol=1e-7)
    pytest.importorskip("h5py")
    fresh = models.Sequential.from_config(model.get_config())
    fresh.load_weights(d / "k.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(fresh.get_weights(), listed(ref, "final")):
        np.testing.assert_array_equal(a, b)


def test_one_row_batches_give_beta_and_stay_finite(rng):
    model = bn_model(optimizer="adam")
    x = rng.standard_normal((9, 5)).astype(np.float32)
    y = rng.standard_normal((9, 3)).astype(np.float32)
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)  # last batch: 1 row
    assert all(np.isfinite(w).all() for w in model.get_weights())
    bn = model.get_layer("bn")
    before = np.array(bn.moving_variance)
    model.train_on_batch(x[:1], y[:1])  # variance 0: moving_variance * momentum
    np.testing.assert_allclose(bn.moving_variance, before * np.float32(0.99), rtol=1e-6)
