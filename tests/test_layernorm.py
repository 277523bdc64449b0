"""layers.LayerNormalization: the engine's layer_norm layer against float64
torch gradients, training trajectories, frozen layers, threads, ISAs, saving,
bad arguments, and Keras 3.15 itself (PyTorch backend) where it is importable."""

from __future__ import annotations

import numpy as np
import pytest
from keras_subprocess import (
    five_step_script,
    keras_run_on_random_data,
    same_config_keys,
    train_like_keras,
)
from layer_recipes import (
    check_save_load_resume,
    check_sgd_trajectory_matches_torch,
    check_thread_counts_agree,
)

import fastnn
from fastnn import _core, layers, models, optimizers

WIDTHS = [1, 2, 7, 37, 130]
BATCHES = [1, 5, 64]
FLAGS = [(True, True), (False, True), (True, False), (False, False)]  # (center, scale)


def ln_net(width_in, width, center, scale, epsilon=1e-3, first=False):
    """x -> [Dense(width, no bias)] -> layer_norm -> Dense(3, no bias); mse.
    first=True: the layer_norm is the first layer (no dx is needed)."""
    specs = [] if first else [{"type": "dense", "units": width, "use_bias": False}]
    specs += [
        {"type": "layer_norm", "center": center, "scale": scale, "epsilon": epsilon},
        {"type": "dense", "units": 3, "use_bias": False},
    ]
    net = _core.nn.Network(width_in, specs)
    net.set_loss("mse")
    return net


def torch_reference(torch, x, params, t, center, scale, eps, first):
    """float64 loss and gradients of mse(LN(x W1) W2 - t), params in the
    engine's order."""
    ts = [torch.tensor(np.asarray(p, np.float64), requires_grad=True) for p in params]
    it = iter(ts)
    h = torch.tensor(x, dtype=torch.float64)
    if not first:
        h = h @ next(it)
    gamma = next(it) if scale else None
    beta = next(it) if center else None
    h = torch.nn.functional.layer_norm(h, (h.shape[1],), gamma, beta, eps)
    y = h @ next(it)
    loss = ((y - torch.tensor(t, dtype=torch.float64)) ** 2).mean()
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in ts]


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("center,scale", FLAGS)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("width", WIDTHS)
def test_training_step_gradients_match_torch_float64(isa, rng, width, batch, center, scale, first):
    torch = pytest.importorskip("torch")
    width_in = width if first else 5
    net = ln_net(width_in, width, center, scale, first=first)
    views = net.param_views()
    for v in views:
        v[...] = rng.uniform(0.5, 1.5, v.shape) * rng.choice([-1, 1], v.shape)
    params = [v.copy() for v in views]
    x = (rng.standard_normal((batch, width_in)) * 3 + 1).astype(np.float32)
    t = rng.standard_normal((batch, 3)).astype(np.float32)
    result = net.train_batch(x, t)
    loss, grads = torch_reference(torch, x, params, t, center, scale, 1e-3, first)
    np.testing.assert_allclose(result["loss_sum"] / batch, loss, rtol=2e-5, atol=1e-6)
    for got, ref in zip(net.grad_views(), grads):
        scale_ref = max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=2e-5 * scale_ref)


@pytest.mark.parametrize("center,scale", FLAGS)
@pytest.mark.parametrize("width", WIDTHS)
def test_predict_is_torch_layer_norm_and_the_eager_call(rng, width, center, scale):
    torch = pytest.importorskip("torch")
    fastnn.utils.set_random_seed(1)
    ln = layers.LayerNormalization(epsilon=1e-5, center=center, scale=scale)
    model = models.Sequential([layers.Input(shape=(width,)), ln])
    for w in model.weights:
        w[...] = rng.standard_normal(w.shape)
    # not C-contiguous, and Fortran order: the same values
    x = (rng.standard_normal((40, 2 * width)) * 5 - 2).astype(np.float32)[::2, ::2]
    got = model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.predict(np.asfortranarray(x), verbose=0), got)
    ref = torch.nn.functional.layer_norm(
        torch.tensor(x),
        (width,),
        torch.tensor(ln.gamma) if scale else None,
        torch.tensor(ln.beta) if center else None,
        1e-5,
    ).numpy()
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(ln(x), got, rtol=1e-6, atol=1e-6)


def test_sgd_momentum_trajectory_matches_torch(rng):
    torch = pytest.importorskip("torch")
    check_sgd_trajectory_matches_torch(
        torch,
        rng,
        layers.LayerNormalization(),
        lambda h, p: torch.nn.functional.layer_norm(h, (17,), p[0], p[1], 1e-3),
    )


def test_bit_identical_weights_for_1_2_and_3_threads(isa, threads):
    check_thread_counts_agree(lambda k: layers.LayerNormalization(center=k == 0))


def test_frozen_layer_gets_no_update_but_passes_gradients(rng):
    fastnn.utils.set_random_seed(3)
    model = models.Sequential(
        [
            layers.Input(shape=(6,)),
            layers.Dense(5),
            layers.LayerNormalization(),
            layers.Dense(2),
        ]
    )
    ln = model.layers[1]
    ln.gamma[...] = rng.uniform(0.5, 2, 5)
    ln.beta[...] = rng.standard_normal(5)
    ln.trainable = False
    assert ln.trainable_weights == [] and len(ln.non_trainable_weights) == 2
    model.compile(optimizers.SGD(0.1), "mse")
    before = model.get_weights()
    x = rng.standard_normal((16, 6)).astype(np.float32)
    model.fit(x, rng.standard_normal((16, 2)).astype(np.float32), epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[2], before[2])
    np.testing.assert_array_equal(after[3], before[3])
    assert not np.array_equal(after[0], before[0])  # the Dense below still trains


def test_weights_config_and_save_load_resume(tmp_path, rng):
    def make(seed):
        fastnn.utils.set_random_seed(seed)
        m = models.Sequential(
            [
                layers.Input(shape=(5,)),
                layers.Dense(8, activation="tanh"),
                layers.LayerNormalization(epsilon=1e-4, name="ln"),
                layers.Dense(3),
            ]
        )
        m.compile(optimizers.Adam(0.01), "mse")
        return m

    ln = make(0).get_layer("ln")
    assert [w.name for w in ln.weights] == ["gamma", "beta"]
    assert ln.count_params() == 16
    config = ln.get_config()
    assert config["epsilon"] == 1e-4 and config["axis"] == [-1] and config["rms_scaling"] is False
    same = layers.deserialize(layers.serialize(ln))
    assert isinstance(same, layers.LayerNormalization) and same.epsilon == 1e-4

    check_save_load_resume(tmp_path, make, rng)


def test_epsilon_reassigned_after_build_applies_from_the_next_step(rng):
    fastnn.utils.set_random_seed(2)
    model = models.Sequential([layers.Input(shape=(4,)), layers.LayerNormalization()])
    x = rng.standard_normal((3, 4)).astype(np.float32) * 0.01
    small = model.predict(x, verbose=0)
    model.layers[0].epsilon = 1.0
    big = model.predict(x, verbose=0)
    np.testing.assert_allclose(big, model.layers[0](x), rtol=1e-6, atol=1e-7)
    assert np.abs(big).max() < np.abs(small).max() / 10
    with pytest.raises(ValueError, match="epsilon must be a finite number > 0"):
        model.layers[0].epsilon = 0.0
    np.testing.assert_array_equal(model.predict(x, verbose=0), big)


def test_functional_api_and_clone(rng):
    inputs = layers.Input(shape=(5,))
    h = layers.Dense(4, activation="relu")(inputs)
    h = layers.LayerNormalization(scale=False)(h)
    outputs = layers.Dense(2, activation="softmax")(h)
    model = fastnn.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = rng.standard_normal((30, 5)).astype(np.float32)
    model.fit(x, rng.integers(0, 2, 30), epochs=2, verbose=0)
    assert model.count_params() == 24 + 4 + 10
    clone = models.clone_model(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"axis": 0}, ValueError, "batch axis"),
        ({"axis": 1.5}, TypeError, "Expected an int or a list/tuple of ints"),
        ({"axis": [1, 2]}, ValueError, "one axis, the last"),
        ({"epsilon": -1e-3}, ValueError, "epsilon must be a finite number > 0, got -0.001"),
        ({"epsilon": 0.0}, ValueError, "epsilon must be a finite number > 0"),
        ({"epsilon": 1e-50}, ValueError, "0 in float32"),
        ({"epsilon": 1e39}, ValueError, "inf in float32"),
        ({"epsilon": float("nan")}, ValueError, "epsilon must be a finite number > 0"),
        ({"epsilon": "small"}, ValueError, "epsilon must be a finite number > 0"),
        ({"beta_regularizer": "l2"}, ValueError, "beta_regularizer='l2' is not supported"),
        ({"gamma_constraint": "non_neg"}, ValueError, "gamma_constraint"),
        ({"rms_scaling": True}, ValueError, "rms_scaling=True is not supported"),
        ({"gamma_initializer": "no_such"}, ValueError, "no_such"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.LayerNormalization(**kwargs)


def test_bad_axis_or_shape_leaves_the_model_unchanged(rng):
    fastnn.utils.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(5,)), layers.Dense(4)])
    model.compile("adam", "mse")
    before = model.get_weights()
    net = model._net
    with pytest.raises(ValueError, match="axis=2"):
        model.add(layers.LayerNormalization(axis=2))
    assert model._net is net and len(model.layers) == 1
    with pytest.raises(ValueError, match="add a Flatten layer"):
        models.Sequential([layers.Input(shape=(4, 5)), layers.LayerNormalization()])
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="has 4 features"):
        model.add(layers.LayerNormalization())
        model.layers[-1](np.zeros((2, 3), np.float32))


def test_a_variance_beyond_float32_still_normalizes():
    """The row's inverse deviation is computed in double (torch's float32
    layer_norm gives NaN here)."""
    model = models.Sequential([layers.Input(shape=(5,)), layers.LayerNormalization()])
    x = np.array([[1e20, 0, 0, 0, 0], [1e30, 1, 2, 3, 4]], np.float32)
    wide = x.astype(np.float64)
    exact = (wide - wide.mean(1, keepdims=True)) / wide.std(1, keepdims=True)
    for got in (model.predict(x, verbose=0), model.layers[0](x)):
        np.testing.assert_allclose(got, exact, rtol=1e-6)


def test_axis_is_a_list_once_built_as_keras():
    layer = layers.LayerNormalization()
    assert layer.get_config()["axis"] == -1
    models.Sequential([layers.Input(shape=(3,)), layer])
    assert layer.axis == [-1] and layer.get_config()["axis"] == [-1]
    assert layers.LayerNormalization.from_config(layer.get_config()).axis == [-1]


def test_constant_rows_give_beta_and_stay_finite(rng):
    fastnn.utils.set_random_seed(6)
    model = models.Sequential([layers.Input(shape=(6,)), layers.LayerNormalization()])
    model.layers[0].beta[...] = np.arange(6)
    model.compile(optimizers.Adam(0.01), "mse")
    x = np.full((4, 6), 3.5, np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.tile(np.arange(6.0), (4, 1)))
    model.fit(x, rng.standard_normal((4, 6)).astype(np.float32), epochs=3, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


KERAS_SCRIPT = five_step_script("relu", "keras.layers.LayerNormalization(epsilon=1e-4)")


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    return keras_run_on_random_data(tmp_path_factory, "keras_ln", KERAS_SCRIPT)


def test_matches_keras_over_five_sgd_steps_and_loads_its_file(keras_run):
    x, y, ref, meta, d = keras_run
    model = models.Sequential(
        [
            layers.Input(shape=(9,)),
            layers.Dense(11, activation="relu"),
            layers.LayerNormalization(epsilon=1e-4),
            layers.Dense(4, activation="softmax"),
        ]
    )
    train_like_keras(model, x, y, ref)
    ln = model.layers[1]
    assert [w.name for w in ln.weights] == meta["names"]
    same_config_keys(ln, meta["config"], ("axis", "epsilon", "center", "scale", "rms_scaling"))
    from_keras = layers.LayerNormalization.from_config(meta["config"])
    assert from_keras.epsilon == 1e-4 and from_keras.axis in (-1, [-1])
    loaded = models.load_model(d / "k.keras")
    assert isinstance(loaded.layers[1], layers.LayerNormalization)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ref["predict"], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("nan"), float("inf")])
def test_engine_refuses_a_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match="LayerNormalization epsilon of layer 0 must be a finite"):
        _core.nn.Network(3, [{"type": "layer_norm", "epsilon": epsilon}])
