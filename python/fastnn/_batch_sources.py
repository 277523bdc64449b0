"""Batch sources for `fit` / `evaluate` / `predict`: Python generators (and
iterators), `keras.utils.PyDataset`-style objects and torch DataLoaders, read
as Keras 3 (torch backend) reads them.

Mirrors ``keras/src/trainers/data_adapters/generator_data_adapter.py``,
``py_dataset_adapter.py``, ``torch_data_loader_adapter.py`` (with the torch
trainer's ``TorchEpochIterator``, which iterates the DataLoader itself),
``__init__.py`` (which arguments are refused) and
``keras/src/trainers/epoch_iterator.py`` (how many batches an epoch takes and
what happens when a source runs out), with ``steps_per_execution = 1``. The
model converts and checks each batch as it does arrays (`Sequential._source_*`
in models.py); arrays never come here.

Keras's quirks kept on purpose, so that a script gives the same History:

* a generator's first two batches are read when the source is set up (Keras
  peeks them for its tensor spec) and replayed whenever a new pass starts: a
  finite generator that ran out trains (or validates) on those two batches
  again in each later epoch;
* running out warns "Your input ran out of data" (also at the natural end of a
  finite generator when no `steps_per_epoch` is given), and an epoch that gets
  no batch at all logs nothing.

Differences: a PyDataset's `on_epoch_end` is called once after each epoch
(Keras also calls it once before the first, from `EpochIterator.reset`), its
`workers` / `use_multiprocessing` are ignored (batches are read in order in the
calling thread, as Keras's ordered enqueuer delivers them), a PyDataset (or a
DataLoader: Keras fails inside its metrics) of length 0 is a ValueError, and
any Python iterator is taken like a generator (Keras takes only
`types.GeneratorType`).

A DataLoader is iterated afresh for each pass (``iter(loader)``: a shuffling
loader gives a new order each epoch, from its own generator), its batches
taken as it gives them (tensors or arrays; ``[x, y]`` lists as tuples); an
epoch is ``len(loader)`` batches when its dataset has a length, else (an
IterableDataset) the loader is read until it runs out, with Keras's warning.
Torch is never imported here: a DataLoader is recognised by its classes'
names and modules, as Keras recognises it.
"""

from __future__ import annotations

import collections
import itertools
import types
import warnings

import numpy as np

from fastnn.utils.tensors import is_torch_dataloader, is_torch_dataset

# Keras's data_adapter_utils.NUM_BATCHES_FOR_TENSOR_SPEC: batches a generator
# adapter reads ahead (and replays at each new pass).
_PEEKED_BATCHES = 2


# Python's own containers: data (or not data at all), never a dataset of batches
_CONTAINERS = (
    list,
    tuple,
    dict,
    str,
    bytes,
    bytearray,
    range,
    collections.deque,
    collections.UserList,
    collections.UserDict,
    collections.UserString,
    np.ndarray,
)


def is_py_dataset(x) -> bool:
    """A `keras.utils.PyDataset` or an object shaped like one (duck typed:
    `__getitem__(index)` and `__len__` or `num_batches`); arrays and
    array-likes (anything with `shape` or `__array__`: pandas, xarray,
    h5py ...), Python's containers (lists, tuples, dicts, strings, ranges,
    deques, `array.array`) and torch datasets (whose items are samples, not
    batches: a DataLoader batches them) are not."""
    from fastnn.utils.py_dataset import PyDataset

    if isinstance(x, PyDataset):
        return True
    if x is None or isinstance(x, _CONTAINERS) or type(x).__module__ == "array":
        return False
    if hasattr(x, "shape") or hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return False
    if is_torch_dataset(x):
        return False
    return hasattr(x, "__getitem__") and (hasattr(x, "__len__") or hasattr(x, "num_batches"))


def is_generator(x) -> bool:
    """A Python generator or another iterator (an object with `__next__`)."""
    if isinstance(x, types.GeneratorType):
        return True
    if x is None or isinstance(x, _CONTAINERS):
        return False
    if hasattr(x, "shape") or is_torch_dataset(x):
        return False
    return hasattr(x, "__next__") and hasattr(x, "__iter__")


def is_batch_source(x) -> bool:
    return is_torch_dataloader(x) or is_py_dataset(x) or is_generator(x)


def _kind(x) -> str:
    if is_torch_dataloader(x):
        return "torch DataLoader"
    return "PyDataset" if is_py_dataset(x) else "generator"


def _refuse_arg(name: str, description: str, kind: str) -> None:
    """Keras's raise_unsupported_arg."""
    raise ValueError(
        f"When providing `x` as a {kind}, `{name}` should not be passed. Instead, "
        f"{description} should be included as part of the {kind}."
    )


def check_arguments(x, y=None, sample_weight=None, class_weight=None) -> None:
    """Keras's get_data_adapter checks, before any batch is read."""
    kind = _kind(x)
    if y is not None:
        _refuse_arg("y", "the targets", kind)
    if sample_weight is not None:
        _refuse_arg("sample_weights", "the sample weights", kind)
    if class_weight is not None and kind == "generator":
        raise ValueError(
            "Argument `class_weight` is not supported for Python generator inputs. "
            f"Received: class_weight={class_weight}"
        )
    if class_weight is not None and kind == "torch DataLoader":
        raise ValueError(
            "Argument `class_weight` is not supported for torch DataLoader inputs. You can "
            "modify your `__getitem__ ` method to return input tensor, label and class_weight. "
            "Alternatively, use a custom training loop. See the User Guide "
            "https://keras.io/guides/custom_train_step_in_torch/"
            "#supporting-sampleweight-amp-classweight for more details. "
            f"Received: class_weight={class_weight}"
        )


def adapter(x, class_weight=None, shuffle: bool = False, seed=None):
    """The data adapter Keras would pick for `x` (arguments already checked
    with `check_arguments`); warns as Keras does about `shuffle=True`."""
    if is_torch_dataloader(x):
        if shuffle:
            warnings.warn(
                "`shuffle=True` was passed, but will be ignored since the data `x` was "
                "provided as a torch DataLoader. The DataLoader is expected to already be "
                "shuffled.",
                UserWarning,
                stacklevel=3,
            )
        return _DataLoaderAdapter(x)
    if is_py_dataset(x):
        _ = getattr(
            x, "workers", None
        )  # Keras reads it: a subclass that skipped super().__init__ warns
        source = _PyDatasetAdapter(x, class_weight, shuffle, seed)
        if shuffle and source.num_batches is None:
            warnings.warn(
                "`shuffle=True` was passed, but will be ignored since the data `x` was "
                "provided as an infinite PyDataset. The PyDataset is expected to already "
                "be shuffled.",
                UserWarning,
                stacklevel=3,
            )
        return source
    if shuffle:
        warnings.warn(
            "`shuffle=True` was passed, but will be ignored since the data `x` was provided "
            "as a generator. The generator is expected to yield already-shuffled data.",
            UserWarning,
            stacklevel=3,
        )
    return _GeneratorAdapter(x)


def unpack(batch):
    """Keras's unpack_x_y_sample_weight: `(x, y, sample_weight)` of a batch."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if len(batch) in (1, 2, 3):
        return (*batch, None, None)[:3]
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found a tuple of {len(batch)} elements"
    )


class _GeneratorAdapter:
    """Keras's GeneratorDataAdapter: reads the first batches ahead (an empty
    generator, or one that does not yield tuples, is a ValueError) and starts
    every pass with them."""

    num_batches = None

    def __init__(self, generator):
        first = list(itertools.islice(generator, _PEEKED_BATCHES))
        if not first:
            raise ValueError(
                "When passing a Python generator to a Keras model, the generator must yield "
                "at least one batch. Received an empty generator."
            )
        if not isinstance(first[0], tuple):
            raise ValueError(
                "When passing a Python generator to a Keras model, the generator must return "
                "a tuple, either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Received: {type(first[0]).__name__} {str(first[0])[:100]}"
            )
        self._first = first
        self._generator = generator

    def iterator(self):
        return itertools.chain(self._first, self._generator)

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


class _DataLoaderAdapter:
    """Keras's TorchDataLoaderAdapter as the torch trainer reads it: each
    pass is a new ``iter(loader)``; ``len(loader)`` batches when the
    loader's dataset has a length, else unknown until the loader runs out."""

    def __init__(self, loader):
        self._loader = loader
        self.num_batches = len(loader) if hasattr(loader.dataset, "__len__") else None
        if self.num_batches == 0:
            raise ValueError(
                "The DataLoader has length 0: it holds no batch to read (its dataset has "
                f"{len(loader.dataset)} samples)"
            )

    def iterator(self):
        return iter(self._loader)

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


class _PyDatasetAdapter:
    """Keras's PyDatasetAdapter (without its worker pool): batch `i` is
    `dataset[i]`; a finite dataset's order is shuffled each pass with
    `shuffle`; class_weight becomes each batch's sample weights."""

    def __init__(self, dataset, class_weight=None, shuffle: bool = False, seed=None):
        self.dataset = dataset
        self.class_weight = class_weight
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        n = self.num_batches
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))):
            raise TypeError(f"The PyDataset's length must be an integer or None, got {n!r}")
        if n is not None and n <= 0:
            raise ValueError("The PyDataset has length 0: it holds no batch to read")

    @property
    def num_batches(self):
        """`num_batches` when the object has it (None: infinite), else `len()`."""
        if hasattr(self.dataset, "num_batches"):
            return self.dataset.num_batches
        return len(self.dataset)

    def _standardize(self, batch):
        if isinstance(batch, dict):
            return (batch,)
        if isinstance(batch, np.ndarray):
            batch = (batch,)
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
            raise ValueError(
                "PyDataset.__getitem__() must return a tuple or a dict. If a tuple, it must "
                "be ordered either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Received: {str(batch)[:100]}... of type {type(batch)}"
            )
        if self.class_weight is not None:
            if len(batch) == 3:
                raise ValueError(
                    "You cannot specify `class_weight` and `sample_weight` at the same time."
                )
            if len(batch) == 2:
                batch = (*batch, _ClassWeight(self.class_weight))
        return batch

    def iterator(self):
        n = self.num_batches
        if n is None:
            indices = itertools.count()
        elif self.shuffle:
            indices = self._rng.permutation(n).tolist()
        else:
            indices = range(n)
        return (self._standardize(self.dataset[i]) for i in indices)

    def on_epoch_begin(self) -> None:
        hook = getattr(self.dataset, "on_epoch_begin", None)
        if callable(hook):
            hook()

    def on_epoch_end(self) -> None:
        hook = getattr(self.dataset, "on_epoch_end", None)
        if callable(hook):
            hook()


class _ClassWeight:
    """Marks a batch's sample weights as "from class_weight": the model
    computes them from the batch's labels once they are checked."""

    def __init__(self, class_weight):
        self.class_weight = class_weight


def class_weight_of(sample_weight):
    """(sample_weight, class_weight) with a `_ClassWeight` marker unpacked."""
    if isinstance(sample_weight, _ClassWeight):
        return None, sample_weight.class_weight
    return sample_weight, None


def _warn_ran_out() -> None:
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches. You may need "
        "to use the `.repeat()` function when building your dataset.",
        UserWarning,
        stacklevel=4,
    )


class EpochIterator:
    """Keras's EpochIterator over one adapter with steps_per_execution 1:
    `epoch()` yields `(step, batch)` for one epoch.

    With `steps_per_epoch`, an epoch continues the pass where the previous one
    stopped; without it, every epoch starts a new pass. A source that runs out
    ends the epoch with Keras's warning, and from then on its number of
    batches is the steps seen (the failed one included, as Keras counts).
    """

    def __init__(self, source, steps_per_epoch=None):
        self.source = source
        self.steps_per_epoch = steps_per_epoch
        self._current = None
        self._steps_seen = 0
        self._num_batches = source.num_batches

    @property
    def num_batches(self):
        """The progress bar's target: `steps_per_epoch`, else the source's
        length (None while unknown)."""
        return self.steps_per_epoch or self._num_batches

    def reset(self) -> None:
        """Back to the first batch (Keras resets before each evaluate)."""
        self._current = None
        self._num_batches = self.source.num_batches
        self._steps_seen = 0

    def _ran_out(self) -> None:
        if self._num_batches is None:
            self._num_batches = self._steps_seen
        _warn_ran_out()
        self._current = None
        self.source.on_epoch_end()

    def epoch(self):
        self.source.on_epoch_begin()
        steps = self.steps_per_epoch or self._num_batches or -1
        if steps > 0:
            if self._current is None or self.steps_per_epoch is None:
                self._current = self.source.iterator()
                self._steps_seen = 0
            for step in range(steps):
                if self._num_batches and self._steps_seen >= self._num_batches:
                    if self.steps_per_epoch:
                        _warn_ran_out()
                    break
                self._steps_seen += 1
                try:
                    batch = next(self._current)
                except StopIteration:
                    self._ran_out()
                    return
                yield step, batch
            if self._num_batches and self._steps_seen >= self._num_batches:
                self._current = self.source.iterator()
                self._steps_seen = 0
        else:
            iterator = self.source.iterator()
            for step in itertools.count():
                self._steps_seen = step + 1
                try:
                    batch = next(iterator)
                except StopIteration:
                    self._ran_out()
                    return
                yield step, batch
        self.source.on_epoch_end()


class ValidationSource:
    """`fit`'s validation_data given as a generator or PyDataset: its adapter
    is made at the first validation and kept for the fit (a generator is
    read ahead then), and every validation starts a new pass, as in Keras."""

    def __init__(self, data, steps=None):
        self.data = data
        self.steps = steps
        self._iterator = None

    def iterator(self) -> EpochIterator:
        if self._iterator is None:
            self._iterator = EpochIterator(adapter(self.data), self.steps)
        self._iterator.reset()
        return self._iterator
