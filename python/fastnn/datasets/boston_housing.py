"""Boston housing prices (Harrison and Rubinfeld, 1978): 506 samples of 13
features of Boston suburbs in the 1970s, and each one's median home value in
k$, as Keras's ``boston_housing`` loads them."""

from __future__ import annotations

import numpy as np

from fastnn.datasets import _common

__all__ = ["load_data"]

NAME = "boston_housing"
FILE_HASHES = {
    "boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"
}  # noqa: E501


def load_data(
    path="boston_housing.npz", test_split=0.2, seed=113, *, cache_dir=None, base_url=None
):
    """Loads the Boston housing dataset, split as Keras's ``load_data``
    splits it (the same shuffle for the same seed).

    The file is looked for in ``$FASTNN_DATA/boston_housing/``,
    ``~/.fastnn/datasets/boston_housing/`` and
    ``/usr/share/datasets/boston_housing/``, else downloaded and checked
    against its SHA-256 (see `fastnn.datasets.fashion_mnist.load_data`).

    Args:
        path: the file's name in those directories. Defaults to
            `"boston_housing.npz"` (Keras's argument).
        test_split: the fraction of samples kept for the test set, in [0, 1).
        seed: the shuffle's seed.
        cache_dir: the cache's root instead of ``~/.fastnn/datasets``.
        base_url: the mirror to download from instead of Keras's.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float64 arrays `(n, 13)` and
        `(n,)`.

    Raises:
        ValueError: `test_split` outside [0, 1).
        fastnn.datasets.DatasetError: no file found nor downloadable, or a
            damaged one.
    """
    return shuffled_split(NAME, path, FILE_HASHES, test_split, seed, base_url, cache_dir)


def shuffled_split(name, path, file_hashes, test_split, seed, base_url, cache_dir, first=None):
    """The regression sets' `load_data`, as Keras's: the file's `x` and `y`
    (the first `first` samples when given), shuffled by
    ``np.random.RandomState(seed)``, the last `test_split` of them the test
    set."""
    if not 0 <= test_split < 1:
        raise ValueError(
            f"Invalid `test_split` argument: {test_split}. "
            "It must be between 0 and 1 (exclusive of 1)."
        )
    from fastnn.datasets import _npz  # (zipfile and pickle, imported when used)

    arrays = _npz.load_dataset_file(name, path, file_hashes, ("x", "y"), base_url, cache_dir)
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise _common.DatasetError(f"{name}: unexpected shapes {x.shape} and {y.shape}")
    if first is not None:
        x, y = x[:first], y[:first]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
