"""Keras 3's noise layers (GaussianNoise, GaussianDropout, AlphaDropout) and
ReLU's max_value / threshold / negative_slope in the C++ engine.

The noise is z = sqrt(-2 log u1) cos(2 pi u2) on two 24-bit uniforms of one
mix64 hash per element (cpp/nn/noise.h), keyed like Dropout's mask by (seed,
step, layer, element): the kernels are checked against a NumPy transcription,
their statistics over a million draws, the layers' gradients against the noise
read back through the kernel hook, and whole training runs across ISAs and
thread counts. ReLU is checked against NumPy, torch (Keras's formula on torch
ops, autograd for the gradient) and Keras itself.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from counter_rng import MASK64, mix64

import fastnn
from fastnn import _core, activations, layers, models, optimizers

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
NOISE_KINDS = ["gaussian_noise", "gaussian_dropout", "alpha_dropout"]


def layer_key(seed: int, iteration: int, layer: int) -> int:
    """The key network.cpp gives a random layer at a step."""
    inner = mix64(np.array([(iteration * 0xD1B54A32D192ED03 + layer) & MASK64], np.uint64))
    return int(mix64(np.uint64(seed & MASK64) ^ inner)[0])


def normal_reference(n: int, key: int) -> np.ndarray:
    """normal01(key + e) in float64 from the same two 24-bit uniforms."""
    counters = (np.arange(n, dtype=np.uint64) + np.uint64(key & MASK64)) & np.uint64(MASK64)
    h = mix64(counters)
    u1 = ((h >> np.uint64(40)) + np.uint64(1)).astype(np.float64) / 16777216.0
    u2 = ((h >> np.uint64(16)) & np.uint64(0xFFFFFF)).astype(np.float64) / 16777216.0
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def uniform_reference(n: int, key: int) -> np.ndarray:
    counters = (np.arange(n, dtype=np.uint64) + np.uint64(key & MASK64)) & np.uint64(MASK64)
    return (mix64(counters) >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def alpha_coefficients(rate: float):
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    return a, -a * alpha_p * rate, alpha_p


def selu(x):
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


# -- the kernels ---------------------------------------------------------------


@pytest.mark.parametrize("key", [0, 99, 2**64 - 3])
def test_normal_kernel_matches_box_muller_reference(isa, key):
    """The polynomial log and cos stay within a few float ulps of float64."""
    x = np.zeros(100_000, np.float32)
    _, noise = _core.nn._noise_forward("gaussian_noise", x, key, 1.0)
    np.testing.assert_allclose(noise, normal_reference(len(x), key), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("kind", NOISE_KINDS)
@pytest.mark.parametrize("n,key,begin", [(1, 3, 0), (15, 2**64 - 7, 2), (4099, 11, 5)])
def test_noise_kernels_are_bit_identical_on_every_isa(rng, kind, n, key, begin):
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    param = {"gaussian_noise": 0.7, "gaussian_dropout": 0.35, "alpha_dropout": 0.3}[kind]
    outputs = []
    previous = _core.active_isa()
    try:
        for isa_name in _core.available_isas():
            _core.set_isa(isa_name)
            outputs.append(_core.nn._noise_forward(kind, x, key, param, begin))
    finally:
        _core.set_isa(previous)
    for y, noise in outputs[1:]:
        np.testing.assert_array_equal(y.view(np.uint32), outputs[0][0].view(np.uint32))
        np.testing.assert_array_equal(noise.view(np.uint32), outputs[0][1].view(np.uint32))


@pytest.mark.parametrize("begin", [0, 1, 13])
def test_noise_kernels_from_an_offset_match_the_whole_range(isa, rng, begin):
    x = rng.standard_normal(300).astype(np.float32)
    for kind, param in [("gaussian_noise", 0.5), ("gaussian_dropout", 0.3), ("alpha_dropout", 0.2)]:
        y_all, n_all = _core.nn._noise_forward(kind, x, 1234, param)
        y, n = _core.nn._noise_forward(kind, x, 1234, param, begin)
        np.testing.assert_array_equal(y[begin:], y_all[begin:])
        np.testing.assert_array_equal(n[begin:], n_all[begin:])
        assert not y[:begin].any() and not n[:begin].any()


def test_gaussian_noise_statistics(isa):
    """y - x ~ N(0, 0.3^2): mean, std, the 1-sigma mass and the kurtosis of 10^6
    draws (bounds of about 5 standard errors)."""
    n, stddev = 1_000_000, 0.3
    x = np.linspace(-3, 3, n, dtype=np.float32)
    y, noise = _core.nn._noise_forward("gaussian_noise", x, 2024, stddev)
    d = (y.astype(np.float64) - x) / stddev
    np.testing.assert_allclose(y, x + noise, rtol=0, atol=0)
    assert abs(d.mean()) < 5e-3
    assert abs(d.std() - 1) < 4e-3
    assert abs(np.mean(np.abs(d) < 1) - 0.682689) < 2.5e-3
    assert abs(np.mean(d**4) - 3) < 0.05
    assert abs(np.mean(d**3)) < 0.03
    assert np.abs(d).max() < 5.8  # the generator's tail ends at 5.77 sigma


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_gaussian_dropout_statistics(isa, rate):
    """y / x ~ N(1, rate / (1 - rate)) (Keras: stddev sqrt(rate / (1 - rate)))."""
    n = 1_000_000
    x = np.full(n, 2.0, np.float32)
    y, noise = _core.nn._noise_forward("gaussian_dropout", x, 77, rate)
    np.testing.assert_array_equal(y, x * noise)
    r = y.astype(np.float64) / x
    stddev = math.sqrt(rate / (1 - rate))
    assert abs(r.mean() - 1) < 5 * stddev / 1000
    assert abs(r.std() / stddev - 1) < 4e-3


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
@pytest.mark.parametrize("n,key", [(10_000, 5), (1, 2**64 - 1), (15, 2**64 - 9), (1021, 77)])
def test_alpha_dropout_kernel_is_keras_formula(isa, rng, rate, n, key):
    """Every ISA (the AVX2 mask is drawn eight lanes at a time) bit for bit."""
    x = rng.standard_normal(n).astype(np.float32)
    y, noise = _core.nn._noise_forward("alpha_dropout", x, key, rate)
    a, b, alpha_p = alpha_coefficients(rate)
    kept = uniform_reference(len(x), key) >= np.float32(rate)
    af, bf = np.float32(a), np.float32(b)
    expected = np.where(kept, af * x + bf, af * np.float32(alpha_p) + bf)
    np.testing.assert_array_equal(y, expected.astype(np.float32))
    np.testing.assert_array_equal(noise, np.where(kept, af, np.float32(0)))
    if n >= 10_000:
        assert abs((~kept).mean() - rate) < 0.02


@pytest.mark.parametrize("rate", [0.05, 0.1, 0.3])
def test_alpha_dropout_keeps_selu_mean_and_variance(rate):
    """Keras: "AlphaDropout ... keeps mean and variance of inputs to their
    original values" for SELU-distributed (zero mean, unit variance) inputs."""
    n = 1_000_000
    z = normal_reference(n, 31)
    x = selu(z).astype(np.float32)
    y, _ = _core.nn._noise_forward("alpha_dropout", x, 8, rate)
    y = y.astype(np.float64)
    x = x.astype(np.float64)
    assert abs(x.mean()) < 5e-3 and abs(x.var() - 1) < 5e-3  # the inputs are SELU's fixed point
    assert abs(y.mean() - x.mean()) < 5e-3
    assert abs(y.var() - x.var()) < 1e-2


def test_noise_kernel_bad_arguments():
    x = np.zeros(4, np.float32)
    for kind, param in [("gaussian_dropout", 1.0), ("alpha_dropout", -0.1), ("what", 0.1)]:
        with pytest.raises(ValueError):
            _core.nn._noise_forward(kind, x, 0, param)


# -- the layers in a network -----------------------------------------------------


def _two_layer(noise_layer, w0, w1, seed_layer=1):
    model = models.Sequential(
        [
            layers.Input((w0.shape[0],)),
            layers.Dense(w0.shape[1], use_bias=False),
            noise_layer,
            layers.Dense(1, use_bias=False),
        ]
    )
    model.set_weights([w0, w1])
    model.compile(optimizers.SGD(0.1), "mse")
    return model


@pytest.mark.parametrize(
    "kind,make",
    [
        ("gaussian_noise", lambda: layers.GaussianNoise(0.4, seed=21)),
        ("gaussian_dropout", lambda: layers.GaussianDropout(0.3, seed=21)),
        ("alpha_dropout", lambda: layers.AlphaDropout(0.25, seed=21)),
    ],
)
def test_gradient_through_the_kept_noise(rng, kind, make):
    """One SGD step equals a float64 NumPy step whose forward and backward use
    the noise the kernel draws for (seed 21, step 0, layer 1)."""
    x = rng.standard_normal((40, 6)).astype(np.float32)
    t = rng.standard_normal((40, 1)).astype(np.float32)
    w0 = rng.standard_normal((6, 5)).astype(np.float32) * 0.5
    w1 = rng.standard_normal((5, 1)).astype(np.float32) * 0.5
    model = _two_layer(make(), w0, w1)
    model.train_on_batch(x, t)
    h = x.astype(np.float64) @ w0
    param = {"gaussian_noise": 0.4, "gaussian_dropout": 0.3, "alpha_dropout": 0.25}[kind]
    y32, noise = _core.nn._noise_forward(
        kind, (x @ w0).astype(np.float32).ravel(), layer_key(21, 0, 1), param
    )
    noise = noise.astype(np.float64).reshape(h.shape)
    if kind == "gaussian_noise":
        hn, factor = h + noise, np.ones_like(h)
    elif kind == "gaussian_dropout":
        hn, factor = h * noise, noise
    else:
        a, b, alpha_p = alpha_coefficients(param)
        kept = noise != 0
        hn, factor = np.where(kept, a * h + b, a * alpha_p + b), noise
    np.testing.assert_allclose(hn, y32.reshape(h.shape), rtol=1e-5, atol=1e-5)
    p = hn @ w1
    dp = 2 * (p - t) / len(x)
    g1 = hn.T @ dp
    g0 = x.T @ ((dp @ w1.T) * factor)
    new0, new1 = model.get_weights()
    np.testing.assert_allclose(new0, w0 - 0.1 * g0, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(new1, w1 - 0.1 * g1, rtol=1e-4, atol=1e-6)
    # a gradient through other noise would differ by far more
    assert np.abs(new0 - (w0 - 0.1 * (x.T @ (dp @ w1.T)))).max() > 1e-4 or kind == "gaussian_noise"


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.GaussianNoise(0.5, seed=1),
        lambda: layers.GaussianDropout(0.5),
        lambda: layers.AlphaDropout(0.5, seed=3),
    ],
)
def test_inference_is_the_identity(rng, make):
    x = rng.standard_normal((50, 6)).astype(np.float32)
    w0 = rng.standard_normal((6, 5)).astype(np.float32)
    w1 = rng.standard_normal((5, 1)).astype(np.float32)
    model = _two_layer(make(), w0, w1)
    expected = (x @ w0) @ w1
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    loss = model.evaluate(x, expected, verbose=0)
    assert loss < 1e-9
    np.testing.assert_array_equal(model(x, training=False), model.predict(x, verbose=0))
    assert not np.array_equal(model(x, training=True), model.predict(x, verbose=0))


def test_zero_rate_and_stddev_draw_nothing(rng):
    x = rng.standard_normal((30, 4)).astype(np.float32)
    t = rng.standard_normal((30, 1)).astype(np.float32)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    w1 = rng.standard_normal((3, 1)).astype(np.float32)
    plain = _two_layer(layers.Activation("linear"), w0, w1)
    plain.train_on_batch(x, t)
    for layer in (layers.GaussianNoise(0.0), layers.GaussianDropout(0.0), layers.AlphaDropout(0)):
        model = _two_layer(layer, w0, w1)
        model.train_on_batch(x, t)
        for a, b in zip(model.get_weights(), plain.get_weights()):
            np.testing.assert_array_equal(a, b)


def _train(isa_name, threads, seed_none):
    _core.set_isa(isa_name)
    fastnn.set_num_threads(threads)
    fastnn.utils.set_random_seed(4)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 40)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    seed = None if seed_none else 9
    model = models.Sequential(
        [
            layers.Input(shape=(40,)),
            layers.GaussianNoise(0.2, seed=seed),
            layers.Dense(64, activation="selu"),
            layers.AlphaDropout(0.1, seed=seed),
            layers.Dense(48),
            layers.ReLU(max_value=1.5, threshold=0.1, negative_slope=0.05),
            layers.GaussianDropout(0.3, seed=seed),
            layers.Dense(32, activation="relu6"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    return model.get_weights()


@pytest.mark.parametrize("seed_none", [False, True])
def test_same_noise_on_every_isa_and_thread_count(seed_none):
    """Bit-identical weights at 1 and 2 threads (with seeds given, or drawn
    after fastnn.utils.set_random_seed); ISAs differ in GEMM rounding only."""
    results = []
    previous_isa, previous_threads = _core.active_isa(), fastnn.get_num_threads()
    try:
        for isa_name in _core.available_isas():
            for threads in (1, 2):
                results.append((isa_name, threads, _train(isa_name, threads, seed_none)))
    finally:
        _core.set_isa(previous_isa)
        fastnn.set_num_threads(previous_threads)
    first = results[0][2]
    for isa_name, _threads, weights in results[1:]:
        same_isa = next(w for i, t, w in results if i == isa_name and t == 1)
        for a, b, c in zip(weights, same_isa, first):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(a, c, rtol=2e-4, atol=2e-5)


def test_noise_depends_on_seed_and_step(rng):
    x = rng.standard_normal((64, 6)).astype(np.float32)
    t = rng.standard_normal((64, 1)).astype(np.float32)
    w0 = rng.standard_normal((6, 5)).astype(np.float32)
    w1 = rng.standard_normal((5, 1)).astype(np.float32)
    runs = []
    for seed in (1, 1, 2):
        model = _two_layer(layers.GaussianDropout(0.4, seed=seed), w0, w1)
        runs.append([float(model.train_on_batch(x, t)) for _ in range(3)])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert len(set(runs[0])) == 3


# -- configs, saving, summary, errors ------------------------------------------------


def test_configs_round_trip_and_save(tmp_path, rng):
    made = [
        layers.GaussianNoise(0.25, seed=3, name="gn"),
        layers.GaussianDropout(0.4, seed=None, name="gd"),
        layers.AlphaDropout(0.15, seed=5, name="ad"),
        layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5, name="r"),
    ]
    expected = [
        {"stddev": 0.25, "seed": 3},
        {"rate": 0.4, "seed": None},
        {"rate": 0.15, "seed": 5, "noise_shape": None},
        {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5},
    ]
    for layer, keys in zip(made, expected):
        config = layer.get_config()
        assert {k: config[k] for k in keys} == keys
        clone = type(layer).from_config(config)
        assert clone.get_config() == config
        assert layers.deserialize(layers.serialize(layer)).get_config() == config
    model = models.Sequential([layers.Input((4,)), layers.Dense(6), *made, layers.Dense(2)])
    model.compile("adam", "mse")
    x = rng.standard_normal((20, 4)).astype(np.float32)
    model.fit(x, x[:, :2], epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = models.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Dense",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "ReLU",
        "Dense",
    ]
    # The drawn seed is saved (in metadata.json), and stays a drawn seed.
    assert loaded.layers[2].seed is None is model.layers[2].seed
    assert loaded.layers[2]._built_seed == model.layers[2]._built_seed
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # training resumes with the same noise
    t = x[:, :2]
    assert float(loaded.train_on_batch(x, t)) == float(model.train_on_batch(x, t))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for name in ("GaussianNoise", "GaussianDropout", "AlphaDropout", "ReLU"):
        assert name in text


def test_functional_model(rng):
    inputs = fastnn.Input((5,))
    h = layers.Dense(8)(inputs)
    h = layers.GaussianNoise(0.1, seed=1)(h, training=True)
    h = layers.ReLU(max_value=1.0)(h)
    h = layers.AlphaDropout(0.1, seed=2)(h)
    outputs = layers.Dense(1)(h)
    model = fastnn.Model(inputs, outputs)
    model.compile("sgd", "mse")
    x = rng.standard_normal((16, 5)).astype(np.float32)
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    w = model.get_weights()
    expected = np.minimum(np.maximum(x @ w[0] + w[1], 0), 1) @ w[2] + w[3]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    config = model.get_config()
    names = [entry["class_name"] for entry in config["layers"]]
    assert "GaussianNoise" in names and "AlphaDropout" in names
    clone = fastnn.Model.from_config(config)
    clone.set_weights(w)
    np.testing.assert_allclose(clone.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: layers.GaussianNoise(-0.1), "stddev"),
        (lambda: layers.GaussianNoise(1.5), "stddev"),
        (lambda: layers.GaussianNoise(None), "stddev"),
        (lambda: layers.GaussianNoise("a"), "stddev"),
        (lambda: layers.GaussianDropout(1.0), "rate"),
        (lambda: layers.GaussianDropout(-0.5), "rate"),
        (lambda: layers.GaussianDropout(float("nan")), "rate"),
        (lambda: layers.AlphaDropout(1.0), "rate"),
        (lambda: layers.AlphaDropout(2), "rate"),
        (lambda: layers.AlphaDropout(0.1, noise_shape=(None, 4)), "noise_shape"),
        (lambda: layers.ReLU(max_value=-1.0), "max_value of a ReLU layer cannot be a negative"),
        (lambda: layers.ReLU(negative_slope=-0.1), "negative_slope of a ReLU layer cannot be"),
        (lambda: layers.ReLU(negative_slope=None), "negative_slope of a ReLU layer cannot be"),
        (lambda: layers.ReLU(threshold=-1.0), "threshold of a ReLU layer cannot be"),
        (lambda: layers.ReLU(threshold=None), "threshold of a ReLU layer cannot be"),
        (lambda: layers.ReLU(max_value=float("nan")), "max_value"),
        (lambda: activations.relu(np.ones(2), threshold=-float("inf")), "threshold"),
        (lambda: activations.relu(np.ones(2), negative_slope=float("inf")), "negative_slope"),
    ],
)
def test_bad_arguments_raise_and_leave_the_model_unchanged(rng, make, match):
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=match):
        model.add(make())
    assert len(model.layers) == 1
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    assert model.predict(x, verbose=0).shape == (4, 2)


def test_engine_rejects_bad_specs():
    for spec in [
        {"type": "gaussian_noise", "stddev": 1.5},
        {"type": "gaussian_noise", "stddev": float("nan")},
        {"type": "gaussian_dropout", "rate": 1.0},
        {"type": "alpha_dropout", "rate": -0.1},
        {"type": "activation", "activation": "relu_clipped", "activation_threshold": -1.0},
        {"type": "activation", "activation": "relu_clipped", "activation_param": -0.5},
        {"type": "activation", "activation": "relu_clipped", "activation_max_value": -2.0},
    ]:
        with pytest.raises(ValueError):
            _core.nn.Network(3, [spec])


# -- ReLU with parameters ------------------------------------------------------------

RELU_CASES = [
    # (negative_slope, max_value, threshold)
    (0.0, 6.0, 0.0),  # relu6
    (0.0, 2.5, 0.0),
    (0.2, 2.5, 0.0),
    (0.0, None, 1.0),
    (0.3, None, 1.0),
    (0.1, 3.0, 0.5),
    (0.5, 0.5, 1.0),  # cap below the threshold
    (0.25, 6.0, 0.0),
]


def relu_points(max_value, threshold):
    base = [-3.0, -1.0, -0.0, 0.0, 1e-7, 0.3, 2.0, 7.5]
    for c in (threshold, max_value if max_value is not None else 4.0):
        c32 = np.float32(c)
        base += [c, float(np.nextafter(c32, -np.inf)), float(np.nextafter(c32, np.inf))]
        base += [c - 0.01, c + 0.01]
    return np.array(base, np.float32)


def relu_reference(x, slope, max_value, threshold):
    """Keras 3's relu on float64: x > t ? min(x, m) : s (x - t), and its
    derivative (1 at x == m where Keras clips, 0 on the relu6 path)."""
    m = np.inf if max_value is None else max_value
    x = x.astype(np.float64)
    y = np.where(x > threshold, np.minimum(x, m), slope * (x - threshold) + 0.0)
    relu6_path = threshold == 0 and max_value == 6
    upper = (x < m) | ((x == m) & (not relu6_path))
    d = np.where((x > threshold) & upper, 1.0, np.where(x < threshold, slope, 0.0))
    return y, d


@pytest.mark.parametrize("slope,max_value,threshold", RELU_CASES)
def test_relu_kernel_against_numpy(isa, rng, slope, max_value, threshold):
    x = np.concatenate([relu_points(max_value, threshold), rng.uniform(-4, 8, 37)]).astype(
        np.float32
    )
    dy = rng.standard_normal(len(x)).astype(np.float32)
    y_ref, d_ref = relu_reference(x, slope, max_value, threshold)
    y = activations.relu(x, negative_slope=slope, max_value=max_value, threshold=threshold)
    kernel, param = activations.relu_kernel(slope, max_value, threshold)
    grad = fastnn.ops.activation_grad(dy, x, kernel, param)
    np.testing.assert_allclose(y, y_ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad, dy * d_ref, rtol=1e-6, atol=1e-7)
    assert not np.signbit(y[(x <= threshold) & (slope == 0)]).any()  # +0 as Keras


def test_relu_defaults_keep_the_plain_kernels():
    assert activations.relu_kernel() == ("relu", None)
    assert activations.relu_kernel(0.3) == ("leaky_relu", 0.3)
    assert activations.relu_kernel(0.0, None, 0.0) == ("relu", None)
    assert activations.relu_kernel(0.0, 6)[0] == "relu_clipped"
    x = np.linspace(-3, 3, 61, dtype=np.float32)
    np.testing.assert_array_equal(activations.relu(x), fastnn.ops.activation(x, "relu"))
    np.testing.assert_array_equal(activations.relu6(x), activations.relu(x, max_value=6.0))
    assert activations.kernel_name("relu6") == "relu_clipped"
    assert activations.serialize(activations.relu6) == "relu6"
    spec = layers.ReLU()._spec((4,))
    assert spec == {"type": "activation", "activation": "relu"}


def _keras_relu_torch(torch, x, slope, max_value, threshold):
    """keras/src/activations/activations.py ReLU.static_call on torch ops (the
    torch backend's relu, relu6, leaky_relu, where, clip)."""
    F = torch.nn.functional
    if slope != 0.0:
        if max_value is None and threshold == 0:
            return F.leaky_relu(x, slope)
        negative_part = F.relu(-x + threshold) if threshold != 0 else F.relu(-x)
    clip_max = max_value is not None
    if threshold != 0:
        y = torch.where(x > threshold, x, torch.zeros_like(x))
    elif max_value == 6:
        y = F.relu6(x)
        clip_max = False
    else:
        y = F.relu(x)
    if clip_max:
        y = torch.clip(y, 0.0, max_value)
    if slope != 0.0:
        y = y - slope * negative_part
    return y


@pytest.mark.parametrize("slope,max_value,threshold", [*RELU_CASES, (0.3, None, 0.0)])
def test_relu_against_torch(isa, rng, slope, max_value, threshold):
    torch = pytest.importorskip("torch")
    x = np.concatenate([relu_points(max_value, threshold), rng.uniform(-4, 8, 29)]).astype(
        np.float32
    )
    dy = rng.standard_normal(len(x)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = _keras_relu_torch(torch, xt, slope, max_value, threshold)
    yt.backward(torch.tensor(dy))
    y = activations.relu(x, negative_slope=slope, max_value=max_value, threshold=threshold)
    kernel, param = activations.relu_kernel(slope, max_value, threshold)
    grad = fastnn.ops.activation_grad(dy, x, kernel, param)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_relu_layer_trains_like_numpy(rng):
    """One SGD step through Dense -> ReLU(2, 0.1, 0.4) -> Dense in float64."""
    x = rng.standard_normal((32, 5)).astype(np.float32) * 2
    t = rng.standard_normal((32, 1)).astype(np.float32)
    w0 = rng.standard_normal((5, 7)).astype(np.float32)
    w1 = rng.standard_normal((7, 1)).astype(np.float32)
    model = _two_layer(layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.4), w0, w1)
    model.train_on_batch(x, t)
    h = x.astype(np.float64) @ w0
    a, d = relu_reference(h, 0.1, 2.0, 0.4)
    dp = 2 * (a @ w1 - t) / len(x)
    new0, new1 = model.get_weights()
    np.testing.assert_allclose(new1, w1 - 0.1 * (a.T @ dp), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(new0, w0 - 0.1 * (x.T @ ((dp @ w1.T) * d)), rtol=1e-4, atol=1e-6)


def test_dense_relu6_activation(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32) * 8
    model = models.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu6")])
    w, b = model.get_weights()
    expected = np.clip(x @ w + b, 0, 6)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert model.layers[0].get_config()["activation"] == "relu6"
    assert layers.Activation(activations.relu6).get_config()["activation"] == "relu6"


# -- Keras 3 itself (torch backend, in a subprocess as the other Keras checks) -------

KERAS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np
    import keras

    d = sys.argv[1]
    x = np.load(os.path.join(d, "x.npy"))
    cases = json.loads(sys.argv[2])
    out, meta = {}, {"relu": [], "noise": {}}
    for i, (slope, max_value, threshold) in enumerate(cases):
        layer = keras.layers.ReLU(max_value=max_value, negative_slope=slope, threshold=threshold)
        out[f"relu{i}"] = keras.ops.convert_to_numpy(layer(x))
        meta["relu"].append(layer.get_config())
    out["act_relu6"] = keras.ops.convert_to_numpy(keras.activations.relu6(x))
    meta["noise"]["GaussianNoise"] = keras.layers.GaussianNoise(0.2, seed=3).get_config()
    meta["noise"]["GaussianDropout"] = keras.layers.GaussianDropout(0.3, seed=4).get_config()
    meta["noise"]["AlphaDropout"] = keras.layers.AlphaDropout(0.2, seed=5).get_config()
    zeros = np.zeros((200, 50), "float32")
    alpha = keras.layers.AlphaDropout(0.2, seed=5)
    out["alpha_train"] = keras.ops.convert_to_numpy(alpha(zeros, training=True))
    for name in ("GaussianNoise", "GaussianDropout", "AlphaDropout"):
        layer = getattr(keras.layers, name)(0.2, seed=1)
        out[name + "_infer"] = keras.ops.convert_to_numpy(layer(x, training=False))
    for name in ("relu", "relu6"):
        meta[name + "_layer"] = keras.layers.Activation(name).get_config()["activation"]
    np.savez(os.path.join(d, "keras.npz"), **out)
    with open(os.path.join(d, "meta.json"), "w") as fh:
        json.dump(meta, fh)
    """
)


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    if importlib.util.find_spec("keras") is None:  # imported in the subprocess only
        pytest.skip("keras is not installed")
    d = tmp_path_factory.mktemp("keras_noise")
    x = np.concatenate(
        [relu_points(max_value, threshold) for _, max_value, threshold in RELU_CASES]
    ).reshape(-1, 1)
    x = np.concatenate([x, np.linspace(-4, 8, 121, dtype=np.float32).reshape(-1, 1)])
    np.save(d / "x.npy", x.astype(np.float32))
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT, str(d), json.dumps(RELU_CASES)],
        capture_output=True,
        text=True,
        env=env,
    )
    if run.returncode != 0 and "No module named" in run.stderr:
        pytest.skip(f"keras cannot be imported: {run.stderr[-300:]}")
    assert run.returncode == 0, run.stderr[-3000:]
    with np.load(d / "keras.npz") as data:
        arrays = dict(data)
    return x.astype(np.float32), arrays, json.loads((d / "meta.json").read_text())


def test_relu_layer_and_config_equal_keras(keras_run):
    x, ref, meta = keras_run
    for i, (slope, max_value, threshold) in enumerate(RELU_CASES):
        layer = layers.ReLU(max_value=max_value, negative_slope=slope, threshold=threshold)
        model = models.Sequential([layers.Input((1,)), layer])
        np.testing.assert_allclose(
            model.predict(x, verbose=0), ref[f"relu{i}"], rtol=1e-6, atol=1e-7
        )
        ours, theirs = layer.get_config(), meta["relu"][i]
        for key in ("max_value", "negative_slope", "threshold", "trainable"):
            assert ours[key] == theirs[key], key
    np.testing.assert_array_equal(activations.relu6(x), ref["act_relu6"])
    assert meta["relu6_layer"] == "relu6"


def test_noise_configs_and_inference_equal_keras(keras_run):
    x, ref, meta = keras_run
    ours = {
        "GaussianNoise": layers.GaussianNoise(0.2, seed=3).get_config(),
        "GaussianDropout": layers.GaussianDropout(0.3, seed=4).get_config(),
        "AlphaDropout": layers.AlphaDropout(0.2, seed=5).get_config(),
    }
    for name, config in ours.items():
        theirs = meta["noise"][name]
        shared = set(theirs) - {"dtype", "name"}
        assert {k: config[k] for k in shared} == {k: theirs[k] for k in shared}
        np.testing.assert_array_equal(ref[name + "_infer"], x)


def test_alpha_dropout_constants_equal_keras(keras_run):
    """Keras's training output on zeros holds exactly two values: b (kept) and
    a * alpha_p + b (dropped); the kernel gives the same two float32s."""
    _, ref, _ = keras_run
    theirs = np.unique(ref["alpha_train"])
    y, _ = _core.nn._noise_forward("alpha_dropout", np.zeros(10_000, np.float32), 3, 0.2)
    ours = np.unique(y)
    assert len(theirs) == 2
    np.testing.assert_array_equal(ours, theirs)


def test_multi_chunk_batches_are_thread_independent(threads):
    """600 x 64 activations span two 32768-element chunks of the parallel
    noise pass: 1 and 2 threads give the same step."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((600, 10)).astype(np.float32)
    t = rng.standard_normal((600, 1)).astype(np.float32)
    w0 = rng.standard_normal((10, 64)).astype(np.float32) * 0.3
    w1 = rng.standard_normal((64, 1)).astype(np.float32) * 0.3
    results = []
    for n in (1, 2):
        fastnn.set_num_threads(n)
        for make in (
            lambda: layers.GaussianNoise(0.3, seed=2),
            lambda: layers.GaussianDropout(0.3, seed=2),
            lambda: layers.AlphaDropout(0.3, seed=2),
        ):
            model = _two_layer(make(), w0, w1)
            model.train_on_batch(x, t)
            results.append(model.get_weights())
    for a, b in zip(results[:3], results[3:]):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
