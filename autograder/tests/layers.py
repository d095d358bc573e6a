"""Hidden tests for notebook 2 (layers with a forward and a backward pass).

Reference values come from the source notebook's own solution (``ref``). The
public checks of every test cell are repeated here (same inputs), so these cases
alone decide the score.

Backward questions chain the *student's* forward pass into the student's backward
pass (the cache format is theirs) and compare with the reference gradients. A
mistake that only affects the forward output, or that modifies the forward's
input in place, therefore costs points in the forward question only. For the
same reason a backward case passes the layer's parameter (``negative_slope``,
``alpha``) to the forward explicitly: the default value is the forward's
business, checked in the forward question, and a wrong default there must not
reach the backward pass through the cache. The
upstream gradient is passed through ``np.array`` first, so that the backward
call receives an array the case can inspect afterwards: writing into
``grad_out`` is charged to the backward question.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import numpy as np

from course.cases import Case, Ref, TimeLimit, call
from course.hidden import question

Check = Callable[[Mapping[str, Any]], None]

FLATTEN_HINT = "flatten every axis after the first: x.reshape(x.shape[0], -1) works for any number of axes"
FC_BACKWARD_HINT = ("compare with your derivation in Q2.2; each gradient has the shape of its input "
                    "(grad_x the original shape of x)")
RELU_BACKWARD_HINT = "compare with your derivation in Q2.5; at x == 0 exactly the convention is 0"
LEAKY_BACKWARD_HINT = ("grad_x = grad_out where x > 0 and negative_slope * grad_out where x <= 0, with the "
                       "slope taken from the cache")
SIGMOID_HINT = ("only exponentiate numbers <= 0 (which form of sigma suits which sign of x?); np.where "
                "evaluates both branches")
SOFTMAX_HINT = ("subtract each row's maximum (np.max(x, axis=1, keepdims=True)); loss = mean of -log p[i, y[i]]; "
                "gradient: compare with your derivation in Q2.19")


# ---------------------------------------------------------------------------
# Building blocks for cases
# ---------------------------------------------------------------------------


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random values with |value| in [0.1, 2]: safe for numeric gradients of ReLU-like layers."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


def with_exact_zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Integers in [-2, 2] as floats: many exact zeros, negatives and positives."""
    values = rng.integers(-2, 3, size=shape).astype(float)
    values.flat[0] = 0.0
    return values


def forward_case(name: str, function: str, args: tuple, expected: np.ndarray, hint: str,
                 kwargs: Mapping[str, Any] | None = None, **tolerances: float) -> Case:
    """``out, cache = function(*args, **kwargs)``; ``out`` must equal ``expected``; inputs unchanged."""
    return Case(name, [call(function, *args, **dict(kwargs or {}))], expect={"0.0": expected}, hint=hint,
                **tolerances)


def _grad_out_untouched(backward: str, grad_out: np.ndarray) -> Check:
    def check(outputs: Mapping[str, Any]) -> None:
        if not np.array_equal(outputs["1"], grad_out, equal_nan=True):
            raise AssertionError(f"{backward} wrote into grad_out (its first argument) in place. grad_out "
                                 f"belongs to the caller; build a new array for grad_x instead.")
    return check


def backward_case(name: str, forward: str, backward: str, args: tuple, grad_out: np.ndarray, expected: Any,
                  hint: str, kwargs: Mapping[str, Any] | None = None) -> Case:
    """The student's forward, then the student's backward on its cache; compare with ``expected``.

    ``expected`` is one array (single-input layers) or a tuple of arrays (one per input).
    """
    calls = [call(forward, *args, **dict(kwargs or {})),
             call("np", grad_out, method="array"),
             call(backward, Ref(1), Ref(0, (1,)))]
    if isinstance(expected, tuple):
        expect = {f"2.{i}": value for i, value in enumerate(expected)}
    else:
        expect = {"2": expected}
    return Case(name, calls, expect=expect, hint=hint, unmodified=False, fetch=("1",),
                check=_grad_out_untouched(backward, grad_out))


def timed_backward_case(name: str, forward: str, backward: str, args: tuple, ref: Any, rng: np.random.Generator,
                        hint: str, floor: float = 1.0, kwargs: Mapping[str, Any] | None = None) -> Case:
    """A large :func:`backward_case` that a finite-difference backward cannot finish in time.

    The limit is ``max(floor, 50 x the reference's own time for the same forward and backward)``,
    both measured by the grader in the same run (see ``course.cases.TimeLimit``).
    """
    out, _ = getattr(ref, forward)(*args, **dict(kwargs or {}))
    upstream = rng.standard_normal(np.shape(out))
    case = backward_case(name, forward, backward, args, upstream,
                         reference_backward(ref, forward, backward, args, upstream, kwargs), hint=hint, kwargs=kwargs)
    case.time_limit = TimeLimit(lambda: reference_backward(ref, forward, backward, args, upstream, kwargs),
                                floor=floor, what=f"{backward}")
    return case


def reference_backward(ref: Any, forward: str, backward: str, args: tuple, grad_out: np.ndarray,
                       kwargs: Mapping[str, Any] | None = None) -> Any:
    """The reference gradients for ``backward(grad_out, forward(*args)[1])``."""
    _, cache = getattr(ref, forward)(*args, **dict(kwargs or {}))
    return getattr(ref, backward)(grad_out, cache)


def gradcheck_upstream(out_shape: tuple[int, ...]) -> np.ndarray:
    """The upstream gradient ``hwlib.gradcheck.check_layer`` uses by default (seed 0)."""
    return np.random.default_rng(0).standard_normal(out_shape)


def overflow_free_case(name: str, function: str, x: np.ndarray, expected: np.ndarray, hint: str) -> Case:
    """``out, cache = function(x)`` must be right, and must not overflow.

    Calls 1-4 run the student's function once more under
    ``np.errstate(over="raise", divide="raise", invalid="raise")`` (numpy's errstate
    also works as a decorator), so an overflow raises FloatingPointError and fails the
    case, while underflow to 0 -- what every correct implementation does for
    exp(-1000) -- stays allowed. Everything stays in the kernel; only arrays come back.
    (``Case(no_warnings=True)`` would also count that underflow when cases run in
    process, where calls run under ``np.errstate(all="warn")``.)
    """
    calls = [call(function, x),
             call(function, "__call__", method="__getattribute__"),
             call("np", over="raise", divide="raise", invalid="raise", method="errstate"),
             call(Ref(2), Ref(1)),
             call(Ref(3), x)]
    return Case(name, calls, expect={"0.0": expected, "4.0": expected}, hint=hint)


def loss_case(name: str, function: str, args: tuple, expected: tuple, hint: str, **tolerances: float) -> Case:
    """``loss, grad = function(*args)``; both must match; inputs unchanged."""
    return Case(name, [call(function, *args)], expect={"0.0": expected[0], "0.1": expected[1]}, hint=hint,
                **tolerances)


# ---------------------------------------------------------------------------
# Part A: fully connected layer
# ---------------------------------------------------------------------------


@question("fc_forward")
def fc_forward_cases(rng: np.random.Generator, ref: Any):
    # The two public cases.
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    b = np.array([0.5, -0.5])
    yield forward_case("public: x of shape (2, 3)", "fc_forward", (x, w, b), np.array([[4.5, -1.5], [1.5, -2.5]]),
                       hint="out = x @ w + b, with b added to every row")
    x = np.arange(8.0).reshape(2, 2, 2)
    w = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    b = np.array([0.0, 0.0, 1.0])
    yield forward_case("public: x of shape (2, 2, 2)", "fc_forward", (x, w, b),
                       np.array([[3.0, 4.0, 6.0], [11.0, 12.0, 14.0]]), hint=FLATTEN_HINT)

    shapes = [((1, 2, 3, 2), 3, "batch of one 4-D example"),
              ((3, 5), 7, "non-square w (5, 7)"),
              ((4, 2, 3, 5), 3, "x of shape (4, 2, 3, 5)"),
              ((1, 6), 1, "N = 1, M = 1")]
    for x_shape, m, label in shapes:
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal((int(np.prod(x_shape[1:])), m))
        b = rng.standard_normal(m)
        yield forward_case(f"{label}: x {x_shape}, w {w.shape}", "fc_forward", (x, w, b), ref.fc_forward(x, w, b)[0],
                           hint=FLATTEN_HINT + "; b has shape (M,) and is added to every row")

    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = rng.standard_normal((12, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    yield forward_case("float32 inputs, x (2, 3, 4)", "fc_forward", (x, w, b), ref.fc_forward(x, w, b)[0],
                       hint=FLATTEN_HINT, atol=1e-5, rtol=1e-5)


@question("fc_backward")
def fc_backward_cases(rng: np.random.Generator, ref: Any):
    # The public cases: same data as the test cell (shapes, then the gradient check's upstream gradient).
    public = np.random.default_rng(0)
    x, w, b = public.standard_normal((2, 3, 4)), public.standard_normal((12, 5)), public.standard_normal(5)
    grad_out = public.standard_normal((2, 5))
    for label, upstream in (("public: x (2, 3, 4), w (12, 5)", grad_out),
                            ("public gradient check: x (2, 3, 4), w (12, 5)", gradcheck_upstream((2, 5)))):
        yield _fc_backward_case(label, (x, w, b), upstream, ref)

    shapes = [((1, 2, 3, 2), 3, "batch of one 4-D example"),
              ((3, 5), 7, "non-square w (5, 7)"),
              ((6, 2, 4), 2, "N = 6 examples, M = 2 outputs"),
              ((2, 3), 2, "N = M = 2"),
              ((4, 3, 2, 2), 5, "x of shape (4, 3, 2, 2)"),
              # square weights (D = M): a missing transpose of w gives the right shapes here
              ((3, 4), 4, "square w (4, 4)"),
              ((2, 2, 3), 6, "square w (6, 6), x of shape (2, 2, 3)")]
    for x_shape, m, label in shapes:
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal((int(np.prod(x_shape[1:])), m))
        b = rng.standard_normal(m)
        upstream = rng.standard_normal((x_shape[0], m))
        yield _fc_backward_case(f"{label}: x {x_shape}, w {w.shape}", (x, w, b), upstream, ref)
    yield _skip_grad_x_case(rng, ref)
    big = (rng.standard_normal((64, 16, 16)), 0.1 * rng.standard_normal((256, 128)), rng.standard_normal(128))
    timed = timed_backward_case("large layer, in time: x (64, 16, 16), w (256, 128)", "fc_forward", "fc_backward",
                                big, ref, rng, hint=FC_BACKWARD_HINT)
    yield _isolated_from_forward(timed, big, ref)


def _fc_backward_case(name: str, args: tuple, upstream: np.ndarray, ref: Any) -> Case:
    """The student's fc_forward, then fc_backward on its cache. When x has more than two axes and
    the student's fc_forward fails on it, the case is judged again with the reference forward's cache
    (x, w, b): a forward that cannot flatten x is charged in fc_forward only."""
    expected = reference_backward(ref, "fc_forward", "fc_backward", args, upstream)
    case = backward_case(name, "fc_forward", "fc_backward", args, upstream, expected, hint=FC_BACKWARD_HINT)
    if np.ndim(args[0]) > 2:
        case.dependency = forward_case(f"fc_forward on {name}", "fc_forward", args, ref.fc_forward(*args)[0],
                                       hint=FLATTEN_HINT)
        case.isolated = Case(f"{name} (with the reference fc_forward's cache (x, w, b), as yours fails on this x)",
                             [call("fc_forward", *args), call("np", upstream, method="array"),
                              call("fc_backward", Ref(1), Ref(0, (1,)))],
                             expect={f"2.{i}": value for i, value in enumerate(expected)},
                             use_reference={"fc_forward": "layers"}, unmodified=False, hint=FC_BACKWARD_HINT)
    return case


def _isolated_from_forward(case: Case, args: tuple, ref: Any) -> Case:
    """``case`` judged again with the reference fc_forward when the student's fails on ``args``."""
    case.dependency = forward_case(f"fc_forward on {case.name}", "fc_forward", args, ref.fc_forward(*args)[0],
                                   hint=FLATTEN_HINT)
    case.isolated = dataclasses.replace(case, name=f"{case.name} (with the reference fc_forward, as yours fails "
                                                   f"on this x)",
                                        use_reference={**case.use_reference, "fc_forward": "layers"},
                                        dependency=None, isolated=None)
    return case


def _skip_grad_x_case(rng: np.random.Generator, ref: Any) -> Case:
    """``fc_backward(..., need_grad_x=False)`` returns None for grad_x and the usual grad_w, grad_b."""
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    upstream = rng.standard_normal((3, 5))
    _, grad_w, grad_b = reference_backward(ref, "fc_forward", "fc_backward", (x, w, b), upstream)

    def check(outputs: Mapping[str, Any]) -> None:
        grad_x = outputs.get("2.0")
        if grad_x is not None:
            raise AssertionError(f"with need_grad_x=False, grad_x should be None (not computed); got "
                                 f"{type(grad_x).__name__} of shape {np.shape(grad_x)}.")

    hint = ("compute grad_x only if need_grad_x, and return None in its place otherwise; grad_w and "
            "grad_b do not change")
    calls = [call("fc_forward", x, w, b), call("np", upstream, method="array"),
             call("fc_backward", Ref(1), Ref(0, (1,)), need_grad_x=False)]
    name = "need_grad_x=False: x (3, 2, 2), w (4, 5)"
    case = Case(name, calls, expect={"2.1": grad_w, "2.2": grad_b}, fetch=("2.0",), unmodified=False, check=check,
                hint=hint)
    # an fc_forward that cannot flatten x is charged in fc_forward only (see _fc_backward_case)
    case.dependency = forward_case(f"fc_forward on {name}", "fc_forward", (x, w, b), ref.fc_forward(x, w, b)[0],
                                   hint=FLATTEN_HINT)
    case.isolated = Case(f"{name} (with the reference fc_forward's cache (x, w, b), as yours fails on this x)",
                         calls, expect={"2.1": grad_w, "2.2": grad_b}, fetch=("2.0",), unmodified=False, check=check,
                         use_reference={"fc_forward": "layers"}, hint=hint)
    return case


# ---------------------------------------------------------------------------
# Part B: activations
# ---------------------------------------------------------------------------


@question("relu_forward")
def relu_forward_cases(rng: np.random.Generator, ref: Any):
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -0.0]])
    yield forward_case("public: x of shape (2, 3)", "relu_forward", (x,), np.array([[0.0, 0.0, 0.0], [0.5, 3.0, 0.0]]),
                       hint="np.maximum(x, 0) builds a new array; x[x < 0] = 0 would change the caller's x")
    for label, x in (("exact zeros and negatives, x (2, 3, 4)", with_exact_zeros(rng, (2, 3, 4))),
                     ("N = 1, x (1, 5)", away_from_zero(rng, (1, 5))),
                     ("1-D x (7,)", rng.standard_normal(7)),
                     ("float32 x (3, 4)", rng.standard_normal((3, 4)).astype(np.float32))):
        yield forward_case(label, "relu_forward", (x,), ref.relu_forward(x)[0],
                           hint="max(0, x) elementwise, without writing into x")


@question("relu_backward")
def relu_backward_cases(rng: np.random.Generator, ref: Any):
    x = np.array([[-1.5, 0.0, 2.0], [0.0, -0.3, 0.7]])
    grad_out = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    yield backward_case("public: negative, zero and positive x", "relu_forward", "relu_backward", (x,), grad_out,
                        np.array([[0.0, 0.0, 30.0], [0.0, 0.0, 60.0]]), hint=RELU_BACKWARD_HINT)
    public = np.random.default_rng(0)
    x = public.choice([-1.0, 1.0], size=(3, 4)) * public.uniform(0.1, 2.0, size=(3, 4))
    upstream = gradcheck_upstream((3, 4))
    yield backward_case("public gradient check: x (3, 4)", "relu_forward", "relu_backward", (x,), upstream,
                        reference_backward(ref, "relu_forward", "relu_backward", (x,), upstream),
                        hint=RELU_BACKWARD_HINT)
    for label, x in (("exact zeros and negatives, x (2, 3, 4)", with_exact_zeros(rng, (2, 3, 4))),
                     ("N = 1 with zeros, x (1, 6)", np.array([[0.0, -1.0, 2.0, 0.0, -0.5, 0.25]])),
                     ("all negative or zero, x (4, 2)", -np.abs(with_exact_zeros(rng, (4, 2))))):
        upstream = rng.standard_normal(x.shape)
        yield backward_case(label, "relu_forward", "relu_backward", (x,), upstream,
                            reference_backward(ref, "relu_forward", "relu_backward", (x,), upstream),
                            hint=RELU_BACKWARD_HINT)


@question("leaky_relu_forward")
def leaky_relu_forward_cases(rng: np.random.Generator, ref: Any):
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    yield forward_case("public: default negative_slope", "leaky_relu_forward", (x,), np.array([-0.2, -0.05, 0.0, 1.5]),
                       hint="negative entries times negative_slope (default 0.1), the others unchanged")
    yield forward_case("public: negative_slope=0.01", "leaky_relu_forward", (x,), np.array([-0.02, -0.005, 0.0, 1.5]),
                       kwargs={"negative_slope": 0.01}, hint="use the negative_slope argument, not a fixed 0.1")
    for label, x, kwargs in (("negative_slope=0.2, x (2, 3, 4) with zeros", with_exact_zeros(rng, (2, 3, 4)),
                              {"negative_slope": 0.2}),
                             ("default slope, x (4, 3)", rng.standard_normal((4, 3)), {}),
                             ("negative_slope=0.3, N = 1", away_from_zero(rng, (1, 5)), {"negative_slope": 0.3})):
        yield forward_case(label, "leaky_relu_forward", (x,), ref.leaky_relu_forward(x, **kwargs)[0], kwargs=kwargs,
                           hint="use the negative_slope argument, and do not write into x")


@question("leaky_relu_backward")
def leaky_relu_backward_cases(rng: np.random.Generator, ref: Any):
    slope = {"negative_slope": 0.1}
    x = np.array([-1.0, 0.0, 2.0])
    yield backward_case("public: negative_slope=0.1 at x = -1, 0, 2", "leaky_relu_forward", "leaky_relu_backward",
                        (x,), np.array([10.0, 10.0, 10.0]), np.array([1.0, 1.0, 10.0]), kwargs=slope,
                        hint=LEAKY_BACKWARD_HINT)
    public = np.random.default_rng(0)
    x = public.choice([-1.0, 1.0], size=(3, 4)) * public.uniform(0.1, 2.0, size=(3, 4))
    upstream = gradcheck_upstream((3, 4))
    yield backward_case("public gradient check: negative_slope=0.1", "leaky_relu_forward", "leaky_relu_backward",
                        (x,), upstream,
                        reference_backward(ref, "leaky_relu_forward", "leaky_relu_backward", (x,), upstream, slope),
                        kwargs=slope, hint=LEAKY_BACKWARD_HINT)
    for label, x, kwargs in (("negative_slope=0.2, x (2, 3, 4) with zeros", with_exact_zeros(rng, (2, 3, 4)),
                              {"negative_slope": 0.2}),
                             ("negative_slope=0.1, x (3, 3) with zeros", with_exact_zeros(rng, (3, 3)),
                              {"negative_slope": 0.1}),
                             ("negative_slope=0.5, N = 1", away_from_zero(rng, (1, 4)), {"negative_slope": 0.5})):
        upstream = rng.standard_normal(x.shape)
        yield backward_case(label, "leaky_relu_forward", "leaky_relu_backward", (x,), upstream,
                            reference_backward(ref, "leaky_relu_forward", "leaky_relu_backward", (x,), upstream,
                                               kwargs),
                            kwargs=kwargs, hint=LEAKY_BACKWARD_HINT)


@question("sigmoid_forward")
def sigmoid_forward_cases(rng: np.random.Generator, ref: Any):
    x = np.array([[-2.0, -1.0, 0.0], [1.0, 2.0, 4.0]])
    yield forward_case("public: x of shape (2, 3)", "sigmoid_forward", (x,), ref.sigmoid_forward(x)[0],
                       hint="sigma(x) = 1 / (1 + exp(-x))")
    for label, x in (("public: x = ±710, ±1000", np.array([-1000.0, -710.0, 0.0, 710.0, 1000.0])),
                     ("x = ±1000 mixed in a (2, 3) batch", np.array([[1000.0, -3.0, -1000.0], [0.5, -800.0, 750.0]]))):
        yield overflow_free_case(f"{label}: exact values, no overflow", "sigmoid_forward", x,
                                 ref.sigmoid_forward(x)[0], hint=SIGMOID_HINT)
    for label, x in (("x (2, 3, 4) of size up to 8", 8 * rng.uniform(-1, 1, size=(2, 3, 4))),
                     ("N = 1, x (1, 3)", rng.standard_normal((1, 3))),
                     ("float32 x = ±30, ±80", np.array([-80.0, -30.0, 0.0, 30.0, 80.0], dtype=np.float32))):
        yield forward_case(label, "sigmoid_forward", (x,), ref.sigmoid_forward(x)[0], hint=SIGMOID_HINT)


@question("sigmoid_backward")
def sigmoid_backward_cases(rng: np.random.Generator, ref: Any):
    public = np.random.default_rng(0)
    x = public.uniform(-3.0, 3.0, size=(3, 4))
    upstream = gradcheck_upstream((3, 4))
    hint = ("multiply grad_out by the local derivative sigma(x) (1 - sigma(x)), computed from the output your "
            "forward pass cached (no exponential needed)")
    yield backward_case("public gradient check: x (3, 4)", "sigmoid_forward", "sigmoid_backward", (x,), upstream,
                        reference_backward(ref, "sigmoid_forward", "sigmoid_backward", (x,), upstream), hint=hint)
    yield backward_case("public: x = -1000, 0, 1000", "sigmoid_forward", "sigmoid_backward",
                        (np.array([-1000.0, 0.0, 1000.0]),), np.ones(3), np.array([0.0, 0.25, 0.0]), hint=hint)
    for label, x in (("x (2, 3, 4)", 3 * rng.standard_normal((2, 3, 4))),
                     ("N = 1, x (1, 5)", rng.standard_normal((1, 5))),
                     ("saturated x = ±700, ±1000", np.array([[-1000.0, -700.0], [700.0, 1000.0]]))):
        upstream = rng.standard_normal(x.shape)
        yield backward_case(label, "sigmoid_forward", "sigmoid_backward", (x,), upstream,
                            reference_backward(ref, "sigmoid_forward", "sigmoid_backward", (x,), upstream), hint=hint)


@question("tanh_forward")
def tanh_forward_cases(rng: np.random.Generator, ref: Any):
    hint = "np.tanh(x) is stable; the exp formula gives inf / inf = nan for huge |x|"
    x = np.array([-1000.0, -0.5, 0.0, 0.5, 1000.0])
    yield forward_case("public: x = -1000, -0.5, 0, 0.5, 1000", "tanh_forward", (x,),
                       np.array([-1.0, -0.46211716, 0.0, 0.46211716, 1.0]), hint=hint)
    for label, x in (("x (2, 3, 4)", 2 * rng.standard_normal((2, 3, 4))),
                     ("N = 1, x = ±800 in (1, 4)", np.array([[-800.0, 0.25, 800.0, -2.0]]))):
        yield forward_case(label, "tanh_forward", (x,), ref.tanh_forward(x)[0], hint=hint)


@question("tanh_backward")
def tanh_backward_cases(rng: np.random.Generator, ref: Any):
    hint = "tanh'(x) written with tanh's output (if you cache the output, do not apply tanh again), times grad_out"
    public = np.random.default_rng(0)
    x = public.uniform(-2.0, 2.0, size=(3, 4))
    upstream = gradcheck_upstream((3, 4))
    yield backward_case("public gradient check: x (3, 4)", "tanh_forward", "tanh_backward", (x,), upstream,
                        reference_backward(ref, "tanh_forward", "tanh_backward", (x,), upstream), hint=hint)
    yield backward_case("public: x = -1000, 0, 1000", "tanh_forward", "tanh_backward",
                        (np.array([-1000.0, 0.0, 1000.0]),), np.full(3, 2.0), np.array([0.0, 2.0, 0.0]), hint=hint)
    for label, x in (("x (2, 3, 4)", 1.5 * rng.standard_normal((2, 3, 4))),
                     ("N = 1, x (1, 3)", rng.standard_normal((1, 3)))):
        upstream = rng.standard_normal(x.shape)
        yield backward_case(label, "tanh_forward", "tanh_backward", (x,), upstream,
                            reference_backward(ref, "tanh_forward", "tanh_backward", (x,), upstream), hint=hint)


# ---------------------------------------------------------------------------
# Part C: losses
# ---------------------------------------------------------------------------


@question("l2_loss")
def l2_loss_cases(rng: np.random.Generator, ref: Any):
    hint = "loss = mean of (x - y)**2 over ALL entries; differentiate that mean, 1/K included"
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.ones((2, 2))
    yield loss_case("public: by-hand example", "l2_loss", (x, y), (3.5, np.array([[0.0, 0.5], [1.0, 1.5]])), hint)
    public = np.random.default_rng(0)
    y = public.standard_normal((3, 4))
    x = y + public.choice([-1.0, 1.0], size=(3, 4)) * public.uniform(0.1, 2.0, size=(3, 4))
    yield loss_case("public gradient check: x (3, 4)", "l2_loss", (x, y), ref.l2_loss(x, y), hint)
    for shape in [(5, 1), (2, 3, 4), (1, 6), (8,)]:
        x, y = rng.standard_normal(shape), rng.standard_normal(shape)
        yield loss_case(f"x and y of shape {shape}", "l2_loss", (x, y), ref.l2_loss(x, y), hint)


@question("bce_loss")
def bce_loss_cases(rng: np.random.Generator, ref: Any):
    hint = ("loss = mean over ALL entries of -[y log(y_hat) + (1 - y) log(1 - y_hat)]; differentiate one term, "
            "and keep the 1/K of the mean; the gradient is negative where y = 1")
    y_hat = np.array([[0.8, 0.5], [0.25, 0.9]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    yield loss_case("public: by-hand example", "bce_loss", (y_hat, y),
                    (0.32733333, np.array([[-0.3125, 0.5], [0.33333333, -0.27777778]])), hint)
    public = np.random.default_rng(0)
    y_hat, y = public.uniform(0.2, 0.8, size=(2, 3)), public.integers(0, 2, size=(2, 3)).astype(float)
    yield loss_case("public gradient check: (2, 3)", "bce_loss", (y_hat, y), ref.bce_loss(y_hat, y), hint)
    for label, shape, soft in (("binary targets (5, 3)", (5, 3), False), ("binary targets (2, 2, 3)", (2, 2, 3), False),
                               ("N = 1, (1, 4)", (1, 4), False), ("soft targets (6,)", (6,), True)):
        y_hat = rng.uniform(0.01, 0.99, size=shape)
        y = rng.uniform(0.0, 1.0, size=shape) if soft else rng.integers(0, 2, size=shape).astype(float)
        yield loss_case(label, "bce_loss", (y_hat, y), ref.bce_loss(y_hat, y), hint)


@question("softmax_loss")
def softmax_loss_cases(rng: np.random.Generator, ref: Any):
    yield loss_case("public: scores (2, 1, 0), label 0", "softmax_loss", (np.array([[2.0, 1.0, 0.0]]), np.array([0])),
                    (0.40760596, np.array([[-0.33475904, 0.24472847, 0.09003057]])), SOFTMAX_HINT)
    public = np.random.default_rng(1)
    x, y = 0.5 * public.standard_normal((3, 4)), public.integers(0, 4, size=3)
    yield loss_case("public gradient check: N = 3, C = 4", "softmax_loss", (x, y), ref.softmax_loss(x, y), SOFTMAX_HINT)
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1001.0, -999.0], [1000.0, 999.0, 1000.0]])
    y = np.array([0, 2, 1])
    yield loss_case("public stability check: scores of ±1000, rows at different levels", "softmax_loss", (x, y),
                    ref.softmax_loss(x, y), SOFTMAX_HINT)
    for label, n, c, scale in (("N = 7, C = 10", 7, 10, 1.0), ("N = 1, C = 4", 1, 4, 1.0), ("N = 5, C = 2", 5, 2, 3.0),
                               ("scores of size ~1000, N = 4, C = 6", 4, 6, 1000.0)):
        x = scale * rng.standard_normal((n, c))
        y = rng.integers(0, c, size=n)
        y[0] = c - 1
        yield loss_case(label, "softmax_loss", (x, y), ref.softmax_loss(x, y), SOFTMAX_HINT)
    x = rng.standard_normal((4, 3)) + np.array([[2000.0], [-2000.0], [0.0], [1500.0]])
    y = np.array([2, 0, 1, 1])
    yield loss_case("rows offset by +2000, -2000, 0, +1500", "softmax_loss", (x, y), ref.softmax_loss(x, y),
                    SOFTMAX_HINT)


@question("l2_regularization")
def l2_regularization_cases(rng: np.random.Generator, ref: Any):
    hint = "loss = (reg / 2) * sum of w**2 over all entries (a sum, not a mean); gradient: your derivation in Q2.21"
    w = np.array([[1.0, -2.0], [3.0, 0.0]])
    yield loss_case("public: by-hand example, reg = 0.1", "l2_regularization", (w, 0.1),
                    (0.7, np.array([[0.1, -0.2], [0.3, 0.0]])), hint)
    public = np.random.default_rng(0)
    w = public.choice([-1.0, 1.0], size=(3, 4)) * public.uniform(0.1, 2.0, size=(3, 4))
    yield loss_case("public gradient check: w (3, 4), reg = 0.3", "l2_regularization", (w, 0.3),
                    ref.l2_regularization(w, 0.3), hint)
    for shape, reg in (((5, 2), 2.5), ((2, 3, 4), 0.01), ((7,), 1.0), ((3, 3), 0.0)):
        w = rng.standard_normal(shape)
        yield loss_case(f"w of shape {shape}, reg = {reg}", "l2_regularization", (w, reg),
                        ref.l2_regularization(w, reg), hint)


# ---------------------------------------------------------------------------
# Part D: linear regression from blocks
# ---------------------------------------------------------------------------

#: The step is graded with the reference blocks, so only the way they are chained counts here.
REFERENCE_BLOCKS = {"fc_forward": "layers", "fc_backward": "layers", "l2_loss": "layers"}


@question("linear_regression_step")
def linear_regression_step_cases(rng: np.random.Generator, ref: Any):
    hint = ("chain your blocks: fc_forward gives the prediction and its cache, l2_loss (prediction first) the "
            "loss and the gradient of the prediction, and fc_backward turns that gradient into grad_w and grad_b")

    def step_case(label: str, x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray,
                  expected: tuple | None = None) -> Case:
        expected = expected if expected is not None else ref.linear_regression_step(x, y, w, b)
        return Case(label, [call("linear_regression_step", x, y, w, b)],
                    expect={"0.0": expected[0], "0.1": expected[1], "0.2": expected[2]}, hint=hint,
                    use_reference=REFERENCE_BLOCKS)

    yield step_case("public: by-hand example", np.array([[1.0], [2.0]]), np.array([[1.0], [1.0]]),
                    np.array([[1.0]]), np.array([0.0]), (0.5, np.array([[2.0]]), np.array([1.0])))
    public = np.random.default_rng(0)
    x, y = public.standard_normal((5, 3)), public.standard_normal((5, 2))
    w, b = public.standard_normal((3, 2)), public.standard_normal(2)
    yield step_case("public: N = 5, D = 3, M = 2", x, y, w, b)
    for x_shape, m in (((8, 4), 1), ((3, 2, 3), 2), ((1, 5), 3)):
        x = rng.standard_normal(x_shape)
        y = rng.standard_normal((x_shape[0], m))
        w = rng.standard_normal((int(np.prod(x_shape[1:])), m))
        b = rng.standard_normal(m)
        yield step_case(f"x {x_shape}, y {y.shape}", x, y, w, b)


#: Backward questions: (function, forward functions it must not call); each also must not use hwlib.gradcheck.
ANALYTIC = {
    "fc_backward": [("fc_backward", ("fc_forward",))],
    "relu_backward": [("relu_backward", ("relu_forward",))],
    "leaky_relu_backward": [("leaky_relu_backward", ("leaky_relu_forward",))],
    "sigmoid_backward": [("sigmoid_backward", ("sigmoid_forward",))],
    "tanh_backward": [("tanh_backward", ("tanh_forward",))],
    "elu_backward": [("elu_backward", ("elu_forward",))],
    "l2_loss": [("l2_loss", ())],
    "bce_loss": [("bce_loss", ())],
    "softmax_loss": [("softmax_loss", ())],
    "l2_regularization": [("l2_regularization", ())],
    "linear_regression_step": [("linear_regression_step", ())],
}


def _timed_activation(forward: str, backward: str, hint: str, **kwargs: Any):
    """A large timed backward case; ``kwargs`` (the layer's parameter) are passed to the forward explicitly."""
    def make(rng: np.random.Generator, ref: Any) -> Case:
        x = rng.standard_normal((128, 512))
        given = "".join(f", {k}={v}" for k, v in kwargs.items())
        return timed_backward_case(f"large input, in time: x (128, 512){given}", forward, backward, (x,), ref, rng,
                                   hint=hint, kwargs=kwargs)
    return make


#: Large cases that only an analytic backward finishes in time (the limit scales with the reference's time).
TIMED = {
    "relu_backward": [_timed_activation("relu_forward", "relu_backward", RELU_BACKWARD_HINT)],
    "leaky_relu_backward": [_timed_activation("leaky_relu_forward", "leaky_relu_backward", LEAKY_BACKWARD_HINT,
                                              negative_slope=0.1)],
    "sigmoid_backward": [_timed_activation("sigmoid_forward", "sigmoid_backward", "grad_x = grad_out * s * (1 - s)")],
    "tanh_backward": [_timed_activation("tanh_forward", "tanh_backward",
                                        "tanh'(x) written with tanh's output, times grad_out")],
}


# ---------------------------------------------------------------------------
# Part B (continued): ELU (issue 13: handout 001, Task 8)
# ---------------------------------------------------------------------------

ELU_FORWARD_HINT = "x where x > 0, alpha * (exp(x) - 1) elsewhere, with the exponential taken of numbers <= 0 only"
ELU_BACKWARD_HINT = ("differentiate each branch of ELU (the left branch also at x == 0), take alpha from the cache, "
                     "multiply by grad_out, and exponentiate only numbers <= 0")


def _elu_reference(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """ELU computed independently of the notebook's reference (a second opinion for the fixed cases)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _overflow_free_backward_case(name: str, forward: str, backward: str, x: np.ndarray, grad_out: np.ndarray,
                                 expected: np.ndarray, hint: str, kwargs: Mapping[str, Any]) -> Case:
    """The student's forward, then the student's backward run under ``np.errstate(over="raise", ...)``."""
    calls = [call(forward, x, **dict(kwargs)),
             call(backward, "__call__", method="__getattribute__"),
             call("np", over="raise", divide="raise", invalid="raise", method="errstate"),
             call(Ref(2), Ref(1)),
             call(Ref(3), grad_out, Ref(0, (1,)))]
    return Case(name, calls, expect={"4": expected}, hint=hint)


@question("elu_forward")
def elu_forward_cases(rng: np.random.Generator, ref: Any):
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    yield forward_case("public: alpha = 1", "elu_forward", (x,), _elu_reference(x), hint=ELU_FORWARD_HINT)
    yield forward_case("public: alpha = 0.5", "elu_forward", (x,), _elu_reference(x, 0.5), kwargs={"alpha": 0.5},
                       hint="use the alpha argument, not a fixed 1")
    for label, x in (("public: x = -1000, 1000", np.array([-1000.0, 1000.0])),
                     ("x = ±750, ±1000 in a (2, 3) batch", np.array([[1000.0, -3.0, -1000.0], [0.5, -750.0, 750.0]]))):
        yield overflow_free_case(f"{label}: exact values, no overflow", "elu_forward", x, _elu_reference(x),
                                 hint=ELU_FORWARD_HINT)
    for label, x, kwargs in (("alpha = 2, x (2, 3, 4) with zeros", with_exact_zeros(rng, (2, 3, 4)), {"alpha": 2.0}),
                             ("default alpha, x (4, 3)", 3 * rng.standard_normal((4, 3)), {}),
                             ("alpha = 0.3, N = 1", away_from_zero(rng, (1, 5)), {"alpha": 0.3})):
        expected = ref.elu_forward(x, **kwargs)[0]
        np.testing.assert_allclose(expected, _elu_reference(x, **kwargs), rtol=1e-12, atol=0)
        yield forward_case(label, "elu_forward", (x,), expected, kwargs=kwargs,
                           hint="use the alpha argument, and do not write into x")


@question("elu_backward")
def elu_backward_cases(rng: np.random.Generator, ref: Any):
    half = {"alpha": 0.5}
    x = np.array([-1000.0, 0.0, 1000.0])
    yield backward_case("public: alpha = 0.5 at x = -1000, 0, 1000", "elu_forward", "elu_backward", (x,),
                        np.full(3, 2.0), np.array([0.0, 1.0, 2.0]), kwargs=half, hint=ELU_BACKWARD_HINT)
    yield _overflow_free_backward_case("x = -1000, 0, 1000: no overflow in the backward pass", "elu_forward",
                                       "elu_backward", x, np.full(3, 2.0), np.array([0.0, 1.0, 2.0]),
                                       ELU_BACKWARD_HINT, half)
    public = np.random.default_rng(0)
    x = public.choice([-1.0, 1.0], size=(3, 4)) * public.uniform(0.1, 2.0, size=(3, 4))
    upstream = gradcheck_upstream((3, 4))
    for alpha in (1.0, 0.7):
        kwargs = {"alpha": alpha}
        yield backward_case(f"public gradient check: alpha = {alpha}", "elu_forward", "elu_backward", (x,), upstream,
                            reference_backward(ref, "elu_forward", "elu_backward", (x,), upstream, kwargs),
                            kwargs=kwargs, hint=ELU_BACKWARD_HINT)
    for label, x, kwargs in (("alpha = 2, x (2, 3, 4) with zeros", with_exact_zeros(rng, (2, 3, 4)), {"alpha": 2.0}),
                             ("alpha = 1, x (3, 3) with zeros", with_exact_zeros(rng, (3, 3)), {"alpha": 1.0}),
                             ("alpha = 0.3, N = 1", away_from_zero(rng, (1, 4)), {"alpha": 0.3})):
        upstream = rng.standard_normal(x.shape)
        expected = reference_backward(ref, "elu_forward", "elu_backward", (x,), upstream, kwargs)
        alpha = kwargs.get("alpha", 1.0)
        slope = np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
        np.testing.assert_allclose(expected, upstream * slope, rtol=1e-12, atol=0)
        yield backward_case(label, "elu_forward", "elu_backward", (x,), upstream, expected, kwargs=kwargs,
                            hint=ELU_BACKWARD_HINT)


TIMED["elu_backward"] = [_timed_activation("elu_forward", "elu_backward", ELU_BACKWARD_HINT, alpha=1.0)]
