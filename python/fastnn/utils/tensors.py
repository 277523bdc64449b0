"""Arrays from other libraries, taken as Keras's torch backend takes them."""

from __future__ import annotations

__all__ = ["plain_tensor"]


def plain_tensor(value):
    """A torch tensor as a NumPy array, as Keras's torch backend takes it:
    detached from autograd (``requires_grad``), on the CPU, and bfloat16,
    which NumPy lacks, widened to float32 (exact). Anything else as given."""
    if type(value).__module__.partition(".")[0] != "torch" or not hasattr(value, "detach"):
        return value
    value = value.detach().cpu()
    if str(value.dtype) == "torch.bfloat16":
        value = value.float()
    return value.numpy()
