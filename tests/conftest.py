"""Shared fixtures. Tests import the *installed* fastnn package."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import _core

AVAILABLE_ISAS = list(_core.available_isas())


@pytest.fixture(params=AVAILABLE_ISAS)
def isa(request):
    """Runs the test once per kernel set this machine can run, then restores."""
    previous = _core.active_isa()
    _core.set_isa(request.param)
    try:
        yield request.param
    finally:
        _core.set_isa(previous)


@pytest.fixture
def threads():
    """Restores the thread count a test changes."""
    previous = fastnn.get_num_threads()
    yield
    fastnn.set_num_threads(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
