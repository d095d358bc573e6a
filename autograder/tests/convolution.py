"""Hidden tests for notebook 5 (convolution and max pooling, forward and backward).

Reference values come from the source notebook's own solution (``ref``). The
public checks of each test cell are repeated here, so these cases alone decide
the score. Backward cases build the cache tuple the notebook fixes ((x, w, b, stride,
pad) and (x, (ph, pw), stride)) instead of calling the student's forward pass, so
a forward mistake is charged to the forward question only.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from course.cases import Case, TimeLimit, call
from course.hidden import question

#: The hand-checkable example of the public tests: one 3x3 image, one 2x2 mask, bias 1.
EXAMPLE_X = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
EXAMPLE_W = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
EXAMPLE_B = np.array([1.0])

FORWARD_HINT = ("out[n, f, i, j] = b[f] + sum over c, p, q of x_pad[n, c, stride*i + p, stride*j + q] * w[f, c, p, q] "
                "(no mask flip); H' = 1 + (H + 2 pad - HH) // stride, W' likewise with W and WW")
BACKWARD_HINT = ("outputs 0.0 = grad_x, 0.1 = grad_w, 0.2 = grad_b. Windows start at stride*i in the padded input; "
                 "add (+=) grad_out[:, :, i, j] times w into grad_x_pad, cut the padding off at the end; "
                 "grad_w sums over the batch and all positions; grad_b sums grad_out over axes (0, 2, 3)")
POOL_HINT = ("out[n, c, i, j] = max of x[n, c, s*i : s*i + ph, s*j : s*j + pw]; H' = 1 + (H - ph) // s; "
             "pool_size is an int or (ph, pw) = (rows, columns)")
POOL_BACKWARD_HINT = ("each grad_out[n, c, i, j] goes to the first maximum (row-major) of its window only; "
                      "overlapping windows add up (+=); pixels in no window get 0")


# ---------------------------------------------------------------------------------------------
# Q5.1 derivative_mask

def _check_derivative_on_random_signal(signal: np.ndarray):
    def check(outputs: Mapping[str, Any]) -> None:
        mask = np.asarray(outputs["0"], dtype=float)
        if mask.shape != (3,):
            raise AssertionError(f"the mask has shape {mask.shape}; expected (3,).")
        got = np.convolve(signal, mask, mode="same")[1:-1]
        expected = (signal[2:] - signal[:-2]) / 2
        if not np.allclose(got, expected, atol=1e-12, rtol=1e-9):
            worst = int(np.argmax(np.abs(got - expected)))
            raise AssertionError(
                f"np.convolve(I, G, mode='same') at t = {worst + 1} is {got[worst]:.6g}, but "
                f"(I[t+1] - I[t-1]) / 2 = {expected[worst]:.6g} for a random signal I of length {signal.size}.")
    return check


@question("derivative_mask")
def derivative_mask_cases(rng: np.random.Generator, ref: Any):
    hint = ("np.convolve flips the mask: G[0] (offset -1) multiplies I[t+1] and G[2] (offset +1) multiplies "
            "I[t-1]; the difference is divided by 2")
    squares = np.arange(7.0) ** 2
    yield Case("mask values (offsets -1, 0, +1)", [call("derivative_mask")],
               expect={"0": ref.derivative_mask()}, atol=1e-12, rtol=0.0, hint=hint)
    yield Case("I[t] = t^2 (the public check)", [call("derivative_mask")], fetch=("0",),
               check=_check_derivative_on_random_signal(squares), hint=hint)
    yield Case("random signal of length 40", [call("derivative_mask")], fetch=("0",),
               check=_check_derivative_on_random_signal(rng.standard_normal(40)), hint=hint)


# ---------------------------------------------------------------------------------------------
# Q5.2 conv_forward

def _conv_forward_case(ref: Any, name: str, x: np.ndarray, w: np.ndarray, b: np.ndarray,
                       hint: str = FORWARD_HINT, **settings: int) -> Case:
    expected = ref.conv_forward(x, w, b, **settings)[0]
    return Case(name, [call("conv_forward", x, w, b, **settings)], expect={"0.0": expected}, hint=hint)


def _random_conv(rng: np.random.Generator, x_shape: tuple, w_shape: tuple):
    return rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])


@question("conv_forward")
def conv_forward_cases(rng: np.random.Generator, ref: Any):
    # The public checks.
    yield Case("public example: 3x3 image, 2x2 mask, stride 1, pad 0",
               [call("conv_forward", EXAMPLE_X, EXAMPLE_W, EXAMPLE_B)],
               expect={"0.0": np.array([[[[38.0, 48.0], [68.0, 78.0]]]])},
               hint="w[f, c, 0, 0] multiplies the top-left pixel of each window: no flip")
    yield Case("public example with stride 2, pad 1",
               [call("conv_forward", EXAMPLE_X, EXAMPLE_W, EXAMPLE_B, stride=2, pad=1)],
               expect={"0.0": np.array([[[[5.0, 19.0], [37.0, 78.0]]]])},
               hint="pad first; the window of out[i, j] starts at row stride*i, column stride*j of the padded image")
    x = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])[None]
    w = np.stack([np.ones((2, 1, 1)), np.array([[[1.0]], [[-1.0]]])])
    b = np.array([0.5, -0.5])
    yield _conv_forward_case(ref, "public example: 2 channels, 2 masks of 1x1", x, w, b,
                             hint="sum over the channel axis too; out[:, f] gets bias b[f]")
    public = np.random.default_rng(5)
    x, w, b = public.standard_normal((2, 3, 7, 5)), public.standard_normal((4, 3, 3, 2)), public.standard_normal(4)
    yield _conv_forward_case(ref, "public shapes: x (2, 3, 7, 5), w (4, 3, 3, 2), stride 2, pad 1", x, w, b,
                             stride=2, pad=1)
    # Other shapes: one image, one channel, one mask, non-square everything.
    yield _conv_forward_case(ref, "N = 1, C = 1, F = 1: x (1, 1, 5, 4), w (1, 1, 2, 3)",
                             *_random_conv(rng, (1, 1, 5, 4), (1, 1, 2, 3)))
    yield _conv_forward_case(ref, "colour images: x (2, 3, 6, 8), w (4, 3, 3, 3), F = 4",
                             *_random_conv(rng, (2, 3, 6, 8), (4, 3, 3, 3)))
    # An asymmetric mask on an asymmetric image: a flipped mask gives different values.
    x = rng.standard_normal((1, 3, 4, 6))
    w = np.arange(1.0, 3 * 3 * 2 + 1).reshape(1, 3, 3, 2)
    yield _conv_forward_case(ref, "asymmetric mask w[0, c, p, q] = 1, 2, 3, ... (a flip shows)", x, w, np.zeros(1),
                             hint="w[f, c, 0, 0] multiplies the top-left pixel of each window; do not flip the mask")
    # Strides whose windows do not reach the end: the output size rounds down.
    yield _conv_forward_case(ref, "x (3, 2, 7, 9), w (2, 2, 3, 2), stride 2: sizes round down",
                             *_random_conv(rng, (3, 2, 7, 9), (2, 2, 3, 2)), stride=2)
    yield _conv_forward_case(ref, "x (2, 3, 8, 7), w (3, 3, 4, 3), stride 3, pad 2",
                             *_random_conv(rng, (2, 3, 8, 7), (3, 3, 4, 3)), stride=3, pad=2)
    yield _conv_forward_case(ref, "'same' padding: x (1, 3, 5, 6), w (2, 3, 3, 3), pad 1",
                             *_random_conv(rng, (1, 3, 5, 6), (2, 3, 3, 3)), pad=1)
    yield _conv_forward_case(ref, "x (2, 1, 9, 4), w (2, 1, 2, 2), stride 2, pad 1",
                             *_random_conv(rng, (2, 1, 9, 4), (2, 1, 2, 2)), stride=2, pad=1)
    # Output width equal to F: a bias added along the wrong axis broadcasts silently.
    yield _conv_forward_case(ref, "x (2, 2, 5, 5), w (3, 2, 3, 3): W' = F = 3, distinct biases",
                             rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)),
                             np.array([10.0, -20.0, 30.0]), hint="bias b[f] belongs to mask f: b[None, :, None, None]")
    # Default stride and pad.
    x, w, b = _random_conv(rng, (2, 3, 5, 7), (2, 3, 2, 2))
    yield Case("defaults: conv_forward(x, w, b) means stride 1, pad 0",
               [call("conv_forward", x, w, b)], expect={"0.0": ref.conv_forward(x, w, b, 1, 0)[0]},
               hint="keep the signature conv_forward(x, w, b, stride=1, pad=0)")


# ---------------------------------------------------------------------------------------------
# Q5.4 conv_backward

def _conv_backward_case(ref: Any, name: str, x: np.ndarray, w: np.ndarray, b: np.ndarray,
                        grad_out: np.ndarray | None = None, rng: np.random.Generator | None = None,
                        hint: str = BACKWARD_HINT, **settings: int) -> Case:
    out, cache = ref.conv_forward(x, w, b, **settings)
    if grad_out is None:
        grad_out = rng.standard_normal(out.shape)
    grad_x, grad_w, grad_b = ref.conv_backward(grad_out, cache)
    return Case(name, [call("conv_backward", grad_out, _conv_cache(x, w, b, **settings))],
                expect={"0.0": grad_x, "0.1": grad_w, "0.2": grad_b}, hint=hint)


def _conv_cache(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> tuple:
    """The cache conv_forward returns, as the notebook fixes it."""
    return (x, w, b, stride, pad)


@question("conv_backward")
def conv_backward_cases(rng: np.random.Generator, ref: Any):
    # The public checks.
    yield Case("public example, stride 1, grad_out all ones",
               [call("conv_backward", np.ones((1, 1, 2, 2)), _conv_cache(EXAMPLE_X, EXAMPLE_W, EXAMPLE_B))],
               expect={"0.0": np.array([[[[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]]]),
                       "0.1": np.array([[[[12.0, 16.0], [24.0, 28.0]]]]), "0.2": np.array([4.0])},
               hint=BACKWARD_HINT)
    yield Case("public example, stride 2, pad 1",
               [call("conv_backward", np.array([[[[1.0, 2.0], [3.0, 4.0]]]]),
                     _conv_cache(EXAMPLE_X, EXAMPLE_W, EXAMPLE_B, stride=2, pad=1))],
               expect={"0.0": np.array([[[[4.0, 6.0, 8.0], [6.0, 4.0, 8.0], [12.0, 12.0, 16.0]]]]),
                       "0.1": np.array([[[[20.0, 36.0], [36.0, 64.0]]]]), "0.2": np.array([10.0])},
               hint=BACKWARD_HINT)
    public = np.random.default_rng(6)
    x, w, b = public.standard_normal((2, 3, 7, 5)), public.standard_normal((4, 3, 3, 2)), public.standard_normal(4)
    yield _conv_backward_case(ref, "public shapes: x (2, 3, 7, 5), w (4, 3, 3, 2), stride 2, pad 1",
                              x, w, b, public.standard_normal((2, 4, 4, 3)), stride=2, pad=1)
    # The public gradient-check data, all four settings, against exact gradients.
    checks = np.random.default_rng(442)
    x, w, b = checks.standard_normal((2, 3, 6, 5)), checks.standard_normal((4, 3, 3, 2)), checks.standard_normal(4)
    for stride in (1, 2):
        for pad in (0, 1):
            yield _conv_backward_case(ref, f"gradient-check data, stride {stride}, pad {pad}", x, w, b,
                                      rng=rng, stride=stride, pad=pad)
    # Other shapes.
    yield _conv_backward_case(ref, "N = 1, C = 1, F = 1: x (1, 1, 5, 4), w (1, 1, 2, 3)",
                              *_random_conv(rng, (1, 1, 5, 4), (1, 1, 2, 3)), rng=rng)
    yield _conv_backward_case(ref, "N = F = 3: x (3, 3, 6, 5), w (3, 3, 2, 2)",
                              *_random_conv(rng, (3, 3, 6, 5), (3, 3, 2, 2)), rng=rng,
                              hint=BACKWARD_HINT + ". grad_b has one entry per mask, summed over images and positions")
    yield _conv_backward_case(ref, "x (3, 2, 7, 9), w (2, 2, 3, 2), stride 2 (sizes round down)",
                              *_random_conv(rng, (3, 2, 7, 9), (2, 2, 3, 2)), rng=rng, stride=2)
    yield _conv_backward_case(ref, "x (2, 3, 8, 7), w (3, 3, 4, 3), stride 3, pad 2",
                              *_random_conv(rng, (2, 3, 8, 7), (3, 3, 4, 3)), rng=rng, stride=3, pad=2)
    yield _conv_backward_case(ref, "x (1, 3, 5, 6), w (2, 3, 3, 3), pad 1",
                              *_random_conv(rng, (1, 3, 5, 6), (2, 3, 3, 3)), rng=rng, pad=1)
    x = rng.standard_normal((2, 3, 4, 6))
    w = np.arange(1.0, 3 * 3 * 2 + 1).reshape(1, 3, 3, 2)
    yield _conv_backward_case(ref, "asymmetric mask w[0, c, p, q] = 1, 2, 3, ... (a flip shows)", x, w, np.zeros(1),
                              rng=rng, hint=BACKWARD_HINT + ". grad_x gets grad_out * w unflipped")


# ---------------------------------------------------------------------------------------------
# Q5.5 vertical_edge_mask

def _response(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Response of a (3, k, k) mask at every window of a (3, H, W) image (no flip)."""
    k_rows, k_cols = mask.shape[1:]
    windows = np.lib.stride_tricks.sliding_window_view(image, (k_rows, k_cols), axis=(1, 2))  # (3, H', W', k, k)
    return np.einsum("cijpq,cpq->ij", windows, mask)


def _mask_of(outputs: Mapping[str, Any]) -> np.ndarray:
    mask = np.asarray(outputs["0"], dtype=float)
    if not (mask.ndim == 3 and mask.shape[0] == 3 and 2 <= mask.shape[1] <= 7 and mask.shape[1] == mask.shape[2]):
        raise AssertionError(f"the mask has shape {mask.shape}; expected (3, k, k) with k from 2 to 7.")
    if not np.all(np.isfinite(mask)):
        raise AssertionError("the mask contains nan or inf.")
    return mask


def _step_image(height: int, width: int, edge: int, vertical: bool, low: float, high: float) -> np.ndarray:
    """A (3, height, width) gray image: value `low` before index `edge` (columns or rows), `high` after."""
    image = np.full((3, height, width), low)
    if vertical:
        image[:, :, edge:] = high
    else:
        image[:, edge:, :] = high
    return image


def _straddling(width_out: int, k: int, edge: int) -> np.ndarray:
    """Which output columns have windows that start before column `edge` and reach past it."""
    starts = np.arange(width_out)
    return (starts < edge) & (starts + k > edge)


def _edge_peak(mask: np.ndarray, height: int = 10, width: int = 16, edge: int = 8) -> float:
    response = _response(_step_image(height, width, edge, True, 0.0, 1.0), mask)
    return float(response[:, _straddling(response.shape[1], mask.shape[1], edge)].max())


def _check_shape(outputs: Mapping[str, Any]) -> None:
    _mask_of(outputs)


def _check_dark_light(height: int, width: int, edge: int):
    def check(outputs: Mapping[str, Any]) -> None:
        mask = _mask_of(outputs)
        peak = _edge_peak(mask, height, width, edge)
        if peak < 1.0:
            raise AssertionError(f"on a {height}x{width} image, black left of column {edge} and white from it on, "
                                 f"the largest response across the edge is {peak:.4g}; expected at least 1.")
    return check


def _check_light_dark(outputs: Mapping[str, Any]) -> None:
    mask = _mask_of(outputs)
    response = _response(_step_image(9, 11, 5, True, 1.0, 0.0), mask)
    lowest = float(response[:, _straddling(response.shape[1], mask.shape[1], 5)].min())
    if lowest > -1.0:
        raise AssertionError(f"white left, black right: the most negative response across the edge is {lowest:.4g}; "
                             f"expected at most -1 (light-to-dark is the opposite sign of dark-to-light).")


def _check_flat_halves(outputs: Mapping[str, Any]) -> None:
    mask = _mask_of(outputs)
    peak = abs(_edge_peak(mask))
    for low, high in ((0.0, 1.0), (0.2, 0.7)):
        response = _response(_step_image(11, 14, 7, True, low, high), mask)
        flat = float(np.abs(response[:, ~_straddling(response.shape[1], mask.shape[1], 7)]).max(initial=0.0))
        if flat > 1e-6 * max(peak, 1e-300):
            raise AssertionError(f"windows entirely on one side of a {low}|{high} edge respond with up to {flat:.4g}; "
                                 f"expected 0 (at most 1e-6 of the edge response {peak:.4g}).")


def _check_coloured_patch(colour: tuple[float, float, float]):
    def check(outputs: Mapping[str, Any]) -> None:
        mask = _mask_of(outputs)
        peak = abs(_edge_peak(mask))
        patch = np.ones((3, 8, 8)) * np.array(colour)[:, None, None]
        flat = float(np.abs(_response(patch, mask)).max())
        if flat > 1e-6 * max(peak, 1e-300):
            raise AssertionError(f"a constant patch of colour {colour} gives a response of {flat:.4g}; expected 0.")
    return check


def _check_horizontal_edge(height: int, width: int, edge: int, low: float, high: float):
    def check(outputs: Mapping[str, Any]) -> None:
        mask = _mask_of(outputs)
        peak = abs(_edge_peak(mask))
        across = float(np.abs(_response(_step_image(height, width, edge, False, low, high), mask)).max())
        if across > 1e-6 * max(peak, 1e-300):
            raise AssertionError(f"a horizontal edge ({low} above row {edge}, {high} from it on) gives a response "
                                 f"of up to {across:.4g}; expected 0.")
    return check


@question("vertical_edge_mask")
def vertical_edge_mask_cases(rng: np.random.Generator, ref: Any):
    def mask_case(name: str, check, hint: str) -> Case:
        return Case(name, [call("vertical_edge_mask")], fetch=("0",), check=check, hint=hint)

    sign_hint = ("weights of one sign on the left columns and the opposite sign on the right columns, in every "
                 "channel; dark on the left and light on the right must give a positive response")
    yield mask_case("shape (3, k, k), finite", _check_shape, "stack one k x k mask per colour channel")
    yield mask_case("dark | light edge on a 10x16 image (the public check)", _check_dark_light(10, 16, 8), sign_hint)
    yield mask_case("dark | light edge near the border of an 8x9 image", _check_dark_light(8, 9, 2), sign_hint)
    yield mask_case("light | dark edge gives a large negative response", _check_light_dark, sign_hint)
    yield mask_case("flat regions on both sides of an edge", _check_flat_halves,
                    "the weights of each channel must add up to zero")
    yield mask_case("flat coloured patch (0.9, 0.2, 0.5) (the public check)", _check_coloured_patch((0.9, 0.2, 0.5)),
                    "the weights of each channel (not only all of them together) must add up to zero")
    yield mask_case("flat coloured patch (0.1, 1.0, 0.3)", _check_coloured_patch((0.1, 1.0, 0.3)),
                    "the weights of each channel (not only all of them together) must add up to zero")
    row_hint = "each row of the mask must add up to zero, so a change from one row to the next cancels"
    yield mask_case("horizontal edge on a 12x10 image (the public check)",
                    _check_horizontal_edge(12, 10, 6, 0.0, 1.0), row_hint)
    yield mask_case("horizontal edge, light above dark, 9x13 image",
                    _check_horizontal_edge(9, 13, 3, 0.8, 0.1), row_hint)


# ---------------------------------------------------------------------------------------------
# Q5.7 max_pool_forward

def _pool_forward_case(ref: Any, name: str, x: np.ndarray, pool_size: Any, stride: int,
                       hint: str = POOL_HINT) -> Case:
    expected = ref.max_pool_forward(x, pool_size, stride)[0]
    return Case(name, [call("max_pool_forward", x, pool_size, stride)], expect={"0.0": expected}, hint=hint)


def _distinct(rng: np.random.Generator, shape: tuple, offset: float = 0.0) -> np.ndarray:
    """Values at least 0.1 apart (no ties), shuffled, in the given shape."""
    return 0.1 * rng.permutation(int(np.prod(shape))).reshape(shape) + offset


@question("max_pool_forward")
def max_pool_forward_cases(rng: np.random.Generator, ref: Any):
    ramp = np.arange(16.0).reshape(1, 1, 4, 4)
    yield Case("public: pool 2, stride 2 on a 4x4 ramp", [call("max_pool_forward", ramp, 2, 2)],
               expect={"0.0": np.array([[[[5.0, 7.0], [13.0, 15.0]]]])}, hint=POOL_HINT)
    yield Case("public: pool 3, stride 1 on a 4x4 ramp", [call("max_pool_forward", ramp, 3, 1)],
               expect={"0.0": np.array([[[[10.0, 11.0], [14.0, 15.0]]]])}, hint=POOL_HINT)
    negative = -np.array([[[[9.0, 1.0, 7.0, 3.0], [2.0, 8.0, 4.0, 6.0], [5.0, 0.5, 1.5, 2.5]]]])
    yield Case("public: pool (2, 3), stride 1, negative values", [call("max_pool_forward", negative, (2, 3), 1)],
               expect={"0.0": np.array([[[[-1.0, -1.0], [-0.5, -0.5]]]])},
               hint=POOL_HINT + "; start from the window's values, not from 0")
    public = np.random.default_rng(7)
    yield _pool_forward_case(ref, "public: x (2, 3, 7, 6), pool 2, stride 2", public.standard_normal((2, 3, 7, 6)),
                             2, 2)
    yield _pool_forward_case(ref, "N = 1, C = 1: x (1, 1, 5, 9), pool (2, 4), stride 3 (gaps)",
                             _distinct(rng, (1, 1, 5, 9)), (2, 4), 3)
    yield _pool_forward_case(ref, "x (2, 3, 7, 6), pool 3, stride 2 (overlap, sizes round down)",
                             _distinct(rng, (2, 3, 7, 6)), 3, 2)
    yield _pool_forward_case(ref, "x (3, 2, 6, 6), pool 2, stride 2", rng.standard_normal((3, 2, 6, 6)), 2, 2)
    yield _pool_forward_case(ref, "x (2, 1, 5, 4), pool (3, 2), stride 1", _distinct(rng, (2, 1, 5, 4)), (3, 2), 1)
    yield _pool_forward_case(ref, "all negative: x (1, 3, 6, 5), pool (2, 3), stride 2",
                             _distinct(rng, (1, 3, 6, 5), offset=-20.0), (2, 3), 2,
                             hint=POOL_HINT + "; start from the window's values, not from 0")
    yield _pool_forward_case(ref, "pool as a list [2, 2]: x (2, 2, 4, 6), stride 2",
                             rng.standard_normal((2, 2, 4, 6)), [2, 2], 2)


# ---------------------------------------------------------------------------------------------
# Q5.9 max_pool_backward

def _pool_backward_case(ref: Any, name: str, x: np.ndarray, pool_size: Any, stride: int,
                        grad_out: np.ndarray | None = None, rng: np.random.Generator | None = None,
                        hint: str = POOL_BACKWARD_HINT) -> Case:
    out, cache = ref.max_pool_forward(x, pool_size, stride)
    if grad_out is None:
        grad_out = rng.standard_normal(out.shape)
    return Case(name, [call("max_pool_backward", grad_out, _pool_cache(x, pool_size, stride))],
                expect={"0": ref.max_pool_backward(grad_out, cache)}, hint=hint)


def _pool_cache(x: np.ndarray, pool_size: Any, stride: int) -> tuple:
    """The cache max_pool_forward returns, as the notebook fixes it."""
    ph, pw = (pool_size, pool_size) if np.ndim(pool_size) == 0 else tuple(pool_size)
    return (x, (ph, pw), stride)


@question("max_pool_backward")
def max_pool_backward_cases(rng: np.random.Generator, ref: Any):
    # The public checks, with their hand-computed answers.
    x = np.array([[[[1.0, 2.0, 0.0], [0.0, 9.0, 3.0], [4.0, 0.0, 1.0]]]])
    yield Case("public: overlapping 2x2 windows sharing one maximum",
               [call("max_pool_backward", np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), _pool_cache(x, 2, 1))],
               expect={"0": np.array([[[[0.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]]]])},
               hint=POOL_BACKWARD_HINT)
    x = np.array([[[[3.0, 3.0, 1.0, 5.0], [3.0, 3.0, 5.0, 2.0]]]])
    yield Case("public: ties go to the first maximum in row-major order",
               [call("max_pool_backward", np.array([[[[2.0, 7.0]]]]), _pool_cache(x, 2, 2))],
               expect={"0": np.array([[[[2.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]]]])},
               hint="give the whole gradient to one entry: np.argmax on the flattened window picks the first maximum")
    x = np.array([[[[1.0, 4.0, 9.0, 2.0, 0.0], [6.0, 5.0, 0.0, 8.0, 7.0], [2.0] * 5, [6.0, 5.0, 0.0, 8.0, 7.0]],
                   [[0.0, -1.0, 5.0, -3.0, -2.0], [1.0] * 5, [1.0] * 5, [3.0, 3.0, 1.0, 2.0, 9.0]]]])
    grad_out = np.array([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]])
    zeros = [0.0] * 5
    yield Case("public: pool (1, 2), stride 3, two channels",
               [call("max_pool_backward", grad_out, _pool_cache(x, (1, 2), 3))],
               expect={"0": np.array([[[[0.0, 1.0, 0.0, 2.0, 0.0], zeros, zeros, [3.0, 0.0, 0.0, 4.0, 0.0]],
                                       [[5.0, 0.0, 0.0, 0.0, 6.0], zeros, zeros, [7.0, 0.0, 0.0, 0.0, 8.0]]]])},
               hint="convert the flat argmax back to (row, column) with divmod by the window width pw; "
                    "pixels in no window get 0")
    # The public gradient-check data (no ties), all four settings.
    checks = 0.1 * np.random.default_rng(443).permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8)
    for pool_size, stride in ((2, 2), (3, 1), ((2, 3), 2), (2, 3)):
        yield _pool_backward_case(ref, f"gradient-check data, pool {pool_size}, stride {stride}", checks,
                                  pool_size, stride, rng=rng)
    # Other shapes, no ties.
    yield _pool_backward_case(ref, "N = 1, C = 1: x (1, 1, 6, 7), pool (3, 2), stride 1 (overlap)",
                              _distinct(rng, (1, 1, 6, 7)), (3, 2), 1, rng=rng)
    yield _pool_backward_case(ref, "x (3, 3, 5, 8), pool (2, 3), stride 2 (overlap along columns)",
                              _distinct(rng, (3, 3, 5, 8)), (2, 3), 2, rng=rng)
    yield _pool_backward_case(ref, "x (2, 2, 9, 7), pool 2, stride 3 (gaps)", _distinct(rng, (2, 2, 9, 7)), 2, 3,
                              rng=rng)
    yield _pool_backward_case(ref, "all negative: x (2, 1, 6, 6), pool 2, stride 2",
                              _distinct(rng, (2, 1, 6, 6), offset=-20.0), 2, 2, rng=rng)
    # Many ties, in overlapping and side-by-side windows: one winner per window (the first in row-major order).
    ties = rng.integers(0, 3, size=(2, 3, 6, 7)).astype(float)
    yield _pool_backward_case(ref, "many ties (values 0, 1, 2), pool 3, stride 1", ties, 3, 1, rng=rng,
                              hint=POOL_BACKWARD_HINT + "; with ties, only the first maximum gets the gradient")
    yield _pool_backward_case(ref, "many ties (values 0, 1, 2), pool (2, 3), stride 2", ties, (2, 3), 2, rng=rng,
                              hint=POOL_BACKWARD_HINT + "; with ties, only the first maximum gets the gradient")
    yield _pool_backward_case(ref, "constant input, pool 2, stride 1", np.ones((1, 2, 4, 5)), 2, 1, rng=rng,
                              hint=POOL_BACKWARD_HINT + "; with ties, only the first maximum gets the gradient")


#: Backward questions: (function, forward functions it must not call); neither may use hwlib.gradcheck.
ANALYTIC = {
    "conv_backward": [("conv_backward", ("conv_forward",))],
    "max_pool_backward": [("max_pool_backward", ("max_pool_forward",))],
}


def _timed_conv(rng: np.random.Generator, ref: Any) -> Case:
    x, w, b = rng.standard_normal((4, 3, 16, 16)), rng.standard_normal((8, 3, 3, 3)), rng.standard_normal(8)
    case = _conv_backward_case(ref, "large input, in time: x (4, 3, 16, 16), w (8, 3, 3, 3), pad 1", x, w, b,
                               rng=rng, pad=1)
    grad_out = case.calls[0].args[0]
    case.time_limit = TimeLimit(lambda: ref.conv_backward(grad_out, ref.conv_forward(x, w, b, pad=1)[1]), floor=3.0,
                                what="conv_backward")
    return case


def _timed_pool(rng: np.random.Generator, ref: Any) -> Case:
    x = rng.permutation(4 * 3 * 16 * 16).reshape(4, 3, 16, 16) * 0.01
    case = _pool_backward_case(ref, "large input, in time: x (4, 3, 16, 16), pool 2, stride 2", x, 2, 2, rng=rng)
    grad_out = case.calls[0].args[0]
    case.time_limit = TimeLimit(lambda: ref.max_pool_backward(grad_out, ref.max_pool_forward(x, 2, 2)[1]),
                                floor=2.0, what="max_pool_backward")
    return case


#: Large cases that only an analytic backward finishes in time (the limit scales with the reference's time).
TIMED = {"conv_backward": [_timed_conv], "max_pool_backward": [_timed_pool]}
