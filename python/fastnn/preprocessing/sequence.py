"""``keras.preprocessing.sequence``: `pad_sequences` (`fastnn.utils.pad_sequences`)."""

from fastnn.utils.sequences import pad_sequences

__all__ = ["pad_sequences"]
