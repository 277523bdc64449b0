"""Keras 3 in the test process (torch backend), for the tests that compare
with it directly: imported or the test skipped, and its warnings kept out of
the suite's warnings-as-errors."""

from __future__ import annotations

import contextlib
import os
import warnings

import pytest


def keras_or_skip():
    """The keras module (KERAS_BACKEND=torch unless set), or a skip."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@contextlib.contextmanager
def keras_quiet():
    """Keras 3.15 on torch warns (DeprecationWarning, NumPy 2's __array__
    copy keyword) inside predict, fit and get_weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield
