"""Bad inputs a differential survey against Keras 3.15 found accepted or
explained badly (session 19): each is refused before anything changes, with
Keras's exception and message where Keras refuses it, else a message that
names the argument, what was expected and what came.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import layers, models, optimizers

_NAME_MESSAGE = "Argument `name` must be a string and cannot contain character `/`."
_BAD_NAMES = [5, "a/b", b"x", 1.5]


def _constructors():
    return {
        "Dense": lambda **kw: layers.Dense(3, **kw),
        "Dropout": lambda **kw: layers.Dropout(0.5, **kw),
        "LayerNormalization": lambda **kw: layers.LayerNormalization(**kw),
        "Input": lambda **kw: layers.Input((4,), **kw),
        "Sequential": lambda **kw: models.Sequential(**kw),
    }


# -- names -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(_constructors()))
@pytest.mark.parametrize("name", _BAD_NAMES, ids=["int", "slash", "bytes", "float"])
def test_layer_and_model_name_not_a_string_or_with_slash_is_kerass_value_error(kind, name):
    counts = dict(layers._name_counts)
    with pytest.raises(ValueError) as info:
        _constructors()[kind](name=name)
    assert str(info.value) == f"{_NAME_MESSAGE} Received: name={name} (of type {type(name)})"
    assert layers._name_counts == counts  # no automatic name drawn


def test_functional_model_name_with_slash_is_refused():
    inputs = fastnn.Input((4,))
    outputs = layers.Dense(2)(inputs)
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        fastnn.Model(inputs, outputs, name="a/b")
    assert fastnn.Model(inputs, outputs, name="ok").name == "ok"


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.RMSprop])
@pytest.mark.parametrize("name", [5, "a/b"])
def test_optimizer_name_not_a_string_or_with_slash_is_kerass_value_error(cls, name):
    with pytest.raises(ValueError) as info:
        cls(name=name)
    assert str(info.value) == f"{_NAME_MESSAGE} Received: name={name}"


def test_names_keras_takes_still_work():
    assert layers.Dense(3, name="my dense-1").name == "my dense-1"
    assert layers.Dense(3, name=np.str_("npname")).name == "npname"
    assert models.Sequential(name="s.1").name == "s.1"
    assert optimizers.Adam(name="opt").name == "opt"


def test_name_messages_are_kerass():
    keras = keras_or_skip()
    for make_fastnn, make_keras in [
        (lambda: layers.Dense(3, name=5), lambda: keras.layers.Dense(3, name=5)),
        (lambda: models.Sequential(name="a/b"), lambda: keras.Sequential(name="a/b")),
        (lambda: optimizers.SGD(name=5), lambda: keras.optimizers.SGD(name=5)),
    ]:
        with pytest.raises(ValueError) as ours:
            make_fastnn()
        with keras_quiet(), pytest.raises(ValueError) as theirs:
            make_keras()
        assert str(ours.value) == str(theirs.value)


# -- trainable ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(_constructors()))
@pytest.mark.parametrize(
    "value", ["False", 0, 1, None, 1.0, [], np.int64(1)], ids=lambda v: repr(v)
)
def test_trainable_not_a_boolean_is_kerass_value_error(kind, value):
    counts = dict(layers._name_counts)
    with pytest.raises(ValueError) as info:
        _constructors()[kind](trainable=value)
    assert str(info.value) == (
        f"Expected `trainable` to be a boolean. Received: trainable={value} (of type {type(value)})"
    )
    assert layers._name_counts == counts


def test_trainable_bool_and_numpy_bool_are_taken():
    assert layers.Dense(3, trainable=False).trainable is False
    assert layers.Dense(3, trainable=np.bool_(False)).trainable is False
    assert models.Sequential(trainable=np.bool_(True)).trainable is True


def test_trainable_message_is_kerass():
    keras = keras_or_skip()
    with pytest.raises(ValueError) as ours:
        layers.Dense(3, trainable="False")
    with keras_quiet(), pytest.raises(ValueError) as theirs:
        keras.layers.Dense(3, trainable="False")
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("value", ["False", "True", None, 2, []], ids=repr)
def test_layer_normalization_rms_scaling_not_a_boolean_says_so(value):
    with pytest.raises(ValueError, match="`rms_scaling` must be a boolean") as info:
        layers.LayerNormalization(rms_scaling=value)
    assert f"rms_scaling={value!r}" in str(info.value)
    assert layers.LayerNormalization(rms_scaling=0).rms_scaling is False


# -- building again at another width ---------------------------------------------------
def _built_model():
    model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile("sgd", "mse")
    return model


def test_build_of_a_built_model_at_another_width_is_kerass_value_error():
    model = _built_model()
    weights = model.get_weights()
    with pytest.raises(ValueError) as info:
        model.build((None, 5))
    assert str(info.value) == (
        f"Sequential model '{model.name}' has already been configured to use input shape "
        "(None, 4). You cannot build it with input_shape (None, 5)"
    )
    assert model.input_shape == (None, 4)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    model.build((None, 4))  # the same shape again changes nothing
    model.build([32, 4])


def test_build_again_without_input_layer_at_another_width_is_refused():
    model = models.Sequential([layers.Dense(3)])
    model.build((None, 4))
    with pytest.raises(ValueError, match=r"configured to use input shape \(None, 4\)"):
        model.build((None, 5))


def test_build_of_a_functional_model_at_another_width_is_refused():
    inputs = fastnn.Input((4,))
    model = fastnn.Model(inputs, layers.Dense(3)(inputs))
    with pytest.raises(ValueError, match=r"cannot build it with input_shape \(None, 5\)"):
        model.build((None, 5))


def test_compute_output_shape_at_another_width_is_refused_naming_both_shapes():
    model = _built_model()
    assert model.compute_output_shape((None, 4)) == (None, 3)
    with pytest.raises(ValueError) as info:
        model.compute_output_shape((None, 5))
    assert str(info.value) == (
        f"Input 0 of layer '{model.name}' is incompatible with the layer: "
        "expected shape=(None, 4), found shape=(None, 5)"
    )
    inputs = fastnn.Input((4,))
    several = fastnn.Model(inputs, [layers.Dense(3)(inputs)])
    with pytest.raises(ValueError, match=r"expected shape=\(None, 4\), found shape=\(None, 5\)"):
        several.compute_output_shape((None, 5))


@pytest.mark.parametrize(
    "make",
    [lambda: layers.Dense(3), layers.PReLU, layers.BatchNormalization, layers.LayerNormalization],
)
def test_layer_built_again_at_another_width_is_refused_and_keeps_its_weights(make):
    layer = make()
    layer.build((None, 4))
    weights = layer.get_weights()
    layer.build((None, 4))  # the same width: nothing changes
    with pytest.raises(ValueError, match=r"already built for inputs of shape \(None, 4\)") as info:
        layer.build((None, 7))
    assert "(None, 7)" in str(info.value)
    assert all(np.array_equal(a, b) for a, b in zip(weights, layer.get_weights()))


def test_layer_of_a_model_built_again_at_another_width_is_refused():
    dense = layers.Dense(3)
    models.Sequential([layers.Input((4,)), dense])
    with pytest.raises(ValueError, match="already built for inputs of shape"):
        dense.build((None, 7))


@pytest.mark.parametrize("shape", [5, "5", 5.0], ids=repr)
def test_build_with_a_number_says_the_shape_needs_the_batch_axis(shape):
    model = models.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match=r"input_shape must be a tuple with the batch axis first"):
        model.build(shape)
    assert not model.built
