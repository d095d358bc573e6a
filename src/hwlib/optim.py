"""Optimizers: objects that update a model's parameters from their gradients.

An optimizer is built once from the model's parameter dict and then called
with one gradient dict per iteration::

    optimizer = SGD(model.parameters(), learning_rate=1e-2)
    loss, grads = training_step(model, X_batch, y_batch, reg)
    optimizer.step(grads)          # model.parameters() now hold the new values

To write your own (e.g. SGD with momentum), subclass :class:`Optimizer` and
implement :meth:`Optimizer.update`; :meth:`Optimizer.step` checks the gradients
first, so ``update`` can trust them. Keep a ``learning_rate`` attribute: the
trainer decays it between epochs.
"""

from __future__ import annotations

import abc
import math
from typing import Mapping

import numpy as np


def validate_grads(
    params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], *, source: str = "grads"
) -> None:
    """Check that ``grads`` has exactly the keys of ``params`` and matching shapes.

    Args:
        params: ``{name: parameter array}``.
        grads: ``{name: gradient array}`` to check.
        source: how to name ``grads`` in error messages (e.g. "training_step's grads").

    Raises:
        TypeError: ``grads`` is not a dict of arrays.
        ValueError: a key is missing or extra, or a shape differs (the message names it).
    """
    if not isinstance(grads, Mapping):
        raise TypeError(
            f"{source} must be a dict {{name: gradient array}} with the keys {sorted(params)}, "
            f"got {type(grads).__name__}"
        )
    missing = sorted(set(params) - set(grads))
    extra = sorted(set(grads) - set(params))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing gradients for {missing}")
        if extra:
            parts.append(f"gradients for unknown parameters {extra}")
        raise ValueError(
            f"{source} do not match the model's parameters: {'; '.join(parts)}. "
            f"Expected exactly the keys {sorted(params)}. "
            "Hint: use the same names as model.parameters()."
        )
    for name, param in params.items():
        grad = grads[name]
        grad_shape = np.shape(grad)
        if grad_shape != param.shape:
            raise ValueError(
                f"{source}[{name!r}] has shape {grad_shape}, but parameter {name!r} has shape "
                f"{param.shape}. Hint: a gradient always has the shape of what it differentiates."
            )


class Optimizer(abc.ABC):
    """Base class: holds the model's parameter arrays and updates them in place.

    Args:
        params: ``{name: array}``, normally ``model.parameters()``. The arrays are
            kept by reference (not copied), so updating them updates the model.
    """

    def __init__(self, params: Mapping[str, np.ndarray]) -> None:
        if not isinstance(params, Mapping) or not params:
            raise TypeError(f"params must be a non-empty dict {{name: array}}, got {params!r:.80}")
        for name, value in params.items():
            if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.floating):
                kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
                raise TypeError(
                    f"parameter {name!r} must be a floating-point numpy array (updated in place), got {kind}"
                )
        self.params: dict[str, np.ndarray] = dict(params)

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Check ``grads`` against the parameters, then apply one update in place.

        Args:
            grads: ``{name: gradient}``, same keys and shapes as the parameters.
        """
        validate_grads(self.params, grads)
        self.update(grads)

    @abc.abstractmethod
    def update(self, grads: Mapping[str, np.ndarray]) -> None:
        """Change every array in ``self.params`` in place using the (checked) ``grads``."""


class SGD(Optimizer):
    """Plain stochastic gradient descent: ``p -= learning_rate * grad`` for every parameter.

    The update is written in place on purpose. The model's ``parameters()`` dict
    and this optimizer refer to the *same* arrays; ``p -= ...`` changes those
    arrays, so the model sees the new values. Writing ``p = p - ...`` (or
    ``self.params[name] = ...``) would make a new array that only the optimizer
    knows about: the model would keep its old weights and silently never learn.

    Args:
        params: ``{name: array}``, normally ``model.parameters()``.
        learning_rate: step size, a positive number. It may be changed between
            steps (the trainer multiplies it by ``lr_decay`` every epoch).
    """

    def __init__(self, params: Mapping[str, np.ndarray], learning_rate: float) -> None:
        super().__init__(params)
        if not (isinstance(learning_rate, (int, float, np.floating)) and math.isfinite(learning_rate)):
            raise ValueError(f"learning_rate must be a finite number, got {learning_rate!r}")
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)

    def update(self, grads: Mapping[str, np.ndarray]) -> None:
        """``p -= learning_rate * grad`` for every parameter, in place."""
        for name, param in self.params.items():
            param -= self.learning_rate * np.asarray(grads[name], dtype=param.dtype)

    def __repr__(self) -> str:
        return f"SGD(learning_rate={self.learning_rate:g}, params={sorted(self.params)})"
