"""Raw kernels for NumPy users: the same C++ code the models run.

Every function accepts array-likes of a real numeric dtype (converted to
float32 once), releases the GIL while it computes, and returns float32 arrays.
Bad input raises ``TypeError`` (dtype) or ``ValueError`` (shape, value).
"""

from __future__ import annotations

from fastnn._core import ops as _ops

__all__ = ["relu", "relu_grad"]

# gemm
__all__ += ["dense", "matmul"]

relu = _ops.relu
relu_grad = _ops.relu_grad

# gemm
dense = _ops.dense
matmul = _ops.matmul
