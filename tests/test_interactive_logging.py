"""keras.config / keras.utils {enable,disable,is}_interactive_logging: with it
off, fastnn's messages (progress bar, callbacks, summary) go to the "fastnn"
logger, one INFO record per line, instead of stdout."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, config, layers, utils


@pytest.fixture(autouse=True)
def interactive_again():
    yield
    config.enable_interactive_logging()


def small_model():
    model = fastnn.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((40, 4)).astype(np.float32), rng.standard_normal((40, 2))


def records(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "fastnn"]


def test_the_switches_are_in_config_and_utils_and_share_one_state():
    assert config.is_interactive_logging_enabled() is True
    utils.disable_interactive_logging()
    assert config.is_interactive_logging_enabled() is False
    assert utils.is_interactive_logging_enabled() is False
    config.enable_interactive_logging()
    assert utils.is_interactive_logging_enabled() is True


@pytest.mark.parametrize("verbose", [1, 2])
def test_fit_progress_goes_to_the_logger(capsys, caplog, verbose):
    x, y = data()
    config.disable_interactive_logging()
    with caplog.at_level(logging.INFO, logger="fastnn"):
        small_model().fit(x, y, epochs=2, batch_size=8, verbose=verbose)
    assert capsys.readouterr().out == ""
    lines = records(caplog)
    assert lines[0] == "Epoch 1/2" and "Epoch 2/2" in lines
    progress = [line for line in lines if line.startswith("5/5")]
    assert len(progress) == 2  # one line per epoch: the final one
    assert all("loss:" in line for line in progress)
    # plain lines: no terminal redraw characters, no trailing newline
    assert not any(c in "".join(lines) for c in "\r\b\x1b\n")


def test_fit_progress_on_stdout_when_interactive(capsys, caplog):
    x, y = data()
    with caplog.at_level(logging.INFO, logger="fastnn"):
        small_model().fit(x, y, epochs=2, batch_size=8, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2\n" in out and "5/5 - " in out
    assert records(caplog) == []


def test_summary_and_callback_messages_go_to_the_logger(capsys, caplog):
    x, y = data()
    model = small_model()
    config.disable_interactive_logging()
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9, verbose=1)
    with caplog.at_level(logging.INFO, logger="fastnn"):
        model.fit(x, y, epochs=5, verbose=0, callbacks=[stop])
        model.summary()
    assert capsys.readouterr().out == ""
    lines = records(caplog)
    assert "Epoch 2: early stopping" in lines
    assert 'Model: "' in lines[1] and any("Trainable params: 10" in line for line in lines)
    # a print_fn given is still called with the whole text, as in Keras
    seen = []
    model.summary(print_fn=seen.append)
    assert len(seen) == 1 and "Total params" in seen[0]


def test_dropped_when_info_is_not_enabled(capsys, caplog):
    x, y = data()
    config.disable_interactive_logging()
    with caplog.at_level(logging.WARNING, logger="fastnn"):
        small_model().fit(x, y, epochs=2, verbose=1)
    assert capsys.readouterr().out == ""
    assert records(caplog) == []


def test_a_progbar_writing_to_its_own_stream_keeps_it(caplog):
    config.disable_interactive_logging()
    stream = io.StringIO()
    bar = utils.Progbar(3, verbose=2, stream=stream)
    with caplog.at_level(logging.INFO, logger="fastnn"):
        for step in (1, 2, 3):
            bar.update(step, [("loss", 0.5)])
    assert stream.getvalue().startswith("3/3 - ")
    assert records(caplog) == []


def test_keras_has_the_same_switches():
    keras = pytest.importorskip("keras")
    for module in ("config", "utils"):
        for name in (
            "disable_interactive_logging",
            "enable_interactive_logging",
            "is_interactive_logging_enabled",
        ):
            assert callable(getattr(getattr(keras, module), name))
            assert callable(getattr(getattr(fastnn, module), name))
