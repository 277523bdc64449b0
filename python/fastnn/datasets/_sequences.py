"""The word-index sequence handling Keras's IMDB and Reuters loaders share
(keras/src/datasets/imdb.py, reuters.py): offsets, the start and
out-of-vocabulary markers, the length and vocabulary limits."""

from __future__ import annotations

import numpy as np


def with_markers(sequences, start_char, index_from) -> list:
    """Each sequence's word indices shifted by `index_from`, after
    `start_char` when it is not None."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in sequences]
    if index_from:
        return [[w + index_from for w in x] for x in sequences]
    return [list(x) for x in sequences]


def remove_long(maxlen, sequences, labels):
    """The sequences shorter than `maxlen` and their labels."""
    kept = [(x, y) for x, y in zip(sequences, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def limit_vocabulary(sequences, num_words, skip_top, oov_char) -> list:
    """Words outside `[skip_top, num_words)` become `oov_char`, or are
    dropped when it is None; `num_words` None or 0 keeps every word."""
    if not num_words:
        num_words = max(max(x) for x in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in sequences]
    return [[w for w in x if skip_top <= w < num_words] for x in sequences]


def as_object_array(sequences) -> np.ndarray:
    """The sequences as Keras returns them (``np.array(..., dtype="object")``)."""
    return np.array(sequences, dtype="object")


def shuffled(rng: np.random.RandomState, *arrays):
    """`arrays` in the order of one shuffle of their indices by `rng`."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return tuple(a[indices] for a in arrays)


def warn_unknown(function: str, kwargs: dict) -> None:
    if kwargs:
        import warnings

        warnings.warn(
            f"{function} ignores the unknown keyword argument(s) {', '.join(sorted(kwargs))} "
            "(Keras ignores them too)",
            UserWarning,
            stacklevel=3,
        )


def word_index(name: str, path, hashes: dict, base_url=None, cache_dir=None) -> dict:
    """A dataset's word -> index JSON file (`hashes`: its default name ->
    digest), found by `path` or fetched."""
    import json

    from fastnn.datasets._common import DatasetError, fetch_named

    ((filename, digest),) = hashes.items()
    path = fetch_named(name, path, filename, digest, base_url=base_url, cache_dir=cache_dir)

    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetError(f"{name}: cannot read the word index {path}: {e}") from None
