"""Optimizers with Keras 3 names, defaults and numerics, stepping in fused C++.

``fastnn.optimizers.{SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax, Lion,
Adadelta, Ftrl, Lamb, ScheduleFreeAdamW}`` mirror ``keras.optimizers``; ``get("adam")`` and
``compile(optimizer="adam")`` resolve lower-cased class names. Each step
clips, decays and updates every element in one fused, vectorized,
multithreaded pass (``cpp/optim/optimizer.h``), with the formulas of
``keras/src/optimizers/*.py``; results are bit-identical for any thread count.

Deliberate differences from Keras 3, each a trap Keras sets:

* integers are accepted where Keras wants floats (``SGD(momentum=0)``,
  ``learning_rate=1``);
* ``lr=`` (Keras 2's spelling) works with a ``DeprecationWarning``;
* out-of-range values (negative learning rate, ``beta_1`` outside [0, 1), ...)
  raise ``ValueError`` naming the argument at construction, not at the first
  step;
* Nadam's ``u_product`` is computed from the step number in double, not kept
  as a running float32 product (see `Nadam`);
* with ``use_ema=True``, a `fit` before the optimizer's first step (e.g.
  ``initial_epoch == epochs``) leaves the weights alone, where Keras
  overwrites them with its averages' initial zeros; a NaN or boolean
  ``ema_momentum`` and a boolean ``ema_overwrite_frequency`` are refused.

>>> import numpy as np
>>> from fastnn import optimizers
>>> w = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
>>> opt = optimizers.Adam(learning_rate=0.5)
>>> opt.apply_gradients([(np.array([1.0, 6.0, 7.0, 2.0]), w)])
1
>>> np.round(w, 4)
array([0.5, 1.5, 2.5, 3.5], dtype=float32)
"""

from __future__ import annotations

import math

import numpy as np

from fastnn import _absent, _core
from fastnn.optimizers import schedules
from fastnn.optimizers.base import (
    Optimizer,
    _Default,
    _epsilon,
    _flag,
    _in_range,
    _nonneg,
    _real,
)

# Defaults that remember they were not passed (so `lr=` can be told apart).
_DEFAULT_LR_0_001 = _Default(0.001)
_DEFAULT_LR_0_01 = _Default(0.01)
_DEFAULT_LR_0_0025 = _Default(0.0025)

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "Lion",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "ScheduleFreeAdamW",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]


class SGD(Optimizer):
    """Gradient descent, with momentum and Nesterov momentum (Keras 3 `SGD`).

    ``w -= lr * g`` when `momentum` is 0; else ``b = momentum * b - lr * g`` and
    ``w += b`` (Nesterov: ``w += momentum * b - lr * g``). PyTorch keeps
    ``b = momentum * b + g; w -= lr * b``: the same trajectory while the learning
    rate is constant.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.01`.
        momentum: in [0, 1]; integers accepted. Defaults to `0.0`.
        nesterov: whether to use Nesterov momentum. Defaults to `False`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "sgd"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_01,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.momentum = _in_range(momentum, "momentum", 0.0, 1.0, hi_open=False)
        self.nesterov = _flag(nesterov, "nesterov")

    def _kernel_hyperparameters(self) -> dict:
        # a flag set after construction is checked here, at the next step
        return {"momentum": self.momentum, "nesterov": _flag(self.nesterov, "nesterov")}

    def _config_hyperparameters(self) -> dict:
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba) in Keras 3's form (`keras/src/optimizers/adam.py`).

    ``m += (g - m)(1 - beta_1)``; ``v += (g² - v)(1 - beta_2)``;
    ``w -= lr·√(1 - beta_2ᵗ)/(1 - beta_1ᵗ) · m / (√v + epsilon)`` (AMSGrad: the
    running maximum of v replaces v). PyTorch divides by
    ``√v/√(1 - beta_2ᵗ) + eps`` instead, with eps 1e-8: the two agree only as
    epsilon → 0.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        beta_1: in [0, 1). Defaults to `0.9`.
        beta_2: in [0, 1). Defaults to `0.999`.
        epsilon: >= 0, added outside the square root. Defaults to `1e-7`.
        amsgrad: whether to use AMSGrad. Defaults to `False`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "adam"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.beta_1 = _in_range(beta_1, "beta_1", 0.0, 1.0, hi_open=True)
        self.beta_2 = _in_range(beta_2, "beta_2", 0.0, 1.0, hi_open=True)
        self.epsilon = _epsilon(epsilon)
        self.amsgrad = _flag(amsgrad, "amsgrad")

    def _kernel_hyperparameters(self) -> dict:
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": _flag(self.amsgrad, "amsgrad"),  # checked here if set after construction
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; Keras 3 `AdamW`).

    Each step first decays ``w -= w · weight_decay · lr``, then applies Adam.
    PyTorch's AdamW does the same decay (its default weight_decay is 0.01).

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        weight_decay: >= 0; `None` is an error, as in Keras. Defaults to `0.004`.
        beta_1, beta_2, epsilon, amsgrad: as `Adam`.
        **kwargs: `clipnorm`, `clipvalue`, `global_clipnorm`, `use_ema`,
            `ema_momentum`, `ema_overwrite_frequency`, `name`.
    """

    _kind = "adamw"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )


class RMSprop(Optimizer):
    """RMSprop as Keras 3 writes it (`keras/src/optimizers/rmsprop.py`).

    ``v = rho·v + (1 - rho)·g²``; centered: ``a = rho·a + (1 - rho)·g`` and
    ``d = max(v - a², 0) + epsilon`` (``v - a² >= 0`` exactly; the max, not in
    Keras, stops its float32 rounding from making ``√d`` NaN), else
    ``d = v + epsilon``; ``inc = lr·g/√d``; with momentum
    ``b = momentum·b + inc; w -= b``, else ``w -= inc``. Epsilon sits inside
    the square root; PyTorch puts it outside (and defaults to rho=0.99,
    lr=0.01, eps=1e-8).

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        rho: in [0, 1). Defaults to `0.9`.
        momentum: in [0, 1]. Defaults to `0.0`.
        epsilon: >= 0. Defaults to `1e-7`.
        centered: normalize by the estimated variance. Defaults to `False`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "rmsprop"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.rho = _in_range(rho, "rho", 0.0, 1.0, hi_open=True)
        self.momentum = _in_range(momentum, "momentum", 0.0, 1.0, hi_open=False)
        self.epsilon = _epsilon(epsilon)
        self.centered = _flag(centered, "centered")

    def _kernel_hyperparameters(self) -> dict:
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": _flag(self.centered, "centered"),
        }


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.; Keras 3 `Adagrad`).

    ``acc += g²``; ``w -= lr·g/√(acc + epsilon)``, the accumulator starting at
    `initial_accumulator_value`. PyTorch adds eps outside the root and starts
    the accumulator at 0.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        initial_accumulator_value: >= 0. Defaults to `0.1`.
        epsilon: >= 0. Defaults to `1e-7`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "adagrad"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.initial_accumulator_value = _nonneg(
            initial_accumulator_value, "initial_accumulator_value"
        )
        self.epsilon = _epsilon(epsilon)

    def _kernel_hyperparameters(self) -> dict:
        return {
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class _BetasEpsilon(Optimizer):
    """Nadam and Adamax: Adam's options without amsgrad (Keras 3's signatures)."""

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.beta_1 = _in_range(beta_1, "beta_1", 0.0, 1.0, hi_open=True)
        self.beta_2 = _in_range(beta_2, "beta_2", 0.0, 1.0, hi_open=True)
        self.epsilon = _epsilon(epsilon)

    def _kernel_hyperparameters(self) -> dict:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(_BetasEpsilon):
    """Adam with Nesterov momentum (Dozat; Keras 3 `Nadam`, `keras/src/optimizers/nadam.py`).

    With ``u_s = beta_1·(1 - 0.5·0.96ˢ)`` and ``U_t = u_1·…·u_t``:
    ``m += (g - m)(1 - beta_1)``; ``v += (g² - v)(1 - beta_2)``;
    ``m̂ = u_{t+1}·m/(1 - U_t·u_{t+1}) + (1 - u_t)·g/(1 - U_t)``;
    ``w -= lr·m̂ / (√(v/(1 - beta_2ᵗ)) + epsilon)``.

    Keras keeps ``U_t`` as a float32 variable (``u_product``) multiplied by
    ``u_t`` at each step; fastnn computes it from the step number in double
    (equal to float32 rounding; it differs only when `beta_1` is changed
    between steps or `iterations` is set by hand). It is saved after the
    slots, as Keras's variable, and recomputed from `iterations` on load.
    PyTorch's NAdam decays the momentum with ``0.96^(0.004·t)`` and puts eps
    outside the bias-corrected root, with eps 1e-8 and lr 2e-3.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        beta_1: in [0, 1). Defaults to `0.9`.
        beta_2: in [0, 1). Defaults to `0.999`.
        epsilon: >= 0, added outside the square root. Defaults to `1e-7`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "nadam"

    def _scalar_variables(self) -> list:
        # Keras's `_u_product` after `iterations` steps (its last variable).
        u_product = _core.optim.nadam_u_product(self.beta_1, int(self.iterations))
        return [np.array(u_product, dtype=np.float32)]


class Adamax(_BetasEpsilon):
    """Adam with the infinity norm (Kingma & Ba; Keras 3 `Adamax`).

    ``m += (g - m)(1 - beta_1)``; ``u = max(beta_2·u, |g|)``;
    ``w -= lr/(1 - beta_1ᵗ) · m / (u + epsilon)``. PyTorch adds eps inside
    the max (``u = max(beta_2·u, |g| + eps)``) and defaults to lr 2e-3.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        beta_1: in [0, 1). Defaults to `0.9`.
        beta_2: in [0, 1). Defaults to `0.999`.
        epsilon: >= 0. Defaults to `1e-7`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "adamax"


class Lamb(_BetasEpsilon):
    """LAMB, Adam with a layer-wise trust ratio (You et al.; Keras 3 `Lamb`,
    `keras/src/optimizers/lamb.py`).

    ``m += (g - m)(1 - beta_1)``; ``v += (g² - v)(1 - beta_2)``;
    ``u = (m/(1 - beta_1ᵗ)) / (√(v/(1 - beta_2ᵗ)) + epsilon)``; then, per weight
    tensor, ``w -= r·lr·u`` with the trust ratio ``r = ‖w‖ / ‖u‖`` (1 when
    either norm is 0). Each tensor (a layer's kernel, its bias) gets its own
    ratio, so large-batch training keeps every layer's step in proportion to
    its weights. The norms are summed in double, so the ratio stays exact
    where Keras's float32 sums underflow (a gradient of 1e-30: Keras takes
    ratio 1 and barely moves, fastnn steps by ``lr·‖w‖``) or overflow.
    Keras's ``keras.optimizers.get("lamb")`` does not know the name (Keras
    leaves Lamb out of its lookup table); fastnn's `get` and
    ``compile(optimizer="lamb")`` do. PyTorch has no LAMB.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        beta_1: in [0, 1). Defaults to `0.9`.
        beta_2: in [0, 1). Defaults to `0.999`.
        epsilon: >= 0, added outside the square root. Defaults to `1e-7`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "lamb"


def _warmup_steps(value):
    """`value` as given (an int stays an int, a float a float, as Keras keeps
    it in its config) when it is a finite real number >= 0."""
    number = isinstance(value, (int, float, np.integer, np.floating))
    try:
        finite = number and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    except OverflowError:  # an int beyond float's range
        finite = False
    if not finite or value < 0:
        raise ValueError(
            "Argument `warmup_steps` must be a finite number >= 0. "
            f"Received: warmup_steps={value!r}"
        )
    return value.item() if isinstance(value, np.generic) else value


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW (Defazio et al., 2024; Keras 3 `ScheduleFreeAdamW`).

    No learning-rate schedule is needed: the weights are an interpolation of
    an Adam-like iterate ``z`` (the slot Keras calls ``momentum``: a copy of
    the weights made by `build`, or, for a model's weights, by the first
    step) and its running average ``x``:
    ``v += (g² - v)(1 - beta_2)``; ``z' = z - lr·g / (√(v/(1 - beta_2ᵗ)) + epsilon)``;
    ``x = (1 - 1/t)·(w - (1 - beta_1)·z)/beta_1 + (1/t)·z'``;
    ``w = (1 - beta_1)·z' + beta_1·x``; with ``warmup_steps`` the rate grows
    linearly, ``lr·min(t/warmup_steps, 1)``. Weight decay is decoupled (the
    base optimizer's), applied to ``w`` before the step.

    fastnn computes ``x`` from the previous ``z``, as the paper and Keras on
    JAX do. Keras 3.15 on the torch backend reads ``z`` after updating it in
    place (its ``momentum.value`` aliases the slot), so its trajectories
    differ slightly from this one. The weights are the ones to evaluate
    (Keras has no separate train/eval weights either). PyTorch has none.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.0025`.
        beta_1: the interpolation weight, in (0, 1] (the step divides by it).
            Defaults to `0.9`.
        beta_2: in [0, 1). Defaults to `0.999`.
        epsilon: >= 0, added outside the square root. Defaults to `1e-8`.
        warmup_steps: a finite number >= 0 (Keras takes a float too); 0
            means no warmup. Defaults to `0`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "schedule_free_adamw"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_0025,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        warmup_steps=0,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.beta_1 = _in_range(beta_1, "beta_1", 0.0, 1.0, hi_open=False, lo_open=True)
        self.beta_2 = _in_range(beta_2, "beta_2", 0.0, 1.0, hi_open=True)
        self.epsilon = _epsilon(epsilon)
        self.warmup_steps = _warmup_steps(warmup_steps)

    def _kernel_hyperparameters(self) -> dict:
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "warmup_steps": _warmup_steps(self.warmup_steps),  # checked here if set later
        }

    def build(self, var_list) -> None:
        """Creates the slots for `var_list` and, as Keras's `build` does,
        copies the weights into ``z`` now (the first step does it for a
        model's weights, built before `fit` may change them)."""
        super().build(var_list)
        kernel = self._kernel
        z = kernel.slot(kernel.slot_names.index("momentum"))
        for k, v in enumerate(self._variables_list):
            z[kernel.offsets[k] : kernel.offsets[k + 1]] = np.asarray(v).reshape(-1)
        kernel.copy_z_pending = False


class Lion(Optimizer):
    """Lion, the evolved sign momentum (Chen et al.; Keras 3 `Lion`).

    ``w -= lr·sign(beta_1·m + (1 - beta_1)·g)``; then
    ``m = beta_2·m + (1 - beta_2)·g``. Every step moves each weight by
    exactly ±lr (or 0), so Lion wants a learning rate 3-10x smaller than
    Adam's.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        beta_1: in (0, 1], as Keras checks (0 would be signSGD). Defaults to `0.9`.
        beta_2: in [0, 1]. Defaults to `0.99`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "lion"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_001,
        beta_1=0.9,
        beta_2=0.99,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.beta_1 = _in_range(beta_1, "beta_1", 0.0, 1.0, hi_open=False, lo_open=True)
        self.beta_2 = _in_range(beta_2, "beta_2", 0.0, 1.0, hi_open=False)

    def _kernel_hyperparameters(self) -> dict:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012; Keras 3 `Adadelta`, `keras/src/optimizers/adadelta.py`).

    ``a = rho·a + (1 - rho)·g²``; ``d = √(u + epsilon)·g / √(a + epsilon)``;
    ``u = rho·u + (1 - rho)·d²``; ``w -= lr·d``, where ``a`` and ``u`` are
    Keras's ``accumulated_grad`` and ``accumulated_delta_var`` (``d`` uses the
    previous ``u``). PyTorch's Adadelta has the same formula with lr 1.0,
    rho 0.9 and eps 1e-6 by default (and L2, not decoupled, weight decay).

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`
            (Adadelta tends to want larger rates; 1.0 is the paper's form).
        rho: the decay rate, in [0, 1]. Defaults to `0.95`.
        epsilon: >= 0, added inside both square roots. Defaults to `1e-7`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "adadelta"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_001,
        rho=0.95,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.rho = _in_range(rho, "rho", 0.0, 1.0, hi_open=False)
        self.epsilon = _epsilon(epsilon)

    def _kernel_hyperparameters(self) -> dict:
        return {"rho": self.rho, "epsilon": self.epsilon}


def _ftrl_sign(value, name: str, nonpositive: bool = False) -> float:
    """A finite number >= 0 (or <= 0), refused with Keras's Ftrl message."""
    value = _real(value, name)
    if value > 0.0 if nonpositive else value < 0.0:
        what = "negative or zero" if nonpositive else "positive or zero"
        raise ValueError(f"`{name}` needs to be {what}. Received: {name}={value}.")
    return value


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al., 2013; Keras 3 `Ftrl`).

    With ``p = -learning_rate_power``, per element, the accumulator ``n``
    starting at `initial_accumulator_value` and ``linear`` at 0:
    ``n' = n + g²``;
    ``linear += g + 2·l2_shrinkage·w - (n'ᵖ - nᵖ)/lr · w``;
    ``w = (clip(linear, -l1, l1) - linear) / (n'ᵖ/lr + 2·l2 + beta/lr)``;
    ``n = n'`` (`keras/src/optimizers/ftrl.py`). The power is a square root
    for the default ``p = 0.5``, else computed in double per element.
    PyTorch has no FTRL.

    Args:
        learning_rate: a number, schedule or callable. Defaults to `0.001`.
        learning_rate_power: <= 0; how the rate decreases (0: a fixed rate).
            Defaults to `-0.5`.
        initial_accumulator_value: >= 0, the accumulators' start. Defaults
            to `0.1`.
        l1_regularization_strength: >= 0. Defaults to `0.0`.
        l2_regularization_strength: >= 0 (a stabilization penalty).
            Defaults to `0.0`.
        l2_shrinkage_regularization_strength: >= 0 (a magnitude penalty added
            to the gradient). Defaults to `0.0`.
        beta: the paper's beta. Defaults to `0.0`.
        **kwargs: `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm`,
            `use_ema`, `ema_momentum`, `ema_overwrite_frequency`, `name` (see
            `Optimizer`).
    """

    _kind = "ftrl"

    def __init__(
        self,
        learning_rate=_DEFAULT_LR_0_001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        # Keras's checks and messages, in its order.
        self.initial_accumulator_value = _ftrl_sign(
            initial_accumulator_value, "initial_accumulator_value"
        )
        self.learning_rate_power = _ftrl_sign(
            learning_rate_power, "learning_rate_power", nonpositive=True
        )
        self.l1_regularization_strength = _ftrl_sign(
            l1_regularization_strength, "l1_regularization_strength"
        )
        self.l2_regularization_strength = _ftrl_sign(
            l2_regularization_strength, "l2_regularization_strength"
        )
        self.l2_shrinkage_regularization_strength = _ftrl_sign(
            l2_shrinkage_regularization_strength, "l2_shrinkage_regularization_strength"
        )
        self.beta = _real(beta, "beta")

    def _kernel_hyperparameters(self) -> dict:
        return {
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }


_ALL = {
    cls.__name__.lower(): cls
    for cls in (
        SGD,
        Adam,
        AdamW,
        RMSprop,
        Adagrad,
        Nadam,
        Adamax,
        Lion,
        Adadelta,
        Ftrl,
        Lamb,
        ScheduleFreeAdamW,
    )
}


def serialize(optimizer: Optimizer) -> dict:
    """``{"module", "class_name", "config", "registered_name"}`` as Keras 3 writes it."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"Expected a fastnn optimizer, got {optimizer!r}")
    from fastnn.saving import _class_entry

    # a user's subclass: its module and registered name, found again by them
    return _class_entry(type(optimizer), optimizer.get_config(), "keras.optimizers")


def deserialize(config: dict, custom_objects=None) -> Optimizer:
    """Builds an optimizer from the output of `serialize()` (class names
    case-insensitive). A user's optimizer (or learning rate schedule inside
    it) is found by its ``registered_name`` or class name in `custom_objects`,
    the `custom_object_scope`s entered or the registry, as in Keras."""
    from fastnn.utils.registry import CustomObjectScope, registered_for

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a dict with 'class_name' and 'config', got {config!r}")
    name = str(config["class_name"])
    cls = registered_for(config, custom_objects) or _ALL.get(name.lower())
    if cls is None:
        raise ValueError(
            f"Could not interpret optimizer identifier: '{name}'. Known: {sorted(_ALL)}"
        )
    with CustomObjectScope(custom_objects):  # for a user's schedule in its config
        return cls.from_config(dict(config.get("config", {})))


def get(identifier):
    """An optimizer from a name (``"adam"``), a `serialize()` dict or an instance.

    Raises:
        ValueError: for an unknown name or anything else.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _ALL.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Could not interpret optimizer identifier: '{identifier}'. "
                f"Known optimizers: {sorted(_ALL)}"
            )
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
