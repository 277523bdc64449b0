"""The seed network on real Fashion-MNIST (skipped where the data is absent)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import layers, models, optimizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def fashion():
    try:
        (x, y), (xt, yt) = fastnn.datasets.fashion_mnist.load_data(base_url="http://127.0.0.1:9")
    except (OSError, RuntimeError, ValueError) as exc:
        pytest.skip(f"Fashion-MNIST not available locally: {exc}")
    return (x.reshape(-1, 784) / np.float32(255), y), (xt.reshape(-1, 784) / np.float32(255), yt)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 2024])
def test_seed_network_reaches_keras_accuracy_in_10_epochs(fashion, seed):
    (x, y), (xt, yt) = fashion
    fastnn.utils.set_random_seed(seed)
    model = models.Sequential(
        [
            layers.Input(shape=(784,)),
            layers.Dense(128, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=128, epochs=10, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    _, accuracy = model.evaluate(xt, yt, batch_size=1024, verbose=0)
    assert accuracy >= 0.87


def test_seed_article_script_runs_with_imports_changed(fashion, tmp_path):
    """The seed article's Keras script, imports changed, Adam(lr=...) included."""
    script = tmp_path / "seed.py"
    script.write_text(
        "import warnings\n"
        "from fastnn.models import Sequential\n"
        "from fastnn.layers import Dense\n"
        "from fastnn.optimizers import Adam\n"
        "from fastnn.datasets import fashion_mnist\n"
        "(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()\n"
        "x_train = x_train[:5000].reshape(-1, 784).astype('float32') / 255\n"
        "x_test = x_test.reshape(-1, 784).astype('float32') / 255\n"
        "model = Sequential([Dense(128, activation='relu', input_shape=(784,)),\n"
        "                    Dense(128, activation='relu'), Dense(10, activation='softmax')])\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    opt = Adam(lr=0.001)\n"
        "assert any(issubclass(w.category, DeprecationWarning) for w in caught)\n"
        "model.compile(optimizer=opt, loss='sparse_categorical_crossentropy',\n"
        "              metrics=['accuracy'])\n"
        "model.fit(x_train, y_train[:5000], epochs=1, batch_size=128, validation_split=0.1)\n"
        "loss, acc = model.evaluate(x_test, y_test)\n"
        "print('ACC', acc)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "Epoch" not in result.stdout  # epochs=1: no "Epoch 1/1" line, as Keras
    assert "val_accuracy" in result.stdout
    assert float(result.stdout.split("ACC")[-1]) > 0.6


def test_example_script_runs(fashion):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "fashion_mnist_mlp.py"), "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and "s per epoch" in result.stdout
