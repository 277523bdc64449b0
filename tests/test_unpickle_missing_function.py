"""Unpickling a model compiled with a user's metric function, in a process
where that function cannot be found (its module not imported, so not
registered), raises Keras 3's error naming the function, not the temporary
file the pickled archive passes through."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from keras_inprocess import keras_or_skip

MODULE = """
import {lib}

@{lib}.saving.register_keras_serializable(package="compat")
def squared_error(y_true, y_pred):
    return {lib}.ops.mean({lib}.ops.square(y_true - y_pred), axis=-1)
"""

PICKLE = """
import pickle, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import {lib}
from compat_metrics import squared_error
model = {lib}.Sequential([{lib}.layers.Input((3,)), {lib}.layers.Dense(1)])
model.compile("sgd", "mse", metrics=[squared_error])
model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
data = pickle.dumps(model)
pickle.loads(data)  # where the function is found, the model comes back
open(sys.argv[1], "wb").write(data)
"""

UNPICKLE = """
import pickle, sys, warnings
warnings.simplefilter("ignore")
import {lib}
try:
    pickle.loads(open(sys.argv[1], "rb").read())
except Exception as e:
    print(type(e).__name__)
    print(e)
else:
    print("loaded")
"""


def _run(script: str, cwd, *args) -> str:
    env = dict(os.environ, KERAS_BACKEND="torch")
    run = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    if run.returncode != 0 and "No module named 'keras'" in run.stderr:
        pytest.skip("keras cannot be imported")
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def _unpickled_without_the_function(tmp_path, lib: str) -> tuple:
    """(exception type name, message) of unpickling `lib`'s model in a
    process where the metric's module is not imported."""
    home = tmp_path / lib
    home.mkdir()
    (home / "compat_metrics.py").write_text(MODULE.format(lib=lib))
    pickled = home / "model.pkl"
    _run(PICKLE.format(lib=lib), home, pickled)
    elsewhere = tmp_path / f"{lib}_elsewhere"
    elsewhere.mkdir()
    kind, message = _run(UNPICKLE.format(lib=lib), elsewhere, pickled).split("\n", 1)
    return kind, message.strip()


def test_the_error_names_the_missing_function_not_a_temporary_file(tmp_path):
    kind, message = _unpickled_without_the_function(tmp_path, "fastnn")
    assert kind == "TypeError"
    assert message.startswith("Could not locate function 'compat>squared_error'. ")
    assert "make sure they are all imported" in message
    assert ".keras" not in message and "tmp" not in message


def test_the_error_is_keras_s(tmp_path):
    keras_or_skip()  # (used in the subprocesses)
    theirs = _unpickled_without_the_function(tmp_path, "keras")
    ours = _unpickled_without_the_function(tmp_path, "fastnn")
    assert ours[0] == theirs[0] == "TypeError"
    first_sentence = "Could not locate function 'compat>squared_error'."
    assert theirs[1].startswith(first_sentence) and ours[1].startswith(first_sentence)
