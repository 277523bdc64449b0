"""Build, dispatch, threads and introspection (the foundation)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import fastnn
from fastnn import _core


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    for key in ("FASTNN_ISA", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "FASTNN_WAIT_POLICY"):
        full_env.pop(key, None)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120
    )


def test_version_has_one_source():
    import importlib.metadata

    assert fastnn.__version__ == importlib.metadata.version("fastnn")
    assert fastnn.__version__ == _core.__version__


def test_runtime_info_keys_and_types():
    info = fastnn.runtime_info()
    for key in ("version", "isa", "isa_available", "num_threads", "openmp", "compiler"):
        assert key in info
    assert info["isa"] in info["isa_available"]
    assert "generic" in info["isa_available"]
    assert isinstance(info["num_threads"], int) and info["num_threads"] >= 1
    assert info["openmp"] is True
    assert isinstance(info["compiler"], str) and info["compiler"]


def test_default_isa_is_best_available():
    result = run_python("import fastnn; print(fastnn.runtime_info()['isa'])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == fastnn.runtime_info()["isa_available"][-1]


def test_default_isa_follows_the_cpu_features():
    features = _core.cpu_features()
    if not (features["avx2"] and features["fma"]):
        pytest.skip("CPU lacks AVX2/FMA")
    compiled = _core.compiled_isas()
    expected = "avx512" if features["avx512f"] and "avx512" in compiled else "avx2"
    result = run_python("import fastnn; print(fastnn.runtime_info()['isa'])")
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("level", ["generic", "avx2", "avx512"])
def test_fastnn_isa_selects_each_available_level(level):
    if level not in _core.available_isas():
        pytest.skip(f"{level} is not available on this machine")
    result = run_python("import fastnn; print(fastnn.runtime_info()['isa'])", FASTNN_ISA=level)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == level


def test_fastnn_isa_generic_forces_the_portable_path():
    result = run_python("import fastnn; print(fastnn.runtime_info()['isa'])", FASTNN_ISA="generic")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "generic"


@pytest.mark.parametrize("level", ["avx1024", "sse9", "AVX2 ", "AVX512"])
def test_fastnn_isa_unknown_or_missing_is_a_clear_runtime_error(level):
    result = run_python("import fastnn", FASTNN_ISA=level)
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr
    assert "FASTNN_ISA" in result.stderr or "ISA" in result.stderr
    assert "Segmentation" not in result.stderr


def test_set_isa_rejects_unknown_level_naming_the_choices():
    before = _core.active_isa()
    with pytest.raises(ValueError, match="expected one of: generic, avx2, avx512"):
        _core.set_isa("avx1024")
    assert _core.active_isa() == before


def test_set_isa_rejects_a_level_this_cpu_lacks():
    missing = [level for level in ("avx2", "avx512") if level not in _core.available_isas()]
    if not missing:
        pytest.skip("this machine runs every level")
    before = _core.active_isa()
    with pytest.raises(ValueError, match=missing[-1]):
        _core.set_isa(missing[-1])
    assert _core.active_isa() == before


def test_set_and_get_num_threads(threads):
    fastnn.set_num_threads(1)
    assert fastnn.get_num_threads() == 1
    fastnn.set_num_threads(3)
    assert fastnn.get_num_threads() == 3
    assert fastnn.runtime_info()["num_threads"] == 3


@pytest.mark.parametrize("bad", [0, -1, -100, 1.5, 2.0, "2", None, True])
def test_set_num_threads_rejects_bad_values(threads, bad):
    before = fastnn.get_num_threads()
    with pytest.raises(ValueError, match="positive integer"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == before


@pytest.mark.parametrize("bad", [1025, 200_000, 2**31, 2**70])
def test_set_num_threads_refuses_more_than_1024(threads, bad):
    """200000 was accepted and the next fit segfaulted (libgomp's team);
    2**70 was pybind11's 'incompatible function arguments' TypeError."""
    before = fastnn.get_num_threads()
    with pytest.raises(ValueError, match="at most 1024"):
        fastnn.set_num_threads(bad)
    with pytest.raises(ValueError, match=r"\[1, 1024\]"):
        _core.set_num_threads(min(bad, 2**31 - 1))
    assert fastnn.get_num_threads() == before
    fastnn.set_num_threads(1024)  # the limit itself is fine
    assert fastnn.get_num_threads() == 1024


def test_omp_num_threads_above_the_limit_is_lowered_to_it():
    result = run_python("import fastnn; print(fastnn.get_num_threads())", OMP_NUM_THREADS="5000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1024"


def test_default_num_threads_honours_omp_num_threads():
    result = run_python("import fastnn; print(fastnn.get_num_threads())", OMP_NUM_THREADS="3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_import_pulls_in_nothing_heavy():
    code = (
        "import sys; before = set(sys.modules); import numpy; base = set(sys.modules);"
        "import fastnn; added = set(sys.modules) - base;"
        "heavy = [m for m in added if m.split('.')[0] in "
        "('torch', 'tensorflow', 'keras', 'scipy', 'sklearn', 'pandas', 'matplotlib', 'h5py',"
        " 'urllib', 'http', 'email', 'zipfile', 'json', 'threadpoolctl')];"
        "print(sorted(heavy))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_wait_policy_passive_by_default_and_user_setting_wins():
    code = (
        "import os, fastnn; "
        "print(fastnn.runtime_info()['omp_wait_policy'],"
        " 'GOMP_SPINCOUNT' in os.environ or 'OMP_WAIT_POLICY' in os.environ)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["GOMP_SPINCOUNT=1000", "False"]  # for libgomp's load only
    result = run_python(code, OMP_WAIT_POLICY="ACTIVE")
    assert result.stdout.split() == ["user:", "ACTIVE", "True"]
    result = run_python(code, FASTNN_WAIT_POLICY="libgomp")
    assert result.stdout.split()[:2] == ["libgomp", "default"]
