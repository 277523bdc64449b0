"""Freezing layers (Keras 3's `trainable`): a frozen layer's weights get no
update, no weight decay and no share of the global gradient norm, its
regularization penalty leaves the loss, and a change applies at the next step
(also from a callback). Trajectories are checked against PyTorch with the
frozen parameters' requires_grad off; flags, weight lists, summary and saving
against Keras 3's behaviour."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastnn
from fastnn import _core, callbacks, layers, models, optimizers, regularizers

WIDTHS = (7, 13, 11, 5)


def make_model(l2=0.0, frozen=(), **dense_kwargs):
    rng = np.random.default_rng(11)
    model = models.Sequential([layers.Input(shape=(WIDTHS[0],))])
    for i, units in enumerate(WIDTHS[1:]):
        last = i == len(WIDTHS) - 2
        model.add(
            layers.Dense(
                units,
                activation="softmax" if last else "tanh",
                kernel_regularizer=regularizers.l2(l2) if l2 else None,
                trainable=i not in frozen,
                **dense_kwargs,
            )
        )
    model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in model.weights])
    return model


def data(n=37, seed=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, WIDTHS[0])).astype(np.float32), rng.integers(0, WIDTHS[-1], n)


def torch_trajectory(weights, frozen, x, y, steps, batch, lr, momentum, clip, l2):
    """SGD with momentum and a global-norm clip over the trainable tensors
    (Keras: v = m v - lr g, w += v; torch's buffer form is the same update at
    a constant rate), cross-entropy plus the trainable layers' L2 penalty."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    params = []
    for i in range(len(weights) // 2):
        w = torch.tensor(weights[2 * i].astype(np.float64), requires_grad=i not in frozen)
        b = torch.tensor(weights[2 * i + 1].astype(np.float64), requires_grad=i not in frozen)
        params.append((w, b))
    trainable = [p for pair in params for p in pair if p.requires_grad]
    velocity = [torch.zeros_like(p) for p in trainable]
    xt, yt = torch.tensor(x.astype(np.float64)), torch.tensor(y)
    losses = []
    for s in range(steps):
        rows = slice(s * batch % len(x), s * batch % len(x) + batch)
        h = xt[rows]
        for i, (w, b) in enumerate(params):
            z = h @ w + b
            h = torch.tanh(z) if i < len(params) - 1 else z
        loss = torch.nn.functional.cross_entropy(h, yt[rows])
        for i, (w, _) in enumerate(params):
            if i not in frozen:
                loss = loss + l2 * (w**2).sum()
        losses.append(float(loss.detach()))
        grads = torch.autograd.grad(loss, trainable)
        norm = torch.sqrt(sum((g**2).sum() for g in grads))
        scale = clip / torch.maximum(norm, torch.tensor(clip))
        with torch.no_grad():
            for p, g, v in zip(trainable, grads, velocity):
                v.mul_(momentum).sub_(lr * g * scale)
                p.add_(v)
    return [t.detach().numpy() for pair in params for t in pair], losses


@pytest.mark.parametrize("frozen", [(0,), (1,), (0, 1), (2,)])
def test_frozen_layers_match_torch_with_requires_grad_off(isa, frozen):
    """Global-norm clipping and the L2 penalty see only the trainable layers;
    backward stops below the lowest trainable one."""
    model = make_model(l2=0.01, frozen=frozen)
    before = model.get_weights()
    x, y = data(36)
    model.compile(
        optimizers.SGD(learning_rate=0.2, momentum=0.8, global_clipnorm=0.7),
        "sparse_categorical_crossentropy",
    )
    losses = [
        float(model.train_on_batch(x[s * 12 : s * 12 + 12], y[s * 12 : s * 12 + 12]))
        for s in range(3)
    ]
    expected, expected_losses = torch_trajectory(before, frozen, x, y, 3, 12, 0.2, 0.8, 0.7, 0.01)
    for i, (got, want, start) in enumerate(zip(model.get_weights(), expected, before)):
        if i // 2 in frozen:
            np.testing.assert_array_equal(got, start)
        else:
            assert not np.array_equal(got, start)
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(losses, expected_losses, rtol=2e-5)


def test_adam_weight_decay_and_gradients_skip_a_frozen_layer():
    model = make_model(l2=0.5, frozen=(1,))
    start = model.get_weights()
    x, y = data()
    model.compile(optimizers.Adam(0.05, weight_decay=0.2), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[2], start[2])
    np.testing.assert_array_equal(after[3], start[3])
    assert not np.array_equal(after[0], start[0]) and not np.array_equal(after[4], start[4])
    # the engine's gradient views of the frozen layer stay 0
    grads = model._net.grad_views()
    assert not np.any(grads[2]) and not np.any(grads[3])


def test_a_frozen_layer_stays_frozen_when_a_hyperparameter_changes():
    """A changed weight decay builds a new C++ optimizer (between epochs, from
    a callback): the frozen flags must reach it before its first step."""
    model = make_model(frozen=(0,))
    start = model.get_weights()[0]
    model.compile(optimizers.AdamW(0.05, weight_decay=0.01), "sparse_categorical_crossentropy")

    def on_epoch_end(epoch, logs):
        model.optimizer.weight_decay = 0.5 + epoch

    x, y = data()
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[callbacks.LambdaCallback(on_epoch_end=on_epoch_end)],
    )
    np.testing.assert_array_equal(model.get_weights()[0], start)
    model.optimizer.clipnorm = 0.1
    model.train_on_batch(x, y)
    np.testing.assert_array_equal(model.get_weights()[0], start)


def test_the_penalty_of_a_frozen_layer_leaves_the_loss():
    x, y = data()
    model = make_model(l2=1.0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    full = model.evaluate(x, y, verbose=0)
    penalty = sum(float((w.astype(np.float64) ** 2).sum()) for w in model.weights[::2])
    model.layers[0].trainable = False
    frozen_penalty = float((model.weights[0].astype(np.float64) ** 2).sum())
    assert model.evaluate(x, y, verbose=0) == pytest.approx(full - frozen_penalty, rel=1e-5)
    assert model.test_on_batch(x, y) == pytest.approx(full - frozen_penalty, rel=1e-5)
    model.trainable = False
    assert model.evaluate(x, y, verbose=0) == pytest.approx(full - penalty, rel=1e-4)


def test_freezing_from_a_callback_applies_at_the_next_step():
    """Unfreezing after the first epoch (a fine-tuning schedule): epoch 1
    leaves layer 0 alone, epoch 2 trains it."""
    model = make_model(frozen=(0,))
    start = model.get_weights()[0]
    seen = {}

    def on_epoch_end(epoch, logs):
        seen[epoch] = model.get_weights()[0]
        model.layers[0].trainable = epoch == 0

    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    x, y = data()
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[callbacks.LambdaCallback(on_epoch_end=on_epoch_end)],
    )
    np.testing.assert_array_equal(seen[0], start)
    assert not np.array_equal(seen[1], seen[0])
    np.testing.assert_array_equal(seen[2], seen[1])


def test_model_trainable_sets_every_layer_and_nothing_trains():
    model = make_model()
    model.compile(optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    start = model.get_weights()
    model.trainable = False
    assert [layer.trainable for layer in model.layers] == [False] * 3
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    x, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=1, verbose=0)
    assert any("does not have any trainable weights" in str(w.message) for w in caught)
    assert np.isfinite(history.history["loss"][0])
    for got, want in zip(model.get_weights(), start):
        np.testing.assert_array_equal(got, want)
    assert model.optimizer.iterations == 0  # Keras 3.15 applies no optimizer step either
    # a layer flag alone does not train while the model is frozen (Keras 3)
    model.layers[2].trainable = True
    assert model.trainable_weights == []
    model.trainable = True
    assert [layer.trainable for layer in model.layers] == [True] * 3
    steps = model.fit(x, y, epochs=1, verbose=0).params["steps"]
    assert all(not np.array_equal(a, b) for a, b in zip(model.get_weights(), start))
    assert model.optimizer.iterations == steps


def test_weight_lists_summary_and_config(tmp_path, capsys):
    model = make_model(frozen=(1,))
    dense = model.layers
    assert dense[1].trainable is False and dense[0].trainable is True
    assert [w.shape for w in model.trainable_weights] == [(7, 13), (13,), (11, 5), (5,)]
    assert [w.shape for w in model.non_trainable_weights] == [(13, 11), (11,)]
    assert dense[1].trainable_weights == [] and len(dense[1].non_trainable_weights) == 2
    assert len(model.weights) == 6  # Keras order, whatever the flags
    model.summary()
    text = capsys.readouterr().out
    assert " Trainable params: 164 (656.00 B)" in text
    assert " Non-trainable params: 154 (616.00 B)" in text
    assert " Total params: 318 (1.24 KB)" in text
    config = dense[1].get_config()
    assert config["trainable"] is False and list(config)[:2] == ["name", "trainable"]
    assert layers.Dense.from_config(config).trainable is False
    model.compile("adam", "sparse_categorical_crossentropy")
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    assert [layer.trainable for layer in loaded.layers] == [True, False, True]
    model.trainable = False
    assert model.get_config()["trainable"] is False
    clone = models.Sequential.from_config(model.get_config())
    assert clone.trainable is False and clone.trainable_weights == []
    assert models.Sequential(name="m", trainable=False).trainable is False


def test_layer_trainable_follows_keras_bool_conversion():
    # the constructor takes a bool only (Keras's ValueError); the setter converts
    with pytest.raises(ValueError, match="Expected `trainable` to be a boolean"):
        layers.Dense(3, trainable=0)
    layer = layers.Dense(3, trainable=False)
    layer.trainable = 0
    assert layer.trainable is False
    layer.trainable = "yes"
    assert layer.trainable is True
    assert layers.Dropout(0.5, trainable=False).get_config()["trainable"] is False


def test_frozen_results_are_the_same_on_one_and_two_threads(threads):
    """Wide enough that the step runs in a team session, its GEMMs and the
    optimizer (over 16,384 parameters) on both threads."""
    results = []
    rng = np.random.default_rng(2)
    x = rng.standard_normal((512, 300)).astype(np.float32)
    y = rng.integers(0, 10, 512)
    for n in (1, 2):
        fastnn.set_num_threads(n)
        fastnn.utils.set_random_seed(4)
        model = models.Sequential(
            [
                layers.Input(shape=(300,)),
                layers.Dense(256, activation="relu", trainable=False),
                layers.Dense(256, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=256, epochs=2, verbose=0, shuffle=False)
        results.append(model.get_weights())
    assert _core.nn.Network is type(model._net) and model.count_params() > 16384
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_bad_flag_counts_are_refused_by_the_engine():
    model = make_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.train_on_batch(*data())
    with pytest.raises(ValueError, match="3 layers"):
        model._net.set_trainable([True])
    with pytest.raises(ValueError, match="6 tensors"):
        model.optimizer._kernel.set_frozen([True, False])
    assert _core.nn.Network is type(model._net)


def test_saved_optimizer_state_covers_the_trainable_weights(tmp_path):
    """As Keras builds optimizer slots for trainable variables only, the saved
    state has iterations, the learning rate and Adam's (momentum, velocity)
    of each trainable weight; loading it and training on equals training
    straight through."""
    x, y = data(64)

    def frozen_model():
        model = make_model(frozen=(1,))
        model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy")
        return model

    straight = frozen_model()
    straight.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    first = frozen_model()
    first.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    variables = first._optimizer_variables()
    assert len(variables) == 2 + 2 * 4  # 4 trainable tensors of 6
    assert [v.shape for v in variables[2:4]] == [(7, 13), (7, 13)]
    assert [v.shape for v in variables[4:6]] == [(13,), (13,)]
    first.save(tmp_path / "half.keras")
    resumed = models.load_model(tmp_path / "half.keras")
    assert [layer.trainable for layer in resumed.layers] == [True, False, True]
    resumed.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a model whose flags differ takes the weights and skips the state, as Keras
    other = make_model()
    other.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    other.fit(x, y, batch_size=16, epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        other.load_weights(_weights_file(first, tmp_path))
    np.testing.assert_array_equal(other.get_weights()[0], first.get_weights()[0])


def _weights_file(model, tmp_path):
    path = tmp_path / "w.weights.npz"
    model.save_weights(path)
    return path


def test_the_optimizer_keeps_the_weights_it_was_built_for(tmp_path, capsys):
    """Keras builds the optimizer's variables for the weights trainable at its
    first step and keeps that set: freezing afterwards without recompiling
    changes the trainable count but not the optimizer's (summary and saved
    state); a new compile builds for the new set."""
    x, y = data(32)
    model = make_model()
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.layers[0].trainable = False
    model.fit(x, y, epochs=1, verbose=0)
    model.summary()
    text = capsys.readouterr().out
    assert " Trainable params: 214 (856.00 B)" in text  # 318 - 104 frozen
    assert " Optimizer params: 638 (2.49 KB)" in text  # 2 + 2 * 318, int32 iteration
    assert len(model._optimizer_variables()) == 2 + 2 * 6
    model.save(tmp_path / "m.keras")
    # loading builds the optimizer for the weights trainable now (4 tensors),
    # so the saved state of 6 is skipped, with Keras's warning
    with pytest.warns(UserWarning, match="has 10 variables whereas the saved optimizer has 14"):
        loaded = models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].trainable is False
    loaded.fit(x, y, epochs=1, verbose=0)
    assert len(loaded._optimizer_variables()) == 2 + 2 * 4
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.summary()
    assert " Optimizer params: 430 (1.68 KB)" in capsys.readouterr().out  # 2 + 2 * 214


def test_a_nested_model_follows_the_outer_models_trainable_as_keras():
    """Keras's transfer-learning guide: freezing the outer model freezes the
    inner one (its flag too), in a Sequential and in a functional graph."""
    inner = fastnn.Sequential([fastnn.Input((3,)), layers.Dense(3), layers.Dense(3)])
    model = fastnn.Sequential([fastnn.Input((3,)), inner, layers.Dense(3)])
    model.trainable = False
    assert inner.trainable is False and inner.layers[0].trainable is False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    model.trainable = True
    assert inner.trainable and len(model.trainable_weights) == 6

    base = fastnn.Sequential([fastnn.Input((3,)), layers.Dense(3)])
    inputs = fastnn.Input((3,))
    head = fastnn.Model(inputs, layers.Dense(1)(base(inputs)))
    head.trainable = False
    assert base.trainable is False and base.layers[0].trainable is False
    head.trainable = True
    assert base.trainable and len(head.trainable_weights) == 4
    base.trainable = False  # freezing the base alone leaves the head's own layer training
    assert head.trainable and len(head.trainable_weights) == 2
