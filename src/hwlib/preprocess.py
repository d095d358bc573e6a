"""Turn loaded image datasets into centred float arrays with a seeded validation split.

:func:`split_and_center` does the work for any image set; :func:`preprocess_cifar`
and :func:`preprocess_mnist` only put the images channel-first before calling it.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike


def _check_count(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ValueError(f"{name} should be an integer in {low}..{high}, got {value!r}.")
    return int(value)


def split_and_center(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    num_val: int = 1000,
    num_train: int | None = None,
    seed: int = 0,
    flatten: bool = True,
    dtype: DTypeLike = np.float32,
) -> dict[str, np.ndarray]:
    """Split off a validation set, scale pixels to [0, 1] and subtract the training mean.

    Inputs:
        X_train: (N, ...) uint8 images; y_train: (N,) labels; X_test: (M, ...); y_test: (M,).
        num_val: images moved from the training set into the validation set.
        num_train: training images kept (default: all N - num_val that remain).
        seed: seed of the permutation that picks both sets.
        flatten: reshape every image to one row (N, D) instead of keeping (N, ...).
        dtype: floating dtype of the results.
    Output: dict with X_train (num_train, ...), y_train, X_val (num_val, ...), y_val,
        X_test (M, ...), y_test (labels int64), and mean: the per-pixel mean of the
        scaled training split (shape of one image), already subtracted from all three.
    Inputs are not modified.
    """
    if len(X_train) != len(y_train) or len(X_test) != len(y_test):
        raise ValueError(
            f"images and labels differ in length: X_train {len(X_train)} vs y_train {len(y_train)}, "
            f"X_test {len(X_test)} vs y_test {len(y_test)}."
        )
    if np.dtype(dtype).kind != "f":
        raise ValueError(f"dtype should be a floating type such as np.float32, got {np.dtype(dtype)}.")
    total = len(X_train)
    num_val = _check_count("num_val", num_val, 0, total - 1)
    num_train = total - num_val if num_train is None else num_train
    num_train = _check_count(f"num_train (with num_val={num_val} of {total} images)", num_train, 1, total - num_val)

    order = np.random.default_rng(seed).permutation(total)
    val_rows, train_rows = order[:num_val], order[num_val : num_val + num_train]

    def scaled(images: np.ndarray) -> np.ndarray:
        out = np.asarray(images).astype(dtype, order="C")  # always a C-ordered copy
        out /= 255
        return out.reshape(len(out), -1) if flatten else out

    X_tr, X_val, X_te = scaled(X_train[train_rows]), scaled(X_train[val_rows]), scaled(X_test)
    mean = X_tr.mean(axis=0, dtype=np.float64).astype(dtype)
    for split in (X_tr, X_val, X_te):
        split -= mean
    labels = np.asarray(y_train, dtype=np.int64)
    return {
        "X_train": X_tr,
        "y_train": labels[train_rows],
        "X_val": X_val,
        "y_val": labels[val_rows],
        "X_test": X_te,
        "y_test": np.array(y_test, dtype=np.int64),
        "mean": mean,
    }


def _prepare(data: dict[str, Any], channel_first: Callable[[np.ndarray], np.ndarray], **options: Any) -> dict[str, Any]:
    """Run :func:`split_and_center` on a loader's dict after making its images channel-first."""
    prepared: dict[str, Any] = split_and_center(
        channel_first(np.asarray(data["X_train"])), data["y_train"],
        channel_first(np.asarray(data["X_test"])), data["y_test"],
        **options,
    )
    if "class_names" in data:
        prepared["class_names"] = list(data["class_names"])
    if "info" in data:
        prepared["info"] = dict(data["info"])
    return prepared


def preprocess_cifar(
    data: dict[str, Any],
    *,
    num_val: int = 1000,
    num_train: int | None = None,
    seed: int = 0,
    flatten: bool = True,
    dtype: DTypeLike = np.float32,
) -> dict[str, Any]:
    """Prepare :func:`hwlib.cifar.load_cifar10` output for training.

    Images (N, 32, 32, 3) become channel-first (N, 3, 32, 32), or rows (N, 3072)
    in the same channel-major order when ``flatten``. See :func:`split_and_center`
    for the split, scaling and centring; ``class_names`` is passed through.
    """
    return _prepare(
        data, lambda images: images.transpose(0, 3, 1, 2),
        num_val=num_val, num_train=num_train, seed=seed, flatten=flatten, dtype=dtype,
    )


def preprocess_mnist(
    data: dict[str, Any],
    *,
    num_val: int = 1000,
    num_train: int | None = None,
    seed: int = 0,
    flatten: bool = True,
    dtype: DTypeLike = np.float32,
) -> dict[str, Any]:
    """Prepare :func:`hwlib.mnist.load_mnist` output: rows (N, 784) or channel-first (N, 1, 28, 28).

    See :func:`split_and_center` for the split, scaling and centring; ``class_names`` and
    ``info`` are passed through.
    """
    return _prepare(
        data, lambda images: images[:, np.newaxis],
        num_val=num_val, num_train=num_train, seed=seed, flatten=flatten, dtype=dtype,
    )
