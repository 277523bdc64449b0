"""Keras's naming rule, shared by layer and loss names and saved-file paths."""

from __future__ import annotations

import re


def to_snake_case(name: str) -> str:
    """'Dense' -> 'dense', 'InputLayer' -> 'input_layer', 'ReLU' -> 're_lu'
    (keras.src.utils.naming.to_snake_case)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name
