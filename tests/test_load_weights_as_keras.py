"""`load_weights` as Keras 3's: the optimizer's saved state goes only into an
optimizer that is built (fit, train_on_batch, evaluate, optimizer.build),
else the compiled one stays, with Keras's warning (pretrained weights
fine-tuned at a low learning rate); and `skip_mismatch=True` loads the layers
that fit and skips the others with Keras's warnings (`.weights.h5`,
`.weights.npz`, `.keras`, legacy `.h5` by position and by name). Keras runs
in this process on the same files fastnn wrote, from the same weights."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import layers, models, optimizers

SKIPPING = "Skipping variable loading for optimizer"


def make_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 8)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


def arch(sizes=(16, 1), names=None, use_bias=True):
    """Input(8) -> Dense(s) for each of `sizes` (ReLU but the last)."""
    stack = [layers.Input((8,))]
    for i, size in enumerate(sizes):
        stack.append(
            layers.Dense(
                size,
                activation="relu" if i < len(sizes) - 1 else None,
                use_bias=use_bias or i < len(sizes) - 1,
                name=None if names is None else f"{names}{i}",
            )
        )
    return models.Sequential(stack)


def keras_arch(keras, sizes=(16, 1), names=None, use_bias=True):
    stack = [keras.Input((8,))]
    for i, size in enumerate(sizes):
        stack.append(
            keras.layers.Dense(
                size,
                activation="relu" if i < len(sizes) - 1 else None,
                use_bias=use_bias or i < len(sizes) - 1,
                name=None if names is None else f"{names}{i}",
            )
        )
    return keras.Sequential(stack)


def pretrained(tmp_path, sizes=(16, 1), epochs=5, names=None):
    """A model trained with Adam(0.01) (8 steps an epoch), saved as
    .weights.h5, .weights.npz, .keras and legacy .h5 in tmp_path."""
    fastnn.utils.set_random_seed(1)
    model = arch(sizes, names)
    model.compile(optimizers.Adam(0.01), "mse")
    x, y = make_data()
    model.fit(x, np.repeat(y, sizes[-1], axis=1), epochs=epochs, batch_size=32, verbose=0)
    model.save_weights(tmp_path / "a.weights.h5")
    model.save_weights(tmp_path / "a.weights.npz")
    model.save(tmp_path / "a.keras")
    with pytest.warns(UserWarning, match="HDF5 file"):
        model.save(tmp_path / "a.h5")
    return model


def recorded(load):
    """The UserWarnings `load()` gives (messages), and its error (or None)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            load()
            error = None
        except ValueError as e:
            error = str(e)
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)], error


def normalized(message: str) -> str:
    """A Keras or fastnn message without what differs between two models of
    one architecture: auto-numbered names, the target variable's values,
    torch's shapes, the optimizer's repr."""
    message = re.sub(r"Target variable: <Variable [^>]*>", "Target variable: <...>", message)
    message = re.sub(
        r"torch\.Size\(\[([^\]]*)\]\)",
        lambda m: f"({m.group(1)}{',' if ',' not in m.group(1) else ''})",
        message,
    )
    message = re.sub(r"<keras\.[\w.]*\.(\w+) object at 0x[0-9a-f]+>", r"<\1>", message)
    message = re.sub(r"<fastnn\.optimizers\.(\w+) name='\w+'>", r"<\1>", message)
    return re.sub(r"\b(dense|sequential|adam)_\d+\b", r"\1", message)


def optimizer_values(model) -> list:
    """`model.optimizer.variables` as arrays (Keras's or fastnn's)."""
    return [np.array(v) for v in model.optimizer.variables]


# -- the optimizer's state: only into a built optimizer ---------------------------------------


@pytest.mark.parametrize("name", ["a.weights.h5", "a.weights.npz", "a.keras"])
def test_a_compiled_untrained_model_keeps_its_optimizer_with_keras_s_warning(tmp_path, name):
    pytest.importorskip("h5py")
    trained = pretrained(tmp_path)
    assert int(trained.optimizer.iterations) == 40
    model = arch()
    model.compile(optimizers.Adam(1e-5), "mse")
    with pytest.warns(UserWarning) as caught:
        model.load_weights(tmp_path / name)
    assert [str(w.message) for w in caught] == [
        "Skipping variable loading for optimizer 'adam', because it has 2 variables whereas "
        "the saved optimizer has 10 variables. "
    ]
    assert int(model.optimizer.iterations) == 0
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-5)
    assert not model.optimizer.built
    for a, b in zip(model.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    # It fine-tunes as the same weights compiled with Adam(1e-5) do, bit for bit.
    reference = arch()
    reference.set_weights(trained.get_weights())
    reference.compile(optimizers.Adam(1e-5), "mse")
    x, y = make_data(seed=4)
    for each in (model, reference):
        each.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["a.weights.h5", "a.keras"])
def test_keras_keeps_its_optimizer_alike(tmp_path, name):
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    pretrained(tmp_path)
    ours = arch()
    ours.compile(optimizers.Adam(1e-5), "mse")
    theirs = keras_arch(keras)
    theirs.compile(keras.optimizers.Adam(1e-5), "mse")
    with keras_quiet():
        their_warnings, their_error = recorded(lambda: theirs.load_weights(tmp_path / name))
        their_state = (int(theirs.optimizer.iterations), float(theirs.optimizer.learning_rate))
    our_warnings, our_error = recorded(lambda: ours.load_weights(tmp_path / name))
    assert our_error is their_error is None
    assert [normalized(m) for m in our_warnings] == [normalized(m) for m in their_warnings]
    assert len(our_warnings) == 1 and SKIPPING in our_warnings[0]
    our_state = (int(ours.optimizer.iterations), float(ours.optimizer.learning_rate))
    assert our_state == pytest.approx(their_state) and our_state[0] == 0


def _fit_one_batch(model):
    x, y = make_data(n=32, seed=5)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)


def _train_on_batch(model):
    x, y = make_data(n=32, seed=5)
    model.train_on_batch(x, y)


def _evaluate(model):
    x, y = make_data(n=32, seed=5)
    model.evaluate(x, y, verbose=0)


def _test_on_batch(model):
    x, y = make_data(n=32, seed=5)
    model.test_on_batch(x, y)


def _build(model):
    model.optimizer.build(model.trainable_variables)


BUILDERS = [_fit_one_batch, _train_on_batch, _evaluate, _test_on_batch, _build]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("name", ["a.weights.h5", "a.weights.npz", "a.keras"])
def test_a_built_optimizer_takes_the_saved_state(tmp_path, build, name):
    pytest.importorskip("h5py")
    trained = pretrained(tmp_path)
    model = arch()
    model.compile(optimizers.Adam(1e-5), "mse")
    build(model)
    assert model.optimizer.built
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.load_weights(tmp_path / name)
    assert int(model.optimizer.iterations) == 40
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    saved, loaded = optimizer_values(trained), optimizer_values(model)
    assert len(loaded) == len(saved) == 10
    for a, b in zip(loaded, saved):
        np.testing.assert_array_equal(a, b)
    # and both train on alike (the restored rate is the file's float32 0.01)
    x, y = make_data(seed=6)
    for each in (model, trained):
        each.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), trained.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__.strip("_"))
def test_keras_builds_its_optimizer_alike(tmp_path, build):
    """The same steps build Keras's optimizer (predict does not), which then
    takes the file's state."""
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    trained = pretrained(tmp_path)
    theirs = keras_arch(keras)
    theirs.compile(keras.optimizers.Adam(1e-5), "mse")
    ours = arch()
    ours.compile(optimizers.Adam(1e-5), "mse")
    x, _ = make_data(n=8)
    with keras_quiet():
        theirs.predict(x, verbose=0)
        ours.predict(x, verbose=0)
        assert theirs.optimizer.built == ours.optimizer.built is False
        build(theirs)
        build(ours)
        assert theirs.optimizer.built and ours.optimizer.built
        theirs.load_weights(tmp_path / "a.weights.h5")
        ours.load_weights(tmp_path / "a.weights.h5")
        their_values = optimizer_values(theirs)
    saved = optimizer_values(trained)
    for a, b, c in zip(optimizer_values(ours), their_values, saved):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)


def test_a_state_saved_before_training_gives_its_learning_rate_as_keras(tmp_path):
    """An unbuilt optimizer saved (iterations, learning rate) loads into an
    unbuilt one: Keras assigns both, and the optimizer stays unbuilt."""
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    saved = arch()
    saved.compile(optimizers.Adam(0.02), "mse")
    saved.save_weights(tmp_path / "h.weights.h5")
    ours = arch()
    ours.compile(optimizers.Adam(1e-5), "mse")
    theirs = keras_arch(keras)
    theirs.compile(keras.optimizers.Adam(1e-5), "mse")
    with keras_quiet():
        their_warnings, _ = recorded(lambda: theirs.load_weights(tmp_path / "h.weights.h5"))
    our_warnings, _ = recorded(lambda: ours.load_weights(tmp_path / "h.weights.h5"))
    assert our_warnings == their_warnings == []
    assert float(ours.optimizer.learning_rate) == pytest.approx(0.02)
    assert float(theirs.optimizer.learning_rate) == pytest.approx(0.02)
    assert int(ours.optimizer.iterations) == int(theirs.optimizer.iterations) == 0
    assert not ours.optimizer.built and not theirs.optimizer.built


def test_plain_sgd_has_no_slots_so_an_unbuilt_one_takes_the_state_as_keras(tmp_path):
    """SGD without momentum has iterations and learning rate only, built or
    not: Keras assigns both and leaves it unbuilt."""
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    saved = arch()
    saved.compile(optimizers.SGD(0.05), "mse")
    saved.fit(*make_data(n=96), batch_size=32, epochs=1, verbose=0)
    saved.save_weights(tmp_path / "s.weights.h5")
    ours = arch()
    ours.compile(optimizers.SGD(0.01), "mse")
    theirs = keras_arch(keras)
    theirs.compile(keras.optimizers.SGD(0.01), "mse")
    with keras_quiet():
        their_warnings, _ = recorded(lambda: theirs.load_weights(tmp_path / "s.weights.h5"))
    our_warnings, _ = recorded(lambda: ours.load_weights(tmp_path / "s.weights.h5"))
    assert our_warnings == their_warnings == []
    assert int(ours.optimizer.iterations) == int(theirs.optimizer.iterations) == 3
    assert float(ours.optimizer.learning_rate) == pytest.approx(0.05)
    assert float(theirs.optimizer.learning_rate) == pytest.approx(0.05)
    assert not ours.optimizer.built and not theirs.optimizer.built


def test_a_schedule_s_optimizer_has_one_variable_unbuilt(tmp_path):
    pretrained(tmp_path)
    model = arch()
    schedule = optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    model.compile(optimizers.Adam(schedule), "mse")
    with pytest.warns(UserWarning, match=f"{SKIPPING} 'adam', because it has 1 variables "):
        model.load_weights(tmp_path / "a.weights.npz")
    assert int(model.optimizer.iterations) == 0


def test_load_model_still_restores_the_state(tmp_path):
    trained = pretrained(tmp_path)
    loaded = models.load_model(tmp_path / "a.keras")
    assert int(loaded.optimizer.iterations) == 40
    for a, b in zip(optimizer_values(loaded), optimizer_values(trained)):
        np.testing.assert_array_equal(a, b)


# -- skip_mismatch ---------------------------------------------------------------------------

# (architecture of the loading model, legacy by_name) for a file from Dense(16) -> Dense(4)
CASES = {
    "new_head": dict(sizes=(16, 1)),
    "extra_layer": dict(sizes=(16, 4, 1)),
    "fewer_layers": dict(sizes=(16,)),
    "first_differs": dict(sizes=(12, 4)),
    "head_without_bias": dict(sizes=(16, 4), use_bias=False),
}


def _both(keras, case, names=None):
    """The case's fastnn and Keras models, with the same initial weights."""
    ours = arch(names=names, **CASES[case])
    theirs = keras_arch(keras, names=names, **CASES[case])
    with keras_quiet():
        ours.set_weights(theirs.get_weights())
    return ours, theirs


def _compare_loads(ours, theirs, path, **kwargs):
    """Both load `path` alike: the same warnings (normalized), the same
    error (or none), the same weights after."""
    with keras_quiet():
        their_warnings, their_error = recorded(lambda: theirs.load_weights(path, **kwargs))
        their_weights = theirs.get_weights()
    before = ours.get_weights()
    our_warnings, our_error = recorded(lambda: ours.load_weights(path, **kwargs))
    assert [normalized(m) for m in our_warnings] == [normalized(m) for m in their_warnings]
    assert (our_error is None) == (their_error is None), (our_error, their_error)
    if our_error is not None:
        # the same words (fastnn names the file first); nothing changed
        assert normalized(their_error) in normalized(our_error)
        for a, b in zip(ours.get_weights(), before):
            np.testing.assert_array_equal(a, b)
        return our_warnings, our_error
    assert len(ours.get_weights()) == len(their_weights)
    for a, b in zip(ours.get_weights(), their_weights):
        np.testing.assert_array_equal(a, b)
    return our_warnings, our_error


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("name", ["a.weights.h5", "a.keras"])
def test_skip_mismatch_loads_what_fits_as_keras(tmp_path, case, name):
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    pretrained(tmp_path, sizes=(16, 4), epochs=1)
    ours, theirs = _both(keras, case)
    our_warnings, _ = _compare_loads(ours, theirs, tmp_path / name, skip_mismatch=True)
    if case != "fewer_layers":  # (Keras ignores the file's extra layers, silently)
        assert len(our_warnings) == 1 and "could not be loaded" in our_warnings[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_skip_mismatch_in_fastnn_s_npz_is_the_h5_s(tmp_path, case):
    pytest.importorskip("h5py")
    pretrained(tmp_path, sizes=(16, 4), epochs=1)
    fastnn.utils.set_random_seed(3)
    from_h5 = arch(**CASES[case])
    from_npz = arch(**CASES[case])
    from_npz.set_weights(from_h5.get_weights())
    h5_warnings, _ = recorded(lambda: from_h5.load_weights(tmp_path / "a.weights.h5", True))
    npz_warnings, _ = recorded(lambda: from_npz.load_weights(tmp_path / "a.weights.npz", True))
    assert [normalized(m) for m in h5_warnings] == [normalized(m) for m in npz_warnings]
    for a, b in zip(from_h5.get_weights(), from_npz.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_new_head_keeps_the_head_and_takes_the_trunk(tmp_path):
    trained = pretrained(tmp_path, sizes=(16, 4), epochs=1)
    model = arch((16, 1))
    head = [np.array(w) for w in model.layers[1].get_weights()]
    with pytest.warns(UserWarning) as caught:
        model.load_weights(tmp_path / "a.weights.npz", skip_mismatch=True)
    (message,) = [str(w.message) for w in caught]
    assert message.startswith(
        "A total of 1 objects could not be loaded. Example error message for object "
        f"<Dense name={model.layers[1].name}, built=True>:\n\nThe shape of the target variable "
        "and the shape of the target value in `variable.assign(value)` must match. "
        "variable.shape=(16, 1), Received: value.shape=(16, 4). Target variable: <Variable "
    )
    assert message.endswith(
        f"List of objects that could not be loaded:\n[<Dense name={model.layers[1].name}, "
        "built=True>]"
    )
    for a, b in zip(model.layers[0].get_weights(), trained.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.layers[1].get_weights(), head):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_loads_the_non_finite_values_of_the_layers_that_fit(tmp_path):
    """NaN or Inf load as saved, as in Keras, with their own warning beside
    the skipped layers' (this asserted the refusal before fastnn loaded the
    diverged runs' files it writes)."""
    trained = pretrained(tmp_path, sizes=(16, 4), epochs=1)
    weights = dict(np.load(tmp_path / "a.weights.npz"))
    weights["layers/dense/vars/1"] = np.full(16, np.nan, np.float32)
    np.savez(tmp_path / "nan.weights.npz", **weights)
    model = arch((16, 1))
    model.compile(optimizers.Adam(0.01), "mse")
    _fit_one_batch(model)
    head = model.layers[1].get_weights()
    with pytest.warns(UserWarning) as caught:
        model.load_weights(tmp_path / "nan.weights.npz", skip_mismatch=True)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and messages[0].startswith("A total of 2 objects could not")
    assert f"first in weight {model.layers[0].bias.path};" in messages[1]
    assert np.isnan(model.layers[0].get_weights()[1]).all()
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], trained.get_weights()[0])
    for a, b in zip(model.layers[1].get_weights(), head):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_with_a_built_optimizer_stops_its_state_where_keras_does(tmp_path):
    """Keras assigns the optimizer's variables in order and stops at the
    first of another shape: iterations, learning rate and the trunk's slots
    come from the file, the head's keep theirs; the optimizer is listed."""
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    trained = pretrained(tmp_path, sizes=(16, 4), epochs=1)
    ours, theirs = _both(keras, "new_head")
    x, y = make_data(n=96, seed=2)
    ours.compile(optimizers.Adam(0.001), "mse")
    theirs.compile(keras.optimizers.Adam(0.001), "mse")
    with keras_quiet():
        for model in (ours, theirs):
            _evaluate(model)  # builds the optimizer (zero slots), in both
    own = optimizer_values(ours)
    our_warnings, _ = _compare_loads(ours, theirs, tmp_path / "a.weights.h5", skip_mismatch=True)
    assert "[<Dense name=" in our_warnings[0] and "<fastnn.optimizers.Adam" in our_warnings[0]
    saved = optimizer_values(trained)
    with keras_quiet():
        their_values = optimizer_values(theirs)
    loaded = optimizer_values(ours)
    assert int(loaded[0]) == int(their_values[0]) == int(saved[0]) == 8
    assert float(loaded[1]) == pytest.approx(0.01)
    for k in range(2, 6):  # the first layer's kernel and bias: m, v
        np.testing.assert_array_equal(loaded[k], saved[k])
        np.testing.assert_array_equal(their_values[k], saved[k])
    for k in range(6, 10):  # the head's: unchanged
        np.testing.assert_array_equal(loaded[k], own[k])
        np.testing.assert_array_equal(their_values[k], own[k])
    ours.fit(x, y, epochs=1, verbose=0)  # it trains on from there


def test_skip_mismatch_keeps_the_slots_it_does_not_reach(tmp_path):
    trained = pretrained(tmp_path, sizes=(16, 4), epochs=1)
    model = arch((16, 1))
    model.compile(optimizers.Adam(0.001), "mse")
    x, y = make_data(n=96, seed=2)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)  # 3 steps: slots not zero
    own, saved = optimizer_values(model), optimizer_values(trained)
    assert all(np.any(v != 0) for v in own[2:])
    with pytest.warns(UserWarning, match="A total of 2 objects could not be loaded"):
        model.load_weights(tmp_path / "a.weights.npz", skip_mismatch=True)
    loaded = optimizer_values(model)
    assert int(loaded[0]) == 8 and int(own[0]) == 3
    for k in range(2, 6):
        np.testing.assert_array_equal(loaded[k], saved[k])
    for k in range(6, 10):
        np.testing.assert_array_equal(loaded[k], own[k])


# -- legacy .h5 files ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("skip_mismatch", [True, False], ids=["skip", "strict"])
def test_legacy_h5_by_position_as_keras(tmp_path, case, skip_mismatch):
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    pretrained(tmp_path, sizes=(16, 4), epochs=1)
    ours, theirs = _both(keras, case)
    _compare_loads(ours, theirs, tmp_path / "a.h5", skip_mismatch=skip_mismatch)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("skip_mismatch", [True, False], ids=["skip", "strict"])
def test_legacy_h5_by_name_as_keras(tmp_path, case, skip_mismatch):
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    pretrained(tmp_path, sizes=(16, 4), epochs=1, names="a")
    ours, theirs = _both(keras, case, names="a")
    _compare_loads(ours, theirs, tmp_path / "a.h5", by_name=True, skip_mismatch=skip_mismatch)


def test_legacy_skip_mismatch_warns_per_weight_in_keras_s_words(tmp_path):
    pytest.importorskip("h5py")
    pretrained(tmp_path, sizes=(16, 4), epochs=1)
    model = arch((16, 1))
    with pytest.warns(UserWarning) as caught:
        model.load_weights(tmp_path / "a.h5", skip_mismatch=True)
    name, path = model.layers[1].name, model.layers[1].kernel.path
    assert [str(w.message) for w in caught] == [
        f"Skipping loading weights for layer #1 (named {name})due to mismatch in shape for "
        f"weight {path}. Weight expects shape (16, 1). Received saved weight with shape (16, 4)",
        f"Skipping loading weights for layer #1 (named {name})due to mismatch in shape for "
        f"weight {path[: -len('kernel')]}bias. Weight expects shape (1,). Received saved weight "
        "with shape (4,)",
    ]
