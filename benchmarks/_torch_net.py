"""The benchmark's two-layer net written the way a PyTorch user would (CPU, float32).

It mirrors the course's reference network: 3072 -> hidden (ReLU) -> 10 scores,
mean softmax cross-entropy plus L2 on the two weight matrices (not the biases),
and one plain SGD update per minibatch. Only :mod:`train_throughput` imports it,
and only when PyTorch is installed (it is an optional extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

TorchBatch = tuple[torch.Tensor, torch.Tensor]


def use_threads(threads: int) -> int:
    """Make torch's intra-op pool use ``threads`` threads; return the count torch reports back."""
    torch.set_num_threads(threads)
    return torch.get_num_threads()


def as_tensors(batches: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[TorchBatch]:
    """Wrap numpy minibatches (X float32 (N, D), y int64 (N,)) as tensors sharing their memory."""
    return [(torch.from_numpy(X), torch.from_numpy(y)) for X, y in batches]


def make_training_step(
    input_dim: int,
    hidden_dim: int,
    num_classes: int,
    *,
    learning_rate: float,
    reg: float,
    reg_factor: float,
    seed: int = 0,
) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """Build the network and return ``step(X, y) -> loss`` that trains it on one minibatch.

    Inputs:
        input_dim, hidden_dim, num_classes: layer widths D, H, C.
        learning_rate: SGD step size.
        reg, reg_factor: the penalty added to the loss is
            ``reg_factor * reg * (sum(W1**2) + sum(W2**2))``; ``reg_factor`` (1 or 0.5)
            matches the convention of the numpy reference.
        seed: seeds the weight initialisation.
    Output: ``step(X (N, D) float32, y (N,) int64) -> float``: forward, loss, backward and
        one in-place SGD update; returns the loss of that minibatch.
    """
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(input_dim, hidden_dim),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden_dim, num_classes),
    )
    weights = (model[0].weight, model[2].weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    penalty_scale = reg_factor * reg

    def step(X: torch.Tensor, y: torch.Tensor) -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(X), y) + penalty_scale * sum(w.square().sum() for w in weights)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step
