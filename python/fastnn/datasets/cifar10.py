"""CIFAR-10: 60,000 32x32 colour images in 10 classes, as Keras's
``cifar10`` loads them.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog,
7 horse, 8 ship, 9 truck. Alex Krizhevsky, *Learning Multiple Layers of
Features from Tiny Images* (2009), https://www.cs.toronto.edu/~kriz/cifar.html.

Where the data is looked for, in order: ``$FASTNN_DATA/cifar10/``, the cache
``~/.fastnn/datasets/cifar10/`` (or `cache_dir`), ``/usr/share/datasets/cifar10/``.
A directory counts when it holds either the extracted folder
``cifar-10-batches-py/`` (``data_batch_1`` ... ``data_batch_5``,
``test_batch``: the layout Keras extracts) or the archive
``cifar-10-python.tar.gz`` itself, read in memory, never extracted.
Otherwise the archive is downloaded from where Keras downloads it (or
``$FASTNN_DATASETS_URL`` / `base_url`, a folder holding a file of that
name) into the cache, checked against Keras's SHA-256 first. The batch files
are Python pickles: they are read with an unpickler that rebuilds NumPy
arrays and refuses anything else (see `fastnn.datasets._cifar`).
"""

from __future__ import annotations

import numpy as np

from fastnn.datasets import _cifar

__all__ = ["load_data"]

NAME = "cifar10"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
SPEC = {
    "name": NAME,
    "archive": "cifar-10-python.tar.gz",
    # keras/src/datasets/cifar10.py: the origin and its file_hash (SHA-256)
    "origin": "https://www.cs.toronto.edu/~kriz/",
    "digest": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "folder": "cifar-10-batches-py",
    "batches": (*TRAIN_BATCHES, "test_batch"),
}


def load_data(*, cache_dir=None, base_url=None):
    """Loads the CIFAR-10 dataset.

    Args:
        cache_dir: the cache's root instead of ``~/.fastnn/datasets``.
        base_url: the folder to download ``cifar-10-python.tar.gz`` from
            instead of Keras's origin (``$FASTNN_DATASETS_URL`` when set).

    Returns:
        `(x_train, y_train), (x_test, y_test)`, as Keras's: uint8 images of
        shapes `(50000, 32, 32, 3)` and `(10000, 32, 32, 3)` (channels
        last), uint8 labels 0-9 of shapes `(50000, 1)` and `(10000, 1)`.

    Raises:
        fastnn.datasets.DatasetError: the data is neither found nor
            downloadable (offline, checksum mismatch), or is damaged, foreign
            or crafted (a pickle that would run code is refused).

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    """
    batches = _cifar.load_batches(SPEC, base_url=base_url, cache_dir=cache_dir)
    splits = [
        _cifar.images_and_labels(NAME, batches[batch], "labels", 10) for batch in SPEC["batches"]
    ]
    x_train = np.concatenate([x for x, _ in splits[:-1]])
    y_train = np.concatenate([y for _, y in splits[:-1]]).astype(np.uint8)
    x_test, y_test = splits[-1]
    return (
        _cifar.as_keras_returns(x_train, y_train),
        _cifar.as_keras_returns(x_test, y_test.astype(np.uint8)),
    )
