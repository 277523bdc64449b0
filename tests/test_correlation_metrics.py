"""PearsonCorrelation and ConcordanceCorrelation (and their functions)
against Keras 3 on the same data: per-sample values, the weighted mean of
the metric objects, names and configs, and the logs of `fit`."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import metrics

NAMES = ("pearson_correlation", "concordance_correlation")
CLASSES = {
    "pearson_correlation": "PearsonCorrelation",
    "concordance_correlation": "ConcordanceCorrelation",
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "shape,axis", [((7, 5), -1), ((13, 2), 1), ((4, 3, 6), -1), ((4, 3, 6), (1, 2)), ((9, 11), 0)]
)
def test_functions_match_keras(rng, name, shape, axis):
    keras = keras_or_skip()
    y_true = rng.standard_normal(shape).astype(np.float32)
    y_pred = (0.5 * y_true + rng.standard_normal(shape)).astype(np.float32)
    with keras_quiet():
        expected = keras.ops.convert_to_numpy(
            getattr(keras.metrics, name)(y_true, y_pred, axis=axis)
        )
    got = getattr(metrics, name)(y_true, y_pred, axis=axis)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", NAMES)
def test_objects_match_keras_with_sample_weights(rng, name):
    keras = keras_or_skip()
    ours, theirs = getattr(metrics, CLASSES[name])(), getattr(keras.metrics, CLASSES[name])()
    assert ours.name == theirs.name == name
    assert ours.get_config() == {"name": name, "dtype": ours.dtype, "axis": -1}
    with keras_quiet():
        for rows in (8, 3, 1):
            y_true = rng.random((rows, 4)).astype(np.float32)
            y_pred = rng.random((rows, 4)).astype(np.float32)
            weights = rng.random(rows).astype(np.float32)
            ours.update_state(y_true, y_pred, sample_weight=weights)
            theirs.update_state(y_true, y_pred, sample_weight=weights)
        np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-5)
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_constant_rows_give_nan_as_keras():
    y = np.ones((2, 3), np.float32)
    assert np.isnan(metrics.pearson_correlation(y, y)).all()
    assert np.isfinite(metrics.concordance_correlation(y, y)).all()


@pytest.mark.parametrize("name", NAMES)
def test_strings_classes_and_configs(name):
    cls = getattr(metrics, CLASSES[name])
    for identifier in (name, CLASSES[name], cls, {"class_name": CLASSES[name], "config": {}}):
        metric = metrics.get(identifier)
        assert type(metric) is cls and metric.name == name
    again = cls.from_config(cls(name="c", axis=0).get_config())
    assert again.name == "c" and again.axis == 0
    assert cls().direction == "up"
    with pytest.raises(TypeError, match="axis"):
        getattr(metrics, name)(np.ones((2, 3)), np.ones((2, 3)), axis=1.5)
    with pytest.raises(ValueError, match="out of bounds"):
        getattr(metrics, name)(np.ones((2, 3)), np.ones((2, 3)), axis=2)


def test_fit_logs_match_keras(rng):
    keras = keras_or_skip()
    x = rng.standard_normal((60, 5)).astype(np.float32)
    y = np.stack([x[:, 0] + x[:, 1], x[:, 2] - x[:, 3], x[:, 4]], axis=1).astype(np.float32)
    weights = [
        (0.3 * rng.standard_normal((5, 3))).astype(np.float32),
        np.zeros(3, np.float32),
    ]
    histories = []
    for lib in (fastnn, keras):
        model = lib.Sequential([lib.Input((5,)), lib.layers.Dense(3)])
        model.set_weights(weights)
        model.compile(
            lib.optimizers.SGD(0.05),
            "mse",
            metrics=["pearson_correlation", lib.metrics.ConcordanceCorrelation()],
        )
        with keras_quiet():
            history = model.fit(
                x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25
            )
        histories.append(history.history)
    ours, theirs = histories
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-4, atol=2e-5, err_msg=key)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_axis_none_and_scalars_as_keras(rng, name):
    keras = keras_or_skip()
    y_true = rng.standard_normal((3, 5))
    y_pred = 2 * y_true + rng.standard_normal((3, 5))
    ours = getattr(metrics, name)(y_true, y_pred)  # float64 in: float64 out, as Keras's
    assert ours.dtype == np.float64
    # (float64 against an exact reference: Keras's float64 path loses digits)
    for args, kwargs in (
        ((y_true.astype(np.float32), y_pred.astype(np.float32)), {"axis": None}),
        ((1.0, 2.0), {}),
        ((np.float32(3.0), np.float32(3.5)), {"axis": None}),
    ):
        with keras_quiet():
            expected = keras.ops.convert_to_numpy(getattr(keras.metrics, name)(*args, **kwargs))
        got = getattr(metrics, name)(*args, **kwargs)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
    metric = getattr(metrics, CLASSES[name])(axis=None)
    metric.update_state(y_true, y_pred)
    assert np.isfinite(float(metric.result()))


def test_pearson_float64_is_exact(rng):
    y_true = 1e4 + 1e-2 * rng.standard_normal((2, 6))
    y_pred = y_true + 1e-3 * rng.standard_normal((2, 6))
    expected = [np.corrcoef(t, p)[0, 1] for t, p in zip(y_true, y_pred)]
    np.testing.assert_allclose(metrics.pearson_correlation(y_true, y_pred), expected, rtol=1e-9)


def test_keras_attributes_and_classes():
    assert metrics.PearsonCorrelation()._direction == "up"
    assert metrics.ConcordanceCorrelation()._direction == "up"
    assert not isinstance(metrics.ConcordanceCorrelation(), metrics.PearsonCorrelation)
