"""scikit-learn estimators around fastnn models, as Keras 3's
``keras.wrappers``: `SKLearnClassifier`, `SKLearnRegressor` and
`SKLearnTransformer` work in scikit-learn's pipelines, grid searches and
cross-validation.

`model` is a compiled fastnn model (each `fit` trains a fresh clone of it,
new weights, same compile arguments) or a function ``model(X, y, **model_kwargs)``
that builds and compiles one. Needs scikit-learn (``pip install scikit-learn``);
imported on first use of ``fastnn.wrappers``.

>>> from sklearn.model_selection import GridSearchCV  # doctest: +SKIP
>>> def build(X, y, units=32):
...     model = fastnn.Sequential([fastnn.Input(X.shape[1:]),
...                                fastnn.layers.Dense(units, activation="relu"),
...                                fastnn.layers.Dense(y.shape[1], activation="softmax")])
...     model.compile("adam", "categorical_crossentropy")
...     return model
>>> search = GridSearchCV(SKLearnClassifier(build, fit_kwargs={"epochs": 5}),
...                       {"model_kwargs": [{"units": 16}, {"units": 64}]})  # doctest: +SKIP
"""

from __future__ import annotations

import copy

import numpy as np

from fastnn import _absent

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the classes exist; making one says what to install
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def _require_sklearn(name: str) -> None:
    if sklearn is None:
        raise ImportError(
            f"{name} requires `scikit-learn` to be installed. "
            "Run `pip install scikit-learn` to install it."
        )


def _validate_data(estimator, *args, **kwargs):
    from sklearn.utils.validation import validate_data

    return validate_data(estimator, *args, **kwargs)


def _type_of_target(y) -> str:
    from sklearn.utils.multiclass import type_of_target

    kind = type_of_target(y)
    if kind == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r:.200}")
    return kind


class _TargetShape(TransformerMixin, BaseEstimator):
    """1-D targets as a column (for the encoders), and back."""

    def fit(self, y):
        self.ndim_ = np.ndim(y)
        return self

    def transform(self, y):
        y = np.asarray(y)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        y = np.asarray(y)
        return y[:, 0] if self.ndim_ == 1 and y.ndim == 2 and y.shape[1] == 1 else y


class SKLBase(BaseEstimator):
    """The estimator around a fastnn model (see the module's doc).

    Args:
        model: a compiled fastnn model (cloned for every `fit`), or a
            function ``model(X, y, **model_kwargs)`` returning a compiled one
            (`X` and the encoded `y` as the model will see them).
        warm_start: accepted for Keras compatibility (every `fit` starts
            from a new model, as Keras's does).
        model_kwargs: keyword arguments for the `model` function.
        fit_kwargs: keyword arguments for the model's `fit` (`epochs`,
            `batch_size`, `verbose`, ...); `fit`'s own keywords are added.

    Attributes (after `fit`):
        model_: the trained fastnn model.
        history_: its `fit`'s History.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        model = self.model if callable(self.model) else copy.deepcopy(self.model)
        return type(self)(
            model=model,
            warm_start=self.warm_start,
            model_kwargs=self.model_kwargs,
            fit_kwargs=self.fit_kwargs,
        )

    @property
    def epoch_(self) -> int:
        """The number of epochs the last `fit` ran."""
        history = getattr(self, "history_", None)
        return len(history.epoch) if history is not None else 0

    def _build(self, X, y):
        from fastnn import models

        if isinstance(self.model, models.Sequential):
            model = models.clone_model(self.model)
        elif callable(self.model):
            model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        else:
            raise TypeError(
                "`model` must be a compiled fastnn model or a function returning one, got "
                f"{self.model!r:.80}"
            )
        if not isinstance(model, models.Sequential):
            raise TypeError(f"The `model` function must return a fastnn model, got {model!r:.80}")
        if not model.compiled or not model.loss or not model.optimizer:
            raise RuntimeError(
                "Given model needs to be compiled, and have a loss and an optimizer."
            )
        return model

    def fit(self, X, y, **kwargs):
        """Builds a model (a clone of `model`, or `model(X, y)`) and trains it.

        Returns:
            self.
        """
        X, y = _validate_data(self, X, y)
        y = self._encode_target(y, reset=True)
        model = self._build(X, y)
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        return self

    def predict(self, X):
        """The trained model's predictions, decoded as the targets were given."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return self._decode_target(self.model_.predict(X, verbose=0))

    def _encode_target(self, y, reset=False):
        _type_of_target(y)
        if reset:
            self._target_encoder = _TargetShape().fit(y)
        return self._target_encoder.transform(y)

    def _decode_target(self, y):
        return self._target_encoder.inverse_transform(y)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier: labels (binary or multiclass, of any
    type) are one-hot encoded for the model, which ends in as many outputs
    as classes (softmax and ``"categorical_crossentropy"``); `predict`
    returns the labels of the largest outputs, `predict_proba` the outputs.

    Attributes (after `fit`):
        classes_: the sorted labels.
    """

    def _encode_target(self, y, reset=False):
        kind = _type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"Only binary and multiclass target types are supported. Target type: {kind}"
            )
        if reset:
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import OneHotEncoder

            self._target_encoder = make_pipeline(
                _TargetShape(), OneHotEncoder(sparse_output=False)
            ).fit(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y)

    def decision_function(self, X):
        """The model's outputs for `X`."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    predict_proba = decision_function

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor: targets `(n,)` (scikit-learn's check, as in
    Keras), given to the model as `(n, 1)` and returned as `(n,)`."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer: `transform(X)` is the trained model's
    output (an encoder's features, say)."""

    def transform(self, X):
        """The trained model's outputs for `X`."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
