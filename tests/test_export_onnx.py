"""``model.export(path, format="onnx")``: ONNX Runtime running the file
gives what `predict` gives, for every activation the engine has and every
layer a model can hold; Keras's own ONNX export of the same weights agrees;
bad calls raise clear errors and leave an existing file as it was."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import layers, models

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# every Keras id the engine knows (gelu_approximate too), and None
ACTIVATIONS = [*sorted(fastnn.activations._KERNELS), None]


def run_onnx(path, x):
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    return session.run(None, {given.name: np.asarray(x, np.float32)})[0], session


def exported(model, tmp_path, x, name="model.onnx"):
    path = tmp_path / name
    model.export(path, format="onnx", verbose=False)
    out, session = run_onnx(path, x)
    return out, session


def check_same(model, tmp_path, x, rtol=1e-5, atol=2e-6):
    out, _ = exported(model, tmp_path, x)
    expected = model.predict(x, verbose=0)
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_dense_activation(tmp_path, rng, activation):
    fastnn.utils.set_random_seed(3)
    model = models.Sequential(
        [layers.Input((6,)), layers.Dense(11, activation=activation), layers.Dense(5)]
    )
    # inputs over the activations' interesting ranges (shrink thresholds, +-1, 0)
    x = (3 * rng.standard_normal((37, 6))).astype(np.float32)
    check_same(model, tmp_path, x)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.ReLU(),
        lambda: layers.ReLU(max_value=1.5),
        lambda: layers.ReLU(negative_slope=0.1, threshold=0.3),
        lambda: layers.ReLU(max_value=2.0, negative_slope=0.05, threshold=0.2),
        lambda: layers.LeakyReLU(0.25),
        lambda: layers.ELU(0.6),
        lambda: layers.Softmax(),
        lambda: layers.PReLU(alpha_initializer="random_uniform"),
        lambda: layers.UnitNormalization(),
        lambda: layers.LayerNormalization(),
        lambda: layers.LayerNormalization(center=False, scale=False, epsilon=0.1),
        lambda: layers.BatchNormalization(),
        lambda: layers.BatchNormalization(center=False, scale=False, epsilon=0.01),
        lambda: layers.Dropout(0.4),
        lambda: layers.GaussianNoise(0.2),
        lambda: layers.GaussianDropout(0.2),
        lambda: layers.AlphaDropout(0.2),
        lambda: layers.ActivityRegularization(0.01),
        lambda: layers.Identity(),
        lambda: layers.Activation("gelu"),
    ],
    ids=lambda make: type(make()).__name__,
)
def test_every_layer_after_training(tmp_path, rng, make):
    fastnn.utils.set_random_seed(1)
    model = models.Sequential(
        [layers.Input((5,)), layers.Dense(8, activation="tanh"), make(), layers.Dense(3)]
    )
    x = rng.standard_normal((40, 5)).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(x, rng.standard_normal((40, 3)), epochs=3, batch_size=8, verbose=0)
    check_same(model, tmp_path, x)


def test_unit_normalization_keeps_a_zero_row(tmp_path):
    model = models.Sequential([layers.Input((3,)), layers.UnitNormalization()])
    x = np.array([[0, 0, 0], [3, 4, 0]], np.float32)
    out, _ = exported(model, tmp_path, x)
    np.testing.assert_allclose(out, [[0, 0, 0], [0.6, 0.8, 0]], rtol=1e-6)


def test_images_with_preprocessing_and_a_shaped_output(tmp_path, rng):
    """(n, 4, 3) images: per-column Rescaling, Flatten, adapted Normalization
    (and an inverted one), Dense, then a Reshape of the output."""
    x = rng.integers(0, 256, (23, 4, 3)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(x.reshape(23, 12) / 255)
    inverse = layers.Normalization(mean=0.5, variance=4.0, invert=True)
    fastnn.utils.set_random_seed(2)
    model = models.Sequential(
        [
            layers.Input((4, 3)),
            layers.Rescaling(np.array([1 / 255, 2 / 255, 3 / 255], np.float32), offset=0.1),
            layers.Flatten(),
            norm,
            inverse,
            layers.Dense(6, activation="relu"),
            layers.Reshape((2, 3)),
        ]
    )
    out, session = exported(model, tmp_path, x)
    assert session.get_inputs()[0].shape == ["batch", 4, 3]
    assert session.get_outputs()[0].name == "output_0"
    assert session.get_outputs()[0].shape == ["batch", 2, 3]
    np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_any_batch_length_and_functional_names(tmp_path, rng):
    inputs = fastnn.Input((7,), name="features")
    hidden = layers.Dense(9, activation="relu")(inputs)
    model = fastnn.Model(inputs, layers.Dense(2, activation="softmax")(hidden))
    path = tmp_path / "f.onnx"
    model.export(str(path), format="onnx", verbose=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "features"
    for rows in (1, 2, 301):
        x = rng.standard_normal((rows, 7)).astype(np.float32)
        (out,) = session.run(None, {"features": x})
        np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_nested_models_and_the_seed_network(tmp_path, rng):
    fastnn.utils.set_random_seed(4)
    body = models.Sequential([layers.Input((784,)), layers.Dense(128, activation="relu")])
    model = models.Sequential(
        [body, layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")]
    )
    model.build((None, 784))
    x = rng.random((64, 784)).astype(np.float32)
    check_same(model, tmp_path, x)


def test_the_same_as_keras_own_onnx_export(tmp_path, rng):
    from keras_inprocess import keras_or_skip, keras_quiet

    keras = keras_or_skip()
    pytest.importorskip("torch")
    x = rng.standard_normal((16, 6)).astype(np.float32)
    built = []
    for lib in (fastnn, keras):
        model = lib.Sequential(
            [
                lib.Input((6,)),
                lib.layers.Dense(12, activation="elu"),
                lib.layers.BatchNormalization(),
                lib.layers.Dense(4, activation="softmax"),
            ]
        )
        built.append(model)
    ours, theirs = built
    weights = [
        w + 0.1 * rng.standard_normal(w.shape).astype(np.float32) for w in ours.get_weights()
    ]
    weights[-3] = np.abs(weights[-3]) + 0.5  # a moving variance > 0
    ours.set_weights(weights)
    theirs.set_weights(weights)
    with keras_quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch's exporter warns as it traces)
        theirs.predict(x, verbose=0)  # Keras exports only a model that ran
        try:
            theirs.export(str(tmp_path / "keras.onnx"), format="onnx", verbose=False)
        except Exception as e:  # noqa: BLE001 (torch's exporter missing a piece here)
            pytest.skip(f"Keras's ONNX export does not run here: {e}")
    keras_out, _ = run_onnx(tmp_path / "keras.onnx", x)
    our_out, _ = exported(ours, tmp_path, x)
    np.testing.assert_allclose(our_out, keras_out, rtol=1e-5, atol=1e-6)


def test_verbose_prints_keras_message(tmp_path, capsys):
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx")
    assert capsys.readouterr().out == f"Saved artifact at '{path}'.\n"
    model.export(path, format="onnx", verbose=False)
    assert capsys.readouterr().out == ""


def test_bad_calls_raise_and_leave_the_file(tmp_path):
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")
    with pytest.raises(ValueError, match="format='onnx'"):
        model.export(path)  # Keras's default tf_saved_model needs TensorFlow
    with pytest.raises(ValueError, match="format='onnx'"):
        model.export(path, format="torch")
    with pytest.raises(ValueError, match="Unrecognized format=zip"):
        model.export(path, format="zip")
    with pytest.raises(ValueError, match="input_signature"):
        model.export(path, format="onnx", input_signature=[(None, 2)])
    with pytest.raises(ValueError, match="opset 20 or newer"):
        model.export(path, format="onnx", opset_version=13)
    with pytest.raises(ValueError, match="opset_version must be an integer"):
        model.export(path, format="onnx", opset_version="20")
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        model.export(path, format="onnx", dynamic_axes=True)
    with pytest.raises(ValueError, match="not built"):
        models.Sequential([layers.Dense(1)]).export(path, format="onnx")
    inputs = fastnn.Input((3,))
    hidden = layers.Dense(4)(inputs)
    two = fastnn.Model(inputs, [hidden, layers.Dense(2)(hidden)])
    with pytest.raises(NotImplementedError, match="several outputs"):
        two.export(path, format="onnx")
    with pytest.raises(OSError):
        model.export(tmp_path / "missing" / "m.onnx", format="onnx", verbose=False)
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporary left
    model.export(path, format="onnx", verbose=False)
    assert onnx.load(str(path)).opset_import[0].version == 20
