"""Fashion-MNIST: 70,000 28x28 grayscale images of 10 kinds of clothing.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot. Copyright Zalando SE, MIT license.
"""

from __future__ import annotations

from fastnn.datasets import _common

__all__ = ["load_data"]

NAME = "fashion-mnist"

# SHA-256 of the canonical gzip files (the ones Keras verifies too).
FILE_HASHES = {
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",  # noqa: E501
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # noqa: E501
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",  # noqa: E501
}


def load_data(*, cache_dir=None, base_url=None):
    """Loads the Fashion-MNIST dataset.

    Looks for the four IDX files (gzipped or raw) in ``$FASTNN_DATA/fashion-mnist/``,
    ``~/.fastnn/datasets/fashion-mnist/`` and ``/usr/share/datasets/fashion-mnist/``
    (Debian's ``dataset-fashion-mnist``), in that order; otherwise downloads
    them into the cache, checking each file's SHA-256.

    Args:
        cache_dir: the cache's root instead of ``~/.fastnn/datasets``.
        base_url: the mirror to download from instead of Keras's
            (``$FASTNN_DATASETS_URL`` when set).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes
        `(60000, 28, 28)`, `(60000,)`, `(10000, 28, 28)`, `(10000,)`.

    Raises:
        fastnn.datasets.DatasetError: the files are neither found nor
            downloadable (offline, checksum mismatch), or are damaged.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    """
    paths = _common.fetch(NAME, FILE_HASHES, base_url=base_url, cache_dir=cache_dir)
    return _common.load_idx_set(NAME, paths, tuple(FILE_HASHES))
