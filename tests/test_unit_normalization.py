"""layers.UnitNormalization: the engine's unit_norm layer, ``x * min(1 /
|x|_2, 1e12)`` per sample. Against Keras 3.15 (torch backend): outputs,
training trajectories, configs and saved files; against float64 torch
autograd: the gradients; capped rows (zeros); threads and ISAs; bad axes."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet
from layer_recipes import (
    check_fit_matches_keras,
    check_save_load_resume,
    check_thread_counts_agree,
    targets,
    under_every_isa,
)

import fastnn
from fastnn import Input, _core, layers, models, optimizers

WIDTHS = [1, 2, 7, 37, 130]
BATCHES = [1, 5, 64]
CAP = float(np.float32(1e12))  # Keras's 1 / epsilon in float32


def varied_rows(rng, batch, width):
    """Rows of norms from 1e-3 to 1e3, the second one zeros and the third
    one capped (norm 1e-13) when the batch has them."""
    x = rng.standard_normal((batch, width)) * 10.0 ** rng.uniform(-3, 3, (batch, 1))
    if batch > 1:
        x[1] = 0.0
    if batch > 2:
        x[2] = 0.0
        x[2, -1] = 1e-13
    return x.astype(np.float32)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("batch", BATCHES)
def test_outputs_match_keras_and_the_eager_call(rng, batch, width):
    keras = keras_or_skip()
    x = varied_rows(rng, batch, width)
    with keras_quiet():
        expected = np.asarray(keras.layers.UnitNormalization()(x))
    model = models.Sequential([Input((width,)), layers.UnitNormalization()])
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(layers.UnitNormalization()(x), got, rtol=1e-6, atol=1e-30)
    if batch > 2:
        assert not got[1].any()
        assert got[2, -1] == np.float32(np.float32(1e-13) * np.float32(CAP))
    # not C-contiguous, and Fortran order: the same values
    np.testing.assert_array_equal(model.predict(np.asfortranarray(x), verbose=0), got)
    assert model.predict(np.zeros((0, width), np.float32), verbose=0).shape == (0, width)


def torch_unit_norm(torch, h, safe=False):
    """Keras's ops.normalize(h, order=2, epsilon=1e-12) on a float64 tensor;
    safe: a zero row's factor is the cap without going through rsqrt(0)
    (whose derivative, inf, makes autograd's NaN there)."""
    square_sum = (h * h).sum(dim=1, keepdim=True)
    cap = torch.tensor(CAP, dtype=h.dtype)
    if not safe:
        return h * torch.minimum(torch.rsqrt(square_sum), cap)
    zero = square_sum == 0
    ones = torch.ones_like(square_sum)
    inv = torch.minimum(torch.rsqrt(torch.where(zero, ones, square_sum)), cap)
    return h * torch.where(zero, cap, inv)


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("batch", BATCHES)
def test_training_step_gradients_match_torch_float64(isa, rng, batch, width, first):
    """x -> [Dense(width, tanh)] -> unit_norm -> Dense(3); mse. first=True:
    the layer on the inputs (rows of zeros and capped rows included)."""
    torch = pytest.importorskip("torch")
    width_in = width if first else 5
    specs = [] if first else [{"type": "dense", "units": width, "activation": "tanh"}]
    net = _core.nn.Network(width_in, [*specs, {"type": "unit_norm"}, {"type": "dense", "units": 3}])
    net.set_loss("mse")
    for v in net.param_views():
        v[...] = rng.uniform(-1, 1, v.shape)
    params = [torch.tensor(v.astype(np.float64), requires_grad=True) for v in net.param_views()]
    x = varied_rows(rng, batch, width_in) if first else rng.standard_normal((batch, 5))
    x = x.astype(np.float32)
    t = rng.standard_normal((batch, 3)).astype(np.float32)
    result = net.train_batch(x, t)
    h = torch.tensor(x, dtype=torch.float64)
    if not first:
        h = torch.tanh(h @ params[0] + params[1])
    out = torch_unit_norm(torch, h) @ params[-2] + params[-1]
    loss = ((out - torch.tensor(t, dtype=torch.float64)) ** 2).mean()
    loss.backward()
    np.testing.assert_allclose(result["loss_sum"] / batch, loss.item(), rtol=2e-6)
    for got, ref in zip(net.grad_views(), params):
        scale = max(1.0, float(np.abs(ref.grad.numpy()).max()))
        np.testing.assert_allclose(got, ref.grad.numpy(), rtol=2e-5, atol=1e-6 * scale)


def test_capped_rows_pass_the_cap_times_the_gradient(isa, rng):
    """Where the 1e12 cap holds, dx = 1e12 dy (the derivative through the
    cap is 0), as float64 autograd gives it for a capped row that is not all
    zeros; for a zero row autograd gives NaN (0 * rsqrt'(0); Keras's float32
    torch backend gives NaN for every capped row), fastnn the same finite
    limit. x -> Dense(4, no bias) -> unit_norm -> Dense(3); mse."""
    torch = pytest.importorskip("torch")
    net = _core.nn.Network(
        2,
        [
            {"type": "dense", "units": 4, "use_bias": False},
            {"type": "unit_norm"},
            {"type": "dense", "units": 3},
        ],
    )
    net.set_loss("mse")
    for v in net.param_views():
        v[...] = rng.uniform(-1, 1, v.shape)
    # hidden rows: zeros, ~1e-14 (capped), ~1 and ~1e-11 (below the cap)
    x = np.array([[0, 0], [1e-14, -2e-14], [0.5, 1.5], [3e-12, 1e-11]], np.float32)
    t = rng.standard_normal((4, 3)).astype(np.float32)
    net.train_batch(x, t)

    def autograd(safe):
        params = [torch.tensor(v.astype(np.float64), requires_grad=True) for v in net.param_views()]
        h = torch.tensor(x, dtype=torch.float64) @ params[0]
        out = torch_unit_norm(torch, h, safe) @ params[1] + params[2]
        ((out - torch.tensor(t, dtype=torch.float64)) ** 2).mean().backward()
        return [p.grad.numpy() for p in params]

    for got, ref in zip(net.grad_views(), autograd(safe=True)):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())
    assert np.isnan(autograd(safe=False)[0]).all()  # (x's zero row times NaN)
    x[0] = 1.0  # without the zero row, autograd of Keras's formula itself
    net.train_batch(x, t)
    for got, ref in zip(net.grad_views(), autograd(safe=False)):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("where", ["input", "hidden", "output"])
def test_training_matches_keras(rng, where):
    """3 epochs of SGD in batches of 16: losses, evaluate and weights as
    Keras's, from the same weights. A zero input row (a zero hidden row
    too: relu of the zero bias) where Keras's gradient stays finite: not
    for the layer on the linear output, where it would be NaN. (That output
    has 4 units: normalized 2-D outputs are angles, whose steps magnify
    float32 rounding where a row's norm is small, Keras's and fastnn's.)"""
    keras = keras_or_skip()
    x = (rng.standard_normal((51, 9)) * 2 + 1).astype(np.float32)
    if where == "output":
        y, loss = rng.standard_normal((51, 4)).astype(np.float32), "mse"
    else:
        x[4] = 0.0
        y, loss = targets(rng, "softmax", 51)

    def build(lib):
        unit = [lib.layers.UnitNormalization()]
        units, activation = (4, None) if where == "output" else (3, "softmax")
        return lib.Sequential(
            [
                lib.Input((9,)),
                *(unit if where == "input" else []),
                lib.layers.Dense(11, activation="relu"),
                *(unit if where == "hidden" else []),
                lib.layers.Dense(units, activation=activation),
                *(unit if where == "output" else []),
            ]
        )

    check_fit_matches_keras(keras, build, x, y, loss)


def test_bit_identical_weights_for_1_2_and_3_threads(isa, threads):
    check_thread_counts_agree(lambda k: layers.UnitNormalization())


def test_isas_agree(rng):
    """The layer's kernels are the same code on every ISA: the same bits on
    a model of the layer alone; trajectories differ only by the GEMMs'
    rounding."""
    x = (rng.standard_normal((70, 13)) * 3).astype(np.float32)
    x[3] = 0.0
    y = rng.integers(0, 3, 70)

    def run():
        alone = models.Sequential([Input((13,)), layers.UnitNormalization()])
        outputs = alone.predict(x, verbose=0)
        fastnn.utils.set_random_seed(9)
        model = models.Sequential(
            [
                Input((13,)),
                layers.UnitNormalization(),
                layers.Dense(17, activation="relu"),
                layers.UnitNormalization(),
                layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        return outputs, model.get_weights()

    results = under_every_isa(run)
    for outputs, weights in results.values():
        np.testing.assert_array_equal(outputs, results["generic"][0])
        for a, b in zip(weights, results["generic"][1]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_rows_beyond_float32_squares_still_normalize():
    """The sum of squares is in double (Keras's float32 sum overflows: 0)."""
    model = models.Sequential([Input((3,)), layers.UnitNormalization()])
    x = np.array([[3e20, 4e20, 0], [1e-30, 0, 0]], np.float32)
    expected = np.array([[0.6, 0.8, 0], [1e-30 * CAP, 0, 0]], np.float32)
    for got in (model.predict(x, verbose=0), model.layers[0](x)):
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_config_matches_keras_and_round_trips():
    keras = keras_or_skip()
    for axis in (-1, 1, [-1], (1,)):
        with keras_quiet():
            kconfig = keras.layers.UnitNormalization(axis=axis, name="un").get_config()
        layer = layers.UnitNormalization(axis=axis, name="un")
        assert layer.get_config() == kconfig
        same = layers.UnitNormalization.from_config(layer.get_config())
        assert same.axis == kconfig["axis"]
        again = layers.deserialize(layers.serialize(layer))
        assert isinstance(again, layers.UnitNormalization) and again.get_config() == kconfig


def test_save_load_resume_and_summary(tmp_path, rng, capsys):
    def make(seed):
        fastnn.utils.set_random_seed(seed)
        m = models.Sequential(
            [
                Input((5,)),
                layers.Dense(8, activation="tanh"),
                layers.UnitNormalization(name="un"),
                layers.Dense(3),
            ]
        )
        m.compile(optimizers.Adam(0.01), "mse")
        return m

    model = check_save_load_resume(tmp_path, make, rng)
    model.summary()
    line = next(s for s in capsys.readouterr().out.splitlines() if "un (UnitNormalization)" in s)
    assert "(None, 8)" in line and line.rstrip("│ ").endswith("0")


def test_loads_a_keras_file_and_predicts_as_keras(tmp_path, rng):
    keras = keras_or_skip()
    x = rng.standard_normal((10, 5)).astype(np.float32)
    with keras_quiet():
        kmodel = keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(4, activation="relu"),
                keras.layers.UnitNormalization(axis=[-1]),
                keras.layers.Dense(2),
            ]
        )
        kmodel.save(tmp_path / "k.keras")
        expected = np.asarray(kmodel.predict(x, verbose=0))
    loaded = models.load_model(tmp_path / "k.keras")
    assert isinstance(loaded.layers[1], layers.UnitNormalization)
    assert loaded.layers[1].axis == [-1]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "axis,error,match",
    [
        ("a", TypeError, "expected an int or a list/tuple of ints. Received: axis=a"),
        (1.5, TypeError, "expected an int or a list/tuple of ints"),
        ([1.0], TypeError, "expected an int or a list/tuple of ints"),
        (True, TypeError, "expected an int or a list/tuple of ints"),
        (None, TypeError, "expected an int or a list/tuple of ints"),
        (0, ValueError, "axis=0: fastnn normalizes each sample over its features"),
        ([0, 1], ValueError, "normalizes each sample"),
        ([-1, 1], ValueError, "normalizes each sample"),
        (2, ValueError, "normalizes each sample"),
        ([], ValueError, "normalizes each sample"),
    ],
)
def test_bad_axes_raise_clear_errors(axis, error, match):
    with pytest.raises(error, match=match):
        layers.UnitNormalization(axis=axis)


def test_keras_takes_the_same_type_errors():
    keras = keras_or_skip()
    for axis in ("a", 1.5, None):
        with pytest.raises(TypeError, match="expected an int or a list/tuple of ints"):
            keras.layers.UnitNormalization(axis=axis)


def test_bad_shapes_and_reassigned_axes_leave_the_model_unchanged(rng):
    fastnn.utils.set_random_seed(0)
    model = models.Sequential([Input((5,)), layers.Dense(4), layers.UnitNormalization()])
    model.compile("adam", "mse")
    x = rng.standard_normal((3, 5)).astype(np.float32)
    before, out = model.get_weights(), model.predict(x, verbose=0)
    net = model._net
    with pytest.raises(ValueError, match=r"act on the last axis, keeping \(4,\)"):
        models.Sequential([Input((4, 5)), layers.Flatten(), layers.Reshape((4, 5))]).add(
            layers.UnitNormalization()
        )
    layer = model.layers[1]
    with pytest.raises(ValueError, match="normalizes each sample"):
        layer.axis = 0
    assert layer.axis == -1
    layer.axis = (1,)
    assert layer.axis == [1] and model._net is net
    with pytest.raises(ValueError, match="takes real inputs of shape"):
        layer(np.zeros((2, 3, 4), np.float32))
    np.testing.assert_array_equal(model.predict(x, verbose=0), out)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_functional_api_and_clone(rng):
    inputs = Input((5,))
    h = layers.Dense(4, activation="relu")(inputs)
    h = layers.UnitNormalization()(h)
    model = fastnn.Model(inputs, layers.Dense(2, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy")
    x = rng.standard_normal((30, 5)).astype(np.float32)
    model.fit(x, rng.integers(0, 2, 30), epochs=2, verbose=0)
    norms = np.linalg.norm(layers.UnitNormalization()(rng.standard_normal((4, 6))), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-6)
    clone = models.clone_model(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
