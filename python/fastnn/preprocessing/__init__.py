"""``keras.preprocessing`` as far as dense networks use it: `sequence.pad_sequences`."""

from fastnn.preprocessing import sequence

__all__ = ["sequence"]
