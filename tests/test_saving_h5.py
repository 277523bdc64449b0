"""`.weights.h5` files: Keras 3's HDF5 layout (`save_weights`/`load_weights`,
ModelCheckpoint), interop with Keras 3 in both directions, clear errors that
change nothing, and a clear error when the optional h5py is missing."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from h5_listing import h5_listing

import fastnn
from fastnn import callbacks, layers, models, optimizers, saving

h5py = pytest.importorskip("h5py")


def make_data(n=96, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, features)) * 2.0
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.standard_normal((n, features))).astype(np.float32)
    return x, y


def make_model(optimizer="adam", seed=1, compile=True):
    """Dense layers with weightless Dropout/Activation/Flatten between them."""
    fastnn.utils.set_random_seed(seed)
    model = models.Sequential(
        [
            layers.Input(shape=(4,)),
            layers.Dense(8, activation="relu"),
            layers.Dropout(0.25, seed=1),  # masks then depend on the step only
            layers.Activation("tanh"),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    if compile:
        if optimizer == "adam":
            optimizer = optimizers.Adam(learning_rate=0.01)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def trained_model(seed=1, optimizer="adam"):
    model = make_model(optimizer, seed=seed)
    model.fit(*make_data(), epochs=2, batch_size=32, verbose=0)
    return model


def optimizer_state(model):
    kernel = model.optimizer._kernel
    if kernel is None:
        return [np.array(model.optimizer.iterations)]
    return [np.array(kernel.iterations)] + [
        kernel.slot(i).copy() for i in range(len(kernel.slot_names))
    ]


def same_weights(a, b):
    return len(a) == len(b) and all(
        u.dtype == v.dtype and u.shape == v.shape and np.array_equal(u, v) for u, v in zip(a, b)
    )


def assert_unchanged(model, weights, state):
    assert same_weights(model.get_weights(), weights)
    assert len(optimizer_state(model)) == len(state)
    for a, b in zip(optimizer_state(model), state):
        np.testing.assert_array_equal(a, b)


def listing(path):
    """{name: (kind, dtype, shape, attrs)} of every group and dataset."""
    return h5_listing(path)


# What Keras 3.15 writes for this architecture, compiled with Adam and never
# trained (`keras_listing` below checks it against a live Keras when present).
KERAS_LAYOUT = {
    "vars": ("group", None, None, {"name": "sequential"}),
    "layers": ("group", None, None, {}),
    "layers/dense": ("group", None, None, {}),
    "layers/dense/vars": ("group", None, None, {"name": "dense"}),
    "layers/dense/vars/0": ("dataset", "float32", (4, 8), {}),
    "layers/dense/vars/1": ("dataset", "float32", (8,), {}),
    "layers/dropout": ("group", None, None, {}),
    "layers/dropout/vars": ("group", None, None, {"name": "dropout"}),
    "layers/activation": ("group", None, None, {}),
    "layers/activation/vars": ("group", None, None, {"name": "activation"}),
    "layers/flatten": ("group", None, None, {}),
    "layers/flatten/vars": ("group", None, None, {"name": "flatten"}),
    "layers/dense_1": ("group", None, None, {}),
    "layers/dense_1/vars": ("group", None, None, {"name": "dense_1"}),
    "layers/dense_1/vars/0": ("dataset", "float32", (8, 3), {}),
    "layers/dense_1/vars/1": ("dataset", "float32", (3,), {}),
    "optimizer": ("group", None, None, {}),
    "optimizer/vars": ("group", None, None, {"name": "adam"}),
    "optimizer/vars/0": ("dataset", "int32", (), {}),
    "optimizer/vars/1": ("dataset", "float32", (), {}),
}
# fastnn's own step counter (Dropout masks depend on it); Keras never reads it.
FASTNN_EXTRA = {
    "fastnn": ("group", None, None, {}),
    "fastnn/network_iterations": ("dataset", "int64", (), {}),
}


def fresh_named_model():
    """make_model with Keras's default names (fastnn counts names per process)."""
    model = make_model()
    model.name = "sequential"
    for layer, name in zip(model.layers, ["dense", "dropout", "activation", "flatten", "dense_1"]):
        layer.name = name
    return model


# -- fastnn -> fastnn --------------------------------------------------------------


def test_h5_layout_is_keras_3s(tmp_path):
    model = fresh_named_model()
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    assert listing(path) == {**KERAS_LAYOUT, **FASTNN_EXTRA}
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.get_weights()[0])
        assert f["optimizer/vars/1"][()] == np.float32(0.01)


def test_h5_round_trip_restores_weights_and_optimizer_state(tmp_path):
    model = trained_model()
    path = tmp_path / "ckpt.weights.h5"
    model.save_weights(path)
    assert os.listdir(tmp_path) == ["ckpt.weights.h5"]  # no temporary file left
    other = trained_model(seed=7)
    assert not same_weights(other.get_weights(), model.get_weights())
    other.load_weights(path)
    assert same_weights(other.get_weights(), model.get_weights())
    assert_unchanged(other, model.get_weights(), optimizer_state(model))
    assert other.optimizer.iterations == model.optimizer.iterations == 6
    x, _ = make_data(n=10, seed=3)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    # An uncompiled model takes the layers' weights and ignores the optimizer.
    bare = make_model(seed=5, compile=False)
    bare.load_weights(str(path))
    assert same_weights(bare.get_weights(), model.get_weights())


def test_h5_holds_the_same_arrays_as_npz(tmp_path):
    model = trained_model()
    model.save_weights(tmp_path / "w.weights.h5")
    model.save_weights(tmp_path / "w.weights.npz")
    from_h5 = saving.read_weights(tmp_path / "w.weights.h5")
    from_npz = saving.read_weights(tmp_path / "w.weights.npz")
    assert sorted(from_h5) == sorted(from_npz)
    for key, value in from_npz.items():
        np.testing.assert_array_equal(from_h5[key], value)
        if key != "optimizer/vars/0":  # Keras stores iterations as int32
            assert from_h5[key].dtype == value.dtype, key
    assert from_h5["optimizer/vars/0"].dtype == np.int32


def test_bfloat16_datasets_read_as_float32(tmp_path):
    # Keras writes a bfloat16 variable's raw 2-byte values with attrs["dtype"].
    values = np.array([[1.5, -2.25], [0.09375, 3.0]], np.float32)
    bits = (values.view(np.uint32) >> 16).astype(np.uint16).view("V2")
    path = tmp_path / "bf16.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        f.create_dataset("layers/dense/vars/0", data=bits).attrs["dtype"] = "bfloat16"
    read = saving.read_weights(path)["layers/dense/vars/0"]
    assert read.dtype == np.float32
    np.testing.assert_array_equal(read, values)


def test_resuming_from_h5_is_bit_identical_to_npz(tmp_path):
    x, y = make_data()
    model = trained_model()
    model.save_weights(tmp_path / "w.weights.h5")
    model.save_weights(tmp_path / "w.weights.npz")
    resumed = []
    for name in ["w.weights.h5", "w.weights.npz"]:
        other = make_model(seed=9)
        other.optimizer.build(other.trainable_variables)  # to take the saved state, as Keras
        other.load_weights(tmp_path / name)
        other.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)
        resumed.append(other.get_weights())
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)
    assert same_weights(resumed[0], resumed[1])
    assert same_weights(resumed[0], model.get_weights())


def test_h5_write_is_atomic(tmp_path, monkeypatch):
    model = trained_model()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        trained_model(seed=4).save_weights(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.weights.h5"]
    with pytest.raises(FileExistsError):
        model.save_weights(path, overwrite=False)
    assert path.read_bytes() == before


# -- bad files ----------------------------------------------------------------------


def bad_h5_files(tmp_path):
    """name -> (path, expected exception, message pattern)."""
    good = tmp_path / "good.weights.h5"
    trained_model(seed=3).save_weights(good)
    data = good.read_bytes()
    files = {}

    def write(name, content):
        path = tmp_path / name
        path.write_bytes(content)
        return path

    files["missing"] = (tmp_path / "missing.weights.h5", FileNotFoundError, "No such file")
    files["empty"] = (write("empty.weights.h5", b""), ValueError, "not an HDF5")
    files["text"] = (write("text.weights.h5", b"hello, not weights"), ValueError, "not an HDF5")
    for cut in [8, 200, len(data) // 2, len(data) - 40]:
        files[f"truncated_{cut}"] = (
            write(f"cut{cut}.weights.h5", data[:cut]),
            ValueError,
            "truncated|corrupted|not an HDF5",
        )
    npz = tmp_path / "w.weights.npz"
    trained_model(seed=3).save_weights(npz)
    files["npz_named_h5"] = (write("npz.weights.h5", npz.read_bytes()), ValueError, "zip file")
    foreign = tmp_path / "foreign.weights.h5"
    with h5py.File(foreign, "w") as f:
        f["images"] = np.zeros((3, 3))
    files["foreign_hdf5"] = (foreign, ValueError, "not a Keras 3 `.weights.h5`")
    legacy = tmp_path / "legacy.weights.h5"
    with h5py.File(legacy, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f["dense/dense/kernel:0"] = np.zeros((4, 8), np.float32)
    files["keras2_legacy"] = (legacy, ValueError, "legacy Keras 2")
    link = tmp_path / "link.weights.h5"
    link.write_bytes(data)
    with h5py.File(link, "a") as f:
        f["layers/extra"] = h5py.SoftLink("/layers/dense")
    files["soft_link"] = (link, ValueError, "SoftLink")
    cycle = tmp_path / "cycle.weights.h5"
    cycle.write_bytes(data)
    with h5py.File(cycle, "a") as f:
        f["layers/dense/loop"] = f["layers/dense"]  # a hard link to its own parent
    files["hard_link_cycle"] = (cycle, ValueError, "reached twice")
    alias = tmp_path / "alias.weights.h5"
    alias.write_bytes(data)
    with h5py.File(alias, "a") as f:
        f["layers/dense/copy"] = f["layers/dense/vars/0"]  # one dataset under two names
    files["hard_link_alias"] = (alias, ValueError, "reached twice")
    text_dataset = tmp_path / "strings.weights.h5"
    text_dataset.write_bytes(data)
    with h5py.File(text_dataset, "a") as f:
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = "not numbers"
    files["string_dataset"] = (text_dataset, ValueError, "numeric arrays only")
    wider = models.Sequential([layers.Input(shape=(4,)), layers.Dense(9), layers.Dense(3)])
    wrong = tmp_path / "wrong_shapes.weights.h5"
    wider.save_weights(wrong)
    files["wrong_shapes"] = (wrong, ValueError, r"layers/dense/vars/0.*\(4, 9\).*\(4, 8\)")
    deeper = models.Sequential(
        [layers.Input(shape=(4,)), layers.Dense(8), layers.Dense(3), layers.Dense(3)]
    )
    extra = tmp_path / "extra_layer.weights.h5"
    deeper.save_weights(extra)
    files["extra_layer"] = (extra, ValueError, "layers/dense_2")
    return files


BAD_CASES = [
    "missing",
    "empty",
    "text",
    "truncated_8",
    "truncated_200",
    "npz_named_h5",
    "foreign_hdf5",
    "keras2_legacy",
    "soft_link",
    "hard_link_cycle",
    "hard_link_alias",
    "string_dataset",
    "wrong_shapes",
    "extra_layer",
]


@pytest.mark.parametrize("case", BAD_CASES + ["half", "tail"])
def test_bad_h5_files_are_clear_errors_that_change_nothing(tmp_path, case):
    files = bad_h5_files(tmp_path)
    if case in ("half", "tail"):  # the two data-dependent truncations
        cuts = sorted(k for k in files if k.startswith("truncated_") and k not in BAD_CASES)
        case = cuts[0] if case == "half" else cuts[-1]
    path, error, pattern = files[case]
    model = trained_model()
    weights, state = model.get_weights(), optimizer_state(model)
    with pytest.raises(error, match=pattern):
        model.load_weights(path)
    assert_unchanged(model, weights, state)


def test_weights_h5_suffix_rules(tmp_path):
    model = trained_model()
    with pytest.raises(ValueError, match=r"Keras 3 requires `\.weights\.h5`.*model\.save"):
        model.save_weights(tmp_path / "w.h5")
    # a plain `.h5` name is a legacy HDF5 file (test_saving_legacy_h5.py)
    (tmp_path / "legacy.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ValueError, match=r"truncated or corrupted"):
        model.load_weights(tmp_path / "legacy.h5")
    assert os.listdir(tmp_path) == ["legacy.h5"]


# -- h5py missing ---------------------------------------------------------------------


def test_without_h5py_h5_is_a_clear_error_and_npz_still_works(tmp_path, monkeypatch):
    model = trained_model()
    model.save_weights(tmp_path / "w.weights.h5")
    weights, state = model.get_weights(), optimizer_state(model)
    monkeypatch.setitem(sys.modules, "h5py", None)  # `import h5py` now fails
    pattern = r"h5py.*pip install h5py.*\.weights\.npz"
    with pytest.raises(ImportError, match=pattern):
        model.save_weights(tmp_path / "new.weights.h5")
    with pytest.raises(ImportError, match=pattern):
        model.load_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ImportError, match=pattern):
        callbacks.ModelCheckpoint(str(tmp_path / "c.weights.h5"), save_weights_only=True)
    assert_unchanged(model, weights, state)
    assert sorted(os.listdir(tmp_path)) == ["w.weights.h5"]
    model.save_weights(tmp_path / "w.weights.npz")
    other = make_model(seed=2)
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        other.load_weights(tmp_path / "w.weights.npz")
    assert same_weights(other.get_weights(), weights)


def test_fastnn_imports_without_h5py():
    code = (
        "import sys; sys.modules['h5py'] = None; import fastnn, fastnn.saving, "
        "fastnn.callbacks; print('ok')"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# -- ModelCheckpoint ------------------------------------------------------------------


def test_model_checkpoint_suffixes():
    callbacks.ModelCheckpoint("c.weights.h5", save_weights_only=True)
    callbacks.ModelCheckpoint("c.weights.npz", save_weights_only=True)
    callbacks.ModelCheckpoint("c.keras")
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        callbacks.ModelCheckpoint("c.h5", save_weights_only=True)
    callbacks.ModelCheckpoint("c.h5")  # a legacy HDF5 model, as Keras 3 allows
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        callbacks.ModelCheckpoint("c.hdf5")
    callbacks.ModelCheckpoint("c.weights.h5")  # Keras 3 too: it ends in `.h5`


# -- Keras 3 interop (torch backend, in a subprocess) ----------------------------------

KERAS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, warnings
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np
    import keras
    import h5py

    d = sys.argv[1]
    x = np.load(os.path.join(d, "x.npy"))
    result = {}

    def model():
        return keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dropout(0.25),
            keras.layers.Activation("tanh"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ])

    def listing(path):
        out = {}
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = ["dataset", str(obj.dtype), list(obj.shape), dict(obj.attrs)]
            else:
                out[name] = ["group", None, None, {k: str(v) for k, v in obj.attrs.items()}]
        with h5py.File(path, "r") as f:
            f.visititems(visit)
        return out

    # Layout: a fresh model compiled with Adam, never trained.
    fresh = model()
    fresh.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    fresh.save_weights(os.path.join(d, "fresh.weights.h5"))
    result["layout"] = listing(os.path.join(d, "fresh.weights.h5"))

    # fastnn -> Keras: SGD with momentum (one slot), trained on both sides.
    xs = np.random.default_rng(0).standard_normal((32, 4)).astype("float32")
    ys = np.random.default_rng(1).integers(0, 3, 32)
    k = model()
    k.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
              loss="sparse_categorical_crossentropy")
    k.fit(xs, ys, epochs=1, verbose=0)
    k.load_weights(os.path.join(d, "fastnn_sgd.weights.h5"))
    out = {"pred": k.predict(x, verbose=0), "iterations": int(k.optimizer.iterations)}
    for i, w in enumerate(k.get_weights()):
        out[f"w{i}"] = w
    for i, v in enumerate(k.optimizer.variables[2:]):
        out[f"slot{i}"] = keras.ops.convert_to_numpy(v)
    np.savez(os.path.join(d, "keras_loaded.npz"), **out)
    # An uncompiled Keras model takes the Adam-trained fastnn file too.
    k = model()
    k.load_weights(os.path.join(d, "fastnn_adam.weights.h5"))
    np.savez(os.path.join(d, "keras_loaded_adam.npz"), pred=k.predict(x, verbose=0),
             **{f"w{i}": w for i, w in enumerate(k.get_weights())})
    # A trained Keras Adam model takes its optimizer state (m0, v0, m1, v1 ...).
    k = model()
    k.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
              loss="sparse_categorical_crossentropy")
    k.fit(xs, ys, epochs=1, verbose=0)
    k.load_weights(os.path.join(d, "fastnn_adam.weights.h5"))
    np.savez(os.path.join(d, "keras_loaded_adam_state.npz"),
             iterations=int(k.optimizer.iterations),
             **{f"slot{i}": keras.ops.convert_to_numpy(v)
                for i, v in enumerate(k.optimizer.variables[2:])})

    # Keras -> fastnn: weights set from the test, trained with SGD(momentum) and Adam.
    given = np.load(os.path.join(d, "given.npz"))
    for name, opt in [("sgd", keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)),
                      ("adam", keras.optimizers.Adam(learning_rate=0.01))]:
        k = model()
        k.set_weights([given[f"w{i}"] for i in range(4)])
        k.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        k.fit(xs, ys, epochs=2, batch_size=16, verbose=0)
        k.save_weights(os.path.join(d, f"keras_{name}.weights.h5"))
        out = {"pred": k.predict(x, verbose=0), "iterations": int(k.optimizer.iterations)}
        for i, w in enumerate(k.get_weights()):
            out[f"w{i}"] = w
        for i, v in enumerate(k.optimizer.variables[2:]):
            out[f"slot{i}"] = keras.ops.convert_to_numpy(v)
        np.savez(os.path.join(d, f"keras_{name}.npz"), **out)

    # Whole-model .keras archives Keras writes (HDF5 weights inside): a
    # functional chain and a Sequential, trained so the optimizer has state.
    for kind in ["functional", "sequential"]:
        if kind == "functional":
            inputs = keras.Input((4,), name="pixels")
            h = keras.layers.Dense(8, activation="relu")(inputs)
            h = keras.layers.Dropout(0.25)(h)
            outputs = keras.layers.Dense(3, activation="softmax")(h)
            k = keras.Model(inputs, outputs, name="chain")
        else:
            k = model()
        k.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy")
        k.fit(xs, ys, epochs=1, batch_size=16, verbose=0)
        k.save(os.path.join(d, f"keras_{kind}.keras"))
        np.savez(os.path.join(d, f"keras_{kind}_model.npz"), pred=k.predict(x, verbose=0),
                 iterations=int(k.optimizer.iterations),
                 names=np.array([layer.name for layer in k.layers]))

    with open(os.path.join(d, "result.json"), "w") as f:
        json.dump(result, f)
    """
)


def numbered(arrays):
    return {f"w{i}": w for i, w in enumerate(arrays)}


def adam_slots(model):
    """[momentum, velocity] of every weight from the engine's flat slot
    buffers: Keras 3's order for Adam (m0, v0, m1, v1, ...)."""
    kernel = model.optimizer._kernel
    assert list(kernel.slot_names) == ["momentum", "velocity"]
    out = []
    for t in model._net.tensors():
        size = int(np.prod(t["shape"]))
        for s in range(2):
            out.append(kernel.slot(s)[t["offset"] : t["offset"] + size].reshape(t["shape"]).copy())
    return out


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    """Runs Keras 3 (torch backend) once in a subprocess on files fastnn wrote,
    and has it write its own files; returns the directory."""
    for module in ["torch", "keras"]:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    d = tmp_path_factory.mktemp("keras")
    x, _ = make_data(n=12, seed=5)
    np.save(d / "x.npy", x)
    sgd = trained_model(optimizer=optimizers.SGD(learning_rate=0.01, momentum=0.9))
    sgd.save_weights(d / "fastnn_sgd.weights.h5")
    np.savez(d / "fastnn_sgd.npz", pred=sgd.predict(x, verbose=0), **numbered(sgd.get_weights()))
    adam = trained_model(seed=2)
    adam.save_weights(d / "fastnn_adam.weights.h5")
    np.savez(d / "fastnn_adam.npz", pred=adam.predict(x, verbose=0), **numbered(adam.get_weights()))
    np.savez(d / "fastnn_adam_slots.npz", **numbered(adam_slots(adam)))
    given = make_model(seed=11, compile=False).get_weights()
    np.savez(d / "given.npz", **numbered(given))
    script = d / "keras_side.py"
    script.write_text(KERAS_SCRIPT)
    env = dict(os.environ, KERAS_BACKEND="torch")
    out = subprocess.run(
        [sys.executable, str(script), str(d)], capture_output=True, text=True, env=env
    )
    if out.returncode != 0 and "No module named" in out.stderr and "keras" in out.stderr:
        pytest.skip(f"keras cannot be imported: {out.stderr[-300:]}")
    assert out.returncode == 0, out.stderr[-4000:]
    return d


def test_keras_writes_the_same_layout(keras_run):
    keras_layout = json.loads((keras_run / "result.json").read_text())["layout"]
    mine = {
        name: [kind, dtype, None if shape is None else list(shape), attrs]
        for name, (kind, dtype, shape, attrs) in KERAS_LAYOUT.items()
    }
    # Keras names the model and layers per process; the layout is the same.
    assert sorted(keras_layout) == sorted(mine)
    for name, (kind, dtype, shape, attrs) in mine.items():
        assert keras_layout[name][:3] == [kind, dtype, shape], name
        assert sorted(keras_layout[name][3]) == sorted(attrs), name


def test_fastnn_weights_h5_loads_in_keras(keras_run):
    with (
        np.load(keras_run / "fastnn_sgd.npz") as ours,
        np.load(keras_run / "keras_loaded.npz") as theirs,
    ):
        for i in range(4):
            np.testing.assert_array_equal(theirs[f"w{i}"], ours[f"w{i}"])
        np.testing.assert_allclose(theirs["pred"], ours["pred"], rtol=1e-5, atol=1e-6)
        # The optimizer state went across too: iterations and each momentum.
        assert int(theirs["iterations"]) == 6
        saved = saving.read_weights(keras_run / "fastnn_sgd.weights.h5")
        for i in range(4):
            np.testing.assert_array_equal(theirs[f"slot{i}"], saved[f"optimizer/vars/{i + 2}"])
    with (
        np.load(keras_run / "fastnn_adam.npz") as ours,
        np.load(keras_run / "keras_loaded_adam.npz") as theirs,
    ):
        for i in range(4):
            np.testing.assert_array_equal(theirs[f"w{i}"], ours[f"w{i}"])
        np.testing.assert_allclose(theirs["pred"], ours["pred"], rtol=1e-5, atol=1e-6)
    # ... and into a trained Keras Adam model, with the optimizer state
    with (
        np.load(keras_run / "fastnn_adam_slots.npz") as ours,
        np.load(keras_run / "keras_loaded_adam_state.npz") as theirs,
    ):
        assert int(theirs["iterations"]) > 0
        assert len([k for k in theirs if k.startswith("slot")]) == 8
        for i in range(8):
            np.testing.assert_array_equal(theirs[f"slot{i}"], ours[f"w{i}"])


def test_keras_weights_h5_loads_in_fastnn(keras_run):
    x = np.load(keras_run / "x.npy")
    with np.load(keras_run / "keras_sgd.npz") as theirs:
        # Into an uncompiled model, and into one compiled with SGD(momentum):
        # the momentum slots and the iteration count come across too.
        bare = make_model(compile=False)
        bare.load_weights(keras_run / "keras_sgd.weights.h5")
        model = trained_model(optimizer=optimizers.SGD(learning_rate=0.01, momentum=0.9))
        model.load_weights(keras_run / "keras_sgd.weights.h5")
        for m in (bare, model):
            assert same_weights(m.get_weights(), [theirs[f"w{i}"] for i in range(4)])
            np.testing.assert_allclose(
                m.predict(x, verbose=0), theirs["pred"], rtol=1e-5, atol=1e-6
            )
        assert model.optimizer.iterations == int(theirs["iterations"]) == 4
        flat = model.optimizer._kernel.slot(0)
        for i, t in enumerate(model._net.tensors()):
            size = int(np.prod(t["shape"]))
            momentum = flat[t["offset"] : t["offset"] + size].reshape(t["shape"])
            np.testing.assert_array_equal(momentum, theirs[f"slot{i}"])
    with np.load(keras_run / "keras_adam.npz") as theirs:
        bare = make_model(compile=False)
        bare.load_weights(keras_run / "keras_adam.weights.h5")
        assert same_weights(bare.get_weights(), [theirs[f"w{i}"] for i in range(4)])
        np.testing.assert_allclose(bare.predict(x, verbose=0), theirs["pred"], rtol=1e-5, atol=1e-6)


def test_keras_adam_state_loads_into_a_compiled_fastnn_model(keras_run):
    model = make_model()  # compiled with Adam, as before model.load_weights(...)
    model.optimizer.build(model.trainable_variables)  # as in Keras, to take the saved state
    model.load_weights(keras_run / "keras_adam.weights.h5")
    with np.load(keras_run / "keras_adam.npz") as theirs:
        assert model.optimizer.iterations == int(theirs["iterations"])
        for i, slot in enumerate(adam_slots(model)):
            np.testing.assert_array_equal(slot, theirs[f"slot{i}"])


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_keras_written_keras_archives_load_in_fastnn(keras_run, kind):
    """A .keras archive Keras 3 wrote (config.json in Keras's form, weights as
    model.weights.h5): the same model type, layer names, predictions and
    optimizer state; it then trains on."""
    x = np.load(keras_run / "x.npy")
    model = models.load_model(keras_run / f"keras_{kind}.keras")
    with np.load(keras_run / f"keras_{kind}_model.npz") as theirs:
        assert isinstance(model, models.Model) == (kind == "functional")
        assert [layer.name for layer in model.layers] == list(theirs["names"])
        np.testing.assert_allclose(
            model.predict(x, verbose=0), theirs["pred"], rtol=1e-5, atol=1e-6
        )
        iterations = int(theirs["iterations"])
        assert model.optimizer.iterations == iterations > 0
    xs, ys = make_data(n=16, seed=9)
    model.fit(xs, ys, epochs=1, verbose=0)
    assert model.optimizer.iterations == iterations + 1
