"""``model(x, training=True)`` and eager calls of the random layers in
training mode (Monte Carlo dropout), against Keras 3's behaviour: a new mask
or noise on every call, Keras's formulas, BatchNormalization on the batch's
statistics with its moving ones updated, and nothing else of the model
changed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import _core, layers, models

ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


@pytest.fixture(autouse=True)
def _restore_threads_and_isa():
    threads, isa = fastnn.get_num_threads(), _core.active_isa()
    yield
    fastnn.set_num_threads(threads)
    _core.set_isa(isa)


def dropout_tail(rate=0.3, width=37, seed=5, features=11):
    """Dense then Dropout last: each output is the inference value or 0."""
    fastnn.utils.set_random_seed(seed)
    return models.Sequential(
        [
            layers.Input((features,)),
            layers.Dense(width, activation="relu"),
            layers.Dense(width),
            layers.Dropout(rate),
        ]
    )


def test_dropout_draws_a_new_scaled_mask_on_every_call(rng):
    rate = 0.3
    model = dropout_tail(rate)
    x = rng.standard_normal((53, 11)).astype(np.float32)
    inference = np.asarray(model(x))
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), inference)
    scaled = inference * np.float32(1.0 / (1.0 - rate))
    calls = [np.asarray(model(x, training=True)) for _ in range(40)]
    dropped = []
    for out in calls:
        assert out.shape == inference.shape and out.dtype == np.float32
        kept = out != 0
        np.testing.assert_allclose(out[kept], scaled[kept], rtol=2e-7, atol=0)
        dropped.append(np.mean(~kept[inference != 0]))
    # each mask differs from the others
    assert len({out.tobytes() for out in calls}) == len(calls)
    # the dropped fraction is the rate (40 x ~1900 draws: sd ~0.0017)
    assert abs(np.mean(dropped) - rate) < 0.01
    # inference afterwards is unchanged
    np.testing.assert_array_equal(np.asarray(model(x)), inference)


def test_monte_carlo_mean_approaches_the_inference_output(rng):
    """The last Dense after a Dropout is linear: the mean of many training
    calls tends to the inference output."""
    fastnn.utils.set_random_seed(2)
    model = models.Sequential(
        [
            layers.Input((6,)),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(3),
        ]
    )
    x = rng.standard_normal((17, 6)).astype(np.float32)
    inference = np.asarray(model(x))
    draws = np.stack([np.asarray(model(x, training=True)) for _ in range(600)])
    spread = draws.std(axis=0) / math.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - inference) < 5 * spread + 1e-6)
    assert np.all(draws.std(axis=0) > 0)


def test_training_calls_leave_fit_and_the_weights_unchanged(rng):
    x = rng.standard_normal((90, 11)).astype(np.float32)
    y = rng.standard_normal((90, 37)).astype(np.float32)
    trained = []
    for calls in (0, 3):
        model = dropout_tail(0.4, seed=9)
        model.compile("adam", "mse")
        before = [w.copy() for w in model.get_weights()]
        for _ in range(calls):
            model(x, training=True)
        for w, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(w, b)
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        trained.append(model.get_weights())
    # fit draws its masks from its own stream: the calls before do not move it
    for a, b in zip(*trained):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threads,isa", [(1, "generic"), (2, "generic"), (1, "avx2"), (2, "avx2")])
def test_masks_do_not_depend_on_threads_or_isa(rng, threads, isa):
    if isa not in _core.available_isas():
        pytest.skip(f"{isa} not available here")
    x = rng.standard_normal((300, 11)).astype(np.float32)
    fastnn.set_num_threads(1)
    _core.set_isa("generic")
    reference = [np.asarray(dropout_tail(0.5)(x, training=True)) for _ in range(1)][0]
    fastnn.set_num_threads(threads)
    _core.set_isa(isa)
    out = np.asarray(dropout_tail(0.5)(x, training=True))
    np.testing.assert_allclose(out, reference, rtol=2e-6, atol=1e-6)
    np.testing.assert_array_equal(out == 0, reference == 0)


def test_noise_layers_in_a_model(rng):
    x = np.zeros((400, 9), np.float32)
    for layer, check in (
        (layers.GaussianNoise(0.25, seed=3), lambda out: abs(out.std() - 0.25) < 0.01),
        (
            layers.GaussianDropout(0.2, seed=3),
            # zero inputs stay zero under multiplicative noise
            lambda out: not out.any(),
        ),
        (
            layers.AlphaDropout(0.3, seed=3),
            lambda out: abs(np.mean(np.isclose(out, _alpha_dropped(0.3))) - 0.3) < 0.02,
        ),
    ):
        model = models.Sequential([layers.Input((9,)), layer])
        np.testing.assert_array_equal(np.asarray(model(x)), x)
        first, second = np.asarray(model(x, training=True)), np.asarray(model(x, training=True))
        assert check(first), type(layer).__name__
        if type(layer) is not layers.GaussianDropout:
            assert not np.array_equal(first, second)


def _alpha_dropout_coefficients(rate):
    a = ((1 - rate) * (1 + rate * ALPHA_P**2)) ** -0.5
    return a, -a * ALPHA_P * rate


def _alpha_dropped(rate):
    a, b = _alpha_dropout_coefficients(rate)
    return np.float32(a) * np.float32(ALPHA_P) + np.float32(b)


def test_functional_outputs_along_the_chain_in_training_mode(rng):
    fastnn.utils.set_random_seed(1)
    inputs = fastnn.Input((5,))
    hidden = layers.Dense(13, activation="relu")(inputs)
    dropped = layers.Dropout(0.5)(hidden)
    out = layers.Dense(2)(dropped)
    model = fastnn.Model(inputs, [hidden, dropped, out])
    x = rng.standard_normal((21, 5)).astype(np.float32)
    h, d, o = (np.asarray(v) for v in model(x, training=True))
    # the three outputs come from the same pass: the same mask
    kept = d != 0
    np.testing.assert_allclose(d[kept], 2 * h[kept], rtol=1e-6)
    assert np.mean(kept[h != 0]) < 0.8
    w, b = model.layers[-1].get_weights()
    np.testing.assert_allclose(o, d @ w + b, rtol=1e-5, atol=1e-5)


def test_torch_tensor_in_torch_tensor_out():
    torch = pytest.importorskip("torch")
    model = dropout_tail(0.5)
    out = model(torch.ones(4, 11), training=True)
    assert isinstance(out, torch.Tensor) and out.shape == (4, 37)


def bn_pair(keras, momentum=0.8, trainable_layer=True, trainable_model=True):
    """The same Dense + BatchNormalization + Dropout(0) model in fastnn and
    Keras, with the same weights (gamma, beta and the moving statistics set
    away from their initial values)."""
    rng = np.random.default_rng(4)
    weights = [
        rng.standard_normal((7, 10)).astype(np.float32),
        rng.standard_normal(10).astype(np.float32),
        (1 + 0.3 * rng.standard_normal(10)).astype(np.float32),
        (0.2 * rng.standard_normal(10)).astype(np.float32),
        (0.5 * rng.standard_normal(10)).astype(np.float32),
        (1 + rng.random(10)).astype(np.float32),
    ]
    built = []
    for lib in (fastnn, keras):
        model = lib.Sequential(
            [
                lib.layers.Input((7,)),
                lib.layers.Dense(10),
                lib.layers.BatchNormalization(momentum=momentum),
                lib.layers.Dropout(0.0),
            ]
        )
        model.set_weights(weights)
        model.layers[1].trainable = trainable_layer
        model.trainable = trainable_model
        built.append(model)
    return built


@pytest.mark.parametrize(
    "trainable_layer,trainable_model", [(True, True), (False, True), (True, False)]
)
def test_batch_normalization_matches_keras(rng, trainable_layer, trainable_model):
    keras = keras_or_skip()
    ours, theirs = bn_pair(keras, trainable_layer=trainable_layer, trainable_model=trainable_model)
    x = (3 + 2 * rng.standard_normal((29, 7))).astype(np.float32)
    with keras_quiet():
        for _ in range(2):  # the second call sees the first one's moving statistics
            expected = keras.ops.convert_to_numpy(theirs(x, training=True))
            got = np.asarray(ours(x, training=True))
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
            for a, b in zip(ours.layers[1].get_weights(), theirs.layers[1].get_weights()):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        # and inference with the moving statistics the calls left
        np.testing.assert_allclose(
            np.asarray(ours(x)),
            keras.ops.convert_to_numpy(theirs(x)),
            rtol=1e-4,
            atol=1e-4,
        )


def test_batch_normalization_uses_the_rows_statistics(rng):
    """All of x is one batch (Keras's call): each column's output has mean
    beta and the moving statistics take one momentum step."""
    fastnn.utils.set_random_seed(0)
    model = models.Sequential([layers.Input((4,)), layers.BatchNormalization(momentum=0.75)])
    x = (5 + 3 * rng.standard_normal((1000, 4))).astype(np.float32)
    out = np.asarray(model(x, training=True))
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-3)
    bn = model.layers[0]
    np.testing.assert_allclose(bn.moving_mean, 0.25 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance, 0.75 + 0.25 * x.var(axis=0), rtol=1e-5)


def test_bad_input_raises_and_changes_nothing(rng):
    fastnn.utils.set_random_seed(0)
    model = models.Sequential(
        [layers.Input((4,)), layers.BatchNormalization(momentum=0.5), layers.Dropout(0.5)]
    )
    x = rng.standard_normal((8, 4)).astype(np.float32)
    before = [w.copy() for w in model.get_weights()]
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model(bad, training=True)
    with pytest.raises(ValueError, match="shape"):
        model(x[:, :3], training=True)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    model(np.zeros((0, 4), np.float32), training=True)  # empty: nothing to do


# -- eager calls of the layers themselves ------------------------------------


def test_eager_dropout_in_training_mode(rng):
    x = (1 + rng.random((64, 50))).astype(np.float32)
    layer = layers.Dropout(0.25, seed=7)
    first, second = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert first.dtype == np.float32 and not np.array_equal(first, second)
    kept = first != 0
    np.testing.assert_allclose(first[kept], x[kept] / np.float32(0.75), rtol=1e-6)
    assert abs(1 - kept.mean() - 0.25) < 0.02
    # a new layer with the same seed repeats the sequence, as Keras's
    again = layers.Dropout(0.25, seed=7)
    np.testing.assert_array_equal(np.asarray(again(x, training=True)), first)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)


def test_eager_noise_layers_in_training_mode(rng):
    ones = np.ones((300, 40), np.float32)
    noise = np.asarray(layers.GaussianNoise(0.2, seed=1)(ones, training=True)) - 1
    assert abs(noise.mean()) < 0.005 and abs(noise.std() - 0.2) < 0.005
    rate = 0.2
    scaled = np.asarray(layers.GaussianDropout(rate, seed=1)(ones, training=True))
    assert abs(scaled.mean() - 1) < 0.005
    assert abs(scaled.std() - math.sqrt(rate / (1 - rate))) < 0.01
    out = np.asarray(layers.AlphaDropout(0.4, seed=2)(ones, training=True))
    a, b = _alpha_dropout_coefficients(0.4)
    kept_value = np.float32(a) * np.float32(1) + np.float32(b)
    assert set(np.unique(out).tolist()) == {float(_alpha_dropped(0.4)), float(kept_value)}
    assert abs(np.mean(out == _alpha_dropped(0.4)) - 0.4) < 0.02


def test_eager_alpha_dropout_values_match_keras():
    keras = keras_or_skip()
    ones = np.ones((50, 20), np.float32)
    with keras_quiet():
        theirs = keras.ops.convert_to_numpy(
            keras.layers.AlphaDropout(0.35, seed=1)(ones, training=True)
        )
    ours = np.asarray(layers.AlphaDropout(0.35, seed=1)(ones, training=True))
    # different generators, the same two values
    assert sorted(np.unique(ours).tolist()) == sorted(np.unique(theirs).tolist())


@pytest.mark.parametrize("where", ["nested", "functional", "shared"])
def test_moving_statistics_reach_a_layer_another_model_holds(rng, where):
    """The pass updates the statistics of a BatchNormalization built by
    another model (a nested Sequential, a model called in a graph, a shared
    layer), as Keras's call updates the layer whichever model runs it."""
    keras = keras_or_skip()
    x = (2 + rng.standard_normal((12, 5))).astype(np.float32)
    results = []
    for lib in (fastnn, keras):
        L = lib.layers
        inner = lib.Sequential([L.Input((5,)), L.Dense(4), L.BatchNormalization(momentum=0.6)])
        if where == "nested":
            outer = lib.Sequential([L.Input((5,)), inner, L.Dense(2)])
        elif where == "functional":
            inputs = lib.Input((5,))
            outer = lib.Model(inputs, L.Dense(2)(inner(inputs)))
        else:
            outer = lib.Sequential([L.Input((5,)), inner.layers[0], inner.layers[1], L.Dense(2)])
        results.append((inner, outer))
    (f_inner, f_outer), (k_inner, k_outer) = results
    with keras_quiet():
        f_outer.set_weights(k_outer.get_weights())
        for _ in range(2):
            k_outer(x, training=True)
            f_outer(x, training=True)
        bn_k, bn_f = k_inner.layers[1], f_inner.layers[1]
        np.testing.assert_allclose(bn_f.moving_mean, bn_k.moving_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn_f.moving_variance, bn_k.moving_variance, rtol=1e-5)
        for ours, theirs in ((f_inner, k_inner), (f_outer, k_outer)):
            np.testing.assert_allclose(
                ours.predict(x, verbose=0),
                keras.ops.convert_to_numpy(theirs.predict(x, verbose=0)),
                rtol=1e-4,
                atol=1e-5,
            )


def test_an_empty_call_resets_the_activity_losses_and_keeps_the_statistics(rng):
    fastnn.utils.set_random_seed(0)
    model = models.Sequential(
        [
            layers.Input((5,)),
            layers.Dense(4, activity_regularizer="l2", kernel_initializer="ones"),
            layers.BatchNormalization(),
        ]
    )
    x = rng.standard_normal((8, 5)).astype(np.float32)
    model(x, training=True)
    assert model.losses[0] > 0
    moving = [w.copy() for w in model.layers[1].get_weights()]
    out = np.asarray(model(x[:0], training=True))
    assert out.shape == (0, 4)
    assert model.losses == [0.0]  # Keras's after an empty pass
    # (Keras's moving statistics become NaN; fastnn's stay)
    for w, m in zip(model.layers[1].get_weights(), moving):
        np.testing.assert_array_equal(w, m)
