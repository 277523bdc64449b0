"""AUC with its default, evenly spaced thresholds clips predictions to
[0, 1] before counting, as Keras's bucketed path does (a logits output with
metrics=["auc"]); explicit thresholds compare the predictions as they are.
Found by the differential fuzzer against Keras 3.15 (session 18)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_inprocess import keras_or_skip

import fastnn
from fastnn import metrics

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def logits_and_labels(n=61, seed=3, scale=3.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, (n, 1)).astype(np.float32)
    logits = (rng.standard_normal((n, 1)) * scale + labels).astype(np.float32)
    return labels, logits


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("num_thresholds", [200, 3, 17])
def test_default_thresholds_count_clipped_predictions(curve, num_thresholds):
    labels, logits = logits_and_labels()
    assert (logits > 1).any() and (logits < 0).any()
    weights = np.linspace(0.1, 2.0, len(labels)).astype(np.float32)
    for sample_weight in (None, weights):
        raw = metrics.AUC(num_thresholds=num_thresholds, curve=curve)
        clipped = metrics.AUC(num_thresholds=num_thresholds, curve=curve)
        raw.update_state(labels, logits, sample_weight=sample_weight)
        clipped.update_state(labels, np.clip(logits, 0, 1), sample_weight=sample_weight)
        assert float(raw.result()) == float(clipped.result())


def test_explicit_thresholds_compare_predictions_as_they_are():
    labels, logits = logits_and_labels()
    raw, clipped = metrics.AUC(thresholds=[0.3, 0.7]), metrics.AUC(thresholds=[0.3, 0.7])
    raw.update_state(labels, logits)
    clipped.update_state(labels, np.clip(logits, 0, 1))
    # values above 1 pass the outer threshold 1 + eps only unclipped
    assert float(raw.result()) != float(clipped.result())


def test_explicit_thresholds_on_logits_match_keras():
    keras = keras_or_skip()
    labels, logits = logits_and_labels()
    ours, theirs = metrics.AUC(thresholds=[0.3, 0.7]), keras.metrics.AUC(thresholds=[0.3, 0.7])
    ours.update_state(labels, logits)
    theirs.update_state(labels, logits)
    assert float(ours.result()) == pytest.approx(float(theirs.result()), rel=1e-6)


def test_from_logits_auc_is_unchanged_by_clipping():
    # from_logits compares logits with logit thresholds: no clipping there
    labels, logits = logits_and_labels()
    on_logits, on_probabilities = metrics.AUC(from_logits=True), metrics.AUC()
    on_logits.update_state(labels, logits)
    on_probabilities.update_state(labels, 1 / (1 + np.exp(-logits.astype(np.float64))))
    assert float(on_logits.result()) == pytest.approx(float(on_probabilities.result()), abs=1e-6)


def test_compiled_auc_on_a_logits_output_matches_keras():
    keras = keras_or_skip()
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (43, 3)).astype("float32")  # a partial last batch of 32
    y = rng.integers(0, 2, (43, 1)).astype("float32")
    weights = [np.array([[1.5], [-1.0], [0.7]], "float32"), np.array([0.2], "float32")]
    results = []
    for lib in (keras, fastnn):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])  # logits out
        model.set_weights(weights)
        model.compile(
            "sgd",
            lib.losses.BinaryCrossentropy(from_logits=True),
            metrics=["auc", lib.metrics.AUC(curve="PR", name="pr")],
        )
        logs = model.evaluate(x, y, verbose=0, return_dict=True)
        standalone = lib.metrics.AUC()
        standalone.update_state(y, model.predict(x, verbose=0))
        results.append((logs["auc"], logs["pr"], float(standalone.result())))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
