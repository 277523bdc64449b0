"""Datasets Keras scripts load: `mnist`, `fashion_mnist`, `cifar10`, `cifar100`,
and the text and tabular sets of the Keras examples and books: `imdb`, `reuters`,
`boston_housing`, `california_housing` (``.npz`` files and CIFAR's pickles, read
without unpickling anything but NumPy arrays).

``(x_train, y_train), (x_test, y_test) = fastnn.datasets.fashion_mnist.load_data()``
returns arrays like Keras's, found locally first (``$FASTNN_DATA/<name>/``,
``~/.fastnn/datasets/<name>/``, ``/usr/share/datasets/<name>/``) and otherwise
downloaded with checksum verification. See `fastnn.datasets._common`.
"""

from __future__ import annotations

from fastnn import _absent
from fastnn.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from fastnn.datasets._common import DatasetError, read_idx

__all__ = [
    "DatasetError",
    "boston_housing",
    "california_housing",
    "cifar10",
    "cifar100",
    "fashion_mnist",
    "imdb",
    "mnist",
    "read_idx",
    "reuters",
]

# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
