"""fastnn.utils.Progbar: Keras 3's bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import importlib
import io
import re

import numpy as np
import pytest

from fastnn.utils import Progbar

progbar_module = importlib.import_module("fastnn.utils.progbar")

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL = "\u2501"


class Clock:
    def __init__(self, t=100.0):
        self.t = t

    def time(self):
        return self.t


class Terminal(io.StringIO):
    def isatty(self):
        return True


class AsciiLog(io.StringIO):
    encoding = "ascii"


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progbar_module, "time", c)
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    return c


def test_terminal_draws_keras_exact_bytes(clock):
    out = Terminal()
    bar = Progbar(469, stream=out, stateful_metrics=["loss"])
    clock.t = 100.5
    bar.update(1, [("loss", 0.5)])
    first = (
        "\r"
        "\x1b[1m  1/469\x1b[0m "
        "\x1b[37m" + CELL * 20 + "\x1b[0m"
        " \x1b[1m3:54\x1b[0m"  # eta = 0.5 s/step * 468 steps = 234 s
        " 500ms/step"
        " - loss: 0.5000"
    )
    assert out.getvalue() == first
    clock.t = 102.5
    bar.update(469, [("loss", 0.3291)])
    # visible width of the first line: 8 + 20 + 5 + 11 + 15 = 59 columns
    second = (
        "\b" * 59 + "\r"
        "\x1b[1m469/469\x1b[0m "
        "\x1b[32m" + CELL * 20 + "\x1b[0m"
        "\x1b[37m\x1b[0m"
        " \x1b[1m2s\x1b[0m"
        " 4ms/step"  # (102.5 - 100.5) / 468 steps: the first step is left out
        " - loss: 0.3291"
        "    \n"  # padded to the 59 columns of the line it overwrites
    )
    assert out.getvalue() == first + second


def test_terminal_final_line_reads_like_keras(clock):
    out = Terminal()
    bar = Progbar(469, stream=out)
    clock.t = 100.1
    bar.update(1, [("accuracy", 0.5), ("loss", 1.0)])
    clock.t = 102.1
    bar.update(469, [("accuracy", 0.8812), ("loss", 0.3291)])
    last = ANSI.sub("", out.getvalue()).split("\r")[-1]
    assert last.endswith("\n")
    # trailing spaces blank out the rest of the longer line drawn before
    assert last.rstrip() == f"469/469 {CELL * 20} 2s 4ms/step - accuracy: 0.8812 - loss: 0.3291"


def test_terminal_pads_a_shorter_line_with_spaces(clock):
    out = Terminal()
    bar = Progbar(10, stream=out, stateful_metrics=["loss"])
    clock.t = 100.1
    bar.update(1, [("loss", 1234.5678)])
    clock.t = 100.2
    bar.update(2, [("loss", 0.5)])
    lines = out.getvalue().split("\r")
    widths = [len(ANSI.sub("", line.rstrip("\b"))) for line in lines[1:]]
    assert widths[0] == widths[1]


def test_redraw_at_most_every_interval_but_always_finalize(clock):
    out = Terminal()
    bar = Progbar(100, stream=out)
    clock.t = 100.01
    bar.update(1)
    n = out.getvalue().count("\r")
    for step in range(2, 100):
        clock.t += 0.0001
        bar.update(step)
    assert out.getvalue().count("\r") == n  # all inside 0.05 s: no redraw
    clock.t += 0.05
    bar.update(99)
    assert out.getvalue().count("\r") == n + 1
    bar.update(100)  # finalize: drawn even within the interval
    assert out.getvalue().count("\r") == n + 2
    assert out.getvalue().endswith("\n")


def test_plain_stream_has_no_control_characters(clock):
    out = io.StringIO()
    bar = Progbar(469, stream=out)
    for step in range(1, 470):
        clock.t = 100.0 + step * 0.0043
        bar.update(step, [("accuracy", 0.8812), ("loss", 0.3291)])
    text = out.getvalue()
    assert "\b" not in text and "\r" not in text and "\x1b" not in text
    assert text == f"469/469 {CELL * 20} 2s 4ms/step - accuracy: 0.8812 - loss: 0.3291\n"


def test_plain_stream_prints_a_progress_line_every_plain_interval(clock):
    out = io.StringIO()
    bar = Progbar(100, stream=out, plain_interval=10.0, stateful_metrics=["loss"])
    clock.t = 101.0
    bar.update(1, [("loss", 2.0)])
    clock.t = 109.0
    bar.update(5, [("loss", 1.5)])
    assert out.getvalue() == ""
    clock.t = 111.0
    bar.update(11, [("loss", 1.0)])
    # 1 s for step 1, then 10 s for 10 steps: 1 s/step, 89 steps left
    assert out.getvalue() == f" 11/100 {CELL * 2}{CELL * 18} 1:29 1s/step - loss: 1.0000\n"
    clock.t = 112.0
    bar.update(100, [("loss", 0.5)])
    assert out.getvalue().splitlines()[-1].startswith(f"100/100 {CELL * 20} 12s ")


def test_ascii_only_stream_gets_ascii_cells(clock):
    out = AsciiLog()
    bar = Progbar(4, stream=out)
    clock.t = 101.0
    bar.update(4)
    assert out.getvalue().startswith("4/4 " + "=" * 20 + " ")
    out.getvalue().encode("ascii")


def test_verbose_2_prints_one_line_when_done(clock):
    out = Terminal()
    bar = Progbar(469, verbose=2, stream=out)
    for step in range(1, 469):
        clock.t = 100.0 + step * 0.0045
        bar.update(step, [("accuracy", 0.5), ("loss", 1.0)])
    assert out.getvalue() == ""
    clock.t = 102.1
    bar.update(469, [("accuracy", 0.8812), ("loss", 0.3291)])
    assert out.getvalue() == "469/469 - 2s - 4ms/step - accuracy: 0.8812 - loss: 0.3291\n"


def test_verbose_0_prints_nothing(clock):
    out = Terminal()
    bar = Progbar(3, verbose=0, stream=out)
    for step in (1, 2, 3):
        clock.t += 1
        bar.update(step, [("loss", 1.0)])
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    "value, text",
    [
        (0.5, "0.5000"),
        (-0.5, "-0.5000"),
        (1234.56789, "1234.5679"),
        (0.0011, "0.0011"),
        (0.001, "1.0000e-03"),
        (0.0005, "5.0000e-04"),
        (-0.0005, "-5.0000e-04"),
        (0.0, "0.0000e+00"),
    ],
)
@pytest.mark.parametrize("verbose", [1, 2])
def test_value_format_switches_to_scientific_at_1e_3(clock, value, text, verbose):
    out = io.StringIO()
    bar = Progbar(1, verbose=verbose, stream=out)
    clock.t = 101.0
    bar.update(1, [("v", value)])
    assert out.getvalue().endswith(f" - v: {text}\n")


@pytest.mark.parametrize(
    "elapsed, steps, text",
    [(3.0, 1, "3s/step"), (0.004, 1, "4ms/step"), (0.000004, 1, "4us/step"), (0.0, 1, "0s/step")],
)
def test_time_per_step_units(clock, elapsed, steps, text):
    out = io.StringIO()
    bar = Progbar(steps, verbose=2, stream=out)
    clock.t = 100.0 + elapsed
    bar.update(steps)
    assert f" - {text}" in out.getvalue()


@pytest.mark.parametrize("eta, text", [(59.0, "59s"), (61.0, "1:01"), (3725.0, "1:02:05")])
def test_eta_formats(clock, eta, text):
    out = Terminal()
    bar = Progbar(2, stream=out)
    clock.t = 100.0 + eta
    bar.update(1)  # one step took `eta` seconds, one is left
    assert f"\x1b[1m{text}\x1b[0m" in out.getvalue()


def test_unknown_target(clock):
    out = io.StringIO()
    bar = Progbar(None, stream=out)
    clock.t = 101.0
    bar.update(5, finalize=True)
    assert out.getvalue().startswith("      5/Unknown 1s ")


def test_stateless_values_are_averaged_over_steps(clock):
    out = io.StringIO()
    bar = Progbar(4, verbose=2, stream=out, stateless_metrics=["loss"])
    clock.t = 101.0
    bar.update(1, [("loss", 1.0), ("acc", 0.25)])
    bar.update(3, [("loss", 4.0), ("acc", 0.75)])  # covers 2 steps
    bar.update(4, [("loss", 9.0), ("acc", 0.5)], finalize=False)
    assert bar._values["loss"] == [1.0 + 4.0 * 2 + 9.0, 4]
    assert bar._values["acc"] == [0.5, 1]  # stateful: the last value
    bar.update(4, [("loss", 2.0), ("acc", 0.5)])  # final values replace the averages
    assert out.getvalue().endswith(" - loss: 2.0000 - acc: 0.5000\n")


def test_default_is_stateless_like_keras(clock):
    bar = Progbar(10, verbose=0)
    bar.update(2, [("loss", 1.0)])
    bar.update(4, [("loss", 3.0)])
    assert bar._values["loss"] == [8.0, 4]


def test_first_step_is_left_out_of_time_per_step(clock):
    out = io.StringIO()
    bar = Progbar(11, verbose=2, stream=out)
    clock.t = 101.0  # a slow first step
    bar.update(1)
    clock.t = 101.1
    bar.update(11)
    assert " - 10ms/step" in out.getvalue()


def test_add_advances(clock):
    bar = Progbar(10, verbose=0)
    bar.add(3)
    bar.add(4)
    assert bar._seen_so_far == 7


def test_writes_to_sys_stdout_by_default(clock, capsys):
    bar = Progbar(1)
    clock.t = 101.0
    bar.update(1, [("loss", 0.25)])
    assert capsys.readouterr().out == f"1/1 {CELL * 20} 1s 1s/step - loss: 0.2500\n"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(target=3, stateful_metrics=["a"], stateless_metrics=["b"]), "at most one"),
        (dict(target=3, verbose="1"), "verbose"),
        (dict(target=3, verbose=1.5), "verbose"),
        (dict(target=-1), "target"),
        (dict(target=2.5), "target"),
        (dict(target=float("inf")), "target"),
        (dict(target=True), "target"),
        (dict(target="3"), "target"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Progbar(**kwargs)


@pytest.mark.parametrize("target", [np.int64(2), np.int32(2), 2.0, np.float32(2.0)])
def test_a_numpy_integer_or_whole_float_target_is_the_count(clock, target):
    """Keras's Progbar takes them (``np.ceil(n / b).astype(int)`` is common)."""
    out = io.StringIO()
    bar = Progbar(target, stream=out, verbose=2)
    assert bar.target == 2 and type(bar.target) is int
    clock.t = 101.0
    bar.update(2, [("loss", 0.25)])
    assert out.getvalue().startswith("2/2 - ")


@pytest.mark.parametrize("verbose", [3, -1, np.int64(5)])
def test_a_verbose_other_than_0_1_2_draws_nothing_as_in_keras(clock, verbose):
    out = io.StringIO()
    bar = Progbar(2, stream=out, verbose=verbose)
    clock.t = 101.0
    bar.update(1, [("loss", 0.25)])
    bar.update(2, [("loss", 0.25)])
    assert out.getvalue() == ""


def test_non_numeric_values_are_shown_as_given(clock):
    out = io.StringIO()
    bar = Progbar(1, stream=out, stateful_metrics=["note"])
    clock.t = 101.0
    bar.update(1, [("note", "warm-up")])
    assert out.getvalue().endswith(" - note: warm-up\n")
