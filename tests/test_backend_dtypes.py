"""fastnn.backend.standardize_dtype / is_float_dtype / is_int_dtype against
Keras 3's (torch backend), over names, NumPy and torch dtypes, Python types
and bad values."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import backend

NAMES = (
    "float16 float32 float64 bfloat16 uint8 uint16 uint32 uint64 int8 int16 int32 int64 "
    "bool string complex64 complex128 float8_e4m3fn float8_e5m2"
).split()


def cases():
    out = [None, "int", int, float, bool, str, complex, *NAMES]
    out += [np.float32, np.float64, np.int8, np.uint16, np.int64, np.bool_, np.complex64]
    # (np.dtype("int64") == "int" holds in NumPy: it must still read as int64)
    out += [np.dtype("float16"), np.dtype("int32"), np.dtype("int64"), np.dtype("uint64")]
    out += [np.dtype(bool), np.dtype(float), np.dtype(int)]
    out += [np.zeros(2, np.int16).dtype]
    return out


BAD = ["float", "int33", "", "Float32", np.dtype("U3"), np.dtype("datetime64[s]"), object, 3]


@pytest.mark.parametrize("dtype", cases(), ids=repr)
def test_names_as_keras(dtype):
    keras = pytest.importorskip("keras")
    assert backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype)
    if dtype not in ("string", str):
        assert backend.is_float_dtype(dtype) == keras.backend.is_float_dtype(dtype)
        assert backend.is_int_dtype(dtype) == keras.backend.is_int_dtype(dtype)


def test_torch_dtypes_as_keras():
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    for dtype in (
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.uint8,
        torch.bool,
    ):
        assert backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype)


def test_without_keras():
    assert backend.standardize_dtype(None) == "float32"
    assert backend.standardize_dtype(int) == "int32" and backend.standardize_dtype("int") == "int32"
    assert backend.standardize_dtype(np.float64) == "float64"
    assert backend.standardize_dtype(np.dtype("uint8")) == "uint8"
    assert backend.is_float_dtype("bfloat16") and backend.is_float_dtype(float)
    assert not backend.is_float_dtype("int8") and backend.is_int_dtype("uint32")
    assert not backend.is_int_dtype(bool) and not backend.is_float_dtype(bool)
    assert fastnn.utils.standardize_dtype is backend.standardize_dtype


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_bad_dtypes_raise_as_keras(bad):
    with pytest.raises(ValueError, match="Invalid dtype"):
        backend.standardize_dtype(bad)
    keras = pytest.importorskip("keras")
    with pytest.raises(ValueError, match="Invalid dtype"):
        keras.backend.standardize_dtype(bad)
