"""fastnn.saving: the .keras archive, .weights.npz files, Keras-style serialization."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import saving


@pytest.fixture
def weights(rng):
    return {
        "layers/dense/vars/0": rng.standard_normal((7, 5)).astype(np.float32),
        "layers/dense/vars/1": rng.standard_normal(5).astype(np.float32),
        "layers/dense_1/vars/0": np.asfortranarray(rng.standard_normal((5, 3))).astype(np.float32),
        "layers/dense_1/vars/1": np.zeros(3, np.float32),
        "optimizer/vars/0": np.array(12, np.int64),
        "optimizer/vars/1": np.array(0.001, np.float32),
        "layers/empty/vars/0": np.zeros((0, 4), np.float32),
    }


CONFIG = {
    "module": "fastnn.models",
    "class_name": "Sequential",
    "config": {
        "name": "sequential",
        "layers": [
            {"module": "fastnn.layers", "class_name": "Dense", "config": {"units": 5}},
        ],
        "build_input_shape": [None, 7],
    },
    "compile_config": {"optimizer": "adam", "loss": "mse", "metrics": ["accuracy"]},
}


def assert_same_weights(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
        np.testing.assert_array_equal(a[key], b[key])


def test_archive_round_trip_is_exact(tmp_path, weights):
    path = tmp_path / "model.keras"
    saving.write_archive(path, CONFIG, weights, metadata={"note": "hi"})
    contents = saving.read_archive(path)
    config, loaded, metadata = contents
    assert config == CONFIG and contents.config is config
    assert_same_weights(weights, loaded)
    assert contents.weights is loaded
    assert metadata["fastnn_version"] == fastnn.__version__
    assert metadata["note"] == "hi"
    assert len(metadata["date_saved"]) == len("2026-01-31@12:00:00")


def test_archive_has_the_keras_layout(tmp_path, weights):
    path = tmp_path / "model.keras"
    saving.write_archive(path, CONFIG, weights)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.npz"]
        assert json.loads(zf.read("config.json")) == CONFIG
        inner = np.load(io.BytesIO(zf.read("model.weights.npz")), allow_pickle=False)
        assert sorted(inner.files) == sorted(weights)


def test_config_numpy_values_become_json(tmp_path):
    path = tmp_path / "m.keras"
    config = {"units": np.int64(3), "rate": np.float32(0.5), "shape": np.array([1, 2])}
    saving.write_archive(path, config, {})
    assert saving.read_archive(path).config == {"units": 3, "rate": 0.5, "shape": [1, 2]}


def test_weights_file_round_trip(tmp_path, weights):
    path = tmp_path / "w.weights.npz"
    saving.write_weights(path, weights)
    assert_same_weights(weights, saving.read_weights(path))
    archive = tmp_path / "m.keras"
    saving.write_archive(archive, CONFIG, weights)
    assert_same_weights(weights, saving.read_weights(archive))


def test_write_replaces_atomically_and_leaves_no_temporary_files(tmp_path, weights):
    path = tmp_path / "m.keras"
    saving.write_archive(path, CONFIG, weights)
    saving.write_archive(path, {"other": 1}, {})
    assert saving.read_archive(path).config == {"other": 1}
    assert os.listdir(tmp_path) == ["m.keras"]


def test_failed_write_keeps_the_previous_file(tmp_path, weights, monkeypatch):
    path = tmp_path / "m.keras"
    saving.write_archive(path, CONFIG, weights)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(saving.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        saving.write_archive(path, {"new": True}, weights)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]


def test_unserializable_config_fails_before_touching_the_file(tmp_path, weights):
    path = tmp_path / "m.keras"
    saving.write_archive(path, CONFIG, weights)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="function"):
        saving.write_archive(path, {"activation": lambda x: x}, weights)
    with pytest.raises(TypeError, match="numeric array"):
        saving.write_archive(path, CONFIG, {"a": np.array([object()])})
    with pytest.raises(TypeError, match="numeric array"):
        saving.write_weights(tmp_path / "w.weights.npz", {"a": np.array(["x"])})
    with pytest.raises(TypeError, match="keys"):
        saving.write_archive(path, CONFIG, {3: np.zeros(2)})
    with pytest.raises(TypeError, match="dict"):
        saving.write_archive(path, CONFIG, [np.zeros(2)])
    with pytest.raises(TypeError, match="config must be a dict"):
        saving.write_archive(path, [1], {})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]


def test_overwrite_false(tmp_path):
    path = tmp_path / "m.keras"
    saving.write_archive(path, {}, {})
    with pytest.raises(FileExistsError, match="overwrite=True"):
        saving.write_archive(path, {}, {}, overwrite=False)
    saving.write_weights(tmp_path / "w.weights.npz", {})
    with pytest.raises(FileExistsError):
        saving.write_weights(tmp_path / "w.weights.npz", {}, overwrite=False)


@pytest.mark.parametrize("name", ["model.h5", "model.zip", "model", "model.keras.bak"])
def test_archive_needs_the_keras_extension(tmp_path, name):
    with pytest.raises(ValueError, match=r"`\.keras` extension"):
        saving.write_archive(tmp_path / name, {}, {})
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(ValueError, match=r"`\.keras` extension"):
        saving.read_archive(tmp_path / name)


def test_weights_need_a_weights_extension_and_legacy_h5_is_explained(tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        saving.write_weights(tmp_path / "m.npz", {})
    with pytest.raises(ValueError, match=r"Keras 3 requires `\.weights\.h5`.*legacy"):
        saving.write_weights(tmp_path / "m.h5", {})
    (tmp_path / "m.h5").write_bytes(b"")
    with pytest.raises(ValueError, match=r"`\.weights\.h5` or `\.weights\.npz` or `\.keras`"):
        saving.read_weights(tmp_path / "m.h5")
    assert os.listdir(tmp_path) == ["m.h5"]


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file"):
        saving.read_archive(tmp_path / "nope.keras")
    with pytest.raises(FileNotFoundError, match="No such file"):
        saving.read_weights(tmp_path / "nope.weights.npz")
    (tmp_path / "d.keras").mkdir()
    with pytest.raises(IsADirectoryError):
        saving.read_archive(tmp_path / "d.keras")
    with pytest.raises(IsADirectoryError):
        saving.write_archive(tmp_path / "d.keras", {}, {})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        saving.write_archive(tmp_path / "no" / "dir.keras", {}, {})


@pytest.mark.parametrize("cut", [0, 10, 100, -30, -1])
def test_truncated_archive_is_a_clear_error(tmp_path, weights, cut):
    path = tmp_path / "m.keras"
    saving.write_archive(path, CONFIG, weights)
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut else b"")
    with pytest.raises(ValueError, match="truncated|corrupted|not a zip|damaged"):
        saving.read_archive(path)


@pytest.mark.parametrize("cut", [0, 5, 100, -10])
def test_truncated_weights_file_is_a_clear_error(tmp_path, weights, cut):
    path = tmp_path / "w.weights.npz"
    saving.write_weights(path, weights)
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut else b"")
    with pytest.raises(ValueError, match="truncated|corrupted|not a NumPy|not a valid"):
        saving.read_weights(path)


def test_foreign_files_are_clear_errors(tmp_path):
    text = tmp_path / "notes.keras"
    text.write_text("hello, I am not a model")
    with pytest.raises(ValueError, match="not a zip file"):
        saving.read_archive(text)
    other_zip = tmp_path / "other.keras"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="no config.json"):
        saving.read_archive(other_zip)
    keras_h5 = tmp_path / "keras.keras"
    with zipfile.ZipFile(keras_h5, "w") as zf:
        zf.writestr("config.json", "{}")
        zf.writestr("metadata.json", "{}")
        zf.writestr("model.weights.h5", b"\x89HDF\r\n")
    with pytest.raises(ValueError, match="HDF5"):
        saving.read_archive(keras_h5)
    bad_json = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad_json, "w") as zf:
        zf.writestr("config.json", "{not json")
        zf.writestr("model.weights.npz", b"")
    with pytest.raises(ValueError, match="damaged config.json"):
        saving.read_archive(bad_json)
    npy = tmp_path / "w.weights.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match="not a NumPy .npz"):
        saving.read_weights(npy)


def test_pickled_objects_are_never_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    npz = io.BytesIO()
    np.savez(npz, **{"layers/dense/vars/0": np.array([Boom()], dtype=object)})
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", "{}")
        zf.writestr("model.weights.npz", npz.getvalue())
    with pytest.raises(ValueError, match="pickled"):
        saving.read_archive(path)
    weights_path = tmp_path / "evil.weights.npz"
    weights_path.write_bytes(npz.getvalue())
    with pytest.raises(ValueError, match="pickled"):
        saving.read_weights(weights_path)
    raw = tmp_path / "raw.weights.npz"
    raw.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError):
        saving.read_weights(raw)
    assert not (tmp_path / "pwned").exists()


def test_layer_paths_follow_keras_naming():
    assert saving.layer_paths(["Dense", "Dropout", "Dense", "Flatten", "Dense"]) == [
        "layers/dense",
        "layers/dropout",
        "layers/dense_1",
        "layers/flatten",
        "layers/dense_2",
    ]
    assert saving.to_snake_case("InputLayer") == "input_layer"
    assert saving.to_snake_case("BatchNormalization") == "batch_normalization"
    assert saving.layer_paths([]) == []


class Thing:
    def __init__(self, units, activation="relu"):
        self.units = units
        self.activation = activation

    def get_config(self):
        return {"units": self.units, "activation": self.activation}


class Zeros:
    """A class a bare name instantiates (like "zeros" for an initializer)."""


class FromConfigThing(Thing):
    made_by = None

    @classmethod
    def from_config(cls, config):
        obj = cls(**config)
        obj.made_by = "from_config"
        return obj


def test_serialize_and_deserialize_round_trip():
    # A user's class: its own module and registered name (its class name), as Keras
    d = saving.serialize_keras_object(Thing(np.int64(4)), module="fastnn.layers")
    assert d == {
        "module": __name__,
        "class_name": "Thing",
        "config": {"units": 4, "activation": "relu"},
        "registered_name": "Thing",
    }
    json.dumps(d)
    obj = saving.deserialize_keras_object(d, {"Thing": Thing})
    assert isinstance(obj, Thing) and obj.units == 4
    d2 = saving.serialize_keras_object(FromConfigThing(2))
    assert d2["module"] == __name__
    obj2 = saving.deserialize_from_table(
        d2, {}, custom_objects={"FromConfigThing": FromConfigThing}
    )
    assert obj2.made_by == "from_config"
    assert saving.serialize_keras_object([1, (2.5, None), {"a": np.float32(1.5)}]) == [
        1,
        [2.5, None],
        {"a": 1.5},
    ]
    assert saving.deserialize_keras_object(None, {}) is None
    relu = lambda x: x  # noqa: E731
    assert saving.deserialize_keras_object("relu", {"relu": relu}) is relu  # functions as is
    assert isinstance(saving.deserialize_keras_object("Zeros", {"Zeros": Zeros}), Zeros)


def test_deserialize_only_uses_listed_classes():
    with pytest.raises(ValueError, match="Unknown class_name 'os.system'"):
        saving.deserialize_keras_object({"class_name": "os.system", "config": {}}, {"Thing": Thing})
    with pytest.raises(ValueError, match="Unknown object 'eval'"):
        saving.deserialize_keras_object("eval", {"Thing": Thing})
    with pytest.raises(ValueError, match="class_name"):
        saving.deserialize_keras_object({"config": {}}, {"Thing": Thing})
    with pytest.raises(ValueError, match="must be a dict"):
        saving.deserialize_keras_object({"class_name": "Thing", "config": [1]}, {"Thing": Thing})
    with pytest.raises(TypeError, match="no get_config"):
        saving.serialize_keras_object(object())


def test_pack_and_unpack_weights_round_trip(tmp_path, rng):
    k0, b0 = rng.standard_normal((4, 3)), rng.standard_normal(3)
    k1, b1 = rng.standard_normal((3, 2)), rng.standard_normal(2)
    opt = [np.array(5), np.array(0.01), rng.standard_normal((4, 3))]
    layers = [("Dense", [k0, b0]), ("Dropout", []), ("Dense", [k1, b1])]
    packed = saving.pack_weights(layers, opt)
    assert sorted(packed) == [
        "layers/dense/vars/0",
        "layers/dense/vars/1",
        "layers/dense_1/vars/0",
        "layers/dense_1/vars/1",
        "optimizer/vars/0",
        "optimizer/vars/1",
        "optimizer/vars/2",
    ]
    path = tmp_path / "m.keras"
    saving.write_archive(path, CONFIG, packed)
    spec = [("Dense", [(4, 3), (3,)]), ("Dropout", []), ("Dense", [(3, 2), (2,)])]
    per_layer, optimizer = saving.unpack_weights(saving.read_archive(path).weights, spec)
    for got, want in zip(per_layer, [[k0, b0], [], [k1, b1]]):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    assert len(optimizer) == 3 and int(optimizer[0]) == 5
    assert saving.unpack_weights(saving.pack_weights(layers), spec)[1] == []


def test_unpack_weights_names_every_mismatch():
    packed = saving.pack_weights([("Dense", [np.zeros((4, 3)), np.zeros(3)])])
    with pytest.raises(ValueError, match=r"layers/dense/vars/0 \(Dense\) has shape \(4, 3\); "
                       r"the model expects \(5, 3\)"):  # fmt: skip
        saving.unpack_weights(packed, [("Dense", [(5, 3), (3,)])])
    with pytest.raises(ValueError, match="layers/dense_1/vars/0 .* is missing"):
        saving.unpack_weights(packed, [("Dense", [(4, 3), (3,)]), ("Dense", [(3, 1), (1,)])])
    with pytest.raises(ValueError, match="weights the model lacks: layers/dense/vars/1"):
        saving.unpack_weights(packed, [("Dense", [(4, 3)])])


def test_saved_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        saving.write_archive(tmp_path / "m.keras", {}, {})
        saving.write_weights(tmp_path / "w.weights.npz", {})
    finally:
        os.umask(old)
    for name in ("m.keras", "w.weights.npz"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644


def test_a_deeply_nested_config_is_a_clear_error(tmp_path, weights):
    """json's RecursionError escaped load_model and model_from_json."""
    path = tmp_path / "deep.keras"
    saving.write_archive(path, {"class_name": "Sequential"}, weights)
    deep = b"[" * 100_000 + b"]" * 100_000
    rewritten = tmp_path / "rewritten.keras"
    with zipfile.ZipFile(path) as zi, zipfile.ZipFile(rewritten, "w") as zo:
        for name in zi.namelist():
            zo.writestr(name, deep if name == saving.CONFIG_FILENAME else zi.read(name))
    with pytest.raises(ValueError, match="damaged config.json"):
        saving.read_archive(rewritten)
    with pytest.raises(ValueError, match="model_from_json takes a JSON string"):
        fastnn.models.model_from_json(deep.decode())


@pytest.mark.parametrize("member", ["config.json", "model.weights.npz", "npz member"])
def test_zip_bomb_members_are_refused_before_they_are_read(tmp_path, weights, monkeypatch, member):
    """A member declaring far more bytes than it stores (a zip bomb) was read
    whole into memory; the guard (Keras's HDF5 rule: above a floor, at most
    1000x expansion; JSON at most 64 MiB) runs on the central directory.
    The floors are lowered here to keep the bomb small."""
    monkeypatch.setattr(saving, "_H5_BOMB_FLOOR_BYTES", 1 << 20)
    monkeypatch.setattr(saving, "_H5_MAX_EXPANSION", 100)
    monkeypatch.setattr(saving, "_JSON_MAX_BYTES", 1 << 20)
    path = tmp_path / "bomb.keras"
    saving.write_archive(path, {"class_name": "Sequential"}, weights)
    zeros = b"0" * (8 << 20)
    bomb = tmp_path / "bomb2.keras"
    with zipfile.ZipFile(path) as zi, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zo:
        for name in zi.namelist():
            data = zi.read(name)
            if member == "config.json" and name == saving.CONFIG_FILENAME:
                data = b'{"class_name": "Sequential", "pad": "' + zeros + b'"}'
            if member == "model.weights.npz" and name == saving.WEIGHTS_FILENAME:
                data += zeros
            if member == "npz member" and name == saving.WEIGHTS_FILENAME:
                inner = io.BytesIO()
                np.savez_compressed(inner, big=np.zeros(8 << 20, np.uint8))
                data = inner.getvalue()
            zo.writestr(name, data)
    pattern = "declares .* bytes" if member != "config.json" else "config.json declares"
    with pytest.raises(ValueError, match=pattern):
        saving.read_archive(bomb)


def test_saving_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path, weights):
    """The atomic rename replaced the link itself with a regular file and left
    its target stale (open(path, "wb"), and Keras, write through the link)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    target = runs / "model.keras"
    saving.write_archive(target, CONFIG, weights)
    link = tmp_path / "latest.keras"
    link.symlink_to(target)
    saving.write_archive(link, {"other": 1}, {})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert saving.read_archive(target).config == {"other": 1}
    assert sorted(os.listdir(runs)) == ["model.keras"]  # no temporary file left
    weights_link = tmp_path / "w.weights.npz"
    weights_link.symlink_to(runs / "w.weights.npz")  # dangling until written
    saving.write_weights(weights_link, weights)
    assert weights_link.is_symlink() and (runs / "w.weights.npz").is_file()
