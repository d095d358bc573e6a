# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Notebook 6 — What does the network want to see? Class visualization by gradient ascent
#
# Training changes the **weights** so that the loss goes down, using gradients of the loss with
# respect to the weights. Backpropagation gives us gradients with respect to *every* quantity in the
# graph, though, including the **input image**. Freeze the trained weights, pick a class $c$, and
# ask: which image makes the network most confident that it is looking at a $c$? Start from almost
# nothing and repeatedly nudge the pixels in the direction that raises the score of class $c$. The
# picture that emerges shows what the network has learned to respond to. This trick (popularised by
# DeepDream) turns a classifier into a crude image generator and is one of the simplest tools for
# looking inside a network.
#
# You use the two-layer network you trained in notebook 4 (its file `best_model.npz`) and the layers
# you wrote in notebook 2.
#
# | question | what | points |
# | --- | --- | --- |
# | Q6.1 | `input_gradient`: gradient of one class score with respect to the input | 5 |
# | Q6.2 | `ascent_step`: one regularised gradient-ascent step on an image | 4 |
# | Q6.3 | `class_visualization`: the whole loop (noise start, jitter, blur, clamping) | 6 |
# | Q6.4 | written: reading the learning-rate sweep | 2 |
# | Q6.5 | written: why the images look like noise, and what each regulariser does | 3 |
# | | **main part** | **20** |
# | Q6.6 | extra credit: `hidden_unit_gradient`: gradient of one hidden unit with respect to the input | 2 |
# | Q6.7 | extra credit: `multiscale_visualization`: coarse-to-fine ascent with a blurred gradient | 2 |
# | Q6.8 | extra credit, written: hidden units, classes and scales | 1 |
# | | **total, with the extra credit** | **25** |
#
# Q6.6–Q6.8 are the handout's extra credit: they add 5 points to the notebook's 20.
# Q6.1–Q6.3, Q6.6 and Q6.7 are autograded: each has a test cell with public checks you can run while
# you work, and hidden checks (other networks, shapes and options) that run when your notebook is
# graded. The hidden checks use correct versions of your notebook 2 layers (and of the earlier
# questions of this notebook), so a mistake made there does not cost points here again. Q6.4, Q6.5
# and Q6.8 are read by a person.
#
# Rules: numpy only, and never modify an input array in place.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import os, sys
if "google.colab" in sys.modules:  # Google Colab: mount Drive, install hwlib, work in My Drive/backprop (see README)
    if not os.environ.get("HWLIB_COLAB_DRIVE"):  # set only by the course's Colab emulation test
        from google.colab import drive; drive.mount("/content/drive")
    %run {os.environ.get("HWLIB_COLAB_DRIVE", "/content/drive")}/MyDrive/backprop/colab_setup.py
import hwlib.unanswered; hwlib.unanswered.install()  # "Qn.m is not answered yet"; Run All goes past those cells
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hwlib.checks import expect_close, expect_gradcheck, expect_true, passed, run
from hwlib.cifar import load_cifar10
from hwlib.classifier import Classifier, accuracy
from hwlib.gradcheck import CheckRow, GradCheckReport, check_layer, numeric_gradient_array, rel_error
from hwlib.nbimport import import_notebook
from hwlib.plots import show_image_grid
from hwlib.preprocess import preprocess_cifar
from hwlib.runtime import is_autograding
from hwlib.trainer import train

# %matplotlib inline
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## Your earlier work
#
# The next cell loads the layers you wrote in notebook 2 and the network and training step you
# wrote in notebook 4. Keep all course notebooks together in one folder. Only their definitions
# (functions, classes, imports) run; their training cells do not.

# %% nbgrader={"grade": false, "grade_id": "earlier_work", "locked": true, "schema_version": 3, "solution": false}
LAYER_FUNCTIONS = ["fc_forward", "fc_backward", "relu_forward", "relu_backward", "softmax_loss",
                   "l2_regularization"]
import_notebook("02_layers.ipynb", names=LAYER_FUNCTIONS, into=globals())
import_notebook("04_neural_networks.ipynb", names=["TwoLayerNet", "training_step"], into=globals())
print("loaded from notebook 2:", ", ".join(LAYER_FUNCTIONS))
print("loaded from notebook 4: TwoLayerNet, training_step")

# %% [markdown]
# ## Data and model
#
# The network never sees raw pixels. In notebook 4 every image was scaled to $[0, 1]$, the
# **mean training image** was subtracted, and the result was flattened into a row of
# $3 \cdot 32 \cdot 32 = 3072$ numbers (all red values first, then green, then blue). We optimise
# the image in that *normalised* form, and add the mean back to look at it. So we need the mean
# image, which the next cell computes from the training data exactly as notebook 4 did.

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false}
IMAGE_SHAPE = (32, 32, 3)

data = preprocess_cifar(load_cifar10(), num_val=1000, seed=0, dtype=np.float32)
class_names = data["class_names"]
# The mean training image, (32, 32, 3) with pixel values in [0, 1].
mean_image = data["mean"].reshape(3, 32, 32).transpose(1, 2, 0).astype(np.float64)
print(f"{len(data['X_train'])} training images of {data['X_train'].shape[1]} numbers each; "
      f"classes: {', '.join(class_names)}")

first_of_each = [int(np.flatnonzero(data["y_val"] == c)[0]) for c in range(len(class_names))]
examples = data["X_val"][first_of_each].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) + mean_image
show_image_grid(np.clip(examples, 0, 1), labels=class_names, normalize=False).suptitle(
    "real validation images, one per class", fontsize=9);

# %% [markdown]
# Next, the trained network. The cell looks for `best_model.npz` next to this notebook, the file
# notebook 4 saves at its end. If it is not there yet, it trains a stand-in model with your
# `TwoLayerNet` and `training_step` (all training images, five epochs: a few seconds of work on a
# two-core laptop) and says so, so that this notebook always has a network to look into; run
# notebook 4 to the end and come back to use your own tuned model.

# %% nbgrader={"grade": false, "grade_id": "model", "locked": true, "schema_version": 3, "solution": false}
MODEL_FILE = Path("best_model.npz")


def train_stand_in_model(data: dict, *, num_train: int, hidden_dim: int, num_epochs: int, batch_size: int,
                         learning_rate: float) -> Classifier:
    """A float32 TwoLayerNet trained quickly and deterministically on the first num_train images."""
    subset = {"X_train": data["X_train"][:num_train], "y_train": data["y_train"][:num_train],
              "X_val": data["X_val"], "y_val": data["y_val"]}
    stand_in = TwoLayerNet(input_dim=subset["X_train"].shape[1], num_classes=len(class_names),
                           hidden_dim=hidden_dim, weight_scale=1e-3, seed=0, dtype="float32")
    train(stand_in, training_step, subset, num_epochs=num_epochs, batch_size=batch_size,
          learning_rate=learning_rate, lr_decay=0.9, reg=1e-3, seed=0, progress=False)
    return stand_in


def float64_copy(network: Classifier) -> Classifier:
    """The same TwoLayerNet with float64 parameters: the image is optimised in float64, and mixing
    float32 weights with a float64 image would convert the weights at every step (slow)."""
    copy = TwoLayerNet(**{**network.config(), "dtype": "float64"})
    for name, value in copy.parameters().items():
        value[...] = network.parameters()[name]
    return copy


if MODEL_FILE.exists():
    model = float64_copy(Classifier.load_from(MODEL_FILE, TwoLayerNet))
    print(f"loaded your model from {MODEL_FILE}: {model}")
else:
    size = dict(num_train=3000, hidden_dim=50, num_epochs=5, batch_size=100, learning_rate=0.3) \
        if is_autograding() else \
        dict(num_train=len(data["X_train"]), hidden_dim=100, num_epochs=5, batch_size=100, learning_rate=0.3)
    print(f"note: {MODEL_FILE} not found next to this notebook, so a stand-in model is trained here with your "
          f"TwoLayerNet and training_step ({size['num_train']} images, {size['num_epochs']} epochs, hidden width "
          f"{size['hidden_dim']}). Run notebook 4 to the end (it saves {MODEL_FILE}) to use your own best model.")
    stand_in_started = time.perf_counter()
    model = float64_copy(train_stand_in_model(data, **size))
    print(f"stand-in model trained in {time.perf_counter() - stand_in_started:.0f} s")
print(f"validation accuracy: {accuracy(model, data['X_val'], data['y_val']):.1%}")

# %% [markdown]
# ## Helpers (provided)
#
# Images are easiest to handle as arrays of shape $(H, W, 3)$: rows, columns, colour. The network
# wants a batch of rows in its own order (colour first). `image_to_batch` and `batch_to_image`
# convert between the two; they are exact inverses. `gaussian_blur` smooths each colour channel of
# an image with a Gaussian of standard deviation `sigma` pixels (a separable filter: first along
# the rows, then along the columns; the border pixels are repeated outwards).
# `upsample(image, factor)` makes an image `factor` times larger along both pixel axes by
# repeating each pixel as a `factor` x `factor` block (the extra-credit part at the end uses it).

# %% nbgrader={"grade": false, "grade_id": "helpers", "locked": true, "schema_version": 3, "solution": false}
def image_to_batch(image: np.ndarray) -> np.ndarray:
    """(H, W, C) image -> (1, C*H*W) batch of one row, in the network's order (colour first)."""
    return np.transpose(image, (2, 0, 1)).reshape(1, -1)


def batch_to_image(batch: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """(1, C*H*W) batch (any shape holding C*H*W numbers) -> (H, W, C) image; undoes image_to_batch."""
    height, width, channels = image_shape
    return np.reshape(batch, (channels, height, width)).transpose(1, 2, 0)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Blur each channel of an (H, W, C) image with a Gaussian of standard deviation sigma (pixels).

    Returns a new float64 array of the same shape; a constant image stays unchanged.
    """
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    blurred = np.asarray(image, dtype=np.float64)
    for axis in (0, 1):
        padding = [(0, 0)] * blurred.ndim
        padding[axis] = (radius, radius)
        padded = np.pad(blurred, padding, mode="edge")
        length = blurred.shape[axis]
        blurred = sum(weight * np.take(padded, np.arange(k, k + length), axis=axis)
                      for k, weight in enumerate(kernel))
    return blurred


def upsample(image: np.ndarray, factor: int) -> np.ndarray:
    """(h, w, C) image -> (factor*h, factor*w, C): every pixel becomes a factor x factor block of copies."""
    return np.repeat(np.repeat(np.asarray(image), factor, axis=0), factor, axis=1)


def check_scales(scales: tuple[int, ...], image_shape: tuple[int, int, int]) -> None:
    """Raise ValueError unless every scale divides the image's height and width and the one before it."""
    height, width, _ = image_shape
    if not scales or any(int(f) != f or f < 1 or height % f or width % f for f in scales):
        raise ValueError(f"scales {tuple(scales)} must be whole numbers >= 1 that divide the image's height and "
                         f"width {height, width}; try (4, 2, 1)")
    if any(coarse % fine for coarse, fine in zip(scales, scales[1:])):
        raise ValueError(f"each scale must be a multiple of the next one, got {tuple(scales)}; try (4, 2, 1)")


def class_scores(model: Classifier, image: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The model's (C,) class scores for one un-normalised (H, W, 3) image."""
    return model.forward(image_to_batch(image - mean))[0][0]


# %% [markdown]
# ## Test helpers (provided)
#
# The public checks below use small networks that you can follow by hand. A network there is just
# an object with a `parameters()` method (`FixedWeights`). Each test cell first checks that the
# work it builds on is right (your notebook 2 layers, and the earlier questions of this notebook).
# If that work is broken, the cell prints a note and skips its public checks, so you are not
# charged twice for one mistake; the hidden checks of every question use correct versions of the
# earlier functions.

# %% nbgrader={"grade": false, "grade_id": "test_helpers", "locked": true, "schema_version": 3, "solution": false}
class FixedWeights:
    """The smallest possible 'model': it only holds the four parameters."""

    def __init__(self, **params: np.ndarray) -> None:
        self.params = params

    def parameters(self) -> dict[str, np.ndarray]:
        return self.params

    def forward(self, X: np.ndarray) -> None:
        raise TypeError("input_gradient must not call model.forward: run the forward pass yourself with "
                        "fc_forward and relu_forward on the weights from model.parameters()")


def small_random_network(D: int, H: int, C: int, seed: int) -> FixedWeights:
    """Random weights of a D-H-C network, scaled so that the scores are of order 1."""
    rng = np.random.default_rng(seed)
    return FixedWeights(W1=rng.standard_normal((D, H)) / np.sqrt(D), b1=0.1 * rng.standard_normal(H),
                        W2=rng.standard_normal((H, C)) / np.sqrt(H), b2=0.1 * rng.standard_normal(C))


def zero_network(D: int, H: int, C: int) -> FixedWeights:
    """A network whose weights are all 0: every score is 0 and so is every gradient."""
    return FixedWeights(W1=np.zeros((D, H)), b1=np.zeros(H), W2=np.zeros((H, C)), b2=np.zeros(C))


#: A network with D = 2 inputs, H = 2 hidden units and C = 2 classes, small enough to follow by hand.
HAND_NETWORK = FixedWeights(W1=np.array([[1.0, -1.0], [2.0, 1.0]]), b1=np.array([0.0, 0.5]),
                            W2=np.array([[1.0, 0.0], [-1.0, 2.0]]), b2=np.array([0.1, -0.2]))


def _layers_problem() -> str:
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    reports = [check_layer(fc_forward, fc_backward, {"x": x, "w": w, "b": b}, threshold=1e-6, verbose=False),
               check_layer(relu_forward, relu_backward, {"x": x + np.sign(x) * 0.1}, threshold=1e-6, verbose=False)]
    return "" if all(report.passed for report in reports) else "fail their gradient check"


def _input_gradient_problem() -> str:
    scores, grad_X = input_gradient(HAND_NETWORK, np.array([[1.0, 1.0], [0.0, -1.0]]), 0)
    if not (np.allclose(scores, [[2.6, 0.8], [0.1, -0.2]]) and np.allclose(grad_X, [[2.0, 1.0], [0.0, 0.0]])):
        return "fails its hand-checkable example"
    network, X = small_random_network(12, 7, 4, seed=1), np.random.default_rng(2).standard_normal((3, 12))
    numeric = numeric_gradient_array(lambda Z: input_gradient(network, Z, 2)[0][:, 2], X.copy())
    return "" if rel_error(input_gradient(network, X, 2)[1], numeric) < 1e-7 else "fails its gradient check"


def _ascent_step_problem() -> str:
    image = np.array([[[1.0, 1.0]]])
    plain, score = ascent_step(HAND_NETWORK, image, 0, learning_rate=0.5)
    clipped, _ = ascent_step(HAND_NETWORK, image, 0, learning_rate=0.5, weight_decay=0.4, clip_grad=1.0)
    good = (np.allclose(plain, [[[2.0, 1.5]]]) and np.isclose(score, 2.6)
            and np.allclose(clipped, image + 0.5 * np.array([[[1.6, 0.6]]]) / np.sqrt(2.92)))
    return "" if good else "fails its hand-checkable example"


def _hidden_unit_gradient_problem() -> str:
    X = np.array([[1.0, 1.0], [0.0, -1.0]])
    values, grad_X = hidden_unit_gradient(HAND_NETWORK, X, "relu1", 1)
    if not (np.allclose(values, [[3.0, 0.5], [0.0, 0.0]]) and np.allclose(grad_X, [[-1.0, 1.0], [0.0, 0.0]])):
        return "fails its hand-checkable example"
    network, X = small_random_network(12, 7, 4, seed=1), np.random.default_rng(2).standard_normal((3, 12))
    numeric = numeric_gradient_array(lambda Z: hidden_unit_gradient(network, Z, "fc1", 3)[0][:, 3], X.copy())
    return "" if rel_error(hidden_unit_gradient(network, X, "fc1", 3)[1], numeric) < 1e-7 else "fails its gradient check"


PREREQUISITES = {"layers": ("your notebook 2 layers (fc_*, relu_*)", _layers_problem),
                 "input_gradient": ("your input_gradient (Q6.1)", _input_gradient_problem),
                 "ascent_step": ("your ascent_step (Q6.2)", _ascent_step_problem),
                 "hidden_unit_gradient": ("your hidden_unit_gradient (Q6.6)", _hidden_unit_gradient_problem)}


def prerequisites_pass(*names: str) -> bool:
    """True when the earlier work named here is right; otherwise print a note and return False."""
    for name in names:
        label, find_problem = PREREQUISITES[name]
        try:
            problem = find_problem()
        except Exception as error:  # not loaded, not finished, or crashing
            problem = f"cannot be used ({type(error).__name__}: {error})"
        if problem:
            print(f"note: {label} {problem}, so the public checks of this cell are skipped. Fix that first; "
                  "the hidden tests of this question use a correct version.")
            return False
    return True


# %% [markdown]
# ## Part A — the gradient with respect to the input
#
# Write $s(x) \in \mathbb{R}^C$ for the class scores (the raw outputs of the last layer, before any
# softmax) that the network computes for input $x$. The handout phrases the goal in terms of an
# *energy*: we want an input with a **low energy for class $c$**, which here means a **high score**
# $s_c(x)$. So we maximise
#
# $$s_c(x) = \Big(\text{ReLU}(x W_1 + b_1)\, W_2 + b_2\Big)_c .$$
#
# Why the raw score and not the softmax probability or the loss? The probability of class $c$ can
# also be raised by pushing the *other* scores down, which tells us what the image is *not* rather
# than what a $c$ looks like. The raw score only goes up when the evidence for $c$ itself goes up.
#
# ### Q6.1 — `input_gradient` (5 points)
#
# Backpropagation works for any quantity in the graph. `TwoLayerNet.backward` in notebook 4 used
# `fc_backward` for both layers, and each call also produced a gradient with respect to *its input*;
# for the first layer that gradient, $\partial L/\partial X$, was simply thrown away. Now it is the
# one you want. Run the network's forward pass with your notebook 2 layers, then backpropagate with
# the upstream gradient
#
# $$\frac{\partial s_c}{\partial\,\text{scores}} = \text{a one-hot matrix: 1 in column } c
# \text{ of every row, 0 elsewhere,}$$
#
# all the way back to $X$. Each row of the batch is a separate image, so row $i$ of the result is
# $\partial s_c(x_i) / \partial x_i$.
#
# Take the weights from `model.parameters()` (keys `W1`, `b1`, `W2`, `b2`) and run the forward pass
# yourself with your layers, keeping the caches. Do not call `model.forward`: its cache is laid out
# however your notebook 4 chose, and the checks pass plain objects that only have `parameters()`.
# That way the function works for any two-layer ReLU network with those four parameters.
#
# Two classic mistakes: using the gradient of the **softmax loss** instead of the one-hot upstream
# gradient (that is a different objective, see above), and putting ones in *every* column (that is
# the gradient of the sum of all scores).
#
# **Done** when the test cell prints ✓: a small network you can check by hand gives the right scores
# and gradients, and your gradient matches a numeric gradient of your scores (relative error below
# $10^{-7}$) for every class, on a batch of images of shape $(3, 2, 2)$.
# Numeric gradients are for *checking* your work: an answer that computes its gradient with the
# `hwlib.gradcheck` helpers, by finite differences or by calling its own forward pass scores 0 for
# that question (the autograder reads your code and times large hidden cases).

# %% nbgrader={"grade": false, "grade_id": "input_gradient_answer", "locked": false, "schema_version": 3, "solution": true}
def input_gradient(model, X: np.ndarray, class_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores of a two-layer ReLU network and the gradient of one class score with respect to the input.

    Inputs:
        model: a network whose parameters() are W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
        X: (N, d1, ..., dk) batch of N inputs with d1 * ... * dk = D.
        class_index: c, an integer in [0, C).

    Returns:
        scores: (N, C), the raw class scores of every input.
        grad_X: the shape of X; row i is the gradient of scores[i, c] with respect to X[i].
    """
    params = model.parameters()
    ### BEGIN SOLUTION
    hidden, fc1_cache = fc_forward(X, params["W1"], params["b1"])
    activation, relu_cache = relu_forward(hidden)
    scores, fc2_cache = fc_forward(activation, params["W2"], params["b2"])
    grad_scores = np.zeros_like(scores)
    grad_scores[:, class_index] = 1.0
    grad_activation, _, _ = fc_backward(grad_scores, fc2_cache)
    grad_hidden = relu_backward(grad_activation, relu_cache)
    grad_X, _, _ = fc_backward(grad_hidden, fc1_cache)
    ### END SOLUTION
    return scores, grad_X


# %% nbgrader={"grade": true, "grade_id": "input_gradient_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
if prerequisites_pass("layers"):
    # 1. By hand. Row 0: hidden = [3, 0.5] (both units on), scores = [2.6, 0.8],
    #    d score_0 / dx = W1 @ W2[:, 0] = [2, 1].  Row 1: hidden = [-2, -0.5] (both off), so the
    #    scores are just b2 and the gradient is 0.
    X = np.array([[1.0, 1.0], [0.0, -1.0]])
    scores, grad_X = run("input_gradient", input_gradient, HAND_NETWORK, X, 0)
    expect_close("input_gradient scores (hand-checkable network)", scores, [[2.6, 0.8], [0.1, -0.2]],
                 inputs={"X": X}, hint="scores = ReLU(X W1 + b1) W2 + b2, the raw scores (no softmax)")
    expect_close("input_gradient grad_X for class 0 (hand-checkable network)", grad_X, [[2.0, 1.0], [0.0, 0.0]],
                 inputs={"X": X, "class_index": 0},
                 hint="upstream gradient: 1 in column class_index of every row, 0 elsewhere; "
                      "no gradient flows through hidden units that are off")

    # 2. Numeric gradient check for every class, on a batch of three 3x2x2 'images'.
    network = small_random_network(D=12, H=7, C=4, seed=1)
    X = np.random.default_rng(2).standard_normal((3, 3, 2, 2))
    report = GradCheckReport("gradient check: input_gradient on X of shape (3, 3, 2, 2)")
    for c in range(4):
        scores, grad_X = run("input_gradient", input_gradient, network, X, c)
        expect_true("input_gradient", np.shape(grad_X) == X.shape,
                    f"grad_X has shape {np.shape(grad_X)}, expected {X.shape} (the shape of X)",
                    hint="fc_backward returns the gradient in the shape of its input")
        numeric = numeric_gradient_array(lambda Z: input_gradient(network, Z, c)[0][:, c], X.copy())
        report.rows.append(CheckRow(f"grad_X (class {c})", rel_error(grad_X, numeric), 1e-7))
    print(report)
    expect_gradcheck(report, hint="the upstream gradient is one-hot in column class_index (not the softmax "
                                  "loss gradient, not all ones); backpropagate through both fc layers and the ReLU")
    passed("input_gradient")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("visualization", "input_gradient")
### END HIDDEN TESTS

# %% [markdown]
# ## Part B — climbing the score
#
# Plain gradient ascent repeats $x \leftarrow x + \eta\, \nabla_x s_c(x)$ with a learning rate
# $\eta$. It is the gradient *descent* you used for training, with the sign flipped because we
# want the score to go **up** (equivalently: descent on the energy $-s_c$). Getting that sign wrong
# is the most common bug in this notebook: the score then drops instead of rising.
#
# Left alone, the ascent finds images with extreme pixel values, so we add an **L2 penalty** on the
# image (weight decay) and maximise
#
# $$J(x) = s_c(x) - \frac{\lambda}{2}\,\lVert x\rVert^2, \qquad
# \nabla_x J = \nabla_x s_c(x) - \lambda\, x .$$
#
# With weight decay $\lambda > 0$, every step pulls the (normalised) image back towards 0, that is
# towards the mean image; only pixels that keep receiving gradient stay away from it.
#
# **Gradient clipping** limits the length of a step: if the Euclidean norm of the whole ascent
# direction $g = \nabla_x J$ (all $H \cdot W \cdot 3$ numbers together) is larger than `clip_grad`,
# rescale it to norm exactly `clip_grad`: $g \leftarrow g \cdot \texttt{clip\_grad} / \lVert g\rVert$.
# Otherwise leave it alone.
#
# ### Q6.2 — `ascent_step` (4 points)
#
# Implement one step on a normalised image of shape $(H, W, 3)$:
#
# 1. the score and the gradient of $s_c$ at the image, from `input_gradient` on
#    `image_to_batch(image)` (convert the gradient back with `batch_to_image`);
# 2. the ascent direction $g = \nabla_x s_c - \lambda x$, clipped as above when `clip_grad` is not
#    `None`;
# 3. the new image $x + \eta\, g$.
#
# Return the new image and the score $s_c$ of the image you were given (before the step), as a float.
#
# **Done** when the test cell prints ✓: one step on the hand-checkable network matches the
# values in the test (with and without clipping), pure weight decay shrinks an image by the
# factor $1 - \eta\lambda$, and a small step raises the score.

# %% nbgrader={"grade": false, "grade_id": "ascent_step_answer", "locked": false, "schema_version": 3, "solution": true}
def ascent_step(model, image: np.ndarray, class_index: int, *, learning_rate: float,
                weight_decay: float = 0.0, clip_grad: float | None = None) -> tuple[np.ndarray, float]:
    """One gradient-ascent step on s_c(image) - weight_decay / 2 * ||image||^2.

    Inputs:
        model: a two-layer network (see input_gradient).
        image: (H, W, 3) normalised image (mean already subtracted).
        class_index: c, the class whose score is raised.
        learning_rate: step size eta.
        weight_decay: lambda >= 0, strength of the L2 penalty on the image.
        clip_grad: None, or the largest allowed Euclidean norm of the ascent direction.

    Returns:
        new_image: (H, W, 3), image + learning_rate * direction.
        score: float, s_c(image) before the step.
    """
    ### BEGIN SOLUTION
    scores, grad_batch = input_gradient(model, image_to_batch(image), class_index)
    direction = batch_to_image(grad_batch, image.shape) - weight_decay * image
    if clip_grad is not None:
        norm = np.linalg.norm(direction)
        if norm > clip_grad:
            direction = direction * (clip_grad / norm)
    new_image = image + learning_rate * direction
    score = float(scores[0, class_index])
    ### END SOLUTION
    return new_image, score


# %% nbgrader={"grade": true, "grade_id": "ascent_step_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false}
if prerequisites_pass("layers", "input_gradient"):
    # 1. The hand-checkable network of Q6.1 with a 1x1 'image' of 2 channels, x = [1, 1]:
    #    s_0 = 2.6 and grad s_0 = [2, 1], so one step with eta = 0.5 gives [1, 1] + 0.5 * [2, 1] = [2, 1.5].
    image = np.array([[[1.0, 1.0]]])
    new_image, score = run("ascent_step", ascent_step, HAND_NETWORK, image, 0, learning_rate=0.5)
    expect_close("ascent_step new image (eta = 0.5)", new_image, [[[2.0, 1.5]]], inputs={"image": image},
                 hint="gradient ASCENT: add learning_rate * gradient (do not subtract it)")
    expect_close("ascent_step score", score, 2.6, inputs={"image": image},
                 hint="return the score of class_index for the image you were given, before the step")
    #    With weight decay 0.4 the direction is [2, 1] - 0.4 * [1, 1] = [1.6, 0.6]; clipped to norm 1 it is
    #    [1.6, 0.6] / sqrt(2.92).
    new_image, _ = run("ascent_step", ascent_step, HAND_NETWORK, image, 0, learning_rate=0.5,
                       weight_decay=0.4, clip_grad=1.0)
    expect_close("ascent_step with weight_decay = 0.4, clip_grad = 1", new_image,
                 image + 0.5 * np.array([[[1.6, 0.6]]]) / np.sqrt(2.92), inputs={"image": image},
                 hint="direction = gradient - weight_decay * image; if its norm exceeds clip_grad, "
                      "rescale it to norm clip_grad")
    #    A large clip_grad changes nothing.
    new_image, _ = run("ascent_step", ascent_step, HAND_NETWORK, image, 0, learning_rate=0.5, clip_grad=10.0)
    expect_close("ascent_step with clip_grad = 10 (larger than the gradient)", new_image, [[[2.0, 1.5]]],
                 inputs={"image": image}, hint="only rescale when the norm is larger than clip_grad")

    # 2. Pure weight decay: with all weights 0 the gradient vanishes and x shrinks by (1 - eta * lambda).
    image = np.random.default_rng(3).standard_normal((4, 5, 3))
    new_image, score = run("ascent_step", ascent_step, zero_network(60, 3, 2), image, 1,
                           learning_rate=0.1, weight_decay=2.0)
    expect_close("ascent_step on an all-zero network, eta = 0.1, lambda = 2", new_image, 0.8 * image,
                 inputs={"image": image}, hint="the decay term is -weight_decay * image, times learning_rate")

    # 3. A small step raises the score.
    network = small_random_network(D=48, H=10, C=3, seed=4)
    image = 0.1 * np.random.default_rng(5).standard_normal((4, 4, 3))
    new_image, before = run("ascent_step", ascent_step, network, image, 2, learning_rate=0.01)
    after = float(input_gradient(network, image_to_batch(new_image), 2)[0][0, 2])
    expect_true("ascent_step", after > before,
                f"the score of class 2 went from {before:.4f} to {after:.4f} after one small step",
                hint="gradient ascent adds the gradient; subtracting it is descent")
    passed("ascent_step")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("visualization", "ascent_step")
### END HIDDEN TESTS

# %% [markdown]
# ## Part C — the whole loop, and how to get nicer pictures
#
# Plain ascent produces images full of high-frequency noise: the network reacts strongly to
# pixel-level patterns that never occur in real photos. The handout lists tricks against that;
# the function below implements the most useful ones as options:
#
# * **jitter**: before every step, shift the image by a random offset of up to `jitter` pixels in
#   each direction (`np.roll`, which wraps around at the border), take the step, and shift it back.
#   A pattern that only works at one exact pixel position no longer gets reinforced every step.
# * **blur**: every `blur_every` steps, smooth the normalised image with `gaussian_blur(image, blur_sigma)`.
# * **clamping**: the picture we show is `image + mean`, and real pixels lie in $[0, 1]$. After every
#   step, clip that *un-normalised* picture to $[0, 1]$ and keep the result normalised again (the
#   variable you step on always holds the normalised image). (Clipping the normalised image to $[0, 1]$ would be wrong: a normalised pixel of $-0.3$ is a
#   perfectly valid dark pixel.)
# * weight decay and gradient clipping, handled by `ascent_step`.
#
# ### Q6.3 — `class_visualization` (6 points)
#
# Follow these steps exactly (the hidden tests compare your images with ours, so the random numbers
# must be drawn in this order):
#
# 1. `rng = np.random.default_rng(seed)`. If `mean` is `None`, use zeros of shape `image_shape`.
# 2. Start from small noise around the mean image: the normalised image is
#    `0.01 * rng.standard_normal(image_shape)`. If `clamp` is true, clamp it as described above.
# 3. For each of the `num_steps` steps (`step = 0, 1, ...`):
#    1. if `jitter > 0`: draw both offsets `dy, dx` with **one** call of `rng.integers` that returns two
#       whole numbers, each uniform from `-jitter` to `jitter` *inclusive* (check which end of its range
#       `rng.integers` leaves out), then shift with `np.roll` along the two pixel axes;
#    2. `image, _ = ascent_step(...)` with `learning_rate`, `weight_decay` and `clip_grad`;
#    3. if `jitter > 0`: roll back by `(-dy, -dx)`;
#    4. if `blur_every > 0` and `(step + 1) % blur_every == 0`: `image = gaussian_blur(image, blur_sigma)`;
#    5. if `clamp`: clamp.
# 4. Return the un-normalised image `image + mean`, of shape `image_shape`. With `clamp=True` it
#    lies in $[0, 1]$.
#
# **Done** when the test cell prints ✓: zero steps return the clamped starting noise; the result
# depends only on the seed; jitter is undone after every step (on a network with all-zero weights
# nothing may move); blurring and clamping happen where they should; and on a small network the
# target score rises substantially.

# %% nbgrader={"grade": false, "grade_id": "class_visualization_answer", "locked": false, "schema_version": 3, "solution": true}
def class_visualization(model, class_index: int, *, num_steps: int, learning_rate: float,
                        weight_decay: float = 0.0, jitter: int = 0, blur_every: int = 0,
                        blur_sigma: float = 0.5, clip_grad: float | None = None, clamp: bool = True,
                        mean: np.ndarray | None = None, seed: int = 0,
                        image_shape: tuple[int, int, int] = IMAGE_SHAPE) -> np.ndarray:
    """An image that the model scores highly as class_index, found by regularised gradient ascent.

    Inputs:
        model: a two-layer network (see input_gradient).
        class_index: c, the class to visualise.
        num_steps: number of ascent steps (0 returns the starting image).
        learning_rate, weight_decay, clip_grad: passed to ascent_step.
        jitter: largest random shift in pixels per step (0: no jitter).
        blur_every: blur the image every this many steps (0: never).
        blur_sigma: standard deviation of the blur, in pixels.
        clamp: keep the un-normalised image (image + mean) within [0, 1] after every step.
        mean: (H, W, 3) mean image that was subtracted from the network's inputs (None: zeros).
        seed: seed of the starting noise and of the jitter offsets.
        image_shape: (H, W, 3).

    Returns:
        (H, W, 3) un-normalised image (image + mean); in [0, 1] when clamp is true.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    mean = np.zeros(image_shape) if mean is None else mean

    def clamped(normalised: np.ndarray) -> np.ndarray:
        return np.clip(normalised + mean, 0.0, 1.0) - mean

    image = 0.01 * rng.standard_normal(image_shape)
    if clamp:
        image = clamped(image)
    for step in range(num_steps):
        if jitter > 0:
            dy, dx = rng.integers(-jitter, jitter + 1, size=2)
            image = np.roll(image, (dy, dx), axis=(0, 1))
        image, _ = ascent_step(model, image, class_index, learning_rate=learning_rate,
                               weight_decay=weight_decay, clip_grad=clip_grad)
        if jitter > 0:
            image = np.roll(image, (-dy, -dx), axis=(0, 1))
        if blur_every > 0 and (step + 1) % blur_every == 0:
            image = gaussian_blur(image, blur_sigma)
        if clamp:
            image = clamped(image)
    ### END SOLUTION
    return image + mean


# %% nbgrader={"grade": true, "grade_id": "class_visualization_tests", "locked": true, "points": 6, "schema_version": 3, "solution": false}
if prerequisites_pass("layers", "input_gradient", "ascent_step"):
    shape = (4, 5, 3)
    mean = np.random.default_rng(6).uniform(0.2, 0.8, shape)
    network = small_random_network(D=60, H=12, C=4, seed=7)

    # 1. Zero steps: small noise around the mean image (standard deviation 0.01), of the right shape.
    start = run("class_visualization", class_visualization, network, 1, num_steps=0, learning_rate=1.0,
                mean=mean, seed=3, image_shape=shape)
    expect_true("class_visualization with num_steps = 0", np.shape(start) == shape,
                f"returned shape {np.shape(start)}; expected image_shape {shape}", hint="return image + mean")
    offset = np.asarray(start, dtype=float) - mean
    expect_true("class_visualization with num_steps = 0", 0.002 < offset.std() < 0.05 and abs(offset.mean()) < 0.01,
                f"the starting image differs from the mean image by {offset.mean():+.4f} on average, with spread "
                f"{offset.std():.4f}; expected noise of spread about 0.01 around the mean image",
                hint="step 2 of the recipe, then return the un-normalised image (the normalised one plus the mean)")

    # 2. Deterministic for a seed, different for another seed.
    options = dict(num_steps=5, learning_rate=0.05, jitter=1, mean=mean, image_shape=shape)
    first = run("class_visualization", class_visualization, network, 2, seed=11, **options)
    again = run("class_visualization", class_visualization, network, 2, seed=11, **options)
    other = run("class_visualization", class_visualization, network, 2, seed=12, **options)
    expect_close("class_visualization called twice with seed 11", again, first,
                 hint="draw every random number from np.random.default_rng(seed), nothing from np.random.*")
    expect_true("class_visualization", not np.allclose(first, other),
                "seeds 11 and 12 gave the same image", hint="use the seed argument")

    # 3. All weights 0: the gradient vanishes, so nothing may move -- with jitter too (rolled back).
    frozen = run("class_visualization", class_visualization, zero_network(60, 3, 2), 0, num_steps=4,
                 learning_rate=1.0, jitter=2, mean=mean, seed=5, image_shape=shape)
    start = run("class_visualization", class_visualization, zero_network(60, 3, 2), 0, num_steps=0,
                learning_rate=1.0, mean=mean, seed=5, image_shape=shape)
    expect_close("class_visualization on an all-zero network with jitter = 2 (against num_steps = 0)", frozen,
                 start, inputs={"jitter": 2}, hint="after the step, roll the image back by (-dy, -dx)")

    # 4. Blur once, after the first step: the blurred starting noise (then clamped).
    blurred = run("class_visualization", class_visualization, zero_network(60, 3, 2), 0, num_steps=1,
                  learning_rate=1.0, blur_every=1, blur_sigma=0.8, mean=mean, seed=5, image_shape=shape)
    expect_close("class_visualization on an all-zero network, blur_every = 1", blurred,
                 np.clip(gaussian_blur(start - mean, 0.8) + mean, 0, 1),
                 hint="blur the normalised image with gaussian_blur(image, blur_sigma) when (step + 1) % "
                      "blur_every == 0, then clamp")

    # 5. Clamping in pixel space: a large learning rate drives pixels to 0 and 1, never beyond.
    bright = np.full(shape, 0.9)
    clamped_image = run("class_visualization", class_visualization, network, 0, num_steps=10,
                        learning_rate=50.0, mean=bright, image_shape=shape)
    expect_true("class_visualization", clamped_image.min() >= 0.0 and clamped_image.max() <= 1.0,
                f"with clamp=True the image has values in [{clamped_image.min():.3f}, {clamped_image.max():.3f}]",
                hint="clip the un-normalised picture (image plus mean) to [0, 1], then store it normalised again")
    expect_true("class_visualization", clamped_image.min() < 0.5,
                f"with mean 0.9 and a huge learning rate some pixels should turn dark; got values in "
                f"[{clamped_image.min():.3f}, {clamped_image.max():.3f}]",
                hint="clamp image + mean to [0, 1], not the normalised image itself")

    # 6. The target score rises substantially.
    image = run("class_visualization", class_visualization, network, 3, num_steps=30, learning_rate=1.0,
                clamp=False, image_shape=shape)
    noise = 0.01 * np.random.default_rng(0).standard_normal(shape)  # the start for seed 0, mean 0, no clamp
    before = float(input_gradient(network, image_to_batch(noise), 3)[0][0, 3])
    after = float(input_gradient(network, image_to_batch(image), 3)[0][0, 3])
    expect_true("class_visualization", after > before + 1.0,
                f"30 steps with learning rate 1 took the score of class 3 from {before:.3f} to {after:.3f}; "
                "expected a rise of more than 1", hint="each step must ADD learning_rate * gradient")
    passed("class_visualization")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("visualization", "class_visualization")
### END HIDDEN TESTS

# %% [markdown]
# ## Part D — looking at the results
#
# First, plain gradient ascent: no regulariser except clamping. Then the same with jitter, blur and
# weight decay. The settings are yours to change (this cell is not graded); try to make the second
# row look as much like the classes as you can while the model still recognises them. Above each
# image is its target class, and, when the model sees something else in it, what it sees.

# %% nbgrader={"grade": false, "grade_id": "settings", "locked": false, "schema_version": 3, "solution": false}
PLAIN = dict(num_steps=100, learning_rate=0.1)
REGULARISED = dict(num_steps=200, learning_rate=0.1, weight_decay=0.02, jitter=1, blur_every=2, blur_sigma=0.6)

# %% nbgrader={"grade": false, "grade_id": "grids", "locked": true, "schema_version": 3, "solution": false}
def visualise_all_classes(settings: dict, title: str) -> np.ndarray:
    """One image per class with these settings; shows the grid and prints what the model sees.

    While autograding, at most 60 steps are run (the figures are not graded, and time is short).
    """
    if is_autograding():
        settings = {**settings, "num_steps": min(settings.get("num_steps", 0), 60)}
    start = time.perf_counter()
    images = np.stack([class_visualization(model, c, mean=mean_image, **settings) for c in range(len(class_names))])
    predicted = [int(np.argmax(class_scores(model, image, mean_image))) for image in images]
    recognised = sum(p == c for c, p in enumerate(predicted))
    labels = [name if p == c else f"{name}\n(seen: {class_names[p]})" for c, (name, p) in
              enumerate(zip(class_names, predicted))]
    figure = show_image_grid(np.clip(images, 0, 1), labels=labels, normalize=False)
    figure.set_size_inches(14, 2.4)
    figure.suptitle(title, fontsize=10)
    print(f"{title}: {recognised}/{len(class_names)} images classified as their target class "
          f"({time.perf_counter() - start:.1f} s)")
    return images


plain_images = visualise_all_classes(PLAIN, "plain gradient ascent (clamping only)")
regularised_images = visualise_all_classes(REGULARISED, "with weight decay, jitter and blur")

# %% [markdown]
# ### The learning rate
#
# The handout suggests starting around $\eta = 0.01$ and then sweeping over several orders of
# magnitude. The next cell runs plain ascent (a fixed number of steps) for $\eta$ from $10^{-3}$ to
# $10$, with and without clamping, and plots the final target score (averaged over the classes
# shown, with one thin line per class). The score axis is linear between $-1$ and $1$ and
# logarithmic beyond, so that both ends of the sweep are visible.

# %% nbgrader={"grade": false, "grade_id": "sweep", "locked": true, "schema_version": 3, "solution": false}
learning_rates = 10.0 ** np.arange(-3, 2)
# While autograding: fewer classes and steps (the figure is not graded, and time is short).
sweep_classes = [1, 7] if is_autograding() else list(range(len(class_names)))
sweep_steps = 30 if is_autograding() else 50

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
lowest = -1.0
for clamp, colour in ((True, "tab:blue"), (False, "tab:orange")):
    finals = np.array([[class_scores(model, class_visualization(model, c, num_steps=sweep_steps, learning_rate=lr,
                                                                clamp=clamp, mean=mean_image), mean_image)[c]
                        for lr in learning_rates] for c in sweep_classes])
    lowest = min(lowest, 1.5 * finals.min())
    ax.plot(learning_rates, finals.T, color=colour, lw=0.6, alpha=0.4)
    ax.plot(learning_rates, finals.mean(axis=0), color=colour, lw=2.5, marker="o",
            label=f"clamp={clamp} (mean over {len(sweep_classes)} classes)")
start_scores = [class_scores(model, class_visualization(model, c, num_steps=0, learning_rate=0.0,
                                                         mean=mean_image), mean_image)[c] for c in sweep_classes]
ax.axhline(np.mean(start_scores), color="0.5", ls="--", label="mean score of the starting noise")
ax.set_xscale("log")
ax.set_yscale("symlog", linthresh=1.0)  # linear near 0, logarithmic beyond +-1
ax.set_ylim(bottom=lowest)
ax.set_xlabel("learning rate $\\eta$")
ax.set_ylabel(f"target score after {sweep_steps} steps")
ax.set_title("Learning-rate sweep (plain ascent)")
ax.grid(True, alpha=0.3)
ax.legend(fontsize=8);

# %% [markdown]
# ### Q6.4 — written: reading the sweep (2 points)
#
# Which learning rates work within 50 steps, and what goes wrong at the small end? Why does the
# score stop growing at the large end when the image is clamped, while it keeps growing without
# clamping? What does that tell you about the optimisation problem "maximise $s_c(x)$" without
# any constraint or penalty?

# %% [markdown] nbgrader={"grade": true, "grade_id": "sweep_written", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# *Model answer (one point for the two ends of the sweep, one for the unbounded problem).*
#
# * At $\eta = 10^{-3}$ (and usually $10^{-2}$) the image hardly moves in 50 steps: the gradient of
#   a score with respect to a pixel is small, so the score stays near its starting value. Somewhere
#   around $10^{-1}$–$1$ the score rises a lot.
# * With clamping, larger steps simply push more pixels to 0 or 1; once most pixels sit at a bound,
#   a larger step cannot move them further, so the final score levels off (the box $[0,1]^{3072}$ is
#   bounded, and the score of a bounded image is bounded).
# * Without clamping the score keeps growing roughly in proportion to $\eta$: the network is
#   piecewise linear (fc, ReLU, fc), so moving further along a direction that raises $s_c$ keeps
#   raising it. "Maximise $s_c(x)$" alone has no maximum; it is only well posed with a constraint
#   (clamping) or a penalty (weight decay), which is one more reason to regularise.
#
# === BEGIN MARK SCHEME ===
# 1 point for both ends of the sweep (too small barely moves; clamping bounds the score), 1 point for
# saying the unconstrained problem has no maximum (it needs a constraint or a penalty).
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q6.5 — written: noise and regularisers (3 points)
#
# Compare the two grids above. Why do the images from plain gradient ascent look like coloured
# noise, even though the network classifies them confidently? Then explain in a sentence or two
# each what **weight decay**, **blur**, **jitter**, **clamping** and **gradient clipping** do to
# the images and why they help.

# %% [markdown] nbgrader={"grade": true, "grade_id": "regularisers_written", "locked": false, "points": 3, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# *Model answer (one point for the reason, two for the regularisers; at least four of five right).*
#
# **Why noise.** The ascent is free to change each of the 3072 numbers independently, and nothing
# in the objective asks for the statistics of natural images (smooth regions, edges, a limited
# range of colours). The first layer weights of a network trained on a few thousand images are
# noisy, so the steepest way to raise a score combines many pixel-level, high-frequency patterns
# that real photos never contain. The network was never trained on such inputs and responds to
# them strongly: a confidently classified image need not look like anything (the same effect
# that makes adversarial examples possible).
#
# **The regularisers** act as a prior on what an image should look like:
# * *weight decay* (L2 on the normalised image) pulls every pixel back towards the mean image, so
#   only the pixels that consistently raise the score stay away from it; contrast stays moderate.
# * *blur* removes high-frequency content every few steps, leaving the smooth, low-frequency parts
#   of the pattern (colour blobs, rough shapes).
# * *jitter* makes the pattern useful at slightly different positions; a pixel-exact pattern is
#   only reinforced at one offset, so it averages out, while larger structures survive.
# * *clamping* keeps the picture a valid image (pixel values in $[0, 1]$) and stops single pixels
#   from growing without bound.
# * *gradient clipping* bounds the length of each step, so an unusually large gradient cannot throw
#   the image far away in one step; the optimisation becomes steadier.
#
# === BEGIN MARK SCHEME ===
# 1 point for why plain ascent gives noise (nothing asks for natural-image statistics), 2 points
# for the regularisers (at least four of the five explained correctly; 1 point for two or three).
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## Extra credit — inside the network, and at several scales
#
# Everything below is the handout's **extra credit** (5 points there, 5 points here: Q6.6–Q6.8).
# It counts towards the notebook's points like the rest, but you can reach full marks on the
# handout's main part without it. The handout lists more tricks than Part C used; this part adds
# the three that are left:
#
# * **looking at a middle layer**: instead of a class score, maximise what one *hidden unit* of the
#   network computes, and see what that unit responds to;
# * **multi-scale ascent**: start with a coarse image of a few big pixels, climb for a while, then
#   make the image finer and go on, so that large structures appear before small details;
# * **blurring the gradient** at every step (Part C blurred the image every few steps).
#
# ### Q6.6 — extra credit: `hidden_unit_gradient` (2 points)
#
# The first layer of the network computes, for every image, $H$ numbers. We name two places where
# you can look at them:
#
# * `"fc1"`: the output of the first fully connected layer, $h = x W_1 + b_1$ (before the ReLU);
# * `"relu1"`: the hidden activations $a = \text{ReLU}(h)$, the numbers the second layer reads.
#
# Write `hidden_unit_gradient(model, X, layer, unit)`. It returns the chosen layer's values for
# every image, shape $(N, H)$, and the gradient of column `unit` of those values with respect to
# $X$ (row $i$ of the gradient belongs to image $i$), in the shape of `X`. Reuse your notebook 2
# layers as in Q6.1: the backward pass is Q6.1's, except that it starts at the layer you look at.
# Take the weights from `model.parameters()` and do not call `model.forward`.
#
# Think about what the ReLU does to the gradient of a unit that is *off* for an image; the
# gallery below uses `"fc1"` for that reason.
#
# **Done** when the test cell prints ✓: a hand-checkable example gives the right values and
# gradients for both layers, and your gradient matches a numeric gradient of your values
# (relative error below $10^{-7}$) for several units. As in Q6.1, an answer that computes its
# gradient numerically or by calling a forward pass of its own scores 0 here.

# %% nbgrader={"grade": false, "grade_id": "hidden_unit_gradient_answer", "locked": false, "schema_version": 3, "solution": true}
HIDDEN_LAYERS = ("fc1", "relu1")


def hidden_unit_gradient(model, X: np.ndarray, layer: str, unit: int) -> tuple[np.ndarray, np.ndarray]:
    """Values of a hidden layer of a two-layer ReLU network and the gradient of one unit w.r.t. the input.

    Inputs:
        model: a network whose parameters() are W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
        X: (N, d1, ..., dk) batch of N inputs with d1 * ... * dk = D.
        layer: "fc1" (x W1 + b1, before the ReLU) or "relu1" (after the ReLU).
        unit: j, an integer in [0, H).

    Returns:
        values: (N, H), the chosen layer's values for every input.
        grad_X: the shape of X; row i is the gradient of values[i, j] with respect to X[i].
    """
    if layer not in HIDDEN_LAYERS:
        raise ValueError(f"layer must be one of {HIDDEN_LAYERS}, got {layer!r}")
    params = model.parameters()
    ### BEGIN SOLUTION
    pre_activation, fc1_cache = fc_forward(X, params["W1"], params["b1"])
    activation, relu_cache = relu_forward(pre_activation)
    grad_unit = np.zeros_like(pre_activation)
    grad_unit[:, unit] = 1.0
    if layer == "relu1":
        values = activation
        grad_pre_activation = relu_backward(grad_unit, relu_cache)
    else:
        values = pre_activation
        grad_pre_activation = grad_unit
    grad_X, _, _ = fc_backward(grad_pre_activation, fc1_cache)
    ### END SOLUTION
    return values, grad_X


# %% nbgrader={"grade": true, "grade_id": "hidden_unit_gradient_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
if prerequisites_pass("layers"):
    # 1. By hand, on the network of Q6.1. Row 0: x W1 + b1 = [3, 0.5] (both units on);
    #    row 1: [-2, -0.5] (both off). Before the ReLU, unit 0's gradient is [1, 2] for every row;
    #    after the ReLU, an image whose unit is off gets 0.
    X = np.array([[1.0, 1.0], [0.0, -1.0]])
    values, grad_X = run("hidden_unit_gradient", hidden_unit_gradient, HAND_NETWORK, X, "fc1", 0)
    expect_close('hidden_unit_gradient values, layer "fc1" (hand-checkable network)', values,
                 [[3.0, 0.5], [-2.0, -0.5]], inputs={"X": X}, hint="the first layer's output, before the ReLU")
    expect_close('hidden_unit_gradient grad_X, layer "fc1", unit 0', grad_X, [[1.0, 2.0], [1.0, 2.0]],
                 inputs={"X": X, "unit": 0}, hint="a unit before the ReLU depends on x through one column of W1")
    values, grad_X = run("hidden_unit_gradient", hidden_unit_gradient, HAND_NETWORK, X, "relu1", 1)
    expect_close('hidden_unit_gradient values, layer "relu1"', values, [[3.0, 0.5], [0.0, 0.0]],
                 inputs={"X": X}, hint="the hidden activations after the ReLU")
    expect_close('hidden_unit_gradient grad_X, layer "relu1", unit 1', grad_X, [[-1.0, 1.0], [0.0, 0.0]],
                 inputs={"X": X, "unit": 1}, hint="no gradient flows through a unit that is off")

    # 2. Numeric gradient check on a batch of three 3x2x2 'images', both layers, several units.
    network = small_random_network(D=12, H=7, C=4, seed=1)
    X = np.random.default_rng(2).standard_normal((3, 3, 2, 2))
    report = GradCheckReport("gradient check: hidden_unit_gradient on X of shape (3, 3, 2, 2)")
    for layer, unit in (("fc1", 0), ("fc1", 6), ("relu1", 2), ("relu1", 5)):
        values, grad_X = run("hidden_unit_gradient", hidden_unit_gradient, network, X, layer, unit)
        expect_true("hidden_unit_gradient", np.shape(values) == (3, 7) and np.shape(grad_X) == X.shape,
                    f"values has shape {np.shape(values)} and grad_X {np.shape(grad_X)}; expected (3, 7) and "
                    f"{X.shape}", hint="values: one row of H numbers per image; grad_X: the shape of X")
        numeric = numeric_gradient_array(lambda Z: hidden_unit_gradient(network, Z, layer, unit)[0][:, unit], X.copy())
        report.rows.append(CheckRow(f"grad_X ({layer}, unit {unit})", rel_error(grad_X, numeric), 1e-7))
    print(report)
    expect_gradcheck(report, hint="start the backward pass at the layer you look at, with an upstream gradient "
                                  "that selects one unit; go back to X with your notebook 2 layers")
    passed("hidden_unit_gradient")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("visualization", "hidden_unit_gradient")
### END HIDDEN TESTS

# %% [markdown]
# ### Q6.7 — extra credit: `multiscale_visualization` with a blurred gradient (2 points)
#
# Multi-scale ascent optimises a **small** image and shows the network a large one. With a scale
# factor $f$, the variable is an image of $(H/f) \times (W/f)$ pixels, and the network sees
# `upsample(small, f)`, of the full size. Climb for `steps_per_scale` steps, then make the small image
# finer (upsample it by the ratio of the two scales) and go on at the next scale. The last scale is
# usually 1, the full resolution. The target is a class score (`layer="scores"`, `unit` is then the
# class index) or a hidden unit (`layer="fc1"` or `"relu1"`).
#
# The new piece of backpropagation: your gradient functions give the gradient with respect to the
# *large* image, and the ascent needs it with respect to the *small* one. `upsample` is a layer
# like any other; work out its backward pass (how many pixels of the large image does one small
# pixel feed, and what did notebook 1 say about a value that is used several times?).
#
# Follow these steps exactly (the hidden tests compare your images with ours):
#
# 1. `check_scales(scales, image_shape)`, `rng = np.random.default_rng(seed)`; if `mean` is `None`,
#    use zeros of shape `image_shape`.
# 2. The small image starts as `0.01 * rng.standard_normal(...)` with $H/f$ rows, $W/f$ columns and 3
#    colours, for the first scale $f$ = `scales[0]`.
# 3. For each scale $f$ in `scales`: from the second scale on, first upsample the small image by
#    (previous scale) / $f$. Then, `steps_per_scale` times:
#    1. the large image is `upsample(small, f)`;
#    2. the gradient of the target with respect to the large image, as an $(H, W, 3)$ image, from
#       `input_gradient` or `hidden_unit_gradient` on `image_to_batch(large)`;
#    3. if `blur_gradient_sigma > 0`: blur that gradient with `gaussian_blur(gradient, blur_gradient_sigma)`;
#    4. the gradient with respect to the small image (the backward pass of `upsample`);
#    5. `small = small + learning_rate * (gradient of the small image - weight_decay * small)`.
# 4. Return the un-normalised image `upsample(small, scales[-1]) + mean`, of shape `image_shape`
#    (no clamping here: the gallery clips the images for display).
#
# **Done** when the test cell prints ✓: zero steps give coarse noise; one step at a coarse scale
# agrees with a numeric gradient of the target taken with respect to the small image; blurring the
# gradient gives the step the test expects; and the target score rises.

# %% nbgrader={"grade": false, "grade_id": "multiscale_visualization_answer", "locked": false, "schema_version": 3, "solution": true}
def multiscale_visualization(model, unit: int, *, layer: str = "scores", scales: tuple[int, ...] = (4, 2, 1),
                             steps_per_scale: int, learning_rate: float, weight_decay: float = 0.0,
                             blur_gradient_sigma: float = 0.0, mean: np.ndarray | None = None, seed: int = 0,
                             image_shape: tuple[int, int, int] = IMAGE_SHAPE) -> np.ndarray:
    """An image that raises one class score or hidden unit, found by gradient ascent from coarse to fine.

    Inputs:
        model: a two-layer network (see input_gradient).
        unit: the class index (layer "scores") or the hidden unit (layer "fc1" or "relu1").
        layer: "scores", "fc1" or "relu1".
        scales: downsampling factors, coarse to fine; each divides the image size and the scale before it.
        steps_per_scale: ascent steps at every scale (0 returns the upsampled starting noise).
        learning_rate: step size eta.
        weight_decay: lambda >= 0, the L2 penalty on the small (normalised) image.
        blur_gradient_sigma: blur the full-size gradient with this sigma at every step (0: never).
        mean: (H, W, 3) mean image that was subtracted from the network's inputs (None: zeros).
        seed: seed of the starting noise.
        image_shape: (H, W, 3), the size the network sees.

    Returns:
        (H, W, 3) un-normalised image (upsampled small image + mean).
    """
    check_scales(scales, image_shape)
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    mean = np.zeros(image_shape) if mean is None else mean
    height, width, channels = image_shape

    def target_gradient(large: np.ndarray) -> np.ndarray:
        if layer == "scores":
            _, grad_batch = input_gradient(model, image_to_batch(large), unit)
        else:
            _, grad_batch = hidden_unit_gradient(model, image_to_batch(large), layer, unit)
        return batch_to_image(grad_batch, image_shape)

    small = 0.01 * rng.standard_normal((height // scales[0], width // scales[0], channels))
    for index, factor in enumerate(scales):
        if index > 0:
            small = upsample(small, scales[index - 1] // factor)
        for _ in range(steps_per_scale):
            grad_large = target_gradient(upsample(small, factor))
            if blur_gradient_sigma > 0:
                grad_large = gaussian_blur(grad_large, blur_gradient_sigma)
            blocks = grad_large.reshape(height // factor, factor, width // factor, factor, channels)
            grad_small = blocks.sum(axis=(1, 3))
            small = small + learning_rate * (grad_small - weight_decay * small)
    ### END SOLUTION
    return upsample(small, scales[-1]) + mean


# %% nbgrader={"grade": true, "grade_id": "multiscale_visualization_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
if prerequisites_pass("layers", "input_gradient", "hidden_unit_gradient"):
    shape = (4, 6, 3)
    mean = np.random.default_rng(6).uniform(0.2, 0.8, shape)
    network = small_random_network(D=72, H=9, C=4, seed=8)

    # 1. Zero steps: the starting noise of a (2, 3, 3) small image, each pixel copied into a 2x2 block.
    start = run("multiscale_visualization", multiscale_visualization, network, 1, scales=(2, 1), steps_per_scale=0,
                learning_rate=1.0, mean=mean, seed=3, image_shape=shape)
    expect_true("multiscale_visualization with steps_per_scale = 0", np.shape(start) == shape,
                f"returned shape {np.shape(start)}; expected image_shape {shape}", hint="return the full-size image")
    coarse = np.asarray(start, dtype=float) - mean
    expect_close("multiscale_visualization with steps_per_scale = 0 (is the start made of 2x2 blocks?)", coarse,
                 upsample(coarse[::2, ::2], 2), inputs={"scales": (2, 1)},
                 hint="start with a small image of the first scale's size; upsample, do not draw full-size noise")
    expect_true("multiscale_visualization with steps_per_scale = 0", 0.002 < coarse.std() < 0.05,
                f"the starting image differs from the mean image with spread {coarse.std():.4f}; expected about 0.01",
                hint="step 2 of the recipe, then add the mean")

    # 2. One step at scale 2 (learning rate 1, no decay) moves the small image by the gradient of the target
    #    with respect to the small image; compare it with a numeric gradient of that composition.
    report = GradCheckReport("gradient check: one step of multiscale_visualization at scale 2")
    for layer, unit in (("scores", 2), ("fc1", 4)):
        options = dict(layer=layer, scales=(2,), learning_rate=1.0, seed=5, image_shape=shape)
        before = run("multiscale_visualization", multiscale_visualization, network, unit, steps_per_scale=0, **options)
        after = run("multiscale_visualization", multiscale_visualization, network, unit, steps_per_scale=1, **options)
        small_before = np.asarray(before, dtype=float)[::2, ::2]
        step = np.asarray(after, dtype=float)[::2, ::2] - small_before
        gradient_of = input_gradient if layer == "scores" else (
            lambda model, X, j: hidden_unit_gradient(model, X, "fc1", j))
        numeric = numeric_gradient_array(
            lambda small: gradient_of(network, image_to_batch(upsample(small, 2)), unit)[0][0, unit], small_before.copy())
        report.rows.append(CheckRow(f"step of the small image ({layer}, unit {unit})", rel_error(step, numeric), 1e-6))
    print(report)
    expect_gradcheck(report, hint="the ascent needs the gradient with respect to the SMALL image: backpropagate "
                                  "through upsample (each small pixel is used several times)")

    # 3. Blurring the gradient, at scale 1: one step moves the image by the blurred gradient of the score.
    options = dict(scales=(1,), learning_rate=1.0, seed=5, image_shape=shape)
    before = run("multiscale_visualization", multiscale_visualization, network, 0, steps_per_scale=0, **options)
    after = run("multiscale_visualization", multiscale_visualization, network, 0, steps_per_scale=1,
                blur_gradient_sigma=1.0, **options)
    gradient = batch_to_image(input_gradient(network, image_to_batch(before), 0)[1], shape)
    expect_close("multiscale_visualization, one step at scale 1 with blur_gradient_sigma = 1",
                 np.asarray(after) - np.asarray(before), gaussian_blur(gradient, 1.0),
                 hint="blur the full-size gradient with gaussian_blur(gradient, blur_gradient_sigma) before the step")

    # 4. The target rises over three scales.
    image = run("multiscale_visualization", multiscale_visualization, network, 3, scales=(2, 1), steps_per_scale=15,
                learning_rate=0.5, image_shape=shape)
    noise = np.asarray(run("multiscale_visualization", multiscale_visualization, network, 3, scales=(2, 1),
                           steps_per_scale=0, learning_rate=0.5, image_shape=shape))
    before = float(input_gradient(network, image_to_batch(noise), 3)[0][0, 3])
    after = float(input_gradient(network, image_to_batch(image), 3)[0][0, 3])
    expect_true("multiscale_visualization", after > before + 1.0,
                f"15 steps per scale at scales (2, 1) took the score of class 3 from {before:.3f} to {after:.3f}; "
                "expected a rise of more than 1", hint="each step must ADD learning_rate * gradient")
    passed("multiscale_visualization")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("visualization", "multiscale_visualization")
### END HIDDEN TESTS

# %% [markdown]
# ### The gallery
#
# The first row shows hidden units of your model: for each of the units with the largest
# incoming weights, the image that raises its value before the ReLU (`"fc1"`), with the class that
# unit supports most (the largest entry of its row of $W_2$) underneath. The second row shows one
# multi-scale class image per class, with a blurred gradient; compare it with the grids of Part D.
# The settings are yours to change (this cell is not graded). Each image is stretched to the full
# range of colours for display.

# %% nbgrader={"grade": false, "grade_id": "gallery_settings", "locked": false, "schema_version": 3, "solution": false}
UNIT_SETTINGS = dict(layer="fc1", scales=(4, 2, 1), steps_per_scale=40, learning_rate=0.05, weight_decay=0.05,
                     blur_gradient_sigma=0.5)
CLASS_SETTINGS = dict(layer="scores", scales=(4, 2, 1), steps_per_scale=40, learning_rate=0.05, weight_decay=0.05,
                      blur_gradient_sigma=0.5)
NUM_UNITS_SHOWN = 10

# %% nbgrader={"grade": false, "grade_id": "gallery", "locked": true, "schema_version": 3, "solution": false}
def gallery(unit_settings: dict, class_settings: dict, num_units: int) -> None:
    """Show hidden-unit images and multi-scale class images of the model, and what the model sees in them.

    While autograding, at most 10 steps per scale are run (the figures are not graded, and time is short).
    """
    if is_autograding():
        unit_settings = {**unit_settings, "steps_per_scale": min(unit_settings["steps_per_scale"], 10)}
        class_settings = {**class_settings, "steps_per_scale": min(class_settings["steps_per_scale"], 10)}
    started = time.perf_counter()
    params = model.parameters()
    units = np.argsort(-np.linalg.norm(params["W1"], axis=0))[:num_units]
    unit_images = np.stack([multiscale_visualization(model, int(j), mean=mean_image, **unit_settings) for j in units])
    unit_labels = [f"unit {j}\n({class_names[int(np.argmax(params['W2'][j]))]})" for j in units]
    figure = show_image_grid(unit_images, labels=unit_labels, normalize=True)
    figure.set_size_inches(14, 2.4)
    figure.suptitle(f"hidden units ({unit_settings['layer']}), multi-scale; below: the class each supports most",
                    fontsize=10)
    class_images = np.stack([multiscale_visualization(model, c, mean=mean_image, **class_settings)
                             for c in range(len(class_names))])
    predicted = [int(np.argmax(class_scores(model, image, mean_image))) for image in class_images]
    labels = [name if p == c else f"{name}\n(seen: {class_names[p]})"
              for c, (name, p) in enumerate(zip(class_names, predicted))]
    figure = show_image_grid(class_images, labels=labels, normalize=True)
    figure.set_size_inches(14, 2.4)
    figure.suptitle("classes, multi-scale ascent with a blurred gradient", fontsize=10)
    recognised = sum(p == c for c, p in enumerate(predicted))
    print(f"{len(units)} hidden units and {len(class_names)} classes ({recognised} classified as their target) "
          f"in {time.perf_counter() - started:.1f} s")


gallery(UNIT_SETTINGS, CLASS_SETTINGS, NUM_UNITS_SHOWN)

# %% [markdown]
# ### Q6.8 — extra credit, written: units, classes and scales (1 point)
#
# Look at the gallery and at the grids of Part D. What kind of pattern does a single hidden unit
# respond to, and how does a class image relate to the units that support that class? What does
# starting at a coarse scale (and blurring the gradient) change in the class images compared with
# single-scale ascent, and why?

# %% [markdown] nbgrader={"grade": true, "grade_id": "extra_credit_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# *Model answer.*
#
# * A unit of `fc1` computes $x \cdot w_j + b_j$, a linear function of the image, so the image that
#   raises it most is (up to the penalty) its own weight column $w_j$ reshaped to an image: a
#   template of colours and blobs, often one half bright and the other dark, or a coloured region
#   against a background. A class score is $\sum_j W_{2,jc}\,\text{ReLU}(h_j) + b_c$, so a class
#   image mixes the templates of the units with large positive weights to that class (the ones
#   labelled with it in the gallery) and avoids those with negative weights; the class images
#   resemble a blend of "their" units.
# * Starting coarse restricts the first steps to a few big pixels, so the image gets its large
#   layout (regions of one colour, a bright or dark centre, a horizon) before any detail; the finer
#   scales only add detail on top of it (with the nearest-neighbour `upsample`, the blocks of the
#   coarse stage often stay visible). Blurring the gradient removes its high-frequency part at every
#   step. Both keep the pixel-level noise of plain ascent out: the class images become colour
#   layouts typical of the class (green for frog and deer, blue for ship and airplane), with little
#   of the speckle of Part D's first grid, at a similar score.
#
# === BEGIN MARK SCHEME ===
# 1 point: a unit is described as a template (its weight pattern) AND the class image as a
# combination of the units that support the class, AND coarse-to-fine/blurred gradients are said to
# suppress high-frequency detail (large structure first). Half a point for two of the three.
# === END MARK SCHEME ===
# ### END SOLUTION
