"""`plot_model` and `model_to_dot`, as Keras 3's ``keras.utils`` has them: a
model's chain of layers drawn with pydot and Graphviz (``pip install pydot``
and Graphviz's ``dot`` program, e.g. ``apt-get install graphviz``).

Without them, `plot_model` raises Keras's ImportError (in IPython it prints
the message and returns, as Keras does).
"""

from __future__ import annotations

import os
import sys


def _escape(text: str) -> str:
    """HTML-escaped `text` (html imported when a graph is drawn: it adds a
    few milliseconds to ``import fastnn``)."""
    import html

    return html.escape(text)


def _pydot():
    try:
        import pydot
    except ImportError:
        return None
    return pydot


def _has_graphviz(pydot) -> bool:
    try:
        pydot.Dot.create(pydot.Dot())
    except (OSError, pydot.PydotException):
        return False
    return True


def _shape_text(shape) -> str:
    return "?" if shape is None else str((None, *shape))


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "name", None) or getattr(activation, "__name__", str(activation))


def _label(layer, input_shape, output_shape, options: dict) -> str:
    """A node's label: a Graphviz HTML table of what the options ask for."""
    cls = type(layer).__name__
    title = (
        f"<b>{_escape(layer.name)}</b> ({cls})" if options["show_layer_names"] else f"<b>{cls}</b>"
    )
    rows = [f'<tr><td bgcolor="black"><font color="white">{title}</font></td></tr>']
    activation = _activation_name(layer) if options["show_layer_activations"] else None
    if activation is not None:
        rows.append(f"<tr><td>Activation: <b>{_escape(str(activation))}</b></td></tr>")
    cells = []
    if options["show_shapes"]:
        if cls != "InputLayer":
            cells.append(f"Input shape: <b>{_shape_text(input_shape)}</b>")
        cells.append(f"Output shape: <b>{_shape_text(output_shape)}</b>")
    if options["show_dtype"]:
        cells.append("Output dtype: <b>float32</b>")
    if options["show_trainable"] and getattr(layer, "weights", None):  # (layers with weights)
        cells.append(f"Trainable: <b>{'T' if layer.trainable else 'F'}</b>")
    if cells:
        rows.append("<tr><td>" + " | ".join(cells) + "</td></tr>")
    return '<<table border="0" cellborder="1" cellpadding="8">' + "".join(rows) + "</table>>"


def _chain(model):
    """``[(layer, input_shape, output_shape)]`` in order, an InputLayer first
    when the model knows its input shape."""
    from fastnn.layers import InputLayer

    shape = getattr(model, "_input_shape", None)
    chain = []
    if shape is not None:
        chain.append((InputLayer(shape=tuple(shape), name="input_layer"), None, tuple(shape)))
    for layer in model.layers:
        out = None
        if shape is not None:
            try:
                out = tuple(layer._sample_output_shape(tuple(shape)))
            except (ValueError, TypeError):
                out = None
        chain.append((layer, shape, out))
        shape = out
    return chain


def model_to_dot(
    model,
    show_shapes=False,
    show_dtype=False,
    show_layer_names=True,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    subgraph=False,
    show_layer_activations=False,
    show_trainable=False,
    splines="ortho",
    **kwargs,
):
    """The model as a `pydot.Dot` graph: one node per layer (an InputLayer
    first), joined in order.

    Args:
        model: a fastnn model.
        show_shapes: show each layer's input and output shapes.
        show_dtype: show the output dtype (float32).
        show_layer_names: show the layers' names. Defaults to `True`.
        rankdir: `"TB"` (top to bottom) or `"LR"` (left to right).
        expand_nested: accepted for Keras compatibility (a nested model is
            listed layer by layer in fastnn).
        dpi: the image's resolution.
        subgraph: accepted for Keras compatibility.
        show_layer_activations: show the Dense and Activation layers'
            activations.
        show_trainable: show whether each layer trains.
        splines: Graphviz's edge style.

    Raises:
        ImportError: pydot is not installed.
        ValueError: an unknown keyword argument.
    """
    del expand_nested, subgraph
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if getattr(model, "_input_shape", None) is None:
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` or "
            "by calling the model on a batch of data."
        )
    pydot = _pydot()
    if pydot is None:
        raise ImportError(
            "You must install pydot (`pip install pydot`) for `model_to_dot` to work."
        )
    dot = pydot.Dot()
    dot.set("rankdir", rankdir)
    dot.set("concentrate", True)
    dot.set("dpi", dpi)
    dot.set("splines", splines)
    dot.set_node_defaults(shape="plain")
    options = {
        "show_shapes": show_shapes,
        "show_dtype": show_dtype,
        "show_layer_names": show_layer_names,
        "show_layer_activations": show_layer_activations,
        "show_trainable": show_trainable,
    }
    previous = None
    for index, (layer, input_shape, output_shape) in enumerate(_chain(model)):
        node = pydot.Node(f"layer_{index}", label=_label(layer, input_shape, output_shape, options))
        dot.add_node(node)
        if previous is not None:
            dot.add_edge(pydot.Edge(previous, f"layer_{index}", penwidth="2"))
        previous = f"layer_{index}"
    return dot


def plot_model(
    model,
    to_file="model.png",
    show_shapes=False,
    show_dtype=False,
    show_layer_names=False,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    show_layer_activations=False,
    show_trainable=False,
    splines="ortho",
    **kwargs,
):
    """Draws the model (see `model_to_dot`) into `to_file`, in the format its
    extension names (png when none), as Keras 3's ``plot_model``.

    Returns:
        An IPython ``Image`` (``SVG``) of the file when IPython is installed
        and can show the format (not a pdf), else None.

    Raises:
        ImportError: pydot or Graphviz is missing (outside IPython, where the
            message is printed instead), as in Keras.
        ValueError: an unknown keyword argument.
    """
    pydot = _pydot()
    missing = None
    if pydot is None:
        missing = "You must install pydot (`pip install pydot`) for `plot_model` to work."
    elif not _has_graphviz(pydot):
        missing = (
            "You must install graphviz (see instructions at "
            "https://graphviz.gitlab.io/download/) for `plot_model` to work."
        )
    if missing is not None:
        if "IPython.core.magics.namespace" in sys.modules:
            from fastnn.utils.io_utils import print_msg

            print_msg(missing)
            return None
        raise ImportError(missing)
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    dot = model_to_dot(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        rankdir=rankdir,
        expand_nested=expand_nested,
        dpi=dpi,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
        splines=splines,
        **kwargs,
    )
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension == "pdf":
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    if extension == "svg":
        return display.SVG(filename=to_file)
    try:
        return display.Image(filename=to_file)
    except ValueError:  # a format IPython cannot embed
        return None
