"""PyTorch users' data and outputs, as Keras 3's torch backend takes and gives
them: a torch DataLoader in fit / evaluate / predict (and as validation_data),
a torch Dataset refused with the way to pass it, and `model(x)` / `layer(x)`
on a torch tensor returning a torch tensor (keras/src/trainers/data_adapters/
torch_data_loader_adapter.py, keras/src/backend/torch/trainer.py)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet
from test_fit_generators import BATCH, RAN_OUT, N, assert_state, make_data, make_model, state

from fastnn import layers, models, optimizers
from fastnn._batch_sources import is_batch_source, is_py_dataset

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset  # noqa: E402

SHUFFLE_IGNORED = "`shuffle=True` was passed, but will be ignored since the data `x` was provided"


def tensors(x, *rest):
    return (torch.from_numpy(x), *(torch.from_numpy(np.asarray(a)) for a in rest))


def loader(*arrays, batch=BATCH, **kwargs):
    return DataLoader(TensorDataset(*tensors(*arrays)), batch_size=batch, **kwargs)


def keras_pair(weighted=False):
    """A Keras 3 model (torch backend) and fastnn's of the same layers and
    weights, both compiled with SGD(0.1), sparse CE and accuracy."""
    keras = keras_or_skip()
    keras.utils.set_random_seed(0)
    theirs = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    metrics = {"weighted_metrics" if weighted else "metrics": ["accuracy"]}
    theirs.compile(
        optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", **metrics
    )
    ours = make_model()
    ours.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", **metrics)
    with keras_quiet():
        ours.set_weights([w.value.detach().numpy() for w in theirs.weights])
    return theirs, ours


def fit_warned(model, data, **kwargs):
    """`model.fit(data, ...)` and the starts of the UserWarnings it gave
    (Keras's DeprecationWarnings under NumPy 2 left out)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(data, verbose=0, **kwargs)
    return history, sorted({str(w.message)[:26] for w in caught if w.category is UserWarning})


def assert_same_history(got, expected):
    assert got.params == expected.params
    assert got.epoch == expected.epoch
    assert got.history.keys() == expected.history.keys()
    for key in expected.history:
        np.testing.assert_allclose(got.history[key], expected.history[key], rtol=1e-5, atol=1e-6)


def assert_same_weights(ours, theirs):
    with keras_quiet():
        expected = [w.value.detach().numpy() for w in theirs.weights]
    for got, want in zip(ours.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# -- a DataLoader trains, validates, evaluates and predicts as in Keras -----------------


def test_a_dataloader_trains_evaluates_and_predicts_as_keras():
    x, y = make_data()  # 10 rows: batches of 4, 4 and 2
    xv, yv = make_data(n=7, seed=5)
    theirs, ours = keras_pair()
    kwargs = dict(epochs=3, shuffle=False, validation_data=loader(xv, yv, batch=3))
    expected, their_warnings = fit_warned(theirs, loader(x, y), **kwargs)
    got, our_warnings = fit_warned(ours, loader(x, y), **kwargs)
    assert_same_history(got, expected)
    assert got.params["steps"] == 3 and "val_accuracy" in got.history
    assert our_warnings == their_warnings == []
    assert_same_weights(ours, theirs)
    with keras_quiet():
        want_eval = theirs.evaluate(loader(xv, yv, batch=3), verbose=0)
        want_pred = theirs.predict(loader(xv, batch=3), verbose=0)
    np.testing.assert_allclose(ours.evaluate(loader(xv, yv, batch=3), verbose=0), want_eval, 1e-5)
    predicted = ours.predict(loader(xv, batch=3), verbose=0)  # x-only batches, 3 + 3 + 1
    assert type(predicted) is np.ndarray and predicted.shape == (7, 2)
    np.testing.assert_allclose(predicted, want_pred, rtol=1e-5, atol=1e-6)
    # (x, y) batches predict on their x
    np.testing.assert_array_equal(ours.predict(loader(xv, yv, batch=3), verbose=0), predicted)


@pytest.mark.parametrize(
    "n, batch, drop_last",
    [(10, 4, True), (5, 1, False), (3, 8, False), (8, 8, True), (9, 2, True)],
    ids=["drop_last", "batch_of_1", "one_partial_batch", "one_full_batch", "drop_last_odd"],
)
def test_odd_batch_sizes_match_keras(n, batch, drop_last):
    x, y = make_data(n=n)
    theirs, ours = keras_pair()
    kwargs = dict(epochs=2, shuffle=False)
    data = lambda: loader(x, y, batch=batch, drop_last=drop_last)  # noqa: E731
    expected, _ = fit_warned(theirs, data(), **kwargs)
    got, _ = fit_warned(ours, data(), **kwargs)
    assert got.params["steps"] == (n // batch if drop_last else -(-n // batch))
    assert_same_history(got, expected)
    assert_same_weights(ours, theirs)
    assert ours.optimizer.iterations == 2 * got.params["steps"]
    with keras_quiet():
        want = theirs.predict(loader(x, batch=batch, drop_last=drop_last), verbose=0)
    got_pred = ours.predict(loader(x, batch=batch, drop_last=drop_last), verbose=0)
    assert got_pred.shape == want.shape == ((n // batch) * batch if drop_last else n, 2)
    np.testing.assert_allclose(got_pred, want, rtol=1e-5, atol=1e-6)


def test_sample_weights_in_the_batches_match_keras_and_the_arrays():
    x, y = make_data()
    w = np.linspace(0.5, 2.0, N).astype(np.float32)
    theirs, ours = keras_pair(weighted=True)
    expected, _ = fit_warned(theirs, loader(x, y, w), epochs=2, shuffle=False)
    got, _ = fit_warned(ours, loader(x, y, w), epochs=2, shuffle=False)
    assert_same_history(got, expected)
    assert_same_weights(ours, theirs)
    # the same training as the arrays with sample_weight
    reference = make_model()
    reference.compile(
        optimizer=optimizers.SGD(0.1),
        loss="sparse_categorical_crossentropy",
        weighted_metrics=["accuracy"],
    )
    reference.set_weights(keras_pair(weighted=True)[1].get_weights())
    arrays = reference.fit(x, y, sample_weight=w, batch_size=BATCH, epochs=2, shuffle=False)
    assert arrays.history == got.history
    with keras_quiet():
        want = theirs.evaluate(loader(x, y, w), verbose=0)
    np.testing.assert_allclose(ours.evaluate(loader(x, y, w), verbose=0), want, rtol=1e-5)


def test_a_shuffling_loader_gives_keras_its_orders_and_a_new_one_each_epoch():
    x, y = make_data(n=12)

    def shuffled(seed=7):
        generator = torch.Generator().manual_seed(seed)
        return loader(x, y, batch=5, shuffle=True, generator=generator)

    theirs, ours = keras_pair()
    # Keras's first fit or evaluate after compile reads a batch of a fresh
    # pass to build its metrics (the loader's generator draws once more);
    # once built, both draw the same orders from the same generator
    with keras_quiet():
        theirs.evaluate(loader(x, y), verbose=0)
    expected, _ = fit_warned(theirs, shuffled(), epochs=3, shuffle=False)
    got, _ = fit_warned(ours, shuffled(), epochs=3, shuffle=False)
    assert_same_history(got, expected)
    assert_same_weights(ours, theirs)

    class Logged(Dataset):
        def __init__(self):
            self.seen = []

        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            self.seen.append(i)
            return x[i], y[i]

    data = Logged()
    generator = torch.Generator().manual_seed(7)
    ours.fit(
        DataLoader(data, batch_size=5, shuffle=True, generator=generator),
        epochs=3,
        shuffle=False,
        verbose=0,
    )
    passes = [data.seen[i : i + 12] for i in range(0, 36, 12)]
    assert len(data.seen) == 36 and all(sorted(p) == list(range(12)) for p in passes)
    assert passes[0] != passes[1] != passes[2]


def test_shuffle_true_warns_as_keras_and_the_loader_keeps_its_order():
    x, y = make_data()
    theirs, ours = keras_pair()
    expected, their_warnings = fit_warned(theirs, loader(x, y), epochs=2)  # shuffle=True
    with pytest.warns(UserWarning, match=r"provided as a torch DataLoader\. The DataLoader is"):
        got = ours.fit(loader(x, y), epochs=2, verbose=0)
    assert their_warnings == [SHUFFLE_IGNORED[:26]]
    assert_same_history(got, expected)


def test_an_iterable_dataset_without_length_runs_until_it_ends_as_in_keras():
    x, y = make_data()

    class Stream(IterableDataset):
        def __iter__(self):
            for i in range(0, N, BATCH):
                yield torch.from_numpy(x[i : i + BATCH]), torch.from_numpy(y[i : i + BATCH])

    theirs, ours = keras_pair()
    expected, their_warnings = fit_warned(
        theirs, DataLoader(Stream(), batch_size=None), epochs=3, shuffle=False
    )
    got, our_warnings = fit_warned(
        ours, DataLoader(Stream(), batch_size=None), epochs=3, shuffle=False
    )
    assert got.params["steps"] is None
    assert_same_history(got, expected)
    assert our_warnings == their_warnings == [RAN_OUT]
    assert ours.optimizer.iterations == 9  # 3 batches an epoch: each epoch is a new pass
    with pytest.warns(UserWarning, match=RAN_OUT):  # as Keras's predict: read to its end
        predicted = ours.predict(DataLoader(Stream(), batch_size=None), verbose=0)
    np.testing.assert_array_equal(predicted, ours.predict(x, verbose=0))


def test_steps_per_epoch_continues_the_pass_as_in_keras():
    x, y = make_data()  # 3 batches a pass
    theirs, ours = keras_pair()
    kwargs = dict(epochs=4, steps_per_epoch=2, shuffle=False)
    expected, their_warnings = fit_warned(theirs, loader(x, y), **kwargs)
    got, our_warnings = fit_warned(ours, loader(x, y), **kwargs)
    assert_same_history(got, expected)
    assert_same_weights(ours, theirs)
    assert our_warnings == their_warnings


def test_a_custom_dataset_of_numpy_samples_trains_as_the_arrays():
    x, y = make_data()

    class Samples(Dataset):
        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return x[i].astype(np.float64), np.int64(y[i])  # numpy items, float64

    model = make_model()
    history = model.fit(DataLoader(Samples(), batch_size=BATCH), epochs=2, shuffle=False, verbose=0)
    reference = make_model()
    expected = reference.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert history.history == expected.history
    assert all(np.array_equal(u, v) for u, v in zip(model.get_weights(), reference.get_weights()))
    # a collate_fn that gives numpy batches
    numpy_batches = DataLoader(
        Samples(), batch_size=3, collate_fn=lambda b: tuple(np.stack(c) for c in zip(*b))
    )
    assert np.allclose(model.predict(numpy_batches, verbose=0), model.predict(x, verbose=0))


def test_keras_refusals_with_a_dataloader_change_nothing():
    x, y = make_data()
    model = make_model()
    model.fit(x, y, verbose=0)
    before = state(model)
    cases = [
        (
            dict(class_weight={0: 1.0, 1: 2.0}),
            "`class_weight` is not supported for torch DataLoader",
        ),
        (dict(validation_split=0.2), r"`validation_split` is only supported for tensors or NumPy"),
        (dict(y=y), "When providing `x` as a torch DataLoader, `y` should not be passed"),
        (dict(sample_weight=np.ones(N)), "`sample_weights` should not be passed"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            model.fit(loader(x, y), shuffle=False, verbose=0, **kwargs)
    with pytest.raises(ValueError, match="`y` should not be passed"):
        model.evaluate(loader(x, y), y, verbose=0)
    for call in (model.train_on_batch, model.test_on_batch, model.predict_on_batch, model):
        with pytest.raises(ValueError, match="fastnn takes the data as arrays.*DataLoader"):
            call(loader(x, y))
    assert_state(model, before)


class _Items(Dataset):
    def __init__(self, item):
        self.item = item

    def __len__(self):
        return 6

    def __getitem__(self, i):
        return self.item(i)


@pytest.mark.parametrize(
    "data, error, message",
    [
        (
            DataLoader(_Items(lambda i: (np.ones(3, np.float32), 0, 1.0, 2.0)), batch_size=2),
            ValueError,
            r"found a tuple of 4 elements",
        ),
        (
            DataLoader(
                _Items(lambda i: (np.ones(3, np.float32), 0)),
                batch_size=3,
                collate_fn=lambda b: (torch.ones(3, 3), torch.zeros(2, dtype=torch.int64)),
            ),
            ValueError,
            r"batch 0 of the batch source.*(3|2).*(2|3)",
        ),
        (
            DataLoader(_Items(lambda i: (np.ones(3, np.float32), "cat")), batch_size=2),
            TypeError,
            r"batch 0 of the batch source",
        ),
        (
            DataLoader(
                _Items(lambda i: (np.array(["a", "b", "c"]), 0)),
                batch_size=2,
                collate_fn=lambda b: (np.stack([s[0] for s in b]), torch.tensor([0, 0])),
            ),
            TypeError,
            r"batch 0 of the batch source.*real numbers",
        ),
        (
            DataLoader(_Items(lambda i: np.ones(3, np.float32)), batch_size=2),
            ValueError,
            r"batch 0 of the batch source.*target",
        ),
        (
            DataLoader(_Items(lambda i: (np.ones(4, np.float32), 0)), batch_size=2),
            ValueError,
            r"batch 0 of the batch source.*shape",
        ),
    ],
    ids=["four_items", "x_y_lengths", "string_labels", "string_features", "no_targets", "width"],
)
def test_bad_loaders_are_clear_errors_and_change_nothing(data, error, message):
    model = make_model()
    x, y = make_data()
    model.fit(x, y, verbose=0)
    before = state(model)
    with pytest.raises(error, match=message):
        model.fit(data, shuffle=False, verbose=0)
    assert_state(model, before)


def test_an_empty_loader_is_a_clear_error():
    model = make_model()
    empty = loader(np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
    for call in (
        lambda: model.fit(empty, shuffle=False, verbose=0),
        lambda: model.evaluate(empty, verbose=0),
        lambda: model.predict(empty, verbose=0),
    ):
        with pytest.raises(ValueError, match="DataLoader has length 0"):
            call()
    assert model.optimizer.iterations == 0


# -- a torch Dataset passed directly ------------------------------------------------------


def test_a_torch_dataset_is_refused_as_keras_does_with_the_way_to_pass_it():
    x28 = torch.randn(64, 28, 28)
    model = models.Sequential([layers.Input((28,)), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    labels = torch.randint(0, 10, (64,))
    model.fit(x28[:, 0], labels, verbose=0)
    before = state(model)
    message = r"Unrecognized data type: x=<.*TensorDataset.*DataLoader"

    class Stream(IterableDataset):
        def __iter__(self):
            yield x28[:4, 0], labels[:4]

    entries = (
        lambda data: model.fit(data, verbose=0),
        lambda data: model.evaluate(data, verbose=0),
        lambda data: model.predict(data, verbose=0),
        lambda data: model.fit(x28[:, 0], labels, validation_data=data, verbose=0),
        lambda data: model.train_on_batch(data),
        lambda data: model(data),
    )
    for data in (TensorDataset(x28, labels), TensorDataset(x28), Stream()):
        assert not is_py_dataset(data) and not is_batch_source(data)
        for call in entries:
            with pytest.raises(ValueError, match=message.replace("TensorDataset", "")):
                call(data)
    assert_state(model, before)
    with pytest.raises(ValueError, match=message):  # Keras's words, and the way out
        model.predict(TensorDataset(x28), verbose=0)
    # what it says works: the DataLoader, or the tensors
    wrapped = DataLoader(TensorDataset(x28[:, 0]), batch_size=32)
    assert model.predict(wrapped, verbose=0).shape == (64, 10)


def test_a_torch_dataset_gets_keras_message():
    keras = keras_or_skip()
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    theirs.compile(optimizer="sgd", loss="mse")
    data = TensorDataset(torch.ones(4, 3))
    with keras_quiet(), pytest.raises(ValueError) as expected:
        theirs.predict(data, verbose=0)
    with pytest.raises(ValueError) as got:
        make_model().predict(data, verbose=0)
    assert str(expected.value) in str(got.value)


def test_the_duck_typed_pydataset_takes_no_other_object():
    pd = pytest.importorskip("pandas")
    import array
    import collections

    class ArrayLike:  # xarray-like: indexable, sized, converts through __array__
        def __init__(self, values):
            self.values = values

        def __len__(self):
            return len(self.values)

        def __getitem__(self, i):
            return self.values[i]

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.values, dtype=dtype)

    x, y = make_data()
    not_datasets = [
        x.tolist(),
        tuple(x.tolist()),
        pd.DataFrame(x),
        pd.Series(y),
        ArrayLike(x),
        range(10),
        collections.deque(y.tolist()),
        collections.UserList(y.tolist()),
        array.array("f", x[:, 0]),
        "abc",
        TensorDataset(torch.from_numpy(x)),
    ]
    for value in not_datasets:
        assert not is_py_dataset(value) and not is_batch_source(value), type(value)
    reference = make_model()
    expected = reference.fit(x, y, shuffle=False, verbose=0).history
    for data in (pd.DataFrame(x), ArrayLike(x)):  # trained on as the arrays they hold
        assert make_model().fit(data, y, shuffle=False, verbose=0).history == expected
    assert is_batch_source(DataLoader(TensorDataset(torch.from_numpy(x))))


# -- model(x) and layer(x) on torch tensors -----------------------------------------------


def test_model_call_on_a_tensor_returns_a_tensor_as_keras():
    keras = keras_or_skip()
    theirs, ours = keras_pair()
    x, _ = make_data()
    tensor = torch.from_numpy(x)
    with keras_quiet():
        want = theirs(tensor).detach().cpu().numpy()
    out = ours(tensor)
    assert type(out) is torch.Tensor
    assert (out.dtype, out.device.type, out.requires_grad) == (torch.float32, "cpu", False)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6, atol=1e-7)
    # what PyTorch users write after it
    np.testing.assert_array_equal(out.detach().cpu().numpy(), ours.predict(x, verbose=0))
    assert torch.equal(out.argmax(dim=1), torch.argmax(out, 1))
    assert out.size() == torch.Size([N, 2])
    # a tensor that requires grad (a torch training loop's), float64, a Parameter
    for given in (
        tensor.clone().requires_grad_(True),
        tensor.double(),
        torch.nn.Parameter(tensor.clone()),
    ):
        again = ours(given)
        assert type(again) is torch.Tensor and not again.requires_grad
        np.testing.assert_allclose(again.numpy(), want, rtol=1e-6, atol=1e-7)
    assert keras.ops.is_tensor(out)


def test_model_call_on_numpy_answers_the_tensor_methods_that_numpy_lacks():
    model = make_model()
    x, _ = make_data()
    out = model(x)
    assert isinstance(out, np.ndarray)
    plain = out.detach().cpu().numpy()
    assert type(plain) is np.ndarray and plain.dtype == np.float32
    np.testing.assert_array_equal(plain, model.predict(x, verbose=0))
    assert out.cpu() is out and out.detach() is out
    # NumPy's names keep NumPy's meaning (README: torch's differ)
    assert out.size == N * 2
    assert np.array_equal(out.argmax(axis=1), plain.argmax(axis=1))
    with pytest.raises(TypeError):
        out.argmax(dim=1)


def _layer_cases():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    normalization = layers.Normalization()
    normalization.adapt(x)
    return x, [
        layers.Dense(3, activation="tanh"),
        layers.BatchNormalization(),
        layers.LayerNormalization(),
        layers.PReLU(),
        layers.UnitNormalization(),
        normalization,
        layers.Rescaling(0.5, offset=1.0),
    ]


@pytest.mark.parametrize("index", range(7))
def test_layer_call_on_a_tensor_returns_a_tensor(index):
    x, cases = _layer_cases()
    layer = cases[index]
    want = layer(x)  # builds the layer
    out = layer(torch.from_numpy(x).requires_grad_(True))
    assert type(out) is torch.Tensor and out.dtype == torch.float32 and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    assert np.array_equal(out.numpy(), want.detach().cpu().numpy())


def test_importing_fastnn_and_training_on_numpy_do_not_import_torch():
    code = (
        "import sys, numpy as np, fastnn\n"
        "from fastnn import layers, models\n"
        "assert 'torch' not in sys.modules\n"
        "m = models.Sequential([layers.Input((3,)), layers.Dense(2)])\n"
        "m.compile(optimizer='sgd', loss='mse')\n"
        "x = np.ones((8, 3), np.float32); y = np.ones((8, 2), np.float32)\n"
        "m.fit(x, y, verbose=0); m.predict(x, verbose=0); m(x).detach()\n"
        "m.fit(((x, y) for _ in range(2)), verbose=0, shuffle=False)\n"
        "layers.Dense(2)(x)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
