"""`fastnn.utils.get_file`, Keras's downloader, against a server on
127.0.0.1: file names, the cache, hash checks (sha256, md5), extraction of
tar and zip archives, and failures that leave nothing in the cache."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import tarfile
import zipfile

import pytest
from test_datasets import Server

from fastnn import utils

DATA = b"a,b\n1,2\n3,4\n" * 100


@pytest.fixture
def serve():
    servers = []

    def start(files):
        servers.append(Server(files))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _tar(members: dict, mode="w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def _zip(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def _read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _listing(root) -> list:
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )


def test_downloads_into_the_cache_and_reuses_it(tmp_path, serve, capsys):
    server = serve({"data/table.csv": DATA})
    path = utils.get_file(origin=server.url + "data/table.csv", cache_dir=str(tmp_path))
    assert path == str(tmp_path / "datasets" / "table.csv")
    assert _read(path) == DATA
    assert f"Downloading data from {server.url}data/table.csv" in capsys.readouterr().out
    again = utils.get_file("table.csv", server.url + "data/table.csv", cache_dir=str(tmp_path))
    assert again == path and len(server.requests) == 1
    utils.get_file("table.csv", server.url + "data/table.csv", cache_dir=str(tmp_path),
                   force_download=True)  # fmt: skip
    assert len(server.requests) == 2
    assert _listing(tmp_path) == [os.path.join("datasets", "table.csv")]


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_a_hash_is_checked_and_a_stale_cached_file_is_fetched_again(
    tmp_path,
    serve,
    capsys,
    algorithm,
):
    server = serve({"t.csv": DATA})
    digest = hashlib.new(algorithm, DATA).hexdigest()
    stale = tmp_path / "datasets" / "t.csv"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    path = utils.get_file("t.csv", server.url + "t.csv", file_hash=digest, cache_dir=str(tmp_path))
    assert _read(path) == DATA
    out = capsys.readouterr().out
    assert f"the {'auto'} file hash does not match the original value of {digest}" in out
    assert utils.file_utils.validate_file(path, digest, algorithm)
    md5 = hashlib.md5(DATA).hexdigest()
    assert utils.get_file("t.csv", server.url + "t.csv", md5_hash=md5, cache_dir=str(tmp_path))


def test_a_download_whose_hash_differs_is_refused_and_not_kept(tmp_path, serve):
    server = serve({"t.csv": DATA})
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected. The auto file"):
        utils.get_file("t.csv", server.url + "t.csv", file_hash=wrong, cache_dir=str(tmp_path))
    assert _listing(tmp_path) == []


def test_fetch_failures_leave_nothing(tmp_path, serve):
    server = serve({})
    with pytest.raises(OSError, match=r"URL fetch failure on .*missing.csv: 404 -- Not Found"):
        utils.get_file("m.csv", server.url + "missing.csv", cache_dir=str(tmp_path))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError, match="URL fetch failure on"):
        utils.get_file("m.csv", f"http://127.0.0.1:{port}/m.csv", cache_dir=str(tmp_path))
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("kind", ["tar.gz", "tar", "zip"])
def test_an_archive_is_extracted(tmp_path, serve, kind):
    members = {"d/a.txt": b"alpha", "d/b.txt": b"beta"}
    body = _zip(members) if kind == "zip" else _tar(members, "w:gz" if kind == "tar.gz" else "w")
    server = serve({f"pack.{kind}": body})
    where = utils.get_file(
        f"pack.{kind}", server.url + f"pack.{kind}", extract=True, cache_dir=str(tmp_path)
    )
    assert where == str(tmp_path / "datasets" / "pack_extracted")
    assert _listing(where) == [os.path.join("d", "a.txt"), os.path.join("d", "b.txt")]
    named = utils.get_file("stuff", server.url + f"pack.{kind}", extract=True,
                           cache_dir=str(tmp_path))  # fmt: skip
    assert named == str(tmp_path / "datasets" / "stuff")
    assert os.path.exists(tmp_path / "datasets" / "stuff_archive")


@pytest.mark.parametrize("bad", ["../evil.txt", "/abs/evil.txt"])
def test_an_archive_member_outside_the_directory_is_refused(tmp_path, serve, bad):
    for kind, body in (("tar", _tar({bad: b"x"}, "w")), ("zip", _zip({bad: b"x"}))):
        server = serve({f"e.{kind}": body})
        with pytest.raises(ValueError, match="outside the extraction directory"):
            utils.get_file(f"e.{kind}", server.url + f"e.{kind}", extract=True,
                           cache_dir=str(tmp_path / kind))  # fmt: skip
        assert not (tmp_path / kind / "datasets" / "e_extracted").exists()
        assert not (tmp_path / "evil.txt").exists() and not (tmp_path / kind / "evil.txt").exists()


def test_arguments_as_keras():
    with pytest.raises(ValueError, match='Please specify the "origin" argument'):
        utils.get_file("x.csv")
    with pytest.raises(ValueError, match="Paths are no longer accepted as the `fname`"):
        utils.get_file(os.path.join("a", "x.csv"), "http://127.0.0.1:9/x.csv")
    with pytest.raises(ValueError, match="Can't parse the file name from the origin"):
        utils.get_file(origin="http://127.0.0.1:9/")


def test_default_cache_is_fastnn_home(tmp_path, serve, monkeypatch):
    monkeypatch.setenv("FASTNN_HOME", str(tmp_path / "home"))
    server = serve({"t.csv": DATA})
    path = utils.get_file("t.csv", server.url + "t.csv")
    assert path == str(tmp_path / "home" / "datasets" / "t.csv")


def test_a_refused_archive_leaves_an_earlier_extraction_alone(tmp_path, serve):
    good = _tar({"d/a.txt": b"alpha"}, "w")
    server = serve({"p.tar": good})
    where = utils.get_file("p.tar", server.url + "p.tar", extract=True, cache_dir=str(tmp_path))
    (tmp_path / "datasets" / "p_extracted" / "mine.txt").write_text("the user's")
    server.files["p.tar"] = _tar({"../evil.txt": b"x"}, "w")
    with pytest.raises(ValueError, match="outside the extraction directory"):
        utils.get_file("p.tar", server.url + "p.tar", extract=True, cache_dir=str(tmp_path),
                       force_download=True)  # fmt: skip
    assert _listing(where) == [os.path.join("d", "a.txt"), "mine.txt"]


def _tar_with_links(links: dict, files: dict) -> bytes:
    """A tar.gz of `files` (name -> bytes) and symbolic links (name -> target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


@pytest.mark.skipif(not hasattr(tarfile, "data_filter"), reason="needs tarfile's data filter")
def test_a_link_inside_the_archive_is_extracted_as_keras_does(tmp_path, serve):
    body = _tar_with_links({"pkg/latest": "v1"}, {"pkg/v1/f.txt": b"data"})
    server = serve({"pkg.tar.gz": body})
    where = utils.get_file(
        "pkg.tar.gz", server.url + "pkg.tar.gz", extract=True, cache_dir=str(tmp_path)
    )
    assert sorted(os.listdir(os.path.join(where, "pkg"))) == ["latest", "v1"]
    assert _read(os.path.join(where, "pkg", "latest", "f.txt")) == b"data"


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "../.."])
def test_a_link_leading_outside_the_extraction_directory_is_refused(tmp_path, serve, target):
    body = _tar_with_links({"pkg/evil": target}, {"pkg/f.txt": b"data"})
    server = serve({"bad.tar.gz": body})
    with pytest.raises(ValueError, match="'pkg/evil' is a device, a link leading outside"):
        utils.get_file(
            "bad.tar.gz", server.url + "bad.tar.gz", extract=True, cache_dir=str(tmp_path)
        )
    assert not any("pkg" in names for _, names, _ in os.walk(tmp_path))


def test_an_unknown_archive_format_is_keras_s_not_implemented_error(tmp_path, serve):
    server = serve({"p.tar": _tar({"a.txt": b"x"}, mode="w")})
    with pytest.raises(NotImplementedError, match="rar"):
        utils.get_file(
            "p.tar",
            server.url + "p.tar",
            extract=True,
            archive_format="rar",
            cache_dir=str(tmp_path),
        )
