"""Reuters newswires: 11,228 short newswires labelled with one of 46 topics,
each a sequence of word indices (by frequency), as Keras's ``reuters`` loads
them."""

from __future__ import annotations

import numpy as np

from fastnn.datasets import _sequences

__all__ = ["get_label_names", "get_word_index", "load_data"]

NAME = "reuters"
FILE_HASHES = {"reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"}
WORD_INDEX_HASHES = {"reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921"}  # MD5

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip


def load_data(
    path="reuters.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    *,
    cache_dir=None,
    base_url=None,
):
    """Loads the Reuters newswire dataset as Keras's ``reuters.load_data``:
    the same shuffle and split for the same seed, the same markers and
    limits (see `fastnn.datasets.imdb.load_data` for `num_words`,
    `skip_top`, `maxlen`, `start_char`, `oov_char`, `index_from`, where the
    file is looked for and how it is read).

    Args:
        test_split: the fraction of newswires kept for the test set.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of
        word indices, and int64 topic ids 0-45.
    """
    from fastnn.datasets import _npz  # (zipfile and pickle, imported when used)

    f = _npz.load_dataset_file(NAME, path, FILE_HASHES, ("x", "y"), base_url, cache_dir)
    xs, labels = _sequences.shuffled(np.random.RandomState(seed), f["x"], f["y"])
    xs = _sequences.with_markers(xs, start_char, index_from)
    if maxlen:
        xs, labels = _sequences.remove_long(maxlen, xs, labels)
    xs = _sequences.limit_vocabulary(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return (
        (_sequences.as_object_array(xs[:cut]), np.array(labels[:cut])),
        (_sequences.as_object_array(xs[cut:]), np.array(labels[cut:])),
    )


def get_word_index(path="reuters_word_index.json", *, cache_dir=None, base_url=None) -> dict:
    """The word -> index dictionary of the Reuters dataset."""
    return _sequences.word_index(NAME, path, WORD_INDEX_HASHES, base_url, cache_dir)


def get_label_names() -> tuple:
    """The 46 topics' names, by topic id (Keras's tuple)."""
    return _LABEL_NAMES
