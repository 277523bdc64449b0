"""`optimizer.variables` lists Keras 3.15's variables in its order with its
paths, for all ten optimizers, whether the optimizer is built by `build`,
by `apply_gradients` on a layer's variables, or by a model's `fit`: Adam's
m0, v0, m1, v1 (not m0, m1, v0, v1), ``sgd/...`` for a default SGD (Keras's
auto_name, also ``adam_w`` and ``rm_sprop``), Nadam's unnamed scalar
``variable``."""

from __future__ import annotations

import re

import numpy as np
import pytest
from keras_inprocess import keras_or_skip, keras_quiet

import fastnn
from fastnn import optimizers

CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("AdamW", {}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {}),
    ("Nadam", {}),
    ("Adamax", {}),
    ("Lion", {}),
    ("Adadelta", {}),
    ("Ftrl", {}),
    ("Lamb", {}),
    ("ScheduleFreeAdamW", {}),
    ("ScheduleFreeAdamW", {"use_ema": True}),
    ("Adam", {"use_ema": True}),
]


def _case_id(case):
    name, kw = case
    return name + "".join(f"-{k}" for k in kw)


def _paths(lib, name: str, kw: dict, how: str) -> list:
    """[v.path for v in optimizer.variables] after `how` in `lib`."""
    opt = getattr(lib.optimizers, name)(**kw)
    if how == "fit":
        model = lib.Sequential(
            [
                lib.layers.Input((3,)),
                lib.layers.Dense(4, name="d1"),
                lib.layers.Dense(2, name="d2"),
            ],
            name="net",
        )
        model.compile(opt, "mse")
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    else:
        layer = lib.layers.Dense(2, name="dd")
        layer.build((None, 3))
        variables = layer.trainable_variables
        if how == "build":
            opt.build(variables)
        else:
            grads = [np.ones(tuple(v.shape), np.float32) for v in variables]
            if lib is not fastnn:
                grads = [lib.ops.convert_to_tensor(g) for g in grads]
            opt.apply_gradients(zip(grads, variables))
    return [v.path for v in opt.variables], opt.name


@pytest.mark.parametrize("how", ["build", "apply_gradients", "fit"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_variables_are_keras_s_in_order_and_name(case, how):
    keras = keras_or_skip()
    name, kw = case
    with keras_quiet():
        theirs, their_name = _paths(keras, name, kw, how)
    ours, our_name = _paths(fastnn, name, kw, how)
    # Keras numbers a process's later instances (adam_1, ..., Nadam's unnamed
    # variable_2); fastnn does not (README)
    assert re.sub(r"_\d+$", "", their_name) == our_name
    theirs = [p.replace(f"{their_name}/", f"{our_name}/", 1) for p in theirs]
    theirs = [re.sub(r"(^|/)variable_\d+$", r"\1variable", p) for p in theirs]
    assert ours == theirs


def test_standalone_variables_without_keras():
    # Keras's documented order for Adam (add_optimizer_variables(vars,
    # ["momentum", "velocity"])): per weight, its momentum then its velocity
    layer = fastnn.layers.Dense(2, name="dd")
    layer.build((None, 3))
    opt = optimizers.Adam()
    opt.build(layer.trainable_variables)
    assert [v.path for v in opt.variables] == [
        "adam/iteration",
        "adam/learning_rate",
        "adam/dd_kernel_momentum",
        "adam/dd_kernel_velocity",
        "adam/dd_bias_momentum",
        "adam/dd_bias_velocity",
    ]
    assert [v.name for v in opt.variables][2:4] == ["dd_kernel_momentum", "dd_kernel_velocity"]
    sgd = optimizers.SGD(momentum=0.5)
    sgd.apply_gradients([(np.ones(3), np.zeros(3, np.float32))])
    assert [v.path for v in sgd.variables] == [
        "sgd/iteration",
        "sgd/learning_rate",
        "sgd/variable_momentum",
    ]
    nadam = optimizers.Nadam()
    nadam.build([np.zeros(2, np.float32)])
    assert nadam.variables[-1].path == "variable"  # Keras's unnamed u_product


def test_a_model_saved_with_the_old_default_name_loads_and_keeps_it(tmp_path):
    """An archive written before (a default SGD then named "SGD") loads with
    that name and its state, as Keras reads a config's name."""
    model = fastnn.Sequential([fastnn.layers.Input((3,)), fastnn.layers.Dense(2)])
    model.compile(optimizers.SGD(momentum=0.9, name="SGD"), "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    model.save(tmp_path / "m.keras")
    again = fastnn.models.load_model(tmp_path / "m.keras")
    assert again.optimizer.name == "SGD"
    assert [v.path.split("/")[0] for v in again.optimizer.variables] == ["SGD"] * 4
    for a, b in zip(again.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a, b)
