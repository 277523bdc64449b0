"""Datasets Keras scripts load: `mnist` and `fashion_mnist`.

``(x_train, y_train), (x_test, y_test) = fastnn.datasets.fashion_mnist.load_data()``
returns uint8 arrays like Keras's, found locally first (``$FASTNN_DATA/<name>/``,
``~/.fastnn/datasets/<name>/``, ``/usr/share/datasets/<name>/``) and otherwise
downloaded with checksum verification. See `fastnn.datasets._common`.
"""

from __future__ import annotations

from fastnn.datasets import fashion_mnist, mnist
from fastnn.datasets._common import DatasetError, read_idx

__all__ = ["DatasetError", "fashion_mnist", "mnist", "read_idx"]
