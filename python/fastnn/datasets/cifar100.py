"""CIFAR-100: 60,000 32x32 colour images in 100 classes grouped into 20
superclasses, as Keras's ``cifar100`` loads them.

Alex Krizhevsky, *Learning Multiple Layers of Features from Tiny Images*
(2009), https://www.cs.toronto.edu/~kriz/cifar.html.

Found and read as `fastnn.datasets.cifar10`'s: in ``$FASTNN_DATA/cifar100/``,
``~/.fastnn/datasets/cifar100/`` (or `cache_dir`) or
``/usr/share/datasets/cifar100/``, either the extracted folder
``cifar-100-python/`` (``train``, ``test``: Keras's layout) or the archive
``cifar-100-python.tar.gz``, read in memory; else the archive is downloaded
from where Keras downloads it (or ``$FASTNN_DATASETS_URL`` / `base_url`)
into the cache, checked against Keras's SHA-256 first.
"""

from __future__ import annotations

from fastnn.datasets import _cifar

__all__ = ["load_data"]

NAME = "cifar100"
SPEC = {
    "name": NAME,
    "archive": "cifar-100-python.tar.gz",
    # keras/src/datasets/cifar100.py: the origin and its file_hash (SHA-256)
    "origin": "https://www.cs.toronto.edu/~kriz/",
    "digest": "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    "folder": "cifar-100-python",
    "batches": ("train", "test"),
}
CLASSES = {"fine": 100, "coarse": 20}


def load_data(label_mode="fine", *, cache_dir=None, base_url=None):
    """Loads the CIFAR-100 dataset.

    Args:
        label_mode: `"fine"` (the 100 classes) or `"coarse"` (the 20
            superclasses), Keras's argument.
        cache_dir, base_url: as `fastnn.datasets.cifar10.load_data`'s.

    Returns:
        `(x_train, y_train), (x_test, y_test)` shaped as CIFAR-10's, with
        labels 0-99 (fine) or 0-19 (coarse) that are int64: what Keras's
        loader returns, its docstring's uint8 notwithstanding.

    Raises:
        ValueError: `label_mode` is neither `"fine"` nor `"coarse"`.
        fastnn.datasets.DatasetError: as `fastnn.datasets.cifar10.load_data`.
    """
    if label_mode not in ("fine", "coarse"):  # (Keras compares, an unhashable value too)
        raise ValueError(
            f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.'
        )
    batches = _cifar.load_batches(SPEC, base_url=base_url, cache_dir=cache_dir)
    key, classes = f"{label_mode}_labels", CLASSES[label_mode]
    return tuple(
        _cifar.as_keras_returns(*_cifar.images_and_labels(NAME, batches[name], key, classes))
        for name in SPEC["batches"]
    )
