"""Keras's `register_keras_serializable`: a registered custom initializer is
written with its registered name and found again by `load_model`,
`from_config` and `deserialize_keras_object`; Keras's errors for a class
without get_config, a bad package and a second registration."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import initializers, layers, models, saving, utils
from fastnn.utils import registry


@pytest.fixture(autouse=True)
def _clean_registry():
    before = dict(registry._GLOBAL_CUSTOM_OBJECTS), dict(registry._GLOBAL_CUSTOM_NAMES)
    yield
    for table, saved in zip(
        (registry._GLOBAL_CUSTOM_OBJECTS, registry._GLOBAL_CUSTOM_NAMES), before
    ):
        table.clear()
        table.update(saved)


def _register_halves():
    @utils.register_keras_serializable(package="tests")
    class Halves(initializers.Initializer):
        kernel = "halves"

        def __init__(self, value=0.5):
            super().__init__()
            self.value = value

        def __call__(self, shape, dtype=None):
            return np.full(shape, self.value, np.float32)

        def get_config(self):
            return {"value": self.value}

    return Halves


def test_registered_initializer_survives_save_and_load(tmp_path):
    halves = _register_halves()
    assert saving.get_registered_name(halves) == "tests>Halves"
    assert saving.get_registered_object("tests>Halves") is halves
    assert utils.get_custom_objects()["tests>Halves"] is halves
    model = models.Sequential(
        [layers.Input((3,)), layers.Dense(2, kernel_initializer=halves(0.25))]
    )
    config = model.layers[0].get_config()["kernel_initializer"]
    assert config["class_name"] == "Halves" and config["registered_name"] == "tests>Halves"
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[0].kernel_initializer) is halves
    assert loaded.layers[0].kernel_initializer.value == 0.25
    np.testing.assert_array_equal(loaded.layers[0].kernel, np.full((3, 2), 0.25, np.float32))
    rebuilt = models.Sequential.from_config(model.get_config())
    np.testing.assert_array_equal(rebuilt.layers[0].kernel, np.full((3, 2), 0.25, np.float32))


def test_an_unregistered_custom_initializer_is_not_found_by_load(tmp_path):
    halves = _register_halves()
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, kernel_initializer=halves())])
    model.save(tmp_path / "m.keras")
    registry._GLOBAL_CUSTOM_OBJECTS.pop("tests>Halves")
    with pytest.raises(ValueError, match="Halves"):
        models.load_model(tmp_path / "m.keras")


def test_deserialize_finds_registered_objects_by_registered_name():
    halves = _register_halves()
    config = {"class_name": "Halves", "config": {"value": 2.0}, "registered_name": "tests>Halves"}
    obj = saving.deserialize_keras_object(config, {})
    assert type(obj) is halves and obj.value == 2.0
    assert saving.get_registered_object("nothing") is None


def test_registration_errors_as_keras():
    with pytest.raises(ValueError, match="does not have a get_config"):
        utils.register_keras_serializable()(type("NoConfig", (), {}))
    with pytest.raises(ValueError, match="without the '>' character"):
        utils.register_keras_serializable(package="a>b")
    _register_halves()
    with pytest.raises(ValueError, match="tests>Halves has already been registered"):
        _register_halves()


def test_a_registered_function_keeps_its_name():
    @saving.register_keras_serializable(package="pkg", name="scaled")
    def scale(x):
        return 2 * x

    assert saving.get_registered_name(scale) == "pkg>scaled"
    assert saving.get_registered_name(np.mean) == "mean"
