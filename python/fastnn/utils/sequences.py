"""`pad_sequences`, as Keras 3's ``keras.utils.pad_sequences`` (also
``keras.preprocessing.sequence.pad_sequences``): lists of variable length
made into one array, for multi-hot encodings or dense inputs of fixed width."""

from __future__ import annotations

import numpy as np

__all__ = ["pad_sequences"]


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """Pads (or truncates) each sequence to `maxlen` entries.

    Args:
        sequences: a list (or other sized iterable) of sequences; each entry
            of a sequence is a number or an array of one shape for all.
        maxlen: the length of every row. Defaults to the longest sequence.
        dtype: the result's dtype. Defaults to `"int32"` (as Keras: floats
            are truncated; use `dtype=object` for strings).
        padding: `"pre"` or `"post"`: where the padding goes.
        truncating: `"pre"` or `"post"`: which end of a longer sequence is
            dropped.
        value: the padding value.

    Returns:
        A NumPy array `(len(sequences), maxlen, *entry_shape)`.

    Raises:
        ValueError: a non-sized `sequences` or entry, an unknown `padding` /
            `truncating`, entries of differing shapes, or a string `value`
            with a non-string `dtype`.

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2)
    array([[2, 3],
           [0, 4]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths, entry_shape = [], None
    for sequence in sequences:
        if isinstance(sequence, (str, bytes)):  # len() counts characters: not a sequence of entries
            raise ValueError(
                "`sequences` must be a list of sequences (lists or arrays of entries); found "
                f"a {type(sequence).__name__}: {sequence!r:.40}. Tokenize text first, or pass "
                "[[word, ...], ...] with dtype=object"
            )
        try:
            lengths.append(len(sequence))
        except TypeError:
            raise ValueError(
                f"`sequences` must be a list of iterables. Found non-iterable: {sequence}"
            ) from None
        if entry_shape is None and len(sequence):
            entry_shape = np.asarray(sequence).shape[1:]
    entry_shape = entry_shape or ()
    width = (max(lengths) if lengths else 0) if maxlen is None else int(maxlen)
    text_dtype = dtype is object or np.issubdtype(np.dtype(dtype), np.str_)
    if isinstance(value, str) and not text_dtype:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    out = np.full((len(lengths), width, *entry_shape), value, dtype=dtype)
    for row, (sequence, length) in enumerate(zip(sequences, lengths)):
        if not length:
            continue
        kept = min(length, width)
        if not kept:
            continue
        part = sequence[length - kept :] if truncating == "pre" else sequence[:kept]
        part = np.asarray(part, dtype=dtype)
        if part.shape[1:] != entry_shape:
            raise ValueError(
                f"Shape of sample {part.shape[1:]} of sequence at position {row} is different "
                f"from expected shape {entry_shape}"
            )
        if padding == "post":
            out[row, :kept] = part
        else:
            out[row, width - kept :] = part
    return out
