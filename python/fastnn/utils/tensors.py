"""Arrays and data sources from other libraries, taken as Keras's torch
backend takes them. Torch is never imported here unless the object in hand
comes from it (its class or a base class is torch's), so that torch stays
optional and ``import fastnn`` does not load it."""

from __future__ import annotations

import numpy as np

__all__ = ["plain_tensor"]


def _torch_base(value, names, module: str) -> bool:
    """Whether `value`'s class, or one of its bases, is torch's class of one
    of `names` defined in `module` or below it (Keras's is_torch_dataloader
    walks the MRO the same way, so subclasses count and torch is not
    imported)."""
    for parent in type(value).__mro__:
        home = getattr(parent, "__module__", "") or ""
        if parent.__name__ in names and (home == module or home.startswith(module + ".")):
            return True
    return False


def is_torch_tensor(value) -> bool:
    """A `torch.Tensor` (a `Parameter` or another subclass too)."""
    return _torch_base(value, ("Tensor",), "torch")


def is_torch_dataloader(value) -> bool:
    """A `torch.utils.data.DataLoader` or a subclass of it."""
    return _torch_base(value, ("DataLoader",), "torch.utils.data")


def is_torch_dataset(value) -> bool:
    """A `torch.utils.data.Dataset` (map-style or iterable: TensorDataset,
    a torchvision dataset, a Subset ...), which Keras reads only through a
    DataLoader."""
    return _torch_base(value, ("Dataset", "IterableDataset"), "torch.utils.data")


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


def as_torch_tensor(array):
    """A float32 NumPy result as a CPU torch tensor sharing its memory
    (``requires_grad`` False): what an eager call on a torch tensor returns,
    as Keras's torch backend returns tensors. Only called when the caller's
    input was a torch tensor, so torch is already imported."""
    import torch

    return torch.from_numpy(np.asarray(array, dtype=np.float32).view(np.ndarray))
