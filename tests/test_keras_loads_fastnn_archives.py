"""Keras 3 loads fastnn's `.keras` archives: with h5py installed the archive
holds Keras's ``model.weights.h5`` beside fastnn's ``model.weights.npz``, in
the layout of Keras's own archives (compared member by member with archives
Keras writes), and config.json keeps ``seed: null`` for drawn seeds (kept in
metadata.json). Keras (torch backend, in a subprocess) loads Sequential and
functional models, every layer, loss, metric, optimizer (use_ema too),
schedule, regularizer, constraint and initializer config fastnn writes,
predicts and evaluates as fastnn, holds fastnn's optimizer state and trains
on as fastnn does; fastnn still reads its npz (preferred when the two
disagree), Keras's own archives, and archives written without h5py."""

from __future__ import annotations

import io
import json
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from h5_listing import h5_listing
from keras_subprocess import run_keras
from saving_models import chain, mlp

import fastnn
from fastnn import (
    activations,
    callbacks,
    constraints,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
)
from fastnn import initializers as init
from fastnn.optimizers import schedules

N = 48


def make_data(n=N, seed=0):
    """x (n, 4), sparse labels 0..2, their one-hot rows, and multi-hot
    targets (each class 0 or 1 independently)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 2.0
    y = rng.integers(0, 3, n)
    x = (centers[y] + rng.standard_normal((n, 4))).astype(np.float32)
    onehot = np.eye(3, dtype=np.float32)[y]
    multihot = (rng.random((n, 3)) < 0.4).astype(np.float32)
    return x, {"sparse": y, "onehot": onehot, "multihot": multihot}


def batches(x, y, steps=3, size=16):
    return [(x[i * size : (i + 1) * size], y[i * size : (i + 1) * size]) for i in range(steps)]


def archive_members(path):
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def archive_member(path, name):
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def h5_member(path):
    """{name: (kind, dtype, shape, attrs)} and {dataset: array} of an
    archive's model.weights.h5."""
    import h5py

    data = archive_member(path, "model.weights.h5")
    listing = h5_listing(io.BytesIO(data), attrs=dict, root=True)
    arrays = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(
            lambda name, obj: (
                arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return listing, arrays


# -- the models fastnn saves (explicit names: Keras's twins use the same) ------------------


def seq_model(dropout=True, seed=3):
    """4-6(relu)-[Dropout]-BatchNormalization-3(softmax), Adam."""
    model = mlp(dropout, seed)
    model.compile(
        optimizers.Adam(0.01, name="adam"),
        "sparse_categorical_crossentropy",
        metrics=["accuracy", metrics.SparseTopKCategoricalAccuracy(k=2)],
        weighted_metrics=[metrics.SparseCategoricalCrossentropy()],
    )
    return model


def func_model(noise=True, seed=4, optimizer=None, metrics_list=None):
    """`chain` with GaussianNoise, by default SGD with momentum on an
    ExponentialDecay schedule."""
    model = chain(seed, noise)
    if optimizer is None:
        schedule = schedules.ExponentialDecay(0.1, 10, 0.9)
        optimizer = optimizers.SGD(schedule, momentum=0.9, name="sgd")
    model.compile(
        optimizer,
        losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=metrics_list or [metrics.SparseCategoricalAccuracy(), "acc"],
    )
    return model


def resume_func_model():
    """A functional chain without random layers, centered RMSprop with momentum."""
    optimizer = optimizers.RMSprop(0.01, momentum=0.5, centered=True)
    return func_model(noise=False, seed=5, optimizer=optimizer, metrics_list=["accuracy"])


def zoo_model(x, seed=6):
    """Nearly every fastnn layer in one Sequential, with regularizers,
    constraints and initializers of every kind, Dropout and the three noise
    layers with drawn seeds."""
    fastnn.utils.set_random_seed(seed)
    norm = layers.Normalization(name="standardize")
    norm.adapt(x)
    return models.Sequential(
        [
            layers.Input(shape=(4,)),
            layers.Rescaling(0.5, offset=0.1, name="rescale"),
            norm,
            layers.Dense(
                8,
                kernel_initializer=init.HeNormal(seed=1),
                bias_initializer=init.Constant(0.1),
                kernel_regularizer=regularizers.L1L2(1e-4, 1e-3),
                bias_regularizer=regularizers.L2(1e-3),
                activity_regularizer=regularizers.L1(1e-5),
                kernel_constraint=constraints.MaxNorm(3.0),
                bias_constraint=constraints.NonNeg(),
                name="d1",
            ),
            layers.PReLU(alpha_initializer=init.Constant(0.2), name="prelu"),
            layers.BatchNormalization(
                momentum=0.9,
                epsilon=1e-3,
                gamma_initializer=init.Ones(),
                beta_initializer=init.Zeros(),
                name="bn",
            ),
            layers.Dropout(0.2, name="drop"),
            layers.Dense(
                8,
                activation="gelu",
                kernel_initializer=init.GlorotNormal(seed=2),
                bias_initializer=init.RandomUniform(-0.05, 0.05, seed=3),
                kernel_regularizer="l2",
                kernel_constraint=constraints.UnitNorm(),
                bias_constraint=constraints.MinMaxNorm(0.0, 1.0),
                name="d2",
            ),
            layers.LayerNormalization(
                epsilon=1e-5,
                gamma_initializer=init.HeUniform(seed=9),
                beta_initializer=init.LecunNormal(seed=10),
                name="ln",
            ),
            layers.GaussianNoise(0.1, name="noise"),
            layers.ELU(alpha=0.5, name="elu"),
            layers.Dense(
                8,
                kernel_initializer=init.LecunUniform(seed=4),
                bias_initializer=init.TruncatedNormal(stddev=0.01, seed=5),
                name="d3",
            ),
            layers.LeakyReLU(0.2, name="leaky"),
            layers.GaussianDropout(0.1, name="gdrop"),
            layers.ReLU(max_value=6.0, negative_slope=0.01, name="relu"),
            layers.AlphaDropout(0.1, name="adrop"),
            layers.Reshape((2, 4), name="reshape"),
            layers.Flatten(name="flatten"),
            layers.UnitNormalization(name="unitnorm"),
            layers.ActivityRegularization(l1=1e-4, l2=1e-4, name="actreg"),
            layers.Identity(name="identity"),
            layers.Dense(
                6,
                kernel_initializer=init.Orthogonal(seed=6),
                bias_initializer=init.RandomNormal(stddev=0.01, seed=7),
                name="d4",
            ),
            layers.Activation("swish", name="act"),
            layers.Dense(
                3,
                kernel_initializer=init.VarianceScaling(2.0, "fan_out", "uniform", seed=8),
                name="d5",
            ),
            layers.Softmax(name="softmax"),
        ],
        name="zoo",
    )


def zoo_metrics():
    """Every metric class that reads one-hot targets, and two strings."""
    return [
        metrics.AUC(name="auc"),
        metrics.Accuracy(),
        metrics.BinaryAccuracy(threshold=0.4),
        metrics.BinaryCrossentropy(label_smoothing=0.1),
        metrics.CategoricalAccuracy(),
        metrics.CategoricalCrossentropy(),
        metrics.CategoricalHinge(),
        metrics.CosineSimilarity(),
        metrics.F1Score(average="macro", threshold=0.5),
        metrics.FBetaScore(average="weighted", beta=2.0),
        metrics.FalseNegatives(thresholds=[0.3, 0.6]),
        metrics.FalsePositives(),
        metrics.Hinge(),
        metrics.KLDivergence(),
        metrics.LogCoshError(),
        metrics.MeanAbsoluteError(),
        metrics.MeanAbsolutePercentageError(),
        metrics.MeanSquaredError(),
        metrics.MeanSquaredLogarithmicError(),
        metrics.Poisson(),
        metrics.Precision(thresholds=0.4),
        metrics.PrecisionAtRecall(0.5),
        metrics.R2Score(),
        metrics.Recall(),
        metrics.RecallAtPrecision(0.5),
        metrics.RootMeanSquaredError(),
        metrics.SensitivityAtSpecificity(0.5),
        metrics.SpecificityAtSensitivity(0.5),
        metrics.SquaredHinge(),
        metrics.TopKCategoricalAccuracy(k=2),
        metrics.TrueNegatives(),
        metrics.TruePositives(),
        metrics.MeanMetricWrapper(losses.mean_squared_error, name="wrapped_mse"),
        "accuracy",
        "mae",
    ]


# Every activation fastnn names, as a chain: tanh first keeps exponential's input small.
ACTIVATIONS = ["tanh"] + [
    name for name in activations.__all__ if name not in ("get", "serialize", "deserialize", "tanh")
]


def activations_model(seed=7):
    """Every activation by name, as a chain of Activation layers (uncompiled)."""
    fastnn.utils.set_random_seed(seed)
    parts = [layers.Input(shape=(4,)), layers.Dense(5, name="first")]
    parts += [layers.Activation(name, name=f"a_{name}") for name in ACTIVATIONS]
    parts.append(layers.Dense(3, activation="softmax", name="last"))
    return models.Sequential(parts, name="activations")


def optimizer_variants():
    """Every optimizer, every schedule, use_ema (with and without
    overwriting), clipping and weight decay."""
    return {
        "adadelta": optimizers.Adadelta(schedules.CosineDecay(0.5, 20), rho=0.9),
        "adagrad": optimizers.Adagrad(
            schedules.ExponentialDecay(0.1, 5, 0.5, staircase=True), initial_accumulator_value=0.2
        ),
        "adam": optimizers.Adam(0.01, amsgrad=True, use_ema=True, ema_momentum=0.9),
        "adamw": optimizers.AdamW(schedules.InverseTimeDecay(0.01, 5, 0.5), weight_decay=0.01),
        "adamax": optimizers.Adamax(
            schedules.PiecewiseConstantDecay([2, 4], [0.02, 0.01, 0.005]), clipvalue=0.5
        ),
        "ftrl": optimizers.Ftrl(
            0.1,
            l1_regularization_strength=0.01,
            l2_regularization_strength=0.01,
            l2_shrinkage_regularization_strength=0.01,
            beta=0.1,
        ),
        "lamb": optimizers.Lamb(
            schedules.ExponentialDecay(0.02, 4, 0.7), weight_decay=0.01, clipnorm=1.0
        ),
        "lion": optimizers.Lion(
            schedules.PolynomialDecay(0.001, 10, 1e-4, power=2.0),
            use_ema=True,
            ema_overwrite_frequency=2,
        ),
        "nadam": optimizers.Nadam(0.01, clipnorm=1.0),
        "rmsprop": optimizers.RMSprop(
            schedules.CosineDecayRestarts(0.01, 3), momentum=0.9, centered=True, use_ema=True
        ),
        "sgd": optimizers.SGD(
            0.05,
            momentum=0.9,
            nesterov=True,
            global_clipnorm=1.0,
            use_ema=True,
            ema_overwrite_frequency=3,
        ),
    }


def small_model(seed=8, activation="softmax"):
    fastnn.utils.set_random_seed(seed)
    return models.Sequential(
        [
            layers.Input(shape=(4,)),
            layers.Dense(5, activation="tanh", name="h"),
            layers.Dense(3, activation=activation, name="out"),
        ],
        name="small",
    )


def loss_variants():
    """name -> (loss, the targets it reads): every loss class, a function and
    a string, a reduction."""
    multi = "multihot"
    return {
        "bce": (losses.BinaryCrossentropy(label_smoothing=0.1), multi),
        "bfce": (
            losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=1.5),
            multi,
        ),
        "cce": (losses.CategoricalCrossentropy(label_smoothing=0.05), "onehot"),
        "cfce": (losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.3, 0.5], gamma=1.0), "onehot"),
        "categorical_hinge": (losses.CategoricalHinge(), "onehot"),
        "cosine": (losses.CosineSimilarity(axis=-1), multi),
        "hinge": (losses.Hinge(), multi),
        "huber": (losses.Huber(delta=0.5), multi),
        "kld": (losses.KLDivergence(), "onehot"),
        "logcosh": (losses.LogCosh(), multi),
        "mae": (losses.MeanAbsoluteError(), multi),
        "mape": (losses.MeanAbsolutePercentageError(), multi),
        "mse_sum": (losses.MeanSquaredError(reduction="sum"), multi),
        "msle": (losses.MeanSquaredLogarithmicError(), multi),
        "poisson": (losses.Poisson(), multi),
        "scce": (losses.SparseCategoricalCrossentropy(), "sparse"),
        "squared_hinge": (losses.SquaredHinge(), multi),
        "function_huber": (losses.huber, multi),
        "string_kld": ("kl_divergence", "onehot"),
    }


class Saved:
    """A fastnn archive for Keras to load: its model, the targets to evaluate
    on and, for the archives both sides train on from, what the model that
    wrote it did next (three batches: losses, weights)."""

    def __init__(self, model, targets=None, continued=None):
        self.model = model
        self.targets = targets
        self.continued = continued


def fastnn_archives(d, x, ys):
    """Writes fastnn's archives into `d`: name -> Saved."""
    out = {}

    def save(name, make, targets=None, resume=False):
        """`make()` builds and trains the model; with `resume`, a second
        model made the same way trains on after the save."""
        model = make()
        model.save(d / f"{name}.keras")
        continued = None
        if resume:
            twin = make()
            y = ys[targets]
            lost = [
                twin.train_on_batch(bx, by, return_dict=True)["loss"] for bx, by in batches(x, y)
            ]
            continued = (lost, twin.get_weights())
        out[name] = Saved(model, targets, continued)

    def trained(model, targets="sparse", epochs=1):
        model.fit(x, ys[targets], epochs=epochs, batch_size=16, verbose=0)
        return model

    save("seq", lambda: trained(seq_model(), epochs=2), "sparse")
    save("func", lambda: trained(func_model()), "sparse")
    save("resume_seq", lambda: trained(seq_model(dropout=False), epochs=2), "sparse", True)
    save("resume_func", lambda: trained(resume_func_model(), epochs=2), "sparse", True)

    def zoo():
        model = zoo_model(x)
        schedule = schedules.CosineDecay(0.01, 100, warmup_target=0.02, warmup_steps=5)
        model.compile(
            optimizers.Adam(schedule, use_ema=True),
            losses.CategoricalCrossentropy(label_smoothing=0.1),
            metrics=zoo_metrics(),
        )
        return trained(model, "onehot")

    save("zoo", zoo, "onehot")
    save("activations", activations_model)
    for name in optimizer_variants():

        def make(name=name):
            model = small_model()
            model.compile(optimizer_variants()[name], "sparse_categorical_crossentropy")
            return trained(model)

        save(f"opt_{name}", make, "sparse", True)
    for name, (loss, targets) in loss_variants().items():
        model = small_model(activation="softmax" if targets == "sparse" else "sigmoid")
        model.compile(optimizers.SGD(0.01), loss)  # compiled, never trained
        save(f"loss_{name}", lambda model=model: model, targets)
    # ModelCheckpoint's archives are model.save's.
    model = seq_model(seed=9)
    checkpoint = callbacks.ModelCheckpoint(str(d / "ckpt.keras"), monitor="loss")
    model.fit(x, ys["sparse"], epochs=2, batch_size=16, verbose=0, callbacks=[checkpoint])
    out["ckpt"] = Saved(model, "sparse")
    return out


def disagreeing_copy(source, target, delta=1.0):
    """`source` with `delta` added to the first kernel in model.weights.h5
    only (the npz keeps fastnn's weights)."""
    import h5py

    buffer = io.BytesIO(archive_member(source, "model.weights.h5"))
    with h5py.File(buffer, "r+") as f:
        f["layers/dense/vars/0"][...] += delta
    with zipfile.ZipFile(source) as zi, zipfile.ZipFile(target, "w") as zo:
        for name in zi.namelist():
            data = buffer.getvalue() if name == "model.weights.h5" else zi.read(name)
            zo.writestr(name, data)


# -- Keras 3 (torch backend, in a subprocess) ---------------------------------------------

KERAS_SCRIPT = textwrap.dedent(
    """
    import glob, json, os, sys, warnings
    os.environ["KERAS_BACKEND"] = "torch"
    warnings.simplefilter("ignore", DeprecationWarning)
    import numpy as np
    import keras

    d = sys.argv[1]
    x = np.load(os.path.join(d, "x.npy"))
    ys = dict(np.load(os.path.join(d, "targets.npz")))
    with open(os.path.join(d, "spec.json")) as f:
        spec = json.load(f)
    L = keras.layers
    out, meta = {}, {}

    # Keras's own archives of the same two models (names as fastnn's).
    keras.utils.set_random_seed(3)
    k = keras.Sequential([keras.Input((4,)), L.Dense(6, activation="relu", name="hidden"),
                          L.Dropout(0.25, name="drop"), L.BatchNormalization(name="norm"),
                          L.Dense(3, activation="softmax", name="probs")], name="mlp")
    k.compile(keras.optimizers.Adam(0.01, name="adam"), "sparse_categorical_crossentropy",
              metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2)],
              # (not fastnn's SparseCategoricalCrossentropy metric: Keras's config
              # of it has `ignore_class`, which fastnn's metric does not take)
              weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="wacc")])
    k.fit(x, ys["sparse"], epochs=2, batch_size=16, verbose=0)
    k.save(os.path.join(d, "keras", "seq.keras"))
    out["keras_predict:seq"] = k.predict(x, verbose=0)
    inputs = keras.Input((4,), name="features")
    h = L.GaussianNoise(0.1, name="noise")(L.Dense(6, activation="tanh", name="h")(inputs))
    k = keras.Model(inputs, L.Dense(3, name="logits")(h), name="chain")
    k.compile(keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9),
                                   momentum=0.9, name="sgd"),
              keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=[keras.metrics.SparseCategoricalAccuracy(), "acc"])
    k.fit(x, ys["sparse"], epochs=1, batch_size=16, verbose=0)
    k.save(os.path.join(d, "keras", "func.keras"))
    out["keras_predict:func"] = k.predict(x, verbose=0)
    k.save(os.path.join(d, "keras", "func_no_optimizer.keras"), include_optimizer=False)

    for name, entry in sorted(spec.items()):
        rec = meta[name] = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                m = keras.models.load_model(os.path.join(d, "fastnn", name + ".keras"))
            except Exception as e:
                rec["error"] = f"{type(e).__name__}: {e}"[:600]
                continue
        rec["warnings"] = [str(w.message)[:300] for w in caught
                           if not issubclass(w.category, DeprecationWarning)]
        rec["class"] = type(m).__name__
        rec["layers"] = [layer.name for layer in m.layers]
        rec["compiled"] = bool(m.compiled)
        rec["seeds"] = {layer.name: layer.seed for layer in m.layers if hasattr(layer, "seed")}
        m.save(os.path.join(d, "resaved", name + ".keras"))
        out["predict:" + name] = m.predict(x, verbose=0)
        if not m.compiled:
            continue
        rec["optimizer"] = type(m.optimizer).__name__
        rec["optimizer_config"] = m.optimizer.get_config()
        for i, v in enumerate(m.optimizer.variables):
            out[f"optimizer:{name}:{i}"] = keras.ops.convert_to_numpy(v)
        if entry["targets"]:
            result = m.evaluate(x, ys[entry["targets"]], verbose=0, return_dict=True)
            rec["evaluate"] = {k: np.asarray(v).tolist() for k, v in result.items()}
        if entry["resume"]:
            y = ys[entry["targets"]]
            losses = [float(m.train_on_batch(x[i * 16 : (i + 1) * 16], y[i * 16 : (i + 1) * 16],
                                             return_dict=True)["loss"]) for i in range(3)]
            out["resume_losses:" + name] = np.array(losses)
            for i, w in enumerate(m.get_weights()):
                out[f"resume_weights:{name}:{i}"] = w
            for i, v in enumerate(m.optimizer.variables):
                out[f"resume_optimizer:{name}:{i}"] = keras.ops.convert_to_numpy(v)
        meta[name] = json.loads(json.dumps(rec, default=float))
    """
)


class KerasRun:
    def __init__(self, d, arrays, results, saved, x, ys):
        self.d = d
        self.arrays = arrays
        self.results = results
        self.saved = saved
        self.x = x
        self.ys = ys

    def path(self, name):
        return self.d / "fastnn" / f"{name}.keras"

    def listed(self, prefix):
        out = []
        while f"{prefix}{len(out)}" in self.arrays:
            out.append(self.arrays[f"{prefix}{len(out)}"])
        return out


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    """fastnn's archives (and one whose npz and h5 disagree), then Keras
    writes its own archives and loads, re-saves, predicts, evaluates and
    trains on each of fastnn's, once."""
    pytest.importorskip("h5py")
    d = tmp_path_factory.mktemp("keras_archives")
    for sub in ("fastnn", "keras", "resaved"):
        (d / sub).mkdir()
    x, ys = make_data()
    saved = fastnn_archives(d / "fastnn", x, ys)
    disagreeing_copy(d / "fastnn" / "resume_seq.keras", d / "fastnn" / "disagree.keras")
    saved["disagree"] = Saved(saved["resume_seq"].model, "sparse")
    spec = {
        name: {"targets": s.targets, "resume": s.continued is not None} for name, s in saved.items()
    }
    (d / "spec.json").write_text(json.dumps(spec))
    np.savez(d / "targets.npz", **ys)
    arrays, results = run_keras(KERAS_SCRIPT, d, x, ys["sparse"])
    return KerasRun(d, arrays, results, saved, x, ys)


def loaded(keras_run, name):
    result = keras_run.results[name]
    assert "error" not in result, result
    return result


def assert_same_evaluation(model, theirs, x, y):
    mine = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(mine) == sorted(theirs)
    for key, value in theirs.items():
        np.testing.assert_allclose(mine[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


def fastnn_class(keras_class):
    return {"Sequential": models.Sequential, "Functional": models.Model}[keras_class]


# -- the archive ------------------------------------------------------------------------


def test_archive_holds_npz_and_keras_h5(tmp_path):
    pytest.importorskip("h5py")
    x, ys = make_data()
    model = seq_model()
    model.fit(x, ys["sparse"], epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    assert archive_members(path) == [
        "metadata.json",
        "config.json",
        "model.weights.h5",
        "model.weights.npz",
    ]
    with np.load(io.BytesIO(archive_member(path, "model.weights.npz"))) as npz:
        npz = dict(npz)
    _, h5 = h5_member(path)
    # The same arrays under the same keys; fastnn's step counter only in the npz.
    assert sorted(h5) == sorted(k for k in npz if not k.startswith("fastnn/"))
    assert "fastnn/network_iterations" in npz
    for key, value in h5.items():
        np.testing.assert_array_equal(value, npz[key], err_msg=key)
    assert h5["optimizer/vars/0"].dtype == np.int32  # Keras's iterations


@pytest.mark.parametrize("name", ["seq", "func"])
def test_h5_member_is_keras_s_layout(keras_run, name, tmp_path):
    """Every group, dataset (dtype, shape) and attribute (the ``name`` of
    each ``vars`` group) of Keras's own archive of the same model, trained
    with the same optimizer; the zip members Keras writes, stored
    uncompressed as Keras's, plus fastnn's npz."""
    mine, _ = h5_member(keras_run.path(name))
    theirs, _ = h5_member(keras_run.d / "keras" / f"{name}.keras")
    assert mine == theirs
    assert ("layers/input_layer/vars" in mine) == (name == "func")
    # save_weights writes the same groups (and fastnn's step counter).
    keras_run.saved[name].model.save_weights(tmp_path / "m.weights.h5")
    weights_file = h5_listing(tmp_path / "m.weights.h5", attrs=dict, root=True)
    assert {k: v for k, v in weights_file.items() if not k.startswith("fastnn")} == theirs
    members = archive_members(keras_run.d / "keras" / f"{name}.keras")
    assert [m for m in archive_members(keras_run.path(name)) if m in members] == members
    with zipfile.ZipFile(keras_run.path(name)) as zf:
        assert {info.compress_type for info in zf.infolist()} == {zipfile.ZIP_STORED}


def test_include_optimizer_false_keeps_the_optimizer_as_keras_does(keras_run, tmp_path):
    """Keras 3 reads `include_optimizer` for `.h5` files only: its `.keras`
    archive holds the optimizer state anyway, and so does fastnn's."""
    theirs, _ = h5_member(keras_run.d / "keras" / "func_no_optimizer.keras")
    model = keras_run.saved["func"].model
    model.save(tmp_path / "m.keras", include_optimizer=False)
    mine, _ = h5_member(tmp_path / "m.keras")
    assert mine == theirs and "optimizer/vars/1" in mine


ARCHIVES = (
    ["seq", "func", "resume_seq", "resume_func", "zoo", "activations", "ckpt", "disagree"]
    + [f"opt_{name}" for name in optimizer_variants()]
    + [f"loss_{name}" for name in loss_variants()]
)


@pytest.mark.parametrize("name", ARCHIVES)
def test_h5_member_equals_what_keras_writes_on_saving_it_again(keras_run, name):
    """Keras loads the archive and saves it again: its model.weights.h5 has
    the same groups, datasets, attributes and values (weights and optimizer
    state, bit for bit)."""
    loaded(keras_run, name)
    mine, mine_arrays = h5_member(keras_run.path(name))
    theirs, their_arrays = h5_member(keras_run.d / "resaved" / f"{name}.keras")
    assert mine == theirs
    assert sorted(mine_arrays) == sorted(their_arrays)
    for key, value in their_arrays.items():
        assert mine_arrays[key].dtype == value.dtype, key
        np.testing.assert_array_equal(mine_arrays[key], value, err_msg=key)


def test_config_keeps_drawn_seeds_apart(keras_run):
    """Dropout and the noise layers drew 64-bit seeds: config.json says
    ``seed: null`` (Keras's reading), metadata.json keeps the seeds; a seed
    the user gave stays in the config."""
    path = keras_run.path("zoo")
    config = json.loads(archive_member(path, "config.json"))
    metadata = json.loads(archive_member(path, "metadata.json"))
    model = keras_run.saved["zoo"].model
    random = ["drop", "noise", "gdrop", "adrop"]
    entries = {e["config"]["name"]: e["config"] for e in config["config"]["layers"]}
    assert all(entries[name]["seed"] is None for name in random)
    assert metadata["fastnn_seeds"] == {name: model.get_layer(name)._built_seed for name in random}
    assert any(seed >= 2**32 for seed in metadata["fastnn_seeds"].values())
    assert all(loaded(keras_run, "zoo")["seeds"][name] is None for name in random)
    given = models.Sequential([layers.Input(shape=(3,)), layers.Dropout(0.5, seed=7, name="d")])
    given.save(keras_run.d / "given.keras")
    config = json.loads(archive_member(keras_run.d / "given.keras", "config.json"))
    assert config["config"]["layers"][1]["config"]["seed"] == 7
    assert "fastnn_seeds" not in json.loads(
        archive_member(keras_run.d / "given.keras", "metadata.json")
    )


def test_loaded_models_keep_their_seeds_apart_when_saved_again(keras_run, tmp_path):
    """A model loaded from an archive (or a legacy .h5 file) runs on its
    restored seeds as drawn ones: saving it again writes ``seed: null`` and
    the same seeds to metadata.json."""
    seeds = keras_run.saved["zoo"].model._drawn_seeds()
    model = models.load_model(keras_run.path("zoo"))
    assert model._drawn_seeds() == seeds
    with pytest.warns(UserWarning, match="legacy"):
        model.save(tmp_path / "zoo.h5")
    for source in (model, models.load_model(tmp_path / "zoo.h5")):
        assert source._drawn_seeds() == seeds
        source.save(tmp_path / "again.keras")
        config = json.loads(archive_member(tmp_path / "again.keras", "config.json"))
        metadata = json.loads(archive_member(tmp_path / "again.keras", "metadata.json"))
        assert all(entry["config"].get("seed") is None for entry in config["config"]["layers"])
        assert metadata["fastnn_seeds"] == seeds


# -- Keras loads fastnn's archives -------------------------------------------------------


@pytest.mark.parametrize("name", ["seq", "func", "resume_seq", "resume_func", "zoo", "ckpt"])
def test_keras_predicts_and_evaluates_as_fastnn(keras_run, name):
    result = loaded(keras_run, name)
    assert result["warnings"] == []
    model = keras_run.saved[name].model
    assert fastnn_class(result["class"]) is type(model)
    assert result["layers"] == [layer.name for layer in model.layers]
    x = keras_run.x
    np.testing.assert_allclose(
        keras_run.arrays["predict:" + name], model.predict(x, verbose=0), rtol=1e-6, atol=1e-7
    )
    assert_same_evaluation(
        model, result["evaluate"], x, keras_run.ys[keras_run.saved[name].targets]
    )


def test_keras_loads_an_uncompiled_archive_with_every_activation(keras_run):
    result = loaded(keras_run, "activations")
    assert not result["compiled"] and result["warnings"] == []
    assert result["layers"] == ["first", *(f"a_{a}" for a in ACTIVATIONS), "last"]
    model = keras_run.saved["activations"].model
    np.testing.assert_allclose(
        keras_run.arrays["predict:activations"],
        model.predict(keras_run.x, verbose=0),
        rtol=1e-5,
        atol=1e-7,
    )


@pytest.mark.parametrize("name", ["seq", "func", "resume_seq", "resume_func", "zoo"])
def test_keras_optimizer_state_is_fastnn_s(keras_run, name):
    """Keras's optimizer.variables after loading: iterations, learning rate
    (unless a schedule), EMA averages, Adam's or RMSprop's slots ... equal
    fastnn's; its config is fastnn's."""
    result = loaded(keras_run, name)
    model = keras_run.saved[name].model
    theirs = keras_run.listed(f"optimizer:{name}:")
    mine = [np.asarray(v) for v in model.optimizer.variables]
    assert len(theirs) == len(mine) > 2
    assert int(theirs[0]) == model.optimizer.iterations > 0
    for a, b in zip(mine[1:], theirs[1:]):
        np.testing.assert_array_equal(a, b)
    assert result["optimizer"] == type(model.optimizer).__name__
    config = model.optimizer.get_config()
    for key, value in result["optimizer_config"].items():
        if isinstance(value, float):
            assert np.float32(config[key]) == np.float32(value), key
        elif not isinstance(value, dict):
            assert config.get(key) == value, key


@pytest.mark.parametrize("name", sorted(optimizer_variants()))
def test_every_optimizer_and_schedule_loads_in_keras_and_trains_on(keras_run, name):
    """Keras holds fastnn's whole optimizer state (EMA averages, slots,
    Nadam's u_product ...) and its config (schedules too); three more
    steps in Keras and in fastnn (from the archive, and the model that
    wrote it) give the same losses and weights."""
    key = f"opt_{name}"
    result = loaded(keras_run, key)
    assert result["warnings"] == []
    model = keras_run.saved[key].model
    theirs = keras_run.listed(f"optimizer:{key}:")
    mine = [np.asarray(v) for v in model.optimizer.variables]
    assert len(theirs) == len(mine)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=0)
    config = model.optimizer.get_config()
    theirs_config = result["optimizer_config"]
    assert result["optimizer"] == type(model.optimizer).__name__
    assert sorted(k for k in theirs_config if k in config) == sorted(
        k for k in config if k in theirs_config
    )
    if isinstance(config["learning_rate"], dict):
        assert config["learning_rate"]["class_name"] == theirs_config["learning_rate"]["class_name"]
        assert config["learning_rate"]["config"] == pytest.approx(
            theirs_config["learning_rate"]["config"]
        )
    assert_trains_on_as_keras(keras_run, key)


@pytest.mark.parametrize("name", ["resume_seq", "resume_func"])
def test_keras_trains_on_from_fastnn_s_archive_as_fastnn(keras_run, name):
    assert_trains_on_as_keras(keras_run, name)


def assert_trains_on_as_keras(keras_run, name):
    """fastnn's load of the archive trains three batches exactly as the model
    that wrote it would have, and as closely as float32 allows as Keras's
    load of it does."""
    saved = keras_run.saved[name]
    x, y = keras_run.x, keras_run.ys[saved.targets]
    model = models.load_model(keras_run.path(name))
    mine = [model.train_on_batch(bx, by, return_dict=True)["loss"] for bx, by in batches(x, y)]
    assert mine == saved.continued[0]
    for a, b in zip(model.get_weights(), saved.continued[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(mine, keras_run.arrays["resume_losses:" + name], rtol=1e-5)
    theirs = keras_run.listed(f"resume_weights:{name}:")
    assert len(theirs) == len(model.get_weights())
    for a, b in zip(model.get_weights(), theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    state = keras_run.listed(f"resume_optimizer:{name}:")
    assert int(state[0]) == model.optimizer.iterations
    for a, b in zip(model.optimizer.variables[1:], state[1:]):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", sorted(loss_variants()))
def test_every_loss_loads_in_keras_and_evaluates_as_fastnn(keras_run, name):
    key = f"loss_{name}"
    result = loaded(keras_run, key)
    assert result["warnings"] == []
    saved = keras_run.saved[key]
    np.testing.assert_allclose(
        keras_run.arrays["predict:" + key],
        saved.model.predict(keras_run.x, verbose=0),
        rtol=1e-6,
        atol=1e-7,
    )
    assert_same_evaluation(
        saved.model, result["evaluate"], keras_run.x, keras_run.ys[saved.targets]
    )


# -- fastnn reads its npz ------------------------------------------------------------------


def test_fastnn_reads_the_npz_when_npz_and_h5_disagree(keras_run):
    """Edited by hand, the h5 says one kernel, the npz another: fastnn loads
    the npz (its weights are the saving model's), Keras the h5."""
    x = keras_run.x
    original = keras_run.saved["resume_seq"].model
    model = models.load_model(keras_run.path("disagree"))
    for a, b in zip(
        model.get_weights(), models.load_model(keras_run.path("resume_seq")).get_weights()
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        model.predict(x, verbose=0),
        models.load_model(keras_run.path("resume_seq")).predict(x, verbose=0),
    )
    weights = model.get_weights()
    weights[0] = weights[0] + np.float32(1.0)
    model.set_weights(weights)  # what the h5 holds
    theirs = keras_run.arrays["predict:disagree"]
    np.testing.assert_allclose(theirs, model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    assert not np.allclose(theirs, original.predict(x, verbose=0), rtol=1e-3)


@pytest.mark.parametrize("name", ["zoo", "seq", "func", "opt_adam", "opt_lion", "ckpt"])
def test_fastnn_loads_its_archives_bit_exactly_and_resumes_exactly(keras_run, name):
    """Weights, optimizer state and the drawn seeds (Dropout masks and noise
    draw on as they would have): two loads train on identically, and the
    loaded zoo's masks and noise are its own (its seeds are the saved ones)."""
    saved = keras_run.saved[name].model
    model = models.load_model(keras_run.path(name))
    for a, b in zip(model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.optimizer.variables, saved.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert model._drawn_seeds() == saved._drawn_seeds()
    x, y = keras_run.x, keras_run.ys[keras_run.saved[name].targets]
    again = models.load_model(keras_run.path(name))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    again.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_resume_with_drawn_seeds_is_bit_exact(tmp_path):
    """A model with Dropout and the three noise layers (drawn seeds) saved
    mid-training: the loaded copy and the original take the same next steps."""
    x, ys = make_data()
    fastnn.utils.set_random_seed(11)
    model = models.Sequential(
        [
            layers.Input(shape=(4,)),
            layers.Dense(6, activation="relu"),
            layers.Dropout(0.3),
            layers.GaussianNoise(0.2),
            layers.GaussianDropout(0.2),
            layers.AlphaDropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, ys["sparse"], epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.keras")
    fastnn.utils.set_random_seed(99)  # the loaded layers must not draw anew
    loaded_model = models.load_model(tmp_path / "m.keras")
    assert loaded_model._drawn_seeds() == model._drawn_seeds() != {}
    for m in (model, loaded_model):
        m.fit(x, ys["sparse"], epochs=2, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_seeds_in_metadata_are_a_clear_error(tmp_path):
    x, ys = make_data()
    model = seq_model()
    model.fit(x, ys["sparse"], epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.keras")
    for bad in ({"drop": "7"}, {"drop": -1}, {"drop": 2**64}, {"drop": True}, [1]):
        target = tmp_path / "bad.keras"
        with zipfile.ZipFile(tmp_path / "m.keras") as zi, zipfile.ZipFile(target, "w") as zo:
            for name in zi.namelist():
                data = zi.read(name)
                if name == "metadata.json":
                    data = json.dumps({**json.loads(data), "fastnn_seeds": bad})
                zo.writestr(name, data)
        with pytest.raises(ValueError, match=r"fastnn_seeds must map layer names to seeds"):
            models.load_model(target)


@pytest.mark.parametrize("name", ["seq", "func"])
def test_keras_written_archives_still_load_in_fastnn(keras_run, name):
    """Keras's own archive (model.weights.h5 only) loads from its h5."""
    path = keras_run.d / "keras" / f"{name}.keras"
    assert "model.weights.npz" not in archive_members(path)
    model = models.load_model(path)
    np.testing.assert_allclose(
        model.predict(keras_run.x, verbose=0),
        keras_run.arrays[f"keras_predict:{name}"],
        rtol=1e-5,
        atol=1e-6,
    )
    assert model.optimizer.iterations > 0


def test_pickled_copies_skip_keras_s_h5(tmp_path):
    """copy/pickle go through an archive only fastnn reads: no h5 there, the
    same model (seeds included)."""
    import copy
    import pickle

    x, ys = make_data()
    model = seq_model()
    model.fit(x, ys["sparse"], epochs=1, batch_size=16, verbose=0)
    data = model.__reduce__()[1][0]
    assert "model.weights.h5" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert clone._drawn_seeds() == model._drawn_seeds()
        np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_without_h5py_archives_are_written_as_before(tmp_path, monkeypatch):
    x, ys = make_data()
    model = seq_model()
    model.fit(x, ys["sparse"], epochs=1, batch_size=16, verbose=0)
    monkeypatch.setitem(sys.modules, "h5py", None)  # `import h5py` now fails
    model.save(tmp_path / "m.keras")
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "c.keras"))
    model.fit(x, ys["sparse"], epochs=1, batch_size=16, verbose=0, callbacks=[checkpoint])
    for name in ("m.keras", "c.keras"):
        assert archive_members(tmp_path / name) == [
            "metadata.json",
            "config.json",
            "model.weights.npz",
        ]
    loaded_model = models.load_model(tmp_path / "c.keras")
    for a, b in zip(loaded_model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded_model._drawn_seeds() == model._drawn_seeds()
