"""A finite float64 value beyond float32's range (1e300) in x, y or sample
weights: Keras casts it to float32, inf, and trains to an inf loss; fastnn
refuses Inf in its inputs, and says that the value exceeds float32's range
(where it said "x contains Inf" about data holding none, after NumPy's
overflow warning), before anything changes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import layers

LARGEST = "3.4028235e+38"


def _model():
    fastnn.utils.set_random_seed(1)
    model = fastnn.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    return model


def _data():
    x = np.ones((8, 3))
    x[2, 1] = 1e300
    return x, np.ones((8, 2))


@pytest.mark.parametrize(
    "call",
    ["fit", "evaluate", "predict", "train_on_batch", "test_on_batch", "call", "validation"],
)
def test_x_beyond_float32_is_named_before_anything_changes(call):
    model = _model()
    weights = model.get_weights()
    x, y = _data()
    good = np.ones((8, 3))
    run = {
        "fit": lambda: model.fit(x, y, verbose=0),
        "evaluate": lambda: model.evaluate(x, y, verbose=0),
        "predict": lambda: model.predict(x, verbose=0),
        "train_on_batch": lambda: model.train_on_batch(x, y),
        "test_on_batch": lambda: model.test_on_batch(x, y),
        "call": lambda: model(x),
        "validation": lambda: model.fit(good, y, validation_data=(x, y), verbose=0),
    }[call]
    with pytest.raises(ValueError) as refused:
        run()
    prefix = "validation_data: " if call == "validation" else ""
    assert str(refused.value) == prefix + (
        f"x holds 1e+300 at row 2, column 1, which exceeds float32's range (largest {LARGEST}): "
        "fastnn computes in float32, where it would be Inf"
    )
    assert model.optimizer.iterations == 0
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_y_and_sample_weight_beyond_float32_are_named():
    model = _model()
    x = np.ones((8, 3))
    y = np.ones((8, 2))
    y[5, 1] = -1e39
    with pytest.raises(ValueError, match=r"^y holds -1e\+39 at row 5, column 1, which exceeds"):
        model.fit(x, y, verbose=0)
    weights = np.ones(8)
    weights[3] = 1e300
    with pytest.raises(ValueError, match=r"^sample_weight holds 1e\+300 at index 3, which exceeds"):
        model.fit(x, np.ones((8, 2)), sample_weight=weights, verbose=0)
    assert model.optimizer.iterations == 0


def test_inf_itself_and_values_that_round_to_the_largest_float32():
    model = _model()
    x = np.ones((4, 3))
    x[1, 0] = np.inf
    with pytest.raises(ValueError, match="x contains Inf at row 1, column 0"):
        model.predict(x, verbose=0)
    # rounds to float32's largest (finite): taken, as the cast gives it
    x[1, 0] = 3.4028235e38
    assert np.isfinite(model.predict(x, verbose=0)[0]).all()
    x[1, 0] = 3.4028236e38  # beyond the rounding midpoint: Inf in float32
    with pytest.raises(ValueError, match=r"x holds 3.4028236e\+38 at row 1, column 0"):
        model.predict(x, verbose=0)


def test_keras_casts_such_a_value_to_inf():
    """What fastnn's message says the value would be: Keras's float32 cast
    makes it inf, and its training loss is inf (it does not raise)."""
    keras = keras_or_skip()
    x, y = _data()
    with keras_quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow in Keras's cast
        assert np.isinf(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32"))[2, 1])
        model = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(2)])
        model.compile("sgd", "mse")
        loss = model.fit(x, y, verbose=0).history["loss"][0]
    assert not np.isfinite(loss)
