"""layers.ActivityRegularization: the identity whose input's penalty
``(l1 * sum|x| + l2 * sum x**2) / batch_size`` joins the loss, computed by the
engine's activity_regularization layer. Against Keras 3.15 (torch backend):
training trajectories, evaluate, configs and saved files; against float64
torch autograd: the gradients; threads and ISAs; bad arguments."""

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
from fastnn import Input, _core, layers, models, optimizers, regularizers

FACTORS = [(0.02, 0.0), (0.0, 0.05), (0.01, 0.03)]


def build(lib, where, output, l1, l2, frozen=False):
    """Input(7) -> [AR] -> Dense(5, relu) -> [AR] -> Dense(out) -> [AR]: the
    layer on the inputs, a hidden output or the model's output."""

    def reg(place):
        return [lib.layers.ActivityRegularization(l1=l1, l2=l2)] if place in where else []

    units, activation = {"softmax": (3, "softmax"), "sigmoid": (1, "sigmoid"), "linear": (2, None)}[
        output
    ]
    stack = [lib.Input((7,)), *reg("input"), lib.layers.Dense(5, activation="relu")]
    stack += [*reg("hidden"), lib.layers.Dense(units, activation=activation), *reg("output")]
    model = lib.Sequential(stack)
    if frozen:
        for layer in model.layers:
            if type(layer).__name__ == "ActivityRegularization":
                layer.trainable = False
    return model


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
@pytest.mark.parametrize("where", [("hidden",), ("output",), ("input", "hidden", "output")])
@pytest.mark.parametrize("l1,l2", FACTORS)
def test_training_matches_keras(rng, l1, l2, where, output, frozen):
    """3 epochs of SGD in batches of 16 (a short last batch of 3): losses,
    evaluate and the final weights as Keras's, from the same weights."""
    keras = keras_or_skip()
    x = (rng.standard_normal((51, 7)) * 1.5).astype(np.float32)
    y, loss = targets(rng, output, 51)

    def make(lib):
        return build(lib, where, output, l1, l2, frozen)

    check_fit_matches_keras(keras, make, x, y, loss)


def test_on_multi_axis_samples_before_flatten_matches_keras(rng):
    """The penalty sums every element of a sample, whatever its shape."""
    keras = keras_or_skip()
    x = rng.standard_normal((9, 4, 5)).astype(np.float32)
    y = rng.standard_normal((9, 2)).astype(np.float32)

    def make(lib):
        return lib.Sequential(
            [
                lib.Input((4, 5)),
                lib.layers.ActivityRegularization(l1=0.03, l2=0.2),
                lib.layers.Flatten(),
                lib.layers.Dense(2),
            ]
        )

    ours = make(fastnn)
    ours.compile(optimizer=optimizers.SGD(0.05), loss="mse")
    assert ours.layers[0].compute_output_shape((None, 4, 5)) == (None, 4, 5)
    with keras_quiet():
        theirs = make(keras)
        theirs.set_weights(ours.get_weights())
        theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        expected = [float(theirs.train_on_batch(x, y)) for _ in range(3)]
        k_weights = theirs.get_weights()
    got = [ours.train_on_batch(x, y) for _ in range(3)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    for a, b in zip(ours.get_weights(), k_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("l1,l2", [(0.3, 0.0), (0.0, 0.7), (0.2, 0.5)])
@pytest.mark.parametrize("width", [1, 2, 13])
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_gradients_match_torch_float64(isa, rng, batch, width, l1, l2):
    """Engine level: x -> Dense(width) -> AR -> Dense(3); mse plus the
    penalty of the hidden layer, against float64 autograd."""
    torch = pytest.importorskip("torch")
    net = _core.nn.Network(
        5,
        [
            {"type": "dense", "units": width, "activation": "tanh"},
            {"type": "activity_regularization", "activity_l1": l1, "activity_l2": l2},
            {"type": "dense", "units": 3},
        ],
    )
    net.set_loss("mse")
    for v in net.param_views():
        v[...] = rng.uniform(-1, 1, v.shape)
    params = [torch.tensor(v.astype(np.float64), requires_grad=True) for v in net.param_views()]
    x = rng.standard_normal((batch, 5)).astype(np.float32)
    t = rng.standard_normal((batch, 3)).astype(np.float32)
    result = net.train_batch(x, t)
    h = torch.tanh(torch.tensor(x, dtype=torch.float64) @ params[0] + params[1])
    f1, f2 = float(np.float32(l1)), float(np.float32(l2))  # the engine's float32 factors
    penalty = (f1 * h.abs().sum() + f2 * (h * h).sum()) / batch
    out = h @ params[2] + params[3]
    loss = ((out - torch.tensor(t, dtype=torch.float64)) ** 2).mean() + penalty
    loss.backward()
    np.testing.assert_allclose(result["loss_sum"] / batch, loss.item(), rtol=1e-6)
    for got, ref in zip(net.grad_views(), params):
        np.testing.assert_allclose(got, ref.grad.numpy(), rtol=2e-5, atol=1e-6)


def test_penalty_is_added_to_evaluate_and_not_to_predict(rng):
    fastnn.utils.set_random_seed(2)
    model = models.Sequential(
        [Input((4,)), layers.Dense(3), layers.ActivityRegularization(l1=0.5, l2=0.25)]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((7, 4)).astype(np.float32)
    y = np.zeros((7, 3), np.float32)
    out = model.predict(x, verbose=0)
    plain = models.Sequential([Input((4,)), layers.Dense(3)])
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(plain.predict(x, verbose=0), out)
    expected = (
        np.mean(out.astype(np.float64) ** 2)
        + (0.5 * np.abs(out).sum() + 0.25 * (out.astype(np.float64) ** 2).sum()) / 7
    )
    np.testing.assert_allclose(model.test_on_batch(x, y), expected, rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-6)
    assert model.predict(np.zeros((0, 4), np.float32), verbose=0).shape == (0, 3)


def test_zero_factors_and_zero_inputs_change_nothing(rng):
    """l1 = l2 = 0 is the identity (the same steps as without the layer); on
    rows of zeros the penalty and its gradient are 0 (sign(0) = 0)."""
    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = rng.standard_normal((20, 2)).astype(np.float32)

    def trained(middle):
        fastnn.utils.set_random_seed(7)
        model = models.Sequential([Input((4,)), layers.Dense(6, activation="relu"), *middle])
        model.add(layers.Dense(2))
        model.compile(optimizer=optimizers.Adam(0.01), loss="mse")
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return history.history["loss"], model.get_weights()

    ref_loss, ref_weights = trained([])
    loss, weights = trained([layers.ActivityRegularization()])
    assert loss == ref_loss
    for a, b in zip(weights, ref_weights):
        np.testing.assert_array_equal(a, b)
    model = models.Sequential([Input((3,)), layers.ActivityRegularization(l1=1.0, l2=1.0)])
    model.add(layers.Dense(1, kernel_initializer="ones"))
    model.compile(optimizer="sgd", loss="mse")
    zeros = np.zeros((4, 3), np.float32)
    assert model.test_on_batch(zeros, np.ones((4, 1), np.float32)) == pytest.approx(1.0)


def test_bit_identical_weights_for_1_2_and_3_threads(isa, threads):
    check_thread_counts_agree(lambda k: layers.ActivityRegularization(l1=0.01 * (k + 1), l2=0.001))


def test_isas_agree(rng):
    """The penalty is the same scalar code on every ISA: the same loss bits on
    a model of the layer alone; trajectories differ only by the GEMMs'
    rounding."""
    x = rng.standard_normal((40, 7)).astype(np.float32)
    y = rng.integers(0, 3, 40)

    def run():
        alone = models.Sequential([Input((7,)), layers.ActivityRegularization(0.3, 0.7)])
        alone.compile(optimizer="sgd", loss="mse")
        loss = alone.test_on_batch(x, np.zeros_like(x))
        fastnn.utils.set_random_seed(9)
        model = build(fastnn, ("input", "hidden", "output"), "softmax", 0.01, 0.02)
        model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return loss, model.get_weights()

    results = under_every_isa(run)
    assert len({loss for loss, _ in results.values()}) == 1
    for _, weights in results.values():
        for a, b in zip(weights, results["generic"][1]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_reassigned_regularizer_applies_from_the_next_step_and_bad_ones_change_nothing(rng):
    fastnn.utils.set_random_seed(5)
    layer = layers.ActivityRegularization(l1=0.1)
    model = models.Sequential([Input((4,)), layers.Dense(3), layer])
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = np.zeros((8, 3), np.float32)
    out = model.predict(x, verbose=0).astype(np.float64)
    mse = np.mean(out**2)
    np.testing.assert_allclose(model.test_on_batch(x, y), mse + 0.1 * np.abs(out).sum() / 8, 1e-6)
    layer.activity_regularizer = "l2"  # Keras's l2: 0.01
    np.testing.assert_allclose(model.test_on_batch(x, y), mse + 0.01 * (out**2).sum() / 8, 1e-6)
    before = model.get_weights()

    class Cubic(regularizers.Regularizer):
        def __call__(self, x):
            return float(np.sum(np.abs(x) ** 3))

    with pytest.raises(ValueError, match="ActivityRegularization .* cannot use"):
        layer.activity_regularizer = Cubic()
    assert layer.activity_regularizer == regularizers.L2(0.01)
    np.testing.assert_allclose(model.test_on_batch(x, y), mse + 0.01 * (out**2).sum() / 8, 1e-6)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"l1": -0.1}, ValueError, "Invalid value for argument l1: expected a non-negative float"),
        ({"l2": float("inf")}, ValueError, "Invalid value for argument l2"),
        ({"l2": float("nan")}, ValueError, "Invalid value for argument l2"),
        ({"l1": "0.1"}, ValueError, "Invalid value for argument l1"),
        ({"l1": [0.1]}, ValueError, "Invalid value for argument l1"),
        ({"l1": 0.1, "units": 3}, ValueError, "Unrecognized keyword arguments passed to Activ"),
        ({"dtype": "float16"}, ValueError, "dtype='float16' is not supported"),
    ],
)
def test_bad_arguments_raise_keras_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.ActivityRegularization(**kwargs)


def test_keras_refuses_the_same_factors():
    keras = keras_or_skip()
    for bad in ({"l1": -0.1}, {"l2": float("inf")}, {"l1": "0.1"}):
        with pytest.raises(ValueError, match="Invalid value for argument l"):
            keras.layers.ActivityRegularization(**bad)


def test_engine_refuses_bad_factors():
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="activity l1 of layer 0 must be a finite number"):
            _core.nn.Network(3, [{"type": "activity_regularization", "activity_l1": bad}])


def test_config_matches_keras_and_round_trips():
    keras = keras_or_skip()
    layer = layers.ActivityRegularization(l1=0.25, l2=1, name="act")
    with keras_quiet():
        kconfig = keras.layers.ActivityRegularization(l1=0.25, l2=1, name="act").get_config()
    config = layer.get_config()
    assert config == kconfig  # no activity_regularizer key, as Keras writes it
    same = layers.ActivityRegularization.from_config(config)
    assert (same.l1, same.l2, same.name) == (0.25, 1, "act")
    assert same.activity_regularizer == regularizers.L1L2(0.25, 1.0)
    again = layers.deserialize(layers.serialize(layer))
    assert isinstance(again, layers.ActivityRegularization) and again.get_config() == config
    default = layers.ActivityRegularization().get_config()
    assert (default["l1"], default["l2"]) == (0.0, 0.0)


def test_save_load_resume(tmp_path, rng):
    def make(seed):
        fastnn.utils.set_random_seed(seed)
        m = models.Sequential(
            [
                Input((5,)),
                layers.Dense(8, activation="tanh"),
                layers.ActivityRegularization(l1=0.01, l2=0.02, name="ar"),
                layers.Dense(3),
            ]
        )
        m.compile(optimizers.Adam(0.01), "mse")
        return m

    check_save_load_resume(tmp_path, make, rng)
    make(0).save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras").get_layer("ar")
    assert isinstance(loaded, layers.ActivityRegularization)
    assert (loaded.l1, loaded.l2) == (0.01, 0.02) and loaded.count_params() == 0


def test_loads_a_keras_file_and_evaluates_as_keras(tmp_path, rng):
    keras = keras_or_skip()
    x = rng.standard_normal((10, 5)).astype(np.float32)
    y = rng.standard_normal((10, 2)).astype(np.float32)
    with keras_quiet():
        kmodel = keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(4, activation="relu"),
                keras.layers.ActivityRegularization(l1=0.05, l2=0.1),
                keras.layers.Dense(2),
            ]
        )
        kmodel.compile("sgd", "mse")
        kmodel.save(tmp_path / "k.keras")
        expected = kmodel.evaluate(x, y, verbose=0)
    loaded = models.load_model(tmp_path / "k.keras")
    assert isinstance(loaded.layers[1], layers.ActivityRegularization)
    assert (loaded.layers[1].l1, loaded.layers[1].l2) == (0.05, 0.1)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), expected, rtol=1e-6)


def test_summary_functional_api_and_eager_call(rng, capsys):
    inputs = Input((4,))
    h = layers.Dense(3, activation="relu")(inputs)
    h = layers.ActivityRegularization(l2=0.1, name="penalty")(h)
    model = fastnn.Model(inputs, layers.Dense(2)(h))
    model.summary()
    line = next(s for s in capsys.readouterr().out.splitlines() if "penalty" in s)
    assert "(None, 3)" in line and line.rstrip("│ ").endswith("0")
    x = rng.standard_normal((5, 4)).astype(np.float32)
    assert layers.ActivityRegularization(l1=1.0)(x) is x  # Keras returns its input
    model.compile("adam", "mse")
    model.fit(x, rng.standard_normal((5, 2)).astype(np.float32), epochs=2, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
