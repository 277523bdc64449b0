"""The seed network on Fashion-MNIST: 784-128(relu)-128(relu)-10(softmax).

Adam(1e-3), sparse categorical cross-entropy, batch 128, 10 epochs. The model
code is a Keras script with its imports changed to fastnn. Prints the test
accuracy and the seconds per epoch of `fit`.

    python examples/fashion_mnist_mlp.py [--epochs 10] [--seed 0] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import fastnn
from fastnn.callbacks import Callback
from fastnn.datasets import fashion_mnist
from fastnn.layers import Dense, Input
from fastnn.models import Sequential
from fastnn.optimizers import Adam


class EpochTimer(Callback):
    """Records the wall time of each epoch."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--verbose", default="auto")
    args = parser.parse_args(argv)
    if args.threads:
        fastnn.set_num_threads(args.threads)
    if args.seed is not None:
        fastnn.utils.set_random_seed(args.seed)

    try:
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    except (OSError, RuntimeError) as exc:
        print(f"Could not load Fashion-MNIST: {exc}", file=sys.stderr)
        print(
            "Install Debian's package (apt-get install dataset-fashion-mnist), or put the four "
            "IDX files in $FASTNN_DATA/fashion-mnist/, or connect to the internet.",
            file=sys.stderr,
        )
        return 1
    x_train = x_train.reshape(-1, 784).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 784).astype("float32") / 255.0

    model = Sequential(
        [
            Input(shape=(784,)),
            Dense(128, activation="relu"),
            Dense(128, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    verbose = int(args.verbose) if args.verbose.isdigit() else args.verbose
    timer = EpochTimer()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=verbose,
        callbacks=[timer],
    )
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    info = fastnn.runtime_info()
    print(
        f"fastnn {info['version']} ({info['isa']}, {info['num_threads']} threads): "
        f"test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f}, "
        f"{np.median(timer.seconds):.3f} s per epoch (median of {len(timer.seconds)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
