"""Minibatches for training loops: ``for X_batch, y_batch in DataSampler(X, y, 100): ...``."""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np


class DataSampler:
    """Iterate over (X_batch, y_batch) minibatches, one pass over the data per ``iter()``.

    Inputs:
        X: (N, ...) array of samples; y: (N,) array of labels (any leading-axis arrays).
        batch_size: samples per batch (> 0); the last batch is smaller unless drop_last.
        shuffle: draw a new order for every epoch from a Generator seeded with ``seed``,
            so two samplers built with the same seed yield the same batches epoch by epoch.
        drop_last: skip the final incomplete batch.
    ``len(sampler)`` is the number of batches per epoch.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
            raise ValueError(
                f"X and y should have the same number of samples along axis 0, got X of shape "
                f"{X.shape} and y of shape {y.shape}. Hint: pass labels y with shape (N,)."
            )
        if len(X) == 0:
            raise ValueError("X and y are empty: there is nothing to sample.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}.")
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        full, rest = divmod(len(self.X), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # The order is drawn here, not lazily, so each iter() call is one epoch's permutation.
        order = self._rng.permutation(len(self.X)) if self.shuffle else np.arange(len(self.X))
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for number in range(len(self)):
            rows = order[number * self.batch_size : (number + 1) * self.batch_size]
            yield self.X[rows], self.y[rows]
