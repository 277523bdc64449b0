"""callbacks.BackupAndRestore: an interrupted fit resumes from the epoch after
the last backup (weights and optimizer state restored), as Keras 3's; the
backup is deleted when fit completes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers


class Interrupt(callbacks.Callback):
    """Raises at the start of epoch `epoch` (or after batch `batch` of it)."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if epoch == self.epoch and self.batch is None:
            raise RuntimeError("interrupted")

    def on_train_batch_end(self, batch, logs=None):
        if self.batch is not None and self.current == self.epoch and batch == self.batch:
            raise RuntimeError("interrupted")


def model(seed=3, optimizer="adam"):
    fastnn.utils.set_random_seed(seed)
    m = fastnn.Sequential([layers.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(2)])
    m.compile(optimizer=optimizer, loss="mse")
    return m


@pytest.fixture
def data(rng):
    return rng.standard_normal((40, 6)).astype(np.float32), rng.standard_normal((40, 2)).astype(
        np.float32
    )


def test_interrupted_fit_resumes_and_ends_as_an_uninterrupted_one(tmp_path, data):
    x, y = data
    straight = model()
    straight.fit(x, y, batch_size=8, epochs=10, shuffle=False, verbose=0)
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    resumed = model()
    with pytest.raises(RuntimeError, match="interrupted"):
        resumed.fit(
            x,
            y,
            batch_size=8,
            epochs=10,
            shuffle=False,
            verbose=0,
            callbacks=[backup, Interrupt(4)],
        )
    assert sorted(os.listdir(tmp_path / "backup")) == [
        "latest.weights.npz",
        "training_metadata.json",
    ]
    meta = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())
    assert meta == {"epoch": 4, "batch": 0}
    fresh = model(seed=99)  # another process after the crash: other weights, the same backup
    history = fresh.fit(x, y, batch_size=8, epochs=10, shuffle=False, verbose=0, callbacks=[backup])
    assert len(history.history["loss"]) == 6 and history.epoch == [4, 5, 6, 7, 8, 9]
    for a, b in zip(fresh.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "backup").exists()  # deleted once fit completed
    # the restored epoch was that fit's: the next one starts at 0 again
    assert len(fresh.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"]) == 2


def test_batch_frequency_and_kept_checkpoint(tmp_path, data):
    x, y = data
    backup = callbacks.BackupAndRestore(tmp_path / "b", save_freq=3, delete_checkpoint=False)
    m = model()
    with pytest.raises(RuntimeError):
        m.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[backup, Interrupt(2, batch=1)])
    # 5 batches an epoch, a backup every 3: after epoch 0's batch 2, epoch 1's
    # batches 0 and 3, epoch 2's batch 1 (Keras's count), then the interruption
    meta = json.loads((tmp_path / "b" / "training_metadata.json").read_text())
    assert meta == {"epoch": 2, "batch": 1}
    history = m.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[backup])
    assert history.epoch == [2, 3, 4]  # epoch 2 again from its start, as Keras
    assert (tmp_path / "b" / "latest.weights.npz").exists()  # delete_checkpoint=False


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path, data):
    x, y = data
    backup = callbacks.BackupAndRestore(tmp_path / "b", double_checkpoint=True)
    m = model()
    with pytest.raises(RuntimeError):
        m.fit(x, y, batch_size=8, epochs=6, verbose=0, callbacks=[backup, Interrupt(3)])
    assert (tmp_path / "b" / "latest.weights.npz.bkp").exists()
    (tmp_path / "b" / "latest.weights.npz").write_bytes(b"not a weights file")
    history = model().fit(x, y, batch_size=8, epochs=6, verbose=0, callbacks=[backup])
    assert history.epoch == [2, 3, 4, 5]  # the previous backup: after epoch 1


def test_epoch_backups_keep_fit_on_its_fast_path():
    cbs = callbacks.CallbackList([callbacks.BackupAndRestore("unused")], model=None)
    assert cbs.batch_hook_policy("train") == "none"
    cbs = callbacks.CallbackList([callbacks.BackupAndRestore("unused", save_freq=5)], model=None)
    assert cbs.batch_hook_policy("train") == "every"


def test_bad_arguments_and_an_unbuilt_model(tmp_path, data):
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        callbacks.BackupAndRestore("")
    for bad in ("batch", 0, 2.5, True):
        with pytest.raises(ValueError, match="save_freq"):
            callbacks.BackupAndRestore(tmp_path, save_freq=bad)
    # fit builds an unbuilt model from x before the callback runs (as Keras)
    unbuilt = fastnn.Sequential([layers.Dense(2)])
    unbuilt.compile("sgd", "mse")
    x, y = data
    unbuilt.fit(x, y, verbose=0, epochs=2, callbacks=[callbacks.BackupAndRestore(tmp_path / "b")])
    assert unbuilt.built and not (tmp_path / "b").exists()
