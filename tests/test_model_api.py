"""Sequential's structural API as Keras 3 defines it: summary, pop, get_layer,
layers, count_params, get_config / from_config, and layer (de)serialization."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import initializers, layers, models, optimizers


def seed_network():
    fastnn.utils.set_random_seed(0)
    return models.Sequential(
        [
            layers.Input(shape=(784,)),
            layers.Dense(128, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def capture_summary(model, **kwargs):
    calls = []
    model.summary(print_fn=calls.append, **kwargs)
    assert len(calls) == 1  # Keras 3 hands print_fn the whole summary at once
    return calls[0]


# Keras 3.15's `model.summary()` for the seed network in a terminal of 92+
# columns (rich's rendering, without colour).
SEED_SUMMARY = """\
Model: "{name}"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ {d0:<36} │ (None, 128)                 │         100,480 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ {d1:<36} │ (None, 128)                 │          16,512 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
│ {d2:<36} │ (None, 10)                  │           1,290 │
└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘
 Total params: 118,282 (462.04 KB)
 Trainable params: 118,282 (462.04 KB)
 Non-trainable params: 0 (0.00 B)
"""


def expected_seed_summary(model):
    names = [f"{layer.name} (Dense)" for layer in model.layers]
    return SEED_SUMMARY.format(name=model.name, d0=names[0], d1=names[1], d2=names[2])


def test_summary_of_the_seed_network_matches_keras(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    model = seed_network()
    assert [layer.count_params() for layer in model.layers] == [100480, 16512, 1290]
    assert model.count_params() == 118282
    assert capture_summary(model) == expected_seed_summary(model)


def test_summary_prints_to_stdout_by_default(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    model = seed_network()
    model.summary()
    assert capsys.readouterr().out == expected_seed_summary(model)


def test_summary_adds_optimizer_params_once_the_optimizer_has_state(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    model = seed_network()
    model.compile(optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    assert "Optimizer params" not in capture_summary(model)
    x = np.zeros((4, 784), np.float32)
    model.fit(x, np.zeros(4, np.int64), verbose=0)
    tail = capture_summary(model).splitlines()[-4:]
    # Keras: iterations (int64) + learning rate (float32) + m and v per weight.
    assert tail == [
        " Total params: 354,848 (1.35 MB)",
        " Trainable params: 118,282 (462.04 KB)",
        " Non-trainable params: 0 (0.00 B)",
        " Optimizer params: 236,566 (924.09 KB)",
    ]


def test_summary_width_follows_the_terminal_like_keras(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # Keras: min(88, columns - 4)
    lines = capture_summary(seed_network()).splitlines()
    assert {len(line) for line in lines[1:10]} == {76}
    lines = capture_summary(seed_network(), line_length=120).splitlines()
    assert {len(line) for line in lines[1:10]} == {120}


def test_summary_of_an_unbuilt_model_and_of_other_layers(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    unbuilt = models.Sequential([layers.Dense(4, name="hidden"), layers.Dropout(0.5)], name="m")
    text = capture_summary(unbuilt)
    assert text.splitlines()[0] == 'Model: "m"'
    assert "│ hidden (Dense)" in text and "│ ?" in text and "0 (unbuilt) │" in text
    assert " Total params: 0 (0.00 B)" in text
    built = models.Sequential(
        [layers.Input(shape=(2, 3)), layers.Flatten(name="flat"), layers.Dense(2, name="out")]
    )
    text = capture_summary(built)
    assert "│ flat (Flatten)" in text and "(None, 6)" in text and "(None, 2)" in text
    assert " Total params: 14 (56.00 B)" in text


@pytest.mark.parametrize(
    "line_length, positions",
    [(None, None), (60, None), (76, None), (120, None), (100, [0.3, 0.6, 0.9]), (70, [30, 50, 70])],
)
def test_summary_matches_rich_rendering(monkeypatch, line_length, positions):
    """Renders the table the way keras/src/utils/summary_utils.py does, with
    rich, and compares the text."""
    rich_table = pytest.importorskip("rich.table")
    rich_console = pytest.importorskip("rich.console")
    monkeypatch.setenv("COLUMNS", "200")
    fastnn.utils.set_random_seed(0)
    model = models.Sequential(
        [
            layers.Input(shape=(20,)),
            layers.Dense(7, activation="relu", name="a_rather_long_layer_name_for_wrapping"),
            layers.Dropout(0.1),
            layers.Dense(3),
        ]
    )
    length = line_length or 88
    pos = positions or [0.45, 0.80, 1.0]
    if pos[-1] <= 1:
        pos = [int(p * length) for p in pos]
    widths = [b - a for a, b in zip([0] + pos[:-1], pos)]
    columns = [
        rich_table.Column(name, justify=justify, width=width)
        for name, justify, width in zip(
            ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"], widths
        )
    ]
    table = rich_table.Table(*columns, width=length, show_lines=True)
    shapes = ["(None, 7)", "(None, 7)", "(None, 3)"]
    for layer, shape in zip(model.layers, shapes):
        table.add_row(f"{layer.name} ({type(layer).__name__})", shape, f"{layer.count_params():,}")
    console = rich_console.Console(
        width=300, highlight=False, force_terminal=False, color_system=None
    )
    console.begin_capture()
    console.print(table)
    expected = console.end_capture()
    text = capture_summary(model, line_length=line_length, positions=positions)
    table_text = "\n".join(text.splitlines()[1:-3]) + "\n"
    assert table_text == expected


def test_summary_rejects_what_it_does_not_support():
    model = seed_network()
    with pytest.raises(TypeError, match="colour"):
        model.summary(colour=True)
    with pytest.raises(ValueError, match="Insufficient console width"):
        model.summary(line_length=8, print_fn=lambda s: None)


# -- pop / get_layer / layers / count_params ----------------------------------------


def test_pop_removes_the_last_layer_and_keeps_the_other_weights():
    model = seed_network()
    before = model.get_weights()
    last = model.layers[-1]
    assert model.pop() is last
    assert len(model.layers) == 2 and model.built
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before[:4]))
    assert len(model.get_weights()) == 4
    x = np.random.default_rng(0).standard_normal((3, 784)).astype(np.float32)
    assert model.predict(x, verbose=0).shape == (3, 128)
    model.add(layers.Dense(2, activation="softmax"))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, np.array([0, 1, 0]), verbose=0)
    assert model.predict(x, verbose=0).shape == (3, 2)


def test_pop_until_empty_then_index_error():
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2), layers.Dense(1)])
    model.pop()
    model.pop()
    assert model.layers == [] and not model.built
    with pytest.raises(IndexError, match="pop from empty list"):  # Keras 3's IndexError
        model.pop()
    model.add(layers.Dense(4))  # the input shape is kept, as Keras keeps its InputLayer
    assert model.built and model.get_weights()[0].shape == (3, 4)


def test_pop_without_rebuild_defers_the_build():
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2), layers.Dense(1)])
    model.pop(rebuild=False)
    assert not model.built
    assert model.predict(np.ones((2, 3)), verbose=0).shape == (2, 2)


def test_get_layer_by_name_and_index_with_keras_errors():
    model = seed_network()
    first, second, third = model.layers
    assert model.get_layer(first.name) is first
    assert model.get_layer(index=1) is second
    assert model.get_layer(index=-1) is third
    with pytest.raises(ValueError, match="Provide only a layer name or a layer index"):
        model.get_layer(name=first.name, index=0)
    with pytest.raises(ValueError, match="Was asked to retrieve layer at index 3 but model only"):
        model.get_layer(index=3)
    with pytest.raises(ValueError, match="index -4"):
        model.get_layer(index=-4)
    with pytest.raises(ValueError, match=r"No such layer: nope. Existing layers are: \["):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="Provide either a layer name or layer index"):
        model.get_layer()


def test_layers_is_a_copy_without_the_input_and_count_params_needs_a_build():
    model = seed_network()
    listed = model.layers
    listed.pop()
    assert len(model.layers) == 3
    assert all(isinstance(layer, layers.Dense) for layer in model.layers)
    lazy = models.Sequential([layers.Dense(3)], name="lazy")
    with pytest.raises(ValueError, match="You tried to call `count_params` on layer 'lazy'"):
        lazy.count_params()
    lazy.build((None, 5))
    assert lazy.count_params() == 18


# -- config ------------------------------------------------------------------------------


def test_get_config_from_config_round_trip():
    fastnn.utils.set_random_seed(2)
    model = models.Sequential(
        [
            layers.Input(shape=(4, 5)),
            layers.Flatten(),
            layers.Dense(
                6,
                activation="tanh",
                kernel_initializer=initializers.RandomNormal(mean=0.1, stddev=0.2, seed=4),
                bias_initializer="ones",
            ),
            layers.Dropout(0.3, seed=11),
            layers.Activation("sigmoid"),
            layers.Dense(2, use_bias=False),
        ],
        name="round_trip",
    )
    config = model.get_config()
    assert config["name"] == "round_trip" and config["build_input_shape"] == (None, 4, 5)
    assert [e["class_name"] for e in config["layers"]] == [
        "InputLayer",
        "Flatten",
        "Dense",
        "Dropout",
        "Activation",
        "Dense",
    ]
    clone = models.Sequential.from_config(config)
    assert clone.get_config() == config
    assert clone.built and clone.name == "round_trip"
    dense = clone.layers[1]
    assert isinstance(dense.kernel_initializer, initializers.RandomNormal)
    assert (dense.kernel_initializer.mean, dense.kernel_initializer.stddev) == (0.1, 0.2)
    assert dense.kernel_initializer.seed == 4
    assert isinstance(dense.bias_initializer, initializers.Ones)
    np.testing.assert_array_equal(clone.layers[1].get_weights()[1], np.ones(6, np.float32))
    # Same seeded initializer: the same kernel.
    np.testing.assert_array_equal(clone.layers[1].kernel, model.layers[1].kernel)
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_from_config_of_an_unbuilt_model_and_of_a_layer_list():
    model = models.Sequential([layers.Dense(3), layers.Dense(1)], name="lazy")
    config = model.get_config()
    assert "build_input_shape" not in config and config["layers"][0]["class_name"] == "Dense"
    clone = models.Sequential.from_config(config)
    assert not clone.built and [layer.units for layer in clone.layers] == [3, 1]
    from_list = models.Sequential.from_config(config["layers"])
    assert [layer.units for layer in from_list.layers] == [3, 1]


# The config Keras 3 writes for a small Sequential (keys it has and fastnn
# accepts at their defaults: trainable, dtype policies, regularizers, ...).
KERAS_CONFIG = {
    "name": "sequential_7",
    "trainable": True,
    "dtype": {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    },
    "layers": [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {
                "batch_shape": [None, 8],
                "dtype": "float32",
                "sparse": False,
                "ragged": False,
                "name": "input_layer_3",
            },
            "registered_name": None,
        },
        {
            "module": "keras.layers",
            "class_name": "Dense",
            "config": {
                "name": "dense_12",
                "trainable": True,
                "dtype": {
                    "module": "keras",
                    "class_name": "DTypePolicy",
                    "config": {"name": "float32"},
                    "registered_name": None,
                },
                "units": 4,
                "activation": "relu",
                "use_bias": True,
                "kernel_initializer": {
                    "module": "keras.initializers",
                    "class_name": "GlorotUniform",
                    "config": {"seed": None},
                    "registered_name": None,
                },
                "bias_initializer": {
                    "module": "keras.initializers",
                    "class_name": "Zeros",
                    "config": {},
                    "registered_name": None,
                },
                "kernel_regularizer": None,
                "bias_regularizer": None,
                "kernel_constraint": None,
                "bias_constraint": None,
            },
            "registered_name": None,
            "build_config": {"input_shape": [None, 8]},
        },
        {
            "module": "keras.layers",
            "class_name": "Dropout",
            "config": {
                "name": "dropout_2",
                "trainable": True,
                "dtype": "float32",
                "rate": 0.2,
                "seed": None,
                "noise_shape": None,
            },
            "registered_name": None,
        },
    ],
    "build_input_shape": [None, 8],
}


def test_from_config_reads_a_keras_3_config():
    model = models.Sequential.from_config(KERAS_CONFIG)
    assert model.name == "sequential_7" and model.built
    dense, dropout = model.layers
    assert (dense.name, dense.units, dense.activation) == ("dense_12", 4, "relu")
    assert (dropout.name, dropout.rate) == ("dropout_2", 0.2)
    assert model.get_weights()[0].shape == (8, 4)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("kernel_constraint", {"class_name": "UnknownNorm"}, "UnknownNorm"),
        ("gamma_constraint", {"class_name": "NonNeg"}, "gamma_constraint"),
        ("dtype", "float16", "dtype='float16' is not supported"),
        ("mystery", 1, "Unknown key 'mystery' in the config of Dense"),
    ],
)
def test_from_config_names_what_fastnn_does_not_support(key, value, match):
    import copy

    config = copy.deepcopy(KERAS_CONFIG)
    config["layers"][1]["config"][key] = value
    with pytest.raises(ValueError, match=match):
        models.Sequential.from_config(config)


def test_from_config_unknown_class_and_bad_shapes():
    with pytest.raises(ValueError, match="Unknown class_name 'Conv2D'"):
        models.Sequential.from_config({"name": "m", "layers": [{"class_name": "Conv2D"}]})
    with pytest.raises(ValueError, match="needs 'layers'"):
        models.Sequential.from_config({"name": "m"})
    with pytest.raises(TypeError, match="takes a dict"):
        models.Sequential.from_config("sequential")


@pytest.mark.parametrize(
    "layer",
    [
        layers.Dense(3, activation="gelu", use_bias=False, name="d"),
        layers.Dense(2, input_shape=(5,), kernel_initializer="he_normal"),
        layers.Dropout(0.4, seed=3),
        layers.Activation("softmax"),
        layers.Flatten(),
        layers.Input(shape=(2, 3), batch_size=8, name="pixels"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_layers_serialize_and_deserialize_round_trip(layer):
    entry = layers.serialize(layer)
    assert entry["module"] == "keras.layers" and entry["class_name"] == type(layer).__name__
    clone = layers.deserialize(entry)
    assert type(clone) is type(layer) and clone is not layer
    assert clone.get_config() == layer.get_config()
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_layer_deserialize_only_knows_layers():
    with pytest.raises(ValueError, match="Unknown class_name 'Lambda'"):
        layers.deserialize({"class_name": "Lambda", "config": {}})
    with pytest.raises(TypeError, match="takes a fastnn layer"):
        layers.serialize("dense")


# -- clone_model (keras/src/models/cloning.py) ----------------------------------------


def small_regressor():
    fastnn.utils.set_random_seed(0)
    return models.Sequential(
        [
            layers.Input(shape=(4,), name="features"),
            layers.Dense(5, activation="relu", name="hidden"),
            layers.Dense(2, name="out"),
        ],
        name="regressor",
    )


def test_clone_model_has_new_layers_and_weights_like_keras():
    model = small_regressor()
    clone = models.clone_model(model)
    assert type(clone) is models.Sequential and clone.name == "regressor"
    assert [layer.name for layer in clone.layers] == ["hidden", "out"]
    assert clone.get_config()["layers"] == model.get_config()["layers"]
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert not any(np.array_equal(a, b) for a, b in zip(clone.get_weights()[::2],
                                                        model.get_weights()[::2]))  # fmt: skip
    assert not clone.compiled  # as its source


def test_clone_model_of_a_compiled_model_is_compiled_alike_with_its_own_optimizer():
    model = small_regressor()
    model.compile(optimizers.SGD(0.05, momentum=0.5), "mae", metrics=["mse"])
    clone = models.clone_model(model)
    assert clone.compiled and clone.optimizer is not model.optimizer
    assert clone.get_compile_config() == model.get_compile_config()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    y = np.random.default_rng(1).standard_normal((16, 2)).astype(np.float32)
    expected = model.fit(x, y, epochs=2, verbose=0, shuffle=False).history
    assert clone.fit(x, y, epochs=2, verbose=0, shuffle=False).history == expected


def test_clone_model_clone_function_and_input_tensors():
    def wider_hidden(layer):
        config = layer.get_config()
        if config["name"] == "hidden":
            config["units"] = 7
        return layer.__class__.from_config(config)

    clone = models.clone_model(small_regressor(), clone_function=wider_hidden)
    assert [w.shape for w in clone.get_weights()] == [(4, 7), (7,), (7, 2), (2,)]
    clone = models.clone_model(small_regressor(), input_tensors=[layers.Input(shape=(4,))])
    assert clone.input_shape == (None, 4)
    with pytest.raises(ValueError, match="must return a fastnn layer"):
        models.clone_model(small_regressor(), clone_function=lambda layer: None)


def test_clone_model_functional_with_call_function():
    inputs = layers.Input(shape=(4,), name="fin")
    outputs = layers.Dense(1, name="fo")(layers.Dense(3, name="fd")(inputs))
    model = models.Model(inputs, outputs, name="fm")

    def dropout_after_fd(layer, x):
        out = layer(x)
        return layers.Dropout(0.5, name="inserted")(out) if layer.name == "fd" else out

    clone = models.clone_model(model, call_function=dropout_after_fd)
    assert type(clone) is models.Model and clone.name == "fm"
    assert [layer.name for layer in clone.layers] == ["fin", "fd", "inserted", "fo"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"call_function": lambda layer, x: layer(x)}, "not supported with Sequential"),
        ({"foo": 1}, r"Unexpected keyword argument\(s\): \('foo',\)"),
        ({"input_tensors": np.zeros((1, 4))}, "must be an `Input"),
    ],
)
def test_clone_model_refuses_what_keras_refuses(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.clone_model(small_regressor(), **kwargs)


@pytest.mark.parametrize(
    "stack, match",
    [
        (lambda: [layers.Input(shape=(2**32,)), layers.Dense(2**32)], "4294967296 x 4294967296"),
        (lambda: [layers.Input(shape=(4,)), layers.Dense(2**70)], "at most 2\\*\\*56 per kernel"),
        (
            lambda: [layers.Input(shape=(2**40, 2**40)), layers.Flatten(), layers.Dense(1)],
            "input has 1208925819614629174706176 features",
        ),  # fmt: skip
    ],
)
def test_layer_sizes_the_engine_cannot_address_are_value_errors(stack, match):
    """2**32 x 2**32 overflowed int64 in the engine (a tiny buffer under huge
    views, then a hang writing them); 2**70 units or inputs were pybind11's
    RuntimeError / TypeError."""
    with pytest.raises(ValueError, match=match):
        models.Sequential(stack())


def test_adding_a_layer_too_large_leaves_the_model_unchanged():
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3)])
    weights, net = model.get_weights(), model._net
    with pytest.raises(ValueError, match="3 x 1152921504606846976 weights"):
        model.add(layers.Dense(2**60))
    assert len(model.layers) == 1 and model._net is net
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


def test_the_engine_refuses_sizes_it_cannot_address():
    """The C++ guard behind the Python one (fastnn._core used directly)."""
    from fastnn import _core

    with pytest.raises(ValueError, match="more than a buffer can address"):
        _core.nn.Network(2**40, [{"type": "dense", "units": 2**40}])
    with pytest.raises(ValueError, match="units and seed must be integers that fit in 64 bits"):
        _core.nn.Network(4, [{"type": "dense", "units": 2**70}])
    with pytest.raises(ValueError, match="input_dim must be in"):
        _core.nn.Network(2**60, [{"type": "activation"}])


@pytest.mark.parametrize("shape", [(2.5,), "4", ("4",), (True,), (float("nan"),)])
def test_input_shapes_must_hold_whole_numbers(shape):
    """(2.5,) built a model of 2 inputs (int() truncated it), "4" one of 4,
    (True,) one of 1; ("a",) was int()'s 'invalid literal' ValueError."""
    with pytest.raises(TypeError, match="input_shape must be a tuple of ints"):
        models.Sequential([layers.Input(shape=shape), layers.Flatten(), layers.Dense(2)])
    with pytest.raises(TypeError, match="input_shape must be a tuple of ints"):
        layers.Dense(2, input_shape=shape)
    model = models.Sequential([layers.Dense(2)])
    with pytest.raises(TypeError, match="input_shape must be a tuple of ints"):
        model.build((None, *shape) if isinstance(shape, tuple) else (None, shape))
    assert not model.built


def test_input_shapes_of_whole_floats_and_numpy_ints_are_fine():
    for shape in [(3.0,), (np.int64(3),), (np.float32(3),), 3, [3]]:
        model = models.Sequential([layers.Input(shape=shape), layers.Dense(2)])
        assert model.input_shape == (None, 3)


# -- summary's show_trainable / layer_range / expand_nested ------------------------------

# Keras 3.15's text (colour codes removed) for the functional model below.
SHOW_TRAINABLE_SUMMARY = """\
Model: "fm"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━┓
┃ Layer (type)                ┃ Output Shape          ┃    Param # ┃ Trai… ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━┩
│ inp (InputLayer)            │ (None, 5)             │          0 │   -   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ d1 (Dense)                  │ (None, 4)             │         24 │   N   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ act (Activation)            │ (None, 4)             │          0 │   -   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ d2 (Dense)                  │ (None, 2)             │         10 │   Y   │
└─────────────────────────────┴───────────────────────┴────────────┴───────┘
 Total params: 34 (136.00 B)
 Trainable params: 10 (40.00 B)
 Non-trainable params: 24 (96.00 B)
"""

LAYER_RANGE_SUMMARY = """\
Model: "fm"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━┓
┃ Layer (type)              ┃ Output Shape        ┃   Param # ┃ Tra… ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━┩
│ d1 (Dense)                │ (None, 4)           │        24 │  N   │
├───────────────────────────┼─────────────────────┼───────────┼──────┤
│ act (Activation)          │ (None, 4)           │         0 │  -   │
├───────────────────────────┼─────────────────────┼───────────┼──────┤
│ d2 (Dense)                │ (None, 2)           │        10 │  Y   │
└───────────────────────────┴─────────────────────┴───────────┴──────┘
 Total params: 34 (136.00 B)
 Trainable params: 10 (40.00 B)
 Non-trainable params: 24 (96.00 B)
"""


def frozen_first_functional():
    inputs = layers.Input(shape=(5,), name="inp")
    x = layers.Activation("relu", name="act")(layers.Dense(4, name="d1")(inputs))
    model = models.Model(inputs, layers.Dense(2, name="d2")(x), name="fm")
    model.get_layer("d1").trainable = False
    return model


def test_summary_show_trainable_and_layer_range_as_keras():
    model = frozen_first_functional()
    assert capture_summary(model, show_trainable=True, line_length=76) == SHOW_TRAINABLE_SUMMARY
    # layer_range: regular expressions, the bounds in either order, both included
    text = capture_summary(model, layer_range=["d2", "d1"], show_trainable=True, line_length=70)
    assert text == LAYER_RANGE_SUMMARY
    assert capture_summary(model, expand_nested=True) == capture_summary(model)
    with pytest.raises(ValueError, match="do not match the layer names"):
        model.summary(layer_range=["zz", "d1"])
    with pytest.raises(ValueError, match="length 2"):
        model.summary(layer_range=["d1"])


def test_from_config_builds_the_network_once(monkeypatch):
    """Each layer's add() rebuilt the whole network and re-drew every layer's
    weights: loading n layers was O(n**2) (3000 layers took minutes; copying or
    pickling such a model too). Built once, it draws the weights the
    constructor draws for the same seed."""
    from fastnn import _core, utils

    def stack():
        return [layers.Input(shape=(3,))] + [layers.Dense(2, name=f"d{i}") for i in range(60)]

    config = models.Sequential(stack()).get_config()
    built = []
    network = _core.nn.Network
    monkeypatch.setattr(_core.nn, "Network", lambda *a: built.append(1) or network(*a))
    utils.set_random_seed(3)
    loaded = models.Sequential.from_config(config)
    assert len(built) == 1 and len(loaded.layers) == 60
    utils.set_random_seed(3)
    direct = models.Sequential(stack())
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), direct.get_weights()))
