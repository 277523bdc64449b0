"""Bad inputs that reached the bindings without a clear error (an adversarial
hunt over every public entry point): each raises a Python exception that names
the argument and the bad value, and leaves the model or arrays unchanged.

- A model or a batch too large for the memory: MemoryError naming the
  parameter count or the batch (was a bare "std::bad_alloc").
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import _core, layers, models


def _overcommits_everything() -> bool:
    """vm.overcommit_memory=1 grants any allocation (and the OOM killer ends the
    process when it is touched): a too-large batch cannot be refused there."""
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def _state(model):
    return [w.copy() for w in model.get_weights()], model.optimizer.iterations


def _same(a, b):
    (wa, ia), (wb, ib) = a, b
    return ia == ib and len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def _small_model():
    model = models.Sequential([layers.Input((5,)), layers.Dense(4), layers.Dense(3)])
    model.compile("adam", "mse")
    x = np.ones((8, 5), np.float32)
    model.fit(x, np.ones((8, 3), np.float32), verbose=0)
    return model


# -- memory ------------------------------------------------------------------
# 4 x 2**53 weights and 2**53 biases: 5 x 2**53 floats (fastnn addresses up to
# 2**56), 160 PiB: beyond any address space (57-bit at most), so the
# allocation fails on every machine.
_HUGE_UNITS = 2**53


def test_model_too_large_for_memory_names_its_size_and_largest_layer():
    with pytest.raises(MemoryError) as info:
        models.Sequential([layers.Input((4,)), layers.Dense(_HUGE_UNITS, name="huge")])
    message = str(info.value)
    assert "std::bad_alloc" not in message
    assert f"{4 * _HUGE_UNITS + _HUGE_UNITS} parameters" in message
    assert f"'huge', holds 4 x {_HUGE_UNITS} weights" in message


def test_adding_a_layer_too_large_for_memory_leaves_the_model_unchanged():
    model = _small_model()
    before = _state(model)
    with pytest.raises(MemoryError, match="is too large for this machine's memory"):
        model.add(layers.Dense(_HUGE_UNITS))  # 3 x 2**53 weights after Dense(3): 128 PiB
    assert len(model.layers) == 2 and _same(before, _state(model))
    assert model.predict(np.ones((2, 5), np.float32), verbose=0).shape == (2, 3)


def test_engine_network_too_large_for_memory():
    with pytest.raises(MemoryError, match=r"network's \d+ parameters: .* PiB for the weights"):
        _core.nn.Network(4, [{"type": "dense", "units": _HUGE_UNITS}])


@pytest.mark.skipif(_overcommits_everything(), reason="vm.overcommit_memory=1 grants any size")
def test_batch_too_large_for_memory_names_the_batch_and_changes_nothing():
    # 2**24 samples through 2**22 units: 256 TiB of layer outputs (x is 64 MiB).
    model = models.Sequential([layers.Input((1,)), layers.Dense(2**22), layers.Dense(1)])
    model.compile("sgd", "mse")
    rows = 2**24
    x = np.ones((rows, 1), np.float32)
    y = np.ones((rows, 1), np.float32)
    before = _state(model)
    calls = {
        "fit": lambda: model.fit(x, y, batch_size=rows, verbose=0),
        "train_on_batch": lambda: model.train_on_batch(x, y),
        "test_on_batch": lambda: model.test_on_batch(x, y),
        "evaluate": lambda: model.evaluate(x, y, batch_size=rows, verbose=0),
    }
    for name, call in calls.items():
        with pytest.raises(MemoryError) as info:
            call()
        message = str(info.value)
        assert f"a batch of {rows} samples" in message and "batch_size" in message, name
        assert "PiB" in message, name
        assert _same(before, _state(model)), name
    # a batch that fits still runs
    model.fit(x[:64], y[:64], batch_size=64, verbose=0)
    assert model.optimizer.iterations == 1
