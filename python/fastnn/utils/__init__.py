"""Small things Keras scripts use: the progress bar, seeds, one-hot labels.

Mirrors ``keras.utils``: `Progbar`, `set_random_seed`, `to_categorical`, plus
the seed state fastnn's layers and `fit` read (`get_random_seed`,
`next_seed`).
"""

from __future__ import annotations

from fastnn.utils.numerical import normalize, to_categorical
from fastnn.utils.progbar import Progbar
from fastnn.utils.seeding import get_random_seed, next_seed, set_random_seed

__all__ = [
    "Progbar",
    "get_random_seed",
    "next_seed",
    "normalize",
    "set_random_seed",
    "to_categorical",
]
