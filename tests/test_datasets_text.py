"""The IMDB, Reuters and Boston housing loaders against Keras 3's own, on
generated files (nothing is downloaded from outside: downloads come from a
server on 127.0.0.1): the same shuffles, markers, limits and splits; the
checksummed download; ragged sequences read without unpickling anything but
NumPy arrays."""

from __future__ import annotations

import hashlib
import io
import json
import os

import numpy as np
import pytest
from keras_inprocess import keras_or_skip
from test_datasets import isolated, serve  # noqa: F401  (fixtures)

from fastnn import datasets
from fastnn.datasets import DatasetError, boston_housing, california_housing, imdb, reuters


def ragged(rng, n, vocabulary=40, longest=15) -> np.ndarray:
    sequences = np.empty(n, dtype=object)
    for i in range(n):
        sequences[i] = [int(w) for w in rng.integers(1, vocabulary, rng.integers(1, longest))]
    return sequences


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def imdb_body(rng) -> bytes:
    return npz(
        x_train=ragged(rng, 30),
        y_train=rng.integers(0, 2, 30),
        x_test=ragged(rng, 20),
        y_test=rng.integers(0, 2, 20),
    )


def reuters_body(rng) -> bytes:
    return npz(x=ragged(rng, 41), y=rng.integers(0, 46, 41))


def boston_body(rng) -> bytes:
    return npz(x=rng.standard_normal((23, 13)) * 10 + 50, y=rng.uniform(5, 50, 23))


def place(isolated, name, filename, body, monkeypatch):  # noqa: F811
    directory = isolated / "env" / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / filename).write_bytes(body)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    return directory / filename


def keras_module(name, path, monkeypatch):
    """Keras's loader module, reading `path` instead of downloading."""
    import importlib

    keras_or_skip()
    module = importlib.import_module(f"keras.src.datasets.{name}")
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(path))
    return module


def assert_same_splits(ours, theirs):
    for a, b in zip((*ours[0], *ours[1]), (*theirs[0], *theirs[1])):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype == object:
            assert [list(s) for s in a] == [list(s) for s in b]
        else:
            np.testing.assert_array_equal(a, b)


TEXT_ARGS = [
    {},
    {"num_words": 12},
    {"num_words": 20, "skip_top": 3, "seed": 5},
    {"maxlen": 9},
    {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 15},
    {"start_char": None, "index_from": 2},
]


@pytest.mark.parametrize("kwargs", TEXT_ARGS, ids=str)
def test_imdb_matches_kerass_loader(isolated, monkeypatch, rng, kwargs):  # noqa: F811
    path = place(isolated, "imdb", "imdb.npz", imdb_body(rng), monkeypatch)
    theirs = keras_module("imdb", path, monkeypatch).load_data(**kwargs)
    assert_same_splits(imdb.load_data(**kwargs), theirs)


@pytest.mark.parametrize("kwargs", TEXT_ARGS + [{"test_split": 0.5}], ids=str)
def test_reuters_matches_kerass_loader(isolated, monkeypatch, rng, kwargs):  # noqa: F811
    path = place(isolated, "reuters", "reuters.npz", reuters_body(rng), monkeypatch)
    theirs = keras_module("reuters", path, monkeypatch).load_data(**kwargs)
    assert_same_splits(reuters.load_data(**kwargs), theirs)
    assert reuters.get_label_names() == keras_module("reuters", path, monkeypatch).get_label_names()


@pytest.mark.parametrize("kwargs", [{}, {"test_split": 0.0}, {"test_split": 0.35, "seed": 7}])
def test_boston_housing_matches_kerass_loader(isolated, monkeypatch, rng, kwargs):  # noqa: F811
    path = place(isolated, "boston_housing", "boston_housing.npz", boston_body(rng), monkeypatch)
    theirs = keras_module("boston_housing", path, monkeypatch).load_data(**kwargs)
    ours = boston_housing.load_data(**kwargs)
    assert_same_splits(ours, theirs)
    assert ours[0][0].dtype == np.float64 and ours[0][0].shape[1] == 13


def california_body(rng, n=650) -> bytes:
    x = rng.standard_normal((n, 8)).astype(np.float32) * 3
    return npz(x=x, y=rng.uniform(2e4, 5e5, n).astype(np.float32))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"version": "small"},
        {"version": "small", "test_split": 0.0},
        {"test_split": 0.3, "seed": 2},
    ],
    ids=str,
)
def test_california_housing_matches_kerass_loader(isolated, monkeypatch, rng, kwargs):  # noqa: F811
    body = california_body(rng)
    path = place(isolated, "california_housing", "california_housing.npz", body, monkeypatch)
    theirs = keras_module("california_housing", path, monkeypatch).load_data(**kwargs)
    ours = california_housing.load_data(**kwargs)
    assert_same_splits(ours, theirs)
    assert ours[0][0].shape[1] == 8
    assert len(ours[0][0]) + len(ours[1][0]) == (600 if kwargs.get("version") else 650)
    with pytest.raises(ValueError, match="Argument `version` must be one of 'small', 'large'"):
        california_housing.load_data(version="medium")
    with pytest.raises(ValueError, match="between 0 and 1"):
        california_housing.load_data(test_split=-0.1)
    assert datasets.california_housing is california_housing


def test_text_loaders_errors(isolated, monkeypatch, rng):  # noqa: F811
    place(isolated, "imdb", "imdb.npz", imdb_body(rng), monkeypatch)
    with pytest.raises(ValueError, match="no sequence was kept. Increase maxlen"):
        imdb.load_data(maxlen=1)
    with pytest.warns(UserWarning, match="ignores the unknown keyword argument"):
        imdb.load_data(nb_words=3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        boston_housing.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="plain file name"):
        reuters.load_data(path="../reuters.npz")


def test_downloads_are_checksummed_into_the_cache(isolated, monkeypatch, rng, serve):  # noqa: F811
    body = reuters_body(rng)
    words = json.dumps({"the": 1, "of": 2}).encode()
    monkeypatch.setitem(reuters.FILE_HASHES, "reuters.npz", hashlib.sha256(body).hexdigest())
    monkeypatch.setitem(
        reuters.WORD_INDEX_HASHES, "reuters_word_index.json", hashlib.md5(words).hexdigest()
    )
    server = serve({"reuters.npz": body, "reuters_word_index.json": words})
    cache = str(isolated / "c")
    (x_train, _), _ = reuters.load_data(cache_dir=cache, base_url=server.url)
    assert len(x_train) == 32
    assert reuters.get_word_index(cache_dir=cache, base_url=server.url) == {"the": 1, "of": 2}
    assert sorted(os.listdir(isolated / "c" / "reuters")) == [
        "reuters.npz",
        "reuters_word_index.json",
    ]
    reuters.load_data(cache_dir=cache, base_url=server.url)  # from the cache now
    assert server.requests == ["/reuters.npz", "/reuters_word_index.json"]
    # a corrupted word index (MD5, as Keras checks it) is refused and not kept
    bad = serve({"imdb_word_index.json": words + b" "})
    monkeypatch.setitem(
        imdb.WORD_INDEX_HASHES, "imdb_word_index.json", hashlib.md5(words).hexdigest()
    )
    with pytest.raises(DatasetError, match="checksum mismatch .* expected MD5"):
        imdb.get_word_index(cache_dir=cache, base_url=bad.url)
    assert not os.path.exists(isolated / "c" / "imdb")


class Payload:
    """What a crafted dataset file would make an unpickler build."""

    built = []

    def __reduce__(self):
        return (Payload.built.append, ("ran",))


def test_a_crafted_pickle_is_refused_without_running_it(isolated, monkeypatch, rng):  # noqa: F811
    crafted = np.empty(2, dtype=object)
    crafted[0], crafted[1] = [1, 2], Payload()
    body = npz(x=crafted, y=np.zeros(2, np.int64))
    place(isolated, "reuters", "reuters.npz", body, monkeypatch)
    with pytest.raises(DatasetError, match="refusing to load builtins"):
        reuters.load_data()
    assert Payload.built == []
    place(isolated, "imdb", "imdb.npz", b"PK\x03\x04 truncated", monkeypatch)
    with pytest.raises(DatasetError, match="not a valid dataset file"):
        imdb.load_data()
    place(isolated, "boston_housing", "boston_housing.npz", npz(x=np.zeros((3, 13))), monkeypatch)
    with pytest.raises(DatasetError, match="no array 'y'"):
        boston_housing.load_data()


def test_public_names():
    assert datasets.imdb is imdb and datasets.reuters is reuters
    assert datasets.boston_housing is boston_housing
    assert imdb.FILE_HASHES["imdb.npz"].startswith("69664113")
    assert california_housing.FILE_HASHES["california_housing.npz"].startswith("1a2e3a52")


def test_paths_and_malformed_members(isolated, monkeypatch, rng):  # noqa: F811
    import pathlib

    place(isolated, "boston_housing", "mine.npz", boston_body(rng), monkeypatch)
    (x_train, _), _ = boston_housing.load_data(path=pathlib.Path("mine.npz"))
    assert x_train.shape == (18, 13)
    for bad in ("..", ".", "", "a/b.npz", 3):
        with pytest.raises(ValueError, match="plain file name"):
            boston_housing.load_data(path=bad)
    # a pickle that unpickles to no array: a DatasetError, not a raw TypeError
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([[1, 2]], dtype=object), allow_pickle=True)
    raw = bytearray(buffer.getvalue())
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x.npy", bytes(raw[:-8]))  # truncated pickle stream
        z.writestr("y.npy", npz_member(np.zeros(1)))
    place(isolated, "reuters", "reuters.npz", archive.getvalue(), monkeypatch)
    with pytest.raises(DatasetError, match="not a valid dataset file"):
        reuters.load_data()


def npz_member(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()
