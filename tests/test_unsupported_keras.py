"""What fastnn does not do, refused with the reason rather than a bare error:
a user's Layer subclass, merge layers, non-dense layers, Lambda."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import Input, layers


class Linear(layers.Layer):
    """Keras's "making new layers" guide, verbatim but for the import."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units))

    def call(self, inputs):
        return fastnn.ops.matmul(inputs, self.w)


def test_a_custom_layer_is_refused_with_the_reason():
    with pytest.raises(NotImplementedError, match=r"'linear' \(Linear\) is a custom layer"):
        fastnn.Sequential([Input((20,)), Linear(16), layers.Dense(3)])
    with pytest.raises(NotImplementedError, match="no automatic differentiation"):
        Linear(4)(Input((20,)))
    model = fastnn.Sequential([Input((3,)), layers.Dense(2)])
    weights = model.get_weights()
    with pytest.raises(NotImplementedError, match="custom layer"):
        model.add(Linear(2))
    assert len(model.layers) == 1  # the model is unchanged
    np.testing.assert_array_equal(model.get_weights()[0], weights[0])
    assert model.predict(np.ones((1, 3)), verbose=0).shape == (1, 2)


@pytest.mark.parametrize("name", ["Concatenate", "concatenate", "Add", "add", "Multiply"])
def test_merge_layers_point_to_the_single_chain_limit(name):
    with pytest.raises(AttributeError, match="one chain of layers"):
        getattr(layers, name)


@pytest.mark.parametrize("name", ["Conv2D", "LSTM", "Embedding"])
def test_non_dense_layers_say_fastnn_is_dense_only(name):
    with pytest.raises(AttributeError, match="dense networks"):
        getattr(layers, name)


def test_lambda_and_unknown_names():
    with pytest.raises(AttributeError, match="cannot run or differentiate a Python function"):
        _ = layers.Lambda
    with pytest.raises(AttributeError, match="has no attribute 'Nonsense'"):
        _ = layers.Nonsense
    assert not hasattr(layers, "Concatenate")


@pytest.mark.parametrize(
    ("name", "reason"),
    [("Conv2D", "dense networks"), ("Concatenate", "one chain of layers"), ("Lambda", "Python")],
)
def test_from_import_of_a_refused_layer_gives_the_reason(name, reason):
    """`from fastnn.layers import Conv2D` is how scripts meet it: Python would
    turn the AttributeError into a bare "cannot import name"."""
    with pytest.raises(ImportError, match=reason) as raised:
        exec(f"from fastnn.layers import Dense, {name}", {})
    assert raised.value.name == "fastnn.layers"

    def inside_a_function():
        from fastnn.layers import Conv2D  # noqa: F401

    with pytest.raises(ImportError, match="dense networks"):
        inside_a_function()
    with pytest.raises(ImportError, match="cannot import name 'Nonsense'"):
        exec("from fastnn.layers import Nonsense", {})
    # Attribute access keeps AttributeError, so probing works as usual.
    assert getattr(layers, name, "missing") == "missing"


def test_every_keras_layer_fastnn_lacks_is_refused_with_a_reason():
    from keras_inprocess import keras_or_skip

    keras = keras_or_skip()
    names = [n for n in dir(keras.layers) if n[0].isupper() and not hasattr(layers, n)]
    assert len(names) > 100
    for name in names:
        with pytest.raises(AttributeError) as raised:
            getattr(layers, name)
        assert "has no attribute" not in str(raised.value), name  # a reason, not the bare error
    with pytest.raises(ImportError, match="does not implement this Keras layer"):
        exec("from fastnn.layers import RMSNormalization", {})
    with pytest.raises(AttributeError, match="another framework"):
        _ = layers.TorchModuleWrapper


def test_probing_from_a_shallow_stack_is_a_plain_false(monkeypatch):
    """`hasattr` run directly as a thread's function: `__getattr__` is then the
    only Python frame, too shallow for the import-statement check."""
    import _thread
    import sys
    import time

    raised = []
    monkeypatch.setattr(sys, "unraisablehook", lambda report: raised.append(report.exc_value))
    before = _thread._count()
    for name in ("Conv2D", "Concatenate", "Lambda", "RMSNormalization", "Nonsense"):
        _thread.start_new_thread(hasattr, (layers, name))
    deadline = time.monotonic() + 10
    while _thread._count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert raised == []
