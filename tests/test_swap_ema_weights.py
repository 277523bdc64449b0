"""`callbacks.SwapEMAWeights`: the model's weights and the optimizer's
moving averages (`use_ema`) trade places around validation, `evaluate` and
`predict` (and around each epoch's end with ``swap_on_epoch=True``): History,
the weights after fit, evaluate inside and after fit, the optimizer's
averages and ModelCheckpoint's files against Keras 3 (torch backend); the
exchange bit for bit; frozen and shared layers; the error without `use_ema`;
and where fastnn deliberately differs (predict swaps back, an early stop
keeps the averaged weights, no step yet swaps nothing)."""

from __future__ import annotations

import numpy as np
import pytest
from ema_models import fastnn_mlp, keras_mlp, regression_data
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import Input, Model, layers, optimizers
from fastnn.callbacks import SwapEMAWeights

KERAS_MESSAGE = "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "


def ema_adam(lib, frequency=None):
    return lib.optimizers.Adam(
        0.01, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=frequency
    )


def numpy_list(keras, values) -> list:
    return [np.array(keras.ops.convert_to_numpy(v)) for v in values]


def max_diff(ours, theirs) -> float:
    return max(
        float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
        for a, b in zip(ours, theirs)
    )


def bits(arrays) -> list:
    return [np.array(a, np.float32).view(np.uint32) for a in arrays]


def assert_same_bits(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(bits(ours), bits(theirs)):
        np.testing.assert_array_equal(a, b)


def averages_of(model) -> list:
    return [np.array(a) for a in model.optimizer._averages()]


# ---------------------------------------------------------------------------
# fit / evaluate / ModelCheckpoint against Keras.
# ---------------------------------------------------------------------------


def _recorder(lib, keras, xv, yv):
    """A callback (placed after the others) recording at each epoch's end the
    weights it sees and evaluate with a new SwapEMAWeights of its own."""

    class Recorder(lib.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.weights, self.evaluations = [], []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append(numpy_list(keras, self.model.get_weights()))
            self.evaluations.append(
                self.model.evaluate(xv, yv, verbose=0, callbacks=[lib.callbacks.SwapEMAWeights()])
            )

    return Recorder()


def _run(lib, keras, model, swap_on_epoch, frequency, directory):
    """Three epochs of fit with validation, SwapEMAWeights, ModelCheckpoint
    (weights files) and the recorder, then evaluate with and without a new
    SwapEMAWeights: everything the comparison looks at."""
    x, y = regression_data()
    xv, yv = regression_data(1, rows=12)
    model.compile(optimizer=ema_adam(lib, frequency), loss="mse", metrics=["mae"])
    path = str(directory / (lib.__name__ + "-{epoch}.weights.h5"))
    recorder = _recorder(lib, keras, xv, yv)
    callbacks = [
        lib.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch),
        lib.callbacks.ModelCheckpoint(path, save_weights_only=True),
        recorder,
    ]
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        shuffle=False,
        verbose=0,
        validation_data=(xv, yv),
        callbacks=callbacks,
    ).history
    weights = numpy_list(keras, model.get_weights())
    averages = numpy_list(keras, model.optimizer.variables[2:6])
    swapped = model.evaluate(xv, yv, verbose=0, callbacks=[lib.callbacks.SwapEMAWeights()])
    plain = model.evaluate(xv, yv, verbose=0)
    checkpoints = []
    for epoch in (1, 2, 3):
        loaded = fastnn_mlp(seed=9) if lib is fastnn else keras_mlp(keras, weights)
        loaded.load_weights(path.format(epoch=epoch))
        checkpoints.append(numpy_list(keras, loaded.get_weights()))
    return {
        "history": history,
        "weights": weights,
        "averages": averages,
        "swapped": swapped,
        "plain": plain,
        "checkpoints": checkpoints,
        "seen": recorder.weights,
        "inside": recorder.evaluations,
    }


@pytest.mark.parametrize("frequency", [None, 3])
@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_fit_evaluate_and_checkpoints_match_keras(tmp_path, swap_on_epoch, frequency):
    """History (val_ keys from the averaged weights), the weights after fit,
    the optimizer's averages, evaluate inside fit (a callback's, with its
    own SwapEMAWeights) and after it (with and without one), and the
    weights ModelCheckpoint saved, all as Keras's to float32 rounding."""
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    model = fastnn_mlp()
    with keras_quiet():
        theirs = _run(
            keras, keras, keras_mlp(keras, model.get_weights()), swap_on_epoch, frequency, tmp_path
        )
    ours = _run(fastnn, keras, model, swap_on_epoch, frequency, tmp_path)
    assert sorted(ours["history"]) == sorted(theirs["history"])
    for key, values in theirs["history"].items():
        np.testing.assert_allclose(ours["history"][key], values, rtol=2e-5, atol=1e-6)
    for name in ("weights", "averages"):
        assert max_diff(ours[name], theirs[name]) < 2e-5, name
    for name in ("swapped", "plain"):
        np.testing.assert_allclose(ours[name], theirs[name], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(ours["inside"], theirs["inside"], rtol=2e-5, atol=1e-6)
    for name in ("checkpoints", "seen"):
        for epoch, (a, b) in enumerate(zip(ours[name], theirs[name])):
            assert max_diff(a, b) < 2e-5, (name, epoch)
    # what the callback changed: validation ran on the averaged weights (the
    # same as evaluate with the callback), and the weights at the end are the
    # averages, which the optimizer holds too
    np.testing.assert_allclose(ours["history"]["val_loss"][-1], ours["swapped"][0], rtol=1e-6)
    assert_same_bits(ours["weights"], ours["averages"])
    assert abs(ours["plain"][0] - ours["swapped"][0]) < 1e-6  # no more difference after fit
    # with swap_on_epoch, the callbacks after it (checkpoint, recorder) see
    # the averaged weights; without, the trained ones
    seen, saved = ours["seen"], ours["checkpoints"]
    for a, b in zip(seen, saved):
        assert_same_bits(a, b)
    if swap_on_epoch:
        assert_same_bits(seen[-1], ours["weights"])
    elif frequency is None:  # (every 3 steps, the 15th step overwrote them with the averages)
        assert max_diff(seen[-1], ours["weights"]) > 1e-4  # the last epoch's trained weights


def test_without_the_callback_validation_sees_the_trained_weights():
    """The control: the same fit without SwapEMAWeights validates the raw
    weights (Keras's own test of the callback checks this difference)."""
    x, y = regression_data()
    xv, yv = regression_data(1, rows=12)
    runs = []
    for callbacks in ([], [SwapEMAWeights()]):
        model = fastnn_mlp()
        model.compile(optimizer=ema_adam(fastnn), loss="mse")
        runs.append(
            model.fit(
                x,
                y,
                batch_size=8,
                epochs=2,
                shuffle=False,
                verbose=0,
                validation_data=(xv, yv),
                callbacks=callbacks,
            ).history
        )
    np.testing.assert_array_equal(runs[0]["loss"], runs[1]["loss"])  # training unchanged
    assert all(abs(a - b) > 1e-4 for a, b in zip(runs[0]["val_loss"], runs[1]["val_loss"]))


def test_fit_on_a_batch_source_swaps_as_on_arrays():
    """A generator's fit (one engine step per batch) with validation and
    swap_on_epoch ends as the same fit on arrays."""
    x, y = regression_data()
    xv, yv = regression_data(1, rows=12)

    def batches():
        while True:
            for start in range(0, len(x), 8):
                yield x[start : start + 8], y[start : start + 8]

    results = []
    for data in ((x, y), (batches(),)):
        model = fastnn_mlp()
        model.compile(optimizer=ema_adam(fastnn, 3), loss="mse")
        extra = {} if len(data) == 2 else {"steps_per_epoch": 5}
        history = model.fit(
            *data,
            batch_size=None if extra else 8,
            epochs=3,
            shuffle=False,
            verbose=0,
            validation_data=(xv, yv),
            callbacks=[SwapEMAWeights(swap_on_epoch=True)],
            **extra,
        ).history
        results.append((history, model.get_weights(), averages_of(model)))
    (h0, w0, a0), (h1, w1, a1) = results
    np.testing.assert_allclose(h1["val_loss"], h0["val_loss"], rtol=1e-6)
    assert max_diff(w1, w0) < 1e-6
    assert_same_bits(w1, a1)


# ---------------------------------------------------------------------------
# The exchange itself.
# ---------------------------------------------------------------------------


def _trained(frequency=None):
    """A model whose weights and averages differ (fit, then steps)."""
    x, y = regression_data()
    model = fastnn_mlp()
    model.compile(optimizer=ema_adam(fastnn, frequency), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for i in range(2):
        model.train_on_batch(x[8 * i : 8 * i + 8], y[8 * i : 8 * i + 8])
    return model


def test_a_swap_trades_the_bits_and_a_second_restores_them():
    """Special values (a NaN payload, -0.0, a subnormal) travel intact;
    two callbacks swapping in turn (the second swaps the weights back in)
    and out again leave everything as it was, bit for bit."""
    model = _trained()
    kernel = model.layers[0].kernel
    kernel[0, :3] = np.array([0x7FC00123, 0x80000000, 0x00000005], np.uint32).view(np.float32)
    averages = model.optimizer._averages()
    averages[1][:2] = np.array([0xFFC00042, 0x00000001], np.uint32).view(np.float32)
    w0, a0 = model.get_weights(), averages_of(model)
    first, second = SwapEMAWeights(), SwapEMAWeights()
    for cb in (first, second):
        cb.set_model(model)
    first.on_test_begin()
    assert_same_bits(model.get_weights(), a0)
    assert_same_bits(averages_of(model), w0)
    second.on_test_begin()  # another one: the trained weights come back in
    assert_same_bits(model.get_weights(), w0)
    assert_same_bits(averages_of(model), a0)
    first.on_test_begin()  # already in: nothing
    assert_same_bits(model.get_weights(), w0)
    second.on_test_end()
    first.on_test_end()
    assert_same_bits(model.get_weights(), w0)
    assert_same_bits(averages_of(model), a0)
    first.on_test_end()  # already out: nothing
    assert_same_bits(model.get_weights(), w0)


@pytest.mark.parametrize("frequency", [None, 2])
def test_evaluate_with_the_callback_is_evaluate_on_the_averages(frequency):
    x, y = regression_data()
    model = _trained(frequency)
    w0, a0 = model.get_weights(), averages_of(model)
    swapped = model.evaluate(x, y, verbose=0, callbacks=[SwapEMAWeights()])
    assert_same_bits(model.get_weights(), w0)
    assert_same_bits(averages_of(model), a0)
    reference = fastnn_mlp()
    reference.compile(optimizer="adam", loss="mse")
    reference.set_weights(a0)
    assert swapped == reference.evaluate(x, y, verbose=0)
    assert abs(swapped - model.evaluate(x, y, verbose=0)) > 1e-4


def test_predict_uses_the_averages_and_swaps_back():
    """Keras 3.15's on_predict_end tests the wrong flag and leaves the
    averages in the model (the weights in the optimizer); fastnn swaps back,
    as the callback's documentation says. The predictions are Keras's."""
    x, _ = regression_data()
    model = _trained()
    w0, a0 = model.get_weights(), averages_of(model)
    predictions = []
    for batch_size in (8, 40):  # per-batch hooks or not: same hooks around it
        predictions.append(
            model.predict(x, batch_size=batch_size, verbose=0, callbacks=[SwapEMAWeights()])
        )
        assert_same_bits(model.get_weights(), w0)
        assert_same_bits(averages_of(model), a0)
    model.set_weights(a0)
    expected = model.predict(x, verbose=0)
    for p in predictions:
        np.testing.assert_array_equal(p, expected)

    keras = keras_or_skip()
    with keras_quiet():
        kmodel = keras_mlp(keras, w0)
        kmodel.compile(optimizer=ema_adam(keras), loss="mse")
        kmodel.optimizer.build(kmodel.trainable_variables)
        for variable, value in zip(kmodel.optimizer._model_variables_moving_average, a0):
            variable.assign(value)
        theirs = kmodel.predict(x, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
        k_after = numpy_list(keras, kmodel.get_weights())
    np.testing.assert_allclose(predictions[0], theirs, rtol=1e-5, atol=1e-6)
    # Keras's model is left with the averages: where fastnn differs
    assert max_diff(k_after, a0) == 0.0


def test_layer_frozen_before_build_is_left_alone_and_matches_keras():
    """A layer frozen at compile has no average: it keeps its weights in
    validation; the trainable one is swapped. History and weights as Keras's."""
    keras = keras_or_skip()
    x, y = regression_data()
    xv, yv = regression_data(1, rows=12)
    model = fastnn_mlp()
    frozen = [np.array(w) for w in model.layers[0].get_weights()]

    class Seen(fastnn.callbacks.Callback):
        def on_test_begin(self, logs=None):
            self.first_layer = [np.array(w) for w in self.model.layers[0].get_weights()]

    seen = Seen()
    fit = {"batch_size": 8, "epochs": 2, "shuffle": False, "verbose": 0}
    with keras_quiet():
        kmodel = keras_mlp(keras, model.get_weights())
        kmodel.layers[0].trainable = False
        kmodel.compile(optimizer=ema_adam(keras), loss="mse")
        k_hist = kmodel.fit(
            x,
            y,
            validation_data=(xv, yv),
            callbacks=[keras.callbacks.SwapEMAWeights()],
            **fit,
        ).history
        k_weights = numpy_list(keras, kmodel.get_weights())
    model.layers[0].trainable = False
    model.compile(optimizer=ema_adam(fastnn), loss="mse")
    hist = model.fit(
        x, y, validation_data=(xv, yv), callbacks=[SwapEMAWeights(), seen], **fit
    ).history
    assert len(model.optimizer._averages()) == 2
    assert_same_bits(seen.first_layer, frozen)
    assert_same_bits(model.layers[0].get_weights(), frozen)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(hist[key], k_hist[key], rtol=2e-5)
    assert max_diff(model.get_weights(), k_weights) < 2e-5


def test_layer_frozen_after_build_is_swapped_with_its_average_as_in_keras():
    """Keras swaps every variable the optimizer was built for, a layer
    frozen since included: evaluate's result is Keras's, and the frozen
    layer's weights are back afterwards."""
    keras = keras_or_skip()
    x, y = regression_data()
    results = []
    model = fastnn_mlp()
    with keras_quiet():
        kmodel = keras_mlp(keras, model.get_weights())
        for lib, m in ((keras, kmodel), (fastnn, model)):
            m.compile(optimizer=ema_adam(lib), loss="mse")
            for i in range(3):
                m.train_on_batch(x[8 * i : 8 * i + 8], y[8 * i : 8 * i + 8])
            m.layers[0].trainable = False
            for i in range(3, 5):  # the frozen layer's average moves toward its kernel
                m.train_on_batch(x[8 * i : 8 * i + 8], y[8 * i : 8 * i + 8])
            before = numpy_list(keras, m.get_weights())
            swapped = m.evaluate(x, y, verbose=0, callbacks=[lib.callbacks.SwapEMAWeights()])
            plain = m.evaluate(x, y, verbose=0)
            results.append((swapped, plain, before, numpy_list(keras, m.get_weights())))
    (k_swapped, k_plain, _, _), (swapped, plain, before, after) = results
    np.testing.assert_allclose([swapped, plain], [k_swapped, k_plain], rtol=2e-5)
    assert_same_bits(after, before)
    reference = fastnn_mlp()
    reference.compile(optimizer="adam", loss="mse")
    reference.set_weights(averages_of(model))  # all four averaged, the frozen two too
    assert swapped == reference.evaluate(x, y, verbose=0)


def test_a_model_running_shared_layers_evaluates_the_averages():
    """A feature extractor sharing another model's layers copies their
    weights into its network before each engine call: the swapped ones
    reach it (evaluate and predict), and the owner gets its weights back."""
    rng = np.random.default_rng(5)
    fastnn.utils.set_random_seed(0)
    base = fastnn.Sequential(
        [Input((20,)), layers.Dense(16, activation="relu"), layers.Dense(8, activation="tanh")]
    )
    base.add(layers.Dense(3))
    base.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((64, 20)).astype(np.float32)
    t = rng.standard_normal((64, 8)).astype(np.float32)
    ext = Model(inputs=base.inputs, outputs=base.layers[-2].output)
    ext.compile(optimizer=optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    ext.fit(x, t, epochs=1, verbose=0)
    ext.train_on_batch(x[:8], t[:8])
    assert ext._borrowed
    w0, a0 = ext.get_weights(), averages_of(ext)
    swapped = ext.evaluate(x, t, verbose=0, callbacks=[SwapEMAWeights()])
    predicted = ext.predict(x, verbose=0, callbacks=[SwapEMAWeights()])
    assert_same_bits(ext.get_weights(), w0)
    assert_same_bits(base.get_weights()[:4], w0)
    ext.set_weights(a0)
    assert swapped == ext.evaluate(x, t, verbose=0)
    np.testing.assert_array_equal(predicted, ext.predict(x, verbose=0))


# ---------------------------------------------------------------------------
# Errors, and where fastnn differs from Keras on purpose.
# ---------------------------------------------------------------------------


def _no_ema_model():
    model = fastnn_mlp()
    model.compile(optimizer=optimizers.Adam(0.01), loss="mse")
    return model


def test_without_use_ema_fit_evaluate_and_predict_raise_keras_error_and_change_nothing():
    """Keras's message; fit fails when it begins (Keras only at the first
    swap, after an epoch of training), evaluate and predict before they run."""
    x, y = regression_data()
    xv, yv = regression_data(1, rows=12)
    model = _no_ema_model()
    w0 = model.get_weights()
    message = KERAS_MESSAGE + "Received: use_ema=False"
    for swap_on_epoch, validation in ((False, (xv, yv)), (True, None), (False, None)):
        with pytest.raises(ValueError) as raised:
            model.fit(
                x,
                y,
                epochs=2,
                verbose=0,
                validation_data=validation,
                callbacks=[SwapEMAWeights(swap_on_epoch=swap_on_epoch)],
            )
        assert str(raised.value) == message
    with pytest.raises(ValueError, match="^" + message.replace("`", ".") + "$"):
        model.evaluate(x, y, verbose=0, callbacks=[SwapEMAWeights()])
    with pytest.raises(ValueError, match="Received: use_ema=False"):
        model.predict(x, verbose=0, callbacks=[SwapEMAWeights()])
    assert_same_bits(model.get_weights(), w0)
    assert model.optimizer.iterations == 0
    model.fit(x, y, epochs=1, verbose=0)  # the model still trains

    uncompiled = fastnn_mlp()
    with pytest.raises(ValueError, match="a model without an optimizer"):
        uncompiled.predict(x, verbose=0, callbacks=[SwapEMAWeights()])

    keras = keras_or_skip()
    with keras_quiet():
        kmodel = keras_mlp(keras, w0)
        kmodel.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        with pytest.raises(ValueError) as raised:
            kmodel.evaluate(x, y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    assert str(raised.value) == message


def test_an_early_stop_with_swap_on_epoch_keeps_the_averaged_weights():
    """Keras 3.15 parks the trained weights in the averages at every epoch's
    end and repairs that only after the last epoch: stopped earlier, its
    final overwrite puts the trained weights back and the averages are lost.
    fastnn ends as after the last epoch: the averaged weights, in the model
    and in the optimizer; they are Keras's averaged weights of that epoch."""
    keras = keras_or_skip()
    x, y = regression_data()
    xv, yv = regression_data(1, rows=12)
    model = fastnn_mlp()
    runs = []
    with keras_quiet():
        kmodel = keras_mlp(keras, model.get_weights())
        for lib, m in ((keras, kmodel), (fastnn, model)):

            class StopAfterSecond(lib.callbacks.Callback):
                def on_epoch_end(self, epoch, logs=None):
                    self.seen = numpy_list(keras, self.model.get_weights())
                    if epoch == 1:
                        self.model.stop_training = True

            stop = StopAfterSecond()
            m.compile(optimizer=ema_adam(lib), loss="mse")
            m.fit(
                x,
                y,
                batch_size=8,
                epochs=5,
                shuffle=False,
                verbose=0,
                validation_data=(xv, yv),
                callbacks=[lib.callbacks.SwapEMAWeights(swap_on_epoch=True), stop],
            )
            runs.append((stop.seen, numpy_list(keras, m.get_weights())))
    (k_seen, k_final), (seen, final) = runs
    assert max_diff(seen, k_seen) < 2e-5  # the averaged weights at the stop
    assert_same_bits(final, seen)
    assert_same_bits(averages_of(model), seen)
    assert max_diff(k_final, k_seen) > 1e-4  # Keras's end: the trained weights


def test_no_step_yet_swaps_nothing():
    """An optimizer that has taken no step has no averages of anything yet
    (Keras evaluates with their initial zeros once evaluate has built the
    optimizer, and fails in predict before it is built): evaluate and
    predict run on the weights, as fit's final overwrite leaves them then."""
    x, y = regression_data()
    model = fastnn_mlp()
    model.compile(optimizer=ema_adam(fastnn), loss="mse")
    w0 = model.get_weights()
    predicted = model.predict(x, verbose=0, callbacks=[SwapEMAWeights()])
    np.testing.assert_array_equal(predicted, model.predict(x, verbose=0))
    cb = SwapEMAWeights()
    assert model.evaluate(x, y, verbose=0, callbacks=[cb]) == model.evaluate(x, y, verbose=0)
    assert model.optimizer.built and not cb._ema_weights_in_model
    assert_same_bits(model.get_weights(), w0)


def test_namespace_and_arguments():
    """The name is no longer one of fastnn's explained absences; Keras's
    callbacks have no get_config, nor has this one."""
    import fastnn.callbacks as callbacks

    assert "SwapEMAWeights" in callbacks.__all__
    cb = callbacks.SwapEMAWeights()
    assert cb.swap_on_epoch is False and cb._ema_weights_in_model is False
    assert callbacks.SwapEMAWeights(swap_on_epoch=True).swap_on_epoch is True
    assert not hasattr(cb, "get_config")
