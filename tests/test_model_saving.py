"""Sequential.save / load_model / save_weights / load_weights: Keras 3's `.keras`
layout, exact resumption of training, and clear errors that change nothing."""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers, models, optimizers
from fastnn.optimizers import schedules


def make_data(n=90, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, features)) * 2.0
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.standard_normal((n, features))).astype(np.float32)
    return x, y


def make_model(optimizer=None, dropout=False, seed=1, features=6, classes=3, dropout_seed=None):
    fastnn.utils.set_random_seed(seed)
    stack = [layers.Input(shape=(features,)), layers.Dense(8, activation="relu")]
    if dropout:
        stack.append(layers.Dropout(0.25, seed=dropout_seed))
    stack += [layers.Dense(5, activation="tanh"), layers.Dense(classes, activation="softmax")]
    model = models.Sequential(stack)
    model.compile(
        optimizer=optimizer if optimizer is not None else optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def same_weights(a, b):
    return len(a) == len(b) and all(
        u.dtype == v.dtype and u.shape == v.shape and np.array_equal(u, v) for u, v in zip(a, b)
    )


def optimizer_state(model):
    kernel = model.optimizer._kernel
    if kernel is None:
        return [np.array(model.optimizer.iterations)]
    return [np.array(kernel.iterations)] + [
        kernel.slot(i).copy() for i in range(len(kernel.slot_names))
    ]


def archive_weights(path):
    with zipfile.ZipFile(path) as zf:
        with np.load(io.BytesIO(zf.read("model.weights.npz")), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}


# -- save -> load ----------------------------------------------------------------


def test_save_load_predict_gives_identical_outputs(tmp_path):
    x, y = make_data()
    model = make_model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = models.load_model(path)
    assert isinstance(loaded, models.Sequential) and loaded.name == model.name
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert [a.name for a in loaded.layers] == [b.name for b in model.layers]
    assert same_weights(loaded.get_weights(), model.get_weights())
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.compiled and loaded.metrics_names == model.metrics_names
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 2 * math.ceil(90 / 16)
    assert type(loaded.optimizer) is optimizers.Adam
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_archive_has_keras_config_and_weight_names(tmp_path):
    x, y = make_data()
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "model.keras"
    model.save(str(path))
    # (model.weights.h5, Keras's copy of the weights, comes with h5py:
    # test_keras_loads_fastnn_archives.py)
    try:
        import h5py  # noqa: F401

        h5 = ["model.weights.h5"]
    except ImportError:
        h5 = []
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", *h5, "model.weights.npz"]
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
    assert metadata["fastnn_version"] == fastnn.__version__
    assert config["module"] == "keras" and config["class_name"] == "Sequential"
    inner = config["config"]
    assert inner["name"] == model.name and inner["build_input_shape"] == [None, 6]
    assert [entry["class_name"] for entry in inner["layers"]] == [
        "InputLayer",
        "Dense",
        "Dense",
        "Dense",
    ]
    assert inner["layers"][0]["config"]["batch_shape"] == [None, 6]
    dense = inner["layers"][1]
    assert dense["module"] == "keras.layers"
    assert dense["config"]["units"] == 8 and dense["config"]["activation"] == "relu"
    assert dense["config"]["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert dense["build_config"] == {"input_shape": [None, 6]}
    compile_config = config["compile_config"]
    assert compile_config["optimizer"]["class_name"] == "Adam"
    # the float32 value, as Keras writes it
    assert compile_config["optimizer"]["config"]["learning_rate"] == 0.009999999776482582
    assert compile_config["loss"] == "sparse_categorical_crossentropy"  # as given, as Keras
    assert compile_config["metrics"] == ["accuracy"]

    weights = archive_weights(path)
    kernels = model.get_weights()
    names = ["layers/dense", "layers/dense_1", "layers/dense_2"]
    for i, name in enumerate(names):
        np.testing.assert_array_equal(weights[f"{name}/vars/0"], kernels[2 * i])
        np.testing.assert_array_equal(weights[f"{name}/vars/1"], kernels[2 * i + 1])
    # Keras's optimizer.variables: iterations, learning_rate, then each
    # variable's momentum and velocity, variable by variable (adam.py build()
    # asks add_optimizer_variables for both names in one call).
    assert weights["optimizer/vars/0"] == 3 and weights["optimizer/vars/0"].dtype == np.int64
    assert weights["optimizer/vars/1"] == np.float32(0.01)
    kernel = model.optimizer._kernel
    assert list(kernel.slot_names) == ["momentum", "velocity"]
    tensors = model._net.tensors()
    k = 2
    for t in tensors:
        for s in range(2):
            size = math.prod(t["shape"])
            expected = kernel.slot(s)[t["offset"] : t["offset"] + size].reshape(t["shape"])
            np.testing.assert_array_equal(weights[f"optimizer/vars/{k}"], expected)
            k += 1
    assert f"optimizer/vars/{k}" not in weights
    assert k == 2 + 2 * len(kernels)


def test_schedule_learning_rate_is_not_an_optimizer_variable(tmp_path):
    schedule = schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5)
    model = make_model(optimizers.SGD(learning_rate=schedule, momentum=0.9))
    x, y = make_data()
    model.fit(x, y, epochs=1, batch_size=30, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    weights = archive_weights(path)
    # iterations, then one momentum per variable (no learning_rate variable).
    assert {k for k in weights if k.startswith("optimizer/")} == {
        f"optimizer/vars/{i}" for i in range(1 + 6)
    }
    loaded = models.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, schedules.ExponentialDecay)
    assert restored.get_config() == schedule.get_config()
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate


OPTIMIZERS = {
    "adam": lambda: optimizers.Adam(learning_rate=0.01),
    "adam_amsgrad": lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True),
    "rmsprop_momentum": lambda: optimizers.RMSprop(learning_rate=0.005, momentum=0.9),
    "rmsprop_centered": lambda: optimizers.RMSprop(learning_rate=0.005, centered=True),
    "sgd_nesterov": lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "adamw": lambda: optimizers.AdamW(learning_rate=0.01, weight_decay=0.05),
    "adagrad": lambda: optimizers.Adagrad(learning_rate=0.05),
    "adam_schedule": lambda: optimizers.Adam(
        learning_rate=schedules.ExponentialDecay(0.02, decay_steps=4, decay_rate=0.7)
    ),
    "rmsprop_cosine": lambda: optimizers.RMSprop(
        learning_rate=schedules.CosineDecay(0.01, decay_steps=20), momentum=0.5
    ),
}


def train_in_two_fits(make_optimizer, dropout, interrupt=None):
    """Two fits with fixed shuffle seeds; `interrupt(model)` may replace the
    model between them (save + load). Returns the final model."""
    x, y = make_data()
    model = make_model(make_optimizer(), dropout=dropout)
    fastnn.utils.set_random_seed(7)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    if interrupt is not None:
        model = interrupt(model)
    fastnn.utils.set_random_seed(8)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dropout", [False, True], ids=["plain", "dropout"])
def test_save_mid_training_then_resume_is_bit_identical(tmp_path, name, dropout):
    straight = train_in_two_fits(OPTIMIZERS[name], dropout)

    def save_and_load(model):
        path = tmp_path / "mid.keras"
        model.save(path)
        return models.load_model(path)

    resumed = train_in_two_fits(OPTIMIZERS[name], dropout, save_and_load)
    assert same_weights(resumed.get_weights(), straight.get_weights())
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 4 * 6
    for a, b in zip(optimizer_state(resumed), optimizer_state(straight)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["adam", "rmsprop_momentum", "adam_schedule"])
def test_resume_through_save_weights_and_load_weights_is_bit_identical(tmp_path, name):
    straight = train_in_two_fits(OPTIMIZERS[name], dropout=True)

    def weights_round_trip(model):
        path = tmp_path / "mid.weights.npz"
        model.save_weights(path)
        # The weights file holds no config: the new model must use the same
        # dropout seed to draw the same masks.
        seed = model.layers[1]._built_seed
        fresh = make_model(OPTIMIZERS[name](), dropout=True, seed=99, dropout_seed=seed)
        # As in Keras, load_weights restores the optimizer's state into a built optimizer.
        fresh.optimizer.build(fresh.trainable_variables)
        fresh.load_weights(path)
        return fresh

    resumed = train_in_two_fits(OPTIMIZERS[name], True, weights_round_trip)
    assert same_weights(resumed.get_weights(), straight.get_weights())


def test_resume_without_the_optimizer_state_differs(tmp_path):
    """The control for the exact-resume tests: a fresh optimizer state changes
    the trajectory, so those tests can fail."""
    straight = train_in_two_fits(OPTIMIZERS["adam"], dropout=False)

    def reload_uncompiled(model):
        path = tmp_path / "mid.keras"
        model.save(path)
        loaded = models.load_model(path, compile=False)
        assert not loaded.compiled
        loaded.compile(optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy")
        return loaded

    resumed = train_in_two_fits(OPTIMIZERS["adam"], False, reload_uncompiled)
    assert not same_weights(resumed.get_weights(), straight.get_weights())


def test_changed_learning_rate_is_restored(tmp_path):
    model = make_model(optimizers.Adam(learning_rate=0.01))
    x, y = make_data()
    model.fit(x, y, epochs=1, verbose=0)
    model.optimizer.learning_rate = 0.003  # e.g. ReduceLROnPlateau
    path = tmp_path / "m.keras"
    model.save(path)
    assert models.load_model(path).optimizer.learning_rate == float(np.float32(0.003))
    other = make_model(optimizers.Adam(learning_rate=0.01))
    other.optimizer.build(other.trainable_variables)
    other.load_weights(path)
    assert other.optimizer.learning_rate == pytest.approx(0.003, rel=1e-7)
    assert other.optimizer.iterations == model.optimizer.iterations
    for a, b in zip(optimizer_state(other), optimizer_state(model)):
        np.testing.assert_array_equal(a, b)


def test_unbuilt_and_uncompiled_models_round_trip(tmp_path):
    unbuilt = models.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)], name="lazy")
    path = tmp_path / "unbuilt.keras"
    unbuilt.save(path)
    loaded = models.load_model(path)
    assert not loaded.built and not loaded.compiled and loaded.name == "lazy"
    assert [layer.units for layer in loaded.layers] == [4, 2]
    x = np.ones((3, 5), np.float32)
    assert loaded.predict(x, verbose=0).shape == (3, 2)

    built = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    built.save(tmp_path / "built.keras")
    again = models.load_model(tmp_path / "built.keras")
    assert same_weights(again.get_weights(), built.get_weights()) and not again.compiled
    # Compiled but never trained: the optimizer has no slots yet.
    built.compile("adam", "mse")
    built.save(tmp_path / "compiled.keras")
    weights = archive_weights(tmp_path / "compiled.keras")
    assert sorted(k for k in weights if k.startswith("optimizer/")) == [
        "optimizer/vars/0",
        "optimizer/vars/1",
    ]
    compiled = models.load_model(tmp_path / "compiled.keras")
    assert compiled.compiled and compiled.optimizer.iterations == 0
    compiled.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)


def test_flatten_and_activation_layers_round_trip(tmp_path):
    fastnn.utils.set_random_seed(3)
    model = models.Sequential(
        [
            layers.Input(shape=(2, 3)),
            layers.Flatten(),
            layers.Dense(4, kernel_initializer=fastnn.initializers.RandomNormal(stddev=0.3)),
            layers.Activation("tanh"),
            layers.Dense(2, use_bias=False),
        ]
    )
    model.compile(optimizers.RMSprop(), "mse")
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    model.fit(x, np.zeros((5, 2)), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[1].kernel_initializer.stddev == 0.3
    assert loaded.get_config() == model.get_config()


# -- save_weights / load_weights --------------------------------------------------


def test_save_weights_load_weights_round_trip(tmp_path):
    x, y = make_data()
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "w.weights.npz"
    model.save_weights(path)
    with np.load(path, allow_pickle=False) as npz:
        keys = set(npz.files)
    assert {"layers/dense/vars/0", "layers/dense_2/vars/1", "optimizer/vars/0"} <= keys
    other = make_model(seed=5)
    assert not same_weights(other.get_weights(), model.get_weights())
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        other.load_weights(path)  # (its optimizer is not built: Keras's warning)
    assert same_weights(other.get_weights(), model.get_weights())
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    # load_weights also reads a whole-model archive.
    third = make_model(seed=6)
    model.save(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        third.load_weights(tmp_path / "m.keras")
    assert same_weights(third.get_weights(), model.get_weights())


def test_load_weights_into_an_uncompiled_model_ignores_the_optimizer_state(tmp_path):
    model = make_model()
    x, y = make_data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.npz")
    fresh = models.Sequential.from_config(model.get_config())
    fresh.load_weights(tmp_path / "w.weights.npz")
    assert same_weights(fresh.get_weights(), model.get_weights()) and not fresh.compiled


def test_optimizer_state_of_another_optimizer_is_skipped_with_a_warning(tmp_path):
    model = make_model(optimizers.SGD(momentum=0.9))
    x, y = make_data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.npz")
    other = make_model(optimizers.Adam(), seed=4)
    other.fit(x, y, epochs=1, verbose=0)
    state = optimizer_state(other)
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        other.load_weights(tmp_path / "w.weights.npz")
    assert same_weights(other.get_weights(), model.get_weights())
    for a, b in zip(optimizer_state(other), state):
        np.testing.assert_array_equal(a, b)


def test_save_weights_needs_a_weights_extension_and_a_built_model(tmp_path):
    model = make_model()
    for name in ["w.h5", "w.npz", "w.keras"]:
        with pytest.raises(ValueError, match=r"`\.weights\.h5` or `\.weights\.npz`"):
            model.save_weights(tmp_path / name)
    with pytest.raises(ValueError, match="not built"):
        models.Sequential([layers.Dense(2)]).save_weights(tmp_path / "w.weights.npz")
    with pytest.raises(ValueError, match="not built"):
        models.Sequential([layers.Dense(2)]).load_weights(tmp_path / "w.weights.npz")
    assert os.listdir(tmp_path) == []


def test_save_needs_the_keras_extension(tmp_path):
    model = make_model()
    # (`.h5` and `.hdf5` names are legacy HDF5 files: test_saving_legacy_h5.py)
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "m.zip")
    with pytest.raises(ValueError, match="save_format"):
        model.save(tmp_path / "m.tf", save_format="tf")
    assert os.listdir(tmp_path) == []


# -- overwrite ---------------------------------------------------------------------


def test_overwrite_false_refuses_and_keeps_the_file(tmp_path):
    model = make_model()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    model.fit(*make_data(), verbose=0)
    with pytest.raises(FileExistsError, match="overwrite"):
        model.save(path, overwrite=False)
    assert path.read_bytes() == before
    model.save(path)  # overwrite=True by default
    assert path.read_bytes() != before
    weights_path = tmp_path / "w.weights.npz"
    model.save_weights(weights_path)
    before = weights_path.read_bytes()
    with pytest.raises(FileExistsError):
        model.save_weights(weights_path, overwrite=False)
    assert weights_path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "w.weights.npz"]


def test_unsavable_learning_rate_fails_before_writing(tmp_path):
    model = make_model(optimizers.SGD(learning_rate=lambda: 0.1, momentum=0.9))
    path = tmp_path / "m.keras"
    path.write_bytes(b"previous")
    with pytest.raises(TypeError, match="callable"):
        model.save(path)
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["m.keras"]
    # save_weights stores variables only (no learning-rate variable, as Keras).
    model.fit(*make_data(), verbose=0)
    model.save_weights(tmp_path / "w.weights.npz")
    with np.load(tmp_path / "w.weights.npz", allow_pickle=False) as npz:
        optimizer_keys = {k for k in npz.files if k.startswith("optimizer/")}
    # iterations, then a momentum per weight.
    assert optimizer_keys == {f"optimizer/vars/{i}" for i in range(1 + 6)}
    other = make_model(optimizers.SGD(learning_rate=lambda: 0.1, momentum=0.9), seed=2)
    other.optimizer.build(other.trainable_variables)
    other.load_weights(tmp_path / "w.weights.npz")
    assert same_weights(other.get_weights(), model.get_weights())
    assert other.optimizer.iterations == model.optimizer.iterations
    for a, b in zip(optimizer_state(other), optimizer_state(model)):
        np.testing.assert_array_equal(a, b)


# -- errors leave the model unchanged ------------------------------------------------


@pytest.fixture
def trained():
    x, y = make_data()
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0)
    return model


def assert_unchanged(model, weights, state):
    assert same_weights(model.get_weights(), weights)
    for a, b in zip(optimizer_state(model), state):
        np.testing.assert_array_equal(a, b)


def bad_files(tmp_path, trained):
    """name -> (path, expected exception, message pattern)."""
    good = tmp_path / "good.keras"
    trained.save(good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])
    foreign = tmp_path / "foreign.keras"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("readme.txt", "not a model")
    text = tmp_path / "text.keras"
    text.write_text("hello")
    other = models.Sequential(
        [layers.Input(shape=(6,)), layers.Dense(9), layers.Dense(5), layers.Dense(3)]
    )
    wrong_shapes = tmp_path / "wrong_shapes.keras"
    other.save(wrong_shapes)
    deeper = models.Sequential(
        [
            layers.Input(shape=(6,)),
            layers.Dense(8),
            layers.Dense(5),
            layers.Dense(3),
            layers.Dense(3),
        ]
    )
    extra_layer = tmp_path / "extra_layer.weights.npz"
    deeper.save_weights(extra_layer)
    return {
        "missing": (tmp_path / "missing.keras", FileNotFoundError, "No such file"),
        "truncated": (truncated, ValueError, "truncated|corrupted|not a zip"),
        "foreign_zip": (foreign, ValueError, "not a .keras archive"),
        "not_a_zip": (text, ValueError, "not a zip"),
        "wrong_shapes": (wrong_shapes, ValueError, r"layers/dense/vars/0.*\(6, 9\).*\(6, 8\)"),
        "extra_layer": (extra_layer, ValueError, "layers/dense_3"),
    }


CASES = ["missing", "truncated", "foreign_zip", "not_a_zip", "wrong_shapes", "extra_layer"]


@pytest.mark.parametrize("case", CASES)
def test_load_weights_errors_leave_the_model_unchanged(tmp_path, trained, case):
    path, error, pattern = bad_files(tmp_path, trained)[case]
    weights, state = trained.get_weights(), optimizer_state(trained)
    with pytest.raises(error, match=pattern):
        trained.load_weights(path)
    assert_unchanged(trained, weights, state)


@pytest.mark.parametrize("case", ["truncated", "foreign_zip", "not_a_zip"])
def test_load_model_errors_are_clear(tmp_path, trained, case):
    path, error, pattern = bad_files(tmp_path, trained)[case]
    with pytest.raises(error, match=pattern):
        models.load_model(path)


@pytest.mark.parametrize("error", [ValueError, FileNotFoundError])
def test_load_model_missing_file_is_keras_value_error_and_file_not_found(tmp_path, error):
    # Keras 3.15 (saving_api.load_model) raises ValueError with this message.
    path = tmp_path / "missing.keras"
    message = f"File not found: filepath={path}. Please ensure the file is an accessible"
    with pytest.raises(error, match=re.escape(message)):
        models.load_model(path)


def test_load_weights_with_a_damaged_optimizer_slot_changes_nothing(tmp_path, trained):
    path = tmp_path / "w.weights.npz"
    trained.save_weights(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["optimizer/vars/5"] = np.zeros((2, 2), np.float32)  # a momentum of the wrong shape
    damaged = tmp_path / "damaged.weights.npz"
    np.savez(damaged, **arrays)
    other = make_model(seed=3)
    other.fit(*make_data(), epochs=1, verbose=0)
    weights, state = other.get_weights(), optimizer_state(other)
    with pytest.raises(ValueError, match=r"optimizer/vars/5.*\(2, 2\)"):
        other.load_weights(damaged)
    assert_unchanged(other, weights, state)


def test_load_weights_with_non_finite_values_loads_them_with_a_warning(tmp_path, trained):
    """NaN or Inf (a diverged run's file) load as saved, as in Keras; this
    test asserted the refusal before fastnn loaded the files it writes."""
    path = tmp_path / "w.weights.npz"
    trained.save_weights(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    damaged = tmp_path / "damaged.weights.npz"
    other = make_model(seed=3)
    other.fit(*make_data(), epochs=1, verbose=0)
    arrays["optimizer/vars/5"] = np.full_like(arrays["optimizer/vars/5"], np.nan, shape=(8,))
    arrays["layers/dense/vars/0"] = np.full((6, 8), np.inf, np.float32)
    np.savez(damaged, **arrays)
    with pytest.warns(UserWarning, match=r"NaN or Inf .*first in weight \S+/dense_\d+/kernel"):
        other.load_weights(damaged)
    assert np.isposinf(other.get_weights()[0]).all()
    assert any(np.isnan(slot).any() for slot in optimizer_state(other)[1:])


@pytest.mark.parametrize(
    "key, value",
    [
        ("optimizer/vars/0", np.array(2**64 - 1, np.uint64)),
        ("optimizer/vars/0", np.array(2**63 - 1, np.int64)),
        ("optimizer/vars/0", np.array(1e300)),
        ("fastnn/network_iterations", np.array(2**64 - 1, np.uint64)),
    ],
)
def test_load_weights_with_a_step_count_beyond_int64_changes_nothing(tmp_path, trained, key, value):
    """A uint64 count was pybind11's TypeError raised after the slots had been
    written; 2**63 - 1 loaded and then overflowed the engine's int64."""
    path = tmp_path / "w.weights.npz"
    trained.save_weights(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays[key] = value
    damaged = tmp_path / "damaged.weights.npz"
    np.savez(damaged, **arrays)
    other = make_model(seed=3)
    other.fit(*make_data(), epochs=1, verbose=0)
    weights, state = other.get_weights(), optimizer_state(other)
    net_iterations = other._net.iterations
    with pytest.raises(ValueError, match=r"iterations must be an integer in \[0, 2\*\*62\]"):
        other.load_weights(damaged)
    assert_unchanged(other, weights, state)
    assert other._net.iterations == net_iterations
    other.fit(*make_data(), epochs=1, verbose=0)  # still trains


def test_load_model_rejects_other_model_classes(tmp_path):
    from fastnn import saving

    path = tmp_path / "subclassed.keras"
    saving.write_archive(path, {"class_name": "MyModel", "config": {}}, {})
    with pytest.raises(ValueError, match="Sequential models and functional models"):
        models.load_model(path)
    path = tmp_path / "functional.keras"
    saving.write_archive(path, {"class_name": "Functional", "config": {}}, {})
    with pytest.raises(ValueError, match="needs a 'layers' list"):
        models.load_model(path)
    path = tmp_path / "unknown_layer.keras"
    config = {
        "class_name": "Sequential",
        "config": {"name": "s", "layers": [{"class_name": "Conv2D", "config": {}}]},
    }
    saving.write_archive(path, config, {})
    with pytest.raises(ValueError, match="Conv2D"):
        models.load_model(path)


# -- callbacks with real fit ------------------------------------------------------------


class Blowup(callbacks.Callback):
    """Makes training diverge from epoch `at` on (so the loss stops improving)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            self.model.optimizer.learning_rate = 40.0


class Snapshot(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((logs["val_loss"], self.model.get_weights()))


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_model_checkpoint_best_only_writes_only_on_improvement(tmp_path, suffix):
    """Whole models (.keras) and, with save_weights_only, Keras 3's
    .weights.h5 files."""
    weights_only = suffix == ".weights.h5"
    if weights_only:
        pytest.importorskip("h5py")
    x, y = make_data(n=120)
    model = make_model(optimizers.SGD(learning_rate=0.05))
    snapshot = Snapshot()
    checkpoint = callbacks.ModelCheckpoint(
        str(tmp_path / f"best-{{epoch:02d}}{suffix}"),
        monitor="val_loss",
        save_best_only=True,
        save_weights_only=weights_only,
    )
    # Snapshot runs before the checkpoint, Blowup after both.
    model.fit(
        x,
        y,
        epochs=8,
        verbose=0,
        validation_split=0.25,
        callbacks=[snapshot, checkpoint, Blowup(at=3)],
    )
    losses = [loss for loss, _ in snapshot.seen]
    improved = [e for e, loss in enumerate(losses) if loss < min(losses[:e], default=np.inf)]
    assert len(improved) < len(losses)  # some epochs did not improve
    assert sorted(os.listdir(tmp_path)) == [f"best-{e + 1:02d}{suffix}" for e in improved]
    best = improved[-1]
    path = tmp_path / f"best-{best + 1:02d}{suffix}"
    if weights_only:
        loaded = make_model(seed=6)
        loaded.load_weights(path)
    else:
        loaded = models.load_model(path)
    assert same_weights(loaded.get_weights(), snapshot.seen[best][1])


def test_model_checkpoint_weights_only_with_real_fit(tmp_path):
    x, y = make_data()
    model = make_model()
    checkpoint = callbacks.ModelCheckpoint(
        str(tmp_path / "ckpt.weights.npz"), monitor="loss", save_weights_only=True
    )
    model.fit(x, y, epochs=2, verbose=0, callbacks=[checkpoint])
    other = make_model(seed=8)
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        other.load_weights(tmp_path / "ckpt.weights.npz")
    assert same_weights(other.get_weights(), model.get_weights())


def test_early_stopping_restores_the_best_weights_with_real_fit(tmp_path):
    x, y = make_data(n=120)
    model = make_model(optimizers.SGD(learning_rate=0.05))
    snapshot = Snapshot()
    stopper = callbacks.EarlyStopping(
        monitor="val_loss", patience=2, restore_best_weights=True, verbose=0
    )
    history = model.fit(
        x,
        y,
        epochs=30,
        verbose=0,
        validation_split=0.25,
        callbacks=[snapshot, stopper, Blowup(at=2)],
    )
    assert len(history.epoch) < 30
    best_loss, best_weights = min(snapshot.seen, key=lambda s: s[0])
    assert same_weights(model.get_weights(), best_weights)
    assert model.evaluate(x[90:], y[90:], verbose=0)[0] == pytest.approx(best_loss, rel=1e-5)
    # The restored model saves and loads like any other.
    model.save(tmp_path / "best.keras")
    assert same_weights(models.load_model(tmp_path / "best.keras").get_weights(), best_weights)


# -- pickle / copy -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "copy"])
@pytest.mark.parametrize("dropout", [False, True], ids=["plain", "dropout"])
def test_pickle_and_copies_of_a_model_resume_exactly_and_are_independent(how, dropout):
    """Went through the `.keras` format as Keras 3's models do; was
    "cannot pickle 'fastnn._core.optim.Optimizer' object" (deepcopy) and
    "cannot pickle 'weakref.ReferenceType' object" (pickle)."""
    import copy
    import pickle

    straight = train_in_two_fits(OPTIMIZERS["adam"], dropout)
    copies = {
        "deepcopy": copy.deepcopy,
        "pickle": lambda m: pickle.loads(pickle.dumps(m)),
        "copy": copy.copy,
    }
    originals = []

    def clone(model):
        originals.append((model, model.get_weights(), optimizer_state(model)))
        twin = copies[how](model)
        assert twin is not model and twin.layers[0] is not model.layers[0]
        assert twin.compiled and twin._net is not model._net
        return twin

    resumed = train_in_two_fits(OPTIMIZERS["adam"], dropout, clone)
    assert same_weights(resumed.get_weights(), straight.get_weights())
    for a, b in zip(optimizer_state(resumed), optimizer_state(straight)):
        np.testing.assert_array_equal(a, b)
    (original, weights, state), = originals  # fmt: skip
    assert_unchanged(original, weights, state)  # training the copy left it alone


def test_copies_of_unbuilt_and_uncompiled_models():
    import copy

    unbuilt = models.Sequential([layers.Dense(3), layers.Dense(2)])
    assert not copy.deepcopy(unbuilt).built
    uncompiled = models.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    twin = copy.deepcopy(uncompiled)
    assert not twin.compiled
    assert same_weights(twin.get_weights(), uncompiled.get_weights())


def test_a_pickled_layer_carries_its_weights_and_no_model(trained):
    import pickle

    layer = trained.layers[0]
    twin = pickle.loads(pickle.dumps(layer))
    assert twin._owner is None and twin.name == layer.name
    assert same_weights(twin.get_weights(), layer.get_weights())
    model = models.Sequential([layers.Input(shape=(6,)), twin])  # keeps the weights
    assert same_weights(model.layers[0].get_weights(), layer.get_weights())


def test_a_built_optimizer_copies_as_a_new_unbuilt_one_as_keras(trained):
    # Keras 3.15: copy.deepcopy / pickle of a built optimizer give an unbuilt
    # one with the same settings and iterations 0
    import copy
    import pickle

    original = trained.optimizer
    assert original.iterations > 0
    for twin in (pickle.loads(pickle.dumps(original)), copy.deepcopy(original)):
        assert type(twin) is type(original) and twin is not original
        assert twin.get_config() == original.get_config()
        assert twin.iterations == 0 and twin._kernel is None
    assert original._kernel is not None and original.iterations > 0  # untouched
    assert copy.copy(trained.optimizer)._kernel is trained.optimizer._kernel  # shallow: shared
    fresh = copy.deepcopy(optimizers.Adam(learning_rate=0.5))  # an unbuilt one copies
    assert float(fresh.learning_rate) == 0.5


def test_optimizer_variables_after_fit_are_named_as_keras_s():
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    x = np.random.default_rng(0).random((16, 3)).astype(np.float32)
    y = np.ones((16, 2), np.float32)

    def trained(module, optimizer):
        model = module.Sequential(
            [
                module.Input((3,)),
                module.layers.Dense(4, name="d1"),
                module.layers.BatchNormalization(name="bn"),
                module.layers.Dense(2, name="d2"),
            ],
            name="net",
        )
        model.compile(optimizer, "mse")
        with keras_quiet():
            model.fit(x, y, batch_size=8, verbose=0)
        return model

    for make in (
        lambda m: m.optimizers.Adam(amsgrad=True),
        lambda m: m.optimizers.SGD(momentum=0.9),
        lambda m: m.optimizers.RMSprop(momentum=0.5, centered=True),
        lambda m: m.optimizers.Adadelta(),
        lambda m: m.optimizers.Ftrl(),
    ):
        ours = trained(fastnn, make(fastnn))
        theirs = trained(keras, make(keras))
        mine = ours.optimizer.variables
        # (the part after the optimizer's name: Keras names a default SGD "sgd")
        assert [(v.path.split("/", 1)[1], tuple(v.shape)) for v in mine] == [
            (v.path.split("/", 1)[1], tuple(v.shape)) for v in theirs.optimizer.variables
        ]
        assert all(v.path == f"{ours.optimizer.name}/{v.name}" for v in mine)
        for variable, view in zip(mine, ours._optimizer_variables()):
            np.testing.assert_array_equal(variable, view)
        slot = mine[2]
        slot[...] = 7.0  # a view of the optimizer's state, as before
        np.testing.assert_array_equal(ours._optimizer_variables()[2], 7.0)
