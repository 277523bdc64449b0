"""Raw kernels for NumPy users: the same C++ code the models run.

Every function accepts array-likes of a real numeric dtype (converted to
float32 once), releases the GIL while it computes, and returns float32 arrays.
Bad input raises ``TypeError`` (dtype) or ``ValueError`` (shape, value).
"""

from __future__ import annotations

from fastnn._core import ops as _ops

__all__ = [
    "relu",
    "relu_grad",
    # optimizer steps (cpp/optim)
    "adagrad_update",
    "adam_update",
    "adamw_update",
    "rmsprop_update",
    "sgd_update",
]

# gemm
__all__ += ["dense", "matmul"]

relu = _ops.relu
relu_grad = _ops.relu_grad

# Activations and losses (cpp/ops/activations.h, cpp/ops/losses.h).
__all__ += ["activation", "activation_grad", "loss"]

activation = _ops.activation
activation_grad = _ops.activation_grad
loss = _ops.loss

# Optimizer steps: Keras 3 formulas, in place on float32 arrays (cpp/optim/optimizer.h).
adagrad_update = _ops.adagrad_update
adam_update = _ops.adam_update
adamw_update = _ops.adamw_update
rmsprop_update = _ops.rmsprop_update
sgd_update = _ops.sgd_update

# gemm
dense = _ops.dense
matmul = _ops.matmul
