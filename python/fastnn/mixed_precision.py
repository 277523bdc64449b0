"""``keras.mixed_precision`` as far as a float32 engine goes: the float32
policy is accepted everywhere Keras takes a policy (scripts set it
explicitly), any other policy (``"mixed_float16"``, ``"float64"``, ...) is a
ValueError saying fastnn computes in float32 only.

>>> set_global_policy("float32")
>>> global_policy()
<DTypePolicy "float32">
"""

from __future__ import annotations

from fastnn import _absent

__all__ = [
    "DTypePolicy",
    "Policy",
    "dtype_policy",
    "global_policy",
    "set_dtype_policy",
    "set_global_policy",
]

# What Keras's DTypePolicy accepts besides float32 (refused here with the reason).
_KERAS_POLICIES = ("mixed_float16", "mixed_bfloat16", "float16", "bfloat16", "float64")


def _policy_name(policy) -> str:
    """The policy's name, checked: float32 only."""
    if policy is None:
        return "float32"  # Keras: None resets to floatx
    name = getattr(policy, "name", policy)
    if name == "float32":
        return name
    if name in _KERAS_POLICIES:
        raise ValueError(
            f"fastnn computes in float32 only; the dtype policy {name!r} (mixed or other "
            "precision) is not supported. Use 'float32'."
        )
    raise ValueError(
        f"Cannot convert {policy!r} to a mixed precision DTypePolicy. Valid policies include "
        "'mixed_float16', 'mixed_bfloat16', and the name of any float dtype such as 'float32' "
        "(fastnn runs 'float32' only)."
    )


class DTypePolicy:
    """Keras 3's ``DTypePolicy``: the compute and variable dtypes of layers;
    in fastnn always float32.

    Args:
        name: ``"float32"`` (or None, the same). Another policy is a
            ValueError.
    """

    def __init__(self, name=None):
        self._name = _policy_name(name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return "float32"

    @property
    def variable_dtype(self) -> str:
        return "float32"

    @property
    def quantization_mode(self):
        return None

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other) -> bool:
        if isinstance(other, DTypePolicy):
            return self._name == other._name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._name)


Policy = DTypePolicy  # Keras's older name


def set_global_policy(policy) -> None:
    """Keras's ``mixed_precision.set_global_policy``: ``"float32"`` (a name or
    a DTypePolicy) or None; another policy is a ValueError."""
    _policy_name(policy)


def global_policy() -> DTypePolicy:
    """The global policy: float32."""
    return DTypePolicy("float32")


set_dtype_policy = set_global_policy
dtype_policy = global_policy

# Keras's names this module lacks say what they are and why (fastnn._absent).
__getattr__ = _absent.module_getattr(__name__)
