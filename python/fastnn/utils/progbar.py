"""The progress bar `fit`, `evaluate` and `predict` draw, as Keras 3 draws it.

Mirrors ``keras/src/utils/progbar.py`` (Keras 3): the same arguments, the same
line (``469/469 ━━━━━━━━━━━━━━━━━━━━ 2s 4ms/step - accuracy: 0.8812 - loss:
0.3291``), the same ETA and time-per-step rules, the same averaging of
stateless values, and a redraw at most every ``interval`` seconds.

One deliberate difference: Keras treats every POSIX process as a terminal and
writes backspaces, carriage returns and colour codes into log files and pipes.
Here a stream that is not a terminal (and not a notebook) gets plain lines
instead: one line when a bar finishes, and in between at most one line every
``plain_interval`` seconds, none of them carrying ``\\b``, ``\\r`` or escape
codes. A second one: verbose=2 formats values with ``{:.4e}`` when
``|v| <= 1e-3`` like verbose=1 does (Keras compares the signed value there, so
it prints every negative value in scientific notation).
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import time

import numpy as np

from fastnn.utils.io_utils import is_interactive_logging_enabled, print_msg

__all__ = ["Progbar"]

_BAR_CELL = "\u2501"  # '━', the cell Keras 3 draws.
_ASCII_CELL = "="


def _is_dynamic(stream) -> bool:
    """Whether `stream` can take carriage returns: a terminal or a notebook."""
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except (ValueError, OSError):  # a closed or detached stream
        return False
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def _cell_for(stream) -> str:
    """'━' when `stream` can encode it, else '=' (e.g. an ASCII-only log)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        _BAR_CELL.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return _ASCII_CELL
    return _BAR_CELL


def _mean(value) -> float:
    """A number, or the mean of an array (a per-class metric), as Keras's Progbar."""
    if isinstance(value, (int, float)):
        return float(value)
    return float(np.mean(np.asarray(value, dtype=np.float64)))


def _format_value(value: float) -> str:
    if abs(value) > 1e-3:
        return f" {value:.4f}"
    return f" {value:.4e}"


def _format_time(time_per_unit: float, unit_name: str) -> str:
    """' 4ms/step': seconds at or above 1 s (and 0), else ms, else us."""
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1000.0:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1000000.0:.0f}us/{unit_name}"


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


class Progbar:
    """Displays a progress bar.

    If neither `stateful_metrics` nor `stateless_metrics` is given, every value
    is stateless: the bar shows its average over the steps seen so far,
    weighted by the steps each update covers (Keras's rule).

    Args:
        target: total number of steps expected, or `None` if unknown.
        width: width of the bar in cells. Defaults to `20`.
        verbose: 0 (silent), 1 (the bar) or 2 (one line when it finishes);
            None is 0 and a whole float its integer, as Keras compares them.
            Defaults to `1`.
        interval: minimum seconds between two redraws. Defaults to `0.05`.
        stateful_metrics: names whose values are shown as given, not averaged.
        stateless_metrics: names that are averaged (every other one is shown
            as given). Give at most one of the two lists.
        unit_name: what a step is called (`"step"`, `"sample"`). Defaults to
            `"step"`.
        stream: where to write; `None` means `sys.stdout` at each write.
        plain_interval: on a stream that is not a terminal, minimum seconds
            between two progress lines before the last. Defaults to `10.0`.

    >>> bar = Progbar(3, verbose=2)
    >>> for step in range(1, 4):
    ...     bar.update(step, [("loss", 0.5)])  # doctest: +ELLIPSIS
    3/3 - 0s - ...us/step - loss: 0.5000
    """

    def __init__(
        self,
        target,
        width=20,
        verbose=1,
        interval=0.05,
        stateful_metrics=None,
        stateless_metrics=None,
        unit_name="step",
        stream=None,
        plain_interval=10.0,
    ):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Give at most one of `stateful_metrics` (values shown as given) and "
                "`stateless_metrics` (values averaged over steps), not both."
            )
        if target is not None:
            # Keras takes any number; a NumPy integer (np.ceil(n / b).astype(int)) or a
            # whole float is the count it means
            whole = isinstance(target, numbers.Real) and not isinstance(target, (bool, np.bool_))
            if not whole or not math.isfinite(target) or target != int(target) or target < 0:
                raise ValueError(
                    f"target must be a non-negative whole number or None, got {target!r}"
                )
            target = int(target)
        if verbose is None:
            verbose = 0  # Keras draws nothing for it (fit(verbose=None)'s ProgbarLogger)
        whole = isinstance(verbose, (bool, np.bool_, numbers.Integral)) or (
            isinstance(verbose, numbers.Real) and math.isfinite(verbose) and verbose == int(verbose)
        )
        if not whole:
            raise ValueError(f"verbose must be a whole number (0, 1 or 2), got {verbose!r}")
        verbose = int(verbose)  # as in Keras (2.0 is 2), one other than 1 or 2 draws nothing
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.plain_interval = plain_interval
        self._stream = stream
        if stateful_metrics is not None:
            self.stateful_metrics = set(stateful_metrics)
            self.stateless_metrics = None
        elif stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set()
            self.stateless_metrics = None

        out = self.stream
        # (stdout's lines go to the "fastnn" logger when interactive logging is off)
        self._dynamic_display = _is_dynamic(out) and (
            stream is not None or is_interactive_logging_enabled()
        )
        self._cell = _cell_for(out)
        self._seen_so_far = 0
        self._values = {}
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0
        self._last_plain_line = self._start
        self._time_after_first_step = None
        self._prev_total_width = 0

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def update(self, current, values=None, finalize=None):
        """Updates the progress bar.

        Args:
            current: index of the current step (1-based: steps done so far).
            values: list of `(name, value_for_last_step)` pairs. A stateless
                name is averaged over time; a stateful one is shown as given.
            finalize: whether this is the bar's last update. `None` means
                `current >= target`.
        """
        if finalize is None:
            finalize = False if self.target is None else current >= self.target

        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if self.stateful_metrics is not None:
                stateless = k not in self.stateful_metrics
            else:
                stateless = k in self.stateless_metrics
            if stateless:
                if finalize:
                    self._values[k] = [v, 1]
                else:
                    value_base = max(current - self._seen_so_far, 1)
                    if k not in self._values:
                        self._values[k] = [v * value_base, value_base]
                    else:
                        self._values[k][0] += v * value_base
                        self._values[k][1] += value_base
            else:
                self._values[k] = [v, 1]
        self._seen_so_far = current

        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)

        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            if self._dynamic_display:
                self._draw_dynamic(current, now, time_per_unit, finalize)
            elif finalize or now - self._last_plain_line >= self.plain_interval:
                self._write(self._line(current, now, time_per_unit, finalize) + "\n")
                self._last_plain_line = now
        elif self.verbose == 2:
            if finalize and self.target is not None and self.target > 0:
                numdigits = int(math.log10(self.target)) + 1
                info = f"%{numdigits}d/%d - {now - self._start:.0f}s -" % (current, self.target)
                info += _format_time(time_per_unit, self.unit_name)
                info += self._metrics_text()
                self._write(info + "\n")

        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by `n` steps."""
        self.update(self._seen_so_far + n, values)

    # -- drawing -------------------------------------------------------------

    def _metrics_text(self) -> str:
        text = ""
        for k in self._values_order:
            total, count = self._values[k]
            try:
                # an array (a per-class metric) shows its mean, as Keras's Progbar
                text += f" - {k}:" + _format_value(_mean(total) / max(1, count))
            except (TypeError, ValueError):  # a non-numeric value is shown as given
                text += f" - {k}: {total}"
        return text

    def _time_text(self, current, now, time_per_unit, finalize) -> str:
        if self.target is not None and self.target > 0 and not finalize:
            return _format_eta(time_per_unit * (self.target - current))
        return f"{now - self._start:.0f}s"

    def _line(self, current, now, time_per_unit, finalize) -> str:
        """The verbose=1 line without colour codes."""
        if self.target is not None and self.target > 0:
            numdigits = int(math.log10(self.target)) + 1
            done = int(self.width * float(current) / self.target)
            done = min(max(done, 0), self.width)
            line = f"%{numdigits}d/%d " % (current, self.target)
            line += self._cell * done + self._cell * (self.width - done)
        else:
            line = f"{int(current):7d}/Unknown"
        line += " " + self._time_text(current, now, time_per_unit, finalize)
        line += _format_time(time_per_unit, self.unit_name)
        return line + self._metrics_text()

    def _draw_dynamic(self, current, now, time_per_unit, finalize):
        """Keras's terminal drawing: backspaces, '\\r', bold and colours."""
        message = "\b" * self._prev_total_width + "\r"
        special_char_len = 0
        if self.target is not None and self.target > 0:
            numdigits = int(math.log10(self.target)) + 1
            bar = f"\x1b[1m{f'%{numdigits}d/%d' % (current, self.target)}\x1b[0m "
            special_char_len += 8
            done = int(self.width * float(current) / self.target)
            done = min(max(done, 0), self.width)
            if done > 0:
                bar += f"\x1b[32m{self._cell * done}\x1b[0m"
                special_char_len += 9
            bar += f"\x1b[37m{self._cell * (self.width - done)}\x1b[0m"
            special_char_len += 9
        else:
            bar = f"{int(current):7d}/Unknown"
        info = f" \x1b[1m{self._time_text(current, now, time_per_unit, finalize)}\x1b[0m"
        special_char_len += 8
        info += _format_time(time_per_unit, self.unit_name)
        info += self._metrics_text()
        message += bar + info
        total_width = len(bar) + len(info) - special_char_len
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        if finalize:
            message += "\n"
        self._write(message)
        self._prev_total_width = total_width

    def _write(self, text: str) -> None:
        if self._stream is None and not is_interactive_logging_enabled():
            return print_msg(text, line_break=False)
        out = self.stream
        out.write(text)
        out.flush()

    def _estimate_step_duration(self, current, now):
        """Seconds per step, leaving out the first step once there are more.

        The first step (graph building in Keras, workspace allocation here) is
        not representative; once step 1 has been reported on its own, later
        estimates are measured from its end.
        """
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit
