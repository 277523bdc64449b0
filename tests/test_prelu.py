"""layers.PReLU: the engine's prelu layer against float64 torch gradients on
every ISA, torch's prelu, Keras's expression, frozen layers, threads, saving,
bad arguments, and Keras 3.15 itself (PyTorch backend) where it is importable."""

from __future__ import annotations

import re

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
from fastnn import _core, initializers, layers, models, optimizers

WIDTHS = [1, 2, 7, 37, 130]
BATCHES = [1, 5, 64]


def prelu_net(width_in, width, first):
    """x -> [Dense(width, no bias)] -> prelu -> Dense(3, no bias); mse.
    first=True: the prelu is the first layer (no dx is needed)."""
    specs = [] if first else [{"type": "dense", "units": width, "use_bias": False}]
    specs += [{"type": "prelu"}, {"type": "dense", "units": 3, "use_bias": False}]
    net = _core.nn.Network(width_in, specs)
    net.set_loss("mse")
    return net


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("width", WIDTHS)
def test_training_step_gradients_match_torch_float64(isa, rng, width, batch, first):
    torch = pytest.importorskip("torch")
    width_in = width if first else 5
    net = prelu_net(width_in, width, first)
    views = net.param_views()
    for v in views:
        v[...] = rng.standard_normal(v.shape)
    params = [v.copy() for v in views]
    x = (rng.standard_normal((batch, width_in)) * 2).astype(np.float32)
    x[0, 0] = 0.0  # the derivative at 0 is 0, as torch's relu
    t = rng.standard_normal((batch, 3)).astype(np.float32)
    result = net.train_batch(x, t)

    ts = [torch.tensor(p.astype(np.float64), requires_grad=True) for p in params]
    h = torch.tensor(x, dtype=torch.float64)
    k = 0
    if not first:
        h, k = h @ ts[0], 1
    h = torch.relu(h) - ts[k] * torch.relu(-h)  # Keras's expression
    loss = ((h @ ts[k + 1] - torch.tensor(t, dtype=torch.float64)) ** 2).mean()
    loss.backward()
    np.testing.assert_allclose(result["loss_sum"] / batch, loss.item(), rtol=2e-5, atol=1e-6)
    for got, ref in zip(net.grad_views(), ts):
        ref = ref.grad.numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=2e-5 * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("width", WIDTHS)
def test_predict_is_torch_prelu_and_the_eager_call(rng, width):
    torch = pytest.importorskip("torch")
    layer = layers.PReLU()
    model = models.Sequential([layers.Input(shape=(width,)), layer])
    np.testing.assert_array_equal(layer.alpha, np.zeros(width, np.float32))  # Keras's "Zeros"
    layer.alpha[...] = rng.standard_normal(width)
    x = (rng.standard_normal((40, 2 * width)) * 3).astype(np.float32)[::2, ::2]
    x[0] = 0.0
    got = model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.predict(np.asfortranarray(x), verbose=0), got)
    ref = torch.nn.functional.prelu(torch.tensor(x), torch.tensor(layer.alpha)).numpy()
    np.testing.assert_array_equal(got, ref)  # one rounding either way
    np.testing.assert_array_equal(layer(x), got)


def test_signed_zeros_come_out_as_keras_computes_them():
    torch = pytest.importorskip("torch")
    model = models.Sequential([layers.Input(shape=(4,)), layers.PReLU()])
    layer = model.layers[0]
    layer.alpha[...] = [0.0, 0.0, 0.5, -0.5]
    x = np.array([[-1.0, -0.0, -0.0, -0.0], [0.0, -2.0, 0.0, -0.0]], np.float32)
    xt, alpha = torch.tensor(x), torch.tensor(layer.alpha)
    ref = (torch.relu(xt) + -alpha * torch.relu(-xt)).numpy()  # Keras's call, torch backend
    for got in (model.predict(x, verbose=0), layer(x)):
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
    assert np.signbit(ref).any() and not np.signbit(ref).all()


def test_sgd_trajectory_matches_torch(rng):
    torch = pytest.importorskip("torch")
    check_sgd_trajectory_matches_torch(
        torch,
        rng,
        layers.PReLU(alpha_initializer=initializers.Constant(0.2)),
        lambda h, params: torch.nn.functional.prelu(h, params[0]),
    )


def test_bit_identical_weights_for_1_2_and_3_threads(isa, threads):
    initial = ["glorot_uniform", "zeros"]
    check_thread_counts_agree(lambda k: layers.PReLU(alpha_initializer=initial[k]))


def test_frozen_layer_keeps_alpha_and_passes_gradients(rng):
    fastnn.utils.set_random_seed(3)
    model = models.Sequential(
        [layers.Input(shape=(6,)), layers.Dense(5), layers.PReLU(), layers.Dense(2)]
    )
    prelu = model.layers[1]
    prelu.alpha[...] = rng.uniform(0.1, 0.5, 5)
    prelu.trainable = False
    assert prelu.trainable_weights == [] and len(prelu.non_trainable_weights) == 1
    model.compile(optimizers.SGD(0.1), "mse")
    before = model.get_weights()
    x = rng.standard_normal((16, 6)).astype(np.float32)
    model.fit(x, rng.standard_normal((16, 2)).astype(np.float32), epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[2], before[2])
    assert not np.array_equal(after[0], before[0])
    prelu.trainable = True
    model.fit(x, rng.standard_normal((16, 2)).astype(np.float32), epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[2], before[2])


def test_config_and_save_load_resume(tmp_path, rng):
    def make(seed):
        fastnn.utils.set_random_seed(seed)
        m = models.Sequential(
            [
                layers.Input(shape=(5,)),
                layers.Dense(8),
                layers.PReLU(alpha_initializer=initializers.Constant(0.3), name="act"),
                layers.Dense(3),
            ]
        )
        m.compile(optimizers.Adam(0.01), "mse")
        return m

    prelu = make(0).get_layer("act")
    assert [w.name for w in prelu.weights] == ["alpha"] and prelu.count_params() == 8
    same = layers.deserialize(layers.serialize(prelu))
    assert isinstance(same, layers.PReLU)
    assert same.get_config()["alpha_initializer"]["config"] == {"value": 0.3}
    check_save_load_resume(tmp_path, make, rng)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"alpha_regularizer": "l2"}, "alpha_regularizer='l2' is not supported"),
        ({"alpha_constraint": "non_neg"}, "alpha_constraint"),
        ({"shared_axes": [1]}, r"shared_axes=\[1\] is not supported"),
        ({"alpha_initializer": "no_such"}, "no_such"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.PReLU(**kwargs)


def test_shared_axes_assigned_later_is_refused_as_in_the_constructor():
    layer = layers.PReLU()
    with pytest.raises(ValueError, match=r"shared_axes=\[1\] is not supported"):
        layer.shared_axes = [1]
    assert layer.shared_axes is None and layer.get_config()["shared_axes"] is None


def test_bad_shapes_leave_the_model_unchanged(rng):
    fastnn.utils.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(5,)), layers.Dense(4), layers.PReLU()])
    model.compile("adam", "mse")
    before = model.get_weights()
    with pytest.raises(ValueError, match="has 4 features"):
        model.layers[1](np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="add a Flatten layer"):
        models.Sequential([layers.Input(shape=(4, 5)), layers.PReLU()])
    with pytest.raises(ValueError, match=r"expected 4 features|shape"):
        model.fit(np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32), verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


KERAS_SCRIPT = five_step_script(
    None, "keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.2))"
)


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    return keras_run_on_random_data(tmp_path_factory, "keras_prelu", KERAS_SCRIPT)


def test_matches_keras_over_five_sgd_steps_and_loads_its_file(keras_run):
    x, y, ref, meta, d = keras_run
    model = models.Sequential(
        [
            layers.Input(shape=(9,)),
            layers.Dense(11),
            layers.PReLU(),
            layers.Dense(4, activation="softmax"),
        ]
    )
    train_like_keras(model, x, y, ref)
    prelu = model.layers[1]
    assert [w.name for w in prelu.weights] == meta["names"]
    assert meta["name"] == "p_re_lu" and re.fullmatch(r"p_re_lu(_\d+)?", prelu.name)
    same_config_keys(prelu, meta["config"], ("alpha_regularizer", "shared_axes"))
    loaded = models.load_model(d / "k.keras")
    assert isinstance(loaded.layers[1], layers.PReLU)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ref["predict"], rtol=1e-6, atol=1e-7)
