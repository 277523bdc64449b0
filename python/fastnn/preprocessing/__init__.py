"""``keras.preprocessing`` as far as dense networks use it: `sequence.pad_sequences`."""

from fastnn import _absent
from fastnn.preprocessing import sequence

__all__ = ["sequence"]

# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
