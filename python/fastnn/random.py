"""``keras.random`` is not mirrored: ``import fastnn.random`` and ``from
fastnn.random import normal`` raise an ImportError saying why and what to
use instead (`fastnn._absent`), where Python would say "No module named"."""

from fastnn._absent import message

raise ImportError(message("fastnn", "random"), name=__name__)
