"""California housing prices (Pace and Barry, 1997, from the 1990 U.S.
census): 20,640 block groups of 8 features and each one's median house value
in dollars, as Keras's ``california_housing`` loads them (Keras's
replacement for `boston_housing`)."""

from __future__ import annotations

from fastnn.datasets.boston_housing import shuffled_split

__all__ = ["load_data"]

NAME = "california_housing"
FILE_HASHES = {
    "california_housing.npz": "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
}  # noqa: E501
SMALL = 600  # the samples of version="small"


def load_data(
    version="large",
    path="california_housing.npz",
    test_split=0.2,
    seed=113,
    *,
    cache_dir=None,
    base_url=None,
):
    """Loads the California housing dataset, split as Keras's ``load_data``
    splits it (the same shuffle for the same seed).

    The file is looked for in ``$FASTNN_DATA/california_housing/``,
    ``~/.fastnn/datasets/california_housing/`` and
    ``/usr/share/datasets/california_housing/``, else downloaded and checked
    against its SHA-256 (see `fastnn.datasets.fashion_mnist.load_data`).

    Args:
        version: `"large"` (all 20,640 samples) or `"small"` (the first 600,
            Keras's stand-in for `boston_housing`).
        path: the file's name in those directories. Defaults to
            `"california_housing.npz"` (Keras's argument).
        test_split: the fraction of samples kept for the test set, in [0, 1).
        seed: the shuffle's seed.
        cache_dir: the cache's root instead of ``~/.fastnn/datasets``.
        base_url: the mirror to download from instead of Keras's.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float arrays `(n, 8)` and
        `(n,)`, as stored in the file.

    Raises:
        ValueError: `test_split` outside [0, 1), or an unknown `version`.
        fastnn.datasets.DatasetError: no file found nor downloadable, or a
            damaged one.
    """
    if version not in ("small", "large"):
        raise ValueError(
            f"Argument `version` must be one of 'small', 'large'. Received: version={version}"
        )
    first = SMALL if version == "small" else None
    return shuffled_split(NAME, path, FILE_HASHES, test_split, seed, base_url, cache_dir, first)
