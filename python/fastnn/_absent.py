"""Keras names fastnn does not have: the error that says why.

A fastnn module mirroring a Keras module ends with::

    __getattr__ = _absent.module_getattr(__name__)

so that ``fastnn.metrics.MeanIoU`` (an AttributeError) and ``from
fastnn.metrics import MeanIoU`` (an ImportError) say what the name is in
Keras and what to use instead, where Python would give a bare "has no
attribute". ``hasattr`` and ``getattr(module, name, default)`` work as for
any missing attribute; private and dunder names, and names Keras does not
have either, get Python's plain error.

The explanations are plain data in `fastnn._absent_table`, imported by the
first failed lookup of a public name, never by ``import fastnn``.
`fastnn.layers` keeps its own tables and messages and shares `refusal`;
``import fastnn.applications`` (a Keras module fastnn does not mirror) raises
an ImportError with the table's reason (`AbsentModuleFinder`). tests/test_keras_names.py checks that
every public name of Keras's mirrored modules is in fastnn or explained.
"""

from __future__ import annotations

import sys

_index: dict = {}  # "fastnn.metrics" -> {name: (what, why, era)}, built on first use


def _entry(module: str, name: str):
    """``(what, why, era)`` for a name `module` (``"fastnn.metrics"``) lacks,
    `era` "tf.keras 2" for a name Keras 3 removed too (KERAS2), else None;
    None for a name the tables do not hold."""
    if not _index:
        from fastnn._absent_table import ABSENT, KERAS2

        for tables, era in ((KERAS2, "tf.keras 2"), (ABSENT, None)):
            for short, groups in tables.items():
                table = _index.setdefault(f"fastnn.{short}" if short else "fastnn", {})
                for names, what, why in groups:
                    for n in names.split():
                        table[n] = (what, why.replace("{name}", n), era)
    return _index.get(module, {}).get(name)


def explanation(module: str, name: str):
    """``(what, why)`` for a Keras name `module` (``"fastnn.metrics"``) lacks,
    or None."""
    found = _entry(module, name)
    return None if found is None else found[:2]


def _from_import_statement() -> bool:
    """Whether the code asking a module's `__getattr__` for a name is a ``from
    module import name`` statement. Python turns an AttributeError raised
    there into a bare "cannot import name", dropping the explanation; an
    ImportError passes through as it is. False when the asker is not Python
    code (``hasattr`` run directly as a thread's function)."""
    import opcode

    frame, asker = sys._getframe(1), None
    while frame is not None:  # to the code above the outermost `__getattr__` frame
        if frame.f_code.co_name == "__getattr__":  # (fastnn's own delegates to one here)
            asker = frame.f_back
        elif asker is not None:
            break
        frame = frame.f_back
    if asker is None:
        return False
    try:
        return asker.f_code.co_code[asker.f_lasti] == opcode.opmap["IMPORT_FROM"]
    except (IndexError, KeyError):
        return False


def refusal(module: str, name: str, message: str) -> Exception:
    """The error for `name`, which `module` lacks: ImportError from a ``from
    ... import`` statement, AttributeError otherwise (so ``hasattr`` and
    ``getattr(module, name, default)`` work as for any missing attribute).
    Call it from the module's `__getattr__`."""
    if _from_import_statement():
        path = getattr(sys.modules.get(module), "__file__", None)
        return ImportError(message, name=module, path=path)
    return AttributeError(message)


def message(module: str, name: str):
    """``"fastnn.metrics has no 'MeanIoU' (keras.metrics.MeanIoU: what): why"``
    for a Keras name `module` lacks, or None for any other name."""
    found = None if name.startswith("_") else _entry(module, name)
    if found is None:
        return None
    keras_module = "keras" + module[len("fastnn") :]
    what, why, era = found
    if era is not None:  # removed in Keras 3 as well
        return (
            f"{module} has no {name!r} (tf.keras 2's {keras_module}.{name}, {what}, which "
            f"Keras 3 removed): {why}"
        )
    return f"{module} has no {name!r} ({keras_module}.{name}: {what}): {why}"


def module_getattr(module: str):
    """The `__getattr__` of `module` (``__getattr__ = module_getattr(__name__)``):
    Keras's names the module lacks say what they are and why; any other name
    is Python's plain AttributeError."""

    def __getattr__(name: str):
        if name.startswith("_"):  # (e.g. __path__, which every `from ... import` asks for)
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise missing(module, name)

    return __getattr__


def missing(module: str, name: str) -> Exception:
    """The error for ``module.name``, absent: what the name is in Keras and
    why fastnn lacks it when Keras has it, else Python's own AttributeError."""
    text = message(module, name)
    if text is None:
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    return refusal(module, name, text)


class AbsentModuleFinder:
    """The last finder on ``sys.meta_path``: ``import fastnn.applications`` or
    ``from fastnn.optimizers.legacy import Adam`` (Keras modules fastnn does
    not mirror) raise an ImportError saying why, where Python would say "No
    module named". Asked only after every other finder failed, and only for
    names under fastnn; any other missing module keeps Python's error.
    Probes that only ask whether a module exists (``importlib.util.find_spec``,
    pkgutil) get None, the answer for a module that is not there: only an
    import (the import system's ``_find_and_load_unlocked`` asking) gets the
    module that raises."""

    @staticmethod
    def find_spec(fullname: str, path=None, target=None):
        if not fullname.startswith("fastnn."):
            return None
        asker = sys._getframe(1)  # importlib's _find_spec; above it, who asks
        asker = asker.f_back if asker.f_code.co_name == "_find_spec" else asker
        if asker is None or asker.f_code.co_name != "_find_and_load_unlocked":
            return None
        parent, _, name = fullname.rpartition(".")
        text = message(parent, name)
        if text is None:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(fullname, _RefusingLoader(text))


class _RefusingLoader:
    def __init__(self, text: str):
        self._text = text

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ImportError(self._text, name=module.__name__)


def install_finder() -> None:
    """Appends `AbsentModuleFinder` to ``sys.meta_path`` once."""
    if AbsentModuleFinder not in sys.meta_path:
        sys.meta_path.append(AbsentModuleFinder)
