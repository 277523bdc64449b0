"""Optimizers: Keras 3 numerics (float64 reference), PyTorch trajectories,
determinism across threads and ISAs, the NumPy update API, and bad options."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import _core, optimizers
from fastnn.optimizers import schedules

# ---------------------------------------------------------------------------
# A float64 transcription of Keras 3 (keras/src/optimizers/*.py and
# base_optimizer.py): clip -> decoupled weight decay -> update_step.
# ---------------------------------------------------------------------------


def keras_rate(value: float) -> float:
    """A learning rate as Keras 3 holds and reports it: its float32 value
    (``float(keras.optimizers.Adam().learning_rate)`` is 0.0010000000474974513)."""
    return float(np.float32(value))


class KerasReference:
    def __init__(self, kind: str, shapes, **hp):
        self.kind = kind
        self.hp = hp
        self.iterations = 0
        z = [np.zeros(s) for s in shapes]
        if kind == "sgd":
            self.b = [x.copy() for x in z]
        elif kind in ("adam", "adamw"):
            self.m = [x.copy() for x in z]
            self.v = [x.copy() for x in z]
            self.vhat = [x.copy() for x in z]
        elif kind == "rmsprop":
            self.v = [x.copy() for x in z]
            self.b = [x.copy() for x in z]
            self.a = [x.copy() for x in z]
        elif kind == "adagrad":
            self.acc = [x + hp.get("initial_accumulator_value", 0.1) for x in z]

    def clip(self, grads):
        hp = self.hp
        if hp.get("clipnorm"):
            c = hp["clipnorm"]
            return [g * c / max(math.sqrt(float(np.sum(g * g))), c) for g in grads]
        if hp.get("global_clipnorm"):
            c = hp["global_clipnorm"]
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            return [g * (c * min(1.0 / norm, 1.0 / c)) for g in grads]
        if hp.get("clipvalue"):
            c = hp["clipvalue"]
            return [np.clip(g, -c, c) for g in grads]
        return grads

    def step(self, ws, grads, lr):
        hp = self.hp
        t = self.iterations + 1
        grads = self.clip([np.asarray(g, np.float64) for g in grads])
        wd = hp.get("weight_decay")
        if wd:
            ws = [w - w * wd * lr for w in ws]
        out = []
        for k, (w, g) in enumerate(zip(ws, grads)):
            if self.kind == "sgd":
                mu = hp.get("momentum", 0.0)
                if mu != 0:
                    self.b[k] = self.b[k] * mu - g * lr
                    if hp.get("nesterov"):
                        w = w + (self.b[k] * mu - g * lr)
                    else:
                        w = w + self.b[k]
                else:
                    w = w - g * lr
            elif self.kind in ("adam", "adamw"):
                b1, b2 = hp.get("beta_1", 0.9), hp.get("beta_2", 0.999)
                eps = hp.get("epsilon", 1e-7)
                alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
                self.m[k] = self.m[k] + (g - self.m[k]) * (1 - b1)
                self.v[k] = self.v[k] + (g * g - self.v[k]) * (1 - b2)
                v = self.v[k]
                if hp.get("amsgrad"):
                    self.vhat[k] = np.maximum(self.vhat[k], v)
                    v = self.vhat[k]
                w = w - (self.m[k] * alpha) / (np.sqrt(v) + eps)
            elif self.kind == "rmsprop":
                rho, mu = hp.get("rho", 0.9), hp.get("momentum", 0.0)
                eps = hp.get("epsilon", 1e-7)
                self.v[k] = rho * self.v[k] + (1 - rho) * g * g
                if hp.get("centered"):
                    self.a[k] = rho * self.a[k] + (1 - rho) * g
                    d = self.v[k] - self.a[k] ** 2 + eps
                else:
                    d = self.v[k] + eps
                inc = lr * g / np.sqrt(d)
                if mu > 0:
                    self.b[k] = mu * self.b[k] + inc
                    w = w - self.b[k]
                else:
                    w = w - inc
            elif self.kind == "adagrad":
                eps = hp.get("epsilon", 1e-7)
                self.acc[k] = self.acc[k] + g * g
                w = w - lr * g / np.sqrt(self.acc[k] + eps)
            out.append(w)
        self.iterations += 1
        return out


SHAPES = [(7,), (3, 5), (1,), (129,), (2, 3, 4)]

CLASSES = {
    "sgd": optimizers.SGD,
    "adam": optimizers.Adam,
    "adamw": optimizers.AdamW,
    "rmsprop": optimizers.RMSprop,
    "adagrad": optimizers.Adagrad,
    # tested against Keras in test_optimizers_extra.py; here in the generic tests
    "nadam": optimizers.Nadam,
    "adamax": optimizers.Adamax,
    "lion": optimizers.Lion,
    "adadelta": optimizers.Adadelta,
    "ftrl": optimizers.Ftrl,
}

# (kind, constructor kwargs): every optimizer and option.
CASES = [
    ("sgd", {"learning_rate": 0.01}),
    ("sgd", {"learning_rate": 0.01, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"learning_rate": 0.02, "momentum": 0.5, "weight_decay": 0.1}),
    ("adam", {"learning_rate": 0.01}),
    ("adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("adam", {"learning_rate": 0.01, "beta_1": 0.0, "beta_2": 0.5, "epsilon": 1e-3}),
    ("adam", {"learning_rate": 0.01, "weight_decay": 0.05}),
    ("adamw", {"learning_rate": 0.01}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("rmsprop", {"learning_rate": 0.001}),
    ("rmsprop", {"learning_rate": 0.001, "momentum": 0.9}),
    ("rmsprop", {"learning_rate": 0.001, "centered": True}),
    ("rmsprop", {"learning_rate": 0.001, "centered": True, "momentum": 0.5, "rho": 0.8}),
    ("rmsprop", {"learning_rate": 0.001, "weight_decay": 0.2}),
    ("adagrad", {"learning_rate": 0.1}),
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "epsilon": 1e-3}),
    ("adagrad", {"learning_rate": 0.1, "weight_decay": 0.01}),
    # each clip mode (thresholds that clip some steps and not others)
    ("adam", {"learning_rate": 0.01, "clipnorm": 2.0}),
    ("adam", {"learning_rate": 0.01, "clipvalue": 0.5}),
    ("adam", {"learning_rate": 0.01, "global_clipnorm": 5.0}),
    ("sgd", {"learning_rate": 0.01, "momentum": 0.9, "clipnorm": 1.0, "weight_decay": 0.01}),
    ("sgd", {"learning_rate": 0.01, "momentum": 0.9, "global_clipnorm": 3.0}),
    ("rmsprop", {"learning_rate": 0.001, "clipvalue": 0.3, "centered": True}),
    ("adagrad", {"learning_rate": 0.1, "global_clipnorm": 4.0}),
    ("adamw", {"learning_rate": 0.01, "clipnorm": 1.5}),
]


def case_id(case):
    kind, kw = case
    return kind + "-" + "-".join(f"{k}={v}" for k, v in kw.items() if k != "learning_rate")


def random_problem(seed, shapes=SHAPES, steps=200):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    scales = rng.uniform(0.2, 3.0, size=len(shapes))
    grads = [
        [(rng.standard_normal(s) * scales[i]).astype(np.float32) for i, s in enumerate(shapes)]
        for _ in range(steps)
    ]
    return ws, grads


def assert_trajectory_close(actual, expected, scale=1.0):
    # float32 rounding, accumulated over 200 steps: relative 2e-5 of the
    # variable's magnitude (float32 eps is 1.2e-7).
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=2e-5, atol=2e-5 * scale)


def run_fastnn(opt, ws, grads):
    vars_ = [w.copy() for w in ws]
    for g in grads:
        opt.apply_gradients(zip(g, vars_))
    return vars_


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_keras_formulas(case, isa):
    kind, kw = case
    ws, grads = random_problem(1)
    opt = CLASSES[kind](**kw)
    ref_kw = dict(kw)
    if kind == "adamw":
        ref_kw.setdefault("weight_decay", 0.004)
    ref = KerasReference(kind, SHAPES, **ref_kw)
    ref_ws = [w.astype(np.float64) for w in ws]
    lr = kw["learning_rate"]
    for g in grads:
        ref_ws = ref.step(ref_ws, g, lr)
    out = run_fastnn(opt, ws, grads)
    assert opt.iterations == len(grads)
    assert_trajectory_close(out, ref_ws)
    # the update moved the variables (the test cannot pass on a no-op)
    assert max(float(np.max(np.abs(o - w))) for o, w in zip(out, ws)) > 1e-3


SCHEDULES = [
    schedules.ExponentialDecay(0.05, decay_steps=20, decay_rate=0.5),
    schedules.ExponentialDecay(0.05, decay_steps=30, decay_rate=0.7, staircase=True),
    schedules.InverseTimeDecay(0.05, decay_steps=10, decay_rate=0.5),
    schedules.InverseTimeDecay(0.05, decay_steps=25, decay_rate=1.0, staircase=True),
    schedules.PiecewiseConstantDecay([10, 50, 120], [0.05, 0.02, 0.01, 0.001]),
    schedules.CosineDecay(0.05, decay_steps=150, alpha=0.1),
    schedules.CosineDecay(0.0, decay_steps=100, warmup_target=0.05, warmup_steps=40),
]


@pytest.mark.parametrize("kind", ["adam", "sgd"])
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_trajectory_with_schedule_evaluates_it_at_completed_steps(schedule, kind, isa):
    ws, grads = random_problem(2)
    kw = {"momentum": 0.9} if kind == "sgd" else {}
    opt = CLASSES[kind](learning_rate=schedule, weight_decay=0.01, **kw)
    ref = KerasReference(kind, SHAPES, weight_decay=0.01, **kw)
    ref_ws = [w.astype(np.float64) for w in ws]
    for i, g in enumerate(grads):
        ref_ws = ref.step(ref_ws, g, schedule(i))  # step i uses schedule(iterations == i)
    out = run_fastnn(opt, ws, grads)
    assert_trajectory_close(out, ref_ws)
    assert opt.learning_rate == pytest.approx(schedule(len(grads)))


def test_callable_learning_rate_is_called_every_step():
    calls = []

    def lr():
        calls.append(1)
        return 0.01 / len(calls)

    ws, grads = random_problem(3, steps=20)
    opt = optimizers.SGD(learning_rate=lr)
    ref = KerasReference("sgd", SHAPES)
    ref_ws = [w.astype(np.float64) for w in ws]
    for i, g in enumerate(grads):
        ref_ws = ref.step(ref_ws, g, 0.01 / (i + 1))
    out = run_fastnn(opt, ws, grads)
    assert len(calls) == 20
    assert_trajectory_close(out, ref_ws)


def test_learning_rate_set_between_steps_is_used(isa):
    ws, grads = random_problem(4, steps=30)
    opt = optimizers.Adam(learning_rate=0.01)
    ref = KerasReference("adam", SHAPES)
    ref_ws = [w.astype(np.float64) for w in ws]
    vars_ = [w.copy() for w in ws]
    for i, g in enumerate(grads):
        lr = 0.01 if i < 10 else 0.002
        opt.learning_rate = lr  # what callbacks do
        assert opt.learning_rate == pytest.approx(lr)
        ref_ws = ref.step(ref_ws, g, lr)
        opt.apply_gradients(zip(g, vars_))
    assert_trajectory_close(vars_, ref_ws)


# ---------------------------------------------------------------------------
# Keras's own golden values.
# ---------------------------------------------------------------------------


def test_keras_golden_adam(isa):
    w = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    optimizers.Adam(learning_rate=0.5).apply_gradients([(np.array([1.0, 6.0, 7.0, 2.0]), w)])
    np.testing.assert_allclose(w, [0.5, 1.5, 2.5, 3.5], rtol=1e-4, atol=1e-4)


def test_keras_golden_rmsprop(isa):
    w = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    optimizers.RMSprop(learning_rate=0.5).apply_gradients([(np.array([1.0, 6.0, 7.0, 2.0]), w)])
    np.testing.assert_allclose(w, [-0.5811, 0.4189, 1.4189, 2.4189], rtol=1e-4, atol=1e-4)


def test_keras_docstring_example_rmsprop():
    # keras/src/optimizers/rmsprop.py: var 10, loss var^2/2, lr 0.1 -> 9.683772
    w = np.array([10.0], np.float32)
    optimizers.RMSprop(learning_rate=0.1).apply_gradients([(w.copy(), w)])
    assert w[0] == pytest.approx(9.683772, abs=1e-5)


# ---------------------------------------------------------------------------
# PyTorch: the same algorithms, epsilon placement mapped.
# ---------------------------------------------------------------------------


def torch_trajectory(torch, make_opt, ws, grads):
    params = [torch.nn.Parameter(torch.tensor(w.copy())) for w in ws]
    opt = make_opt(params)
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi)
        opt.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_torch(nesterov):
    torch = pytest.importorskip("torch")
    ws, grads = random_problem(5)
    out = run_fastnn(optimizers.SGD(0.01, momentum=0.9, nesterov=nesterov), ws, grads)
    expected = torch_trajectory(
        torch, lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=nesterov), ws, grads
    )
    assert_trajectory_close(out, expected)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_torch_with_epsilon_mapped(amsgrad, decoupled):
    # torch divides by sqrt(v)/sqrt(1-b2^t) + eps; Keras by sqrt(v) + eps': the
    # same step when eps' = eps * sqrt(1 - b2^t), which fastnn.ops.adam_update
    # takes per step.
    torch = pytest.importorskip("torch")
    ws, grads = random_problem(6)
    b1, b2, eps, lr, wd = 0.9, 0.999, 1e-8, 0.01, 0.05
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    expected = torch_trajectory(
        torch,
        lambda p: (
            cls(p, lr=lr, betas=(b1, b2), eps=eps, amsgrad=amsgrad, weight_decay=wd)
            if decoupled
            else cls(p, lr=lr, betas=(b1, b2), eps=eps, amsgrad=amsgrad)
        ),
        ws,
        grads,
    )
    vars_ = [w.copy() for w in ws]
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    vh = [np.zeros_like(w) for w in ws]
    update = fastnn.ops.adamw_update if decoupled else fastnn.ops.adam_update
    for t, g in enumerate(grads, start=1):
        for k in range(len(ws)):
            update(
                vars_[k],
                g[k],
                m[k],
                v[k],
                t,
                learning_rate=lr,
                beta_1=b1,
                beta_2=b2,
                epsilon=eps * math.sqrt(1 - b2**t),
                v_hat=vh[k] if amsgrad else None,
                weight_decay=wd if decoupled else 0.0,
            )
    assert_trajectory_close(vars_, expected)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_matches_torch_with_zero_epsilon(centered, momentum):
    # Keras adds epsilon inside the root, torch outside: with epsilon = 0 on
    # both sides the algorithms coincide.
    torch = pytest.importorskip("torch")
    ws, grads = random_problem(7)
    opt = optimizers.RMSprop(
        learning_rate=0.001, rho=0.9, momentum=momentum, epsilon=0.0, centered=centered
    )
    out = run_fastnn(opt, ws, grads)
    expected = torch_trajectory(
        torch,
        lambda p: torch.optim.RMSprop(
            p, lr=0.001, alpha=0.9, eps=0.0, momentum=momentum, centered=centered
        ),
        ws,
        grads,
    )
    assert_trajectory_close(out, expected)


def test_adagrad_matches_torch_with_zero_epsilon():
    torch = pytest.importorskip("torch")
    ws, grads = random_problem(8)
    opt = optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.1, epsilon=0.0)
    out = run_fastnn(opt, ws, grads)
    expected = torch_trajectory(
        torch,
        lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0),
        ws,
        grads,
    )
    assert_trajectory_close(out, expected)


# ---------------------------------------------------------------------------
# Determinism: bit-identical for 1 and 2 threads, and across ISA paths.
# ---------------------------------------------------------------------------

DETERMINISM_CASES = [
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("adam", {"amsgrad": True, "global_clipnorm": 50.0}),
    ("adamw", {"clipnorm": 20.0}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "clipvalue": 0.5}),
    ("adagrad", {"weight_decay": 0.01}),
]


def run_steps(kind, kw, sizes, steps=3, classes=None):
    """(weights, slot copies) after `steps` steps of `classes[kind]` (this
    module's CLASSES by default) on random tensors of `sizes` elements."""
    rng = np.random.default_rng(9)
    ws = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    opt = (classes or CLASSES)[kind](learning_rate=0.01, **kw)
    for _ in range(steps):
        gs = [rng.standard_normal(n).astype(np.float32) for n in sizes]
        opt.apply_gradients(zip(gs, ws))
    return ws, [s.copy() for s in opt.variables[2:]]


@pytest.mark.parametrize("case", DETERMINISM_CASES, ids=case_id)
@pytest.mark.parametrize("size", [1, 7, 1000003])
def test_bit_identical_for_1_and_2_threads(case, size, isa, threads):
    kind, kw = case
    sizes = [size, 40000] if size == 1 else [size]  # a multi-chunk tensor next to a tiny one
    fastnn.set_num_threads(1)
    ws1, slots1 = run_steps(kind, kw, sizes)
    fastnn.set_num_threads(2)
    ws2, slots2 = run_steps(kind, kw, sizes)
    for a, b in zip(ws1 + slots1, ws2 + slots2):
        assert a.tobytes() == b.tobytes()


def results_on_every_isa(run):
    """[run() for each ISA this machine has], then the active ISA restored;
    skips the test where there is only one."""
    if len(_core.available_isas()) < 2:
        pytest.skip("only one ISA on this machine")
    previous = _core.active_isa()
    results = []
    try:
        for name in _core.available_isas():
            _core.set_isa(name)
            results.append(run())
    finally:
        _core.set_isa(previous)
    return results


def assert_same_bits_on_every_isa(run):
    """run() (weights, slot copies) on every ISA this machine has gives the
    generic path's bits, on each kernel set (avx2's 8 lanes, avx512's 16)."""
    results = results_on_every_isa(run)
    first_ws, first_slots = results[0]
    for ws, slots in results[1:]:
        assert len(ws) + len(slots) == len(first_ws) + len(first_slots)
        for a, b in zip(first_ws + first_slots, ws + slots):
            assert a.tobytes() == b.tobytes()


# around the 8- and 16-lane widths (a 16-lane body, then an 8-lane block in
# sum_squares) and a large prime
ISA_SIZES = [7, 1000003, 13, 15, 16, 17, 27, 40]


@pytest.mark.parametrize("case", DETERMINISM_CASES, ids=case_id)
def test_isa_paths_give_identical_bits(case):
    kind, kw = case
    assert_same_bits_on_every_isa(lambda: run_steps(kind, kw, ISA_SIZES))


# ---------------------------------------------------------------------------
# Construction: Keras names and defaults, config round trips, bad options.
# ---------------------------------------------------------------------------


def test_defaults_are_keras_3():
    assert optimizers.SGD().learning_rate == keras_rate(0.01) != 0.01
    assert optimizers.SGD().name == "sgd"  # Keras 3.15's auto_name, as AdamW's "adam_w"
    assert (optimizers.AdamW().name, optimizers.RMSprop().name) == ("adam_w", "rm_sprop")
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (
        keras_rate(0.001),
        0.9,
        0.999,
        1e-7,
        False,
    )
    assert optimizers.AdamW().weight_decay == 0.004
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == (
        keras_rate(0.001),
        0.9,
        0.0,
        1e-7,
        False,
    )
    ada = optimizers.Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value, ada.epsilon) == (
        keras_rate(0.001),
        0.1,
        1e-7,
    )
    assert adam.weight_decay is None and adam.clipnorm is None and adam.iterations == 0


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "Adam", "SGD"])
def test_get_by_string_id(name):
    opt = optimizers.get(name)
    assert type(opt).__name__.lower() == name.lower()
    assert optimizers.get(opt) is opt


@pytest.mark.parametrize("bad", ["adamx", "", "nadam_typo"])
def test_get_unknown_string_raises_naming_it(bad):
    with pytest.raises(ValueError, match="adamx|Could not interpret"):
        optimizers.get(bad)


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_config_round_trip(kind):
    opt = CLASSES[kind](learning_rate=0.05, clipnorm=1.0, name="mine")
    config = opt.get_config()
    assert config["learning_rate"] == keras_rate(0.05) and config["clipnorm"] == 1.0
    clone = CLASSES[kind].from_config(config)
    assert clone.get_config() == config
    assert clone._kernel_config() == opt._kernel_config()
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == config


def test_config_round_trip_with_schedule():
    sched = schedules.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10)
    opt = optimizers.Adam(learning_rate=sched)
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    clone = optimizers.Adam.from_config(config)
    assert isinstance(clone._learning_rate, schedules.CosineDecay)
    assert clone.learning_rate == sched(0)


def test_integers_are_accepted():
    assert optimizers.SGD(momentum=0).momentum == 0.0
    assert optimizers.SGD(learning_rate=1).learning_rate == 1.0
    assert optimizers.Adam(learning_rate=1, beta_1=0).beta_1 == 0.0
    assert optimizers.RMSprop(momentum=1, rho=0).momentum == 1.0
    w = np.ones(3, np.float32)
    optimizers.SGD(learning_rate=1, momentum=0).apply_gradients([(np.ones(3), w)])
    np.testing.assert_array_equal(w, 0.0)


def test_lr_is_deprecated_but_works():
    with pytest.warns(DeprecationWarning, match="learning_rate"):
        opt = optimizers.Adam(lr=0.02)
    assert opt.learning_rate == keras_rate(0.02)


def test_lr_and_learning_rate_together_raise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="lr"):
            optimizers.Adam(learning_rate=0.01, lr=0.02)


def test_unknown_kwargs_raise_naming_them():
    with pytest.raises(ValueError, match="betaa_1"):
        optimizers.Adam(betaa_1=0.9)
    with pytest.raises(ValueError, match="momentum_2"), pytest.warns(UserWarning):
        optimizers.SGD(decay=0.1, momentum_2=0.5)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.RMSprop])
def test_keras_2_decay_warns_and_is_ignored_as_keras_3(cls):
    # Keras 3.15 (base_optimizer.py): a UserWarning, then the argument is dropped.
    with pytest.warns(UserWarning, match=r"`decay` is no longer supported and will be ignored"):
        opt = cls(learning_rate=0.1, decay=1e-6)
    assert opt.get_config() == cls(learning_rate=0.1).get_config() | {"name": opt.name}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(decay=None)  # Keras pops it silently when None


@pytest.mark.parametrize(
    "cls, kwargs, arg",
    [
        (optimizers.SGD, {"learning_rate": -0.1}, "learning_rate"),
        (optimizers.Adam, {"learning_rate": float("nan")}, "learning_rate"),
        (optimizers.Adam, {"learning_rate": "0.1"}, "learning_rate"),
        (optimizers.Adam, {"beta_1": 1.0}, "beta_1"),
        (optimizers.Adam, {"beta_1": -0.1}, "beta_1"),
        (optimizers.AdamW, {"beta_2": 1.5}, "beta_2"),
        (optimizers.Adam, {"epsilon": -1e-7}, "epsilon"),
        (optimizers.RMSprop, {"rho": 1.0}, "rho"),
        (optimizers.RMSprop, {"rho": -0.5}, "rho"),
        (optimizers.RMSprop, {"momentum": -0.1}, "momentum"),
        (optimizers.SGD, {"momentum": 1.5}, "momentum"),
        (optimizers.SGD, {"nesterov": "yes"}, "nesterov"),
        (optimizers.Adagrad, {"initial_accumulator_value": -1}, "initial_accumulator_value"),
        (optimizers.Adam, {"weight_decay": -0.1}, "weight_decay"),
        (optimizers.AdamW, {"weight_decay": None}, "weight_decay"),
        (optimizers.Adam, {"clipnorm": -1.0}, "clipnorm"),
        (optimizers.Adam, {"clipnorm": 1.0, "clipvalue": 1.0}, "clipvalue"),
        (optimizers.SGD, {"global_clipnorm": 1.0, "clipnorm": 1.0}, "global_clipnorm"),
        (optimizers.Adam, {"use_ema": True, "ema_momentum": 1.5}, "ema_momentum"),
    ],
)
def test_bad_options_raise_at_construction(cls, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        cls(**kwargs)


def test_learning_rate_setter():
    opt = optimizers.SGD()
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1.0
    opt2 = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="schedule|LearningRateSchedule"):
        opt2.learning_rate = 0.1


def test_kernel_config_is_the_cpp_config():
    opt = optimizers.RMSprop(momentum=0.5, centered=True, global_clipnorm=2.0, weight_decay=0.1)
    config = opt._kernel_config()
    assert config["kind"] == "rmsprop" and config["clip"] == "global_clipnorm"
    assert config["clip_value"] == 2.0 and config["weight_decay"] == 0.1
    checked = _core.optim.validate_config(config)
    assert checked["centered"] is True and checked["momentum"] == 0.5
    assert optimizers.Adam(clipnorm=0)._kernel_config()["clip"] == "none"  # Keras: 0 = off


# ---------------------------------------------------------------------------
# apply_gradients: Keras semantics on NumPy variables.
# ---------------------------------------------------------------------------


def test_apply_gradients_subset_and_none_skip_variables():
    ws, grads = random_problem(10, steps=2)
    vars_ = [w.copy() for w in ws]
    opt = optimizers.Adam(0.1)
    opt.build(vars_)
    opt.apply_gradients([(grads[0][1], vars_[1]), (None, vars_[0])])
    np.testing.assert_array_equal(vars_[0], ws[0])
    np.testing.assert_array_equal(vars_[2], ws[2])
    assert not np.array_equal(vars_[1], ws[1])
    assert opt.iterations == 1


def test_apply_gradients_errors():
    w = np.zeros(3, np.float32)
    opt = optimizers.SGD()
    with pytest.raises(TypeError, match="float32"):
        opt.apply_gradients([(np.ones(3), np.zeros(3))])
    opt.apply_gradients([(np.ones(3), w)])
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply_gradients([(np.ones(3), np.zeros(3, np.float32))])
    with pytest.raises(ValueError, match="shape"):
        opt.apply_gradients([(np.ones(4), w)])
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply_gradients([(None, w)])
    with pytest.raises(ValueError, match="contiguous"):
        optimizers.SGD().apply_gradients([(np.ones(3), np.zeros(6, np.float32)[::2])])


def test_variables_are_keras_order_views_of_the_state():
    w1, w2 = np.ones((2, 3), np.float32), np.ones(4, np.float32)
    opt = optimizers.Adam(0.1)
    opt.apply_gradients([(np.ones((2, 3)), w1), (np.full(4, 2.0), w2)])
    vs = opt.variables
    assert int(vs[0]) == 1 and float(vs[1]) == pytest.approx(0.1)
    # Keras's order: momentum and velocity of w1, then of w2 (m0, v0, m1, v1)
    assert [v.path for v in vs] == [
        "adam/iteration",
        "adam/learning_rate",
        "adam/variable_momentum",
        "adam/variable_velocity",
        "adam/variable_1_momentum",
        "adam/variable_1_velocity",
    ]
    assert [v.shape for v in vs[2:]] == [(2, 3), (2, 3), (4,), (4,)]
    np.testing.assert_allclose(vs[4], 0.2)
    np.testing.assert_allclose(vs[5], 0.004, rtol=1e-6)
    vs[4][...] = 0.5  # a view of the state
    np.testing.assert_array_equal(opt.variables[4], 0.5)
    opt.iterations = 0
    assert opt.iterations == 0


# ---------------------------------------------------------------------------
# fastnn.ops.*_update: the NumPy API.
# ---------------------------------------------------------------------------


def test_ops_updates_equal_the_optimizer_classes_bitwise(isa):
    ws, grads = random_problem(11, shapes=[(5, 7)], steps=50)
    cases = [
        (optimizers.SGD(0.01, momentum=0.9, nesterov=True), "sgd"),
        (optimizers.Adam(0.01, amsgrad=True, clipnorm=1.0), "adam"),
        (optimizers.AdamW(0.01), "adamw"),
        (optimizers.RMSprop(0.001, momentum=0.5, centered=True, clipvalue=0.5), "rmsprop"),
        (optimizers.Adagrad(0.1, initial_accumulator_value=0.0), "adagrad"),
    ]
    for opt, kind in cases:
        expected = run_fastnn(opt, ws, grads)[0]
        p = ws[0].copy()
        z = [np.zeros_like(p) for _ in range(3)]
        for t, g in enumerate(grads, start=1):
            g = g[0]
            if kind == "sgd":
                fastnn.ops.sgd_update(p, g, z[0], learning_rate=0.01, momentum=0.9, nesterov=True)
            elif kind == "adam":
                fastnn.ops.adam_update(p, g, z[0], z[1], t, learning_rate=0.01, v_hat=z[2],
                                       clipnorm=1.0)  # fmt: skip
            elif kind == "adamw":
                fastnn.ops.adamw_update(p, g, z[0], z[1], t, learning_rate=0.01)
            elif kind == "rmsprop":
                fastnn.ops.rmsprop_update(p, g, z[0], learning_rate=0.001, momentum=0.5,
                                          momentum_buffer=z[1], average_gradient=z[2],
                                          clipvalue=0.5)  # fmt: skip
            else:
                fastnn.ops.adagrad_update(p, g, z[0], learning_rate=0.1)
        assert p.tobytes() == expected.tobytes(), kind


def test_ops_update_accepts_any_grad_layout_and_dtype():
    rng = np.random.default_rng(12)
    g = rng.standard_normal((6, 8))
    p1 = np.ones((6, 8), np.float32)
    p2 = p1.copy()
    p3 = p1.copy()
    m1, v1, m2, v2, m3, v3 = (np.zeros((6, 8), np.float32) for _ in range(6))
    fastnn.ops.adam_update(p1, g.astype(np.float32), m1, v1, 1)
    fastnn.ops.adam_update(p2, np.asfortranarray(g), m2, v2, 1)  # Fortran, float64
    big = np.zeros((12, 8))
    big[::2] = g
    fastnn.ops.adam_update(p3, big[::2], m3, v3, 1)  # strided
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(p1, p3)
    q = np.ones(4, np.float32)
    fastnn.ops.sgd_update(q, np.array([1, 2, 3, 4]), learning_rate=1)  # int grads, int lr
    np.testing.assert_array_equal(q, [0, -1, -2, -3])


def test_ops_update_size_zero_is_a_no_op():
    p = np.zeros(0, np.float32)
    fastnn.ops.adam_update(p, np.zeros(0), np.zeros(0, np.float32), np.zeros(0, np.float32), 1)


def test_ops_update_errors():
    p = np.zeros((3, 4), np.float32)
    m = np.zeros((3, 4), np.float32)
    v = np.zeros((3, 4), np.float32)
    g = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="param.*float32"):
        fastnn.ops.adam_update(p.astype(np.float64), g, m, v, 1)
    with pytest.raises(TypeError, match="m must be a numpy.ndarray"):
        fastnn.ops.adam_update(p, g, [0.0] * 12, v, 1)
    with pytest.raises(
        ValueError, match=r"grad must have the shape of param \(3, 4\), got \(4, 3\)"
    ):
        fastnn.ops.adam_update(p, g.T.copy(), m, v, 1)
    with pytest.raises(ValueError, match=r"v must have the shape of param"):
        fastnn.ops.adam_update(p, g, m, np.zeros(12, np.float32), 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        fastnn.ops.adam_update(p, g, np.asfortranarray(m), v, 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        fastnn.ops.sgd_update(np.zeros((3, 8), np.float32)[:, ::2], g)
    ro = np.zeros((3, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        fastnn.ops.adam_update(p, g, m, ro, 1)
    with pytest.raises(ValueError, match="share memory"):
        fastnn.ops.adam_update(p, g, m, m, 1)
    with pytest.raises(ValueError, match="share memory"):
        fastnn.ops.adam_update(p, p, m, v, 1)
    with pytest.raises(ValueError, match="step"):
        fastnn.ops.adam_update(p, g, m, v, 0)
    with pytest.raises(ValueError, match="beta_1"):
        fastnn.ops.adam_update(p, g, m, v, 1, beta_1=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        fastnn.ops.adam_update(p, g, m, v, 1, learning_rate=-1.0)
    with pytest.raises(ValueError, match="momentum_buffer"):
        fastnn.ops.sgd_update(p, g, momentum=0.9)
    with pytest.raises(ValueError, match="momentum_buffer"):
        fastnn.ops.rmsprop_update(p, g, v, momentum=0.9)
    with pytest.raises(ValueError, match="rho"):
        fastnn.ops.rmsprop_update(p, g, v, rho=1.0)
    with pytest.raises(ValueError, match="only one"):
        fastnn.ops.adagrad_update(p, g, v, clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(TypeError):
        fastnn.ops.adam_update(p, np.array(["a"] * 12).reshape(3, 4), m, v, 1)
    np.testing.assert_array_equal(p, 0.0)  # nothing ran


# ---------------------------------------------------------------------------
# The flat-buffer optimizer the network uses (_core.optim.Optimizer).
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_flat_step_equals_step_tensors(kind, isa):
    sizes = [784 * 12, 12, 12 * 10, 10, 20000]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    extra = {"momentum": 0.9} if kind == "sgd" else {}
    config = CLASSES[kind](global_clipnorm=30.0, **extra)._kernel_config()
    flat = _core.optim.Optimizer(config, offsets)
    split = _core.optim.Optimizer(config, offsets)
    rng = np.random.default_rng(13)
    params = rng.standard_normal(offsets[-1]).astype(np.float32)
    pieces = [params[a:b].copy() for a, b in zip(offsets[:-1], offsets[1:])]
    for _ in range(3):
        grads = rng.standard_normal(offsets[-1]).astype(np.float32)
        flat.step(params, grads, 0.01)
        split.step_tensors(pieces, [grads[a:b] for a, b in zip(offsets[:-1], offsets[1:])], 0.01)
    assert flat.iterations == split.iterations == 3
    assert params.tobytes() == np.concatenate(pieces).tobytes()
    for i, name in enumerate(flat.slot_names):
        assert flat.slot(i).tobytes() == split.slot(i).tobytes(), name
    flat.reset()
    assert flat.iterations == 0
    assert np.all(flat.slot(0) == (0.1 if kind in ("adagrad", "ftrl") else 0.0))


def test_flat_optimizer_errors():
    config = optimizers.Adam()._kernel_config()
    with pytest.raises(ValueError, match="unknown key 'bogus'"):
        _core.optim.Optimizer({**config, "bogus": 1}, [0, 3])
    with pytest.raises(ValueError, match="unknown kind"):
        _core.optim.Optimizer({**config, "kind": "adamx"}, [0, 3])
    with pytest.raises(ValueError, match="beta_2"):
        _core.optim.Optimizer({**config, "beta_2": 1.0}, [0, 3])
    with pytest.raises(ValueError, match="offsets"):
        _core.optim.Optimizer(config, [0, 5, 3])
    opt = _core.optim.Optimizer(config, [0, 3, 5])
    with pytest.raises(ValueError, match="5 elements"):
        opt.step(np.zeros(4, np.float32), np.zeros(4, np.float32), 0.1)
    with pytest.raises(ValueError, match="iterations"):
        opt.iterations = -1
    with pytest.raises(IndexError):
        opt.slot(2)


def test_hyperparameters_changed_after_build_take_effect_and_keep_state(isa):
    ws, grads = random_problem(14, steps=40)
    opt = optimizers.Adam(learning_rate=0.01)
    ref = KerasReference("adam", SHAPES)
    ref_ws = [w.astype(np.float64) for w in ws]
    vars_ = [w.copy() for w in ws]
    for i, g in enumerate(grads):
        if i == 20:
            opt.weight_decay = 0.1
            opt.beta_2 = 0.99
            ref.hp.update(weight_decay=0.1, beta_2=0.99)
        ref_ws = ref.step(ref_ws, g, 0.01)
        opt.apply_gradients(zip(g, vars_))
    assert opt.iterations == 40
    assert_trajectory_close(vars_, ref_ws)


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_flat_build_equals_apply_gradients_bitwise(kind, isa):
    ws, grads = random_problem(15, steps=5)
    offsets = np.concatenate([[0], np.cumsum([w.size for w in ws])]).tolist()
    a = CLASSES[kind](learning_rate=0.01, clipnorm=2.0)
    b = CLASSES[kind](learning_rate=0.01, clipnorm=2.0)
    vars_ = [w.copy() for w in ws]
    flat = np.concatenate([w.ravel() for w in ws])
    b._build_flat(offsets)
    for g in grads:
        a.apply_gradients(zip(g, vars_))
        b._apply_flat(flat, np.concatenate([x.ravel() for x in g]))
    assert flat.tobytes() == np.concatenate([v.ravel() for v in vars_]).tobytes()
    assert a.iterations == b.iterations == 5
    # built flat (no model): one buffer per slot; apply_gradients: Keras's
    # per-weight variables, named <weight>_<slot> (plain arrays: variable, variable_1, ...)
    by_name = {v.name: v for v in a.variables[2:]}
    refs = ["variable"] + [f"variable_{k}" for k in range(1, len(ws))]
    slot_names = b._kernel.slot_names
    for name, flat_slot in zip(slot_names, b.variables[2:]):
        joined = np.concatenate([by_name[f"{ref}_{name}"].ravel() for ref in refs])
        assert flat_slot.tobytes() == joined.tobytes()
    assert len(b.variables) == len(a.variables) - len(slot_names) * (len(ws) - 1)


def test_centered_rmsprop_stays_finite_when_rounding_makes_the_variance_negative(isa):
    # v - a^2 >= 0 in exact arithmetic (Cauchy-Schwarz on the moving averages),
    # but with a constant gradient it shrinks like rho^t g^2 and its float32
    # rounding (~eps g^2) turns negative: sqrt gave NaN after ~130 steps for 7 %
    # of these elements, where the float64 formula stays finite.
    rng = np.random.default_rng(0)
    g = (rng.uniform(0.5, 2, 4099) * 10 ** rng.uniform(-3, 4, 4099)).astype(np.float32)
    p, v, a = np.zeros_like(g), np.zeros_like(g), np.zeros_like(g)
    for _ in range(300):
        fastnn.ops.rmsprop_update(p, g, v, learning_rate=1e-3, average_gradient=a)
    assert np.isfinite(p).all(), int(np.isnan(p).sum())
    assert (v - a * a < 0).any()  # the case arises: the clamp at 0 is what keeps p finite


HUGE = 10**400  # an int no float holds


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: optimizers.Adam(learning_rate=HUGE), "learning_rate"),
        (lambda: optimizers.SGD(momentum=HUGE), "momentum"),
        (lambda: optimizers.Adam(epsilon=HUGE), "epsilon"),
        (lambda: optimizers.RMSprop(clipnorm=HUGE), "clipnorm"),
        (lambda: optimizers.AdamW(weight_decay=HUGE), "weight_decay"),
        (lambda: optimizers.Adagrad(initial_accumulator_value=HUGE), "initial_accumulator_value"),
        (lambda: optimizers.Adam.from_config({"learning_rate": HUGE}), "learning_rate"),
        (lambda: schedules.ExponentialDecay(0.1, decay_steps=HUGE, decay_rate=0.5), "decay_steps"),
        (lambda: schedules.CosineDecay(HUGE, 10), "initial_learning_rate"),
    ],
)
def test_an_integer_too_large_for_a_float_is_a_value_error_naming_it(make, name):
    """Was Python's OverflowError 'int too large to convert to float', which
    names no argument."""
    with pytest.raises(ValueError, match=rf"`{name}` must be finite.*too large for a float"):
        make()


def test_ops_updates_refuse_an_integer_too_large_for_a_float():
    """Was pybind11's bare RuntimeError 'Unable to cast Python instance'."""
    param, grad = np.ones(4, np.float32), np.ones(4, np.float32)
    with pytest.raises(ValueError, match="learning_rate must be a finite number"):
        fastnn.ops.sgd_update(param, grad, learning_rate=HUGE)
    with pytest.raises(ValueError, match="clipvalue must be a finite number"):
        fastnn.ops.adam_update(param, grad, np.zeros(4, np.float32), np.zeros(4, np.float32), 1,
                               clipvalue=HUGE)  # fmt: skip
    np.testing.assert_array_equal(param, np.ones(4, np.float32))


@pytest.mark.parametrize("count", [2**62 + 1, 2**64 - 1, 2**70])
def test_iterations_beyond_the_engine_s_int64_are_refused_and_change_nothing(count):
    """2**64 - 1 raised pybind11's TypeError after the Python-side count had
    changed (the optimizer then disagreed with itself)."""
    model = fastnn.models.Sequential([fastnn.layers.Input(shape=(3,)), fastnn.layers.Dense(2)])
    model.compile(optimizers.Adam(), "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    opt = model.optimizer
    before = (int(opt.iterations), opt._iterations, opt._kernel.iterations)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*62\]"):
        opt.iterations = count
    with pytest.raises(ValueError, match=r"\[0, 2\*\*62\]"):
        opt.iterations.assign(count)
    assert (int(opt.iterations), opt._iterations, opt._kernel.iterations) == before
