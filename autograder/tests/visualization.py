"""Hidden tests for notebook 6 (class visualization by gradient ascent on the input).

Reference values come from the source notebook's own solution (``ref``). Every case
swaps in the reference notebook-2 layers (and, for the later questions, the reference
``input_gradient`` / ``ascent_step``), so a mistake made earlier is not charged again.

A network is sent to the student's namespace as plain data: call 0 of every case
builds ``FixedWeights(W1=..., b1=..., W2=..., b2=...)`` (the notebook's parameter
holder, in its reference version), and later calls refer to it as ``Ref(0)``.
``input_gradient`` may only use ``model.parameters()``, so this is all it needs.

Most cases run on a small network (8x8x3 images, 32 hidden units, 10 classes)
trained here for a moment, with the reference layers, on synthetic images: each
class is a fixed smooth colour pattern plus noise. Its class visualizations are
recognisable, so "the score rises substantially" and "the image is classified as
its class" are meaningful checks without loading CIFAR-10.
"""

from __future__ import annotations

import types
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from course import reference
from course.cases import Case, Ref, TimeLimit, call
from course.hidden import question

LAYER_NAMES = ("fc_forward", "fc_backward", "relu_forward", "relu_backward")
#: Earlier notebooks' functions replaced by their reference versions in every case.
REFERENCE_LAYERS = {name: "layers" for name in LAYER_NAMES}

NET_IMAGE_SHAPE = (8, 8, 3)
NET_HIDDEN = 32
NUM_CLASSES = 10
#: The hidden network's mean image: smooth, between about 0.3 and 0.6 (so clamping matters).
NET_MEAN = 0.45 + 0.15 * np.sin(np.linspace(0, 3, 8))[:, None, None] * np.cos(np.linspace(0, 2, 8))[None, :, None] \
    * np.array([1.0, 0.6, -0.8])

#: Settings of the "does it work" cases, and the thresholds calibrated on the reference
#: (reference: every class recognised, the score rises by 15 to 20).
RECOGNITION_SETTINGS = dict(num_steps=30, learning_rate=0.1, weight_decay=0.01, jitter=1, blur_every=3,
                            blur_sigma=0.5)
MIN_RECOGNISED = 8
MIN_RISE_FRACTION = 0.5

ASCENT_HINT = ("add learning_rate * direction, with direction = gradient of the score - weight_decay * image, "
               "rescaled to norm clip_grad only when its norm is larger")
LOOP_HINT = ("follow the recipe in order: noise from np.random.default_rng(seed), clamp; per step: jitter "
             "(both offsets from one rng.integers call, -jitter to jitter inclusive; np.roll over the pixel axes), "
             "ascent_step, roll back, "
             "blur when (step + 1) % blur_every == 0, clamp image + mean to [0, 1]; return image + mean")


class Weights:
    """Grader-side parameter holder (the same interface as the notebook's ``FixedWeights``)."""

    def __init__(self, **params: np.ndarray) -> None:
        self.params = params

    def parameters(self) -> dict[str, np.ndarray]:
        return self.params


#: In every case, the model is what call 0 returned.
MODEL = Ref(0)


def _shift(path: str) -> str:
    head, _, rest = path.partition(".")
    return str(int(head) + 1) + ("." + rest if rest else "")


def network_case(name: str, network: Weights, calls: list, *, expect: Mapping[str, Any] | None = None,
                 fetch: tuple[str, ...] = (), check: Any = None, **options: Any) -> Case:
    """A case whose call 0 builds ``network`` as ``FixedWeights(**params)`` in the student's namespace.

    ``calls`` use ``MODEL`` for the network; the output paths in ``expect``, ``fetch`` and those the
    ``check`` reads count these calls from 0 (call 0 of the case itself is the network).
    """
    shifted_check = None
    if check is not None:
        def shifted_check(outputs: Mapping[str, Any]) -> None:
            check({path: outputs[_shift(path)] for path in (*(expect or {}), *fetch)})
    use_reference = {"FixedWeights": "visualization", **options.pop("use_reference", {})}
    return Case(name, [call("FixedWeights", **network.parameters()), *calls],
                expect={_shift(path): value for path, value in (expect or {}).items()},
                fetch=tuple(_shift(path) for path in fetch), check=shifted_check,
                use_reference=use_reference, **options)


def random_network(rng: np.random.Generator, D: int, H: int, C: int, dtype: Any = np.float64) -> Weights:
    return Weights(W1=(rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype),
                   b1=(0.1 * rng.standard_normal(H)).astype(dtype),
                   W2=(rng.standard_normal((H, C)) / np.sqrt(H)).astype(dtype),
                   b2=(0.1 * rng.standard_normal(C)).astype(dtype))


@lru_cache(maxsize=None)
def trained_network() -> Weights:
    """A 192-32-10 ReLU network trained deterministically (300 SGD steps, reference layers) on
    synthetic 8x8x3 images."""
    layers = reference.load("layers")
    rng = np.random.default_rng(442)
    prototypes = np.stack([_smooth(rng.uniform(-0.3, 0.3, NET_IMAGE_SHAPE)) for _ in range(NUM_CLASSES)])
    D = int(np.prod(NET_IMAGE_SHAPE))
    params = {"W1": 0.05 * rng.standard_normal((D, NET_HIDDEN)), "b1": np.zeros(NET_HIDDEN),
              "W2": 0.05 * rng.standard_normal((NET_HIDDEN, NUM_CLASSES)), "b2": np.zeros(NUM_CLASSES)}
    for _ in range(300):
        labels = rng.integers(0, NUM_CLASSES, 64)
        images = prototypes[labels] + 0.1 * rng.standard_normal((64, *NET_IMAGE_SHAPE))
        X = images.transpose(0, 3, 1, 2).reshape(64, -1)
        hidden, cache1 = layers.fc_forward(X, params["W1"], params["b1"])
        active, cache2 = layers.relu_forward(hidden)
        scores, cache3 = layers.fc_forward(active, params["W2"], params["b2"])
        _, grad_scores = layers.softmax_loss(scores, labels)
        grad_active, grad_W2, grad_b2 = layers.fc_backward(grad_scores, cache3)
        _, grad_W1, grad_b1 = layers.fc_backward(layers.relu_backward(grad_active, cache2), cache1)
        grads = {"W1": grad_W1 + 1e-3 * params["W1"], "b1": grad_b1, "W2": grad_W2 + 1e-3 * params["W2"], "b2": grad_b2}
        for name in params:
            params[name] = params[name] - 0.5 * grads[name]
    return Weights(**params)


def _smooth(image: np.ndarray) -> np.ndarray:
    """A cheap low-pass filter (average of the 3x3 neighbourhood, twice), for the class patterns."""
    for _ in range(2):
        padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
        image = sum(padded[i:i + image.shape[0], j:j + image.shape[1]] for i in range(3) for j in range(3)) / 9
    return image / np.abs(image).max() * 0.3


def _target_score(ref: types.ModuleType, network: Any, image: np.ndarray, mean: np.ndarray, c: int) -> np.ndarray:
    """Reference class scores (C,) of an un-normalised image."""
    return ref.input_gradient(network, ref.image_to_batch(image - mean), c)[0][0]


# ----------------------------------------------------------------------------- Q6.1

GRADIENT_HINT = "upstream gradient one-hot in column class_index; backpropagate through fc, ReLU, fc"


def _gradient_case(name: str, ref: types.ModuleType, network: Weights, X: np.ndarray, c: int,
                   hint: str = GRADIENT_HINT, **options: Any) -> Case:
    scores, grad_X = ref.input_gradient(network, X, c)
    return network_case(name, network, [call("input_gradient", MODEL, X, c)], expect={"0.0": scores, "0.1": grad_X},
                        hint=hint, use_reference=REFERENCE_LAYERS, **options)


def _hand_network() -> Weights:
    return Weights(W1=np.array([[1.0, -1.0], [2.0, 1.0]]), b1=np.array([0.0, 0.5]),
                   W2=np.array([[1.0, 0.0], [-1.0, 2.0]]), b2=np.array([0.1, -0.2]))


def _public(D: int, H: int, C: int, seed: int) -> Weights:
    """The notebook's ``small_random_network(D, H, C, seed)``."""
    rng = np.random.default_rng(seed)
    return Weights(W1=rng.standard_normal((D, H)) / np.sqrt(D), b1=0.1 * rng.standard_normal(H),
                   W2=rng.standard_normal((H, C)) / np.sqrt(H), b2=0.1 * rng.standard_normal(C))


def _zero(D: int, H: int, C: int) -> Weights:
    return Weights(W1=np.zeros((D, H)), b1=np.zeros(H), W2=np.zeros((H, C)), b2=np.zeros(C))


@question("input_gradient")
def input_gradient_cases(rng: np.random.Generator, ref: types.ModuleType):
    # The public hand-checkable example.
    hand, X = _hand_network(), np.array([[1.0, 1.0], [0.0, -1.0]])
    yield network_case("hand-checkable network, X = [[1, 1], [0, -1]], class 0", hand,
                       [call("input_gradient", MODEL, X, 0)],
                       expect={"0.0": [[2.6, 0.8], [0.1, -0.2]], "0.1": [[2.0, 1.0], [0.0, 0.0]]},
                       hint="scores = ReLU(X W1 + b1) W2 + b2 (raw, no softmax); upstream gradient 1 in column "
                            "class_index of every row", use_reference=REFERENCE_LAYERS)
    yield _gradient_case("hand-checkable network, X = [[1, 1], [0, -1]], class 1", ref, hand, X, 1)
    # The public gradient-check data, every class.
    public, X = _public(12, 7, 4, 1), np.random.default_rng(2).standard_normal((3, 3, 2, 2))
    for c in range(4):
        yield _gradient_case(f"X of shape (3, 3, 2, 2), class {c}", ref, public, X, c,
                             hint="grad_X must have X's shape; only column class_index of the upstream gradient is 1")
    # A single image, the trained network, several classes.
    net = trained_network()
    X = rng.normal(0, 0.2, (1, int(np.prod(NET_IMAGE_SHAPE))))
    for c in (0, 5, 9):
        yield _gradient_case(f"one image (N = 1) of 192 numbers, trained 192-32-10 network, class {c}", ref, net, X, c)
    # A batch larger than the number of classes, in image layout.
    X = rng.normal(0, 0.2, (12, 3, 8, 8))
    yield _gradient_case("batch of 12 images of shape (3, 8, 8), trained network, class 7", ref, net, X, 7,
                         hint="the one-hot goes in COLUMN class_index of every row, not in row class_index")
    # Hidden pre-activations exactly 0 (ReLU convention), other sizes, float32 weights.
    zeros = Weights(W1=rng.standard_normal((5, 4)), b1=np.array([0.0, 0.0, 1.0, -1.0]),
                    W2=rng.standard_normal((4, 3)), b2=np.zeros(3))
    X = np.vstack([np.zeros(5), rng.standard_normal(5)])
    yield _gradient_case("X of shape (2, 5) whose first row makes hidden units exactly 0, class 2", ref, zeros, X, 2)
    net32 = random_network(rng, 10, 6, 3, dtype=np.float32)
    X = rng.standard_normal((4, 10)).astype(np.float32)
    yield _gradient_case("float32 weights and X of shape (4, 10), H = 6, C = 3, class 1", ref, net32, X, 1,
                         atol=1e-5, rtol=1e-4)


# ----------------------------------------------------------------------------- Q6.2

STEP_REFERENCE = {**REFERENCE_LAYERS, "input_gradient": "visualization"}


def _step_case(name: str, ref: types.ModuleType, network: Weights, image: np.ndarray, c: int,
               hint: str = ASCENT_HINT, **options: Any) -> Case:
    new_image, score = ref.ascent_step(network, image, c, **options)
    return network_case(name, network, [call("ascent_step", MODEL, image, c, **options)],
                        expect={"0.0": new_image, "0.1": score}, hint=hint, use_reference=STEP_REFERENCE)


def _image(outputs: Mapping[str, Any], path: str, shape: tuple[int, ...]) -> np.ndarray:
    """Output ``path`` as a finite float array of ``shape``, or an AssertionError saying what came back."""
    try:
        value = np.asarray(outputs[path], dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"returned {type(outputs[path]).__name__}, expected an array of shape {shape}") from None
    if value.shape != tuple(shape):
        raise AssertionError(f"returned an array of shape {value.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(value)):
        raise AssertionError("the returned image contains nan or inf")
    return value


def _check_rises(ref: types.ModuleType, network: Weights, c: int, shape: tuple[int, ...]) -> Any:
    def check(outputs: Mapping[str, Any]) -> None:
        new_image = _image(outputs, "0.0", shape)
        before = float(outputs["0.1"])
        after = float(ref.input_gradient(network, ref.image_to_batch(new_image), c)[0][0, c])
        if not after > before:
            raise AssertionError(f"the score of class {c} went from {before:.4f} to {after:.4f} after a small step; "
                                 "it must rise (gradient ASCENT adds learning_rate * gradient)")
    return check


@question("ascent_step")
def ascent_step_cases(rng: np.random.Generator, ref: types.ModuleType):
    hand, image = _hand_network(), np.array([[[1.0, 1.0]]])
    # The public hand-checkable steps.
    yield network_case("hand-checkable network, image [1, 1], eta = 0.5", hand,
                       [call("ascent_step", MODEL, image, 0, learning_rate=0.5)],
                       expect={"0.0": [[[2.0, 1.5]]], "0.1": 2.6},
                       hint="gradient ASCENT: image + learning_rate * gradient; return the score before the step",
                       use_reference=STEP_REFERENCE)
    yield network_case("hand-checkable network, image [1, 1], eta = 0.5, weight_decay = 0.4, clip_grad = 1", hand,
                       [call("ascent_step", MODEL, image, 0, learning_rate=0.5, weight_decay=0.4, clip_grad=1.0)],
                       expect={"0.0": image + 0.5 * np.array([[[1.6, 0.6]]]) / np.sqrt(2.92)}, hint=ASCENT_HINT,
                       use_reference=STEP_REFERENCE)
    yield _step_case("hand-checkable network, image [1, 1], clip_grad = 10 (no clipping needed)", ref, hand, image, 0,
                     learning_rate=0.5, clip_grad=10.0, hint="only rescale when the norm is larger than clip_grad")
    # Pure weight decay on an all-zero network.
    image = np.random.default_rng(3).standard_normal((4, 5, 3))
    yield network_case("all-zero network, image of shape (4, 5, 3), eta = 0.1, weight_decay = 2", _zero(60, 3, 2),
                       [call("ascent_step", MODEL, image, 1, learning_rate=0.1, weight_decay=2.0)],
                       expect={"0.0": 0.8 * image, "0.1": 0.0},
                       hint="the decay term is -weight_decay * image, multiplied by learning_rate like the rest",
                       use_reference=STEP_REFERENCE)
    image = rng.standard_normal((3, 2, 3))
    yield network_case("all-zero network, image of shape (3, 2, 3), eta = 0.3, weight_decay = 0.5", _zero(18, 2, 2),
                       [call("ascent_step", MODEL, image, 0, learning_rate=0.3, weight_decay=0.5)],
                       expect={"0.0": 0.85 * image},
                       hint="new image = image + learning_rate * (0 - weight_decay * image)",
                       use_reference=STEP_REFERENCE)
    # A small step raises the score (public check 3), measured with the reference.
    network, image = _public(48, 10, 3, 4), 0.1 * np.random.default_rng(5).standard_normal((4, 4, 3))
    yield network_case("a small step (eta = 0.01) raises the score of class 2", network,
                       [call("ascent_step", MODEL, image, 2, learning_rate=0.01)], fetch=("0.0", "0.1"),
                       check=_check_rises(ref, network, 2, image.shape), use_reference=STEP_REFERENCE,
                       hint="gradient ascent adds the gradient")
    # Exact steps on the trained network, with every option.
    net, image = trained_network(), rng.normal(0, 0.2, NET_IMAGE_SHAPE)
    for c, options in ((3, dict(learning_rate=0.1)),
                       (3, dict(learning_rate=2.0)),
                       (6, dict(learning_rate=0.1, weight_decay=0.3)),
                       (6, dict(learning_rate=0.5, clip_grad=0.5)),
                       (1, dict(learning_rate=0.05, weight_decay=0.1, clip_grad=0.2))):
        described = ", ".join(f"{k} = {v}" for k, v in options.items())
        yield _step_case(f"trained network, 8x8x3 image, class {c}, {described}", ref, net, image, c, **options)
    # A non-square image, clip_grad larger than the direction.
    network, image = random_network(rng, 5 * 3 * 3, 4, 2), rng.standard_normal((5, 3, 3))
    yield _step_case("image of shape (5, 3, 3), eta = 0.2, weight_decay = 0.05, clip_grad = 100",
                     ref, network, image, 1, learning_rate=0.2, weight_decay=0.05, clip_grad=100.0)


# ----------------------------------------------------------------------------- Q6.3

LOOP_REFERENCE = {**STEP_REFERENCE, "ascent_step": "visualization"}


def _loop_case(name: str, ref: types.ModuleType, network: Weights, c: int, hint: str = LOOP_HINT,
               **options: Any) -> Case:
    expected = ref.class_visualization(network, c, **options)
    return network_case(name, network, [call("class_visualization", MODEL, c, **options)], expect={"0": expected},
                        hint=hint, use_reference=LOOP_REFERENCE, atol=1e-7, rtol=1e-5)


def _check_in_unit_box(outputs: Mapping[str, Any]) -> None:
    image = _image(outputs, "0", np.shape(outputs["0"]))
    if image.min() < 0.0 or image.max() > 1.0:
        raise AssertionError(f"with clamp=True the image has values in [{image.min():.3f}, {image.max():.3f}], "
                             "expected [0, 1]")


def _check_decay_shrinks(mean: np.ndarray) -> Any:
    def check(outputs: Mapping[str, Any]) -> None:
        plain = np.linalg.norm(_image(outputs, "0", mean.shape) - mean)
        decayed = np.linalg.norm(_image(outputs, "1", mean.shape) - mean)
        if not decayed < 0.9 * plain:
            raise AssertionError(f"weight decay 0.5 should shrink the image (its distance from the mean image) "
                                 f"compared with no decay: norm {decayed:.3f} with decay, {plain:.3f} without")
    return check


def _check_deterministic(outputs: Mapping[str, Any]) -> None:
    first, again, other = (_image(outputs, k, np.shape(outputs["0"])) for k in ("0", "1", "2"))
    if not np.array_equal(first, again):
        raise AssertionError("two calls with the same seed returned different images; draw every random number "
                             "from np.random.default_rng(seed)")
    if np.allclose(first, other):
        raise AssertionError("seeds 11 and 12 returned the same image; use the seed argument")


def _check_rise_and_recognition(ref: types.ModuleType, network: Weights, mean: np.ndarray, expected_rise: np.ndarray,
                                options: Mapping[str, Any]) -> Any:
    described = ", ".join(f"{k}={v}" for k, v in options.items())

    def check(outputs: Mapping[str, Any]) -> None:
        rises, recognised, fell = [], 0, []
        for c in range(NUM_CLASSES):
            start = _target_score(ref, network, _image(outputs, f"{2 * c}", mean.shape), mean, c)
            final = _target_score(ref, network, _image(outputs, f"{2 * c + 1}", mean.shape), mean, c)
            rises.append(final[c] - start[c])
            recognised += int(np.argmax(final) == c)
            if final[c] < start[c]:
                fell.append(c)
        if fell:
            raise AssertionError(f"the target score FELL for classes {fell} ({described}); gradient ascent must "
                                 "raise it: add learning_rate * gradient, do not subtract it")
        weak = [c for c in range(NUM_CLASSES) if rises[c] < MIN_RISE_FRACTION * expected_rise[c]]
        if weak:
            raise AssertionError(
                f"the target score rose too little for classes {weak} ({described}): by "
                f"{', '.join(f'{rises[c]:.2f}' for c in weak)}, expected at least "
                f"{', '.join(f'{MIN_RISE_FRACTION * expected_rise[c]:.2f}' for c in weak)} "
                f"({MIN_RISE_FRACTION:.0%} of the reference's rise)")
        if recognised < MIN_RECOGNISED:
            raise AssertionError(f"only {recognised} of {NUM_CLASSES} images are classified as their target class "
                                 f"({described}); expected at least {MIN_RECOGNISED}")
    return check


@question("class_visualization")
def class_visualization_cases(rng: np.random.Generator, ref: types.ModuleType):
    # The public checks (same data).
    shape = (4, 5, 3)
    mean = np.random.default_rng(6).uniform(0.2, 0.8, shape)
    public = _public(60, 12, 4, 7)
    yield _loop_case("num_steps = 0 (public check 1)", ref, public, 1, num_steps=0, learning_rate=1.0, mean=mean,
                     seed=3, image_shape=shape,
                     hint="start from 0.01 * rng.standard_normal(image_shape) with rng = np.random.default_rng(seed), "
                          "clamp, and return image + mean")
    options = dict(num_steps=5, learning_rate=0.05, jitter=1, mean=mean, image_shape=shape)
    yield network_case("same seed twice, then another seed (public check 2)", public,
                       [call("class_visualization", MODEL, 2, seed=11, **options),
                        call("class_visualization", MODEL, 2, seed=11, **options),
                        call("class_visualization", MODEL, 2, seed=12, **options)],
                       fetch=("0", "1", "2"), check=_check_deterministic, use_reference=LOOP_REFERENCE)
    yield _loop_case("all-zero network, jitter = 2 (public check 3)", ref, _zero(60, 3, 2), 0, num_steps=4,
                     learning_rate=1.0, jitter=2, mean=mean, seed=5, image_shape=shape,
                     hint="roll the image back by (-dy, -dx) after every step: with zero gradients nothing may move")
    yield _loop_case("all-zero network, blur_every = 1 (public check 4)", ref, _zero(60, 3, 2), 0, num_steps=1,
                     learning_rate=1.0, blur_every=1, blur_sigma=0.8, mean=mean, seed=5, image_shape=shape,
                     hint="blur the normalised image with gaussian_blur(image, blur_sigma), then clamp")
    bright = np.full(shape, 0.9)
    yield network_case("clamp with mean 0.9 and learning rate 50 (public check 5)", public,
                       [call("class_visualization", MODEL, 0, num_steps=10, learning_rate=50.0, mean=bright,
                             image_shape=shape)],
                       expect={"0": ref.class_visualization(public, 0, num_steps=10, learning_rate=50.0, mean=bright,
                                                            image_shape=shape)},
                       check=_check_in_unit_box, use_reference=LOOP_REFERENCE,
                       hint="clip the un-normalised image: np.clip(image + mean, 0, 1) - mean")
    yield _loop_case("30 steps, learning rate 1, clamp = False (public check 6)", ref, public, 3, num_steps=30,
                     learning_rate=1.0, clamp=False, image_shape=shape,
                     hint="each step must ADD learning_rate * gradient; with clamp=False and mean=None nothing is clipped")

    net, net_mean = trained_network(), NET_MEAN
    # Exact images on the trained network, one option at a time, then all together.
    base = dict(num_steps=12, learning_rate=0.1, mean=net_mean, image_shape=NET_IMAGE_SHAPE)
    variants = [
        ("plain ascent with clamping", {}, "each step: image + learning_rate * gradient, then clamp"),
        ("learning rate 0.02", dict(learning_rate=0.02), "pass learning_rate on to ascent_step"),
        ("weight_decay = 0.5", dict(weight_decay=0.5), "pass weight_decay on to ascent_step"),
        ("clip_grad = 0.3", dict(clip_grad=0.3), "pass clip_grad on to ascent_step"),
        ("jitter = 2, seed 4", dict(jitter=2, seed=4),
         "draw both offsets with one rng.integers call covering -jitter to jitter inclusive (its upper end is "
         "excluded), shift with np.roll along the two pixel axes before the step and shift back after it"),
        ("blur_every = 4, blur_sigma = 0.7", dict(blur_every=4, blur_sigma=0.7),
         "blur after steps 4, 8, 12, ... ((step + 1) % blur_every == 0), on the normalised image"),
        ("clamp = False", dict(clamp=False, learning_rate=0.5), "with clamp=False, do not clip at all"),
        ("large learning rate 5 with clamping", dict(learning_rate=5.0),
         "clamp the un-normalised image: np.clip(image + mean, 0, 1) - mean"),
        ("all options, seed 9", dict(num_steps=20, weight_decay=0.05, jitter=1, blur_every=3, blur_sigma=0.5,
                                      clip_grad=2.0, seed=9), LOOP_HINT),
    ]
    for c, (label, changes, hint) in enumerate(variants):
        yield _loop_case(f"trained network, 8x8x3 images, class {c}: {label}", ref, net, c, hint=hint,
                         **{**base, **changes})
    # mean=None, a non-square image and a network of matching size.
    network = random_network(rng, 6 * 9 * 3, 10, 3)
    yield _loop_case("image_shape (6, 9, 3), mean None, jitter 3, blur_every 2", ref, network, 2, num_steps=8,
                     learning_rate=0.2, jitter=3, blur_every=2, image_shape=(6, 9, 3), seed=1)
    # Behaviour: clamping keeps [0, 1]; weight decay shrinks the image.
    yield network_case("clamp keeps pixel values in [0, 1] (learning rate 20, trained network)", net,
                       [call("class_visualization", MODEL, 4, num_steps=15, learning_rate=20.0, mean=net_mean,
                             image_shape=NET_IMAGE_SHAPE)],
                       fetch=("0",), check=_check_in_unit_box, use_reference=LOOP_REFERENCE,
                       hint="clip the un-normalised image: np.clip(image + mean, 0, 1) - mean")
    decay_options = dict(num_steps=30, learning_rate=0.1, clamp=False, mean=net_mean, image_shape=NET_IMAGE_SHAPE)
    yield network_case("weight decay 0.5 shrinks the image compared with no decay", net,
                       [call("class_visualization", MODEL, 9, **decay_options),
                        call("class_visualization", MODEL, 9, weight_decay=0.5, **decay_options)],
                       fetch=("0", "1"), check=_check_decay_shrinks(net_mean), use_reference=LOOP_REFERENCE,
                       hint="weight decay pulls the normalised image towards 0: direction = gradient - weight_decay * image")
    # Does it work? Every class: the score rises substantially and the image is recognised.
    calls, rises = [], []
    start_options = {**RECOGNITION_SETTINGS, "num_steps": 0}
    for c in range(NUM_CLASSES):
        common = dict(mean=net_mean, image_shape=NET_IMAGE_SHAPE, seed=c)
        calls += [call("class_visualization", MODEL, c, **common, **start_options),
                  call("class_visualization", MODEL, c, **common, **RECOGNITION_SETTINGS)]
        start = ref.class_visualization(net, c, **common, **start_options)
        final = ref.class_visualization(net, c, **common, **RECOGNITION_SETTINGS)
        rises.append(_target_score(ref, net, final, net_mean, c)[c] - _target_score(ref, net, start, net_mean, c)[c])
    yield network_case("all 10 classes of the trained network: the score rises and the image is recognised", net,
                       calls, fetch=tuple(str(i) for i in range(2 * NUM_CLASSES)),
                       check=_check_rise_and_recognition(ref, net, net_mean, np.array(rises), RECOGNITION_SETTINGS),
                       use_reference=LOOP_REFERENCE)


# ----------------------------------------------------------------------------- Q6.6 (extra credit)

HIDDEN_HINT = ("select one unit of the chosen layer with a one-hot upstream gradient and backpropagate from that "
               "layer to X (through the ReLU only for \"relu1\")")


def _hidden_case(name: str, ref: types.ModuleType, network: Weights, X: np.ndarray, layer: str, unit: int,
                 hint: str = HIDDEN_HINT, **options: Any) -> Case:
    values, grad_X = ref.hidden_unit_gradient(network, X, layer, unit)
    return network_case(name, network, [call("hidden_unit_gradient", MODEL, X, layer, unit)],
                        expect={"0.0": values, "0.1": grad_X}, hint=hint, use_reference=REFERENCE_LAYERS, **options)


@question("hidden_unit_gradient")
def hidden_unit_gradient_cases(rng: np.random.Generator, ref: types.ModuleType):
    # The public hand-checkable examples, and every unit of both layers on the hand network.
    hand, X = _hand_network(), np.array([[1.0, 1.0], [0.0, -1.0]])
    yield network_case('hand-checkable network, X = [[1, 1], [0, -1]], layer "fc1", unit 0', hand,
                       [call("hidden_unit_gradient", MODEL, X, "fc1", 0)],
                       expect={"0.0": [[3.0, 0.5], [-2.0, -0.5]], "0.1": [[1.0, 2.0], [1.0, 2.0]]},
                       hint="\"fc1\" is the first layer's output before the ReLU", use_reference=REFERENCE_LAYERS)
    yield network_case('hand-checkable network, X = [[1, 1], [0, -1]], layer "relu1", unit 1', hand,
                       [call("hidden_unit_gradient", MODEL, X, "relu1", 1)],
                       expect={"0.0": [[3.0, 0.5], [0.0, 0.0]], "0.1": [[-1.0, 1.0], [0.0, 0.0]]},
                       hint="no gradient flows through a unit that is off", use_reference=REFERENCE_LAYERS)
    for layer in ("fc1", "relu1"):
        for unit in (0, 1):
            yield _hidden_case(f'hand-checkable network, layer "{layer}", unit {unit}', ref, hand, X, layer, unit)
    # The public gradient-check data.
    public, X = _public(12, 7, 4, 1), np.random.default_rng(2).standard_normal((3, 3, 2, 2))
    for layer, unit in (("fc1", 0), ("fc1", 6), ("relu1", 2), ("relu1", 5)):
        yield _hidden_case(f'X of shape (3, 3, 2, 2), layer "{layer}", unit {unit}', ref, public, X, layer, unit,
                           hint="grad_X must have X's shape; only column unit of the upstream gradient is 1")
    # The trained network: a batch in image layout, units that are on for some images and off for others.
    net = trained_network()
    X = rng.normal(0, 0.3, (10, 3, 8, 8))
    pre_activation = X.reshape(10, -1) @ net.params["W1"] + net.params["b1"]
    mixed = [int(j) for j in np.flatnonzero(((pre_activation > 0).sum(axis=0) >= 3)
                                            & ((pre_activation <= 0).sum(axis=0) >= 3))][:3]
    assert mixed, "the trained network has no unit that is on for some images and off for others"
    for unit in mixed:
        for layer in ("fc1", "relu1"):
            yield _hidden_case(f'batch of 10 images of shape (3, 8, 8), trained 192-32-10 network, layer "{layer}", '
                               f'unit {unit}', ref, net, X, layer, unit)
    yield _hidden_case('one image (N = 1) of 192 numbers, trained network, layer "relu1", unit 31', ref, net,
                       rng.normal(0, 0.2, (1, 192)), "relu1", NET_HIDDEN - 1,
                       hint="the one-hot goes in COLUMN unit of every row, not in row unit")
    # Pre-activations exactly 0 (the ReLU's convention), float32 weights.
    zeros = Weights(W1=rng.standard_normal((5, 4)), b1=np.array([0.0, 0.0, 1.0, -1.0]),
                    W2=rng.standard_normal((4, 3)), b2=np.zeros(3))
    X = np.vstack([np.zeros(5), rng.standard_normal(5)])
    yield _hidden_case('X of shape (2, 5) whose first row makes hidden units exactly 0, layer "relu1", unit 1',
                       ref, zeros, X, "relu1", 1)
    net32 = random_network(rng, 10, 6, 3, dtype=np.float32)
    X = rng.standard_normal((4, 10)).astype(np.float32)
    yield _hidden_case('float32 weights and X of shape (4, 10), H = 6, layer "relu1", unit 4', ref, net32, X,
                       "relu1", 4, atol=1e-5, rtol=1e-4)


def _timed_hidden(rng: np.random.Generator, ref: Any) -> Case:
    """CIFAR-sized inputs: a numeric gradient needs thousands of forward passes, the chain rule one."""
    network, X = random_network(rng, 3072, 64, 10), rng.normal(0, 0.2, (40, 3, 32, 32))
    case = _hidden_case('large batch, in time: 40 images of shape (3, 32, 32), H = 64, layer "relu1", unit 5',
                        ref, network, X, "relu1", 5)
    case.time_limit = TimeLimit(lambda: ref.hidden_unit_gradient(network, X, "relu1", 5), floor=2.0,
                                what="hidden_unit_gradient")
    return case


# ----------------------------------------------------------------------------- Q6.7 (extra credit)

MULTISCALE_REFERENCE = {**REFERENCE_LAYERS, "input_gradient": "visualization", "hidden_unit_gradient": "visualization"}
MULTISCALE_HINT = ("follow the recipe in order: small noise of the first scale's size from np.random.default_rng(seed); "
                   "per scale: upsample from the previous scale, then per step: gradient of the target at "
                   "upsample(small, f), blur it when blur_gradient_sigma > 0, backpropagate it through upsample, "
                   "step with weight decay on the small image; return upsample(small, scales[-1]) + mean")


def _multiscale_case(name: str, ref: types.ModuleType, network: Weights, unit: int, hint: str = MULTISCALE_HINT,
                     **options: Any) -> Case:
    expected = ref.multiscale_visualization(network, unit, **options)
    return network_case(name, network, [call("multiscale_visualization", MODEL, unit, **options)],
                        expect={"0": expected}, hint=hint, use_reference=MULTISCALE_REFERENCE, atol=1e-7, rtol=1e-5)


def _check_multiscale_rises(ref: types.ModuleType, network: Weights, mean: np.ndarray, expected_rise: float) -> Any:
    def check(outputs: Mapping[str, Any]) -> None:
        start = _target_score(ref, network, _image(outputs, "0", mean.shape), mean, 5)[5]
        final = _target_score(ref, network, _image(outputs, "1", mean.shape), mean, 5)[5]
        if not final - start >= MIN_RISE_FRACTION * expected_rise:
            raise AssertionError(f"the score of class 5 went from {start:.3f} to {final:.3f}; expected a rise of at "
                                 f"least {MIN_RISE_FRACTION * expected_rise:.3f} ({MIN_RISE_FRACTION:.0%} of the "
                                 "reference's rise)")
    return check


@question("multiscale_visualization")
def multiscale_visualization_cases(rng: np.random.Generator, ref: types.ModuleType):
    # The public checks (same data).
    shape = (4, 6, 3)
    mean = np.random.default_rng(6).uniform(0.2, 0.8, shape)
    public = _public(72, 9, 4, 8)
    yield _multiscale_case("steps_per_scale = 0, scales (2, 1) (public check 1)", ref, public, 1, scales=(2, 1),
                           steps_per_scale=0, learning_rate=1.0, mean=mean, seed=3, image_shape=shape,
                           hint="start from small noise of the first scale's size, upsample it, add the mean")
    for layer, unit in (("scores", 2), ("fc1", 4)):
        yield _multiscale_case(f'one step at scale 2, layer "{layer}", unit {unit} (public check 2)', ref, public, unit,
                               layer=layer, scales=(2,), steps_per_scale=1, learning_rate=1.0, seed=5,
                               image_shape=shape,
                               hint="the step needs the gradient with respect to the SMALL image: backpropagate "
                                    "through upsample (each small pixel is used several times)")
    yield _multiscale_case("one step at scale 1, blur_gradient_sigma = 1 (public check 3)", ref, public, 0, scales=(1,),
                           steps_per_scale=1, blur_gradient_sigma=1.0, learning_rate=1.0, seed=5, image_shape=shape,
                           hint="blur the full-size gradient with gaussian_blur before the step")
    yield _multiscale_case("scales (2, 1), 15 steps per scale (public check 4)", ref, public, 3, scales=(2, 1),
                           steps_per_scale=15, learning_rate=0.5, image_shape=shape)

    net, net_mean = trained_network(), NET_MEAN
    base = dict(scales=(4, 2, 1), steps_per_scale=4, learning_rate=0.05, mean=net_mean, image_shape=NET_IMAGE_SHAPE)
    variants = [
        ("scores, class 0, scales (4, 2, 1)", 0, {}, "step on the small image; upsample between scales"),
        ("scores, class 3, scales (8, 4, 2, 1), seed 2", 3, dict(scales=(8, 4, 2, 1), seed=2),
         "upsample the small image by previous scale // scale when the scale changes"),
        ("scores, class 6, single scale 1 (plain ascent)", 6, dict(scales=(1,), steps_per_scale=6), MULTISCALE_HINT),
        ("scores, class 8, scales (4, 1) (a jump of 4)", 8, dict(scales=(4, 1)),
         "upsample by the RATIO of the two scales when the scale changes"),
        ("scores, class 2, weight_decay = 0.5", 2, dict(weight_decay=0.5),
         "weight decay acts on the small image: learning_rate * (gradient - weight_decay * small)"),
        ("scores, class 4, blur_gradient_sigma = 0.7", 4, dict(blur_gradient_sigma=0.7),
         "blur the full-size gradient before taking it back through upsample"),
        ('layer "fc1", unit 7, scales (4, 2, 1)', 7, dict(layer="fc1"), "use hidden_unit_gradient for hidden layers"),
        ('layer "relu1", unit 12, scales (2, 1), seed 4', 12, dict(layer="relu1", scales=(2, 1), seed=4),
         "pass layer on to hidden_unit_gradient"),
        ('all options: layer "fc1", unit 20, decay 0.1, blur 0.5, seed 9', 20,
         dict(layer="fc1", weight_decay=0.1, blur_gradient_sigma=0.5, seed=9, steps_per_scale=5), MULTISCALE_HINT),
    ]
    for label, unit, changes, hint in variants:
        yield _multiscale_case(f"trained network, 8x8x3 images, {label}", ref, net, unit, hint=hint,
                               **{**base, **changes})
    # mean=None, a non-square image and a random network of matching size.
    network = random_network(rng, 6 * 9 * 3, 10, 3)
    yield _multiscale_case("image_shape (6, 9, 3), mean None, scales (3, 1), class 2", ref, network, 2, scales=(3, 1),
                           steps_per_scale=3, learning_rate=0.2, image_shape=(6, 9, 3), seed=1)
    # Behaviour: the class score rises substantially over three scales, from the same start.
    options = dict(scales=(4, 2, 1), learning_rate=0.05, weight_decay=0.01, blur_gradient_sigma=0.5, mean=net_mean,
                   image_shape=NET_IMAGE_SHAPE, seed=7)
    start = ref.multiscale_visualization(net, 5, steps_per_scale=0, **options)
    final = ref.multiscale_visualization(net, 5, steps_per_scale=10, **options)
    rise = _target_score(ref, net, final, net_mean, 5)[5] - _target_score(ref, net, start, net_mean, 5)[5]
    yield network_case("trained network, class 5, 10 steps at each of scales (4, 2, 1): the score rises", net,
                       [call("multiscale_visualization", MODEL, 5, steps_per_scale=0, **options),
                        call("multiscale_visualization", MODEL, 5, steps_per_scale=10, **options)],
                       fetch=("0", "1"), check=_check_multiscale_rises(ref, net, net_mean, rise),
                       use_reference=MULTISCALE_REFERENCE, hint="each step must ADD learning_rate * gradient")


#: The gradients must be analytic (no hwlib.gradcheck inside them); multiscale_visualization's
#: backward pass through upsample too.
ANALYTIC = {"input_gradient": [("input_gradient", ())],
            "hidden_unit_gradient": [("hidden_unit_gradient", ())],
            "multiscale_visualization": [("multiscale_visualization", ())]}

#: A large case that only an analytic backward finishes in time (the limit scales with the reference's time).
TIMED = {"hidden_unit_gradient": [_timed_hidden]}
