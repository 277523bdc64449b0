"""IMDB movie reviews: 50,000 reviews labelled by sentiment (1 positive,
0 negative), each a sequence of word indices (by frequency), as Keras's
``imdb`` loads them."""

from __future__ import annotations

import numpy as np

from fastnn.datasets import _sequences

__all__ = ["get_word_index", "load_data"]

NAME = "imdb"
FILE_HASHES = {"imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"}
WORD_INDEX_HASHES = {"imdb_word_index.json": "bfafd718b763782e994055a2d397834f"}  # MD5, as Keras


def load_data(
    path="imdb.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    *,
    cache_dir=None,
    base_url=None,
    **kwargs,
):
    """Loads the IMDB dataset as Keras's ``imdb.load_data``: the same
    shuffle for the same seed, the same markers and limits.

    The file is looked for in ``$FASTNN_DATA/imdb/``, ``~/.fastnn/datasets/imdb/``
    and ``/usr/share/datasets/imdb/``, else downloaded and checked against
    its SHA-256. Its ragged sequences are read without unpickling anything
    but NumPy arrays.

    Args:
        path: the file's name in those directories. Defaults to `"imdb.npz"`.
        num_words: keep the `num_words` most frequent words (others become
            `oov_char`); None keeps all.
        skip_top: also replace the `skip_top` most frequent words.
        maxlen: drop the reviews of `maxlen` words or more; None keeps all.
        seed: the shuffle's seed.
        start_char: the index marking a review's start (None: no marker).
        oov_char: the index replacing cut words (None: they are dropped).
        index_from: the offset added to every word index.
        cache_dir: the cache's root instead of ``~/.fastnn/datasets``.
        base_url: the mirror to download from instead of Keras's.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of
        word indices (25,000 each), and int64 labels.

    Raises:
        ValueError: `maxlen` leaves no review.
        fastnn.datasets.DatasetError: no file found nor downloadable, or a
            damaged one.
    """
    _sequences.warn_unknown("imdb.load_data", kwargs)
    from fastnn.datasets import _npz  # (zipfile and pickle, imported when used)

    keys = ("x_train", "y_train", "x_test", "y_test")
    f = _npz.load_dataset_file(NAME, path, FILE_HASHES, keys, base_url, cache_dir)
    rng = np.random.RandomState(seed)
    x_train, labels_train = _sequences.shuffled(rng, f["x_train"], f["y_train"])
    x_test, labels_test = _sequences.shuffled(rng, f["x_test"], f["y_test"])
    x_train = _sequences.with_markers(x_train, start_char, index_from)
    x_test = _sequences.with_markers(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = _sequences.remove_long(maxlen, x_train, labels_train)
        x_test, labels_test = _sequences.remove_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was "
                "kept. Increase maxlen."
            )
    xs = _sequences.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    cut = len(x_train)
    return (
        (_sequences.as_object_array(xs[:cut]), labels[:cut]),
        (_sequences.as_object_array(xs[cut:]), labels[cut:]),
    )


def get_word_index(path="imdb_word_index.json", *, cache_dir=None, base_url=None) -> dict:
    """The word -> index dictionary of the IMDB dataset (indices before
    `index_from` is added), found or downloaded as `load_data`'s file."""
    return _sequences.word_index(NAME, path, WORD_INDEX_HASHES, base_url, cache_dir)
