"""The global seed: `set_random_seed`, and the seeds fastnn draws from it.

Keras's ``keras.utils.set_random_seed(seed)`` seeds Python's `random`, NumPy's
global generator and the backend's global seed generator. fastnn does the
same; its own "backend" state is the module-level state below:

- `set_random_seed(seed)` stores `seed` and restarts a counter;
- `next_seed()` returns the next 64-bit seed of a sequence fixed by the stored
  seed (derived with `numpy.random.SeedSequence((seed, counter))`), or a fresh
  seed from the operating system's entropy when no global seed is set.

Every random choice fastnn makes without an explicit seed (initializers,
dropout masks, the shuffle order of `fit`, `validation_split` is not random)
takes one value from `next_seed()` at the time it is made, so the same script
after the same `set_random_seed(s)` makes the same choices, whatever the
number of threads.
"""

from __future__ import annotations

import operator
import random
import threading

import numpy as np

__all__ = ["get_random_seed", "next_seed", "set_random_seed"]

_MAX_SEED = 2**32 - 1  # numpy.random.seed's range

_lock = threading.Lock()
_global_seed = None
_counter = 0
_drawn = threading.local()  # .count: the seeds this thread drew from the sequence


def set_random_seed(seed):
    """Sets all random seeds: Python's, NumPy's global one, and fastnn's.

    After `set_random_seed(s)`, a script that builds and fits a model gives
    bit-identical weights from run to run, whatever the thread count.

    Args:
        seed: an integer in `[0, 2**32 - 1]`.

    Raises:
        ValueError: when `seed` is not an integer in that range.

    >>> from fastnn import utils
    >>> utils.set_random_seed(1337)
    >>> a = utils.next_seed()
    >>> utils.set_random_seed(1337)
    >>> a == utils.next_seed()
    True
    """
    global _global_seed, _counter
    if isinstance(seed, bool):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    try:
        seed = operator.index(seed)
    except TypeError:
        raise ValueError(
            f"Expected `seed` argument to be an integer. Received: seed={seed!r}"
        ) from None
    if not 0 <= seed <= _MAX_SEED:
        raise ValueError(
            f"Expected `seed` argument to be an integer in [0, {_MAX_SEED}]. Received: seed={seed}"
        )
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global generator, as Keras seeds it)
    with _lock:
        _global_seed = seed
        _counter = 0


def get_random_seed():
    """Returns the seed given to `set_random_seed`, or `None` if none was."""
    return _global_seed


def next_seed() -> int:
    """Returns a new 64-bit seed (a Python int in `[0, 2**64)`).

    With a global seed set, the values form a sequence fixed by that seed (the
    n-th call after `set_random_seed(s)` always returns the same value); without
    one, each value comes from the operating system's entropy.
    """
    global _counter
    with _lock:
        if _global_seed is None:
            sequence = np.random.SeedSequence()
        else:
            sequence = np.random.SeedSequence((_global_seed, _counter))
            _counter += 1
            _drawn.count = getattr(_drawn, "count", 0) + 1
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


def _reset_for_tests() -> None:
    """Forgets the global seed (tests use this to restore the initial state)."""
    global _global_seed, _counter
    with _lock:
        _global_seed = None
        _counter = 0


def _mark() -> tuple:
    """Where the seeded sequence stands, and how many of its seeds this
    thread has drawn: `_rewind_if_alone` takes it back there."""
    with _lock:
        return _counter, getattr(_drawn, "count", 0)


def _rewind_if_alone(mark: tuple) -> bool:
    """Goes back to `mark`, so that the seeds a call that failed and was
    undone drew are drawn again by the next one, but only when this thread
    drew every seed drawn since: another thread's seeds are never handed
    out twice. Returns whether it went back."""
    global _counter
    position, mine = mark
    with _lock:
        drawn_here = getattr(_drawn, "count", 0) - mine
        if _counter - position != drawn_here:
            return False
        _counter = position
        _drawn.count = mine
        return True
