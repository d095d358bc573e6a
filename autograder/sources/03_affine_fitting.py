# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Notebook 3 — Fitting an affine transform by gradient descent
#
# Earlier in the course you may have fitted an affine transform to point correspondences with
# RANSAC. Here you solve the same problem a different way: write the loss and its gradient by
# hand, then let gradient descent find the transform.
#
# | question | what | points |
# | --- | --- | --- |
# | Q3.1 | `affine_transform_loss`: loss, prediction and gradients (no Python loops) | 6 |
# | Q3.2 | `fit_affine_transform`: plain gradient descent | 5 |
# | Q3.3 | `choose_hyperparameters`: reach a loss below $10^{-4}$ | 3 |
# | Q3.4 | written: how you chose the hyperparameters | 2 |
# | Q3.5 | written: gradient descent versus RANSAC | 4 |
# | | **total** | **20** |
#
# Q3.1–Q3.3 are autograded: each has a test cell with public checks (run it while you work) and
# hidden checks that run when your notebook is graded. Q3.4 and Q3.5 are read by a person.

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

from hwlib.affine import (FitLogger, affine_fit_explorer, load_correspondences, make_fit_animation,
                          plot_fit, plot_fit_losses, show_animation)
from hwlib.checks import expect_close, expect_gradcheck, expect_true, passed, run
from hwlib.gradcheck import CheckRow, GradCheckReport, numeric_gradient_array, rel_error
from hwlib.runtime import is_autograding

# %matplotlib inline
np.set_printoptions(precision=4, suppress=True)

#: Figures that must be files (the loss plot and the GIF) go here, next to this notebook.
FIGURES = Path("figures")

# %% [markdown]
# ## The problem
#
# We have $N$ pairs of 2-D points $p_i \leftrightarrow p'_i$, where $p_i = (x_i, y_i)$ and
# $p'_i = (x'_i, y'_i)$. We look for a $2\times 2$ matrix $S$ and a vector $t \in \mathbb{R}^2$ with
#
# $$p'_i \approx S\,p_i + t =
# \begin{pmatrix} S_{11} & S_{12} \\ S_{21} & S_{22} \end{pmatrix}
# \begin{pmatrix} x_i \\ y_i \end{pmatrix} + \begin{pmatrix} t_1 \\ t_2 \end{pmatrix}
# \quad\text{for every } i.$$
#
# "Approximately" is made precise by a loss: the mean, over the $N$ pairs, of the squared distance
# between where the transform sends $p_i$ and where $p'_i$ really is,
#
# $$L(S, t) = \frac{1}{N}\sum_{i=1}^{N} \big\lVert S\,p_i + t - p'_i \big\rVert^2 .$$
#
# Six numbers (four in $S$, two in $t$) describe the transform, and we find them by gradient descent
# on $L$: start somewhere, compute $\partial L/\partial S$ and $\partial L/\partial t$, take a small
# step downhill, repeat.
#
# The data: $N = 200$ points $p_i$ sampled inside the letter **F** (a lopsided shape, so that a
# rotation, a shear or a mirror image are easy to spot), and their images $p'_i$ under an unknown
# affine transform, with a little noise added. Because of that noise no transform fits perfectly;
# the best one reaches a loss of about $1.6\times10^{-5}$. Your goal is a loss **below $10^{-4}$**.
#
# Below, each arrow runs from a point $p_i$ to its partner $p'_i$ (one arrow in eight is drawn).

# %% nbgrader={"grade": false, "grade_id": "show_data", "locked": true, "schema_version": 3, "solution": false}
P, P_prime = load_correspondences()
print(f"P: {P.shape} {P.dtype}   P_prime: {P_prime.shape} {P_prime.dtype}")

fig, ax = plt.subplots(figsize=(5.5, 5.5), layout="constrained")
ax.scatter(P[:, 0], P[:, 1], s=12, color="tab:orange", label="points $p_i$")
ax.scatter(P_prime[:, 0], P_prime[:, 1], s=30, facecolors="none", edgecolors="tab:blue",
           label="partners $p'_i$")
shown = slice(None, None, 8)
ax.quiver(P[shown, 0], P[shown, 1], *(P_prime[shown] - P[shown]).T, angles="xy", scale_units="xy",
          scale=1, width=0.004, color="0.45", alpha=0.8)
ax.set_aspect("equal")
ax.grid(True, alpha=0.25)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title("Correspondences $p_i \\to p'_i$")
ax.legend(loc="lower right");

# %% nbgrader={"grade": false, "grade_id": "test_helpers", "locked": true, "schema_version": 3, "solution": false}
# Helpers for the test cells below; you do not need to read them.
import dis
import types
import warnings

#: The worked example of Q3.1 (N = 2 points), small enough to do by hand.
EXAMPLE = {"P": np.array([[1.0, 0.0], [0.0, 1.0]]), "P_prime": np.array([[2.0, 1.0], [3.0, 5.0]]),
           "S": np.array([[1.0, 2.0], [3.0, 4.0]]), "t": np.array([1.0, -1.0])}
#: What affine_transform_loss(*EXAMPLE.values()) returns: (loss, prediction, grad_S, grad_t).
EXAMPLE_LOSS_OUTPUTS = (2.5, np.array([[2.0, 2.0], [3.0, 3.0]]), np.array([[0.0, 0.0], [1.0, -2.0]]),
                        np.array([0.0, -1.0]))
#: What fit_affine_transform(EXAMPLE["P"], EXAMPLE["P_prime"], 0.25, 1) returns: one step from S = I, t = 0.
EXAMPLE_ONE_STEP = (np.array([[1.25, 0.75], [0.25, 2.0]]), np.array([1.0, 1.25]))

#: Opcodes of jump instructions (a loop jumps backwards); dis.hasjump exists from Python 3.13 on.
JUMP_OPCODES = frozenset(dis.hasjrel) | frozenset(dis.hasjabs) | frozenset(getattr(dis, "hasjump", ()))


def python_loops(code: types.CodeType) -> list[str]:
    """Loops (for, while, comprehensions) in compiled code, as 'line k of the function: OPNAME' strings."""
    found, line = [], code.co_firstlineno
    for instruction in dis.get_instructions(code):
        line = getattr(instruction, "line_number", None) or instruction.starts_line or line
        backward = (instruction.opcode in JUMP_OPCODES and isinstance(instruction.argval, int)
                    and instruction.argval < instruction.offset and "NO_INTERRUPT" not in instruction.opname)
        if instruction.opname == "FOR_ITER" or backward:
            found.append(f"line {line - code.co_firstlineno + 1} of the function: {instruction.opname}")
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found += python_loops(constant)
    return found


def _returns(fn, args: tuple, expected: tuple) -> bool:
    """True when fn(*args) returns values close to ``expected`` (same shapes) and leaves args unchanged."""
    copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            got = fn(*copies)
        return (all(not isinstance(a, np.ndarray) or np.array_equal(a, c) for a, c in zip(args, copies))
                and len(got) == len(expected)
                and all(np.shape(g) == np.shape(e) and np.allclose(g, e) for g, e in zip(got, expected)))
    except Exception:
        return False


def loss_is_ready() -> bool:
    """True when affine_transform_loss reproduces the worked example (later tests rely on it)."""
    return _returns(affine_transform_loss, tuple(EXAMPLE.values()), EXAMPLE_LOSS_OUTPUTS)


def fit_is_ready() -> bool:
    """True when fit_affine_transform gets zero steps and one step of the worked example right."""
    P_example, P_prime_example = EXAMPLE["P"], EXAMPLE["P_prime"]
    return (_returns(fit_affine_transform, (P_example, P_prime_example, 0.25, 0), (np.eye(2), np.zeros(2)))
            and _returns(fit_affine_transform, (P_example, P_prime_example, 0.25, 1), EXAMPLE_ONE_STEP))


# %% [markdown]
# ## Q3.1 — `affine_transform_loss` (6 points)
#
# **Matrix form.** Store the points as rows: `P` and `P_prime` have shape $(N, 2)$. Row $i$ of
# the prediction $\hat P$ must be $S\,p_i + t$. Careful: $S$ multiplies a *column* vector $p_i$,
# but here the points are *rows*, and $(S\,p_i)^\top = p_i^\top S^\top$, so
# $\hat P = P\,S^\top + t$, where adding `t` of shape $(2,)$ to an $(N, 2)$ array adds it to every
# row (broadcasting).
#
# With the residuals $R = \hat P - P'$ (shape $(N, 2)$, $\hat P$ the prediction), the loss is the
# sum of $R_{ic}^2$ over **both** coordinates $c$ and all points $i$, divided by $N$ — not by
# $2N$: each term of $L$ is a full squared distance.
#
# **Gradients.** Work backwards as in a computational graph:
#
# 1. $\partial L / \partial R = \tfrac{2}{N} R$ (shape $(N, 2)$).
# 2. $\hat P = P S^\top + t$ is a fully connected layer with input $P$, weight $S^\top$ and bias
#    $t$. The rules you derived for `fc_backward` give the gradient for the weight and for the bias;
#    remember that you need the gradient for $S$, not for $S^\top$.
#
# A gradient always has the shape of what it is the gradient of: `grad_S` is $(2, 2)$, `grad_t`
# is $(2,)$.
#
# **Worked example** (`EXAMPLE` in the helper cell above; do it by hand once): $p_1 = (1, 0)$,
# $p_2 = (0, 1)$, $p'_1 = (2, 1)$, $p'_2 = (3, 5)$, $S = \begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}$,
# $t = (1, -1)$. The predictions are $(2, 2)$ and $(3, 3)$, the residuals $(0, 1)$ and $(0, -2)$, so
# $L = (1 + 4)/2 = 2.5$, `grad_S` $= \begin{pmatrix} 0 & 0 \\ 1 & -2 \end{pmatrix}$ and
# `grad_t` $= (0, -1)$. (If you get the transpose of `grad_S`, look at the order of your product.)
#
# **No Python loops.** Use whole-array numpy operations only: no `for`, no `while`, no
# comprehensions. A loop over points is hundreds of times slower, and the hidden tests use an input
# with $N = 100{,}000$ points and look for loops in your function.
#
# **Done** when the test cell prints ✓: the worked example matches (you can check it by hand), the
# numeric gradient check gives a max relative error below $10^{-9}$ for `grad_S` and `grad_t`,
# and no loops are found.

# %% nbgrader={"grade": false, "grade_id": "affine_transform_loss_answer", "locked": false, "schema_version": 3, "solution": true}
def affine_transform_loss(P: np.ndarray, P_prime: np.ndarray, S: np.ndarray, t: np.ndarray):
    """Mean squared distance between S p_i + t and p'_i, and its gradients.

    Inputs:
        P: (N, 2) points p_i, one per row.
        P_prime: (N, 2) their partners p'_i.
        S: (2, 2) matrix of the transform.
        t: (2,) translation.

    Returns a tuple (loss, prediction, grad_S, grad_t):
        loss: float, (1/N) * sum_i ||S p_i + t - p'_i||^2.
        prediction: (N, 2), row i is S p_i + t.
        grad_S: (2, 2), dloss/dS.
        grad_t: (2,), dloss/dt.

    No Python loops; do not modify the inputs.
    """
    ### BEGIN SOLUTION
    N = P.shape[0]
    prediction = P @ S.T + t
    residual = prediction - P_prime
    loss = float(np.sum(residual ** 2)) / N
    grad_prediction = 2.0 * residual / N
    grad_S = grad_prediction.T @ P
    grad_t = np.sum(grad_prediction, axis=0)
    ### END SOLUTION
    return loss, prediction, grad_S, grad_t


# %% nbgrader={"grade": true, "grade_id": "affine_transform_loss_tests", "locked": true, "points": 6, "schema_version": 3, "solution": false}
# 1. The worked example (N = 2), which you can check by hand.
loss, prediction, grad_S, grad_t = run("affine_transform_loss", affine_transform_loss, *EXAMPLE.values())
expected_loss, expected_prediction, expected_grad_S, expected_grad_t = EXAMPLE_LOSS_OUTPUTS
expect_close("prediction", prediction, expected_prediction, inputs=EXAMPLE,
             hint="row i must be S p_i + t: (1,0) -> first column of S plus t. Which transpose gives that?")
expect_close("loss", loss, expected_loss, inputs=EXAMPLE,
             hint="residuals (0,1) and (0,-2): squared distances 1 and 4, summed over both coordinates, divided by N = 2")
expect_close("grad_S", grad_S, expected_grad_S, inputs=EXAMPLE,
             hint="grad_S[a, b] = sum_i dL/dR[i, a] * P[i, b]; check the order of your matrix product")
expect_close("grad_t", grad_t, expected_grad_t, inputs=EXAMPLE,
             hint="t is added to every row, so its gradient sums dL/dR over the points (axis 0)")

# 2. Numeric gradient check on random data (float64). The loss is quadratic in S and t, so central
#    differences are exact up to rounding; a step of 1e-4 keeps that rounding far below 1e-9.
rng = np.random.default_rng(442)
P_check, P_prime_check = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
S_check, t_check = rng.standard_normal((2, 2)), rng.standard_normal(2)
_, _, grad_S, grad_t = run("affine_transform_loss", affine_transform_loss, P_check, P_prime_check, S_check, t_check)
numeric_S = numeric_gradient_array(lambda S: affine_transform_loss(P_check, P_prime_check, S, t_check)[0],
                                   S_check.copy(), h=1e-4)
numeric_t = numeric_gradient_array(lambda t: affine_transform_loss(P_check, P_prime_check, S_check, t)[0],
                                   t_check.copy(), h=1e-4)
expect_true("grad shapes", np.shape(grad_S) == (2, 2) and np.shape(grad_t) == (2,),
            f"grad_S has shape {np.shape(grad_S)} and grad_t {np.shape(grad_t)}; expected (2, 2) and (2,).",
            hint="a gradient has the shape of its variable")
report = GradCheckReport("gradient check: affine_transform_loss (N = 6)",
                         [CheckRow("grad_S", rel_error(grad_S, numeric_S), 1e-9),
                          CheckRow("grad_t", rel_error(grad_t, numeric_t), 1e-9)])
print(report)
expect_gradcheck(report, hint="your gradients do not match your loss: recheck the 2/N factor and the chain rule")

# 3. No Python loops.
loops = python_loops(affine_transform_loss.__code__)
expect_true("no loops", not loops, "found Python loops: " + "; ".join(loops),
            hint="replace loops over points with whole-array operations (@, broadcasting, np.sum(..., axis=...))")
passed("affine_transform_loss")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("affine", "affine_transform_loss")
### END HIDDEN TESTS

# %% [markdown]
# ## Q3.2 — `fit_affine_transform` (5 points)
#
# Plain gradient descent with a fixed learning rate $\eta$:
#
# 1. start from the identity transform: $S = I$ (the $2\times2$ identity), $t = 0$;
# 2. repeat `steps` times, for `step` $= 0, 1, \dots,$ `steps` $- 1$:
#    * compute the loss and the gradients **at the current** $S, t$ with your
#      `affine_transform_loss`;
#    * if a `logger` was given, call `logger.log(step, loss, S, t)` — *before* updating, so the
#      logged loss belongs to the logged $S, t$;
#    * update $S \leftarrow S - \eta\,\partial L/\partial S$ and $t \leftarrow t - \eta\,\partial L/\partial t$;
# 3. return the final `(S, t)`.
#
# Use the `learning_rate` and `steps` you are given (the tests call your function with many
# different values), and do not modify `P` or `P_prime`. The logger is a `FitLogger` from
# `hwlib.affine`; it keeps a copy of every `(step, loss, S, t)` for the plots further down.
#
# **Done** when the test cell prints ✓: zero steps return the identity, one step matches a step done
# by hand, and a long run on noise-free data recovers the transform that made it.

# %% nbgrader={"grade": false, "grade_id": "fit_affine_transform_answer", "locked": false, "schema_version": 3, "solution": true}
def fit_affine_transform(P: np.ndarray, P_prime: np.ndarray, learning_rate: float, steps: int,
                         logger: FitLogger | None = None):
    """Fit p' ~= S p + t by gradient descent from S = I, t = 0.

    Inputs:
        P: (N, 2) points; P_prime: (N, 2) their partners.
        learning_rate: step size of gradient descent.
        steps: number of gradient-descent steps.
        logger: optional; when given, call logger.log(step, loss, S, t) once per step,
            with the loss at the current S, t, before updating them.

    Returns (S, t): the final (2, 2) matrix and (2,) translation.
    """
    ### BEGIN SOLUTION
    S = np.eye(2)
    t = np.zeros(2)
    for step in range(steps):
        loss, _, grad_S, grad_t = affine_transform_loss(P, P_prime, S, t)
        if logger is not None:
            logger.log(step, loss, S, t)
        S = S - learning_rate * grad_S
        t = t - learning_rate * grad_t
    ### END SOLUTION
    return S, t


# %% nbgrader={"grade": true, "grade_id": "fit_affine_transform_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
if not loss_is_ready():
    print("Skipped the public checks: they run your fit, which needs a working affine_transform_loss.\n"
          "Make the Q3.1 tests pass first. (The hidden tests of this question use a correct loss,\n"
          "so a mistake in Q3.1 is not counted twice.)")
else:
    example = {"P": EXAMPLE["P"], "P_prime": EXAMPLE["P_prime"]}

    # 1. Zero steps: the starting point.
    S, t = run("fit_affine_transform", fit_affine_transform, *example.values(), 0.25, 0)
    expect_close("S after 0 steps", S, np.eye(2), inputs=example, hint="start from S = I (np.eye(2))")
    expect_close("t after 0 steps", t, np.zeros(2), inputs=example, hint="start from t = 0")

    # 2. One step by hand: at S = I, t = 0 the residuals are (-1, -1) and (-3, -4), so (N = 2)
    #    grad_S = [[-1, -3], [-1, -4]] and grad_t = [-4, -5]; a step of 0.25 moves against them.
    S, t = run("fit_affine_transform", fit_affine_transform, *example.values(), 0.25, 1)
    expected_S, expected_t = EXAMPLE_ONE_STEP
    expect_close("S after 1 step (learning rate 0.25)", S, expected_S, inputs=example,
                 hint="S = S - learning_rate * grad_S, with the learning_rate argument")
    expect_close("t after 1 step (learning rate 0.25)", t, expected_t, inputs=example,
                 hint="t = t - learning_rate * grad_t")

    # 3. Noise-free data made with a known transform: a long run must recover it.
    rng = np.random.default_rng(3)
    S_true, t_true = np.array([[0.8, -0.5], [0.3, 1.2]]), np.array([0.5, -1.0])
    P_clean = rng.uniform(-1, 1, size=(40, 2))
    P_prime_clean = P_clean @ S_true.T + t_true
    logger = FitLogger()
    S, t = run("fit_affine_transform", fit_affine_transform, P_clean, P_prime_clean, 0.4, 1500, logger=logger)
    expect_close("S after 1500 steps on noise-free data", S, S_true, atol=1e-6,
                 hint="the loss is convex: with a stable learning rate, gradient descent converges to the true S")
    expect_close("t after 1500 steps on noise-free data", t, t_true, atol=1e-6)
    expect_true("logger", len(logger.steps) == 1500,
                f"the logger received {len(logger.steps)} calls; expected one per step (1500).",
                hint="call logger.log(step, loss, S, t) inside the loop when logger is not None")
    first_loss = affine_transform_loss(P_clean, P_prime_clean, np.eye(2), np.zeros(2))[0]
    expect_close("first logged loss (at S = I, t = 0)", logger.losses[0], first_loss,
                 hint="log the loss computed at the current S, t, before the update")
    expect_true("logged losses", bool(np.all(np.diff(logger.losses[:50]) < 0)),
                "the logged losses do not decrease during the first 50 steps.",
                hint="step against the gradient: S - learning_rate * grad_S")
    passed("fit_affine_transform")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("affine", "fit_affine_transform")
### END HIDDEN TESTS

# %% [markdown]
# ## Q3.3 — Choose the hyperparameters (3 points)
#
# Gradient descent has two knobs here: the **learning rate** $\eta$ and the **number of steps**.
# Too small a learning rate crawls; too large a one overshoots and the loss blows up. Find settings
# that bring the loss on the course data **below $10^{-4}$** — quickly: the target is well under 5 s
# of run time (good settings need a few milliseconds).
#
# Experiment in the cell below (it is yours to edit; it is not graded), or with the explorer
# further down. Then write your choice into `choose_hyperparameters`.
#
# **Done** when the test cell prints ✓: with your learning rate and number of steps (an integer
# from 1 to 5,000), gradient descent from the identity ends with a loss below $10^{-4}$.

# %%
LEARNING_RATE = 0.01
STEPS = 100

trial_logger = FitLogger()
start = time.perf_counter()
S_trial, t_trial = fit_affine_transform(P, P_prime, LEARNING_RATE, STEPS, logger=trial_logger)
milliseconds = 1000 * (time.perf_counter() - start)
trial_loss = affine_transform_loss(P, P_prime, S_trial, t_trial)[0]
print(f"learning rate {LEARNING_RATE:g}, {STEPS} steps: final loss {trial_loss:.3g} "
      f"({'below' if trial_loss < 1e-4 else 'NOT below'} the 1e-4 target), {milliseconds:.1f} ms")
plot_fit_losses(trial_logger);


# %% nbgrader={"grade": false, "grade_id": "choose_hyperparameters_answer", "locked": false, "schema_version": 3, "solution": true}
def choose_hyperparameters() -> dict:
    """Your settings for fitting the course data with fit_affine_transform.

    Returns a dict {"learning_rate": float > 0, "steps": int from 1 to 5000}.
    """
    ### BEGIN SOLUTION
    return {"learning_rate": 0.5, "steps": 100}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "choose_hyperparameters_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false}
chosen = run("choose_hyperparameters", choose_hyperparameters)
expect_true("choose_hyperparameters", isinstance(chosen, dict) and {"learning_rate", "steps"} <= set(chosen),
            f"returned {chosen!r}; expected a dict with keys 'learning_rate' and 'steps'.")
expect_true("steps", isinstance(chosen["steps"], (int, np.integer)) and 1 <= chosen["steps"] <= 5000,
            f"steps = {chosen['steps']!r}; expected an integer from 1 to 5000.", hint="write e.g. 300, not 3e2")
expect_true("learning_rate", np.isfinite(chosen["learning_rate"]) and chosen["learning_rate"] > 0,
            f"learning_rate = {chosen['learning_rate']!r}; expected a positive number.")
if not (loss_is_ready() and fit_is_ready()):
    print("Skipped the final-loss check: it runs your fit, so Q3.1 and Q3.2 must pass their tests first.\n"
          "(The hidden test of this question uses a correct fit, so mistakes there are not counted twice.)")
else:
    start = time.perf_counter()
    S, t = run("fit_affine_transform", fit_affine_transform, P, P_prime, chosen["learning_rate"], chosen["steps"])
    seconds = time.perf_counter() - start
    final_loss = affine_transform_loss(P, P_prime, S, t)[0]
    print(f"learning rate {chosen['learning_rate']:g}, {chosen['steps']} steps: "
          f"final loss {final_loss:.3g} in {1000 * seconds:.1f} ms")
    expect_true("final loss", final_loss < 1e-4, f"the final loss is {final_loss:.3g}; expected below 1e-4.",
                hint="more steps, or a larger learning rate (until the loss starts to blow up)")
    passed("choose_hyperparameters")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("affine", "choose_hyperparameters")
### END HIDDEN TESTS

# %% [markdown]
# ## Your best fit
#
# The cell below runs your fit with your chosen settings, records every step, and reports the
# transform, the final loss and the wall time. It saves the loss curve to
# `figures/affine_fit_loss.png` and an animation of the fit to `figures/affine_fit.gif`, next to
# this notebook.

# %% nbgrader={"grade": false, "grade_id": "best_fit", "locked": true, "schema_version": 3, "solution": false}
best = choose_hyperparameters()
best_logger = FitLogger()
start = time.perf_counter()
S_best, t_best = fit_affine_transform(P, P_prime, best["learning_rate"], best["steps"], logger=best_logger)
seconds = time.perf_counter() - start
best_loss = affine_transform_loss(P, P_prime, S_best, t_best)[0]
print(f"learning rate {best['learning_rate']:g}, {best['steps']} steps, wall time {1000 * seconds:.1f} ms")
print(f"S =\n{S_best}\nt = {t_best}\nfinal loss = {best_loss:.3g} (target 1e-4)")
plot_fit_losses(best_logger, path=FIGURES / "affine_fit_loss.png");

# %% nbgrader={"grade": false, "grade_id": "best_fit_animation", "locked": true, "schema_version": 3, "solution": false}
# While autograding, 8 slower frames instead of 40: a frame costs about 0.08 CPU-s, and nothing here is graded.
frames, fps = (8, 3) if is_autograding() else (40, 10)
gif_path = make_fit_animation(best_logger, P, P_prime, FIGURES / "affine_fit.gif", fps=fps, max_frames=frames)
print(f"saved {gif_path}")
show_animation(gif_path)

# %% [markdown]
# ### Explore
#
# Move the sliders to rerun your `fit_affine_transform` with another learning rate (on a log
# scale: $-1$ means $0.1$) and number of steps. Look for the largest learning rate that still
# converges, and what happens just above it. (When the notebook runs without a person watching it,
# the explorer draws once with its default settings.)

# %% nbgrader={"grade": false, "grade_id": "explorer", "locked": true, "schema_version": 3, "solution": false}
affine_fit_explorer(fit_affine_transform, P, P_prime)

# %% [markdown]
# ### Q3.4 — *written*: how you chose the hyperparameters (2 points)
#
# In two or three sentences: which learning rate and number of steps did you settle on, what
# final loss and wall time did you get, and what happened with a much smaller and a much larger
# learning rate? Write your answer in the cell below.

# %% [markdown] nbgrader={"grade": true, "grade_id": "hyperparameters_written", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# *Model answer.* A learning rate of 0.5 with 100 steps reaches a loss of about $1.6\times10^{-5}$
# (close to the best possible for this noisy data) in a few milliseconds. With 0.01 the loss is
# still about $3\times10^{-2}$ after 100 steps, because each step is tiny; with a learning rate above
# roughly 0.93 the updates overshoot, the loss grows every step and ends as inf/nan. Between these,
# larger rates converge in fewer steps.
# === BEGIN MARK SCHEME ===
# 1 point for the settings with loss and time, 1 point for a correct description of too
# small (slow) and too large (divergence) learning rates.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q3.5 — *written*: gradient descent versus RANSAC (4 points)
#
# You have now seen two ways to fit an affine transform to correspondences: RANSAC, and gradient
# descent on the squared-error loss. In three or four sentences, give advantages and disadvantages
# of each. (The optional experiment below may give you ideas.) Write your answer in the cell below.

# %% [markdown] nbgrader={"grade": true, "grade_id": "ransac_written", "locked": false, "points": 4, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# *Model answer.* RANSAC fits minimal samples (three correspondences for an affine transform) and
# keeps the model with the most inliers, so it is robust to a large fraction of outliers, but it is
# random, needs an inlier threshold and enough iterations, and its raw estimate comes from only a
# few points (it should be refit on the inliers). Gradient descent on the squared loss uses every
# point, so it averages out noise and gives a precise fit on clean data, and the same recipe works
# for any differentiable model or loss. Its disadvantages: with the squared loss a few gross
# outliers pull the fit far off (their squared residuals dominate), it needs a well-chosen learning
# rate and number of steps, and for non-convex models it can stop in a local minimum. A robust loss
# (e.g. Huber) or RANSAC for the inlier set followed by gradient descent combines the strengths.
# === BEGIN MARK SCHEME ===
# 1 point each for a correct advantage and disadvantage of each method (4 in total);
# robustness to outliers versus use of all points should appear.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## Optional experiment: a few outliers (not graded)
#
# RANSAC was designed for correspondences with wrong matches. What do ten wrong matches out of
# 200 do to gradient descent on the squared loss? The cell below moves ten partners $p'_i$ to
# random places, refits with your settings, and compares with a fit on the 190 good pairs only
# (what RANSAC's inlier set would give you).

# %%
outlier_rng = np.random.default_rng(0)
outliers = outlier_rng.choice(len(P), size=10, replace=False)
P_prime_outliers = P_prime.copy()
P_prime_outliers[outliers] = outlier_rng.uniform(-1.5, 2.0, size=(10, 2))
inliers = np.setdiff1d(np.arange(len(P)), outliers)

S_out, t_out = fit_affine_transform(P, P_prime_outliers, best["learning_rate"], best["steps"])
S_in, t_in = fit_affine_transform(P[inliers], P_prime_outliers[inliers], best["learning_rate"], best["steps"])
for name, (S_fit, t_fit) in {"all 200 pairs (10 outliers)": (S_out, t_out),
                             "190 inliers only": (S_in, t_in)}.items():
    inlier_loss = affine_transform_loss(P[inliers], P_prime_outliers[inliers], S_fit, t_fit)[0]
    print(f"{name:<28} loss on the inliers {inlier_loss:.3g}   S = {S_fit.round(3).tolist()}   t = {t_fit.round(3)}")

fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
plot_fit(P, P_prime_outliers, S_out, t_out, ax=axes[0])
axes[0].set_title("squared loss, all pairs: outliers pull the fit")
plot_fit(P, P_prime_outliers, S_in, t_in, ax=axes[1])
axes[1].set_title("inliers only");
