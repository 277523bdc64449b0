"""Optimizers (``keras.optimizers``).

Minimal for now: plain stochastic gradient descent, which the network engine
applies in C++ as one pass over the flat parameter buffer.
"""

from __future__ import annotations

__all__ = ["SGD", "get"]


class SGD:
    """Gradient descent: ``w <- w - learning_rate * g``.

    Args:
        learning_rate: a positive float. Defaults to `0.01`.
        name: the optimizer's name. Defaults to `"SGD"`.

    >>> opt = SGD(learning_rate=0.1)
    """

    def __init__(self, learning_rate: float = 0.01, name: str = "SGD"):
        try:
            lr = float(learning_rate)
        except (TypeError, ValueError):
            raise TypeError(f"learning_rate must be a float, got {learning_rate!r}") from None
        if not lr > 0.0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        self.learning_rate = lr
        self.name = name

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self.learning_rate}


def get(identifier):
    """An optimizer from its Keras string id (``"sgd"``) or an instance."""
    if isinstance(identifier, SGD):
        return identifier
    if isinstance(identifier, str) and identifier.lower() == "sgd":
        return SGD()
    raise ValueError(f"Unknown or unsupported optimizer {identifier!r}; available: 'sgd' (SGD)")
