"""`keras.utils.PyDataset` (and its older name `Sequence`): the base class of
datasets that `fit`, `evaluate` and `predict` read batch by batch.

fastnn reads batches on the calling thread, in order; `workers`,
`use_multiprocessing` and `max_queue_size` are kept for Keras compatibility
(a subclass passes them to `super().__init__(**kwargs)`) and change nothing.
"""

from __future__ import annotations

import itertools
import warnings

_SETTINGS = {"workers": 1, "use_multiprocessing": False, "max_queue_size": 10}


def _setting(name: str) -> property:
    """A constructor argument kept for Keras compatibility, read as Keras
    reads it (warning when the subclass skipped `super().__init__`)."""
    attribute = "_" + name

    def read(self):
        self._warn_if_super_not_called()
        return getattr(self, attribute)

    def write(self, value):
        setattr(self, attribute, value)

    return property(read, write, doc=f"`{name}` (accepted; batches are read in order).")


class PyDataset:
    """Base class for a dataset of batches: implement `__getitem__(index)`
    (a batch: `x`, `(x, y)` or `(x, y, sample_weight)`) and `__len__` (the
    number of batches), or a `num_batches` property (None: infinite);
    optionally `on_epoch_begin` and `on_epoch_end`.

    Args:
        workers: accepted for Keras compatibility (batches are read in order
            on the calling thread).
        use_multiprocessing: accepted for Keras compatibility.
        max_queue_size: accepted for Keras compatibility.

    >>> import numpy as np
    >>> class Batches(PyDataset):
    ...     def __init__(self, x, y, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return -(-len(self.x) // self.batch_size)
    ...     def __getitem__(self, index):
    ...         rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
    ...         return self.x[rows], self.y[rows]
    >>> data = Batches(np.zeros((10, 3)), np.zeros(10), batch_size=4)
    >>> data.num_batches
    3
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        missing = [name for name in _SETTINGS if not hasattr(self, "_" + name)]
        for name in missing:
            setattr(self, "_" + name, _SETTINGS[name])
        if missing:
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be "
                "ignored.",
                stacklevel=3,
            )

    workers = _setting("workers")
    use_multiprocessing = _setting("use_multiprocessing")
    max_queue_size = _setting("max_queue_size")

    def __getitem__(self, index):
        """The batch at position `index` (a subclass implements it)."""
        raise NotImplementedError

    def __iter__(self):
        try:
            count = self.num_batches
        except NotImplementedError:
            count = None
        indices = range(count) if count is not None else itertools.count()
        for index in indices:
            yield self[index]

    @property
    def num_batches(self):
        """The number of batches (`len(self)` when defined), or None for an
        infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            "You need to implement the `num_batches` property:\n\n"
            "@property\ndef num_batches(self):\n  return ..."
        )

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch."""


Sequence = PyDataset  # Keras 3's alias of the older name
