"""NumPy transcription of the engine's counter-based generator (nn::mix64,
cpp/nn/initializers.cpp), shared by the Dropout and noise-layer tests."""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1


def mix64(x: np.ndarray) -> np.ndarray:
    """nn::mix64 on uint64 arrays (NumPy's uint64 arithmetic wraps mod 2^64)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))
