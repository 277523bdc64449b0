"""utils.plot_model / model_to_dot as Keras 3's: the chain of layers drawn
with pydot and Graphviz (skipped where they are missing), and Keras's
ImportError where they are."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import fastnn
from fastnn import Input, layers, utils


def seed_model():
    return fastnn.Sequential(
        [
            Input((784,)),
            layers.Dense(128, activation="relu", name="hidden"),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax", name="out"),
        ],
        name="seed",
    )


def test_model_to_dot_draws_the_chain():
    pydot = pytest.importorskip("pydot")
    dot = utils.model_to_dot(
        seed_model(), show_shapes=True, show_layer_activations=True, show_trainable=True
    )
    assert isinstance(dot, pydot.Dot)
    nodes = [n for n in dot.get_nodes() if n.get_name().startswith("layer_")]
    assert len(nodes) == 4 and len(dot.get_edges()) == 3
    labels = [n.get("label") for n in nodes]
    assert "InputLayer" in labels[0] and "Output shape: <b>(None, 784)</b>" in labels[0]
    assert "<b>hidden</b> (Dense)" in labels[1] and "Activation: <b>relu</b>" in labels[1]
    assert "Input shape: <b>(None, 784)</b>" in labels[1]
    assert "Output shape: <b>(None, 10)</b>" in labels[3] and "Trainable: <b>T</b>" in labels[3]
    assert [(e.get_source(), e.get_destination()) for e in dot.get_edges()] == [
        ("layer_0", "layer_1"),
        ("layer_1", "layer_2"),
        ("layer_2", "layer_3"),
    ]
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        utils.model_to_dot(seed_model(), colour="red")


def test_plot_model_writes_the_image(tmp_path):
    pydot = pytest.importorskip("pydot")
    try:
        pydot.Dot.create(pydot.Dot())
    except (OSError, pydot.PydotException):
        pytest.skip("Graphviz's dot program is not installed")
    model = seed_model()
    utils.plot_model(model, to_file=tmp_path / "model.png", show_shapes=True)
    assert (tmp_path / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    utils.plot_model(model, to_file=str(tmp_path / "model.svg"), rankdir="LR")
    assert b"<svg" in (tmp_path / "model.svg").read_bytes()
    with pytest.raises(ValueError, match="layer_range"):
        utils.plot_model(model, to_file=tmp_path / "x.png", layer_range=["a", "b"])
    model.predict(np.zeros((1, 784), np.float32), verbose=0)  # the model is untouched


def test_without_pydot_plot_model_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pydot", None)  # `import pydot` now fails
    monkeypatch.delitem(sys.modules, "IPython.core.magics.namespace", raising=False)
    with pytest.raises(ImportError, match=r"You must install pydot \(`pip install pydot`\)"):
        utils.plot_model(seed_model())
    with pytest.raises(ImportError, match="pydot"):
        utils.model_to_dot(seed_model())
    monkeypatch.setitem(sys.modules, "IPython.core.magics.namespace", object())
    assert utils.plot_model(seed_model()) is None  # in IPython: printed, as Keras
    assert "You must install pydot" in capsys.readouterr().out


def test_an_unbuilt_model_is_refused_as_in_keras():
    pytest.importorskip("pydot")
    model = fastnn.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match="has not yet been built"):
        utils.model_to_dot(model)
