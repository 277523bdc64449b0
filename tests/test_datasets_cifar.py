"""fastnn.datasets.cifar10 and cifar100 on generated archives (nothing is
downloaded from outside: downloads come from a server on 127.0.0.1): Keras's
shapes, dtypes and pixel layout, the search order, the checksummed download,
and archives and pickles that are damaged, foreign or crafted."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest
from keras_inprocess import keras_or_skip
from test_datasets import closed_port, isolated, serve  # noqa: F401  (fixtures)

from fastnn import datasets
from fastnn.datasets import DatasetError, cifar10, cifar100

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR100_FOLDER = "cifar-100-python"
CIFAR100_ARCHIVE = "cifar-100-python.tar.gz"


class Py2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle did the CIFAR files (protocol 2): bytes
    and str as Python 2 strings (BINSTRING, not Python 3's `_codecs.encode`),
    NumPy's reconstruction function under ``numpy.core``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_string(self, obj):
        if isinstance(obj, str):
            obj = obj.encode("ascii")
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    def save_global(self, obj, name=None):
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = dispatch[str] = save_py2_string
    dispatch[type] = save_global


def py2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def batch(rng, n, **labels) -> bytes:
    """A batch file as CIFAR's: bytes keys, uint8 `data`, lists of labels."""
    content = {
        b"batch_label": b"generated batch",
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    for key, classes in labels.items():
        content[key.encode()] = [int(v) for v in rng.integers(0, classes, n)]
    return py2_pickle(content)


def cifar10_files(rng, n=3) -> dict:
    files = {f"data_batch_{i}": batch(rng, n + i, labels=10) for i in range(1, 6)}
    files["test_batch"] = batch(rng, n, labels=10)
    files["batches.meta"] = py2_pickle({b"label_names": [b"airplane"] * 10})
    return files


def cifar100_files(rng, n_train=7, n_test=4) -> dict:
    return {
        "train": batch(rng, n_train, fine_labels=100, coarse_labels=20),
        "test": batch(rng, n_test, fine_labels=100, coarse_labels=20),
        "meta": py2_pickle({b"fine_label_names": [b"apple"] * 100}),
    }


def tar_gz(folder, files, extra=()) -> bytes:
    """The archive of `files` in `folder/` (and the folder's own entry), then
    the `extra` TarInfo members, as (info, content or None)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(folder)
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for info, content in extra:
            tar.addfile(info, None if content is None else io.BytesIO(content))
    return buffer.getvalue()


def unpickled(content: bytes) -> dict:
    return pickle.loads(content, encoding="bytes")


def expected10(files):
    """What Keras returns for these batch files, computed by hand."""

    def split(names):
        parts = [unpickled(files[name]) for name in names]
        x = np.concatenate([p[b"data"] for p in parts]).reshape(-1, 3, 32, 32)
        y = np.concatenate([p[b"labels"] for p in parts]).astype(np.uint8)
        return x.transpose(0, 2, 3, 1), y.reshape(-1, 1)

    return split([f"data_batch_{i}" for i in range(1, 6)]), split(["test_batch"])


def assert_same(ours, theirs, label_dtype=np.uint8):
    for a, b in zip((*ours[0], *ours[1]), (*theirs[0], *theirs[1])):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    (x_train, y_train), (x_test, y_test) = ours
    assert x_train.dtype == x_test.dtype == np.uint8
    assert y_train.dtype == y_test.dtype == label_dtype
    assert x_train.flags.c_contiguous and x_test.flags.c_contiguous


def write_folder(directory, files):
    os.makedirs(directory, exist_ok=True)
    for name, content in files.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(content)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- values, shapes, dtypes -------------------------------------------------------------------


def test_cifar10_shapes_dtypes_and_pixel_layout(isolated, monkeypatch, rng):  # noqa: F811
    files = cifar10_files(rng)
    write_folder(isolated / "env" / "cifar10" / CIFAR10_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    (x_train, y_train), (x_test, y_test) = got = cifar10.load_data()
    assert x_train.shape == (4 + 5 + 6 + 7 + 8, 32, 32, 3) and y_train.shape == (30, 1)
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1)
    assert_same(got, expected10(files))
    # row 1 of the test batch: its red plane, then green, then blue, each row by row
    data = unpickled(files["test_batch"])[b"data"]
    for r, c in ((0, 0), (5, 17), (31, 31)):
        np.testing.assert_array_equal(
            x_test[1, r, c], [data[1, r * 32 + c], data[1, 1024 + r * 32 + c],
                              data[1, 2048 + r * 32 + c]]
        )  # fmt: skip
    assert y_test[:, 0].tolist() == unpickled(files["test_batch"])[b"labels"]
    assert y_train[:4, 0].tolist() == unpickled(files["data_batch_1"])[b"labels"]


def test_channels_first_when_image_data_format_says_so(isolated, monkeypatch, rng):  # noqa: F811
    files = cifar10_files(rng)
    write_folder(isolated / "env" / "cifar10" / CIFAR10_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    import fastnn.backend

    monkeypatch.setattr(fastnn.backend, "image_data_format", lambda: "channels_first")
    (_, _), (x_test, _) = cifar10.load_data()
    assert x_test.shape == (3, 3, 32, 32)
    data = unpickled(files["test_batch"])[b"data"]
    np.testing.assert_array_equal(x_test.reshape(3, -1), data)


def keras_cifar(module_name, directory, monkeypatch):
    """Keras's loader module, reading the extracted folder in `directory`."""
    import importlib

    keras_or_skip()
    module = importlib.import_module(f"keras.src.datasets.{module_name}")
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(directory))
    return module


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_matches_kerass_loader(isolated, monkeypatch, rng, label_mode):  # noqa: F811
    files = cifar100_files(rng)
    write_folder(isolated / "env" / "cifar100" / CIFAR100_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    theirs = keras_cifar("cifar100", isolated / "env" / "cifar100", monkeypatch).load_data(
        label_mode
    )
    ours = cifar100.load_data(label_mode)
    # Keras reshapes the pickle's list of labels: int64, its docstring's uint8 notwithstanding
    assert_same(ours, theirs, label_dtype=np.int64)
    (x_train, y_train), (x_test, y_test) = ours
    assert x_train.shape == (7, 32, 32, 3) and y_train.shape == (7, 1)
    assert x_test.shape == (4, 32, 32, 3) and y_test.shape == (4, 1)
    assert y_test[:, 0].tolist() == unpickled(files["test"])[f"{label_mode}_labels".encode()]
    assert cifar100.load_data(label_mode=label_mode)[0][1].tolist() == y_train.tolist()


@pytest.mark.slow
def test_cifar10_matches_kerass_loader_at_full_size(isolated, monkeypatch):  # noqa: F811
    """Keras's cifar10 loader hard-codes 10,000 images a batch."""
    rng = np.random.default_rng(3)
    files = {f"data_batch_{i}": batch(rng, 10000, labels=10) for i in range(1, 6)}
    files["test_batch"] = batch(rng, 10000, labels=10)
    write_folder(isolated / "env" / "cifar10" / CIFAR10_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    theirs = keras_cifar("cifar10", isolated / "env" / "cifar10", monkeypatch).load_data()
    ours = cifar10.load_data()
    assert_same(ours, theirs)
    assert ours[0][0].shape == (50000, 32, 32, 3) and ours[1][1].shape == (10000, 1)


def test_label_mode(isolated, monkeypatch, rng):  # noqa: F811
    files = cifar100_files(rng)
    write_folder(isolated / "env" / "cifar100" / CIFAR100_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    fine = cifar100.load_data()
    coarse = cifar100.load_data("coarse")
    np.testing.assert_array_equal(fine[0][0], coarse[0][0])
    assert fine[0][1][:, 0].tolist() == unpickled(files["train"])[b"fine_labels"]
    assert coarse[0][1][:, 0].tolist() == unpickled(files["train"])[b"coarse_labels"]
    assert int(coarse[0][1].max()) < 20
    for bad in ("Fine", "medium", None, ["fine"]):
        with pytest.raises(ValueError) as raised:
            cifar100.load_data(label_mode=bad)
        assert str(raised.value) == (
            f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={bad}.'
        )


# -- where the data is found ------------------------------------------------------------------


def test_search_order_folder_or_archive(isolated, monkeypatch, rng):  # noqa: F811
    a, b, c = cifar10_files(rng), cifar10_files(rng), cifar10_files(rng)
    offline = f"http://127.0.0.1:{closed_port()}/"
    (isolated / "system" / "cifar10").mkdir(parents=True)
    (isolated / "system" / "cifar10" / CIFAR10_ARCHIVE).write_bytes(tar_gz(CIFAR10_FOLDER, c))
    assert_same(cifar10.load_data(base_url=offline), expected10(c))
    write_folder(isolated / "home" / ".fastnn" / "datasets" / "cifar10" / CIFAR10_FOLDER, b)
    assert_same(cifar10.load_data(base_url=offline), expected10(b))
    write_folder(isolated / "env" / "cifar10" / CIFAR10_FOLDER, a)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    assert_same(cifar10.load_data(base_url=offline), expected10(a))
    # an incomplete folder is skipped
    os.remove(isolated / "env" / "cifar10" / CIFAR10_FOLDER / "data_batch_3")
    assert_same(cifar10.load_data(base_url=offline), expected10(b))
    other = isolated / "other" / "cifar10"
    other.mkdir(parents=True)
    (other / CIFAR10_ARCHIVE).write_bytes(tar_gz(CIFAR10_FOLDER, a))
    monkeypatch.delenv("FASTNN_DATA")
    assert_same(cifar10.load_data(cache_dir=str(isolated / "other")), expected10(a))


def test_cifar100_from_an_archive_in_fastnn_data(isolated, monkeypatch, rng):  # noqa: F811
    files = cifar100_files(rng)
    (isolated / "env" / "cifar100").mkdir(parents=True)
    archive = tar_gz(
        CIFAR100_FOLDER, files, [(tarfile.TarInfo(f"{CIFAR100_FOLDER}/file.txt~"), b"")]
    )
    (isolated / "env" / "cifar100" / CIFAR100_ARCHIVE).write_bytes(archive)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    (x_train, y_train), (x_test, _) = cifar100.load_data("coarse")
    data = unpickled(files["train"])[b"data"]
    np.testing.assert_array_equal(x_train.transpose(0, 3, 1, 2).reshape(7, -1), data)
    assert y_train[:, 0].tolist() == unpickled(files["train"])[b"coarse_labels"]
    assert x_test.shape == (4, 32, 32, 3)


# -- downloads --------------------------------------------------------------------------------


def test_download_verifies_and_fills_the_cache(isolated, monkeypatch, rng, serve):  # noqa: F811
    files = cifar10_files(rng)
    archive = tar_gz(CIFAR10_FOLDER, files)
    monkeypatch.setitem(cifar10.SPEC, "digest", sha256(archive))
    server = serve({f"mirror/{CIFAR10_ARCHIVE}": archive})
    cache = isolated / "cache"
    assert_same(
        cifar10.load_data(cache_dir=str(cache), base_url=server.url + "mirror"), expected10(files)
    )
    assert os.listdir(cache / "cifar10") == [CIFAR10_ARCHIVE]  # kept packed, no temporary file
    assert (cache / "cifar10" / CIFAR10_ARCHIVE).read_bytes() == archive
    assert_same(cifar10.load_data(cache_dir=str(cache), base_url=server.url), expected10(files))
    assert server.requests == [f"/mirror/{CIFAR10_ARCHIVE}"]  # the second load read the cache


def test_cifar100_download_url_from_the_environment(isolated, monkeypatch, rng, serve):  # noqa: F811
    archive = tar_gz(CIFAR100_FOLDER, cifar100_files(rng))
    monkeypatch.setitem(cifar100.SPEC, "digest", sha256(archive))
    server = serve({CIFAR100_ARCHIVE: archive})
    monkeypatch.setenv("FASTNN_DATASETS_URL", server.url)
    (x_train, _), _ = cifar100.load_data()
    assert x_train.shape == (7, 32, 32, 3)
    home_cache = isolated / "home" / ".fastnn" / "datasets" / "cifar100"
    assert os.listdir(home_cache) == [CIFAR100_ARCHIVE]
    assert server.requests == [f"/{CIFAR100_ARCHIVE}"]


def test_corrupted_download_is_a_clear_error_and_leaves_nothing(isolated, monkeypatch, rng, serve):  # noqa: F811, E501
    archive = tar_gz(CIFAR10_FOLDER, cifar10_files(rng))
    monkeypatch.setitem(cifar10.SPEC, "digest", sha256(archive))
    corrupted = bytearray(archive)
    corrupted[len(corrupted) // 2] ^= 0xFF
    server = serve({CIFAR10_ARCHIVE: bytes(corrupted)})
    cache = isolated / "cache"
    with pytest.raises(DatasetError, match="checksum mismatch .* expected SHA-256") as raised:
        cifar10.load_data(cache_dir=str(cache), base_url=server.url)
    assert "nothing was stored" in str(raised.value)
    assert not (cache / "cifar10").exists()
    truncated = serve({CIFAR10_ARCHIVE: archive[:-100]})
    with pytest.raises(DatasetError, match="checksum mismatch"):
        cifar10.load_data(cache_dir=str(cache), base_url=truncated.url)
    assert not (cache / "cifar10").exists()


@pytest.mark.parametrize(
    "module, archive, folder",
    [
        (cifar10, CIFAR10_ARCHIVE, CIFAR10_FOLDER),
        (cifar100, CIFAR100_ARCHIVE, CIFAR100_FOLDER),
    ],
    ids=["cifar10", "cifar100"],
)
def test_offline_is_a_clear_error_that_says_what_to_do(isolated, module, archive, folder):  # noqa: F811
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(DatasetError) as raised:
        module.load_data(base_url=url)
    message = str(raised.value)
    assert message.startswith(f"{module.NAME}: download of {url}{archive} failed")
    assert f"looked for {archive} or its extracted {folder}/ folder" in message
    assert os.path.join(str(isolated / "home"), ".fastnn", "datasets", module.NAME) in message
    assert "FASTNN_DATA" in message and "FASTNN_DATASETS_URL" in message
    assert not (isolated / "home" / ".fastnn").exists()


def test_the_default_origins_are_kerass():
    assert cifar10.SPEC["origin"] + cifar10.SPEC["archive"] == (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    )
    assert cifar100.SPEC["origin"] + cifar100.SPEC["archive"] == (
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    )
    assert cifar10.SPEC["digest"].startswith("6d958be0")
    assert cifar100.SPEC["digest"].startswith("85cd44d0")
    assert datasets.cifar10 is cifar10 and datasets.cifar100 is cifar100
    from fastnn.datasets.cifar10 import load_data

    assert load_data is cifar10.load_data


# -- damaged, foreign and crafted files -------------------------------------------------------


# Python 2's os.system("touch <marker>") as a pickle: protocol 0, a GLOBAL os system
def crafted_pickle(marker) -> bytes:
    return b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."


def test_a_pickle_that_would_run_code_is_refused(isolated, monkeypatch, rng, serve):  # noqa: F811
    marker = isolated / "ran"
    files = cifar10_files(rng)
    files["data_batch_2"] = crafted_pickle(marker)
    directory = isolated / "env" / "cifar10"
    write_folder(directory / CIFAR10_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    with pytest.raises(DatasetError, match="refusing to load os.system") as raised:
        cifar10.load_data()
    assert "data_batch_2 is not a CIFAR batch file" in str(raised.value)
    assert not marker.exists()
    # the same inside a downloaded archive (its checksum right: a crafted mirror)
    archive = tar_gz(CIFAR10_FOLDER, files)
    monkeypatch.setitem(cifar10.SPEC, "digest", sha256(archive))
    monkeypatch.delenv("FASTNN_DATA")
    server = serve({CIFAR10_ARCHIVE: archive})
    with pytest.raises(DatasetError, match="refusing to load os.system"):
        cifar10.load_data(cache_dir=str(isolated / "cache"), base_url=server.url)
    assert not marker.exists()
    # a Python 3 pickle of bytes needs _codecs.encode below protocol 3: refused too
    files["data_batch_2"] = pickle.dumps({b"data": b"x"}, protocol=2)
    write_folder(directory / CIFAR10_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    with pytest.raises(DatasetError, match="refusing to load _codecs.encode"):
        cifar10.load_data()


def member(name, kind=tarfile.REGTYPE, content=b"", linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(content) if kind == tarfile.REGTYPE else 0
    return info, content if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize(
    "extra, match",
    [
        ([member("evil.sh", content=b"rm -rf /")], "unexpected member 'evil.sh'"),
        ([member(f"{CIFAR10_FOLDER}/../../x", content=b"1")], "unexpected member"),
        ([member("/etc/passwd", content=b"1")], "unexpected member '/etc/passwd'"),
        ([member(f"{CIFAR10_FOLDER}/deep/x", content=b"1")], "unexpected member"),
        (
            [member(f"{CIFAR10_FOLDER}/readme.html", tarfile.SYMTYPE, linkname="/etc/passwd")],
            "is a symbolic link, not a regular file",
        ),
        (
            [member(f"{CIFAR10_FOLDER}/x", tarfile.LNKTYPE, linkname=f"{CIFAR10_FOLDER}/y")],
            "is a hard link",
        ),
        ([member(f"{CIFAR10_FOLDER}/dev", tarfile.CHRTYPE)], "is a device or FIFO"),
        ([member(f"{CIFAR10_FOLDER}/fifo", tarfile.FIFOTYPE)], "is a device or FIFO"),
        ([member(f"{CIFAR10_FOLDER}/test_batch", content=b"x")], "stands twice"),
    ],
)
def test_a_foreign_or_crafted_archive_is_refused(isolated, monkeypatch, rng, extra, match):  # noqa: F811
    write_folder(isolated / "system" / "cifar10", {})
    path = isolated / "system" / "cifar10" / CIFAR10_ARCHIVE
    path.write_bytes(tar_gz(CIFAR10_FOLDER, cifar10_files(rng), extra))
    with pytest.raises(DatasetError, match=match) as raised:
        cifar10.load_data()
    assert str(path) in str(raised.value) and "delete or replace it" in str(raised.value)
    assert sorted(os.listdir(isolated)) == ["system"]  # nothing extracted anywhere


def test_a_symlinked_batch_is_refused(isolated, rng):  # noqa: F811
    files = cifar10_files(rng)
    del files["data_batch_1"]
    link = member(f"{CIFAR10_FOLDER}/data_batch_1", tarfile.SYMTYPE, linkname="test_batch")
    write_folder(
        isolated / "system" / "cifar10", {CIFAR10_ARCHIVE: tar_gz(CIFAR10_FOLDER, files, [link])}
    )
    with pytest.raises(DatasetError, match="'cifar-10-batches-py/data_batch_1' is a symbolic link"):
        cifar10.load_data()


def test_truncated_damaged_or_incomplete_archives(isolated, rng):  # noqa: F811
    files = cifar10_files(rng)
    archive = tar_gz(CIFAR10_FOLDER, files)
    path = isolated / "system" / "cifar10" / CIFAR10_ARCHIVE
    write_folder(path.parent, {})
    for body in (archive[: len(archive) // 2], b"\x1f\x8b" + b"\x00" * 40, b"not a tar.gz at all"):
        path.write_bytes(body)
        with pytest.raises(DatasetError, match="damaged or not a tar.gz archive"):
            cifar10.load_data()
    del files["test_batch"]
    path.write_bytes(tar_gz(CIFAR10_FOLDER, files))
    with pytest.raises(DatasetError, match="lacks cifar-10-batches-py/test_batch"):
        cifar10.load_data()
    # CIFAR-100's archive is not CIFAR-10's
    path.write_bytes(tar_gz(CIFAR100_FOLDER, cifar100_files(rng)))
    with pytest.raises(DatasetError, match="unexpected member 'cifar-100-python'"):
        cifar10.load_data()


def bad_batch(rng, **changes) -> bytes:
    content = unpickled(batch(rng, 3, labels=10))
    content.update({k.encode(): v for k, v in changes.items()})
    return py2_pickle({k: v for k, v in content.items() if v is not None})


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"data": np.zeros((3, 3072), np.float32)}, r"expected uint8 images of shape \(n, 3072\)"),
        ({"data": np.zeros((3, 32, 32, 3), np.uint8)}, "expected uint8 images"),
        ({"data": np.zeros((3, 3000), np.uint8)}, "expected uint8 images"),
        ({"data": None}, "needs an array 'data' and 'labels'"),
        ({"labels": None}, "needs an array 'data' and 'labels'"),
        ({"labels": [1, 2]}, "expected 3 integer labels in 'labels'"),
        ({"labels": [1.5, 2, 3]}, "expected 3 integer labels"),
        ({"labels": [1, 10, 3]}, "label 10 is outside 0-9"),
        ({"labels": [1, -1, 3]}, "label -1 is outside 0-9"),
    ],
    ids=str,
)
def test_inconsistent_batches_are_clear_errors(isolated, monkeypatch, rng, changes, match):  # noqa: F811
    files = cifar10_files(rng)
    files["test_batch"] = bad_batch(rng, **changes)
    write_folder(isolated / "env" / "cifar10" / CIFAR10_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    with pytest.raises(DatasetError, match=match) as raised:
        cifar10.load_data()
    assert "test_batch" in str(raised.value)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "is not a CIFAR batch file .EOFError"),
        (py2_pickle({b"data": 1})[:-5], "is not a CIFAR batch file"),
        (py2_pickle([1, 2]), "holds a list, not a CIFAR batch"),
    ],
)
def test_damaged_pickles(isolated, monkeypatch, rng, content, match):  # noqa: F811
    files = cifar100_files(rng)
    files["test"] = content
    write_folder(isolated / "env" / "cifar100" / CIFAR100_FOLDER, files)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    with pytest.raises(DatasetError, match=match):
        cifar100.load_data()
    files["test"] = bad_batch(rng)  # labels, not fine_labels
    write_folder(isolated / "env" / "cifar100" / CIFAR100_FOLDER, files)
    with pytest.raises(DatasetError, match="needs an array 'data' and 'fine_labels'"):
        cifar100.load_data()
