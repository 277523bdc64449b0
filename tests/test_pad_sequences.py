"""`utils.pad_sequences` (and `preprocessing.sequence.pad_sequences`) against
Keras 3's, over lengths, truncation and padding sides, dtypes, entry shapes
and the error cases."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip

import fastnn
from fastnn.preprocessing.sequence import pad_sequences

RNG = np.random.default_rng(0)
RAGGED = [list(RNG.integers(1, 50, n)) for n in (0, 1, 2, 3, 5, 7, 11)]

CASES = [
    ([[1, 2, 3], [4]], {}),
    (RAGGED, {}),
    (RAGGED, {"maxlen": 4}),
    (RAGGED, {"maxlen": 4, "truncating": "post"}),
    (RAGGED, {"maxlen": 4, "padding": "post"}),
    (RAGGED, {"maxlen": 13, "padding": "post", "truncating": "post", "value": -1}),
    (RAGGED, {"maxlen": 1}),
    ([[], []], {}),
    ([[], []], {"maxlen": 3}),
    ([[0.5, 1.7], [2.2]], {}),
    ([[0.5, 1.7], [2.2]], {"dtype": "float32", "value": 0.25}),
    ([np.arange(4), np.arange(2)], {"dtype": "int64"}),
    ([[[1, 2], [3, 4]], [[5, 6]]], {}),
    ([[[1, 2], [3, 4]], [[5, 6]]], {"maxlen": 1, "padding": "post"}),
    ([["a", "b"], ["c"]], {"dtype": object, "value": "<pad>"}),
    ([[1, 2], [3]], {"value": "x"}),
    ([[1, 2], [3]], {"padding": "middle"}),
    ([[1, 2], [3]], {"truncating": "middle"}),
    ([[1, 2], 3], {}),
    (5, {}),
    ([[[1, 2]], [[1, 2, 3]]], {}),
]


def outcome(function, sequences, kwargs):
    try:
        return function(sequences, **kwargs)
    except (ValueError, TypeError) as e:
        return type(e), str(e)


@pytest.mark.parametrize(("sequences", "kwargs"), CASES, ids=range(len(CASES)))
def test_pad_sequences_matches_keras(sequences, kwargs):
    keras = keras_or_skip()
    ours = outcome(pad_sequences, sequences, kwargs)
    theirs = outcome(keras.utils.pad_sequences, sequences, kwargs)
    if isinstance(theirs, tuple):
        assert ours == theirs
        return
    assert isinstance(ours, np.ndarray), ours
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_edges_where_keras_fails_inside_numpy():
    """maxlen=0 and no sequences: Keras 3.15 raises NumPy's broadcast / empty
    max errors; the rows are simply empty here."""
    assert pad_sequences(RAGGED, maxlen=0).shape == (len(RAGGED), 0)
    empty = pad_sequences([])
    assert empty.shape == (0, 0) and empty.dtype == np.int32


def test_the_docstring_example_without_keras():
    np.testing.assert_array_equal(
        fastnn.utils.pad_sequences([[1, 2, 3], [4]], maxlen=2), [[2, 3], [0, 4]]
    )
    padded = fastnn.utils.pad_sequences([[1, 2], [3]], padding="post", value=9)
    assert padded.dtype == np.int32 and padded.tolist() == [[1, 2], [3, 9]]


@pytest.mark.parametrize(
    "sequences",
    [["abc", "de"], [b"ab", b"c"], [["a", "b"], "cd"]],
    ids=["strings", "bytes", "a string among lists"],
)
def test_text_given_as_whole_strings_is_refused_not_broadcast(sequences):
    # np.asarray("abc") has shape (): each string was copied into every slot
    with pytest.raises(ValueError, match="must be a list of sequences .* found a (str|bytes)"):
        fastnn.utils.pad_sequences(sequences, dtype=object, value="")


def test_tokenized_text_still_pads():
    out = fastnn.utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="")
    assert out.tolist() == [["a", "b"], ["", "c"]]
