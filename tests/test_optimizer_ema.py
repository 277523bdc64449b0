"""The optimizers' exponential moving average (`use_ema`, `ema_momentum`,
`ema_overwrite_frequency`): the fused C++ pass against a float32 NumPy
reference (every ISA, thread counts), standalone and `fit` trajectories
against Keras 3 (torch backend), `optimizer.variables` names and order,
configs, saving and resuming, and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import AVAILABLE_ISAS
from ema_models import fastnn_mlp, keras_mlp, regression_data
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import _core, layers, optimizers

# (class name, arguments) for Keras and fastnn alike
CASES = [
    ("Adam", {"learning_rate": 0.01}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.005}),
    ("RMSprop", {"learning_rate": 0.005, "momentum": 0.5, "centered": True}),
]


def case_id(case) -> str:
    name, kw = case
    return name + "".join(f"-{k}={v}" for k, v in kw.items() if k != "learning_rate")


def max_rel(ours, theirs) -> float:
    """The largest |difference| relative to the largest |value|, per tensor."""
    return max(
        float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
        / max(float(np.max(np.abs(b))), 1e-30)
        for a, b in zip(ours, theirs)
    )


# ---------------------------------------------------------------------------
# The fused pass, element by element.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", [None, 1, 3])
@pytest.mark.parametrize("momentum", [0.99, 0.5, 0.0, 1.0])
def test_average_is_keras_formula_to_the_bit(isa, momentum, frequency):
    """The average after every step equals Keras's three float32 ops on the
    weights the update left (the first step copies them), and every
    `frequency` steps the weights become the average. Shapes with tails
    (n % 8) and a tensor of two chunks (> 8192 elements)."""
    rng = np.random.default_rng(0)
    shapes = [(5, 7), (13,), (91, 97)]
    ws = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    opt = optimizers.SGD(
        0.1,
        momentum=0.9,
        use_ema=True,
        ema_momentum=momentum,
        ema_overwrite_frequency=frequency,
    )
    # The same updates without the average: the weights it sees each step.
    plain = optimizers.SGD(0.1, momentum=0.9)
    mirror = [w.copy() for w in ws]
    m = np.float32(momentum)
    average = None
    for t in range(1, 8):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        opt.apply_gradients(zip(grads, ws))
        plain.apply_gradients(zip(grads, mirror))
        mu = np.float32(0.0) if t == 1 else m
        one_minus = np.float32(1.0) - mu
        if average is None:
            average = [np.zeros_like(w) for w in mirror]
        average = [mu * a + one_minus * w for a, w in zip(average, mirror)]
        averages = opt.variables[2 : 2 + len(ws)]
        for ours, ref in zip(averages, average):
            np.testing.assert_array_equal(ours, ref)
        if frequency and t % frequency == 0:
            for w, a in zip(ws, average):
                np.testing.assert_array_equal(w, a)
            for w, a in zip(mirror, average):
                w[...] = a  # the update continues from the overwritten weights
        else:
            for w, v in zip(ws, mirror):
                np.testing.assert_array_equal(w, v)


def test_first_step_copies_the_weights_and_iterations_zero_restarts():
    w = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    opt = optimizers.Adam(0.5, use_ema=True, ema_momentum=0.9)
    opt.apply_gradients([(np.array([1.0, 6.0, 7.0, 2.0]), w)])
    np.testing.assert_allclose(w, [0.5, 1.5, 2.5, 3.5], rtol=1e-4)  # Keras's golden values
    np.testing.assert_array_equal(opt.variables[2], w)
    opt.apply_gradients([(np.ones(4), w)])
    assert not np.array_equal(opt.variables[2], w)
    # Keras's momentum is ema_momentum * (iterations != 0): iterations set
    # back to 0 makes the next step copy the weights again.
    opt.iterations = 0
    opt.apply_gradients([(np.ones(4), w)])
    np.testing.assert_array_equal(opt.variables[2], w)


# ---------------------------------------------------------------------------
# Against Keras 3.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", [None, 3])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_standalone_trajectory_matches_keras(case, frequency):
    """apply_gradients on NumPy arrays, with a step whose gradient for one
    variable is None (Keras averages every variable it was built for): the
    weights, then finalize_variable_values."""
    keras = keras_or_skip()
    name, kw = case
    kw = dict(kw, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=frequency)
    rng = np.random.default_rng(1)
    ws = [
        rng.standard_normal((5, 7)).astype(np.float32),
        rng.standard_normal(11).astype(np.float32),
    ]
    steps = [[rng.standard_normal(w.shape).astype(np.float32) for w in ws] for _ in range(8)]
    steps[4][1] = None
    ours = [w.copy() for w in ws]
    opt = getattr(optimizers, name)(**kw)
    with keras_quiet():
        theirs = [keras.Variable(w.copy()) for w in ws]
        k_opt = getattr(keras.optimizers, name)(**kw)
        for grads in steps:
            k_opt.apply_gradients(
                [
                    (keras.ops.convert_to_tensor(g), v)
                    for g, v in zip(grads, theirs)
                    if g is not None
                ]
            )
            opt.apply_gradients(zip(grads, ours))
        k_vars = [keras.ops.convert_to_numpy(v) for v in k_opt.variables]
        k_weights = [keras.ops.convert_to_numpy(v) for v in theirs]
    assert len(opt.variables) == len(k_vars)
    assert max_rel(ours, k_weights) < 1e-6
    assert max_rel(opt.variables[2:4], k_vars[2:4]) < 1e-6  # the averages
    opt.finalize_variable_values(ours)
    with keras_quiet():
        k_opt.finalize_variable_values(theirs)
        k_weights = [keras.ops.convert_to_numpy(v) for v in theirs]
    assert max_rel(ours, k_weights) < 1e-6
    np.testing.assert_array_equal(ours[0], opt.variables[2])


# Adam's trajectory without the average already differs from Keras's by up
# to ~6e-6 of the largest weight here (its m / sqrt(v) magnifies the float32
# differences of tiny gradients); the others agree to ~4e-7.
TOLERANCE = {"Adam": 2e-5, "SGD": 1e-6, "RMSprop": 1e-6}


@pytest.mark.parametrize("frequency", [None, 3])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fit_matches_keras(case, frequency):
    """Three epochs of fit with validation data: the weights at the end
    (overwritten by the averages, as Keras's finalize_variable_values does),
    the logs (validation runs on the weights being trained), and every
    optimizer variable, named and ordered as Keras's."""
    keras = keras_or_skip()
    name, kw = case
    kw = dict(kw, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=frequency)
    x, y = regression_data()
    xv, yv = regression_data(1, rows=12)
    model = fastnn_mlp()
    w0 = model.get_weights()
    fit = {"batch_size": 8, "epochs": 3, "shuffle": False, "verbose": 0}
    with keras_quiet():
        kmodel = keras_mlp(keras, w0)
        kmodel.compile(optimizer=getattr(keras.optimizers, name)(**kw), loss="mse")
        k_hist = kmodel.fit(x, y, validation_data=(xv, yv), **fit).history
        k_weights = kmodel.get_weights()
        k_vars = [
            (v.path.split("/")[-1], keras.ops.convert_to_numpy(v))
            for v in kmodel.optimizer.variables
        ]
    model.compile(optimizer=getattr(optimizers, name)(**kw), loss="mse")
    hist = model.fit(x, y, validation_data=(xv, yv), **fit).history
    assert max_rel(model.get_weights(), k_weights) < TOLERANCE[name]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(hist[key], k_hist[key], rtol=2e-5)
    variables = model.optimizer.variables
    assert [v.path.split("/")[-1] for v in variables] == [n for n, _ in k_vars]
    assert [n for n, _ in k_vars][2:4] == ["net_hidden_kernel_average", "net_hidden_bias_average"]
    assert max_rel([np.asarray(v) for v in variables[2:]], [a for _, a in k_vars[2:]]) < (
        TOLERANCE[name] * 10  # RMSprop's velocities are sums of tiny squares
    )
    # the averages did something: the same fit without them ends elsewhere
    plain = fastnn_mlp()
    plain.compile(optimizer=getattr(optimizers, name)(**dict(case[1])), loss="mse")
    plain.fit(x, y, **fit)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(plain.get_weights(), k_weights)) > 1e-3


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.optimizers.Adam(amsgrad=True, use_ema=True),
        lambda m: m.optimizers.Nadam(use_ema=True),
        lambda m: m.optimizers.Adadelta(use_ema=True, ema_overwrite_frequency=2),
        lambda m: m.optimizers.Ftrl(use_ema=True),
        lambda m: m.optimizers.Lion(use_ema=True),
        lambda m: m.optimizers.Adagrad(use_ema=True),
        lambda m: m.optimizers.AdamW(use_ema=True),
        lambda m: m.optimizers.Adamax(use_ema=True),
        lambda m: m.optimizers.Lamb(use_ema=True),
    ],
    ids=["adam-amsgrad", "nadam", "adadelta", "ftrl", "lion", "adagrad", "adamw", "adamax", "lamb"],
)
def test_every_optimizer_averages_as_keras(make):
    """The other optimizers: the averages come right after the learning rate,
    before the optimizer's own slots (paired or not), shapes as Keras's, and
    the weights after fit agree."""
    keras = keras_or_skip()
    x, y = regression_data()
    model = fastnn_mlp()
    fit = {"batch_size": 8, "epochs": 2, "shuffle": False, "verbose": 0}
    with keras_quiet():
        kmodel = keras_mlp(keras, model.get_weights())
        kmodel.compile(optimizer=make(keras), loss="mse")
        kmodel.fit(x, y, **fit)
        k_weights = kmodel.get_weights()
        k_vars = [(v.path.split("/")[-1], tuple(v.shape)) for v in kmodel.optimizer.variables]
    model.compile(optimizer=make(fastnn), loss="mse")
    model.fit(x, y, **fit)
    ours = [(v.path.split("/")[-1], tuple(v.shape)) for v in model.optimizer.variables]
    assert [s for _, s in ours] == [s for _, s in k_vars]
    # Nadam's last variable: Keras leaves it unnamed ("variable")
    assert [n for n, _ in ours][:-1] == [n for n, _ in k_vars][:-1]
    assert max_rel(model.get_weights(), k_weights) < 2e-5


def test_frozen_layer_stays_averaged_and_fit_ends_with_its_values():
    """Keras averages the weights the optimizer was built for, a layer frozen
    since included, and fit's final overwrite then fails with Keras's
    ValueError after the whole fit. fastnn averages the same (the same
    averages as Keras 3.15's) and ends the fit: the trainable weights take
    their averages, the frozen layer keeps its values."""
    keras = keras_or_skip()
    x, y = regression_data()
    model = fastnn_mlp()
    results = []
    with keras_quiet():
        kmodel = keras_mlp(keras, model.get_weights())
        for lib, m in ((keras, kmodel), (fastnn, model)):
            m.compile(
                optimizer=lib.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.8), loss="mse"
            )
            for i in range(3):  # builds the optimizer; no final overwrite
                m.train_on_batch(x[8 * i : 8 * i + 8], y[8 * i : 8 * i + 8])
            m.layers[0].trainable = False
            before = np.array(m.optimizer.variables[2])  # the frozen kernel's average
            frozen = [np.array(w) for w in m.layers[0].get_weights()]
            error = None
            if lib is keras:
                with pytest.raises(ValueError) as raised:
                    m.fit(x, y, batch_size=8, shuffle=False, verbose=0)
                error = str(raised.value)
            else:
                m.fit(x, y, batch_size=8, shuffle=False, verbose=0)
            variables = [keras.ops.convert_to_numpy(v) for v in m.optimizer.variables]
            results.append((error, m.get_weights(), variables, before, frozen))
    (k_error, k_weights, k_vars, _, _), (_, weights, variables, before, frozen) = results
    assert "length of model variables (2) to override" in k_error
    assert max_rel(variables[2:], k_vars[2:]) < 2e-4  # the same averages as Keras
    assert float(np.max(np.abs(variables[2] - before))) > 1e-4  # it moved toward the frozen kernel
    for w, f in zip(weights[:2], frozen):  # the frozen layer keeps its values
        np.testing.assert_array_equal(w, f)
    for w, average in zip(weights[2:], variables[4:6]):  # the trainable ones: their averages
        np.testing.assert_array_equal(w, average)


def test_a_layer_unfrozen_after_build_trains_without_average_and_warns():
    x, y = regression_data()
    model = fastnn_mlp()
    model.layers[0].trainable = False
    model.compile(optimizer=fastnn.optimizers.Adam(0.01, use_ema=True), loss="mse")
    model.fit(x, y, batch_size=8, verbose=0)
    model.layers[0].trainable = True
    before = [np.array(w) for w in model.get_weights()]
    with pytest.warns(UserWarning, match=r"hidden/kernel.*no moving average"):
        model.fit(x, y, batch_size=8, verbose=0, epochs=2)
    after = model.get_weights()
    assert not np.array_equal(after[0], before[0])  # it trained (fastnn applies trainable now)
    averages = model.optimizer._averages()  # of the second layer's weights only
    assert len(averages) == 2
    for w, average in zip(after[2:], averages):
        np.testing.assert_array_equal(w, average)


# ---------------------------------------------------------------------------
# fit's final overwrite.
# ---------------------------------------------------------------------------


class _Seen(fastnn.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.epoch_end = [w.copy() for w in self.model.get_weights()]

    def on_train_end(self, logs=None):
        self.train_end = [w.copy() for w in self.model.get_weights()]


def test_fit_overwrites_once_before_on_train_end():
    x, y = regression_data()
    model = fastnn_mlp()
    model.compile(optimizer=optimizers.SGD(0.05, use_ema=True, ema_momentum=0.9), loss="mse")
    seen = _Seen()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[seen])
    averages = [np.asarray(a) for a in model.optimizer.variables[2:6]]
    final = model.get_weights()
    for w, a in zip(final, averages):
        np.testing.assert_array_equal(w, a)
    for w, a in zip(seen.train_end, averages):  # Keras finalizes before on_train_end
        np.testing.assert_array_equal(w, a)
    assert not np.array_equal(seen.epoch_end[0], averages[0])  # epochs see the raw weights
    # train_on_batch is not fit: it leaves its weights as the update made them
    model.train_on_batch(x[:8], y[:8])
    assert not np.array_equal(model.get_weights()[0], np.asarray(model.optimizer.variables[2]))


@pytest.mark.parametrize("epochs,initial_epoch", [(0, 0), (1, 1)])
def test_fit_without_a_step_leaves_the_weights(epochs, initial_epoch):
    """Deliberately unlike Keras, which overwrites the weights with its
    averages' initial zeros here."""
    x, y = regression_data()
    model = fastnn_mlp()
    w0 = model.get_weights()
    model.compile(optimizer=optimizers.Adam(use_ema=True), loss="mse")
    model.fit(x, y, epochs=epochs, initial_epoch=initial_epoch, verbose=0)
    for a, b in zip(model.get_weights(), w0):
        np.testing.assert_array_equal(a, b)


def test_use_ema_false_changes_nothing():
    x, y = regression_data()
    runs = []
    for kw in ({}, {"use_ema": False, "ema_momentum": 5, "ema_overwrite_frequency": "x"}):
        model = fastnn_mlp()
        model.compile(optimizer=optimizers.Adam(0.01, **kw), loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        runs.append((model.get_weights(), [np.asarray(v) for v in model.optimizer.variables]))
    for a, b in zip(runs[0][0] + runs[0][1], runs[1][0] + runs[1][1]):
        np.testing.assert_array_equal(a, b)
    assert len(runs[0][1]) == 2 + 2 * 4  # no averages


# ---------------------------------------------------------------------------
# ISA paths and threads.
# ---------------------------------------------------------------------------


def _fit_big(frequency):
    """A fit whose first kernel spans two parallel chunks (70 x 131 = 9170
    elements) and whose tensors end in partial vectors: the weights and the
    optimizer's variables."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((96, 70)).astype(np.float32)
    y = rng.standard_normal((96, 5)).astype(np.float32)
    fastnn.utils.set_random_seed(11)
    model = fastnn.Sequential(
        [fastnn.Input((70,)), layers.Dense(131, activation="relu"), layers.Dense(5)]
    )
    opt = optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=frequency)
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    return model.get_weights() + [np.asarray(v) for v in model.optimizer.variables]


@pytest.mark.parametrize("frequency", [None, 4])
def test_fit_is_bit_identical_for_1_and_2_threads(isa, threads, frequency):
    results = []
    for n in (1, 2):
        fastnn.set_num_threads(n)
        results.append(_fit_big(frequency))
    assert len(results[0]) == 4 + 2 + 3 * 4  # weights, iterations, lr, averages and slots
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("frequency", [None, 2])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_isa_paths_are_bit_identical(threads, case, frequency):
    """The same updates on every ISA this machine runs (the generic path and
    AVX2: FASTNN_ISA's levels) and 1 or 2 threads: the same bits. (A whole
    fit differs across ISAs in its GEMMs, not in the optimizer.)"""
    name, kw = case
    rng = np.random.default_rng(5)
    shapes = [(91, 97), (13,), (3, 5)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    steps = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(5)]
    previous = _core.active_isa()
    results = {}
    try:
        for isa in AVAILABLE_ISAS:
            _core.set_isa(isa)
            for n in (1, 2):
                fastnn.set_num_threads(n)
                ws = [w.copy() for w in start]
                opt = getattr(optimizers, name)(
                    **kw, use_ema=True, ema_momentum=0.7, ema_overwrite_frequency=frequency
                )
                for grads in steps:
                    opt.apply_gradients(zip(grads, ws))
                results[(isa, n)] = ws + [np.array(v) for v in opt.variables]
    finally:
        _core.set_isa(previous)
    reference = results[(AVAILABLE_ISAS[0], 1)]
    for key, arrays in results.items():
        for a, b in zip(arrays, reference):
            np.testing.assert_array_equal(a, b, err_msg=str(key))


# ---------------------------------------------------------------------------
# Configs and saving.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", [None, 5])
def test_config_matches_keras_and_round_trips(frequency):
    keras = keras_or_skip()
    kw = {"use_ema": True, "ema_momentum": 0.95, "ema_overwrite_frequency": frequency}
    config = optimizers.RMSprop(**kw).get_config()
    with keras_quiet():
        k_config = keras.optimizers.RMSprop(**kw).get_config()
        assert keras.optimizers.RMSprop.from_config(config).get_config()["use_ema"] is True
    assert list(config) == list(k_config)
    for key in ("use_ema", "ema_momentum", "ema_overwrite_frequency"):
        assert config[key] == k_config[key]
    again = optimizers.deserialize(optimizers.serialize(optimizers.RMSprop.from_config(config)))
    assert again.get_config() == config
    from_keras = optimizers.RMSprop.from_config(k_config).get_config()
    assert [from_keras[k] for k in kw] == [k_config[k] for k in kw]


class _SaveAt(fastnn.callbacks.Callback):
    def __init__(self, path, epoch):
        super().__init__()
        self.path, self.epoch = path, epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.save(self.path)


@pytest.mark.parametrize("frequency", [None, 3])
@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_save_mid_training_load_and_continue_equals_straight_through(tmp_path, name, frequency):
    x, y = regression_data()
    xv, yv = regression_data(1, rows=12)
    kw = {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": frequency}
    if name == "SGD":
        kw["momentum"] = 0.5
    fit = {"batch_size": 8, "shuffle": False, "verbose": 0, "validation_data": (xv, yv)}
    path = tmp_path / "mid.keras"
    straight = fastnn_mlp()
    straight.compile(optimizer=getattr(optimizers, name)(0.01, **kw), loss="mse")
    h1 = straight.fit(x, y, epochs=4, callbacks=[_SaveAt(path, 1)], **fit).history
    resumed = fastnn.models.load_model(path)
    assert resumed.optimizer.get_config() == straight.optimizer.get_config()
    h2 = resumed.fit(x, y, epochs=4, initial_epoch=2, **fit).history
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    ours = resumed.optimizer.variables
    assert [v.path for v in ours] == [v.path for v in straight.optimizer.variables]
    for a, b in zip(ours, straight.optimizer.variables):
        np.testing.assert_array_equal(a, b)
    assert h2["val_loss"] == h1["val_loss"][2:]


# ---------------------------------------------------------------------------
# Bad arguments.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ema_momentum": 1.5},
        {"ema_momentum": -0.1},
        {"ema_overwrite_frequency": 2.0},
        {"ema_overwrite_frequency": -1},
        {"ema_overwrite_frequency": "3"},
    ],
)
def test_bad_arguments_raise_keras_errors(kwargs):
    keras = keras_or_skip()
    with keras_quiet(), pytest.raises(ValueError) as theirs:
        keras.optimizers.Adam(use_ema=True, **kwargs)
    with pytest.raises(ValueError) as ours:
        optimizers.Adam(use_ema=True, **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ema_momentum": float("nan")}, "ema_momentum"),
        ({"ema_momentum": "0.9"}, "ema_momentum"),
        ({"ema_momentum": True}, "ema_momentum"),
        ({"ema_overwrite_frequency": True}, "ema_overwrite_frequency"),
        ({"use_ema": "yes"}, "use_ema"),
    ],
)
def test_arguments_keras_lets_through_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optimizers.SGD(**{"use_ema": True, **kwargs})


def test_numpy_integer_frequency_and_zero_as_none():
    opt = optimizers.SGD(use_ema=True, ema_overwrite_frequency=np.int64(4))
    assert opt.get_config()["ema_overwrite_frequency"] == 4
    assert type(opt.get_config()["ema_overwrite_frequency"]) is int
    w = np.ones(3, np.float32)
    zero = optimizers.SGD(0.5, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=0)
    for _ in range(3):
        zero.apply_gradients([(np.ones(3), w)])
    assert not np.array_equal(w, zero.variables[2])  # 0: never overwritten, as Keras


def _state(model):
    return model.get_weights() + [np.array(v) for v in model.optimizer.variables]


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda o: setattr(o, "ema_momentum", 2.0), "ema_momentum"),
        (lambda o: setattr(o, "ema_overwrite_frequency", 1.5), "ema_overwrite_frequency"),
        (lambda o: setattr(o, "use_ema", False), "use_ema"),
        (lambda o: setattr(o, "use_ema", "no"), "use_ema"),
    ],
)
def test_bad_changes_after_build_raise_and_leave_the_model(change, match):
    x, y = regression_data()
    model = fastnn_mlp()
    model.compile(optimizer=optimizers.Adam(0.01, use_ema=True), loss="mse")
    model.fit(x, y, batch_size=8, verbose=0)
    before = _state(model)
    change(model.optimizer)
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, batch_size=8, verbose=0)
    for a, b in zip(_state(model), before):
        np.testing.assert_array_equal(a, b)


def test_use_ema_turned_on_after_build_is_refused():
    w = np.ones(4, np.float32)
    opt = optimizers.Adam(0.1)
    opt.apply_gradients([(np.ones(4), w)])
    before = w.copy()
    opt.use_ema = True
    with pytest.raises(ValueError, match="use_ema"):
        opt.apply_gradients([(np.ones(4), w)])
    np.testing.assert_array_equal(w, before)
    assert opt.iterations == 1


def test_momentum_changed_after_build_takes_effect_and_keeps_the_average():
    w = np.ones(4, np.float32)
    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    opt.apply_gradients([(np.ones(4), w)])
    average = np.array(opt.variables[2])
    opt.ema_momentum = 0.25
    opt.apply_gradients([(np.ones(4), w)])
    expected = np.float32(0.25) * average + (np.float32(1) - np.float32(0.25)) * w
    np.testing.assert_array_equal(opt.variables[2], expected)


def test_finalize_variable_values_checks_before_writing():
    ws = [np.ones((2, 3), np.float32), np.ones(4, np.float32)]
    opt = optimizers.SGD(0.1, use_ema=True)
    opt.apply_gradients(zip([np.ones((2, 3)), np.ones(4)], ws))
    targets = [np.zeros((2, 3), np.float32), np.zeros(4, np.float32)]
    with pytest.raises(ValueError, match=r"length of model variables \(1\) to override"):
        opt.finalize_variable_values(targets[:1])
    with pytest.raises(ValueError, match="shape"):
        opt.finalize_variable_values([targets[0], np.zeros(5, np.float32)])
    readonly = np.zeros(4, np.float32)
    readonly.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        opt.finalize_variable_values([targets[0], readonly])
    for t in targets:
        np.testing.assert_array_equal(t, 0.0)
    opt.finalize_variable_values(targets)
    np.testing.assert_array_equal(targets[1], opt.variables[3])
    optimizers.SGD().finalize_variable_values(targets[:1])  # without use_ema: nothing
