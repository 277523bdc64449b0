"""fastnn.datasets: IDX reading, the search order, checksummed downloads."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib
import io
import os
import socket
import threading

import numpy as np
import pytest

from fastnn import datasets
from fastnn.datasets import DatasetError, fashion_mnist, mnist, read_idx

common = importlib.import_module("fastnn.datasets._common")

FASHION_NAMES = tuple(fashion_mnist.FILE_HASHES)  # train labels, train images, test ...


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=dtype).tobytes()


def make_split(rng, n_train=7, n_test=3, rows=4, cols=5):
    x_train = rng.integers(0, 256, (n_train, rows, cols), dtype=np.uint8)
    y_train = rng.integers(0, 10, n_train, dtype=np.uint8)
    x_test = rng.integers(0, 256, (n_test, rows, cols), dtype=np.uint8)
    y_test = rng.integers(0, 10, n_test, dtype=np.uint8)
    return (x_train, y_train), (x_test, y_test)


def idx_files(data, gz=True) -> dict:
    """{canonical .gz file name: bytes} (gzipped or raw content)."""
    (x_train, y_train), (x_test, y_test) = data
    arrays = [y_train, x_train, y_test, x_test]
    out = {}
    for name, arr in zip(FASHION_NAMES, arrays):
        raw = idx_bytes(arr)
        out[name] = gzip.compress(raw, mtime=0) if gz else raw
    return out


def write_set(directory, data, gz=True):
    os.makedirs(directory, exist_ok=True)
    for name, content in idx_files(data, gz).items():
        filename = name if gz else name[:-3]
        with open(os.path.join(directory, filename), "wb") as f:
            f.write(content)


def assert_same(a, b):
    (xa, ya), (xta, yta) = a
    (xb, yb), (xtb, ytb) = b
    for u, v in ((xa, xb), (ya, yb), (xta, xtb), (yta, ytb)):
        assert u.dtype == np.uint8 and u.shape == v.shape
        np.testing.assert_array_equal(u, v)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No FASTNN_DATA, an empty home cache, an empty system directory."""
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    monkeypatch.delenv("FASTNN_DATASETS_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(common, "SYSTEM_DIR", str(tmp_path / "system"))
    return tmp_path


class Server:
    """A small HTTP server on 127.0.0.1 serving {path: bytes}, counting requests."""

    def __init__(self, files):
        self.files = dict(files)
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def serve():
    servers = []

    def start(files):
        server = Server(files)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- read_idx ------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, arr",
    [
        (0x08, np.arange(24, dtype=np.uint8).reshape(2, 3, 4)),
        (0x09, np.array([-3, 0, 5], np.int8)),
        (0x0B, np.array([[-300, 2], [7, 32000]], np.int16)),
        (0x0C, np.array([1 << 30, -5], np.int32)),
        (0x0D, np.array([1.5, -2.25], np.float32)),
        (0x0E, np.array([[np.pi]], np.float64)),
        (0x08, np.zeros((0, 28, 28), np.uint8)),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_types_and_compression(tmp_path, code, arr, gz):
    data = idx_bytes(arr, code)
    path = tmp_path / "f.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    got = read_idx(path)
    assert got.shape == arr.shape and got.dtype == arr.dtype.newbyteorder("=")
    np.testing.assert_array_equal(got, arr)
    assert got.flags.writeable and got.dtype.isnative


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "bad magic"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "bad magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown type code 0x07"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
        (b"\x00\x00\x08\x00", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "trailing data"),
        (b"\x1f\x8b\x08\x00garbage", "damaged gzip"),
        # 65536**4 bytes wrapped an int64 product to 0: was NumPy's reshape ValueError
        pytest.param(
            b"\x00\x00\x08\x04" + b"\x00\x01\x00\x00" * 4,
            r"18446744073709551636 bytes",
            id="size_wraps_int64_to_0",
        ),
        # an int64 product gone negative: the message said "-8589934575 bytes"
        pytest.param(
            b"\x00\x00\x08\x03" + b"\xff" * 8 + b"\x00\x00\x00\x01",
            r"18446744065119617041 bytes",
            id="size_wraps_int64_negative",
        ),
        # more axes than NumPy has: was NumPy's "maximum supported dimension" ValueError
        pytest.param(
            b"\x00\x00\x08\xff" + b"\x00\x00\x00\x01" * 255 + b"\x07",
            "255 dimensions",
            id="255_dimensions",
        ),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, content, match):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=match):
        read_idx(path)


def test_read_idx_refuses_a_gzip_bomb_without_expanding_it(tmp_path, monkeypatch):
    """gzip.decompress expanded the whole file in memory first. The limit
    (1 GiB) is lowered here to keep the bomb small."""
    monkeypatch.setattr(common, "_MAX_IDX_BYTES", 1 << 20)
    header = b"\x00\x00\x08\x01" + (4 << 20).to_bytes(4, "big")
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(header + bytes(4 << 20)))
    with pytest.raises(DatasetError, match=r"decompresses to more than 1048576 bytes"):
        read_idx(path)
    small = tmp_path / "small-idx1-ubyte.gz"
    small.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02\x07\x09"))
    np.testing.assert_array_equal(read_idx(small), [7, 9])  # below the limit: as before


def test_read_idx_inflates_a_gzip_only_as_far_as_its_header_says(tmp_path):
    """A header of 2 bytes over 200 MB of zeros (200 KB gzipped) is refused as
    trailing data after inflating 3 bytes of data, not 200 MB."""
    import tracemalloc

    header = b"\x00\x00\x08\x01" + (2).to_bytes(4, "big")
    path = tmp_path / "long-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(header + bytes(200 << 20), compresslevel=1))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="trailing data"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < (20 << 20), peak


def test_read_idx_truncated_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.zeros((10, 28, 28), np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="damaged gzip"):
        read_idx(path)


# -- the search order -------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_reads_from_fastnn_data(isolated, monkeypatch, rng, gz):
    data = make_split(rng)
    write_set(isolated / "mine" / "fashion-mnist", data, gz=gz)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "mine"))
    assert_same(fashion_mnist.load_data(base_url="http://127.0.0.1:9/"), data)


def test_search_order_fastnn_data_then_cache_then_system(isolated, monkeypatch, rng):
    a, b, c = make_split(rng), make_split(rng), make_split(rng)
    write_set(isolated / "system" / "fashion-mnist", c)
    assert_same(fashion_mnist.load_data(), c)
    write_set(isolated / "home" / ".fastnn" / "datasets" / "fashion-mnist", b)
    assert_same(fashion_mnist.load_data(), b)
    write_set(isolated / "env" / "fashion-mnist", a)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    assert_same(fashion_mnist.load_data(), a)
    # cache_dir replaces the home cache
    write_set(isolated / "other" / "fashion-mnist", b)
    monkeypatch.delenv("FASTNN_DATA")
    assert_same(fashion_mnist.load_data(cache_dir=str(isolated / "other")), b)


def test_an_incomplete_directory_is_skipped_and_mixed_compression_is_fine(
    isolated, monkeypatch, rng
):
    full, partial = make_split(rng), make_split(rng)
    write_set(isolated / "env" / "fashion-mnist", partial)
    os.remove(isolated / "env" / "fashion-mnist" / FASHION_NAMES[3])
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    directory = isolated / "system" / "fashion-mnist"
    write_set(directory, full, gz=True)
    raw = idx_files(full, gz=False)[FASHION_NAMES[1]]
    os.remove(directory / FASHION_NAMES[1])
    (directory / FASHION_NAMES[1][:-3]).write_bytes(raw)
    assert_same(fashion_mnist.load_data(), full)


def test_mnist_and_fashion_are_kept_apart(isolated, monkeypatch, rng):
    data = make_split(rng)
    write_set(isolated / "env" / "mnist", data)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    assert_same(mnist.load_data(), data)
    with pytest.raises(DatasetError):
        fashion_mnist.load_data(base_url="http://127.0.0.1:9/")


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda d: (d[0][0][:5], d[0][1]), "7 labels|5 images but 7 labels"),
        (lambda d: (d[0][0], np.full(7, 10, np.uint8)), "label 10 is outside 0-9"),
        (lambda d: (d[0][0].reshape(7, 20), d[0][1]), "shape"),
    ],
)
def test_inconsistent_files_are_clear_errors(isolated, monkeypatch, rng, damage, match):
    data = make_split(rng)
    bad = (damage(data), data[1])
    write_set(isolated / "env" / "fashion-mnist", bad)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    with pytest.raises(DatasetError, match=match):
        fashion_mnist.load_data()


def test_a_damaged_local_file_says_what_to_do(isolated, monkeypatch, rng):
    directory = isolated / "env" / "fashion-mnist"
    write_set(directory, make_split(rng))
    path = directory / FASHION_NAMES[1]
    path.write_bytes(path.read_bytes()[:40])
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    with pytest.raises(DatasetError, match="Delete or replace the damaged file"):
        fashion_mnist.load_data()


# -- downloads ------------------------------------------------------------------


def test_download_verifies_and_fills_the_cache(isolated, monkeypatch, rng, serve):
    data = make_split(rng)
    files = idx_files(data)
    monkeypatch.setattr(fashion_mnist, "FILE_HASHES", {k: sha256(v) for k, v in files.items()})
    server = serve({"mirror/" + k: v for k, v in files.items()})
    cache = isolated / "cache"
    got = fashion_mnist.load_data(cache_dir=str(cache), base_url=server.url + "mirror")
    assert_same(got, data)
    assert sorted(os.listdir(cache / "fashion-mnist")) == sorted(files)
    for name, content in files.items():
        assert (cache / "fashion-mnist" / name).read_bytes() == content
    assert len(server.requests) == 4
    assert_same(fashion_mnist.load_data(cache_dir=str(cache), base_url=server.url), data)
    assert len(server.requests) == 4  # the second load reads the cache


def test_download_url_from_the_environment(isolated, monkeypatch, rng, serve):
    data = make_split(rng)
    files = idx_files(data)
    monkeypatch.setattr(fashion_mnist, "FILE_HASHES", {k: sha256(v) for k, v in files.items()})
    server = serve(files)
    monkeypatch.setenv("FASTNN_DATASETS_URL", server.url)
    assert_same(fashion_mnist.load_data(), data)  # into ~/.fastnn/datasets
    home_cache = isolated / "home" / ".fastnn" / "datasets" / "fashion-mnist"
    assert sorted(os.listdir(home_cache)) == sorted(files)


def test_corrupted_download_is_a_clear_error_and_leaves_nothing(isolated, rng, serve):
    files = idx_files(make_split(rng))
    corrupted = dict(files)
    name = FASHION_NAMES[0]
    corrupted[name] = files[name][:-1] + bytes([files[name][-1] ^ 1])
    server = serve(corrupted)
    cache = isolated / "cache"
    hashes = {k: sha256(v) for k, v in files.items()}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fashion_mnist, "FILE_HASHES", hashes)
        with pytest.raises(DatasetError) as info:
            fashion_mnist.load_data(cache_dir=str(cache), base_url=server.url)
    message = str(info.value)
    assert "checksum mismatch" in message and hashes[name] in message
    assert "nothing was stored" in message
    assert [p for p in cache.rglob("*") if not p.is_dir()] == []  # no file, no partial file
    assert not (cache / "fashion-mnist").exists()


def test_a_later_corrupted_file_keeps_only_verified_files(isolated, rng, serve, monkeypatch):
    files = idx_files(make_split(rng))
    hashes = {k: sha256(v) for k, v in files.items()}
    monkeypatch.setattr(fashion_mnist, "FILE_HASHES", hashes)
    bad_name = FASHION_NAMES[2]
    server = serve({**files, bad_name: b"not the file"})
    cache = isolated / "cache"
    with pytest.raises(DatasetError, match="checksum mismatch"):
        fashion_mnist.load_data(cache_dir=str(cache), base_url=server.url)
    kept = sorted(os.listdir(cache / "fashion-mnist"))
    assert kept == sorted(FASHION_NAMES[:2])  # verified files only, no partial/temporary file
    for name in kept:
        assert sha256((cache / "fashion-mnist" / name).read_bytes()) == hashes[name]
    # once the mirror is fixed, only the missing files are fetched
    server.files[bad_name] = files[bad_name]
    before = len(server.requests)
    fashion_mnist.load_data(cache_dir=str(cache), base_url=server.url)
    assert server.requests[before:] == ["/" + FASHION_NAMES[2], "/" + FASHION_NAMES[3]]


def test_http_error_is_a_clear_error(isolated, serve):
    server = serve({})
    with pytest.raises(DatasetError, match="HTTP 404"):
        fashion_mnist.load_data(cache_dir=str(isolated / "cache"), base_url=server.url)
    assert not (isolated / "cache" / "fashion-mnist").exists()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_is_a_clear_error_that_says_what_to_do(isolated):
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(DatasetError) as info:
        fashion_mnist.load_data(base_url=url)
    message = str(info.value)
    assert "download of" in message and url in message
    assert "looked for" in message
    assert os.path.join(str(isolated / "home"), ".fastnn", "datasets", "fashion-mnist") in message
    assert os.path.join(str(isolated / "system"), "fashion-mnist") in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "FASTNN_DATA" in message
    assert isinstance(info.value, OSError)
    # no folder the failed fetch created is left: not even ~/.fastnn (nor $HOME, made here)
    assert not (isolated / "home").exists()


def test_a_failed_fetch_removes_only_the_empty_folders_it_created(isolated):
    url = f"http://127.0.0.1:{closed_port()}/"
    kept = isolated / "home" / ".fastnn" / "datasets" / "mnist"
    kept.mkdir(parents=True)
    (kept / "note.txt").write_text("not fastnn's to remove")
    with pytest.raises(DatasetError):
        fashion_mnist.load_data(base_url=url)
    assert sorted(p.name for p in (isolated / "home" / ".fastnn" / "datasets").iterdir()) == [
        "mnist"
    ]
    assert (kept / "note.txt").exists()
    deep = isolated / "cache" / "a" / "b"
    with pytest.raises(DatasetError):
        fashion_mnist.load_data(base_url=url, cache_dir=str(deep))
    assert not (isolated / "cache").exists()


# -- MNIST --------------------------------------------------------------------------


def npz_bytes(data) -> bytes:
    (x_train, y_train), (x_test, y_test) = data
    buffer = io.BytesIO()
    np.savez(buffer, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return buffer.getvalue()


def test_mnist_reads_a_local_npz(isolated, monkeypatch, rng):
    data = make_split(rng)
    directory = isolated / "env" / "mnist"
    directory.mkdir(parents=True)
    (directory / "mnist.npz").write_bytes(npz_bytes(data))
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    assert_same(mnist.load_data(), data)


def test_mnist_downloads_kerass_npz_with_its_checksum(isolated, monkeypatch, rng, serve):
    data = make_split(rng)
    body = npz_bytes(data)
    monkeypatch.setattr(mnist, "NPZ_HASH", sha256(body))
    server = serve({"mnist.npz": body})
    assert_same(mnist.load_data(cache_dir=str(isolated / "c"), base_url=server.url), data)
    assert os.listdir(isolated / "c" / "mnist") == ["mnist.npz"]
    assert server.requests == ["/mnist.npz"]


def test_mnist_npz_checksum_is_kerass():
    assert mnist.NPZ_HASH == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    assert common.DEFAULT_BASE_URL.endswith("/tf-keras-datasets/")


def test_mnist_damaged_npz_and_pickles(isolated, monkeypatch, rng):
    directory = isolated / "env" / "mnist"
    directory.mkdir(parents=True)
    monkeypatch.setenv("FASTNN_DATA", str(isolated / "env"))
    (directory / "mnist.npz").write_bytes(npz_bytes(make_split(rng))[:100])
    with pytest.raises(DatasetError, match="damaged or not an MNIST .npz"):
        mnist.load_data()
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.array([object()]), y_train=np.zeros(1), x_test=0, y_test=0)
    (directory / "mnist.npz").write_bytes(buffer.getvalue())
    with pytest.raises(DatasetError, match="damaged or not an MNIST .npz"):
        mnist.load_data()
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros(1))
    (directory / "mnist.npz").write_bytes(buffer.getvalue())
    with pytest.raises(DatasetError, match="missing"):
        mnist.load_data()


@pytest.mark.parametrize("bad", ["", "sub/mnist.npz", 3, None])
def test_mnist_path_argument(bad):
    with pytest.raises(ValueError, match="plain file name"):
        mnist.load_data(bad)


@pytest.mark.parametrize("bad", [3, b"http://127.0.0.1:9/"])
def test_base_url_must_be_a_string(isolated, bad):
    """Was "'int' object has no attribute 'endswith'" (an AttributeError)."""
    for load in (fashion_mnist.load_data, mnist.load_data):
        with pytest.raises(TypeError, match="base_url must be a URL string"):
            load(base_url=bad)


def test_public_names():
    assert datasets.mnist is mnist and datasets.fashion_mnist is fashion_mnist
    assert issubclass(DatasetError, OSError)
    assert len(fashion_mnist.FILE_HASHES) == 4


# -- the real files, where Debian's dataset-fashion-mnist is installed ---------------


@pytest.mark.skipif(
    not os.path.isdir("/usr/share/datasets/fashion-mnist"),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_real_debian_fashion_mnist(tmp_path, monkeypatch):
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(base_url="http://127.0.0.1:9/")
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    for arr in (x_train, y_train, x_test, y_test):
        assert arr.dtype == np.uint8
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert int(x_train.max()) == 255 and int(x_train.min()) == 0


def test_downloaded_files_get_the_usual_permissions(isolated, monkeypatch, rng, serve):
    files = idx_files(make_split(rng))
    monkeypatch.setattr(fashion_mnist, "FILE_HASHES", {k: sha256(v) for k, v in files.items()})
    server = serve(files)
    old = os.umask(0o022)
    try:
        fashion_mnist.load_data(cache_dir=str(isolated / "c"), base_url=server.url)
    finally:
        os.umask(old)
    for name in files:
        assert (isolated / "c" / "fashion-mnist" / name).stat().st_mode & 0o777 == 0o644
