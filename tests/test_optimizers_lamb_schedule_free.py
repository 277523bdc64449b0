"""Lamb and ScheduleFreeAdamW: Keras 3 numerics (a float64 transcription and
Keras itself, in apply_gradients and in fit), the per-tensor trust ratio,
bit-identical ISA paths and thread counts, bad arguments, names, configs,
Keras's variable order and exact resumption after save/load.

Keras 3.15 on the torch backend computes schedule-free AdamW's x from z
after z's in-place update (``momentum.value`` aliases the slot); fastnn
follows the paper. `keras_schedule_free_fixed` is Keras's class with only that
read taken before the update, and a test shows that the same transcription
with the aliased read reproduces Keras's own class.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import test_optimizers
from test_model_saving import make_data, make_model, optimizer_state, same_weights
from test_optimizers import KerasReference, assert_trajectory_close, case_id, run_fastnn
from test_optimizers_extra import assert_save_and_load_resumes_exactly, keras_trajectory

import fastnn
from fastnn import layers, models, optimizers
from fastnn.optimizers import schedules

SHAPES = [(7,), (3, 5), (1,), (129,), (2, 3, 4), (4,)]


class Reference(KerasReference):
    """keras/src/optimizers/{lamb,schedule_free_adamw}.py in float64, after
    base_optimizer.py's clip and decoupled weight decay. `aliased`: schedule-
    free's x from the updated z, as Keras on torch computes it."""

    def __init__(self, kind, shapes, aliased=False, **hp):
        super().__init__(kind, shapes, **hp)
        self.m = [np.zeros(s) for s in shapes]  # lamb: momentum; schedule-free: z
        self.v = [np.zeros(s) for s in shapes]
        self.aliased = aliased

    def step(self, ws, grads, lr):
        hp = self.hp
        t = self.iterations + 1
        if self.kind == "schedule_free_adamw" and t == 1:
            self.m = [np.array(w, np.float64) for w in ws]  # z: a copy of w at build
        grads = self.clip([np.asarray(g, np.float64) for g in grads])
        wd = hp.get("weight_decay")
        if wd:
            ws = [w - w * wd * lr for w in ws]
        b1, b2 = hp.get("beta_1", 0.9), hp.get("beta_2", 0.999)
        out = []
        for k, (w, g) in enumerate(zip(ws, grads)):
            v = self.v[k] = self.v[k] + (g * g - self.v[k]) * (1 - b2)
            if self.kind == "lamb":
                m = self.m[k] = self.m[k] + (g - self.m[k]) * (1 - b1)
                u = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + hp.get("epsilon", 1e-7))
                w_norm, u_norm = np.sqrt(np.sum(w * w)), np.sqrt(np.sum(u * u))
                ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
                out.append(w - ratio * lr * u)
            else:
                warmup = hp.get("warmup_steps", 0)
                lr_t = lr * min(t / warmup, 1.0) if warmup > 0 else lr
                z_old = self.m[k]
                denom = np.sqrt(v / (1 - b2**t)) + hp.get("epsilon", 1e-8)
                z = self.m[k] = z_old - lr_t * g / denom
                x = (w - (1 - b1) * (z if self.aliased else z_old)) / b1
                x = (1 - 1 / t) * x + (1 / t) * z
                out.append((1 - b1) * z + b1 * x)
        self.iterations += 1
        return out


CLASSES = {"lamb": optimizers.Lamb, "schedule_free_adamw": optimizers.ScheduleFreeAdamW}
KINDS = sorted(CLASSES)
STEPS = 50
OPTIONS = [
    {},
    {"weight_decay": 0.05},
    {"clipnorm": 2.0},
    {"clipvalue": 0.5},
    {"global_clipnorm": 5.0},
    {"clipnorm": 1.0, "weight_decay": 0.01},
]
CASES = [(kind, {"learning_rate": 0.01, **opt}) for kind in KINDS for opt in OPTIONS] + [
    ("lamb", {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("lamb", {"learning_rate": 0.01, "beta_1": 0.0, "beta_2": 0.5}),
    ("schedule_free_adamw", {"learning_rate": 0.02, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("schedule_free_adamw", {"learning_rate": 0.02, "beta_1": 1.0}),
    ("schedule_free_adamw", {"learning_rate": 0.02, "warmup_steps": 7}),
    ("schedule_free_adamw", {"learning_rate": 0.02, "warmup_steps": 1, "weight_decay": 0.1}),
    ("schedule_free_adamw", {"learning_rate": 0.02, "warmup_steps": 6.5}),  # Keras takes floats
]


# beta_1 = beta_2 = 0: Keras's m + (g - m)(1 - beta_1) cancels in float32 when
# a gradient is tiny next to the last one, and the sign-like steps amplify it:
# a float64 transcription drifts, float32 Keras does not (fastnn's ops are its).
KERAS_CASES = [*CASES, ("lamb", {"learning_rate": 0.01, "beta_1": 0.0, "beta_2": 0.0})]


def random_problem(seed, steps=STEPS):
    ws, grads = test_optimizers.random_problem(seed, SHAPES, steps)
    ws[-1][:] = 0.0  # a zero tensor (a fresh bias): Lamb's ratio is 1 at its first step
    return ws, grads


def reference_trajectory(kind, kw, ws, grads, lr_at, aliased=False):
    hp = {k: v for k, v in kw.items() if k != "learning_rate"}
    ref = Reference(kind, [w.shape for w in ws], aliased=aliased, **hp)
    ref_ws = [w.astype(np.float64) for w in ws]
    for i, g in enumerate(grads):
        ref_ws = ref.step(ref_ws, g, lr_at(i))
    return ref_ws, ref


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_the_formulas(case, isa):
    kind, kw = case
    ws, grads = random_problem(1)
    ref_ws, ref = reference_trajectory(kind, kw, ws, grads, lambda i: kw["learning_rate"])
    opt = CLASSES[kind](**kw)
    out = run_fastnn(opt, ws, grads)
    assert opt.iterations == STEPS
    assert_trajectory_close(out, ref_ws)
    assert max(float(np.max(np.abs(o - w))) for o, w in zip(out, ws)) > 1e-3  # it moved
    # the slots too, in Keras's order (momentum and velocity of each weight in turn)
    slots = opt.variables[2:]
    for k in range(len(ws)):
        np.testing.assert_allclose(slots[2 * k], ref.m[k], rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(slots[2 * k + 1], ref.v[k], rtol=2e-5, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_trajectory_with_a_schedule(kind, isa):
    ws, grads = random_problem(2)
    schedule = schedules.ExponentialDecay(0.02, decay_steps=10, decay_rate=0.5)
    kw = {"weight_decay": 0.01, "clipnorm": 3.0}
    ref_ws, _ = reference_trajectory(kind, kw, ws, grads, schedule)
    opt = CLASSES[kind](learning_rate=schedule, **kw)
    assert_trajectory_close(run_fastnn(opt, ws, grads), ref_ws)


def test_lamb_steps_each_tensor_in_proportion_to_its_norm():
    """The trust ratio is per tensor: scaling one tensor's weights by c scales
    its first step by c (its direction u does not depend on w) and leaves the
    other tensors' steps alone."""
    rng = np.random.default_rng(3)
    w = [
        rng.standard_normal((31, 7)).astype(np.float32),
        rng.standard_normal(13).astype(np.float32),
    ]
    g = [
        rng.standard_normal((31, 7)).astype(np.float32),
        rng.standard_normal(13).astype(np.float32),
    ]
    steps = []
    for c in (1.0, 8.0):
        ws = [w[0] * np.float32(c), w[1].copy()]
        before = [x.copy() for x in ws]
        optimizers.Lamb(learning_rate=0.01).apply_gradients(zip(g, ws))
        steps.append([a - b for a, b in zip(ws, before)])
    np.testing.assert_allclose(steps[1][0], 8.0 * steps[0][0], rtol=1e-5)
    np.testing.assert_array_equal(steps[1][1], steps[0][1])
    # the step's norm is lr * ||w|| (Adam's first direction is sign-like, ratio rescales it)
    norm = float(np.linalg.norm(steps[0][0]))
    assert norm == pytest.approx(0.01 * float(np.linalg.norm(w[0])), rel=1e-5)


def test_lamb_zero_weights_or_zero_gradient_take_ratio_one():
    zero_w = [np.zeros(5, np.float32)]
    optimizers.Lamb(learning_rate=0.1).apply_gradients([(np.ones(5, np.float32), zero_w[0])])
    # u = m_hat / (sqrt(v_hat) + eps) = 1 / (1 + 1e-7): the step is lr * u
    np.testing.assert_allclose(zero_w[0], -0.1 / (1 + 1e-7), rtol=1e-6)
    w = np.arange(1, 6, dtype=np.float32)
    before = w.copy()
    optimizers.Lamb(learning_rate=0.1).apply_gradients([(np.zeros(5, np.float32), w)])
    np.testing.assert_array_equal(w, before)  # u = 0: ratio 1, no move, no NaN


def test_schedule_free_z_starts_as_the_weights_and_the_first_step_is_sgd_like():
    """At t = 1 the average weight is 1, so x = z' and w = z': the first step
    moves w by exactly lr * g / (|g| + eps) (Adam's first step)."""
    w = np.array([1.0, -2.0, 3.0, 0.5], np.float32)
    g = np.array([0.5, -1.0, 2.0, 0.0], np.float32)
    opt = optimizers.ScheduleFreeAdamW(learning_rate=0.1)
    opt.build([w])
    opt.apply_gradients([(g, w)])
    expected = np.array([1.0, -2.0, 3.0, 0.5]) - 0.1 * np.sign(g) / (1 + 1e-8 / np.abs(g + 1e-30))
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    z = opt.variables[2]
    np.testing.assert_allclose(z, w, rtol=1e-6)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


def keras_schedule_free_fixed(keras, **kw):
    """Keras's ScheduleFreeAdamW with x computed from the z before its update
    (a copy taken first): keras/src/optimizers/schedule_free_adamw.py's
    update_step otherwise line for line."""
    ops = keras.ops

    class Fixed(keras.optimizers.ScheduleFreeAdamW):
        def update_step(self, gradient, variable, learning_rate):
            lr = ops.cast(learning_rate, variable.dtype)
            gradient = ops.cast(gradient, variable.dtype)
            local_step = ops.cast(self.iterations + 1, variable.dtype)
            beta_1 = ops.cast(self.beta_1, variable.dtype)
            beta_2 = ops.cast(self.beta_2, variable.dtype)
            epsilon = ops.cast(self.epsilon, variable.dtype)
            if self.warmup_steps > 0:
                warmup = ops.cast(self.warmup_steps, variable.dtype)
                lr = lr * ops.minimum(local_step / warmup, 1.0)
            index = self._get_variable_index(variable)
            momentum, velocity = self._momentums[index], self._velocities[index]
            momentum_old = ops.copy(momentum.value)  # the one change
            bias_correction_2 = 1 - ops.power(beta_2, local_step)
            self.assign_add(
                velocity, ops.multiply(ops.subtract(ops.square(gradient), velocity), 1 - beta_2)
            )
            denom = ops.add(ops.sqrt(velocity / bias_correction_2), epsilon)
            self.assign_sub(momentum, ops.divide(ops.multiply(lr, gradient), denom))
            weight = 1.0 / local_step
            x_old = ops.divide(
                ops.subtract(variable, ops.multiply(1 - beta_1, momentum_old)), beta_1
            )
            x_new = ops.add(ops.multiply(1 - weight, x_old), ops.multiply(weight, momentum))
            self.assign(
                variable, ops.add(ops.multiply(1 - beta_1, momentum), ops.multiply(beta_1, x_new))
            )

    return Fixed(**kw)


def keras_optimizer(keras, kind, **kw):
    if kind == "schedule_free_adamw":
        return keras_schedule_free_fixed(keras, **kw)
    return keras.optimizers.Lamb(**kw)


@pytest.mark.parametrize("case", KERAS_CASES, ids=case_id)
def test_trajectory_matches_keras_itself(case, keras):
    kind, kw = case
    ws, grads = random_problem(5)
    expected = keras_trajectory(keras, keras_optimizer(keras, kind, **kw), ws, grads)
    opt = CLASSES[kind](**kw)
    out = run_fastnn(opt, ws, grads)
    assert_trajectory_close(out, expected[: len(ws)])
    slots = expected[len(ws) + 2 :]  # Keras's iterations and learning rate first
    assert len(slots) == len(opt.variables) - 2
    for a, b in zip(opt.variables[2:], slots):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_the_aliased_transcription_reproduces_keras_s_own_schedule_free(keras):
    """The test's transcription is right apart from the one read fastnn
    changes: with the aliased read it gives Keras 3.15's own class's weights,
    which differ from fastnn's (and the paper's) by more than the rounding."""
    ws, grads = random_problem(6, steps=20)
    kw = {"learning_rate": 0.02, "weight_decay": 0.01}
    ref_ws, _ = reference_trajectory("schedule_free_adamw", kw, ws, grads, lambda i: 0.02, True)
    k_out = keras_trajectory(keras, keras.optimizers.ScheduleFreeAdamW(**kw), ws, grads)
    assert_trajectory_close(k_out[: len(ws)], ref_ws)
    ours = run_fastnn(optimizers.ScheduleFreeAdamW(**kw), ws, grads)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(ours, k_out)) > 1e-4


def keras_twin(keras, model):
    k = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(5, activation="tanh"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    k.set_weights(model.get_weights())
    return k


@pytest.mark.parametrize(
    "case",
    [
        ("lamb", {"learning_rate": 0.01}),
        ("lamb", {"learning_rate": 0.02, "weight_decay": 0.01, "global_clipnorm": 1.0}),
        ("schedule_free_adamw", {"learning_rate": 0.01}),
        ("schedule_free_adamw", {"learning_rate": 0.02, "warmup_steps": 5, "clipvalue": 0.5}),
    ],
    ids=case_id,
)
def test_fit_matches_keras_fit(case, keras):
    """The network's flat-buffer path: the weights after 3 epochs of fit
    (no shuffling) equal Keras's fit from the same initial weights."""
    kind, kw = case
    x, y = make_data()
    model = make_model(CLASSES[kind](**kw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = keras_twin(keras, model)
        k.compile(
            optimizer=keras_optimizer(keras, kind, **kw), loss="sparse_categorical_crossentropy"
        )
        k.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        expected = k.get_weights()
    before = model.get_weights()
    model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    for a, b, w0 in zip(model.get_weights(), expected, before):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        assert not np.array_equal(a, w0)


@pytest.mark.parametrize("kind", KINDS)
def test_defaults_config_and_variables_match_keras(kind, keras):
    k_opt = getattr(keras.optimizers, CLASSES[kind].__name__)()
    opt = CLASSES[kind]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k_config = k_opt.get_config()
    config = opt.get_config()
    assert sorted(config) == sorted(k_config)
    for key, value in k_config.items():
        if key == "name":  # Keras numbers its instances: lamb, lamb_1, ...
            assert value == config[key] or value.startswith(config[key] + "_")
        elif isinstance(value, float):
            assert config[key] == pytest.approx(value, rel=1e-7), key
        else:
            assert config[key] == value, key
    # names and order of the variables after a step (Keras: momentum, velocity per weight)
    w = [np.ones((2, 3), np.float32), np.ones(4, np.float32)]
    g = [np.full((2, 3), 0.5, np.float32), np.full(4, -2.0, np.float32)]
    if kind == "schedule_free_adamw":
        k_opt = keras_schedule_free_fixed(keras)
    k_values = keras_trajectory(keras, k_opt, w, [g])[len(w) :]
    opt.apply_gradients(zip(g, w))
    values = opt.variables
    assert len(values) == len(k_values)
    names, k_names = [v.name for v in values], [v.name for v in k_opt.variables]
    assert names[:2] == k_names[:2] == ["iteration", "learning_rate"]
    # Keras numbers its standalone variables (variable_2_momentum): compare the slot part
    suffixes = [n.rsplit("_", 1)[1] for n in names[2:]]
    assert suffixes == [n.rsplit("_", 1)[1] for n in k_names[2:]] == ["momentum", "velocity"] * 2
    for a, b in zip(values[2:], k_values[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_isa_paths_and_thread_counts_give_identical_bits(kind, isa, threads):
    # empty, one element, primes, around the 8- and 16-lane widths and the
    # 8192-element chunk
    sizes = [0, 1, 7, 8, 9, 17, 27, 257, 8191, 16385, 40009]
    kw = {"weight_decay": 0.01, "clipnorm": 50.0}
    results = []
    for n in (1, 2):
        fastnn.set_num_threads(n)
        ws, slots = run_steps(kind, kw, sizes)
        results.append(ws + slots)
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()
    test_optimizers.assert_same_bits_on_every_isa(lambda: run_steps(kind, kw, sizes))


def run_steps(kind, kw, sizes):
    return test_optimizers.run_steps(kind, kw, sizes, classes=CLASSES)


@pytest.mark.parametrize(
    "cls, kwargs, arg",
    [
        (optimizers.Lamb, {"beta_1": 1.0}, "beta_1"),
        (optimizers.Lamb, {"beta_2": -0.1}, "beta_2"),
        (optimizers.Lamb, {"epsilon": -1.0}, "epsilon"),
        (optimizers.Lamb, {"learning_rate": float("nan")}, "learning_rate"),
        (optimizers.ScheduleFreeAdamW, {"beta_1": 0.0}, "beta_1"),
        (optimizers.ScheduleFreeAdamW, {"beta_1": 1.5}, "beta_1"),
        (optimizers.ScheduleFreeAdamW, {"beta_2": 1.0}, "beta_2"),
        (optimizers.ScheduleFreeAdamW, {"epsilon": "x"}, "epsilon"),
        (optimizers.ScheduleFreeAdamW, {"warmup_steps": -1}, "warmup_steps"),
        (optimizers.ScheduleFreeAdamW, {"warmup_steps": float("nan")}, "warmup_steps"),
        (optimizers.ScheduleFreeAdamW, {"warmup_steps": float("inf")}, "warmup_steps"),
        (optimizers.ScheduleFreeAdamW, {"warmup_steps": 10**400}, "warmup_steps"),
        (optimizers.ScheduleFreeAdamW, {"warmup_steps": "3"}, "warmup_steps"),
        (optimizers.ScheduleFreeAdamW, {"warmup_steps": True}, "warmup_steps"),
        (optimizers.ScheduleFreeAdamW, {"warmup_steps": None}, "warmup_steps"),
    ],
)
def test_bad_options_raise_at_construction(cls, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        cls(**kwargs)


def test_bad_option_set_after_build_is_refused_at_the_next_step_and_changes_nothing():
    x, y = make_data()
    model = make_model(optimizers.ScheduleFreeAdamW(learning_rate=0.01))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    weights, state = model.get_weights(), [s.copy() for s in optimizer_state(model)]
    model.optimizer.warmup_steps = -3
    with pytest.raises(ValueError, match="warmup_steps"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert same_weights(model.get_weights(), weights)
    for a, b in zip(optimizer_state(model), state):
        np.testing.assert_array_equal(a, b)
    model.optimizer.warmup_steps = 4  # a valid value trains, keeping the state
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert model.optimizer.iterations == 12


@pytest.mark.parametrize(
    "name, cls",
    [
        ("lamb", optimizers.Lamb),
        ("Lamb", optimizers.Lamb),
        ("schedulefreeadamw", optimizers.ScheduleFreeAdamW),
        ("ScheduleFreeAdamW", optimizers.ScheduleFreeAdamW),
    ],
)
def test_compile_by_string_and_fit(name, cls):
    x, y = make_data()
    model = models.Sequential([layers.Input(shape=(6,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=name, loss="sparse_categorical_crossentropy")
    assert type(model.optimizer) is cls
    model.optimizer.learning_rate = 0.05
    losses = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert model.optimizer.iterations == 8 * 6


@pytest.mark.parametrize("kind", KINDS)
def test_config_round_trip(kind):
    kw = {"beta_1": 0.8, "weight_decay": 0.01, "clipnorm": 1.5}
    if kind == "schedule_free_adamw":
        kw["warmup_steps"] = 12
    opt = CLASSES[kind](**kw)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is CLASSES[kind]
    assert again.get_config() == opt.get_config()


RESUME = {
    "lamb": lambda: optimizers.Lamb(learning_rate=0.01, weight_decay=0.01),
    "lamb_schedule": lambda: optimizers.Lamb(
        learning_rate=schedules.ExponentialDecay(0.02, decay_steps=4, decay_rate=0.7),
        clipnorm=1.0,
    ),
    "schedule_free_adamw": lambda: optimizers.ScheduleFreeAdamW(
        learning_rate=0.01, warmup_steps=5, global_clipnorm=2.0
    ),
    "schedule_free_adamw_ema": lambda: optimizers.ScheduleFreeAdamW(
        learning_rate=0.01, use_ema=True, ema_momentum=0.9
    ),
}


@pytest.mark.parametrize("name", sorted(RESUME))
def test_save_mid_training_then_resume_is_bit_identical(tmp_path, name):
    saved, count = assert_save_and_load_resumes_exactly(tmp_path, RESUME[name])
    assert f"optimizer/vars/{count - 1}" in saved and f"optimizer/vars/{count}" not in saved


@pytest.mark.parametrize("kind", ["lamb", "schedulefreeadamw"])
def test_optimizer_state_loads_into_keras_and_back(tmp_path, kind, keras):
    """fastnn's .weights.h5 loads into a Keras model compiled with the same
    optimizer (its variables in Keras's order), and Keras's file loads back."""
    x, y = make_data()
    model = make_model(optimizers.get(kind))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save_weights(tmp_path / "fastnn.weights.h5")
    ours = model._optimizer_variables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = keras_twin(keras, model)
        k_opt = keras.optimizers.Lamb() if kind == "lamb" else keras.optimizers.get(kind)
        k.compile(optimizer=k_opt, loss="sparse_categorical_crossentropy")
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
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(tmp_path / "keras.weights.h5")
    back = fresh._optimizer_variables()
    assert int(back[0]) == int(after[0]) == 12
    for a, b in zip(back[2:], after[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_schedule_free_loaded_before_its_first_step_copies_the_weights_then():
    """z is a copy of the weights taken at the first step, so weights set
    after compile (set_weights, a loaded file) are the ones it starts from."""
    x, y = make_data()
    a = make_model(optimizers.ScheduleFreeAdamW(learning_rate=0.01), seed=1)
    b = make_model(optimizers.ScheduleFreeAdamW(learning_rate=0.01), seed=2)
    b.set_weights(a.get_weights())
    for m in (a, b):
        m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert same_weights(a.get_weights(), b.get_weights())


KERAS_OPTIMIZERS = {
    "lamb": {"class_name": "Lamb", "config": {"learning_rate": 0.004, "beta_2": 0.99}},
    "schedulefreeadamw": {
        "class_name": "ScheduleFreeAdamW",
        "config": {"learning_rate": 0.004, "warmup_steps": 3},
    },
}


@pytest.mark.parametrize("kind", sorted(KERAS_OPTIMIZERS))
def test_a_keras_archive_trained_with_it_loads_compiled_with_its_state(tmp_path, kind, keras):
    """A .keras file Keras wrote after training with Lamb or ScheduleFreeAdamW
    loads compiled, with the optimizer's options, step count and slots."""
    x, y = make_data()
    path = str(tmp_path / f"{kind}.keras")
    spec = KERAS_OPTIMIZERS[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = keras.Sequential(
            [
                keras.layers.Input((x.shape[1],)),
                keras.layers.Dense(7, "relu"),
                keras.layers.Dense(3),
            ]
        )
        k_opt = getattr(keras.optimizers, spec["class_name"])(**spec["config"])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        k.compile(optimizer=k_opt, loss=loss)
        k.fit(x, y, batch_size=16, shuffle=False, verbose=0)
        k.save(path)
        theirs = [keras.ops.convert_to_numpy(v) for v in k.optimizer.variables]
        weights = k.get_weights()
    ours = models.load_model(path)
    assert ours.compiled and type(ours.optimizer).__name__ == spec["class_name"]
    config = ours.optimizer.get_config()
    for key, value in spec["config"].items():
        assert config[key] == pytest.approx(value), key
    state = ours._optimizer_variables()
    assert len(state) == len(theirs) and int(state[0]) == int(theirs[0]) > 0
    for a, b in zip(state[2:], theirs[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for a, b in zip(ours.get_weights(), weights):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("warmup", [0, 3, 10.0, 2.5, np.float32(4.5), np.int64(2)])
def test_warmup_steps_keeps_its_type_in_the_config_as_keras_does(warmup, keras):
    ours = optimizers.ScheduleFreeAdamW(warmup_steps=warmup).get_config()["warmup_steps"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = keras.optimizers.ScheduleFreeAdamW(warmup_steps=warmup).get_config()
    assert ours == theirs["warmup_steps"] and type(ours) is type(
        warmup.item() if isinstance(warmup, np.generic) else warmup
    )
    assert optimizers.ScheduleFreeAdamW.from_config(theirs).get_config()["warmup_steps"] == ours


def test_schedule_free_build_copies_the_weights_into_z_as_keras_does(keras):
    w = np.array([[1.0, -2.0], [3.0, 0.5]], np.float32)
    b = np.array([0.25, -0.75], np.float32)
    opt = optimizers.ScheduleFreeAdamW()
    opt.build([w, b])
    ours = [np.asarray(v) for v in opt.variables[2:]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k_opt = keras.optimizers.ScheduleFreeAdamW()
        k_opt.build([keras.Variable(w), keras.Variable(b)])
        theirs = [keras.ops.convert_to_numpy(v) for v in k_opt.variables[2:]]
    assert len(ours) == len(theirs) == 4
    for a, e in zip(ours, theirs):
        np.testing.assert_array_equal(a, e)
    np.testing.assert_array_equal(ours[0], w)  # momentum (z) of w, then velocity of w
    np.testing.assert_array_equal(ours[2], b)


def schedule_free_reference_step(w, z, g, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """One step of keras/src/optimizers/schedule_free_adamw.py in float64 from a
    zero velocity, x from the z before the step (fastnn's, the paper's)."""
    w, z, g = (np.asarray(a, np.float64) for a in (w, z, g))
    v = g * g * (1 - beta_2)
    z_new = z - lr * g / (np.sqrt(v / (1 - beta_2**t)) + epsilon)
    x = (1 - 1 / t) * (w - (1 - beta_1) * z) / beta_1 + (1 / t) * z_new
    return (1 - beta_1) * z_new + beta_1 * x


def test_schedule_free_first_step_at_a_later_iteration_still_starts_z_from_the_weights():
    """Keras copies z at build, whatever `iterations` is; fastnn's first step
    does the same when iterations was set before it (t = 6 here)."""
    w = np.array([1.0, -2.0, 3.0], np.float32)
    g = np.array([0.5, -1.0, 2.0], np.float32)
    expected = schedule_free_reference_step(w, w, g, t=6, lr=0.01)
    opt = optimizers.ScheduleFreeAdamW(learning_rate=0.01)
    opt.iterations = 5
    opt.apply_gradients([(g, w)])
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    x, y = make_data()
    model = make_model(optimizers.ScheduleFreeAdamW(learning_rate=0.01))
    model.optimizer.iterations = 5
    before = model.get_weights()
    model.train_on_batch(x[:16], y[:16])
    z = [np.asarray(v) for v in model.optimizer.variables[2::2]]
    moved = [not np.array_equal(a, b) for a, b in zip(model.get_weights(), before)]
    assert any(moved)
    for zk, wk, m in zip(z, before, moved):
        # z' = z - lr g / denom: within a few lr of the weights it was copied from
        assert np.max(np.abs(zk - wk)) < 0.05 or not m


def test_schedule_free_z_copied_at_build_survives_an_option_changed_before_the_first_step():
    """A new option rebuilds the C++ optimizer (keeping its slots): z stays the
    copy `build` made, as in Keras, and is not copied again at the step."""
    w = np.array([1.0, -2.0, 3.0], np.float32)
    g = np.array([0.5, -1.0, 2.0], np.float32)
    opt = optimizers.ScheduleFreeAdamW(learning_rate=0.01)
    opt.build([w])
    z_at_build = w.astype(np.float64)
    w[:] = [2.0, -1.0, 0.5]  # the weights change after build
    opt.epsilon = 1e-6  # a new kernel config
    expected = schedule_free_reference_step(w, z_at_build, g, t=1, lr=0.01, epsilon=1e-6)
    opt.apply_gradients([(g, w)])
    np.testing.assert_allclose(w, expected, rtol=1e-6)


def test_copy_z_pending_flag_of_the_kernel():
    from fastnn import _core

    sf = _core.optim.Optimizer(optimizers.ScheduleFreeAdamW()._kernel_config(), [0, 3])
    adam = _core.optim.Optimizer(optimizers.Adam()._kernel_config(), [0, 3])
    assert sf.copy_z_pending and not adam.copy_z_pending
    adam.copy_z_pending = True  # means nothing for other kinds
    assert not adam.copy_z_pending
    p = np.array([1.0, 2.0, 3.0], np.float32)
    sf.step(p, np.ones(3, np.float32), 0.01)
    assert not sf.copy_z_pending
    sf.reset()
    assert sf.copy_z_pending and sf.iterations == 0


def test_lamb_norms_are_exact_where_float32_squares_underflow():
    """fastnn sums the squares for the trust ratio in double (optimizer.h):
    a gradient of 1e-30, whose update direction's float32 squares underflow
    to 0 (Keras then takes ratio 1 and barely moves), still gets its
    ratio: the step is lr * ||w|| in the direction of u, as LAMB defines."""
    w = np.ones(4, np.float32)
    g = np.full(4, 1e-30, np.float32)
    optimizers.Lamb(learning_rate=0.001).apply_gradients([(g, w)])
    np.testing.assert_allclose(w, 1.0 - 0.001, rtol=1e-6)
