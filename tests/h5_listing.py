"""What an HDF5 file holds, for the tests that compare fastnn's files with
Keras's."""

from __future__ import annotations


def h5_listing(path, attrs=dict, root=False) -> dict:
    """{name: (kind, dtype, shape, attrs(obj.attrs))} of every group and
    dataset (kind "group" or "dataset"; dtype and shape None for a group),
    and the root as "/" with `root`."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        if root:
            out["/"] = ("group", None, None, attrs(f.attrs))

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = ("dataset", str(obj.dtype), tuple(obj.shape), attrs(obj.attrs))
            else:
                out[name] = ("group", None, None, attrs(obj.attrs))

        f.visititems(visit)
    return out
