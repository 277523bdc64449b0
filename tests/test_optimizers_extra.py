"""Nadam, Adamax, Lion, Adadelta and Ftrl: Keras 3 numerics (a float64
transcription and Keras itself), bit-identical ISA paths and thread counts,
the NumPy update API, bad arguments, compile by name and exact resumption
after save/load."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import test_optimizers
from test_model_saving import (
    archive_weights,
    make_data,
    make_model,
    optimizer_state,
    same_weights,
    train_in_two_fits,
)
from test_optimizers import (
    SHAPES,
    KerasReference,
    assert_trajectory_close,
    case_id,
    run_fastnn,
)

import fastnn
from fastnn import _core, layers, models, optimizers
from fastnn.optimizers import schedules

# ---------------------------------------------------------------------------
# A float64 transcription of keras/src/optimizers/{nadam,adamax,lion,adadelta,
# ftrl}.py, with base_optimizer.py's clip -> decoupled weight decay -> update_step.
# ---------------------------------------------------------------------------


def keras_rate(value: float) -> float:
    """A learning rate as Keras 3 holds and reports it: its float32 value
    (``float(keras.optimizers.Adam().learning_rate)`` is 0.0010000000474974513)."""
    return float(np.float32(value))


class ExtraReference(KerasReference):
    def __init__(self, kind: str, shapes, **hp):
        super().__init__(kind, shapes, **hp)
        # the first slot: momentum; adadelta: accumulated_grad; ftrl: accumulator
        start = hp.get("initial_accumulator_value", 0.1) if kind == "ftrl" else 0.0
        self.m = [np.full(s, start) for s in shapes]
        # nadam: velocity; adamax: norm; adadelta: accumulated_delta_var; ftrl: linear
        self.v = [np.zeros(s) for s in shapes]
        self.u_product = 1.0  # nadam's `_u_product` variable

    def step(self, ws, grads, lr):
        hp = self.hp
        t = self.iterations + 1
        grads = self.clip([np.asarray(g, np.float64) for g in grads])
        wd = hp.get("weight_decay")
        if wd:
            ws = [w - w * wd * lr for w in ws]
        default_b2 = 0.99 if self.kind == "lion" else 0.999
        b1, b2 = hp.get("beta_1", 0.9), hp.get("beta_2", default_b2)
        eps = hp.get("epsilon", 1e-7)
        if self.kind == "nadam":  # _backend_update_step, once per step
            self.u_product *= b1 * (1.0 - 0.5 * 0.96**t)
        out = []
        for k, (w, g) in enumerate(zip(ws, grads)):
            m = self.m[k]
            if self.kind == "nadam":
                u_t = b1 * (1.0 - 0.5 * 0.96**t)
                u_t_1 = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
                u_product_t = self.u_product
                u_product_t_1 = u_product_t * u_t_1
                m = m + (g - m) * (1 - b1)
                self.v[k] = self.v[k] + (g * g - self.v[k]) * (1 - b2)
                m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
                v_hat = self.v[k] / (1 - b2**t)
                w = w - m_hat * lr / (np.sqrt(v_hat) + eps)
            elif self.kind == "adamax":
                m = m + (g - m) * (1 - b1)
                self.v[k] = np.maximum(b2 * self.v[k], np.abs(g))
                w = w - lr * m / ((1 - b1**t) * (self.v[k] + eps))
            elif self.kind == "lion":
                w = w - lr * np.sign(m * b1 + g * (1.0 - b1))
                m = m * b2 + g * (1.0 - b2)
            elif self.kind == "adadelta":
                rho = hp.get("rho", 0.95)
                m = rho * m + (1 - rho) * g * g
                delta_var = -(np.sqrt(self.v[k] + eps) * g) / np.sqrt(m + eps)
                self.v[k] = rho * self.v[k] + (1 - rho) * delta_var * delta_var
                w = w + lr * delta_var
            else:  # ftrl
                power = -hp.get("learning_rate_power", -0.5)
                l1 = hp.get("l1_regularization_strength", 0.0)
                l2 = hp.get("l2_regularization_strength", 0.0) + hp.get("beta", 0.0) / (2.0 * lr)
                shrinkage = hp.get("l2_shrinkage_regularization_strength", 0.0)
                new_m = m + g * g
                grad_to_use = g + 2 * shrinkage * w
                self.v[k] = self.v[k] + (grad_to_use - (new_m**power - m**power) / lr * w)
                quadratic = new_m**power / lr + 2 * l2
                w = (np.clip(self.v[k], -l1, l1) - self.v[k]) / quadratic
                m = new_m
            self.m[k] = m
            out.append(w)
        self.iterations += 1
        return out


CLASSES = {
    "nadam": optimizers.Nadam,
    "adamax": optimizers.Adamax,
    "lion": optimizers.Lion,
    "adadelta": optimizers.Adadelta,
    "ftrl": optimizers.Ftrl,
}
KINDS = sorted(CLASSES)
STEPS = 50
# Rates at which 50 steps move the weights (Adadelta's steps are tiny at 0.005).
LR = {"adadelta": 1.0, "ftrl": 0.05}
FTRL_ALL = {
    "l1_regularization_strength": 0.01,
    "l2_regularization_strength": 0.1,
    "l2_shrinkage_regularization_strength": 0.05,
    "beta": 0.5,
}

CASES = [
    ("nadam", {"learning_rate": 0.01}),
    ("nadam", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("adamax", {"learning_rate": 0.01}),
    ("adamax", {"learning_rate": 0.01, "beta_1": 0.0, "beta_2": 0.5, "epsilon": 1e-3}),
    ("lion", {"learning_rate": 0.003}),
    ("lion", {"learning_rate": 0.003, "beta_1": 1.0, "beta_2": 0.5}),
    ("lion", {"learning_rate": 0.003, "beta_2": 0.0}),
    ("adadelta", {"learning_rate": 1.0}),
    ("adadelta", {"learning_rate": 0.5, "rho": 0.8, "epsilon": 1e-3}),
    ("adadelta", {"learning_rate": 1.0, "rho": 0.0}),
    ("adadelta", {"learning_rate": 0.01, "rho": 1.0}),
    ("ftrl", {"learning_rate": 0.05}),
    ("ftrl", {"learning_rate": 0.05, **FTRL_ALL}),
    # learning_rate_power other than -0.5: the pow path, not sqrt
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": -0.3, "initial_accumulator_value": 1}),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": 0.0, "initial_accumulator_value": 0}),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": -1.0, "l1_regularization_strength": 1}),
]
# Every common option on every kind (thresholds that clip some steps, not others).
OPTIONS = [
    {"weight_decay": 0.05},
    {"clipnorm": 2.0},
    {"clipvalue": 0.5},
    {"global_clipnorm": 5.0},
    {"clipnorm": 1.0, "weight_decay": 0.01},
]
CASES += [
    (kind, {"learning_rate": LR.get(kind, 0.005), **opt}) for kind in KINDS for opt in OPTIONS
]

SCHEDULE = schedules.ExponentialDecay(0.02, decay_steps=10, decay_rate=0.5)


def random_problem(seed, shapes=SHAPES, steps=STEPS):
    return test_optimizers.random_problem(seed, shapes, steps)


def reference_trajectory(kind, kw, ws, grads, lr_at):
    hp = {k: v for k, v in kw.items() if k != "learning_rate"}
    ref = ExtraReference(kind, [w.shape for w in ws], **hp)
    ref_ws = [w.astype(np.float64) for w in ws]
    for i, g in enumerate(grads):
        ref_ws = ref.step(ref_ws, g, lr_at(i))
    return ref_ws, ref


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_keras_formulas(case, isa):
    kind, kw = case
    ws, grads = random_problem(1)
    ref_ws, ref = reference_trajectory(kind, kw, ws, grads, lambda i: kw["learning_rate"])
    opt = CLASSES[kind](**kw)
    out = run_fastnn(opt, ws, grads)
    assert opt.iterations == STEPS
    assert_trajectory_close(out, ref_ws)
    assert max(float(np.max(np.abs(o - w))) for o, w in zip(out, ws)) > 1e-3  # it moved
    if kind == "nadam":
        (u_product,) = opt.variables[-1:]
        assert u_product.shape == () and u_product.dtype == np.float32
        assert float(u_product) == pytest.approx(ref.u_product, rel=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_trajectory_with_a_schedule_evaluates_it_at_completed_steps(kind, isa):
    ws, grads = random_problem(2)
    kw = {"weight_decay": 0.01, "clipnorm": 3.0}
    ref_ws, _ = reference_trajectory(kind, kw, ws, grads, SCHEDULE)
    opt = CLASSES[kind](learning_rate=SCHEDULE, **kw)
    assert_trajectory_close(run_fastnn(opt, ws, grads), ref_ws)
    assert opt.learning_rate == pytest.approx(SCHEDULE(STEPS))


@pytest.mark.parametrize("kind", KINDS)
def test_callable_learning_rate(kind):
    ws, grads = random_problem(3, steps=10)
    calls = []

    def lr():
        calls.append(1)
        return 0.01 / len(calls)

    ref_ws, _ = reference_trajectory(kind, {}, ws, grads, lambda i: 0.01 / (i + 1))
    assert_trajectory_close(run_fastnn(CLASSES[kind](learning_rate=lr), ws, grads), ref_ws)
    assert len(calls) == 10


def test_nadam_u_product_is_keras_s_running_product():
    u = 1.0
    for t in range(1, 3001):
        u *= 0.9 * (1.0 - 0.5 * 0.96**t)
        if t in (1, 2, 10, 100, 899, 900, 901, 3000):
            assert _core.optim.nadam_u_product(0.9, t) == pytest.approx(u, rel=1e-12, abs=0)
    assert _core.optim.nadam_u_product(0.9, 0) == 1.0
    assert _core.optim.nadam_u_product(0.0, 5) == 0.0


# ---------------------------------------------------------------------------
# Keras 3 itself (torch backend), on the same gradients.
# ---------------------------------------------------------------------------

KERAS_CASES = [
    ("nadam", {"learning_rate": 0.01}),
    ("adamax", {"learning_rate": 0.01}),
    ("lion", {"learning_rate": 0.003}),
    ("nadam", {"learning_rate": 0.01, "weight_decay": 0.05}),
    ("adamax", {"learning_rate": 0.01, "clipnorm": 1.0}),
    ("lion", {"learning_rate": 0.003, "clipvalue": 0.5, "beta_2": 0.9}),
    ("nadam", {"learning_rate": 0.01, "global_clipnorm": 5.0, "beta_1": 0.8}),
    ("adamax", {"learning_rate": 0.01, "clipvalue": 0.5, "weight_decay": 0.02}),
    ("lion", {"learning_rate": 0.003, "global_clipnorm": 4.0, "weight_decay": 0.1}),
    ("nadam", {"learning_rate": "schedule", "clipnorm": 2.0}),
    ("adamax", {"learning_rate": "schedule", "global_clipnorm": 5.0}),
    ("lion", {"learning_rate": "schedule", "weight_decay": 0.05}),
    ("adadelta", {"learning_rate": 1.0}),
    ("adadelta", {"learning_rate": 1.0, "rho": 0.9, "weight_decay": 0.05}),
    ("adadelta", {"learning_rate": 1.0, "clipnorm": 1.0}),
    ("adadelta", {"learning_rate": 1.0, "clipvalue": 0.5, "epsilon": 1e-4}),
    ("adadelta", {"learning_rate": 1.0, "global_clipnorm": 5.0}),
    ("adadelta", {"learning_rate": "schedule", "weight_decay": 0.02}),
    ("ftrl", {"learning_rate": 0.05}),
    ("ftrl", {"learning_rate": 0.05, "weight_decay": 0.05, **FTRL_ALL}),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": -0.3, "clipnorm": 1.0}),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": 0.0, "clipvalue": 0.5}),
    ("ftrl", {"learning_rate": 0.05, "global_clipnorm": 5.0, "l1_regularization_strength": 0.05}),
    ("ftrl", {"learning_rate": "schedule", "l2_regularization_strength": 0.01, "beta": 0.1}),
]
# The schedule of the "schedule" cases: ExponentialDecay(initial, 10, 0.5).
SCHEDULE_START = {"adadelta": 2.0}


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


def keras_trajectory(keras, k_opt, ws, grads):
    """Keras's optimizer applied to `grads` on copies of `ws`: the final
    variables, then the optimizer's variables, as NumPy arrays."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's __array__ DeprecationWarning under NumPy 2
        k_vars = [keras.Variable(w.copy()) for w in ws]
        for g in grads:
            k_opt.apply_gradients(zip([keras.ops.convert_to_tensor(x) for x in g], k_vars))
        return [keras.ops.convert_to_numpy(v) for v in k_vars + list(k_opt.variables)]


@pytest.mark.parametrize("case", KERAS_CASES, ids=case_id)
def test_trajectory_matches_keras_itself(case, keras):
    kind, kw = case
    ws, grads = random_problem(5)
    k_kw, f_kw = dict(kw), dict(kw)
    if kw["learning_rate"] == "schedule":
        start = SCHEDULE_START.get(kind, 0.02)
        k_kw["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(start, 10, 0.5)
        f_kw["learning_rate"] = schedules.ExponentialDecay(start, 10, 0.5)
    k_opt = getattr(keras.optimizers, CLASSES[kind].__name__)(**k_kw)
    expected = keras_trajectory(keras, k_opt, ws, grads)
    out = run_fastnn(CLASSES[kind](**f_kw), ws, grads)
    assert_trajectory_close(out, expected[: len(ws)])
    assert max(float(np.max(np.abs(o - w))) for o, w in zip(out, ws)) > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_defaults_config_and_variables_match_keras(kind, keras):
    k_opt = getattr(keras.optimizers, CLASSES[kind].__name__)()
    opt = CLASSES[kind]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as in keras_trajectory
        k_config = k_opt.get_config()
    config = opt.get_config()
    assert sorted(config) == sorted(k_config)
    for key, value in k_config.items():
        if key == "name":  # Keras numbers its instances: nadam, nadam_1, ...
            assert value.split("_")[0] == config[key] == kind
        elif isinstance(value, float):
            assert config[key] == pytest.approx(value, rel=1e-7), key
        else:
            assert config[key] == value, key
    w = [np.ones((2, 3), np.float32), np.ones(4, np.float32)]
    g = [np.full((2, 3), 0.5, np.float32), np.full(4, -2.0, np.float32)]
    k_values = keras_trajectory(keras, k_opt, w, [g])[len(w) :]
    opt.apply_gradients(zip(g, w))
    # Keras's order (Adadelta and Ftrl pair their two slots per weight)
    values = opt.variables
    assert len(values) == len(k_values)
    assert int(values[0]) == int(k_values[0]) == 1
    for a, b in zip(values[1:], k_values[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("initial", [0.1, 0.0, 2.5])
def test_ftrl_accumulators_start_at_initial_accumulator_value(initial):
    w = [np.ones((2, 3), np.float32), np.ones(4, np.float32)]
    opt = optimizers.Ftrl(initial_accumulator_value=initial)
    opt.build(w)
    # Keras's order: accumulator and linear of the first weight, then of the second
    accumulators, linears = opt.variables[2::2], opt.variables[3::2]
    assert [v.name for v in accumulators + linears] == [
        "variable_accumulator",
        "variable_1_accumulator",
        "variable_linear",
        "variable_1_linear",
    ]
    for a, z in zip(accumulators, linears):
        np.testing.assert_array_equal(a, np.float32(initial))
        np.testing.assert_array_equal(z, 0.0)
    opt.apply_gradients(zip([np.ones((2, 3)), np.ones(4)], w))
    np.testing.assert_array_equal(opt.variables[2], np.float32(initial) + np.float32(1.0))
    opt._kernel.reset()
    np.testing.assert_array_equal(opt.variables[2], np.float32(initial))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_accumulator_value": -0.1},
        {"learning_rate_power": 0.5},
        {"l1_regularization_strength": -1.0},
        {"l2_regularization_strength": -0.25},
        {"l2_shrinkage_regularization_strength": -2.0},
    ],
)
def test_ftrl_refuses_what_keras_refuses_with_keras_s_message(kwargs, keras):
    with pytest.raises(ValueError) as theirs:
        keras.optimizers.Ftrl(**kwargs)
    with pytest.raises(ValueError) as ours:
        optimizers.Ftrl(**kwargs)
    assert str(ours.value) == str(theirs.value)


# ---------------------------------------------------------------------------
# Determinism: bit-identical across ISA paths and for 1 and 2 threads.
# ---------------------------------------------------------------------------

DETERMINISM_CASES = [
    ("nadam", {"global_clipnorm": 50.0, "weight_decay": 0.01}),
    ("adamax", {"clipnorm": 20.0}),
    ("lion", {"clipvalue": 0.5, "weight_decay": 0.01}),
    ("adadelta", {"clipnorm": 20.0, "weight_decay": 0.01}),
    ("ftrl", {"global_clipnorm": 50.0, **FTRL_ALL}),
    ("ftrl", {"learning_rate_power": -0.3, "clipvalue": 0.5, "weight_decay": 0.01}),
]
# empty, one element, primes, around the 8- and 16-lane widths and the
# 8192-element chunk
SIZES = [0, 1, 7, 8, 9, 13, 16, 17, 27, 8191, 16383, 40000, 40009]


def run_steps(kind, kw, sizes):
    ws, slots = test_optimizers.run_steps(kind, kw, sizes)
    return ws + slots


@pytest.mark.parametrize("case", DETERMINISM_CASES, ids=case_id)
def test_isa_paths_give_identical_bits(case):
    kind, kw = case
    test_optimizers.assert_same_bits_on_every_isa(
        lambda: test_optimizers.run_steps(kind, kw, SIZES)
    )


@pytest.mark.parametrize("case", DETERMINISM_CASES, ids=case_id)
def test_bit_identical_for_1_and_2_threads(case, isa, threads):
    kind, kw = case
    fastnn.set_num_threads(1)
    one = run_steps(kind, kw, SIZES)
    fastnn.set_num_threads(2)
    two = run_steps(kind, kw, SIZES)
    for a, b in zip(one, two):
        assert a.tobytes() == b.tobytes()


def test_lion_sign_of_zero_is_zero_on_every_isa(isa):
    # c = m*beta_1 + g*(1 - beta_1) is 0 (of either sign) for g = +-0 and m = 0:
    # no move; a NaN gradient makes the weight NaN (Keras's ops.sign(NaN) is NaN).
    p = np.ones(11, np.float32)
    g = np.zeros(11, np.float32)
    g[1::2] = -0.0
    g[10] = np.nan
    m = np.zeros(11, np.float32)
    fastnn.ops.lion_update(p, g, m, learning_rate=0.5)
    np.testing.assert_array_equal(p[:10], 1.0)
    assert np.isnan(p[10])


# ---------------------------------------------------------------------------
# fastnn.ops.*_update: the NumPy API.
# ---------------------------------------------------------------------------


def ops_step(kind, p, g, slots, t, **kw):
    if kind in ("nadam", "adamax"):
        getattr(fastnn.ops, f"{kind}_update")(p, g, slots[0], slots[1], t, **kw)
    elif kind == "lion":
        fastnn.ops.lion_update(p, g, slots[0], **kw)
    else:  # adadelta, ftrl: two slots, no step number
        getattr(fastnn.ops, f"{kind}_update")(p, g, slots[0], slots[1], **kw)


def initial_slots(kind, p):
    """The two slot arrays at their start (Ftrl's accumulator at Keras's 0.1)."""
    first = np.full_like(p, 0.1) if kind == "ftrl" else np.zeros_like(p)
    return [first, np.zeros_like(p)]


OPS_OPTIONS = {
    "nadam": {"learning_rate": 0.01, "beta_1": 0.8, "clipnorm": 1.0, "weight_decay": 0.01},
    "adamax": {"learning_rate": 0.01, "beta_2": 0.99, "clipvalue": 0.5},
    "lion": {"learning_rate": 0.003, "beta_1": 0.95, "weight_decay": 0.1, "clipnorm": 2.0},
    "adadelta": {"learning_rate": 1.0, "rho": 0.9, "clipnorm": 1.0, "weight_decay": 0.01},
    "ftrl": {
        "learning_rate": 0.05,
        "learning_rate_power": -0.3,
        "l1_regularization_strength": 0.01,
        "beta": 0.2,
        "clipvalue": 0.5,
    },
}


@pytest.mark.parametrize("kind", KINDS)
def test_ops_updates_equal_the_optimizer_classes_bitwise(kind, isa):
    ws, grads = random_problem(11, shapes=[(5, 7)])
    kw = OPS_OPTIONS[kind]
    expected = run_fastnn(CLASSES[kind](**kw), ws, grads)[0]
    p = ws[0].copy()
    slots = initial_slots(kind, p)
    for t, g in enumerate(grads, start=1):
        ops_step(kind, p, g[0], slots, t, **kw)
    assert p.tobytes() == expected.tobytes()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", KINDS)
def test_ops_updates_on_every_size_match_the_reference_and_thread_counts(kind, size, threads):
    rng = np.random.default_rng(size)
    p0 = rng.standard_normal(size).astype(np.float32)
    grads = [rng.standard_normal(size).astype(np.float32) for _ in range(3)]
    kw = OPS_OPTIONS[kind]
    results = []
    for n_threads in (1, 2):
        fastnn.set_num_threads(n_threads)
        p = p0.copy()
        slots = initial_slots(kind, p)
        for t, g in enumerate(grads, start=1):
            ops_step(kind, p, g, slots, t, **kw)
        results.append([p, *slots])
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()
    lr = kw["learning_rate"]
    ref_ws, _ = reference_trajectory(kind, kw, [p0], [[g] for g in grads], lambda i: lr)
    assert_trajectory_close(results[0][:1], ref_ws)


# The slot arrays' names in the ops' messages, and hyperparameters each op refuses.
SLOT_NAMES = {
    "nadam": ("m", "v"),
    "adamax": ("m", "u"),
    "lion": ("m", None),
    "adadelta": ("accumulated_grad", "accumulated_delta_var"),
    "ftrl": ("accumulator", "linear"),
}
BAD_ARGUMENTS = {
    "nadam": [("beta_1", 1.0), ("beta_2", 1.5), ("epsilon", -1.0)],
    "adamax": [("beta_1", 1.0), ("beta_2", 1.5), ("epsilon", -1.0)],
    "lion": [("beta_1", 0.0), ("beta_2", 1.5)],
    "adadelta": [("rho", 1.5), ("rho", -0.1), ("epsilon", -1.0)],
    "ftrl": [
        ("learning_rate_power", 0.5),
        ("l1_regularization_strength", -1.0),
        ("l2_regularization_strength", -1.0),
        ("l2_shrinkage_regularization_strength", -0.1),
        ("beta", float("nan")),
    ],
}


@pytest.mark.parametrize("kind", KINDS)
def test_ops_update_errors_name_the_argument_and_change_nothing(kind):
    p = np.zeros((3, 4), np.float32)
    m = np.zeros((3, 4), np.float32)
    v = np.zeros((3, 4), np.float32)
    g = np.ones((3, 4), np.float32)
    first, second = SLOT_NAMES[kind]

    def call(p=p, g=g, m=m, v=v, t=1, **kw):
        ops_step(kind, p, g, [m, v], t, **kw)

    with pytest.raises(TypeError, match="param.*float32"):
        call(p=p.astype(np.float64))
    with pytest.raises(TypeError, match=f"{first} must be a numpy.ndarray"):
        call(m=[0.0] * 12)
    with pytest.raises(ValueError, match=r"grad must have the shape of param \(3, 4\), got"):
        call(g=g.T.copy())
    with pytest.raises(ValueError, match=f"{first} must have the shape of param"):
        call(m=np.zeros(12, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        call(m=np.asfortranarray(m))
    with pytest.raises(ValueError, match="C-contiguous"):
        call(p=np.zeros((3, 8), np.float32)[:, ::2])
    with pytest.raises(TypeError, match=f"{first}.*float32"):
        call(m=m.astype(np.float16))
    ro = np.zeros((3, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        call(m=ro)
    with pytest.raises(ValueError, match="share memory"):
        call(m=p)
    with pytest.raises(ValueError, match="learning_rate"):
        call(learning_rate=-1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        call(learning_rate=float("nan"))
    for name, value in BAD_ARGUMENTS[kind]:
        with pytest.raises(ValueError, match=name):
            call(**{name: value})
    with pytest.raises(ValueError, match="weight_decay"):
        call(weight_decay=-0.1)
    with pytest.raises(ValueError, match="only one"):
        call(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(TypeError):
        call(bogus=1.0)
    if second is not None:
        with pytest.raises(ValueError, match=rf"{second} must have the shape of param"):
            call(v=np.zeros(5, np.float32))
        with pytest.raises(ValueError, match="share memory"):
            call(v=m)
    if kind in ("nadam", "adamax"):
        with pytest.raises(ValueError, match="step"):
            call(t=0)
    for a in (p, m, v):
        np.testing.assert_array_equal(a, 0.0)  # nothing ran


# ---------------------------------------------------------------------------
# Construction: Keras names and defaults, config round trips, bad options.
# ---------------------------------------------------------------------------


def test_defaults_are_keras_3():
    for cls in (optimizers.Nadam, optimizers.Adamax):
        opt = cls()
        assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == (
            keras_rate(0.001),
            0.9,
            0.999,
            1e-7,
        )
        assert opt.name == cls.__name__.lower()
    lion = optimizers.Lion()
    assert (lion.learning_rate, lion.beta_1, lion.beta_2, lion.name) == (
        keras_rate(0.001),
        0.9,
        0.99,
        "lion",
    )
    assert lion.weight_decay is None and lion.clipnorm is None and lion.iterations == 0
    ada = optimizers.Adadelta()
    assert (ada.learning_rate, ada.rho, ada.epsilon, ada.name) == (
        keras_rate(0.001),
        0.95,
        1e-7,
        "adadelta",
    )
    ftrl = optimizers.Ftrl()
    assert (ftrl.learning_rate, ftrl.learning_rate_power, ftrl.initial_accumulator_value) == (
        keras_rate(0.001),
        -0.5,
        0.1,
    )
    assert ftrl.l1_regularization_strength == ftrl.l2_regularization_strength == 0.0
    assert ftrl.l2_shrinkage_regularization_strength == ftrl.beta == 0.0
    assert ftrl.name == "ftrl" and ftrl.weight_decay is None


@pytest.mark.parametrize(
    "name", ["nadam", "adamax", "lion", "adadelta", "ftrl", "Nadam", "ADAMAX", "Adadelta", "FTRL"]
)
def test_get_by_string_id(name):
    opt = optimizers.get(name)
    assert type(opt).__name__.lower() == name.lower()
    assert optimizers.get(opt) is opt


@pytest.mark.parametrize("kind", KINDS)
def test_config_round_trip(kind):
    opt = CLASSES[kind](learning_rate=SCHEDULE, global_clipnorm=1.0, weight_decay=0.1, name="x")
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    clone = CLASSES[kind].from_config(config)
    assert clone.get_config() == config
    assert clone._kernel_config() == opt._kernel_config()
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == config
    assert optimizers.serialize(opt)["class_name"] == CLASSES[kind].__name__


@pytest.mark.parametrize("kind", KINDS)
def test_lr_is_deprecated_but_works_and_unknown_keywords_raise(kind):
    with pytest.warns(DeprecationWarning, match="learning_rate"):
        assert CLASSES[kind](lr=0.02).learning_rate == keras_rate(0.02)
    with pytest.raises(ValueError, match="betaa_1"):
        CLASSES[kind](betaa_1=0.9)
    if kind != "lion":
        with pytest.raises(ValueError, match="amsgrad"):
            CLASSES[kind](amsgrad=True)  # Adam's only
    else:
        with pytest.raises(ValueError, match="epsilon"):
            CLASSES[kind](epsilon=1e-7)  # Keras's Lion has none


@pytest.mark.parametrize(
    "cls, kwargs, arg",
    [
        (optimizers.Nadam, {"learning_rate": -0.1}, "learning_rate"),
        (optimizers.Adamax, {"learning_rate": float("inf")}, "learning_rate"),
        (optimizers.Lion, {"learning_rate": -1e-3}, "learning_rate"),
        (optimizers.Nadam, {"beta_1": 1.0}, "beta_1"),
        (optimizers.Nadam, {"beta_2": -0.1}, "beta_2"),
        (optimizers.Adamax, {"beta_1": 1.5}, "beta_1"),
        (optimizers.Adamax, {"beta_2": 1.0}, "beta_2"),
        (optimizers.Nadam, {"epsilon": -1.0}, "epsilon"),
        (optimizers.Adamax, {"epsilon": float("nan")}, "epsilon"),
        (optimizers.Lion, {"beta_1": 0.0}, r"beta_1.*\(0, 1\]"),
        (optimizers.Lion, {"beta_1": 1.1}, "beta_1"),
        (optimizers.Lion, {"beta_2": -0.5}, "beta_2"),
        (optimizers.Lion, {"weight_decay": -0.1}, "weight_decay"),
        (optimizers.Nadam, {"clipnorm": 1.0, "clipvalue": 1.0}, "clipvalue"),
        (optimizers.Adamax, {"use_ema": True, "ema_overwrite_frequency": 2.0}, "ema_overwrite"),
        (optimizers.Adadelta, {"learning_rate": -1.0}, "learning_rate"),
        (optimizers.Adadelta, {"rho": 1.5}, r"rho.*\[0, 1\]"),
        (optimizers.Adadelta, {"rho": -0.1}, "rho"),
        (optimizers.Adadelta, {"epsilon": -1e-7}, "epsilon"),
        (optimizers.Adadelta, {"rho": "0.9"}, "rho"),
        (optimizers.Ftrl, {"learning_rate": float("nan")}, "learning_rate"),
        (
            optimizers.Ftrl,
            {"initial_accumulator_value": -0.1},
            r"^`initial_accumulator_value` needs to be positive or zero. "
            r"Received: initial_accumulator_value=-0.1\.$",
        ),
        (
            optimizers.Ftrl,
            {"learning_rate_power": 0.5},
            r"^`learning_rate_power` needs to be negative or zero. "
            r"Received: learning_rate_power=0.5\.$",
        ),
        (optimizers.Ftrl, {"l1_regularization_strength": -1.0}, "l1_regularization_strength"),
        (optimizers.Ftrl, {"l2_regularization_strength": -1.0}, "l2_regularization_strength"),
        (
            optimizers.Ftrl,
            {"l2_shrinkage_regularization_strength": -1.0},
            "l2_shrinkage_regularization_strength",
        ),
        (optimizers.Ftrl, {"learning_rate_power": float("-inf")}, "learning_rate_power"),
        (optimizers.Ftrl, {"beta": float("nan")}, "beta"),
        (optimizers.Ftrl, {"l1_regularization_strength": None}, "l1_regularization_strength"),
        (optimizers.Ftrl, {"clipnorm": 1.0, "global_clipnorm": 1.0}, "global_clipnorm"),
    ],
)
def test_bad_options_raise_at_construction(cls, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        cls(**kwargs)


def test_lion_accepts_beta_1_of_1_as_keras():
    assert optimizers.Lion(beta_1=1, beta_2=1).beta_1 == 1.0


# A hyperparameter of each kind, changed mid-training.
CHANGED = {
    "nadam": {"beta_2": 0.9},
    "adamax": {"beta_2": 0.9},
    "lion": {"beta_2": 0.9},
    "adadelta": {"rho": 0.8},
    "ftrl": {"l1_regularization_strength": 0.02, "learning_rate_power": -0.4},
}


@pytest.mark.parametrize("kind", KINDS)
def test_hyperparameters_changed_after_build_take_effect_and_keep_state(kind):
    ws, grads = random_problem(14, steps=20)
    lr = LR.get(kind, 0.01)
    opt = CLASSES[kind](learning_rate=lr)
    ref = ExtraReference(kind, SHAPES)
    ref_ws = [w.astype(np.float64) for w in ws]
    vars_ = [w.copy() for w in ws]
    for i, g in enumerate(grads):
        if i == 10:
            opt.weight_decay = 0.1
            for name, value in CHANGED[kind].items():
                setattr(opt, name, value)
            ref.hp.update(weight_decay=0.1, **CHANGED[kind])
        ref_ws = ref.step(ref_ws, g, lr)
        opt.apply_gradients(zip(g, vars_))
    assert_trajectory_close(vars_, ref_ws)


# ---------------------------------------------------------------------------
# Models: compile by name, fit, save / load and continue exactly.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
def test_compile_by_string_and_fit(name):
    x, y = make_data()
    model = models.Sequential([layers.Input(shape=(6,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=name, loss="sparse_categorical_crossentropy")
    assert type(model.optimizer) is CLASSES[name]
    model.optimizer.learning_rate = 5.0 if name == "adadelta" else 0.05  # Adadelta starts slowly
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert model.optimizer.iterations == 8 * 6


RESUME = {
    "nadam": lambda: optimizers.Nadam(learning_rate=0.01, clipnorm=1.0),
    "adamax": lambda: optimizers.Adamax(learning_rate=0.01, weight_decay=0.01),
    "lion": lambda: optimizers.Lion(learning_rate=0.002, global_clipnorm=2.0),
    "nadam_schedule": lambda: optimizers.Nadam(
        learning_rate=schedules.ExponentialDecay(0.02, decay_steps=4, decay_rate=0.7)
    ),
    "adadelta": lambda: optimizers.Adadelta(learning_rate=1.0, clipvalue=0.5),
    "ftrl": lambda: optimizers.Ftrl(learning_rate=0.05, weight_decay=0.01, **FTRL_ALL),
    "ftrl_power_schedule": lambda: optimizers.Ftrl(
        learning_rate=schedules.ExponentialDecay(0.05, decay_steps=4, decay_rate=0.7),
        learning_rate_power=-0.3,
        global_clipnorm=2.0,
    ),
}


def assert_save_and_load_resumes_exactly(tmp_path, make_optimizer):
    """Two fits, straight and with a save + load_model between them: the same
    weights, optimizer config and state. Returns (the archive's weights, the
    number of optimizer variables without extras such as Nadam's u_product)."""
    straight = train_in_two_fits(make_optimizer, dropout=True)
    saved = {}

    def save_and_load(model):
        path = tmp_path / "mid.keras"
        model.save(path)
        saved.update(archive_weights(path))
        return models.load_model(path)

    resumed = train_in_two_fits(make_optimizer, True, save_and_load)
    assert type(resumed.optimizer) is type(straight.optimizer)
    assert resumed.optimizer.get_config() == straight.optimizer.get_config()
    assert same_weights(resumed.get_weights(), straight.get_weights())
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 4 * 6
    for a, b in zip(optimizer_state(resumed), optimizer_state(straight)):
        np.testing.assert_array_equal(a, b)
    # Keras's layout: iterations, learning rate (a number), the 3 Dense
    # layers' 6 tensors' slots (then Nadam's u_product).
    opt = straight.optimizer
    return saved, 1 + int(not callable(opt._learning_rate)) + 6 * len(opt._kernel.slot_names)


@pytest.mark.parametrize("name", sorted(RESUME))
def test_save_mid_training_then_resume_is_bit_identical(tmp_path, name):
    saved, count = assert_save_and_load_resumes_exactly(tmp_path, RESUME[name])
    if name.startswith("nadam"):
        count += 1
        u_product = saved[f"optimizer/vars/{count - 1}"]
        assert u_product.shape == () and u_product.dtype == np.float32
        assert float(u_product) == pytest.approx(_core.optim.nadam_u_product(0.9, 12), rel=1e-7)
    assert f"optimizer/vars/{count - 1}" in saved and f"optimizer/vars/{count}" not in saved


@pytest.mark.parametrize("kind", KINDS)
def test_resume_through_save_weights_and_load_weights_is_bit_identical(tmp_path, kind):
    straight = train_in_two_fits(RESUME[kind], dropout=False)

    def weights_round_trip(model):
        path = tmp_path / "mid.weights.h5"
        model.save_weights(path)
        fresh = make_model(RESUME[kind](), seed=99)
        # As in Keras, load_weights restores the optimizer's state into a built optimizer.
        fresh.optimizer.build(fresh.trainable_variables)
        fresh.load_weights(path)
        return fresh

    resumed = train_in_two_fits(RESUME[kind], False, weights_round_trip)
    assert same_weights(resumed.get_weights(), straight.get_weights())
    for a, b in zip(optimizer_state(resumed), optimizer_state(straight)):
        np.testing.assert_array_equal(a, b)


def test_a_saved_u_product_that_is_not_a_number_is_refused(tmp_path):
    x, y = make_data()
    model = make_model(optimizers.Nadam(learning_rate=0.01))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    weights = model._state_dict()
    last = max(int(k.rsplit("/", 1)[1]) for k in weights if k.startswith("optimizer/vars/"))
    weights[f"optimizer/vars/{last}"] = np.array([1.0, 2.0], np.float32)
    before = model.get_weights()
    with pytest.raises(ValueError, match=f"optimizer/vars/{last}"):
        model._load_state(weights, source="test")
    assert same_weights(model.get_weights(), before)


def test_summary_counts_nadam_s_u_product():
    x, y = make_data()
    counts = {}
    for name in ("adam", "nadam"):
        model = make_model(optimizers.get(name))
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        lines = []
        model.summary(print_fn=lines.append)
        text = "\n".join(lines)
        counts[name] = int(text.split("Optimizer params: ")[1].split(" ")[0].replace(",", ""))
    assert counts["nadam"] == counts["adam"] + 1


# An optimizer with moving averages (use_ema): they follow the learning rate.
ADAM_EMA = {"class_name": "Adam", "config": {"use_ema": True, "ema_momentum": 0.9}}


@pytest.mark.parametrize("kind", [*KINDS, "adam_ema"])
def test_optimizer_state_round_trips_with_keras_weights_files(tmp_path, kind, keras):
    """fastnn's .weights.h5 loads into a Keras model compiled with the same
    optimizer (every variable in Keras's order, Nadam's u_product last, the
    averages of use_ema first), and Keras's file loads back into fastnn."""
    kind = ADAM_EMA if kind == "adam_ema" else kind
    x, y = make_data()
    model = make_model(optimizers.get(kind))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save_weights(tmp_path / "fastnn.weights.h5")
    ours = model._optimizer_variables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(5, activation="tanh"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        k.compile(optimizer=kind, loss="sparse_categorical_crossentropy")
        k.fit(x[:4], y[:4], verbose=0)  # builds the optimizer
        k.load_weights(tmp_path / "fastnn.weights.h5")
        theirs = [keras.ops.convert_to_numpy(v) for v in k.optimizer.variables]
        k.fit(x, y, batch_size=16, verbose=0)
        k.save_weights(tmp_path / "keras.weights.h5")
        after = [keras.ops.convert_to_numpy(v) for v in k.optimizer.variables]
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    fresh = make_model(optimizers.get(kind))
    fresh.optimizer.build(fresh.trainable_variables)  # to take the state, as Keras's
    fresh.load_weights(tmp_path / "keras.weights.h5")
    back = fresh._optimizer_variables()
    assert int(back[0]) == int(after[0]) == 12
    for a, b in zip(back[2:], after[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize(
    "make, flag",
    [
        (lambda: optimizers.Adam(), "amsgrad"),
        (lambda: optimizers.AdamW(), "amsgrad"),
        (lambda: optimizers.SGD(momentum=0.5), "nesterov"),
        (lambda: optimizers.RMSprop(), "centered"),
    ],
)
@pytest.mark.parametrize("bad", ["x", 2, None, 0.5])
def test_a_flag_set_after_construction_is_checked_at_the_next_step(make, flag, bad):
    """The constructor's check and message, at the next step; nothing is
    applied, and a valid flag set afterwards trains."""
    from fastnn import layers, models

    rng = np.random.default_rng(5)
    x, y = rng.random((19, 4), dtype=np.float32), rng.integers(0, 3, 19)
    opt = make()
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, "softmax")])
    model.compile(opt, "sparse_categorical_crossentropy")
    model.fit(x, y, verbose=0)
    weights, steps = model.get_weights(), int(opt.iterations)
    setattr(opt, flag, bad)
    with pytest.raises(ValueError, match=f"Argument `{flag}` must be a boolean. Received"):
        model.fit(x, y, verbose=0)
    assert int(opt.iterations) == steps
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    setattr(opt, flag, True)
    model.fit(x, y, verbose=0)
    assert int(opt.iterations) == 2 * steps
