"""Forms found in Keras scripts (a third survey): SciPy sparse inputs,
compiling again to change only the optimizer, `validation_freq` as a list,
and the errors of two mistakes. Keras 3's behaviour is the reference
(`keras/src/trainers/trainer.py` compile and `_should_eval`,
`keras/src/trainers/data_adapters/array_slicing.py` for sparse matrices)."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import Input, layers

sparse = pytest.importorskip("scipy.sparse")


def classifier(width: int, seed: int = 4, metrics=("accuracy",)):
    fastnn.utils.set_random_seed(seed)
    model = fastnn.Sequential(
        [Input((width,)), layers.Dense(5, "relu"), layers.Dense(3, "softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=list(metrics))
    return model


@pytest.fixture
def tfidf_like(rng):
    # 37 rows x 29 features, about a tenth non-zero, as a vectorizer makes them
    dense = rng.random((37, 29)) * (rng.random((37, 29)) < 0.1)
    labels = rng.integers(0, 3, 37)
    return dense, labels


@pytest.mark.parametrize(
    "form", ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "dok_matrix", "lil_matrix"]
)
def test_sparse_x_trains_predicts_and_evaluates_as_its_dense_array(tfidf_like, form):
    dense, labels = tfidf_like
    x = getattr(sparse, form)(dense)
    a = classifier(29)
    history = a.fit(x, labels, batch_size=8, epochs=2, verbose=0, validation_split=0.2)
    b = classifier(29)  # the same seed: the same weights and shuffled order
    reference = b.fit(dense, labels, batch_size=8, epochs=2, verbose=0, validation_split=0.2)
    assert history.history == reference.history
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(dense, verbose=0))
    assert a.evaluate(x, labels, verbose=0) == b.evaluate(dense, labels, verbose=0)
    assert a.train_on_batch(x, labels) == b.train_on_batch(dense, labels)
    np.testing.assert_array_equal(a.predict_on_batch(x), b.predict_on_batch(dense))


def test_sparse_targets_and_validation_data(tfidf_like):
    dense, labels = tfidf_like
    one_hot = np.eye(3, dtype=np.float32)[labels]
    results = []
    for x, y, val in (
        (dense, sparse.csr_matrix(one_hot), (sparse.csc_matrix(dense), sparse.coo_matrix(one_hot))),
        (dense, one_hot, (dense, one_hot)),
    ):
        fastnn.utils.set_random_seed(8)
        model = fastnn.Sequential([Input((29,)), layers.Dense(3, "softmax")])
        model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
        results.append(model.fit(x, y, validation_data=val, epochs=2, verbose=0).history)
    assert results[0] == results[1]


def test_sparse_integer_matrix_keeps_its_values(rng):
    counts = rng.integers(0, 4, (12, 7)) * (rng.random((12, 7)) < 0.3)
    model = fastnn.Sequential([Input((7,)), layers.Dense(2)])
    np.testing.assert_array_equal(
        model.predict(sparse.csr_matrix(counts), verbose=0),
        model.predict(counts.astype(np.float32), verbose=0),
    )


def test_compiling_again_keeps_the_loss_and_metrics_not_given(rng):
    x, y = rng.standard_normal((24, 6)), rng.integers(0, 3, 24)
    model = classifier(6, metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", "sparse_top_k_categorical_accuracy"],
        loss_weights=0.5,
    )
    model.fit(x, y, epochs=1, verbose=0)
    # only a smaller learning rate: Keras keeps the loss (with its weight) and the metrics
    model.compile(optimizer=fastnn.optimizers.Adam(1e-4))
    assert model.loss == "sparse_categorical_crossentropy"
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25).history
    assert sorted(history) == [
        "accuracy",
        "loss",
        "sparse_top_k_categorical_accuracy",
        "val_accuracy",
        "val_loss",
        "val_sparse_top_k_categorical_accuracy",
    ]
    assert model.optimizer.learning_rate == pytest.approx(1e-4)
    # the kept loss weight still halves the loss: the same as a model compiled so from the start
    twin = classifier(6)
    twin.set_weights(model.get_weights())
    twin.compile("sgd", "sparse_categorical_crossentropy", loss_weights=0.5)
    kept = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert kept == pytest.approx(twin.evaluate(x, y, verbose=0, return_dict=True)["loss"], rel=1e-6)
    # a new loss without metrics keeps the metrics; metrics=[] drops them
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.metrics_names == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]
    model.compile(optimizer="sgd", metrics=[])
    assert model.metrics_names == ["loss"]
    # weighted metrics alone replace the metrics too, as Keras's CompileMetrics
    model.compile(optimizer="sgd", weighted_metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy"]


def test_a_first_compile_still_needs_a_loss():
    model = fastnn.Sequential([Input((3,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="compile needs a loss"):
        model.compile(optimizer="adam")
    assert not model.compiled and model.optimizer is None


@pytest.mark.parametrize(
    "freq, validated",
    [([1, 3], [0, 2]), ([2], [1]), ([], []), ([4, 9], [3]), (2, [1, 3]), (1, [0, 1, 2, 3])],
)
def test_validation_freq_list_names_the_epochs(rng, freq, validated):
    x, y = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    model = classifier(6)
    seen = []
    callback = fastnn.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(epoch) if "val_loss" in logs else None
    )
    history = model.fit(
        x,
        y,
        epochs=4,
        verbose=0,
        validation_split=0.25,
        validation_freq=freq,
        callbacks=[callback],
    )
    assert seen == validated
    assert len(history.history.get("val_loss", [])) == len(validated)
    assert len(history.history["loss"]) == 4


@pytest.mark.parametrize(
    "freq, message",
    [
        ((1, 2), "Expected `validation_freq` to be a list or int"),
        (1.5, "Expected `validation_freq` to be a list or int"),
        ("2", "Expected `validation_freq` to be a list or int"),
        ([1, 2.0], "as integers"),
        ([True], "as integers"),
        (0, "validation_freq"),
    ],
)
def test_bad_validation_freq_is_refused_before_training(rng, freq, message):
    x, y = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    model = classifier(6)
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=2, verbose=0, validation_split=0.25, validation_freq=freq)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_sparse_loss_on_one_sigmoid_unit_names_the_loss_not_a_metric(rng):
    # Keras compiles, scores "accuracy" as binary accuracy and fails inside the
    # loss on the first label 1 (IndexError: Target 1 is out of bounds)
    model = fastnn.Sequential([Input((4,)), layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match=r"1 output takes class id 0 only.*binary_crossentropy"):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert not model.compiled
    # without the metric, fit names the first label the loss cannot take
    model.compile("adam", "sparse_categorical_crossentropy")
    before = model.get_weights()
    labels = np.array([0, 1, 0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"label 1 at index 1 .*use binary_crossentropy"):
        model.fit(rng.standard_normal((6, 4)), labels, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_learning_rate_value_is_float32():
    optimizer = fastnn.optimizers.SGD(learning_rate=0.01)
    value = optimizer.learning_rate.value
    assert isinstance(value, np.float32) and value == np.float32(0.01)
    optimizer.learning_rate.assign(0.5)
    assert optimizer.learning_rate.value == np.float32(0.5)


def test_dense_on_samples_with_several_axes_says_what_keras_would_do():
    with pytest.raises(ValueError, match=r"Keras's Dense maps the last axis .* keeping \(5,\)"):
        fastnn.Sequential([Input((5, 2)), layers.Dense(3)])
    with pytest.raises(ValueError, match="first layer is Dropout: add a Flatten layer first"):
        fastnn.Sequential([Input((5, 2)), layers.Dropout(0.1), layers.Dense(3)])


def test_compiling_again_and_validation_freq_as_keras(rng):
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    x = rng.standard_normal((24, 6)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    logs = {}
    for name, lib in (("keras", keras), ("fastnn", fastnn)):
        model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        with keras_quiet():
            model.fit(x, y, epochs=1, verbose=0)
            model.compile(optimizer=lib.optimizers.Adam(1e-4))
            history = model.fit(
                x, y, epochs=4, verbose=0, validation_split=0.25, validation_freq=[1, 3]
            ).history
        logs[name] = {key: len(values) for key, values in history.items()}
    expected = {"accuracy": 4, "loss": 4, "val_accuracy": 2, "val_loss": 2}
    assert logs["keras"] == expected
    assert logs["fastnn"] == expected
