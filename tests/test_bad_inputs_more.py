"""Bad inputs that reached the bindings without a clear error (an adversarial
hunt over every public entry point): each raises a Python exception that names
the argument and the bad value, and leaves the model or arrays unchanged.

- A model or a batch too large for the memory: MemoryError naming the
  parameter count or the batch (was a bare "std::bad_alloc").
- Scalar arguments of fastnn.ops of the wrong type or range (``step=1.5``,
  ``step=2**70``, ``beta_1="x"``, ``name=None``): TypeError/ValueError naming
  the argument (was pybind11's "incompatible function arguments", which names
  none).
"""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import _core, layers, models, ops, optimizers


def _overcommits_everything() -> bool:
    """vm.overcommit_memory=1 grants any allocation (and the OOM killer ends the
    process when it is touched): a too-large batch cannot be refused there."""
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def _state(model):
    return [w.copy() for w in model.get_weights()], model.optimizer.iterations


def _same(a, b):
    (wa, ia), (wb, ib) = a, b
    return ia == ib and len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def _small_model():
    model = models.Sequential([layers.Input((5,)), layers.Dense(4), layers.Dense(3)])
    model.compile("adam", "mse")
    x = np.ones((8, 5), np.float32)
    model.fit(x, np.ones((8, 3), np.float32), verbose=0)
    return model


# -- memory ------------------------------------------------------------------
# 4 x 2**53 weights and 2**53 biases: 5 x 2**53 floats (fastnn addresses up to
# 2**56), 160 PiB: beyond any address space (57-bit at most), so the
# allocation fails on every machine.
_HUGE_UNITS = 2**53


def test_model_too_large_for_memory_names_its_size_and_largest_layer():
    with pytest.raises(MemoryError) as info:
        models.Sequential([layers.Input((4,)), layers.Dense(_HUGE_UNITS, name="huge")])
    message = str(info.value)
    assert "std::bad_alloc" not in message
    assert f"{4 * _HUGE_UNITS + _HUGE_UNITS} parameters" in message
    assert f"'huge', holds 4 x {_HUGE_UNITS} weights" in message


def test_adding_a_layer_too_large_for_memory_leaves_the_model_unchanged():
    model = _small_model()
    before = _state(model)
    with pytest.raises(MemoryError, match="is too large for this machine's memory"):
        model.add(layers.Dense(_HUGE_UNITS))  # 3 x 2**53 weights after Dense(3): 128 PiB
    assert len(model.layers) == 2 and _same(before, _state(model))
    assert model.predict(np.ones((2, 5), np.float32), verbose=0).shape == (2, 3)


def test_memory_limit_is_the_machines_memory_and_swap_or_less():
    limit = models._memory_limit()
    with open("/proc/meminfo") as f:
        fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
    assert 0 < limit <= fields["MemTotal"] + fields.get("SwapTotal", 0)


@pytest.mark.parametrize("bias", [True, False])
def test_a_network_beyond_memory_and_swap_is_refused_before_allocating(monkeypatch, bias):
    """Each buffer alone may be granted (Linux overcommits) and touching them
    all gets the process killed: a network whose weights, gradients and the
    largest initial kernel exceed memory and swap is a MemoryError first.
    The machine's limit is replaced by 1 MiB here, so nothing large is made."""
    units = 1000  # 7 x 1000 (+ 1000) parameters: 8 bytes each, + 4 bytes a kernel weight
    need = 8 * (7 * units + bias * units) + 4 * 7 * units
    monkeypatch.setattr(models, "_memory_limit", lambda: need)
    model = models.Sequential([layers.Input((7,)), layers.Dense(units, use_bias=bias)])
    assert model.count_params() == 7 * units + bias * units
    monkeypatch.setattr(models, "_memory_limit", lambda: need - 1)
    with pytest.raises(MemoryError) as info:
        models.Sequential([layers.Input((7,)), layers.Dense(units, use_bias=bias, name="wide")])
    message = str(info.value)
    assert "is too large for this machine's memory" in message
    assert f"{7 * units + bias * units} parameters" in message
    assert "'wide', holds 7 x 1000 weights" in message


def test_adding_a_layer_beyond_memory_and_swap_leaves_the_model_unchanged(monkeypatch):
    model = _small_model()
    before = _state(model)
    monkeypatch.setattr(models, "_memory_limit", lambda: 100_000)
    with pytest.raises(MemoryError, match="is too large for this machine's memory"):
        model.add(layers.Dense(5_000))  # 3 x 5000 weights after Dense(3): 120 kB and more
    assert len(model.layers) == 2 and _same(before, _state(model))
    assert model.predict(np.ones((2, 5), np.float32), verbose=0).shape == (2, 3)


def test_engine_network_too_large_for_memory():
    with pytest.raises(MemoryError, match=r"network's \d+ parameters: .* PiB for the weights"):
        _core.nn.Network(4, [{"type": "dense", "units": _HUGE_UNITS}])


@pytest.mark.skipif(_overcommits_everything(), reason="vm.overcommit_memory=1 grants any size")
def test_batch_too_large_for_memory_names_the_batch_and_changes_nothing():
    # 2**24 samples through 2**22 units: 256 TiB of layer outputs (x is 64 MiB).
    model = models.Sequential([layers.Input((1,)), layers.Dense(2**22), layers.Dense(1)])
    model.compile("sgd", "mse")
    rows = 2**24
    x = np.ones((rows, 1), np.float32)
    y = np.ones((rows, 1), np.float32)
    before = _state(model)
    calls = {
        "fit": lambda: model.fit(x, y, batch_size=rows, verbose=0),
        "train_on_batch": lambda: model.train_on_batch(x, y),
        "test_on_batch": lambda: model.test_on_batch(x, y),
        "evaluate": lambda: model.evaluate(x, y, batch_size=rows, verbose=0),
    }
    for name, call in calls.items():
        with pytest.raises(MemoryError) as info:
            call()
        message = str(info.value)
        assert f"a batch of {rows} samples" in message and "batch_size" in message, name
        assert "PiB" in message, name
        assert _same(before, _state(model)), name
    # a batch that fits still runs
    model.fit(x[:64], y[:64], batch_size=64, verbose=0)
    assert model.optimizer.iterations == 1


# -- fastnn.ops scalar arguments --------------------------------------------


def _slots(fn):
    n = {"sgd_update": 1, "rmsprop_update": 1, "adagrad_update": 1, "lion_update": 1}.get(fn, 2)
    return [np.zeros(6, np.float32) for _ in range(n)]


_STEP_FNS = ["adam_update", "adamw_update", "nadam_update", "adamax_update"]


@pytest.mark.parametrize("fn", _STEP_FNS)
@pytest.mark.parametrize(
    "step,error,match",
    [
        (
            2**63,
            ValueError,
            "step must be an integer that fits in 64 bits, got 9223372036854775808",
        ),
        (2**70, ValueError, "step must be an integer that fits in 64 bits"),
        (1.5, TypeError, "step must be an integer, got float"),
        ("1", TypeError, "step must be an integer, got str"),
        (None, TypeError, "step must be an integer, got NoneType"),
    ],
)
def test_update_step_of_a_wrong_type_or_size_is_named(fn, step, error, match):
    param = np.ones(6, np.float32)
    slots = _slots(fn)
    with pytest.raises(error, match=f"^{fn}: {match}"):
        getattr(ops, fn)(param, np.ones(6), *slots, step)
    assert np.all(param == 1) and all(np.all(s == 0) for s in slots)


@pytest.mark.parametrize(
    "fn,argument",
    [
        ("sgd_update", "momentum"),
        ("sgd_update", "weight_decay"),
        ("adam_update", "beta_1"),
        ("adam_update", "beta_2"),
        ("adam_update", "epsilon"),
        ("adamw_update", "weight_decay"),
        ("rmsprop_update", "rho"),
        ("rmsprop_update", "momentum"),
        ("rmsprop_update", "epsilon"),
        ("adagrad_update", "epsilon"),
        ("nadam_update", "beta_2"),
        ("adamax_update", "epsilon"),
        ("lion_update", "beta_1"),
        ("lion_update", "weight_decay"),
    ],
)
@pytest.mark.parametrize(
    "value,error,match",
    [
        ("x", TypeError, "must be a number, got str"),
        (None, TypeError, "must be a number, got NoneType"),
        (2**1100, ValueError, "must be a finite number, got an integer too large for a float"),
    ],
)
def test_update_hyperparameter_of_a_wrong_type_is_named(fn, argument, value, error, match):
    param = np.ones(6, np.float32)
    slots = _slots(fn)
    step = (1,) if fn in _STEP_FNS else ()
    with pytest.raises(error, match=f"^{fn}: {argument} {match}"):
        getattr(ops, fn)(param, np.ones(6), *slots, *step, **{argument: value})
    assert np.all(param == 1) and all(np.all(s == 0) for s in slots)


def test_update_hyperparameters_still_take_numpy_scalars_and_ints():
    param = np.ones(6, np.float32)
    m, v = np.zeros(6, np.float32), np.zeros(6, np.float32)
    ops.adam_update(param, np.ones(6), m, v, np.int64(1), beta_1=np.float32(0.5), epsilon=0)
    expected = np.ones(6, np.float32)
    ops.adam_update(expected, np.ones(6), np.zeros(6, np.float32), np.zeros(6, np.float32), 1,
                    beta_1=0.5, epsilon=0.0)  # fmt: skip
    np.testing.assert_array_equal(param, expected)


@pytest.mark.parametrize("name", [None, 3, b"relu"])
def test_activation_name_of_a_wrong_type_is_named(name):
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="^activation: name must be a str, got "):
        ops.activation(x, name)
    with pytest.raises(TypeError, match="^activation_grad: name must be a str, got "):
        ops.activation_grad(x, x, name)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"name": None}, TypeError, "^loss: name must be a str, got NoneType"),
        ({"delta": "x"}, TypeError, "^loss: delta must be a number, got str"),
        ({"delta": 2**1100}, ValueError, "^loss: delta must be a finite number"),
        ({"label_smoothing": "x"}, TypeError, "^loss: label_smoothing must be a number, got str"),
    ],
)
def test_loss_scalar_of_a_wrong_type_is_named(kwargs, error, match):
    args = {"name": "huber", **kwargs}
    with pytest.raises(error, match=match):
        ops.loss(np.ones((2, 3)), np.ones((2, 3)), **args)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ops.matmul(np.ones((2, 2)), np.ones((2, 2)), "x"), "^matmul: transpose_a "),
        (lambda: ops.matmul(np.ones((2, 2)), np.ones((2, 2)), False, [1]), "^matmul: transpose_b "),
        (
            lambda: ops.dense(np.ones((2, 2)), np.ones((2, 2)), None, "relu", "x"),
            "^dense: return_pre_activation ",
        ),
        (
            lambda: ops.loss(np.ones((2, 2)), np.ones((2, 2)), "mse", from_logits="x"),
            "^loss: from_logits ",
        ),
        (
            lambda: ops.sgd_update(np.ones(2, np.float32), np.ones(2), nesterov="x"),
            "^sgd_update: nesterov ",
        ),
    ],
)
def test_flag_of_a_wrong_type_is_named(call, match):
    with pytest.raises(TypeError, match=match + "must be a bool, got "):
        call()


def test_flags_still_take_what_converts_to_a_bool():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    for flag in (True, np.bool_(True), 1):
        np.testing.assert_array_equal(ops.matmul(a, a, transpose_b=flag), a @ a.T)


# -- layer and initializer arguments ------------------------------------------


@pytest.mark.parametrize("shape", [(2.5, 2), ("3", 2), (True, 2), 5, None, "ab"])
def test_initializer_shape_that_is_not_ints_raises_instead_of_truncating(shape):
    from fastnn import initializers

    with pytest.raises(TypeError, match=r"^GlorotUniform: shape must be a tuple of ints, got "):
        initializers.GlorotUniform(seed=1)(shape)


def test_initializer_shape_takes_whole_numbers_and_refuses_negative_sizes():
    from fastnn import initializers

    init = initializers.HeNormal(seed=3)
    np.testing.assert_array_equal(init((2.0, np.int64(3))), init([2, 3]))
    with pytest.raises(
        ValueError, match=r"^HeNormal: shape must have dimensions >= 0, got \(-1, 2\)"
    ):
        init((-1, 2))


@pytest.mark.parametrize(
    "make,prefix",
    [
        (layers.Dropout, "Dropout rate="),
        (layers.GaussianDropout, "Invalid value received for argument `rate`: rate="),
        (layers.AlphaDropout, "Invalid value received for argument `rate`: rate="),
    ],
)
def test_dropout_rate_that_rounds_to_one_in_float32_is_named(make, prefix):
    # 0.99999999 < 1 passed the layer's check, then the engine (float32) saw
    # 1.0 and said "rate must be in [0, 1), got 1.000000" when the model was built
    with pytest.raises(ValueError, match=f"^{prefix}" + r"0\.99999999 rounds to 1\.0 in float32"):
        make(0.99999999)
    largest = float(np.nextafter(np.float32(1), np.float32(0)))
    model = models.Sequential([layers.Input((3,)), make(largest), layers.Dense(2)])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mean": 0.0, "variance": -1.0},
        {"mean": float("nan"), "variance": 1.0},
        {"mean": [0.0, 1.0], "variance": [1.0, float("inf")]},
        {"mean": 1e39, "variance": 1.0},  # Inf as float32
    ],
)
def test_normalization_statistics_that_make_every_input_nan_are_refused(kwargs):
    # were accepted; predict then said "x contains NaN at row 0, column 0" of finite data
    with pytest.raises(ValueError, match=r"^Normalization: `mean` and `variance` must be finite"):
        layers.Normalization(**kwargs)
    layers.Normalization(mean=0.0, variance=0.0)  # a constant feature: Keras's epsilon


@pytest.mark.parametrize(
    "args,name", [((float("inf"),), "scale"), ((1.0, float("nan")), "offset"), ((1e39,), "scale")]
)
def test_rescaling_factors_that_make_every_input_nan_or_inf_are_refused(args, name):
    with pytest.raises(ValueError, match=f"^Rescaling: `{name}` must be finite as float32"):
        layers.Rescaling(*args)


def test_batch_normalization_epsilon_that_is_zero_in_float32_is_refused():
    # 1e-46 > 0 passed, then the engine added 0 to a zero variance: NaN outputs
    with pytest.raises(ValueError, match=r"got 1e-46, which is 0 in float32"):
        layers.BatchNormalization(epsilon=1e-46)
    layers.BatchNormalization(epsilon=1e-45)  # the smallest float32 subnormal
    with pytest.raises(ValueError, match="inf in float32"):
        layers.BatchNormalization(epsilon=1e39)


# -- optimizers ---------------------------------------------------------------


def test_optimizer_built_on_views_sharing_memory_is_refused():
    from fastnn import optimizers

    buffer = np.zeros(8, np.float32)
    opt = optimizers.Adam()
    # were accepted: each step then updated the shared elements twice
    with pytest.raises(ValueError, match=r"^build: variables 0 and 2 share memory"):
        opt.build([buffer[:4], np.zeros(3, np.float32), buffer[2:6]])
    assert not opt.built
    opt.build([buffer[:4], buffer[4:], buffer[4:4]])  # disjoint views are separate variables
    opt.apply([np.ones(4), np.ones(4), np.ones(0)])
    assert np.all(buffer != 0)


def test_clip_option_set_to_a_non_number_after_construction_is_named():
    model = _small_model()
    model.optimizer.clipnorm = "x"  # was: "could not convert string to float: 'x'"
    before = _state(model)
    with pytest.raises(ValueError, match=r"clipnorm"):
        model.fit(np.ones((8, 5), np.float32), np.ones((8, 3), np.float32), verbose=0)
    assert _same(before, _state(model))


# -- the engine's private entry points -----------------------------------------


@pytest.mark.parametrize("batch_size,begin,end", [(3, 2**62, 2**62 + 1), (2**62, 3, 4)])
def test_train_epoch_steps_whose_offset_overflows_read_nothing(batch_size, begin, end):
    # step * batch_size wrapped to a negative offset: the order check read
    # order[-4611686018427387900], and (3, 2**62) trained a batch of 3 rows
    # gathered from outside the 2 samples
    net = _core.nn.Network(5, [{"type": "dense", "units": 3}])
    net.set_loss("mse")
    params = net.params
    params[:] = 0.5
    opt = _core.optim.Optimizer({"kind": "sgd"}, [0, net.buffer_size])
    data = net.prepare(np.ones((2, 5), np.float32), np.ones((2, 3), np.float32))
    result = net.train_epoch(data, np.array([0, 1]), batch_size, begin, end, opt, np.ones(1))
    assert result["steps"] == 0 and result["samples"] == 0
    assert np.all(params == 0.5) and net.iterations == 0


# -- fastnn.ops: a wrong argument list --------------------------------------------------

_OPS_BOUND = [
    "relu", "relu_grad", "activation", "activation_grad", "loss", "dense", "matmul",
    "adagrad_update", "adam_update", "adamax_update", "adamw_update", "lion_update",
    "nadam_update", "rmsprop_update", "sgd_update",
]  # fmt: skip


@pytest.mark.parametrize("name", _OPS_BOUND)
def test_ops_wrong_argument_lists_get_python_errors_not_pybind11_dumps(name):
    """An unknown keyword, one positional argument too many and a missing
    argument each raise Python's own TypeError naming the function, without
    pybind11's "incompatible function arguments" list that prints the arrays."""
    import inspect

    fn = getattr(ops, name)
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    arrays = [np.full(3, 0.5, np.float32) for _ in positional]
    cases = {
        "got an unexpected keyword argument 'no_such_argument'": (arrays, {"no_such_argument": 1}),
        f"takes {len(positional)} positional argument": (arrays + [np.zeros(3)], {}),
        f"missing a required argument: '{positional[0].name}'": ([], {}),
    }
    for message, (args, kwargs) in cases.items():
        with pytest.raises(TypeError) as raised:
            fn(*args, **kwargs)
        text = str(raised.value)
        assert text.startswith(f"{name}() ") and message in text, text
        assert "incompatible" not in text and "array(" not in text and "0.5" not in text


def test_ops_keep_their_value_errors_and_signatures():
    import inspect

    with pytest.raises(ValueError, match="inner dimensions|shape"):
        ops.matmul(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32))
    assert str(inspect.signature(ops.matmul)) == (
        "(a, b, transpose_a=False, transpose_b=False, out=None)"
    )
    assert "learning_rate=0.001" in str(inspect.signature(ops.adam_update))
    assert ops.matmul.__name__ == "matmul" and "matmul(a: object" in ops.matmul.__doc__


# -- small things a fuzz review found ---------------------------------------------------


def test_loss_weights_as_an_array_get_the_loss_weights_message():
    model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="this model has one, so one weight"):
        model.compile("adam", "mse", loss_weights=np.array([1.0, 1.0]))
    for accepted in (np.array(1.0), np.array([1.0]), np.float32(1.0)):
        model.compile("adam", "mse", loss_weights=accepted)


@pytest.mark.parametrize("delta", ["abc", None, [1.0]])
def test_huber_delta_that_is_no_number_is_named(delta):
    from fastnn import losses

    with pytest.raises(TypeError, match=r"delta must be a number > 0, got"):
        losses.Huber(delta=delta)


def test_sparse_label_hint_only_for_class_ids():
    """y of shape (n,) for a 3-output mse network: class ids get the hint to
    use sparse_categorical_crossentropy, a regression target does not."""
    model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile("adam", "mse")
    x = np.ones((6, 4), np.float32)
    with pytest.raises(ValueError, match=r"got \(6,\) \(integer labels: use sparse_"):
        model.fit(x, np.array([0, 2, 1, 1, 0, 2], np.float32), verbose=0)
    for target in ([0.5, 2, 1, 1, 0, 2], [0, 2, 1, 1, 0, 3], [0, -1, 1, 1, 0, 2]):
        with pytest.raises(ValueError, match=r"got \(6,\)$"):
            model.fit(x, np.array(target, np.float32), verbose=0)


def test_torch_tensors_that_require_grad_or_are_bfloat16_are_taken_as_keras_takes_them():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.random((29, 4), dtype=np.float32)
    x = torch.tensor(x).bfloat16().float().numpy()  # exactly representable in bfloat16
    y = rng.integers(0, 3, 29)

    def model():
        m = models.Sequential([layers.Input((4,)), layers.Dense(3, "softmax")])
        m.set_weights([np.full((4, 3), 0.1, np.float32), np.zeros(3, np.float32)])
        m.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        return m

    plain = model()
    plain.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    for tx in (torch.tensor(x, requires_grad=True), torch.tensor(x).bfloat16()):
        m = model()
        m.fit(tx, torch.tensor(y), sample_weight=torch.ones(29, requires_grad=True),
              batch_size=8, shuffle=False, verbose=0)  # fmt: skip
        for a, b in zip(plain.get_weights(), m.get_weights()):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(m.predict(tx, verbose=0), m.predict(x, verbose=0))
        assert m.evaluate(tx, torch.tensor(y), verbose=0) == m.evaluate(x, y, verbose=0)


@pytest.mark.parametrize(
    "units, labels", [(1, [0, 1, 2, 1]), (2, [[0, 1], [1, -0.5], [1, 0], [0, 0]])]
)
def test_binary_crossentropy_refuses_labels_outside_0_1(units, labels):
    """Keras's torch backend refuses them; the loss would be unbounded below."""
    model = fastnn.Sequential(
        [fastnn.Input((3,)), fastnn.layers.Dense(units, activation="sigmoid")]
    )
    model.compile("adam", "binary_crossentropy")
    weights = model.get_weights()
    x = np.ones((4, 3), np.float32)
    y = np.asarray(labels, np.float32)
    where = "row 2" if units == 1 else "row 1, column 1"
    for call in (
        lambda: model.fit(x, y, verbose=0),
        lambda: model.evaluate(x, y, verbose=0),
        lambda: model.train_on_batch(x, y),
    ):
        with pytest.raises(
            ValueError,
            match=f"binary_crossentropy takes labels in \\[0, 1\\], got label .* at {where}",
        ):
            call()
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    soft = np.clip(y, 0, 1) * 0.9  # soft labels in [0, 1] train
    assert np.isfinite(model.fit(x, soft, verbose=0).history["loss"][0])


def test_binary_crossentropy_label_check_follows_keras_torch():
    """From logits torch takes any target; with label smoothing the smoothed
    label is what must lie in [0, 1]."""
    x = np.ones((8, 2), np.float32)
    logits = fastnn.Sequential([fastnn.Input((2,)), fastnn.layers.Dense(1)])
    logits.compile("sgd", fastnn.losses.BinaryCrossentropy(from_logits=True))
    hinge_style = np.array([-1, 1] * 4, np.float32)[:, None]
    assert np.isfinite(logits.fit(x, hinge_style, verbose=0).history["loss"][0])
    smoothed = fastnn.Sequential([fastnn.Input((2,)), fastnn.layers.Dense(1, activation="sigmoid")])
    smoothed.compile("sgd", fastnn.losses.BinaryCrossentropy(label_smoothing=0.1))
    assert np.isfinite(
        smoothed.fit(x, np.full((8, 1), 1.05, np.float32), verbose=0).history["loss"][0]
    )
    with pytest.raises(ValueError, match=r"got label 1.2 at row 0 \(after label smoothing\)"):
        smoothed.fit(x, np.full((8, 1), 1.2, np.float32), verbose=0)
