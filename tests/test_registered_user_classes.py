"""A user's classes (subclasses of fastnn's LearningRateSchedule, Metric,
Loss, Layer, Optimizer, Initializer, Regularizer, Constraint) serialize as
Keras writes them: their own module (None for __main__) and their
registered name, so that they load again (by registration or
custom_objects) in fastnn, and in Keras where it has the same class
registered; and Keras's such files load in fastnn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import constraints, initializers, layers, losses, metrics, models, optimizers, saving
from fastnn.optimizers import schedules
from fastnn.utils import registry


@pytest.fixture(autouse=True)
def _clean_registries():
    """Each test registers its classes afresh, in fastnn's registry and (when
    it uses Keras) Keras's."""
    tables = [registry._GLOBAL_CUSTOM_OBJECTS, registry._GLOBAL_CUSTOM_NAMES]
    try:
        from keras.src.saving import object_registration
    except ImportError:
        object_registration = None
    if object_registration is not None:
        tables += [
            object_registration.GLOBAL_CUSTOM_OBJECTS,
            object_registration.GLOBAL_CUSTOM_NAMES,
        ]
    before = [dict(t) for t in tables]
    yield
    for table, saved in zip(tables, before):
        table.clear()
        table.update(saved)


def half_schedule(module, register=True):
    """A user's schedule for fastnn's or Keras's module: lr0 / (1 + step)."""
    base = module.optimizers.schedules.LearningRateSchedule

    class Half(base):
        def __init__(self, lr0):
            self.lr0 = lr0

        def __call__(self, step):
            if module is fastnn:
                return self.lr0 / (1.0 + float(step))
            return self.lr0 / (1.0 + module.ops.cast(step, "float32"))

        def get_config(self):
            return {"lr0": self.lr0}

    if register:
        Half = module.saving.register_keras_serializable(package="sched")(Half)
    return Half


def small_model(module, optimizer):
    model = module.Sequential([module.Input((3,)), module.layers.Dense(2)])
    model.compile(optimizer, "mse")
    x = np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3)
    model.fit(x, x[:, :2] * 2.0, epochs=1, batch_size=4, verbose=0)
    return model


# -- learning rate schedules -------------------------------------------------------------


def test_a_registered_schedule_serializes_with_its_registered_name():
    half = half_schedule(fastnn)
    config = schedules.serialize(half(0.1))
    assert config == {
        "module": __name__,
        "class_name": "Half",
        "config": {"lr0": 0.1},
        "registered_name": "sched>Half",
    }
    back = schedules.deserialize(json.loads(json.dumps(config)))
    assert type(back) is half and back.lr0 == 0.1
    opt = optimizers.Adam(half(0.1))
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again._learning_rate) is half and again._learning_rate.lr0 == 0.1


def test_an_unregistered_schedule_loads_with_custom_objects_only(tmp_path):
    half = half_schedule(fastnn, register=False)
    model = small_model(fastnn, optimizers.Adam(half(0.1)))
    assert int(model.optimizer.iterations) == 2
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Unknown learning rate schedule: 'Half'"):
        models.load_model(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras", custom_objects={"Half": half})
    assert type(loaded.optimizer._learning_rate) is half
    assert int(loaded.optimizer.iterations) == 2
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.1 / 3)
    config = optimizers.serialize(model.optimizer)
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        optimizers.deserialize(config)
    assert type(optimizers.deserialize(config, {"Half": half})._learning_rate) is half
    with saving.custom_object_scope({"Half": half}):
        assert type(optimizers.deserialize(config)._learning_rate) is half


def test_a_registered_schedule_s_archive_loads_in_fastnn_and_keras_and_back(tmp_path):
    keras = keras_or_skip()
    pytest.importorskip("h5py")
    ours = small_model(fastnn, optimizers.Adam(half_schedule(fastnn)(0.1)))
    ours.save(tmp_path / "ours.keras")
    loaded = models.load_model(tmp_path / "ours.keras")
    assert loaded.optimizer._learning_rate.get_config() == {"lr0": 0.1}
    their_half = half_schedule(keras)
    with keras_quiet():
        theirs = keras.saving.load_model(tmp_path / "ours.keras")
        assert type(theirs.optimizer._learning_rate) is their_half
        assert theirs.optimizer._learning_rate.get_config() == {"lr0": 0.1}
        assert int(theirs.optimizer.iterations) == 2
        keras_model = small_model(keras, keras.optimizers.Adam(their_half(0.2)))
        keras_model.save(tmp_path / "theirs.keras")
        their_config = keras.optimizers.serialize(keras_model.optimizer)["config"]["learning_rate"]
    our_config = optimizers.serialize(ours.optimizer)["config"]["learning_rate"]
    assert our_config == {**their_config, "config": {"lr0": 0.1}}
    assert their_config["registered_name"] == "sched>Half"
    from_keras = models.load_model(tmp_path / "theirs.keras")
    assert from_keras.optimizer._learning_rate.get_config() == {"lr0": 0.2}
    assert int(from_keras.optimizer.iterations) == 2


# -- every family through serialize_keras_object ------------------------------------------------


def user_classes(module):
    """A user's subclass of each family (registered in package "pk"), with
    an instance of each."""

    class MyMetric(module.metrics.Mean):
        pass

    class MyLoss(module.losses.MeanSquaredError):
        pass

    class MyLayer(module.layers.Dense):
        pass

    class MyInit(module.initializers.Constant):
        pass

    class MyReg(module.regularizers.L2):
        pass

    class MyConstraint(module.constraints.NonNeg):
        pass

    class MyAdam(module.optimizers.Adam):
        pass

    register = module.saving.register_keras_serializable(package="pk")
    return [
        register(MyMetric)(name="m"),
        register(MyLoss)(),
        register(MyLayer)(3),
        register(MyInit)(0.5),
        register(MyReg)(0.01),
        register(MyConstraint)(),
        register(MyAdam)(0.01),
        half_schedule(module)(0.1),
    ]


def test_each_family_of_user_class_round_trips_by_its_registered_name():
    for obj in user_classes(fastnn):
        cls = type(obj)
        config = json.loads(json.dumps(saving.serialize_keras_object(obj)))
        assert config["module"] == __name__, config
        assert config["class_name"] == cls.__name__
        assert config["registered_name"] == saving.get_registered_name(cls) != cls.__name__
        back = saving.deserialize_keras_object(config)
        assert type(back) is cls
        assert fastnn.utils.serialize_keras_object(obj) == saving.serialize_keras_object(obj)


def test_the_families_own_serialize_functions_keep_the_registered_name():
    objs = {type(o).__name__: o for o in user_classes(fastnn)}
    pairs = [
        (metrics.serialize, objs["MyMetric"]),
        (losses.serialize, objs["MyLoss"]),
        (layers.serialize, objs["MyLayer"]),
        (initializers.serialize, objs["MyInit"]),
        (fastnn.regularizers.serialize, objs["MyReg"]),
        (constraints.serialize, objs["MyConstraint"]),
        (optimizers.serialize, objs["MyAdam"]),
        (schedules.serialize, objs["Half"]),
    ]
    for serialize, obj in pairs:
        config = serialize(obj)
        assert config["registered_name"] == saving.get_registered_name(type(obj)), serialize
        assert config["module"] == __name__, serialize
    # fastnn's own classes keep Keras's public module and no registered name
    assert metrics.serialize(metrics.Mean())["module"] == "keras.metrics"
    assert optimizers.serialize(optimizers.Adam())["registered_name"] is None
    assert schedules.serialize(schedules.ExponentialDecay(0.1, 10, 0.9))["module"] == (
        "keras.optimizers.schedules"
    )


def test_a_model_with_user_classes_round_trips(tmp_path):
    objs = {type(o).__name__: o for o in user_classes(fastnn)}
    model = models.Sequential(
        [
            layers.Input((3,)),
            type(objs["MyLayer"])(
                2,
                kernel_initializer=objs["MyInit"],
                kernel_regularizer=objs["MyReg"],
                kernel_constraint=objs["MyConstraint"],
            ),
        ]
    )
    model.compile(objs["MyAdam"], objs["MyLoss"], metrics=[objs["MyMetric"]])
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[0]) is type(objs["MyLayer"])
    assert type(loaded.optimizer) is type(objs["MyAdam"])
    assert type(loaded.loss) is type(objs["MyLoss"])
    assert type(loaded.layers[0].kernel_initializer) is type(objs["MyInit"])
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_keras_writes_the_same_entries_and_each_side_reads_the_other_s():
    keras = keras_or_skip()
    ours, theirs = user_classes(fastnn), user_classes(keras)
    for our_obj, their_obj in zip(ours, theirs):
        our_config = saving.serialize_keras_object(our_obj)
        with keras_quiet():
            their_config = keras.saving.serialize_keras_object(their_obj)
            from_ours = keras.saving.deserialize_keras_object(json.loads(json.dumps(our_config)))
        for key in ("module", "class_name", "registered_name"):
            assert our_config[key] == their_config[key], (key, our_config, their_config)
        assert type(from_ours) is type(their_obj)
        from_theirs = saving.deserialize_keras_object(json.loads(json.dumps(their_config)))
        assert type(from_theirs) is type(our_obj)


def test_an_unregistered_metric_writes_its_class_name_as_keras():
    keras = keras_or_skip()

    class Plain(metrics.Mean):
        pass

    class KPlain(keras.metrics.Mean):
        pass

    ours = saving.serialize_keras_object(Plain(name="p"))
    with keras_quiet():
        theirs = keras.saving.serialize_keras_object(KPlain(name="p"))
    assert ours["registered_name"] == "Plain" and theirs["registered_name"] == "KPlain"
    assert ours["module"] == theirs["module"] == __name__
    with pytest.raises(ValueError, match="Plain"):
        saving.deserialize_keras_object(ours)
    assert type(saving.deserialize_keras_object(ours, {"Plain": Plain})) is Plain
