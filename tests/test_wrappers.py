"""fastnn.wrappers: fastnn models as scikit-learn estimators, as Keras 3's
SKLearnClassifier / SKLearnRegressor / SKLearnTransformer: fit, predict,
clone, grid search, pipelines, cross-validation and Keras's errors."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import Input, layers

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastnn.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402


def classifier_model(X, y, hidden=16):
    model = fastnn.Sequential(
        [
            Input(X.shape[1:]),
            layers.Dense(hidden, activation="relu"),
            layers.Dense(y.shape[1], activation="softmax"),
        ]
    )
    model.compile(fastnn.optimizers.Adam(0.05), "categorical_crossentropy")
    return model


def blobs(rng, n=120, labels=("cat", "dog", "eel")):
    centers = rng.standard_normal((len(labels), 4)) * 4
    which = rng.integers(0, len(labels), n)
    X = centers[which] + rng.standard_normal((n, 4))
    return X, np.array(labels)[which]


def test_classifier_fits_predicts_labels_and_scores(rng):
    X, y = blobs(rng)
    fastnn.utils.set_random_seed(0)
    clf = SKLearnClassifier(classifier_model, fit_kwargs={"epochs": 30, "verbose": 0})
    assert clf.fit(X, y) is clf
    assert list(clf.classes_) == ["cat", "dog", "eel"]
    pred = clf.predict(X)
    assert pred.shape == (120,) and set(pred) <= {"cat", "dog", "eel"}
    outputs = clf.decision_function(X)
    np.testing.assert_array_equal(pred, clf.classes_[outputs.argmax(1)])
    np.testing.assert_array_equal(clf.predict_proba(X), outputs)
    assert clf.score(X, y) > 0.9  # separable blobs
    assert clf.epoch_ == 30 and len(clf.history_.history["loss"]) == 30
    assert clf.model_.layers[-1].units == 3


def test_a_compiled_model_is_cloned_for_every_fit(rng):
    X, y = blobs(rng, labels=(0, 1))
    template = classifier_model(X, np.zeros((1, 2)))
    before = [w.copy() for w in template.get_weights()]
    reg = SKLearnClassifier(template, fit_kwargs={"epochs": 2, "verbose": 0}).fit(X, y)
    assert reg.model_ is not template
    for a, b in zip(template.get_weights(), before):  # the template is left as it was
        np.testing.assert_array_equal(a, b)
    copy = clone(reg)  # (a model is callable, so Keras's clone keeps it, and fit clones it)
    assert copy.model is template and copy.fit_kwargs == {"epochs": 2, "verbose": 0}
    assert not hasattr(copy, "model_")


def test_grid_search_pipeline_and_cross_validation(rng):
    X, y = blobs(rng, n=90)
    fastnn.utils.set_random_seed(1)
    search = GridSearchCV(
        SKLearnClassifier(classifier_model, fit_kwargs={"epochs": 10, "verbose": 0}),
        {"model_kwargs": [{"hidden": 4}, {"hidden": 12}]},
        cv=3,
    )
    search.fit(X, y)
    assert search.best_params_["model_kwargs"] in ({"hidden": 4}, {"hidden": 12})
    assert (
        search.best_estimator_.model_.layers[0].units
        == search.best_params_["model_kwargs"]["hidden"]
    )
    pipe = make_pipeline(
        StandardScaler(), SKLearnClassifier(classifier_model, fit_kwargs={"verbose": 0})
    )
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))


def regression_model(X, y):
    model = fastnn.Sequential([Input(X.shape[1:]), layers.Dense(y.shape[1])])
    model.compile(fastnn.optimizers.SGD(0.05), "mse")
    return model


def test_regressor_takes_and_returns_one_dimensional_targets(rng):
    X = rng.standard_normal((60, 3))
    y = X @ rng.standard_normal(3)
    fastnn.utils.set_random_seed(2)
    reg = SKLearnRegressor(regression_model, fit_kwargs={"epochs": 200, "verbose": 0})
    reg.fit(X, y)
    assert reg.predict(X).shape == y.shape
    assert reg.score(X, y) > 0.99  # R², a linear target


def test_transformer_returns_the_models_outputs(rng):
    X = rng.standard_normal((30, 5))

    def encoder(X, y):
        model = fastnn.Sequential([Input((5,)), layers.Dense(2), layers.Dense(1)])
        model.compile("adam", "mse")
        return model

    transformer = SKLearnTransformer(encoder, fit_kwargs={"epochs": 1, "verbose": 0})
    out = transformer.fit(X, X[:, 0]).transform(X)
    np.testing.assert_allclose(out, transformer.model_.predict(X, verbose=0))
    assert out.shape == (30, 1)


def test_wrappers_errors_as_keras(rng):
    X, y = blobs(rng, n=20)

    def uncompiled(X, y):
        return fastnn.Sequential([Input((4,)), layers.Dense(3)])

    with pytest.raises(
        RuntimeError, match="needs to be compiled, and have a loss and an optimizer"
    ):
        SKLearnClassifier(uncompiled).fit(X, y)
    with pytest.raises(ValueError, match="only one class is present"):
        SKLearnClassifier(classifier_model).fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="Only binary and multiclass target types"):
        SKLearnClassifier(classifier_model).fit(X, rng.standard_normal(20))
    with pytest.raises(TypeError, match="must return a fastnn model"):
        SKLearnRegressor(lambda X, y: "model").fit(X, rng.standard_normal(20))
    with pytest.raises(sklearn.exceptions.NotFittedError):
        SKLearnClassifier(classifier_model).predict(X)
    assert fastnn.wrappers.SKLearnClassifier is SKLearnClassifier
