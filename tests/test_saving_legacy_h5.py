"""Legacy HDF5 model files (`model.save("m.h5")`, `load_model("m.h5")`): the
layout Keras 3.15 writes and reads there, in both directions (Keras runs in a
subprocess on the files); tf.keras 2.x files, written here with h5py in their
layout (Keras 2 configs, ``kernel:0`` names, Keras 2 optimizer weights);
ModelCheckpoint and load_weights with `.h5` names; and clear errors that
write or change nothing."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import warnings

import numpy as np
import pytest
import saving_models
from h5_listing import h5_listing
from keras_subprocess import run_keras
from saving_models import mlp

import fastnn
from fastnn import callbacks, layers, losses, metrics, models, optimizers

h5py = pytest.importorskip("h5py")

SAVE_WARNING = r"You are saving your model as an HDF5 file.*considered legacy"
DECAY_WARNING = r"Argument `decay` is no longer supported and will be ignored"
STATE_WARNING = r"Error in loading the saved optimizer state"
NO_TRAINING_WARNING = r"No training configuration found in the save file"


def make_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 2.0
    y = rng.integers(0, 3, n)
    x = (centers[y] + rng.standard_normal((n, 4))).astype(np.float32)
    return x, y


def save_h5(model, path, **kwargs):
    """`model.save` of a legacy name: Keras's warning comes with it."""
    with pytest.warns(UserWarning, match=SAVE_WARNING):
        model.save(path, **kwargs)


def quiet_load(path, **kwargs):
    """load_model, keeping the warnings a legacy file may give (returned)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = models.load_model(path, **kwargs)
    return model, [str(w.message) for w in caught]


def same_weights(a, b):
    return len(a) == len(b) and all(
        u.shape == v.shape and np.array_equal(u, v) for u, v in zip(a, b)
    )


def optimizer_state(model):
    return [np.array(v) for v in model.optimizer.variables] if model.compiled else []


# -- tf.keras 2.x files, written in their layout ------------------------------------------


def k2_dense(name, units, activation, input_dim=None, initializer="GlorotUniform"):
    """A Dense layer's config as tf.keras 2.x serialized it."""
    config = {"name": name, "trainable": True, "dtype": "float32"}
    if input_dim is not None:
        config["batch_input_shape"] = [None, input_dim]
    init = {"class_name": "GlorotUniform", "config": {"seed": None}}
    if initializer == "VarianceScaling":  # Keras 2.2's glorot_uniform
        init = {
            "class_name": "VarianceScaling",
            "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None},
        }
    config.update(
        {
            "units": units,
            "activation": activation,
            "use_bias": True,
            "kernel_initializer": init,
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None,
            "bias_regularizer": None,
            "activity_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
        }
    )
    return {"class_name": "Dense", "config": config}


K2_INPUT = {
    "class_name": "InputLayer",
    "config": {
        "batch_input_shape": [None, 4],
        "dtype": "float32",
        "sparse": False,
        "ragged": False,
        "name": "dense_input",
    },
}
K2_DROPOUT = {
    "class_name": "Dropout",
    "config": {
        "name": "dropout",
        "trainable": True,
        "dtype": "float32",
        "rate": 0.2,
        "noise_shape": None,
        "seed": None,
    },
}


def k2_adam(**kwargs):
    return {
        "class_name": "Adam",
        "config": {
            "name": "Adam",
            **kwargs,
            "beta_1": 0.9,
            "beta_2": 0.999,
            "epsilon": 1e-07,
            "amsgrad": False,
        },
    }


def k2_training(optimizer, loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
    return {
        "loss": loss,
        "metrics": list(metrics),
        "weighted_metrics": None,
        "loss_weights": None,
        "optimizer_config": optimizer,
    }


def write_k2(path, model_config, layer_weights, training=None, optimizer=None, root=False):
    """A file as tf.keras 2.x (h5py 2) wrote it: fixed-length byte strings,
    `model_weights/<layer>/<layer>/kernel:0` datasets. With `root`, Keras 2's
    save_weights layout (``layer_names`` at the root, no config)."""
    version = np.bytes_(b"2.12.0")
    with h5py.File(path, "w") as f:
        group = f
        if not root:
            f.attrs["keras_version"] = version
            f.attrs["backend"] = np.bytes_(b"tensorflow")
            f.attrs["model_config"] = np.bytes_(json.dumps(model_config).encode())
            if training is not None:
                f.attrs["training_config"] = np.bytes_(json.dumps(training).encode())
            group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([name.encode() for name, _ in layer_weights])
        group.attrs["backend"] = np.bytes_(b"tensorflow")
        group.attrs["keras_version"] = version
        for name, weights in layer_weights:
            layer_group = group.create_group(name)
            names = [w.encode() for w, _ in weights]
            layer_group.attrs["weight_names"] = np.array(names) if names else np.array([])
            for w, array in weights:
                layer_group.create_dataset(w, data=array)
        if optimizer:
            og = f.create_group("optimizer_weights")
            og.attrs["weight_names"] = np.array([w.encode() for w, _ in optimizer])
            for w, array in optimizer:
                og.create_dataset(w, data=array)


def k2_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal((4, 5)).astype(np.float32),
        rng.standard_normal(5).astype(np.float32),
        rng.standard_normal((5, 3)).astype(np.float32),
        rng.standard_normal(3).astype(np.float32),
    ]


def k2_reference(x, arrays):
    """NumPy: softmax(relu(x k1 + b1) k2 + b2), in float64."""
    k1, b1, k2, b2 = (a.astype(np.float64) for a in arrays)
    z = np.maximum(x.astype(np.float64) @ k1 + b1, 0) @ k2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def k2_optimizer_v2(arrays, names, prefix="Adam"):
    """TF 2.0-2.10's Adam weights: iter, then every m, then every v."""
    rng = np.random.default_rng(7)
    out = [(f"{prefix}/iter:0", np.array(7, np.int64))]
    for slot in ("m", "v"):
        out += [
            (f"{prefix}/{n}/{slot}:0", (rng.random(a.shape) * 0.01).astype(np.float32))
            for n, a in zip(names, arrays)
        ]
    return out


def k2_optimizer_new(arrays, names):
    """TF 2.11+'s Adam weights: iteration, then m and v of each variable."""
    rng = np.random.default_rng(8)
    out = [("iteration:0", np.array(7, np.int64))]
    for n, a in zip(names, arrays):
        out.append((f"m/{n}:0", (rng.random(a.shape) * 0.01).astype(np.float32)))
        out.append((f"v/{n}:0", (rng.random(a.shape) * 0.001).astype(np.float32)))
    return out


WEIGHT_NAMES = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]


def k2_layer_weights(arrays, functional=False):
    k1, b1, k2, b2 = arrays
    out = [
        ("dense", [("dense/kernel:0", k1), ("dense/bias:0", b1)]),
        ("dropout", []),
        ("dense_1", [("dense_1/kernel:0", k2), ("dense_1/bias:0", b2)]),
    ]
    return ([("input_1", [])] if functional else []) + out


def k2_functional_config(class_name):
    def node(previous):
        return [[[previous, 0, 0, {}]]]

    entries = [
        {
            "class_name": "InputLayer",
            "config": {**K2_INPUT["config"], "name": "input_1"},
            "name": "input_1",
            "inbound_nodes": [],
        },
        {**k2_dense("dense", 5, "relu"), "name": "dense", "inbound_nodes": node("input_1")},
        {**K2_DROPOUT, "name": "dropout", "inbound_nodes": node("dense")},
        {**k2_dense("dense_1", 3, "softmax"), "name": "dense_1", "inbound_nodes": node("dropout")},
    ]
    return {
        "class_name": class_name,
        "config": {
            "name": "model",
            "layers": entries,
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["dense_1", 0, 0]],
        },
    }


def k2_files(d):
    """name -> how tf.keras 2.x (or Keras 2.2) saved the same 4-5-3 network."""
    arrays = k2_arrays()
    seq = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                K2_INPUT,
                k2_dense("dense", 5, "relu", input_dim=4),
                K2_DROPOUT,
                k2_dense("dense_1", 3, "softmax"),
            ],
        },
    }
    keras22 = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential_1",
            "layers": [
                k2_dense("dense", 5, "relu", 4, "VarianceScaling"),
                K2_DROPOUT,
                k2_dense("dense_1", 3, "softmax", initializer="VarianceScaling"),
            ],
        },
    }
    v2 = k2_optimizer_v2(arrays, WEIGHT_NAMES)
    wrapper = [
        [
            {
                "class_name": "MeanMetricWrapper",
                "config": {
                    "name": "accuracy",
                    "dtype": "float32",
                    "fn": "sparse_categorical_accuracy",
                },
            }
        ]
    ]
    loss_object = {
        "class_name": "SparseCategoricalCrossentropy",
        "config": {
            "reduction": "auto",
            "name": "sparse_categorical_crossentropy",
            "from_logits": False,
            "ignore_class": None,
        },
    }
    tf211 = {
        "class_name": "Custom>Adam",
        "config": {
            "name": "Adam",
            "weight_decay": None,
            "clipnorm": None,
            "global_clipnorm": None,
            "clipvalue": None,
            "use_ema": False,
            "ema_momentum": 0.99,
            "ema_overwrite_frequency": None,
            "jit_compile": True,
            "is_legacy_optimizer": False,
            "learning_rate": 0.01,
            "beta_1": 0.9,
            "beta_2": 0.999,
            "epsilon": 1e-07,
            "amsgrad": False,
        },
    }
    plain = k2_training(k2_adam(learning_rate=0.01, decay=0.0))
    files = {
        "k2_plain": (seq, plain, v2),
        "k2_metric_wrapper": (seq, {**plain, "metrics": wrapper}, v2),
        "k2_keras22_lr": (
            keras22,
            {**k2_training(k2_adam(lr=0.01, decay=0.0)), "sample_weight_mode": None},
            v2,
        ),
        "k2_tf211": (seq, k2_training(tf211), k2_optimizer_new(arrays, WEIGHT_NAMES)),
        "k2_loss_object": (seq, k2_training(k2_adam(learning_rate=0.01), loss=loss_object), v2),
        "k2_list_config": (
            {"class_name": "Sequential", "config": keras22["config"]["layers"]},
            None,
            None,
        ),
        "k2_functional": (k2_functional_config("Functional"), plain, v2),
        "k2_model": (k2_functional_config("Model"), plain, v2),
    }
    for name, (config, training, optimizer) in files.items():
        functional = config["class_name"] != "Sequential"
        write_k2(
            d / f"{name}.h5", config, k2_layer_weights(arrays, functional), training, optimizer
        )
    return arrays, sorted(files)


def k2_batchnorm_file(path):
    """tf.keras 2.x after build: BatchNormalization's `axis` a list ([1]),
    LeakyReLU's `alpha`."""
    rng = np.random.default_rng(1)
    k1, b1 = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal(5)
    k2, b2 = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3)
    gamma, beta = rng.random(5) + 0.5, rng.standard_normal(5)
    mean, variance = rng.standard_normal(5), rng.random(5) + 0.5
    norm = {
        "class_name": "BatchNormalization",
        "config": {
            "name": "batch_normalization",
            "trainable": True,
            "dtype": "float32",
            "axis": [1],
            "momentum": 0.99,
            "epsilon": 0.001,
            "center": True,
            "scale": True,
            "beta_initializer": {"class_name": "Zeros", "config": {}},
            "gamma_initializer": {"class_name": "Ones", "config": {}},
            "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
            "moving_variance_initializer": {"class_name": "Ones", "config": {}},
            "beta_regularizer": None,
            "gamma_regularizer": None,
            "beta_constraint": None,
            "gamma_constraint": None,
        },
    }
    leaky = {
        "class_name": "LeakyReLU",
        "config": {"name": "leaky_re_lu", "trainable": True, "dtype": "float32", "alpha": 0.2},
    }
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                K2_INPUT,
                k2_dense("dense", 5, None, input_dim=4),
                norm,
                leaky,
                k2_dense("dense_1", 3, "softmax"),
            ],
        },
    }
    f32 = np.float32
    weights = [
        ("dense", [("dense/kernel:0", k1), ("dense/bias:0", b1.astype(f32))]),
        (
            "batch_normalization",
            [
                (f"batch_normalization/{n}:0", a.astype(f32))
                for n, a in zip(
                    ["gamma", "beta", "moving_mean", "moving_variance"],
                    [gamma, beta, mean, variance],
                )
            ],
        ),
        ("leaky_re_lu", []),
        ("dense_1", [("dense_1/kernel:0", k2), ("dense_1/bias:0", b2.astype(f32))]),
    ]
    write_k2(path, config, weights)


# -- fastnn's files -------------------------------------------------------------------


def trained_mlp(dropout=True, seed=3):
    model = mlp(dropout, seed)
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*make_data(), epochs=2, batch_size=16, verbose=0)
    return model


def chain(seed=4):
    """A functional chain compiled with a schedule, a loss object and metric objects."""
    model = saving_models.chain(seed)
    schedule = optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    model.compile(
        optimizers.SGD(schedule, momentum=0.9),
        losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[metrics.SparseCategoricalAccuracy(), "acc"],
    )
    return model


def many_layers(seed=5):
    """Most of fastnn's layers in one model (compiled, never trained)."""
    fastnn.utils.set_random_seed(seed)
    x, _ = make_data()
    norm = layers.Normalization(name="standardize")
    norm.adapt(x)
    model = models.Sequential(
        [
            layers.Input(shape=(4,)),
            layers.Rescaling(0.5, name="half"),
            norm,
            layers.Dense(7, name="d1"),
            layers.PReLU(name="prelu"),
            layers.LayerNormalization(name="ln"),
            layers.Dense(6, activation="elu", name="d2"),
            layers.ReLU(max_value=6.0, name="relu6"),
            layers.GaussianNoise(0.1, name="noise"),
            layers.Dense(5, name="d3"),
            layers.LeakyReLU(0.2, name="leaky"),
            layers.Activation("tanh", name="act"),
            layers.Dense(3, activation="softmax", name="out"),
        ],
        name="many",
    )
    model.compile(optimizers.RMSprop(0.005), "sparse_categorical_crossentropy")
    return model


def fastnn_files(d):
    """The files fastnn writes for Keras to read, and what fastnn predicts and
    evaluates on them: name -> (model, path)."""
    x, y = make_data()
    out = {}
    model = trained_mlp()
    save_h5(model, d / "fn_seq.h5")
    out["fn_seq.h5"] = model
    model = chain()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    save_h5(model, d / "fn_func.h5")
    out["fn_func.h5"] = model
    model = many_layers()
    save_h5(model, d / "fn_layers.h5")
    out["fn_layers.h5"] = model
    model = trained_mlp(seed=6)
    save_h5(model, d / "fn_noopt.h5", include_optimizer=False)
    out["fn_noopt.h5"] = model
    model = trained_mlp(seed=7)
    checkpoint = callbacks.ModelCheckpoint(
        str(d / "fn_best.h5"), monitor="loss", save_best_only=True
    )
    with pytest.warns(UserWarning, match=SAVE_WARNING):
        model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[checkpoint])
    out["fn_best.h5"] = None  # checked by loading it back
    return out


# -- Keras 3 (torch backend, in a subprocess) ---------------------------------------------

KERAS_SCRIPT = textwrap.dedent(
    """
    import glob, json, os, sys, warnings
    os.environ["KERAS_BACKEND"] = "torch"
    warnings.simplefilter("ignore")
    import numpy as np
    import keras

    d = sys.argv[1]
    x = np.load(os.path.join(d, "x.npy"))
    y = np.load(os.path.join(d, "y.npy"))
    kd = os.path.join(d, "keras")
    os.makedirs(kd)
    L = keras.layers
    keras.utils.set_random_seed(3)

    def mlp(dropout=True):
        parts = [keras.Input((4,)), L.Dense(6, activation="relu", name="hidden")]
        if dropout:
            parts.append(L.Dropout(0.25, name="drop"))
        parts += [L.BatchNormalization(name="norm"), L.Dense(3, activation="softmax", name="probs")]
        return keras.Sequential(parts, name="mlp")

    def compiled(model, optimizer):
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    k = compiled(mlp(), keras.optimizers.Adam(0.01))
    k.fit(x, y, epochs=2, batch_size=16, verbose=0)
    k.save(os.path.join(kd, "keras_seq.h5"))
    k.save(os.path.join(kd, "keras_seq.hdf5"))
    inputs = keras.Input((4,), name="features")
    h = L.Dense(6, activation="tanh", name="h")(inputs)
    f = keras.Model(inputs, L.Dense(3, name="logits")(h), name="chain")
    f.compile(
        keras.optimizers.SGD(
            keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9), momentum=0.9
        ),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(), "acc"],
    )
    f.fit(x, y, epochs=1, batch_size=16, verbose=0)
    f.save(os.path.join(kd, "keras_func.h5"))
    mlp().save(os.path.join(kd, "keras_plain.h5"))
    compiled(mlp(), keras.optimizers.RMSprop(0.005)).save(os.path.join(kd, "keras_fresh.h5"))
    # Training on after the save: what a resumed model should do.
    r = compiled(mlp(dropout=False), keras.optimizers.Adam(0.01))
    r.fit(x, y, epochs=2, batch_size=16, verbose=0)
    r.save(os.path.join(kd, "keras_resume.h5"))
    resume = [float(r.train_on_batch(x[i * 16 : (i + 1) * 16], y[i * 16 : (i + 1) * 16])[0])
              for i in range(3)]
    out = {"resume_losses": np.array(resume)}
    out.update({f"resume_w{i}": w for i, w in enumerate(r.get_weights())})

    meta = {}
    paths = glob.glob(os.path.join(d, "*", "*.h5")) + glob.glob(os.path.join(d, "*", "*.hdf5"))
    for path in sorted(paths):
        key = os.path.relpath(path, d).replace(os.sep, "/")
        rec = {}
        try:
            m = keras.models.load_model(path)
        except Exception as e:
            rec["error"] = f"{type(e).__name__}: {e}"[:400]
            meta[key] = rec
            continue
        rec["class"] = type(m).__name__
        rec["layers"] = [layer.name for layer in m.layers]
        rec["compiled"] = bool(m.compiled)
        out["predict:" + key] = m.predict(x, verbose=0)
        if m.compiled:
            rec["optimizer"] = type(m.optimizer).__name__
            rec["optimizer_config"] = m.optimizer.get_config()
            rec["optimizer_variables"] = [
                keras.ops.convert_to_numpy(v).tolist() for v in m.optimizer.variables
            ]
            try:
                rec["evaluate"] = m.evaluate(x, y, verbose=0, return_dict=True)
            except Exception as e:
                rec["evaluate_error"] = f"{type(e).__name__}: {e}"[:300]
        meta[key] = json.loads(json.dumps(rec, default=float))
    """
)


class KerasRun:
    """The directory Keras worked in, what it found loading each file
    (``results[key]``) and predicted (``predict(key)``), and its arrays."""

    def __init__(self, d, arrays, results, k2_weights, fastnn_models):
        self.d = d
        self.arrays = arrays
        self.results = results
        self.k2_weights = k2_weights
        self.fastnn_models = fastnn_models

    def predict(self, key):
        return self.arrays["predict:" + key]


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    """Writes the tf.keras 2.x files and fastnn's files, then has Keras 3 write
    its own and load every one of them, once."""
    d = tmp_path_factory.mktemp("legacy_h5")
    (d / "keras2").mkdir()
    k2_weights, _ = k2_files(d / "keras2")
    k2_batchnorm_file(d / "keras2" / "k2_batchnorm.h5")
    (d / "fastnn").mkdir()
    fastnn_models = fastnn_files(d / "fastnn")
    arrays, results = run_keras(KERAS_SCRIPT, d, *make_data())
    return KerasRun(d, arrays, results, k2_weights, fastnn_models)


def fastnn_class(keras_class):
    return {"Sequential": models.Sequential, "Functional": models.Model}[keras_class]


def assert_same_evaluation(model, reference, x, y):
    got = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(got) == sorted(reference)
    for key in got:
        np.testing.assert_allclose(got[key], reference[key], rtol=1e-5, atol=1e-6, err_msg=key)


def assert_same_optimizer(model, keras_result):
    """Class, learning rate (or schedule) and the variables Keras restores
    (iterations, learning rate) as Keras 3 has them after loading the file."""
    assert type(model.optimizer).__name__ == keras_result["optimizer"]
    config, theirs = model.optimizer.get_config(), keras_result["optimizer_config"]
    if isinstance(theirs["learning_rate"], dict):
        assert config["learning_rate"]["class_name"] == theirs["learning_rate"]["class_name"]
        assert config["learning_rate"]["config"] == theirs["learning_rate"]["config"]
    else:
        assert np.float32(config["learning_rate"]) == np.float32(theirs["learning_rate"])
    for key in ("momentum", "beta_1", "beta_2", "epsilon", "rho", "nesterov", "amsgrad"):
        if key in theirs:
            assert config[key] == pytest.approx(theirs[key]), key
    restored = keras_result["optimizer_variables"]
    mine = optimizer_state(model)[: len(restored)]
    assert len(restored) in (1, 2)  # Keras's loaded optimizer has no slots
    for a, b in zip(mine, restored):
        assert np.float32(a) == np.float32(b)


# -- Keras 3 -> fastnn -----------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "keras/keras_seq.h5",
        "keras/keras_seq.hdf5",
        "keras/keras_func.h5",
        "keras/keras_fresh.h5",
        "keras/keras_resume.h5",
    ],
)
def test_keras_files_load_as_keras_loads_them(keras_run, key):
    """Architecture, names, weights (predictions), compile settings (loss,
    metrics: the same evaluate results) and the optimizer state Keras
    restores (iterations, learning rate)."""
    x, y = make_data()
    theirs = keras_run.results[key]
    model = models.load_model(keras_run.d / key)
    assert type(model) is fastnn_class(theirs["class"])
    assert [layer.name for layer in model.layers] == theirs["layers"]
    assert model.compiled and theirs["compiled"]
    np.testing.assert_allclose(
        model.predict(x, verbose=0), keras_run.predict(key), rtol=1e-5, atol=1e-6
    )
    assert_same_optimizer(model, theirs)
    assert_same_evaluation(model, theirs["evaluate"], x, y)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # (Keras's loaded model cannot: its
    # optimizer was built without variables, "Unknown variable")


def test_keras_files_without_compile(keras_run):
    x, _ = make_data()
    with pytest.warns(UserWarning, match=NO_TRAINING_WARNING):  # Keras logs it too
        plain = models.load_model(keras_run.d / "keras" / "keras_plain.h5")
    assert not plain.compiled and not keras_run.results["keras/keras_plain.h5"]["compiled"]
    np.testing.assert_allclose(
        plain.predict(x, verbose=0), keras_run.predict("keras/keras_plain.h5"), rtol=1e-5, atol=1e-6
    )
    bare = models.load_model(keras_run.d / "keras" / "keras_seq.h5", compile=False)
    assert not bare.compiled
    np.testing.assert_allclose(
        bare.predict(x, verbose=0), keras_run.predict("keras/keras_seq.h5"), rtol=1e-5, atol=1e-6
    )


def test_keras_optimizer_slots_load_and_training_resumes_as_keras_s(keras_run):
    """The file holds Adam's whole state in Keras 3's order: fastnn restores
    it (Keras restores iterations and learning rate only), so three steps
    after loading give what three more steps gave Keras before it saved."""
    x, y = make_data()
    path = keras_run.d / "keras" / "keras_resume.h5"
    model = models.load_model(path)
    with h5py.File(path, "r") as f:
        names = [
            n.decode() if isinstance(n, bytes) else n
            for n in f["optimizer_weights"].attrs["weight_names"]
        ]
        saved = [np.asarray(f["optimizer_weights"][n]) for n in names]
    state = optimizer_state(model)
    assert len(state) == len(saved) == 2 + 2 * len(model.trainable_weights)
    for a, b in zip(state, saved):
        np.testing.assert_array_equal(a, b)
    got = [
        model.train_on_batch(x[i * 16 : (i + 1) * 16], y[i * 16 : (i + 1) * 16])[0]
        for i in range(3)
    ]
    np.testing.assert_allclose(got, keras_run.arrays["resume_losses"], rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, keras_run.arrays[f"resume_w{i}"], rtol=1e-5, atol=1e-6)


# -- tf.keras 2.x -> fastnn ---------------------------------------------------------------

# Keras 3.15 refuses these Keras 2 spellings (Argument(s) not recognized: lr;
# reduction=auto; a list config) or mis-reads them (Custom>Adam becomes a
# default Adam, its learning rate lost; a MeanMetricWrapper's `fn` stays a
# string, so evaluate fails); fastnn reads them as Keras 2 meant them: the
# same model as k2_plain, which Keras reads.
K2_AS_PLAIN = ["k2_metric_wrapper", "k2_keras22_lr", "k2_tf211", "k2_loss_object"]


@pytest.mark.parametrize(
    "name",
    ["k2_plain", "k2_functional", "k2_model", "k2_list_config"] + K2_AS_PLAIN,
)
def test_tf_keras_2_files_load(keras_run, name):
    """The weights (predictions equal NumPy's forward pass and Keras's), the
    compile settings (Adam at 0.01, the same evaluate results as Keras on
    k2_plain) and what Keras restores of a Keras 2 optimizer: its iteration
    count; the slots (saved in another order) start afresh, with Keras's
    warning."""
    x, y = make_data()
    key = f"keras2/{name}.h5"
    model, caught = quiet_load(keras_run.d / key)
    expected = k2_reference(x, keras_run.k2_weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    theirs = keras_run.results[key]
    if "error" not in theirs:
        np.testing.assert_allclose(
            model.predict(x, verbose=0), keras_run.predict(key), rtol=1e-5, atol=1e-6
        )
        assert [layer.name for layer in model.layers] == theirs["layers"]
        assert type(model) is fastnn_class(theirs["class"])
    if name == "k2_list_config":
        assert not model.compiled
        assert any("No training configuration" in w for w in caught)
        return
    plain = keras_run.results["keras2/k2_plain.h5"]
    assert type(model.optimizer) is optimizers.Adam
    assert np.float32(model.optimizer.learning_rate) == np.float32(0.01)
    assert model.optimizer.iterations == 7 == plain["optimizer_variables"][0]
    assert all(not np.any(slot) for slot in optimizer_state(model)[2:])
    assert any("Error in loading the saved optimizer state" in w for w in caught)
    assert any("decay" in w for w in caught) == (name not in ("k2_tf211", "k2_loss_object"))
    assert_same_evaluation(model, plain["evaluate"], x, y)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert model.optimizer.iterations == 10


def test_keras_2_functional_files_are_functional_models(keras_run):
    for name in ["k2_functional", "k2_model"]:
        model, _ = quiet_load(keras_run.d / "keras2" / f"{name}.h5")
        assert isinstance(model, models.Model)
        assert [layer.name for layer in model.layers] == ["input_1", "dense", "dropout", "dense_1"]


def test_keras_2_batchnorm_and_leaky_relu_configs(keras_run):
    """BatchNormalization's built `axis` ([1]) and LeakyReLU's `alpha`, as
    tf.keras 2.x saved them: Keras's predictions."""
    x, _ = make_data()
    key = "keras2/k2_batchnorm.h5"
    with pytest.warns(UserWarning, match=NO_TRAINING_WARNING):
        model = models.load_model(keras_run.d / key)
    assert model.get_layer("leaky_re_lu").negative_slope == pytest.approx(0.2)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), keras_run.predict(key), rtol=1e-5, atol=1e-6
    )


# -- fastnn -> Keras 3 ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fn_seq.h5", "fn_func.h5", "fn_layers.h5", "fn_noopt.h5"])
def test_fastnn_files_load_in_keras(keras_run, name):
    """Keras's load_model reads fastnn's file: the same class, layer names,
    predictions, compile settings (evaluate) and optimizer variables."""
    x, y = make_data()
    model = keras_run.fastnn_models[name]
    theirs = keras_run.results[f"fastnn/{name}"]
    assert "error" not in theirs, theirs
    assert type(model) is fastnn_class(theirs["class"])
    assert [layer.name for layer in model.layers] == theirs["layers"]
    np.testing.assert_allclose(
        keras_run.predict(f"fastnn/{name}"), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert theirs["compiled"] == (name != "fn_noopt.h5")
    if theirs["compiled"]:
        assert_same_optimizer(model, theirs)
        assert_same_evaluation(model, theirs["evaluate"], x, y)


def test_a_checkpoint_h5_loads_in_keras_and_fastnn(keras_run):
    x, _ = make_data()
    theirs = keras_run.results["fastnn/fn_best.h5"]
    assert "error" not in theirs and theirs["compiled"]
    model = models.load_model(keras_run.d / "fastnn" / "fn_best.h5")
    np.testing.assert_allclose(
        keras_run.predict("fastnn/fn_best.h5"), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert_same_optimizer(model, theirs)


def test_fastnn_writes_keras_s_layout(keras_run):
    """Every group, dataset (dtype, shape) and attribute Keras writes for the
    same model, trained with the same optimizer; fastnn adds root attributes
    of its own only."""
    mine = h5_listing(keras_run.d / "fastnn" / "fn_seq.h5", attrs=sorted, root=True)
    theirs = h5_listing(keras_run.d / "keras" / "keras_seq.h5", attrs=sorted, root=True)
    assert sorted(mine) == sorted(theirs)
    for path, entry in theirs.items():
        if path == "/":
            extra = set(mine[path][3]) - set(entry[3])
            assert extra == {"fastnn_version", "fastnn_network_iterations", "fastnn_seeds"}
            assert set(entry[3]) <= set(mine[path][3])
        else:
            assert mine[path] == entry, path
    with h5py.File(keras_run.d / "fastnn" / "fn_seq.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])
        training = json.loads(f.attrs["training_config"])
    with h5py.File(keras_run.d / "keras" / "keras_seq.h5", "r") as f:
        keras_config = json.loads(f.attrs["model_config"])
        keras_training = json.loads(f.attrs["training_config"])
    assert config["class_name"] == keras_config["class_name"] == "Sequential"
    for entry, keras_entry in zip(config["config"]["layers"], keras_config["config"]["layers"]):
        assert sorted(entry) == sorted(keras_entry) == ["class_name", "config"]
        assert entry["class_name"] == keras_entry["class_name"]
    assert sorted(training) == sorted(keras_training)
    assert training["optimizer_config"]["class_name"] == "Adam"


# -- fastnn -> fastnn ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".h5", ".hdf5"])
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_round_trip_resumes_training_exactly(tmp_path, suffix, kind):
    """Weights, compile settings and the whole optimizer state (slots too),
    and the Dropout masks' seed and step: training on from the file gives the
    same weights bit for bit as training on in memory."""
    x, y = make_data()
    model = trained_mlp() if kind == "sequential" else chain()
    if kind == "functional":
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / f"m{suffix}"
    save_h5(model, path)
    loaded = models.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_compile_config() == model.get_compile_config()
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert same_weights(loaded.get_weights(), model.get_weights())
    for a, b in zip(optimizer_state(loaded), optimizer_state(model)):
        np.testing.assert_array_equal(a, b)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert same_weights(loaded.get_weights(), model.get_weights())


def test_include_optimizer_false_and_uncompiled_models(tmp_path):
    x, _ = make_data()
    model = trained_mlp()
    save_h5(model, tmp_path / "no_opt.h5", include_optimizer=False)
    with h5py.File(tmp_path / "no_opt.h5", "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    with pytest.warns(UserWarning, match=NO_TRAINING_WARNING):
        loaded = models.load_model(tmp_path / "no_opt.h5")
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    fresh = mlp()
    save_h5(fresh, tmp_path / "plain.h5")
    loaded = models.load_model(tmp_path / "plain.h5", compile=False)  # no warning: not asked
    assert not loaded.compiled
    assert same_weights(loaded.get_weights(), fresh.get_weights())


def test_compiled_never_trained_and_unbuilt_models(tmp_path):
    model = mlp()
    model.compile(optimizers.RMSprop(0.005), "sparse_categorical_crossentropy")
    save_h5(model, tmp_path / "fresh.h5")
    loaded = models.load_model(tmp_path / "fresh.h5")
    assert loaded.optimizer.iterations == 0 and type(loaded.optimizer) is optimizers.RMSprop
    assert same_weights(loaded.get_weights(), model.get_weights())
    unbuilt = models.Sequential([layers.Dense(3, name="only")], name="unbuilt")
    save_h5(unbuilt, tmp_path / "unbuilt.h5")
    with pytest.warns(UserWarning, match=NO_TRAINING_WARNING):
        loaded = models.load_model(tmp_path / "unbuilt.h5")
    assert not loaded.built and [layer.name for layer in loaded.layers] == ["only"]


def test_custom_objects_by_name(tmp_path):
    """A user's metric function is saved by name, as Keras writes it, and
    found again through custom_objects (or not at all: a clear error naming
    it)."""

    def my_metric(y_true, y_pred):
        return np.mean(np.abs(y_pred.max(axis=-1) - 0.5))

    x, y = make_data()
    model = mlp()
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=[my_metric])
    save_h5(model, tmp_path / "custom.h5")
    with h5py.File(tmp_path / "custom.h5", "r") as f:
        assert json.loads(f.attrs["training_config"])["metrics"] == ["my_metric"]
    # Keras's legacy loader leaves metric names to the first evaluate: the
    # file loads for predict, uncompiled here, with a warning naming the fix
    with pytest.warns(UserWarning, match=r"custom_objects=\{'my_metric': my_metric\}"):
        uncompiled = models.load_model(tmp_path / "custom.h5")
    assert not uncompiled.compiled and uncompiled.optimizer is None
    np.testing.assert_array_equal(uncompiled.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match=r"You must call `compile\(\)`"):
        uncompiled.evaluate(x, y, verbose=0)
    loaded = models.load_model(tmp_path / "custom.h5", custom_objects={"my_metric": my_metric})
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True
    )


def test_frozen_and_batchnorm_weights_keep_keras_s_order(tmp_path):
    """The file lists a layer's trainable weights before its non-trainable
    ones (Keras's legacy order); a frozen layer keeps its own order."""
    model = trained_mlp()
    model.get_layer("hidden").trainable = False
    save_h5(model, tmp_path / "frozen.h5")
    with h5py.File(tmp_path / "frozen.h5", "r") as f:
        names = list(f["model_weights/norm"].attrs["weight_names"])
    assert [n.rsplit("/", 1)[-1] for n in names] == [
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ]
    loaded = models.load_model(tmp_path / "frozen.h5")
    assert not loaded.get_layer("hidden").trainable
    assert same_weights(loaded.get_weights(), model.get_weights())


def test_long_name_lists_are_split_as_keras_splits_them(tmp_path):
    """Past 64,512 bytes a name list is written as layer_names0, layer_names1 ..."""
    fastnn.utils.set_random_seed(0)
    stack = [layers.Input(shape=(2,))]
    stack += [layers.Dense(2, name=f"{'x' * 200}_{i}") for i in range(400)]
    model = models.Sequential(stack, name="deep")
    save_h5(model, tmp_path / "deep.h5")
    with h5py.File(tmp_path / "deep.h5", "r") as f:
        attrs = sorted(f["model_weights"].attrs)
    assert "layer_names" not in attrs and "layer_names0" in attrs and "layer_names1" in attrs
    with pytest.warns(UserWarning, match=NO_TRAINING_WARNING):
        loaded = models.load_model(tmp_path / "deep.h5")
    assert same_weights(loaded.get_weights(), model.get_weights())


# -- ModelCheckpoint -------------------------------------------------------------------------


def test_model_checkpoint_h5_as_keras_allows_it(tmp_path):
    """Keras 3 takes `.h5` (not `.hdf5`) for whole models; each save warns as
    model.save does; the best epoch's model loads back."""
    x, y = make_data()
    model = trained_mlp()
    checkpoint = callbacks.ModelCheckpoint(
        str(tmp_path / "best.h5"), monitor="loss", save_best_only=True
    )
    with pytest.warns(UserWarning, match=SAVE_WARNING):
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[checkpoint])
    assert os.listdir(tmp_path) == ["best.h5"]
    loaded = models.load_model(tmp_path / "best.h5")
    assert loaded.optimizer.iterations > 0
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        callbacks.ModelCheckpoint(str(tmp_path / "best.hdf5"))
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        callbacks.ModelCheckpoint(str(tmp_path / "best.h5"), save_weights_only=True)


# -- load_weights from legacy files ------------------------------------------------------------


def test_load_weights_from_legacy_model_and_weights_files(tmp_path):
    """A legacy model file's weights, and Keras 2's save_weights file
    (``layer_names`` at the root), by position; `by_name` matches layer
    names and leaves the others; the optimizer's state is not read."""
    x, _ = make_data()
    arrays = k2_arrays(3)
    write_k2(tmp_path / "weights.h5", None, k2_layer_weights(arrays), root=True)
    fastnn.utils.set_random_seed(0)
    model = models.Sequential(
        [
            layers.Input(shape=(4,)),
            layers.Dense(5, activation="relu", name="dense"),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax", name="dense_1"),
        ]
    )
    model.compile(optimizers.Adam(), "sparse_categorical_crossentropy")
    model.load_weights(tmp_path / "weights.h5")
    assert same_weights(model.get_weights(), arrays)
    assert model.optimizer.iterations == 0
    np.testing.assert_allclose(
        model.predict(x, verbose=0), k2_reference(x, arrays), rtol=1e-5, atol=1e-6
    )
    source = trained_mlp()
    save_h5(source, tmp_path / "model.h5")
    target = mlp(seed=9)
    target.load_weights(tmp_path / "model.h5")
    assert same_weights(target.get_weights(), source.get_weights())
    # by name: only "probs" is in both
    renamed = models.Sequential(
        [
            layers.Input(shape=(4,)),
            layers.Dense(6, name="other"),
            layers.Dense(3, name="probs"),
        ]
    )
    before = renamed.get_weights()
    renamed.load_weights(tmp_path / "model.h5", by_name=True)
    after = renamed.get_weights()
    assert same_weights(after[:2], before[:2])
    assert same_weights(after[2:], source.get_layer("probs").get_weights())
    with pytest.raises(ValueError, match="by_name"):
        renamed.load_weights(tmp_path / "w.weights.h5", by_name=True)


# -- bad files: clear errors, nothing changed ---------------------------------------------------


def bad_files(tmp_path):
    """name -> (path, exception, message pattern)."""
    good = tmp_path / "good.h5"
    save_h5(trained_mlp(seed=11), good)
    data = good.read_bytes()
    files = {}

    def write(name, content):
        (tmp_path / name).write_bytes(content)
        return tmp_path / name

    def edited(name, edit):
        with h5py.File(write(name, data), "r+") as f:
            edit(f)
        return tmp_path / name

    files["missing"] = (tmp_path / "missing.h5", FileNotFoundError, "File not found")
    files["empty"] = (write("empty.h5", b""), ValueError, "not an HDF5 model file")
    files["text"] = (write("text.h5", b"a plain text file"), ValueError, "not an HDF5")
    for where, cut in (("head", 100), ("half", len(data) // 2), ("end", len(data) - 10)):
        files[f"truncated_{where}"] = (
            write(f"cut_{where}.h5", data[:cut]),
            ValueError,
            "not an HDF5|truncated or corrupted",
        )
    files["zip"] = (write("zip.h5", b"PK\x03\x04" + b"\0" * 60), ValueError, "is a zip file")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f.create_dataset("data", data=np.arange(10))
    files["foreign"] = (tmp_path / "foreign.h5", ValueError, r"No model config found in the file")
    weights_only = tmp_path / "w.weights.h5"
    trained_mlp().save_weights(weights_only)
    files["keras3_weights"] = (
        write("renamed.h5", weights_only.read_bytes()),
        ValueError,
        r"No model config found.*Keras 3 weights file",
    )
    files["keras2_weights"] = (
        tmp_path / "k2_weights.h5",
        ValueError,
        r"No model config found.*weights only.*load_weights",
    )
    write_k2(files["keras2_weights"][0], None, k2_layer_weights(k2_arrays()), root=True)
    files["damaged_config"] = (
        edited("damaged.h5", lambda f: f.attrs.__setitem__("model_config", b"{not json")),
        ValueError,
        "damaged model_config",
    )
    files["subclassed"] = (
        edited(
            "subclassed.h5",
            lambda f: f.attrs.__setitem__(
                "model_config", json.dumps({"class_name": "MyModel", "config": {}}).encode()
            ),
        ),
        ValueError,
        "'MyModel' model",
    )

    def drop_layer(f):
        names = [n for n in f["model_weights"].attrs["layer_names"] if n != "probs"]
        f["model_weights"].attrs["layer_names"] = names

    files["layer_count"] = (edited("count.h5", drop_layer), ValueError, "Layer count mismatch")

    def drop_weight(f):
        group = f["model_weights/probs"]
        group.attrs["weight_names"] = list(group.attrs["weight_names"])[:1]

    files["weight_count"] = (edited("wcount.h5", drop_weight), ValueError, "Weight count mismatch")

    def reshape(f):
        group = f["model_weights/probs"]
        name = group.attrs["weight_names"][0]
        del group[name]
        group.create_dataset(name, data=np.zeros((5, 3), np.float32))

    files["shape"] = (edited("shape.h5", reshape), ValueError, "Shape mismatch.*expects shape")

    def missing_dataset(f):
        group = f["model_weights/hidden"]
        del group[group.attrs["weight_names"][1]]

    files["missing_dataset"] = (
        edited("gone.h5", missing_dataset),
        ValueError,
        "holds no such object",
    )

    def soft_link(f):
        group = f["model_weights/hidden"]
        name = group.attrs["weight_names"][0]
        del group[name]
        group[name] = h5py.SoftLink("/model_weights/probs/mlp/probs/kernel")

    files["soft_link"] = (edited("link.h5", soft_link), ValueError, "SoftLink.*not allowed")

    def strings(f):
        group = f["model_weights/hidden"]
        name = group.attrs["weight_names"][1]
        del group[name]
        group.create_dataset(name, data=np.array([b"a"] * 6))

    files["strings"] = (edited("strings.h5", strings), ValueError, "numeric arrays only")
    conv_config = {
        "class_name": "Sequential",
        "config": {
            "name": "cnn",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {"batch_input_shape": [None, 5, 5, 1], "name": "img"},
                },
                {
                    "class_name": "Conv2D",
                    "config": {"name": "conv2d", "filters": 2, "kernel_size": [3, 3]},
                },
                {"class_name": "MaxPooling2D", "config": {"name": "pool"}},
                {"class_name": "Flatten", "config": {"name": "flatten"}},
                k2_dense("dense", 3, "softmax"),
            ],
        },
    }
    files["conv"] = (
        tmp_path / "conv.h5",
        ValueError,
        r"layers fastnn lacks: Conv2D 'conv2d', MaxPooling2D 'pool'",
    )
    write_k2(files["conv"][0], conv_config, [("conv2d", []), ("dense", [])])
    return files


BAD_FILES = [
    "missing",
    "empty",
    "text",
    "truncated_head",
    "truncated_half",
    "truncated_end",
    "zip",
    "foreign",
    "keras3_weights",
    "keras2_weights",
    "damaged_config",
    "subclassed",
    "layer_count",
    "weight_count",
    "shape",
    "missing_dataset",
    "soft_link",
    "strings",
    "conv",
]


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_are_clear_errors(tmp_path, case):
    path, error, pattern = bad_files(tmp_path)[case]
    with pytest.raises(error, match=pattern):
        models.load_model(path)


@pytest.mark.parametrize(
    "case", ["empty", "text", "zip", "keras3_weights", "weight_count", "shape", "soft_link"]
)
def test_load_weights_errors_change_nothing(tmp_path, case):
    files = bad_files(tmp_path)
    path, _, _ = files[case]
    model = trained_mlp(seed=12)
    weights, state = model.get_weights(), optimizer_state(model)
    with pytest.raises(ValueError):
        model.load_weights(path)
    assert same_weights(model.get_weights(), weights)
    for a, b in zip(optimizer_state(model), state):
        np.testing.assert_array_equal(a, b)


def test_missing_file_is_file_not_found_and_value_error(tmp_path):
    for error in (FileNotFoundError, ValueError):
        with pytest.raises(error, match="File not found"):
            models.load_model(tmp_path / "nothing.hdf5")


# -- saving: atomic, overwrite, arguments ----------------------------------------------------


def test_save_is_atomic_and_refuses_overwrite_when_asked(tmp_path, monkeypatch):
    model = trained_mlp()
    path = tmp_path / "m.h5"
    save_h5(model, path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_h5(trained_mlp(seed=4), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.h5"]
    with pytest.raises(FileExistsError):
        save_h5(model, path, overwrite=False)
    assert path.read_bytes() == before


def test_layer_names_that_cannot_name_groups_are_refused(tmp_path):
    """The file keys each layer's group by its name: two layers renamed alike,
    or a name with '/', cannot be written (nothing is)."""
    model = models.Sequential(
        [layers.Input(shape=(2,)), layers.Dense(2, name="one"), layers.Dense(2, name="two")]
    )
    model.layers[1].name = "one"
    with pytest.raises(ValueError, match=r"layer names must be unique.*'one'"):
        save_h5(model, tmp_path / "m.h5")
    model.layers[1].name = "a/b"
    with pytest.raises(ValueError, match=r"without '/'.*'a/b'"):
        save_h5(model, tmp_path / "m.h5")
    assert os.listdir(tmp_path) == []


def test_save_arguments_as_keras_takes_them(tmp_path):
    model = trained_mlp()
    with pytest.raises(ValueError, match=r"Invalid filepath extension for saving.*`\.h5`"):
        model.save(tmp_path / "m.zip")
    with pytest.raises(ValueError, match=r"not supported: \['foo'\]"):
        model.save(tmp_path / "m.keras", foo=1)
    with pytest.raises(ValueError, match="`save_format` argument is deprecated"):
        model.save(tmp_path / "m", save_format="h5")
    assert os.listdir(tmp_path) == []
    with pytest.warns(UserWarning, match="`save_format` argument is deprecated"):
        model.save(tmp_path / "m.keras", save_format="keras")
    with (
        pytest.warns(UserWarning, match="save_format"),
        pytest.warns(UserWarning, match=SAVE_WARNING),
    ):
        model.save(tmp_path / "m.h5", save_format="h5")
    assert sorted(os.listdir(tmp_path)) == ["m.h5", "m.keras"]
    # Keras 3 writes a legacy model under any name ending in `.h5`, this one too
    save_h5(model, tmp_path / "m.weights.h5")
    assert models.load_model(tmp_path / "m.weights.h5").optimizer.iterations == 6


# -- h5py missing --------------------------------------------------------------------------------


def test_without_h5py_legacy_files_are_a_clear_error(tmp_path, monkeypatch):
    model = trained_mlp()
    save_h5(model, tmp_path / "m.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)  # `import h5py` now fails
    pattern = r"legacy HDF5 model files.*h5py.*pip install h5py"
    with pytest.raises(ImportError, match=pattern), pytest.warns(UserWarning, match=SAVE_WARNING):
        model.save(tmp_path / "new.h5")
    with pytest.raises(ImportError, match=pattern):
        models.load_model(tmp_path / "m.h5")
    with pytest.raises(ImportError, match=pattern):
        model.load_weights(tmp_path / "m.h5")
    with pytest.raises(ImportError, match=pattern):
        callbacks.ModelCheckpoint(str(tmp_path / "c.h5"))
    assert os.listdir(tmp_path) == ["m.h5"]
    model.save(tmp_path / "m.keras")  # the other formats still work
    assert (
        models.load_model(tmp_path / "m.keras").optimizer.iterations == model.optimizer.iterations
    )
