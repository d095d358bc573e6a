"""Numeric gradients by central differences, and checks that compare them with yours.

Everything runs in float64: a central difference with step ``h`` has truncation
error O(h**2) and rounding error O(eps / h), so with ``h = 1e-6`` and float64
(eps ~ 2e-16) a correct backward pass agrees to roughly 1e-10 relative error.
In float32 the same check would be hopelessly noisy.

Three levels, from the handouts:

* :func:`numeric_gradient_scalars` -- a function of several scalars (the graphs f1-f4).
* :func:`numeric_gradient_array` -- an array function with an upstream gradient
  (one layer input at a time).
* :func:`check_layer` / :func:`check_loss` / :func:`check_scalar_graph` -- run your
  forward and backward, compare every input, print a pass/fail table.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

DEFAULT_STEP = 1e-6


def rel_error(a: Any, b: Any) -> float:
    """Maximum elementwise relative error ``|a - b| / max(1e-8, |a| + |b|)``.

    Args:
        a, b: arrays (or scalars) of the same shape.

    Returns:
        A float; 0.0 for identical inputs. Shapes that differ raise ValueError.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs equal shapes, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        err = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
    if np.isnan(err).any():
        return float("inf")
    return float(np.max(err))


def numeric_gradient_scalars(f: Callable[..., float], *args: float, h: float = DEFAULT_STEP) -> list[float]:
    """Central-difference partial derivatives of a scalar function of scalars.

    Args:
        f: ``f(*args) -> float``.
        *args: the point at which to differentiate.
        h: step size.

    Returns:
        ``[df/darg_0, df/darg_1, ...]`` as floats.
    """
    grads = []
    for i in range(len(args)):
        plus = list(args)
        minus = list(args)
        plus[i] = float(args[i]) + h
        minus[i] = float(args[i]) - h
        grads.append((float(f(*plus)) - float(f(*minus))) / (2 * h))
    return grads


def numeric_gradient_array(
    f: Callable[[np.ndarray], Any], x: np.ndarray, grad_out: Any = 1.0, h: float = DEFAULT_STEP
) -> np.ndarray:
    """Numeric gradient of ``sum(f(x) * grad_out)`` with respect to ``x``.

    With ``grad_out`` the upstream gradient dL/dout, this is dL/dx: exactly what a
    backward pass should return for input ``x``.

    Args:
        f: a function of the array ``x`` alone (close over other inputs).
        x: float64 array of any shape; it is perturbed one entry at a time and
            restored, so pass a copy if another thread may read it.
        grad_out: upstream gradient, same shape as ``f(x)`` (a scalar for scalar f).
        h: step size.

    Returns:
        Array with the shape of ``x``.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numeric gradients need float64 inputs, got {x.dtype}; use x.astype(np.float64)")
    grad_out = np.asarray(grad_out, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + h
        pos = np.asarray(f(x), dtype=np.float64)
        x[idx] = old - h
        neg = np.asarray(f(x), dtype=np.float64)
        x[idx] = old
        with np.errstate(invalid="ignore", over="ignore"):
            grad[idx] = np.sum((pos - neg) * grad_out) / (2 * h)
        it.iternext()
    return grad


def numeric_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = DEFAULT_STEP) -> np.ndarray:
    """Numeric Jacobian of a vector function, ``J[i, j] = d f_i / d x_j``.

    Args:
        f: maps a float64 vector of shape (a,) to a vector of shape (b,).
        x: float64 vector of shape (a,).

    Returns:
        Array of shape (b, a) (numerator layout, as in the lectures).
    """
    x = np.array(x, dtype=np.float64)
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((np.asarray(f(x + step), dtype=np.float64) - np.asarray(f(x - step), dtype=np.float64)) / (2 * h))
    return np.stack(columns, axis=1)


@dataclass
class CheckRow:
    """One line of a gradient-check table."""

    name: str
    error: float
    threshold: float

    @property
    def passed(self) -> bool:
        return bool(self.error < self.threshold)


@dataclass
class GradCheckReport:
    """The result of a gradient check: one row per input."""

    title: str
    rows: list[CheckRow] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    @property
    def max_error(self) -> float:
        return max((row.error for row in self.rows), default=0.0)

    def __str__(self) -> str:
        width = max([len("input")] + [len(r.name) for r in self.rows])
        lines = [self.title, f"  {'input':<{width}}  {'max rel error':>13}  {'threshold':>9}  verdict"]
        for r in self.rows:
            verdict = "PASS" if r.passed else "FAIL"
            lines.append(f"  {r.name:<{width}}  {r.error:>13.2e}  {r.threshold:>9.0e}  {verdict}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td><code>{r.name}</code></td><td>{r.error:.2e}</td><td>{r.threshold:.0e}</td>"
            f"<td style='color:{'green' if r.passed else 'red'}'><b>{'PASS' if r.passed else 'FAIL'}</b></td></tr>"
            for r in self.rows
        )
        return (
            f"<b>{self.title}</b><table><tr><th>input</th><th>max rel error</th>"
            f"<th>threshold</th><th>verdict</th></tr>{cells}</table>"
        )


def _as_tuple(value: Any, n: int) -> tuple:
    """Backward passes return one gradient bare and several as a tuple; normalise."""
    if n == 1 and not isinstance(value, (tuple, list)):
        return (value,)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"expected {n} gradients in a tuple, got a single {type(value).__name__}")
    if len(value) < n:
        raise ValueError(f"expected {n} gradients, got {len(value)}")
    return tuple(value)[:n]


def _quietly(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with numpy warnings silenced: a check must not write to stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)


def check_layer(
    forward: Callable[..., tuple[Any, Any]],
    backward: Callable[[np.ndarray, Any], Any],
    inputs: Mapping[str, np.ndarray],
    *,
    params: Mapping[str, Any] | None = None,
    grad_out: np.ndarray | None = None,
    threshold: float = 1e-9,
    h: float = DEFAULT_STEP,
    seed: int = 0,
    title: str | None = None,
    verbose: bool = True,
) -> GradCheckReport:
    """Compare a layer's backward pass with numeric gradients for every input.

    Args:
        forward: ``forward(*inputs.values(), **params) -> (out, cache)``.
        backward: ``backward(grad_out, cache) -> grads``, one gradient per input,
            in the order of ``inputs`` (a bare array when there is one input).
        inputs: name -> float64 array, the inputs to differentiate, in call order.
        params: keyword arguments that are not differentiated (stride, pad, ...).
        grad_out: upstream gradient; random normal of out's shape by default.
        threshold: a row passes when its max relative error is below this.
        h: finite-difference step.
        seed: seed for the random upstream gradient.
        title: heading of the printed table.
        verbose: print the table.

    Returns:
        A :class:`GradCheckReport`; ``report.passed`` is True when every row passes.
    """
    params = dict(params or {})
    names = list(inputs)
    arrays = [np.array(inputs[name], dtype=np.float64) for name in names]
    out, cache = _quietly(forward, *[a.copy() for a in arrays], **params)
    out = np.asarray(out, dtype=np.float64)
    if grad_out is None:
        grad_out = np.random.default_rng(seed).standard_normal(out.shape)
    grads = _as_tuple(_quietly(backward, np.array(grad_out, dtype=np.float64), cache), len(names))

    report = GradCheckReport(title or f"gradient check: {getattr(forward, '__name__', 'forward')}")
    for i, name in enumerate(names):

        def forward_of_input(x: np.ndarray, i: int = i) -> np.ndarray:
            args = [a.copy() for a in arrays]
            args[i] = x.copy()
            return _quietly(forward, *args, **params)[0]

        numeric = numeric_gradient_array(forward_of_input, arrays[i].copy(), grad_out, h)
        analytic = np.asarray(grads[i], dtype=np.float64)
        if analytic.shape != numeric.shape:
            raise ValueError(
                f"gradient for input '{name}' has shape {analytic.shape}, expected {numeric.shape} "
                f"(a gradient always has the shape of its input)"
            )
        report.rows.append(CheckRow(f"grad_{name}", rel_error(analytic, numeric), threshold))
    if verbose:
        print(report)
    return report


def check_loss(
    loss_fn: Callable[..., tuple[float, np.ndarray]],
    x: np.ndarray,
    *extra: Any,
    threshold: float = 1e-9,
    h: float = DEFAULT_STEP,
    title: str | None = None,
    verbose: bool = True,
) -> GradCheckReport:
    """Check a loss ``loss_fn(x, *extra) -> (loss, grad_x)`` against numeric gradients.

    Args:
        loss_fn: returns the scalar loss and its gradient with respect to ``x``.
        x: float64 array, the differentiated input (scores, predictions or weights).
        *extra: further arguments passed unchanged (labels, targets, reg strength).

    Returns:
        A :class:`GradCheckReport` with one row, ``grad_x``.
    """
    x = np.array(x, dtype=np.float64)
    _, analytic = _quietly(loss_fn, x.copy(), *extra)
    numeric = numeric_gradient_array(lambda z: _quietly(loss_fn, z.copy(), *extra)[0], x.copy(), 1.0, h)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"grad_x has shape {analytic.shape}, expected {numeric.shape} (the shape of x)")
    report = GradCheckReport(title or f"gradient check: {getattr(loss_fn, '__name__', 'loss')}")
    report.rows.append(CheckRow("grad_x", rel_error(analytic, numeric), threshold))
    if verbose:
        print(report)
    return report


def check_scalar_graph(
    f: Callable[..., tuple[float, Sequence[float]]],
    inputs: Mapping[str, float],
    *,
    wrt: Sequence[str] | None = None,
    threshold: float = 1e-8,
    h: float = DEFAULT_STEP,
    title: str | None = None,
    verbose: bool = True,
) -> GradCheckReport:
    """Check a scalar graph ``f(**inputs) -> (L, grads)`` against numeric gradients.

    Args:
        f: returns the output ``L`` and a tuple of dL/d(input), one per name in ``wrt``.
        inputs: name -> float, passed to ``f`` by keyword in this order.
        wrt: the inputs ``grads`` refers to, in order (default: all inputs).
            Leave out inputs that are not differentiated, such as an integer label.
        threshold: pass when the relative error is below this.

    Returns:
        A :class:`GradCheckReport` with one row per name in ``wrt``.
    """
    names = list(inputs)
    wrt = list(wrt) if wrt is not None else names
    _, grads = _quietly(f, **inputs)
    grads = _as_tuple(grads, len(wrt))
    report = GradCheckReport(title or f"gradient check: {getattr(f, '__name__', 'f')}")
    for name, analytic in zip(wrt, grads):

        def f_of(value: float, name: str = name) -> float:
            return float(_quietly(f, **{**inputs, name: value})[0])

        numeric = numeric_gradient_scalars(f_of, float(inputs[name]), h=h)[0]
        report.rows.append(CheckRow(f"grad_{name}", rel_error(float(analytic), numeric), threshold))
    if verbose:
        print(report)
    return report
