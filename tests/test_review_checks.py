"""Defects an adversarial review of the public API found (session 21), each
checked against Keras 3 where Keras is installed:

- a built layer (weights made for one width) put in a model, or called on a
  symbolic input, of another width: Keras's InputSpec ValueError, the layer's
  weights kept (was a silent rebuild with new random weights);
- ``optimizer.variables``' ``iteration`` and ``learning_rate`` entries:
  `assign` sets the optimizer's step count and rate, as Keras's (was a
  detached copy, the assignment lost);
- a data frame column of complex numbers: TypeError, as a complex array's
  (was read with its imaginary part dropped);
- `fastnn.ops` parameters of the wrong type or value (``elu(alpha="x")``,
  ``celu(alpha=0)``, ``arange(step=0)``) and softmax over an empty axis;
- an archive whose ``compile_config`` is not a dict: the loader's "cannot
  rebuild" ValueError naming the file (was a bare AttributeError);
- binary cross-entropy called on labels outside [0, 1] (after smoothing),
  refused where Keras's torch backend refuses them (probabilities; focal
  also from logits);
- `CosineDecayRestarts` at the start of a period whose step rounds the
  logarithms' ratio down (t_mul 3 or 10): the period's first rate, as
  Keras (was the previous period's last, 0);
- `Normalization.adapt` on a torch DataLoader whose batches are lists
  (``[x]``, ``[x, y]``: the default collate's), read as the tuples were;
- an integer division by zero in `fastnn.ops`: a ZeroDivisionError that is
  also the RuntimeError Keras's torch backend raises.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import layers, losses, metrics, models, ops, optimizers


def _keras():
    keras = keras_or_skip()
    if keras.backend.backend() != "torch":
        pytest.skip("the Keras comparisons use its torch backend")
    return keras


def _built_layer(kind: str, width: int):
    make = {
        "dense": lambda: layers.Dense(3),
        "batch_norm": layers.BatchNormalization,
        "layer_norm": layers.LayerNormalization,
        "prelu": layers.PReLU,
    }[kind]
    layer = make()
    layer.build((None, width))
    return layer


@pytest.mark.parametrize("kind", ["dense", "batch_norm", "layer_norm", "prelu"])
@pytest.mark.parametrize("width,other", [(4, 5), (7, 1), (13, 12)])
def test_built_layer_in_a_sequential_of_another_width_is_refused_keeping_its_weights(
    kind, width, other
):
    layer = _built_layer(kind, width)
    rng = np.random.default_rng(width)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.weights])
    before = [w.copy() for w in layer.get_weights()]
    message = (
        f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected axis -1 of "
        f"input shape to have value {width}, but received input with shape \\(None, {other}\\)"
    )
    with pytest.raises(ValueError, match=message):
        models.Sequential([layers.Input((other,)), layer])
    with pytest.raises(ValueError, match=message):
        layer(fastnn.Input((other,)))
    assert all(np.array_equal(a, b) for a, b in zip(before, layer.get_weights()))
    # at its own width it joins a model with those weights
    model = models.Sequential([layers.Input((width,)), layer])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_built_layer_after_a_flatten_of_another_size_is_refused():
    dense = layers.Dense(2)
    dense.build((None, 12))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 12"):
        models.Sequential([layers.Input((3, 5)), layers.Flatten(), dense])
    model = models.Sequential([layers.Input((3, 4)), layers.Flatten(), dense])
    assert model.output_shape == (None, 2)


def test_built_layer_added_to_a_model_of_another_width_leaves_the_model_unchanged():
    model = models.Sequential([layers.Input((6,)), layers.Dense(4)])
    model.compile("adam", "mse")
    before = [w.copy() for w in model.get_weights()]
    stranger = layers.Dense(2)
    stranger.build((None, 5))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 5"):
        model.add(stranger)
    assert len(model.layers) == 1
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.fit(np.ones((8, 6), np.float32), np.ones((8, 4), np.float32), verbose=0)


def test_built_layer_width_error_is_keras_s():
    keras = _keras()
    for lib in (fastnn, keras):
        dense = lib.layers.Dense(2, name="dd")
        dense.build((None, 4))
        with pytest.raises(ValueError) as raised:
            lib.Sequential([lib.Input((5,)), dense])
        assert "expected axis -1 of input shape to have value 4, but received input with " in (
            str(raised.value)
        )
        assert "shape (None, 5)" in str(raised.value)


def _trained(optimizer):
    rng = np.random.default_rng(3)
    x = rng.random((17, 4)).astype(np.float32)
    y = rng.integers(0, 3, 17)
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer, "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=5, verbose=0)
    return model, x, y


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(0.01), lambda: optimizers.SGD(0.05)])
def test_optimizer_iteration_and_learning_rate_variables_assign_the_optimizer(make):
    model, x, y = _trained(make())
    opt = model.optimizer
    iteration, rate = opt.variables[0], opt.variables[1]
    assert (iteration.path, rate.path) == (f"{opt.name}/iteration", f"{opt.name}/learning_rate")
    iteration.assign(100)
    rate.assign(0.25)
    assert int(opt.iterations) == 100 and float(opt.learning_rate) == np.float32(0.25)
    assert int(iteration) == 100 and float(rate) == np.float32(0.25)
    iteration.assign_add(7)
    rate.assign_sub(0.125)
    assert int(opt.iterations) == 107 and float(opt.learning_rate) == 0.125
    # the next step uses them
    model.fit(x, y, batch_size=17, verbose=0)
    assert int(opt.iterations) == 108


@pytest.mark.parametrize(
    "which,value,match",
    [
        (0, -1, "iterations"),
        (0, 2.5, "iterations"),
        (0, np.nan, "iterations"),
        (0, "3", "numeric"),
        (0, [1, 2], "shape"),
        (1, -0.5, "learning_rate"),
        (1, np.inf, "learning_rate"),
    ],
)
def test_bad_value_for_an_optimizer_scalar_variable_changes_nothing(which, value, match):
    model, _, _ = _trained(optimizers.Adam(0.01))
    opt = model.optimizer
    before = (int(opt.iterations), float(opt.learning_rate))
    with pytest.raises((ValueError, TypeError), match=match):
        opt.variables[which].assign(value)
    assert (int(opt.iterations), float(opt.learning_rate)) == before


def _scalars_after_assigning(lib) -> tuple:
    """(iterations, learning rate) of a trained model's Adam after assigning
    41 and 0.5 to its first two `variables`."""
    opt = lib.optimizers.Adam(0.01)
    rng = np.random.default_rng(0)
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="softmax")])
    model.compile(opt, "sparse_categorical_crossentropy")
    model.fit(rng.random((9, 4)).astype("float32"), rng.integers(0, 3, 9), verbose=0)
    opt.variables[0].assign(41)
    opt.variables[1].assign(0.5)
    return int(opt.iterations.numpy()), float(opt.learning_rate.numpy())


def test_optimizer_scalar_variables_assign_as_keras_s():
    keras = _keras()
    with keras_quiet():
        expected = _scalars_after_assigning(keras)
    assert _scalars_after_assigning(fastnn) == expected == (41, 0.5)


def test_complex_data_frame_column_is_refused_as_a_complex_array():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    x = rng.random((11, 3)).astype(np.float32)
    y = rng.integers(0, 2, 11)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["b"] = frame["b"] + 2j
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    for call in (
        lambda: model.fit(frame, y, verbose=0),
        lambda: model.predict(frame, verbose=0),
        lambda: model.evaluate(frame, y, verbose=0),
        lambda: model.fit(x, pd.DataFrame({"label": y + 0j}), verbose=0),
    ):
        with pytest.raises(TypeError, match="must hold real numbers: column '(b|label)'"):
            call()
    with pytest.raises(TypeError, match="must hold real numbers"):
        model.fit(frame.to_numpy(), y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: ops.elu(np.ones(3), alpha="x"), TypeError, "elu\\(\\): argument 'alpha'"),
        (lambda: ops.celu(np.ones(3), alpha=None), TypeError, "celu\\(\\): argument 'alpha'"),
        (lambda: ops.celu(np.ones(3), alpha=0.0), ValueError, "alpha cannot be 0"),
        (lambda: ops.leaky_relu(np.ones(3), negative_slope=[0.1]), TypeError, "negative_slope"),
        (lambda: ops.soft_shrink(np.ones(3), threshold="0.5"), TypeError, "threshold"),
        (lambda: ops.hard_shrink(np.ones(3), threshold=True), TypeError, "threshold"),
        (lambda: ops.squareplus(np.ones(3), b="4"), TypeError, "'b'"),
        (lambda: ops.arange(0, 5, 0), ValueError, "step must be nonzero"),
        (lambda: ops.arange(3, step=0.0), ValueError, "step must be nonzero"),
    ],
)
def test_ops_parameters_of_a_wrong_type_or_value_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_ops_parameters_still_take_numpy_scalars():
    x = np.array([-1.0, 0.5, 2.0])
    assert np.allclose(ops.elu(x, alpha=np.float32(2.0)), ops.elu(x, alpha=2.0))
    assert np.allclose(ops.celu(x, alpha=np.int64(3)), ops.celu(x, alpha=3.0))
    assert np.array_equal(ops.arange(0, 7, np.int32(3)), [0, 3, 6])


@pytest.mark.parametrize(
    "shape,dtype,axis",
    [
        ((3, 0), np.float64, -1),
        ((0, 3), np.float32, 0),
        ((0, 3), np.float64, -1),
        ((2, 0, 5), np.float32, 1),
    ],
)
def test_softmax_over_an_empty_array_is_empty(shape, dtype, axis):
    out = ops.softmax(np.zeros(shape, dtype), axis=axis)
    assert out.shape == shape and out.dtype == dtype
    assert ops.log_softmax(np.zeros(shape, dtype), axis=axis).shape == shape


@pytest.mark.parametrize("bad", [5, [1, 2], "adam", None, 0.5])
def test_archive_with_a_compile_config_that_is_not_a_dict_names_the_file(tmp_path, bad):
    model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile("adam", "mse")
    good = tmp_path / "good.keras"
    model.save(good)
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "config.json":
                config = json.loads(data)
                config["compile_config"] = bad
                data = json.dumps(config).encode()
            out.writestr(name, data)
    if not bad:  # falsy: Keras's loaders treat it as uncompiled, as fastnn does
        assert not models.load_model(broken).compiled
        return
    with pytest.raises(ValueError, match="broken.keras.* cannot rebuild: its compile_config"):
        models.load_model(broken)
    assert not models.load_model(broken, compile=False).compiled


_OUTSIDE = [np.array([2.0]), np.array([[0.0, 1.0], [1.0, -0.25]]), np.array([np.nan, 0.0])]


@pytest.mark.parametrize("labels", _OUTSIDE, ids=["2", "negative", "nan"])
@pytest.mark.parametrize(
    "call",
    [
        lambda t, p: losses.BinaryCrossentropy()(t, p),
        lambda t, p: losses.BinaryCrossentropy(reduction=None)(t, p),
        lambda t, p: losses.binary_crossentropy(t, p),
        lambda t, p: metrics.binary_crossentropy(t, p),
        lambda t, p: losses.BinaryFocalCrossentropy()(t, p),
        lambda t, p: losses.BinaryFocalCrossentropy(from_logits=True)(t, p),
        lambda t, p: losses.binary_focal_crossentropy(t, p, from_logits=True),
    ],
)
def test_binary_crossentropy_refuses_labels_outside_0_1(call, labels):
    with pytest.raises(ValueError, match="takes labels in \\[0, 1\\]"):
        call(labels, np.full(labels.shape, 0.5))


def test_binary_crossentropy_from_logits_and_smoothed_labels_are_kept_as_keras():
    # Keras's torch backend checks only the probability form, after smoothing
    assert np.isfinite(losses.BinaryCrossentropy(from_logits=True)([2.0], [0.5]))
    assert np.isfinite(losses.binary_crossentropy([-1.0], [0.5], from_logits=True))
    smoothed = losses.BinaryCrossentropy(label_smoothing=0.2)
    assert np.isfinite(smoothed([-0.05], [0.5]))  # -0.05 * 0.8 + 0.1 = 0.06
    with pytest.raises(ValueError, match="after label smoothing"):
        smoothed([-0.2], [0.5])  # -0.06


def test_binary_crossentropy_label_checks_match_keras():
    keras = _keras()
    cases = [
        ([2.0], [0.5], {}),
        ([-1.0], [0.5], {}),
        ([1.0, 0.0], [0.3, 0.6], {}),
        ([2.0], [0.5], {"from_logits": True}),
        ([-0.05], [0.5], {"label_smoothing": 0.2}),
        ([-0.2], [0.5], {"label_smoothing": 0.2}),
    ]
    for labels, predictions, kwargs in cases:
        outcomes = []
        for lib in (fastnn, keras):
            try:
                with keras_quiet():
                    value = lib.losses.BinaryCrossentropy(**kwargs)(
                        np.array(labels), np.array(predictions)
                    )
                    outcomes.append(float(np.asarray(value)))
            except (ValueError, RuntimeError):
                outcomes.append(None)
        if outcomes[1] is None:
            assert outcomes[0] is None, (labels, kwargs)
        else:
            assert outcomes[0] == pytest.approx(outcomes[1], rel=1e-5), (labels, kwargs)


def _restart_boundaries(first_decay_steps: int, t_mul: float, periods: int = 7) -> list:
    """The whole steps where a period of CosineDecayRestarts begins."""
    starts, start, length = [], 0.0, float(first_decay_steps)
    for _ in range(periods):
        starts.append(start)
        start += length
        length *= t_mul
    return [int(round(b)) for b in starts if abs(b - round(b)) < 1e-9]


@pytest.mark.parametrize("t_mul", [3.0, 10.0, 2.0, 4.0, 0.5])
@pytest.mark.parametrize("first_decay_steps", [1, 10, 7])
def test_cosine_decay_restarts_starts_each_period_at_its_boundary(t_mul, first_decay_steps):
    # log(243) / log(3) is 4.999... in double: the period starting at step
    # 10 * (1 + 3 + ... + 81) = 1210 was computed as the previous one's end (0)
    schedule = optimizers.schedules.CosineDecayRestarts(1.0, first_decay_steps, t_mul=t_mul)
    boundaries = _restart_boundaries(first_decay_steps, t_mul)
    for step in boundaries:
        assert schedule(step) == pytest.approx(1.0), step
        if step > 0 and step - 1 not in boundaries:
            assert schedule(step - 1) < 0.99, step  # within the previous period


def test_cosine_decay_restarts_boundaries_match_keras():
    keras = _keras()
    for t_mul, steps in [(3.0, 10), (10.0, 10), (3.0, 1), (4.0, 3)]:
        mine = optimizers.schedules.CosineDecayRestarts(0.5, steps, t_mul=t_mul, m_mul=0.9)
        with keras_quiet():
            theirs = keras.optimizers.schedules.CosineDecayRestarts(
                0.5, steps, t_mul=t_mul, m_mul=0.9
            )
            for boundary in _restart_boundaries(steps, t_mul):
                for step in (boundary - 1, boundary, boundary + 1):
                    if step >= 0:
                        want = float(keras.ops.convert_to_numpy(theirs(step)))
                        assert mine(step) == pytest.approx(want, rel=1e-5, abs=1e-7), step


@pytest.mark.parametrize("with_labels", [False, True])
@pytest.mark.parametrize("batch_size", [5, 6, 20, 1])
def test_normalization_adapts_on_a_dataloader_of_list_batches(with_labels, batch_size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(batch_size).normal(size=(20, 4)).astype(np.float32)
    tensors = [torch.from_numpy(x)] + ([torch.zeros(20)] if with_labels else [])
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*tensors), batch_size=batch_size
    )
    assert isinstance(next(iter(loader)), list)  # the default collate's batches
    layer = layers.Normalization()
    layer.adapt(loader)
    assert np.asarray(layer.mean).shape == (1, 4)
    np.testing.assert_allclose(np.asarray(layer.mean).ravel(), x.mean(0), atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer.variance).ravel(), x.var(0), rtol=1e-5)


@pytest.mark.parametrize("name", ["floor_divide", "mod", "fmod"])
def test_integer_division_by_zero_is_a_zero_division_and_keras_s_runtime_error(name):
    call = getattr(ops, name)
    for caught in (ZeroDivisionError, RuntimeError):
        with pytest.raises(caught, match="integer division by zero"):
            call(np.array([3, 1], np.int32), np.array([1, 0], np.int32))
    assert np.array_equal(
        call(np.array([7], np.int32), np.array([2], np.int32)),
        [{"floor_divide": 3, "mod": 1, "fmod": 1}[name]],
    )


def test_normalization_statistics_are_non_trainable_variables():
    layer = layers.Normalization()
    layer.adapt(np.random.default_rng(0).random((20, 6)).astype(np.float32))
    model = models.Sequential([layers.Input((6,)), layer, layers.Dense(1)])
    assert [(w.name, w.trainable) for w in layer.weights] == [
        ("mean", False),
        ("variance", False),
        ("count", False),
    ]
    assert [w.trainable for w in model.weights] == [False, False, False, True, True]


def _summary(model, **kwargs) -> str:
    lines = []
    model.summary(print_fn=lambda text, **_: lines.append(text), **kwargs)
    return "\n".join(lines)


_SUMMARY_OPTIONS = [
    {"positions": [0.3, 0.6, 0.8, 1.0]},
    {"positions": [0.3, 0.6, 0.8, 1.0], "show_trainable": True},
    {"line_length": 0},
    {"positions": [0.4, 0.7, 1.0], "line_length": 70},
]


@pytest.mark.parametrize("options", _SUMMARY_OPTIONS, ids=range(len(_SUMMARY_OPTIONS)))
def test_summary_takes_keras_s_extra_positions_and_line_length_0(options):
    keras = _keras()
    texts = []
    for lib in (fastnn, keras):
        model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(2, name="d")], name="q")
        with keras_quiet():
            texts.append(_summary(model, **options))
    assert texts[0] == texts[1]


def test_summary_with_too_few_positions_names_what_was_given():
    model = models.Sequential([layers.Input((6,)), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"at least 3 values .* got 2: \[0.5, 1.0\]"):
        model.summary(positions=[0.5, 1.0], print_fn=lambda *a, **k: None)
    with pytest.raises(ValueError, match=r"at least 3 values .* got 2: \[0.5, 1.0\]"):
        model.summary(positions=[0.5, 1.0], show_trainable=True, print_fn=lambda *a, **k: None)


def test_unbuilt_summary_counts_weightless_layers_as_keras_does():
    keras = _keras()
    texts = []
    for lib in (fastnn, keras):
        L = lib.layers
        made = [
            L.Dense(2),
            L.Activation("relu"),
            L.Dropout(0.1),
            L.Flatten(),
            L.BatchNormalization(),
            L.UnitNormalization(),
            L.Identity(),
            L.Reshape((2,)),
            L.ReLU(),
            L.LeakyReLU(),
            L.ELU(),
            L.PReLU(),
            L.ActivityRegularization(),
            L.GaussianNoise(0.1),
            L.GaussianDropout(0.1),
            L.AlphaDropout(0.1),
            L.Softmax(),
        ]
        for i, layer in enumerate(made):  # the same names (not the processes' counters)
            layer.name = f"layer_{i}"
        model = lib.Sequential(made, name="u")
        with keras_quiet():
            texts.append(_summary(model))
    assert texts[0] == texts[1]
    assert "0 (unbuilt)" in texts[0]  # Dense, Flatten, BatchNormalization, PReLU


def test_duplicate_names_in_a_functional_model_get_keras_s_message():
    inputs = fastnn.Input((4,))
    outputs = layers.Dense(2, name="a")(layers.Dense(3, name="a")(inputs))
    with pytest.raises(ValueError) as raised:
        models.Model(inputs, outputs)
    assert str(raised.value) == (
        'The name "a" is used 2 times in the model. All operation names should be unique.'
    )
