"""pandas data frames as `fit` / `evaluate` / `predict` input: numeric and
boolean columns side by side (what `pandas.get_dummies` makes since pandas 2),
nullable columns, read as the float array Keras reads."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import Input, layers

pd = pytest.importorskip("pandas")


def trained(x, y, seed=3):
    fastnn.utils.set_random_seed(seed)
    model = fastnn.Sequential([Input((x.shape[1],)), layers.Dense(4, "relu"), layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False)
    return model, history.history["loss"]


def test_numeric_and_bool_columns_train_as_their_float_array(rng):
    n = 23
    frame = pd.DataFrame(
        {
            "x": rng.standard_normal(n),
            "count": rng.integers(0, 9, n),
            "small": rng.standard_normal(n).astype(np.float32),
        }
    )
    frame = pd.get_dummies(frame.assign(kind=rng.choice(["a", "b", "c"], n)), columns=["kind"])
    assert {frame[c].dtype.kind for c in frame} == {"f", "i", "b"}
    assert np.asarray(frame).dtype == object  # what NumPy makes of it
    y = pd.Series(rng.standard_normal(n))
    values = frame.to_numpy(dtype=np.float64)
    model, loss = trained(frame, y)
    reference, reference_loss = trained(values, y.to_numpy())
    assert loss == reference_loss
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        model.predict(frame, verbose=0), reference.predict(values, verbose=0)
    )
    assert model.evaluate(frame, y, verbose=0) == reference.evaluate(
        values, y.to_numpy(), verbose=0
    )
    validated = model.fit(frame, y, validation_data=(frame, y), epochs=1, verbose=0).history
    assert np.isfinite(validated["val_loss"][0])


def test_nullable_columns_and_missing_values(rng):
    frame = pd.DataFrame(
        {
            "n": pd.array([1, 2, 3, 4], dtype="Int64"),
            "b": pd.array([True, False, True, False], dtype="boolean"),
            "f": [0.5, 1.5, 2.5, 3.5],
        }
    )
    model = fastnn.Sequential([Input((3,)), layers.Dense(1, kernel_initializer="ones")])
    np.testing.assert_allclose(model.predict(frame, verbose=0)[:, 0], [2.5, 3.5, 6.5, 7.5])
    frame.loc[2, "n"] = None  # a missing value is NaN, refused as in an array
    with pytest.raises(ValueError, match="x contains NaN at row 2, column 0"):
        model.predict(frame, verbose=0)


@pytest.mark.parametrize(
    "column,shown",
    [
        (["a", "b", "c"], "'a'"),
        ([1.0, "oops", 3.0], "'oops'"),  # a number column with one stray string
        (pd.Categorical(["red", "blue", "red"]), "'red'"),
        (pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"]), "Timestamp"),
    ],
)
def test_text_columns_are_refused_naming_the_column_and_value(column, shown):
    # Keras's pandas adapter raises "could not convert string to float: 'a'"
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "name": column})
    model = fastnn.Sequential([Input((2,)), layers.Dense(1)])
    model.compile("adam", "mse")
    weights = model.get_weights()
    with pytest.raises(
        ValueError, match=rf"x: column 'name' \(dtype .*\) holds {shown}.*get_dummies"
    ):
        model.fit(frame, np.zeros(3), verbose=0)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, 2, 3.5], dtype=object),  # what df.replace("?", np.nan) leaves
        pd.Series(["1", "2", "3.5"], dtype=object),  # numbers read as text
        pd.Series([1.0, None, 3.5], dtype=object),  # a missing value: NaN
        pd.Series(pd.Categorical([1, 2, 3.5])),
    ],
)
def test_object_and_category_columns_of_numbers_read_as_keras_reads_them(column):
    frame = pd.DataFrame({"a": [0.5, -1.0, 2.0], "b": column})
    expected = np.array([[0.5, 1.0], [-1.0, 2.0], [2.0, 3.5]], np.float32)
    if column.isna().any():
        expected[1, 1] = np.nan
    model = fastnn.Sequential([Input((2,)), layers.Dense(1)])
    model.set_weights([np.array([[1.0], [10.0]], np.float32), np.zeros(1, np.float32)])
    if np.isnan(expected).any():  # NaN in x: fastnn's clear refusal, naming the place
        with pytest.raises(ValueError, match="NaN"):
            model.predict(frame, verbose=0)
        return
    np.testing.assert_allclose(model.predict(frame, verbose=0), expected @ [[1.0], [10.0]])
    model.compile("sgd", "mse")
    assert np.isfinite(model.fit(frame, np.zeros(3), verbose=0).history["loss"][0])


def test_text_labels_say_to_encode_them():
    x = np.zeros((3, 2), np.float32)
    model = fastnn.Sequential([Input((2,)), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    for labels in (pd.Series(["cat", "dog", "cat"], name="kind"), np.array(["cat", "dog", "cat"])):
        with pytest.raises((TypeError, ValueError), match=r"pandas\.factorize"):
            model.fit(x, labels, verbose=0)


def test_validation_split_of_a_frame_with_bool_columns(rng):
    # the Titanic / fuel-efficiency pattern: get_dummies, then validation_split
    n = 40
    frame = pd.get_dummies(
        pd.DataFrame({"age": rng.standard_normal(n), "kind": rng.choice(["a", "b", "c"], n)}),
        columns=["kind"],
    )
    y = pd.Series(rng.standard_normal(n))
    values = frame.to_numpy(dtype=np.float64)
    histories = []
    for x in (frame, values):
        fastnn.utils.set_random_seed(5)
        model = fastnn.Sequential([Input((4,)), layers.Dense(3, "relu"), layers.Dense(1)])
        model.compile("adam", "mse")
        histories.append(
            model.fit(x, y, validation_split=0.25, epochs=2, batch_size=8, verbose=0).history
        )
    assert sorted(histories[0]) == ["loss", "val_loss"]
    assert histories[0] == histories[1]


def test_a_series_target_reaches_metric_functions_as_a_column_as_keras(rng):
    # the Kaggle pattern: y = np.log1p(df.SalePrice) and an RMSE metric function;
    # Keras's pandas adapter makes a Series (n, 1), so y_true - y_pred does not
    # broadcast to (n, n)
    from keras_inprocess import keras_or_skip, keras_quiet

    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = pd.Series(x.sum(1) + 1.0)
    seen = {}

    def rmse(y_true, y_pred):
        seen[len(seen)] = np.shape(y_true)
        return np.sqrt(np.mean(np.square(np.asarray(y_pred) - np.asarray(y_true))))

    model = fastnn.Sequential([Input((4,)), layers.Dense(1, kernel_initializer="ones")])
    model.compile("sgd", "mse", metrics=[rmse])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["rmse"] == pytest.approx(1.0, rel=1e-6)
    assert all(shape[1:] == (1,) for shape in seen.values())
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25).history
    assert history["val_rmse"][0] == pytest.approx(np.sqrt(history["val_loss"][0]), rel=1e-5)
    keras = keras_or_skip()
    twin = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, kernel_initializer="ones")])
    twin.compile("sgd", "mse", metrics=[keras.metrics.RootMeanSquaredError(name="rmse")])
    with keras_quiet():
        keras_logs = twin.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["rmse"] == pytest.approx(keras_logs["rmse"], rel=1e-5)
