"""Runs a Keras 3 script (torch backend) in a subprocess on data the test
saved, for the tests that compare a layer with Keras itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

# Appended to every script: it leaves its arrays in `out` and its JSON in `meta`.
_SAVE = """
np.savez(os.path.join(d, "keras.npz"), **out)
with open(os.path.join(d, "meta.json"), "w") as fh:
    json.dump(meta, fh)
"""


def run_keras(script: str, d, x: np.ndarray, y: np.ndarray):
    """Saves x.npy and y.npy in d, runs `script` with d as its argument (d is
    the variable `d` there, its results the dict `out` of arrays and the
    JSON-able `meta`), and returns (arrays, meta); skips the test when Keras
    cannot be imported."""
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", y)
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run(
        [sys.executable, "-c", script + _SAVE, str(d)], capture_output=True, text=True, env=env
    )
    if run.returncode != 0 and "No module named" in run.stderr:
        pytest.skip(f"keras cannot be imported: {run.stderr[-300:]}")
    assert run.returncode == 0, run.stderr[-3000:]
    with np.load(d / "keras.npz") as data:
        arrays = dict(data)
    return arrays, json.loads((d / "meta.json").read_text())


def listed(arrays: dict, prefix: str) -> list:
    """arrays[prefix + "0"], arrays[prefix + "1"], ... in order."""
    return [arrays[f"{prefix}{i}"] for i in range(sum(k.startswith(prefix) for k in arrays))]


def train_like_keras(model, x, y, ref: dict) -> None:
    """Five SGD(0.1) steps of 13 rows (12 apart) from Keras's initial weights
    ("init*"), compared with Keras's losses ("losses"), final weights
    ("final*") and predictions ("predict")."""
    from fastnn import optimizers

    model.set_weights(listed(ref, "init"))
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    losses = [
        model.train_on_batch(x[s * 12 : s * 12 + 13], y[s * 12 : s * 12 + 13]) for s in range(5)
    ]
    np.testing.assert_allclose(losses, ref["losses"], rtol=1e-5)
    final = listed(ref, "final")
    assert len(final) == len(model.get_weights())
    for a, b in zip(model.get_weights(), final):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predict"], rtol=1e-5, atol=1e-6)


def same_config_keys(layer, keras_config: dict, keys) -> None:
    """The layer's get_config has Keras's keys and its values for `keys` and the dtype."""
    config = layer.get_config()
    assert sorted(config) == sorted(keras_config)
    for key in ("dtype", *keys):
        assert config[key] == keras_config[key]


def keras_run_on_random_data(tmp_path_factory, name: str, script: str):
    """run_keras on 64 rows of 9 features (normal, scale 2, mean 1) and labels
    0..3: returns (x, y, arrays, meta, d)."""
    d = tmp_path_factory.mktemp(name)
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((64, 9)) * 2 + 1).astype(np.float32)
    y = rng.integers(0, 4, 64)
    arrays, meta = run_keras(script, d, x, y)
    return x, y, arrays, meta, d


def five_step_script(hidden: str, middle: str) -> str:
    """A Keras script for train_like_keras: Input(9) -> Dense(11, `hidden`
    activation) -> `middle` (a keras.layers expression) -> Dense(4, softmax),
    seed 1, five SGD(0.1) steps; it saves its initial and final weights, the
    losses, predictions and k.keras, and the middle layer's weight names,
    config and name."""
    return f"""
import json, os, sys
import numpy as np
import keras
d = sys.argv[1]
x = np.load(os.path.join(d, "x.npy")); y = np.load(os.path.join(d, "y.npy"))
keras.utils.set_random_seed(1)
k = keras.Sequential([keras.Input((9,)), keras.layers.Dense(11, activation={hidden!r}),
                      {middle}, keras.layers.Dense(4, activation="softmax")])
k.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
out = {{}}
for i, v in enumerate(k.get_weights()):
    out[f"init{{i}}"] = v
out["losses"] = np.array([float(k.train_on_batch(x[s * 12 : s * 12 + 13],
                                                 y[s * 12 : s * 12 + 13])) for s in range(5)])
for i, v in enumerate(k.get_weights()):
    out[f"final{{i}}"] = v
out["predict"] = k.predict(x, verbose=0)
k.save(os.path.join(d, "k.keras"))
layer = k.layers[1]
meta = {{"names": [w.name for w in layer.weights], "config": layer.get_config(),
        "name": layer.name}}
"""
