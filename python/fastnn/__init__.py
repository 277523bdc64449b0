"""fastnn: fast CPU training and inference of multilayer perceptrons, Keras API.

Change ``from tensorflow.keras import ...`` (or ``from keras import ...``) to
``from fastnn import ...``. The numeric core is C++ (OpenMP, AVX2/FMA with a
portable fallback chosen at run time) in ``fastnn._core``.
"""

import operator as _operator
import os as _os


def _choose_wait_policy() -> str:
    """Makes fastnn's OpenMP threads spin only briefly before they sleep.

    libgomp's default spins for milliseconds: on a shared machine a spinning
    thread holds a core another process needs, and a step stalls for a
    scheduler slice. Measured with bench/wait_policy.py (seed network, 2
    threads, 2 cores, s/epoch on 20,000 samples): quiet 0.090 default, 0.099
    GOMP_SPINCOUNT=1000, 0.126 PASSIVE (= 1 thread); with a busy process per
    core 7.51 default, 0.186 GOMP_SPINCOUNT=1000, 0.140 PASSIVE. A short spin
    keeps the second core useful on a quiet machine and degrades gracefully
    on a busy one. libgomp reads its environment when it loads, i.e. when
    ``_core`` is imported, so the variable is set for that moment only and
    removed again, leaving libraries loaded later untouched. A user's
    OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins; FASTNN_WAIT_POLICY=libgomp
    keeps libgomp's own default.
    """
    if "OMP_WAIT_POLICY" in _os.environ or "GOMP_SPINCOUNT" in _os.environ:
        return "user: " + _os.environ.get("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    if _os.environ.get("FASTNN_WAIT_POLICY", "").lower() == "libgomp":
        return "libgomp default"
    _os.environ["GOMP_SPINCOUNT"] = _SPINCOUNT
    return "GOMP_SPINCOUNT=" + _SPINCOUNT


_SPINCOUNT = "1000"
_wait_policy = _choose_wait_policy()
try:
    from fastnn import _core
finally:
    if _wait_policy.startswith("GOMP_SPINCOUNT"):
        del _os.environ["GOMP_SPINCOUNT"]

# Resolves FASTNN_ISA now, so that a level this machine cannot run fails the
# import with a RuntimeError naming the levels it can.
_core.active_isa()

from fastnn import (  # noqa: E402
    _absent,
    activations,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    utils,
)
from fastnn.initializers import Initializer  # noqa: E402  (keras.Initializer, ...)
from fastnn.layers import Input, Layer  # noqa: E402  (keras.Input)
from fastnn.losses import Loss  # noqa: E402
from fastnn.metrics import Metric  # noqa: E402
from fastnn.models import Model, Sequential  # noqa: E402  (keras.Model, keras.Sequential)
from fastnn.optimizers import Optimizer  # noqa: E402
from fastnn.regularizers import Regularizer  # noqa: E402

__version__: str = _core.__version__

__all__ = [
    "Initializer",
    "Input",
    "Layer",
    "Loss",
    "Metric",
    "Model",
    "Optimizer",
    "Regularizer",
    "Sequential",
    "__version__",
    "activations",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "datasets",
    "get_num_threads",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "preprocessing",
    "random",
    "regularizers",
    "saving",
    "wrappers",
    "utils",
    "runtime_info",
    "set_num_threads",
    "version",
]


def __getattr__(name: str):
    # `fastnn.saving` (keras.saving) is imported on first use, not at `import fastnn`.
    if name in ("saving", "wrappers", "mixed_precision", "preprocessing"):  # on first use
        import importlib

        return importlib.import_module(f"fastnn.{name}")
    if name == "DTypePolicy":  # keras.DTypePolicy
        from fastnn.mixed_precision import DTypePolicy

        return DTypePolicy
    return _absent_getattr(name)  # Keras's names fastnn lacks say why


_absent_getattr = _absent.module_getattr(__name__)
_absent.install_finder()  # `import fastnn.applications` says why too


def version() -> str:
    """The fastnn version, as ``keras.version()`` gives Keras's (``__version__``)."""
    return __version__


_MAX_THREADS = 1024  # runtime::kMaxThreads (cpp/runtime/threads.h)


def set_num_threads(n: int) -> None:
    """Sets the number of threads fastnn's kernels use.

    Args:
        n: an integer in [1, 1024]. Defaults to what OpenMP picks
            (``OMP_NUM_THREADS`` when set, else the number of cores; at
            most 1024).

    Raises:
        ValueError: when `n` is not an integer in [1, 1024].
    """
    if isinstance(n, bool):
        raise ValueError(f"num_threads must be a positive integer, got {n!r}")
    try:
        n = _operator.index(n)
    except TypeError:
        raise ValueError(f"num_threads must be a positive integer, got {n!r}") from None
    if n < 1:
        raise ValueError(f"num_threads must be a positive integer, got {n}")
    if n > _MAX_THREADS:  # teams of ~10^5 threads crash libgomp; each holds buffers
        raise ValueError(f"num_threads must be at most {_MAX_THREADS}, got {n}")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """Returns the number of threads fastnn's kernels use."""
    return int(_core.get_num_threads())


def runtime_info() -> dict:
    """Describes the build and the machine fastnn runs on.

    Returns:
        A dict with ``version``, ``isa`` (the kernel set in use), ``isa_available``
        (kernel sets this CPU can run), ``isa_compiled``, ``cpu_features``,
        ``num_threads``, ``openmp``, ``compiler`` and ``omp_wait_policy`` (what
        fastnn asked libgomp for when it loaded).
    """
    return {
        "version": __version__,
        "isa": _core.active_isa(),
        "isa_available": list(_core.available_isas()),
        "isa_compiled": list(_core.compiled_isas()),
        "cpu_features": dict(_core.cpu_features()),
        "num_threads": get_num_threads(),
        "openmp": bool(_core.openmp_enabled()),
        "compiler": _core.compiler(),
        "omp_wait_policy": _wait_policy,
    }
