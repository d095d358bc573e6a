"""Readable checks for public test cells.

A failed check says which input was used, what was expected, what came back,
and a hint. Student code runs with warnings captured, so a harmless numpy
RuntimeWarning is reported on stdout instead of stderr (nbgrader gives 0 points
to a test cell that writes to stderr).

Typical use in a test cell::

    out, _ = run("fc_forward", fc_forward, x, w, b)
    expect_close("fc_forward", out, expected, inputs={"x": x, "w": w, "b": b},
                 hint="reshape x to (N, D) first")
    passed("fc_forward")
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Mapping

import numpy as np


class CheckFailed(AssertionError):
    """A public or hidden check failed; the message is meant for the student."""


def describe(value: Any, max_items: int = 12) -> str:
    """A short, readable description of a value: shape, dtype and (some) numbers."""
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        return repr(float(value)) if isinstance(value, (float, np.floating)) else repr(value)
    if isinstance(value, np.ndarray):
        value = plain_array(value)
        body = np.array2string(value, precision=4, threshold=max_items, edgeitems=2, suppress_small=False)
        body = body.replace("\n", "\n      ")
        return f"array of shape {value.shape}, dtype {value.dtype}:\n      {body}"
    if isinstance(value, (tuple, list)):
        kind = type(value).__name__
        return f"{kind} of {len(value)} item(s): " + ", ".join(_short(v) for v in value)
    if isinstance(value, dict):
        return "dict with keys " + ", ".join(repr(k) for k in value)
    try:
        text = repr(value)
    except Exception as error:  # a student's object whose __repr__ raises
        text = f"<not printable: {type(error).__name__}>"
    return f"{type(value).__name__}: {text}"[:200]


def plain_array(value: np.ndarray) -> np.ndarray:
    """``value`` as a plain ndarray (same data): a subclass's own ``__eq__``, ``__array_function__``,
    ``__array_ufunc__`` or ``view`` can then change no comparison or description."""
    return np.ndarray.view(value, np.ndarray)


def _plain(value: Any) -> Any:
    return plain_array(value) if isinstance(value, np.ndarray) else value


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    return type(value).__name__


def _format_inputs(inputs: Mapping[str, Any] | None) -> str:
    if not inputs:
        return ""
    lines = ["  with input:"]
    for name, value in inputs.items():
        lines.append(f"    {name} = {describe(value)}")
    return "\n".join(lines) + "\n"


def fail(what: str, *, inputs: Mapping[str, Any] | None = None, expected: Any = None,
         got: Any = None, detail: str = "", hint: str = "") -> None:
    """Raise :class:`CheckFailed` with the standard four-part message."""
    message = f"{what}\n" + _format_inputs(inputs)
    message += f"  expected: {describe(expected)}\n  got:      {describe(got)}\n"
    if detail:
        message += f"  {detail}\n"
    if hint:
        message += f"  hint: {hint}\n"
    raise CheckFailed(message)


def run(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call student function ``fn`` with copies of array inputs; report side effects.

    - Warnings (e.g. overflow in exp) are printed on stdout, not stderr.
    - An input modified in place fails the check: callers' arrays must not change.
    - ``NotImplementedError`` passes through unchanged, so an unanswered question
      fails with the obvious message.
    """
    originals = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn", under="ignore"):
            result = fn(*args, **kwargs)
    for warning in {str(w.message) for w in caught}:
        print(f"note: {name} raised a warning: {warning}")
    for i, (arg, original) in enumerate(zip(args, originals)):
        if original is not None and (arg.shape != original.shape or not np.array_equal(arg, original, equal_nan=True)):
            fail(
                f"{name} modified its input argument #{i + 1} in place.",
                expected=original,
                got=arg,
                hint="work on new arrays (e.g. x.copy(), np.maximum(x, 0), x.reshape(...)) instead of writing into the caller's array",
            )
    return result


def expect_close(name: str, got: Any, expected: Any, *, inputs: Mapping[str, Any] | None = None,
                 atol: float = 1e-8, rtol: float = 1e-6, hint: str = "") -> None:
    """Check that ``got`` matches ``expected`` in shape and value.

    Args:
        name: what is being checked, e.g. ``"fc_forward output"``.
        got: the student's value (array, scalar).
        expected: the correct value.
        inputs: the inputs that produced ``got``, shown on failure.
        atol, rtol: tolerances as in ``numpy.isclose``.
        hint: the most likely cause when this check fails.
    """
    got, expected = _plain(got), _plain(expected)
    if got is None:
        fail(f"{name}: your code returned None.", inputs=inputs, expected=expected, got=got,
             hint="did you forget a return statement?")
    expected_arr = np.asarray(expected, dtype=np.float64)
    try:
        got_arr = np.array(got, dtype=np.float64)  # a copy: whatever `got` is, it cannot change afterwards
    except Exception:  # an object whose __array__/__float__ raises or lies
        fail(f"{name}: the value returned is not numeric.", inputs=inputs, expected=expected, got=got, hint=hint)
    if got_arr.shape != expected_arr.shape:
        fail(f"{name}: wrong shape {got_arr.shape}, expected {expected_arr.shape}.", inputs=inputs,
             expected=expected, got=got, hint=hint or "check which axes you sum over or reshape")
    if np.any(~np.isfinite(got_arr) & np.isfinite(expected_arr)):
        fail(f"{name}: the result contains nan or inf.", inputs=inputs, expected=expected, got=got, hint=hint)
    # nan is expected only where nan is wanted, and +-inf must match exactly (a nan expected value
    # would otherwise make every comparison False and let any number pass)
    bad = ~np.isclose(got_arr, expected_arr, atol=atol, rtol=rtol, equal_nan=True)
    with np.errstate(invalid="ignore"):
        diff = np.where(bad, np.abs(got_arr - expected_arr), 0.0)
    diff = np.where(np.isnan(diff), np.inf, diff)
    if np.any(bad):
        where = np.unravel_index(int(np.argmax(np.where(bad, diff, -1.0))), bad.shape) if bad.ndim else ()
        detail = f"largest difference {float(np.max(diff)):.3g}" + (f" at index {tuple(int(i) for i in where)}" if where else "")
        fail(f"{name}: values differ.", inputs=inputs, expected=expected, got=got, detail=detail, hint=hint)


def expect_true(name: str, condition: bool, message: str, *, hint: str = "") -> None:
    """Fail with ``message`` (and ``hint``) unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(f"{name}: {message}\n" + (f"  hint: {hint}\n" if hint else ""))


def expect_gradcheck(report: Any, *, hint: str = "") -> None:
    """Fail when a :class:`hwlib.gradcheck.GradCheckReport` has a failing row."""
    if not report.passed:
        failing = ", ".join(f"{r.name} ({r.error:.1e} >= {r.threshold:.0e})" for r in report.rows if not r.passed)
        raise CheckFailed(f"{report.title}: numeric and analytic gradients disagree for {failing}.\n"
                          + (f"  hint: {hint}\n" if hint else ""))


def passed(name: str, count: int | None = None) -> None:
    """Print a one-line success message for a public test cell."""
    suffix = f" ({count} checks)" if count else ""
    print(f"✓ {name}: public tests passed{suffix}. Hidden tests run when your notebook is graded.")
