"""Checks every engine layer with weights goes through (LayerNormalization,
PReLU, ...): the same steps, given the model."""

from __future__ import annotations

import numpy as np

import fastnn
from fastnn import layers, models, optimizers


def targets(rng, output: str, n: int):
    """(y, loss) for n samples of an output "softmax" (3 classes, ids),
    "sigmoid" (one 0/1 label) or "linear" (2 normal targets)."""
    if output == "softmax":
        return rng.integers(0, 3, n), "sparse_categorical_crossentropy"
    if output == "sigmoid":
        return rng.integers(0, 2, n).astype(np.float32), "binary_crossentropy"
    return rng.standard_normal((n, 2)).astype(np.float32), "mse"


def under_every_isa(run) -> dict:
    """{isa: run()} for every ISA this machine has (the active one restored)."""
    from fastnn import _core

    results = {}
    previous = _core.active_isa()
    try:
        for isa in _core.available_isas():
            _core.set_isa(isa)
            results[isa] = run()
    finally:
        _core.set_isa(previous)
    return results


def check_fit_matches_keras(keras, build, x, y, loss, rtol=2e-6, weight_rtol=1e-5) -> None:
    """build(lib) for fastnn (seed 3) and Keras, Keras given fastnn's initial
    weights: 3 epochs of SGD(0.1) in batches of 16 without shuffling give
    Keras's loss history (rtol), evaluate (rtol) and final weights
    (weight_rtol, atol 1e-6). `loss`: a Keras string id, or loss(lib) makes
    each library's."""
    from keras_inprocess import keras_quiet

    def loss_of(lib):
        return loss if isinstance(loss, str) else loss(lib)

    fastnn.utils.set_random_seed(3)
    ours = build(fastnn)
    ours.compile(optimizer=optimizers.SGD(0.1), loss=loss_of(fastnn))
    with keras_quiet():
        theirs = build(keras)
        theirs.set_weights(ours.get_weights())
        theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss_of(keras))
        k_history = theirs.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        k_eval = theirs.evaluate(x, y, batch_size=16, verbose=0)
        k_weights = theirs.get_weights()
    history = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], k_history.history["loss"], rtol=rtol)
    np.testing.assert_allclose(ours.evaluate(x, y, batch_size=16, verbose=0), k_eval, rtol=rtol)
    assert len(ours.get_weights()) == len(k_weights)
    for a, b in zip(ours.get_weights(), k_weights):
        np.testing.assert_allclose(a, b, rtol=weight_rtol, atol=1e-6)


def trained_on_wide_data(threads: int, middle) -> list:
    """Weights after 2 epochs of Adam on 512 rows of 300 features in batches
    of 129 (rows and columns split across threads): Input(300) ->
    middle(0) -> Dense(290) -> middle(1) -> Dense(10, softmax), seed 8."""
    fastnn.set_num_threads(threads)
    fastnn.utils.set_random_seed(8)
    model = models.Sequential(
        [
            layers.Input(shape=(300,)),
            middle(0),
            layers.Dense(290, activation="relu"),
            middle(1),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((512, 300)) * 2 + 0.5).astype(np.float32)
    y = rng.integers(0, 10, 512)
    model.fit(x, y, batch_size=129, epochs=2, verbose=0)
    return model.get_weights()


def check_thread_counts_agree(middle) -> None:
    """trained_on_wide_data gives the same bits on 1, 2 and 3 threads."""
    one = trained_on_wide_data(1, middle)
    for n in (2, 3):
        for a, b in zip(one, trained_on_wide_data(n, middle)):
            np.testing.assert_array_equal(a, b)


def check_save_load_resume(tmp_path, make, rng):
    """make(seed) -> a compiled model on 5 features and 3 targets: saved after
    2 epochs, loaded (same predictions) and trained 2 more, it ends with the
    weights of 4 epochs straight. Returns the model trained straight."""
    x = rng.standard_normal((60, 5)).astype(np.float32)
    y = rng.standard_normal((60, 3)).astype(np.float32)
    straight = make(5)
    straight.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0)
    halves = make(5)
    halves.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    halves.save(tmp_path / "mid.keras")
    loaded = models.load_model(tmp_path / "mid.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), halves.predict(x, verbose=0))
    loaded.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(straight.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    return straight


def check_sgd_trajectory_matches_torch(torch, rng, middle, torch_middle) -> None:
    """Input(13) -> Dense(17) -> middle -> Dense(4, softmax), 3 epochs of
    SGD(0.05, momentum 0.9) in batches of 32, against the same float64 steps
    in torch (its SGD is Keras's at a constant rate): torch_middle(h, params)
    computes the middle layer from its parameters."""
    fastnn.utils.set_random_seed(4)
    model = models.Sequential(
        [layers.Input(shape=(13,)), layers.Dense(17), middle, layers.Dense(4, activation="softmax")]
    )
    model.compile(optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    x = (rng.standard_normal((96, 13)) * 2).astype(np.float32)
    y = rng.integers(0, 4, 96)
    ts = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in model.get_weights()]
    opt = torch.optim.SGD(ts, lr=0.05, momentum=0.9)
    model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    for _ in range(3):
        for s in range(3):
            xb = torch.tensor(x[s * 32 : s * 32 + 32], dtype=torch.float64)
            h = torch_middle(xb @ ts[0] + ts[1], ts[2:-2])
            logits = h @ ts[-2] + ts[-1]
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y[s * 32 : s * 32 + 32]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    for got, ref in zip(model.get_weights(), ts):  # float32 against float64, 9 steps
        np.testing.assert_allclose(got, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
