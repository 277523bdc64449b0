"""Where fastnn's messages go, as Keras 3's ``keras.utils.io_utils``: the
progress bar, callbacks' messages ("Epoch 3: early stopping"), `summary`,
`get_file`'s "Downloading data from ...".

Interactive logging (the default) writes them to stdout. With
`disable_interactive_logging` they go to the standard `logging` module
instead, one INFO record per line on the ``"fastnn"`` logger (Keras sends
them to absl logging, which fastnn does not depend on): a server job then
logs them as it logs the rest, and drops them unless INFO is enabled
(``logging.basicConfig(level=logging.INFO)``). The progress bar then
writes its plain lines, not the redrawn terminal bar.
"""

from __future__ import annotations

import sys

__all__ = [
    "disable_interactive_logging",
    "enable_interactive_logging",
    "is_interactive_logging_enabled",
    "print_msg",
]

_interactive = True


def _logger():
    """The ``"fastnn"`` logger (logging is imported when first needed: it
    adds milliseconds to ``import fastnn``)."""
    import logging

    return logging.getLogger("fastnn")


def enable_interactive_logging() -> None:
    """Messages and progress bars go to stdout (the default)."""
    global _interactive
    _interactive = True


def disable_interactive_logging() -> None:
    """Messages and progress bars go to the ``"fastnn"`` logger, one INFO
    record per line (Keras 3 sends them to absl logging)."""
    global _interactive
    _interactive = False


def is_interactive_logging_enabled() -> bool:
    """Whether messages go to stdout (True) or to the ``"fastnn"`` logger."""
    return _interactive


def print_msg(message, line_break: bool = True) -> None:
    """`message` to stdout (with a newline unless `line_break` is False), or,
    with interactive logging disabled, each of its non-empty lines as an
    INFO record of the ``"fastnn"`` logger."""
    message = str(message)
    if not _interactive:
        logger = _logger()
        for line in message.split("\n"):
            if line.strip():
                logger.info(line)
        return
    sys.stdout.write(message + "\n" if line_break else message)
    sys.stdout.flush()
