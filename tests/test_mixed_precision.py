"""`fastnn.mixed_precision` (Keras 3's `keras.mixed_precision`): the float32
policy is accepted as Keras accepts it, every other one refused with the
reason; layers show Keras's float32 policy attributes."""

from __future__ import annotations

import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import layers, mixed_precision


def test_the_float32_policy_is_keras_s():
    keras = keras_or_skip()
    with keras_quiet():
        theirs = keras.mixed_precision.global_policy()
    mixed_precision.set_global_policy("float32")
    mixed_precision.set_global_policy(mixed_precision.Policy("float32"))
    mixed_precision.set_global_policy(None)
    ours = mixed_precision.global_policy()
    assert repr(ours) == repr(theirs) == '<DTypePolicy "float32">'
    for attribute in ("name", "compute_dtype", "variable_dtype", "quantization_mode"):
        assert getattr(ours, attribute) == getattr(theirs, attribute)
    assert ours.get_config() == theirs.get_config()
    assert fastnn.DTypePolicy.from_config(ours.get_config()).name == "float32"
    assert repr(fastnn.config.dtype_policy()) == repr(keras.config.dtype_policy())
    dense, their_dense = layers.Dense(2), keras.layers.Dense(2)
    for attribute in ("dtype", "compute_dtype", "variable_dtype"):
        assert getattr(dense, attribute) == getattr(their_dense, attribute)
    assert repr(dense.dtype_policy) == repr(their_dense.dtype_policy)
    public = {n for n in dir(keras.mixed_precision) if not n.startswith("_")}
    assert set(mixed_precision.__all__) == public - {"LossScaleOptimizer"}


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16", "float64", "float16"])
def test_other_precisions_are_refused_with_the_reason(policy):
    with pytest.raises(ValueError, match="float32 only"):
        mixed_precision.set_global_policy(policy)
    with pytest.raises(ValueError, match="float32 only"):
        mixed_precision.DTypePolicy(policy)
    with pytest.raises(ValueError, match="float32 only"):
        fastnn.config.set_dtype_policy(policy)
    assert mixed_precision.global_policy().name == "float32"


def test_an_unknown_policy_gives_keras_s_message():
    with pytest.raises(ValueError, match="Cannot convert 'float33' to a mixed precision"):
        mixed_precision.set_global_policy("float33")


def test_layers_take_the_float32_policy_as_their_dtype():
    import numpy as np

    for dtype in (mixed_precision.DTypePolicy("float32"), mixed_precision.global_policy(),
                  np.float32, np.dtype("float32"), "float32", None):  # fmt: skip
        assert layers.Dense(2, dtype=dtype).dtype == "float32"
        assert layers.BatchNormalization(dtype=dtype).dtype == "float32"
    assert fastnn.Input((3,), dtype=np.float32).dtype == "float32"
    with pytest.raises(ValueError, match="not supported"):
        layers.Dense(2, dtype="float64")


def test_the_policy_serializes_both_ways_with_keras():
    keras = keras_or_skip()
    ours = fastnn.saving.serialize_keras_object(mixed_precision.DTypePolicy())
    with keras_quiet():
        theirs = keras.saving.serialize_keras_object(keras.DTypePolicy("float32"))
        assert repr(keras.saving.deserialize_keras_object(ours)) == '<DTypePolicy "float32">'
    assert ours == theirs
    back = fastnn.saving.deserialize_keras_object(theirs)
    assert back == mixed_precision.global_policy() and back != "float32"
