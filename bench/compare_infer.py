"""Inference: model.predict of the seed network 784-128(relu)-128(relu)-10
(softmax), fastnn vs ONNX Runtime (the same weights as an ONNX graph of Gemm,
Relu and Softmax, intra-op threads equal) and vs PyTorch under
inference_mode, at batch sizes 1 to 10,000 (one predict call over the batch).

ONNX Runtime keeps its default settings. Its idle worker threads spin after
each run and held the second core during fastnn's next batch (fastnn's
2-thread predict took 1.5x longer); turning spinning off made ONNX Runtime
itself 1.2-1.6x slower. So the two sides are timed in alternating batches with
a 50 ms untimed pause after each, long enough for the spinning to stop.
ONNX Runtime packs a graph's constant weights
once when the session is built;
fastnn packs them on each call (they are trainable). Rows are skipped when
onnx / onnxruntime or torch are not installed.
"""

from __future__ import annotations

import numpy as np

import fastnn
from fastnn import layers, models

from compare import paired_medians, row

WIDTHS = (784, 128, 128, 10)
BATCHES = (1, 32, 128, 1024, 10_000)


def seed_model():
    model = models.Sequential(
        [
            layers.Input(shape=(WIDTHS[0],)),
            layers.Dense(WIDTHS[1], activation="relu"),
            layers.Dense(WIDTHS[2], activation="relu"),
            layers.Dense(WIDTHS[3], activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def onnx_session(weights, threads: int):
    """An ONNX Runtime session computing the model from its Keras-order weights."""
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    previous = "x"
    for i in range(len(weights) // 2):
        initializers.append(numpy_helper.from_array(weights[2 * i], f"W{i}"))
        initializers.append(numpy_helper.from_array(weights[2 * i + 1], f"b{i}"))
        nodes.append(helper.make_node("Gemm", [previous, f"W{i}", f"b{i}"], [f"z{i}"]))
        last = i == len(weights) // 2 - 1
        op = helper.make_node("Softmax", [f"z{i}"], [f"h{i}"], axis=-1) if last else None
        nodes.append(op or helper.make_node("Relu", [f"z{i}"], [f"h{i}"]))
        previous = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", WIDTHS[0]])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, ["N", WIDTHS[-1]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def run(args) -> list:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:  # pragma: no cover - optional peer
        onnxruntime = None
    try:
        import torch
    except ImportError:  # pragma: no cover - optional peer
        torch = None
    rng = np.random.default_rng(0)
    model = seed_model()
    weights = model.get_weights()
    rows = []
    batches = BATCHES if not args.quick else BATCHES[:3]
    for threads in args.thread_counts:
        fastnn.set_num_threads(threads)
        session = onnx_session(weights, threads) if onnxruntime is not None else None
        if torch is not None:
            torch.set_num_threads(threads)
            tmodel = torch.nn.Sequential(
                torch.nn.Linear(WIDTHS[0], WIDTHS[1]),
                torch.nn.ReLU(),
                torch.nn.Linear(WIDTHS[1], WIDTHS[2]),
                torch.nn.ReLU(),
                torch.nn.Linear(WIDTHS[2], WIDTHS[3]),
                torch.nn.Softmax(-1),
            )
            with torch.no_grad():
                for i, layer in enumerate(tmodel[::2]):
                    layer.weight.copy_(torch.from_numpy(weights[2 * i].T.copy()))
                    layer.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
        for batch in batches:
            x = rng.standard_normal((batch, WIDTHS[0])).astype(np.float32)
            expected = model.predict(x, batch_size=batch, verbose=0)

            def fast(x=x, batch=batch):
                return model.predict(x, batch_size=batch, verbose=0)

            repeats = args.repeats if batch <= 1024 else max(3, args.repeats // 4)
            if session is not None:

                def ort(x=x):
                    return session.run(None, {"x": x})[0]

                np.testing.assert_allclose(ort(), expected, rtol=1e-4, atol=1e-6)
                t_fast, t_peer = paired_medians(fast, ort, repeats, settle=0.05)
                rows.append(row(f"predict b={batch}", threads, t_fast, "onnxruntime", t_peer))
            if torch is not None:
                xt = torch.from_numpy(x)

                def torch_predict(xt=xt):
                    with torch.inference_mode():
                        return tmodel(xt).numpy()

                np.testing.assert_allclose(torch_predict(), expected, rtol=1e-4, atol=1e-6)
                t_fast, t_peer = paired_medians(fast, torch_predict, repeats)
                rows.append(
                    row(f"predict b={batch}", threads, t_fast, "torch inference_mode", t_peer)
                )
    return rows
