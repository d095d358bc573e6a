# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Notebook 2 — Layers with a forward and a backward pass
#
# In notebook 1 every graph was one function that did its own forward and backward pass. That
# does not scale: change the loss or swap an activation and you rewrite the whole thing. Deep
# learning libraries split the work instead. Each building block (a *layer*) knows how to compute
# its output from its inputs, and how to turn the gradient of the loss with respect to its output
# into gradients with respect to its inputs. A network is then just a chain of such blocks.
#
# In this notebook you build the blocks that notebook 4 stacks into neural networks:
#
# | question | what | points |
# | --- | --- | --- |
# | Q2.1 | `fc_forward`: fully connected layer, inputs of any shape | 3 |
# | Q2.2 | written: derive the backward pass of the fully connected layer | 3 |
# | Q2.3 | `fc_backward` | 4 |
# | Q2.4 | `relu_forward` | 1 |
# | Q2.5 | written: derive the backward pass of ReLU | 1 |
# | Q2.6 | `relu_backward` | 2 |
# | Q2.7 | `leaky_relu_forward` | 1 |
# | Q2.8 | `leaky_relu_backward` | 2 |
# | Q2.9 | `sigmoid_forward` (numerically stable) | 2 |
# | Q2.10 | `sigmoid_backward` | 2 |
# | Q2.11 | `tanh_forward` | 1 |
# | Q2.12 | `tanh_backward` | 1 |
# | Q2.13 | `elu_forward` (exponential linear unit) | 1 |
# | Q2.14 | `elu_backward` | 2 |
# | Q2.15 | written: which activations make gradients vanish? | 3 |
# | Q2.16 | `l2_loss` (mean squared error) | 2 |
# | Q2.17 | `bce_loss` (binary cross-entropy) | 3 |
# | Q2.18 | written: why softmax is a soft argmax | 1 |
# | Q2.19 | written: derive the gradient of the softmax loss | 3 |
# | Q2.20 | `softmax_loss` (numerically stable) | 4 |
# | Q2.21 | written: derive the gradient of the L2 penalty | 1 |
# | Q2.22 | `l2_regularization` | 2 |
# | Q2.23 | `linear_regression_step`: three blocks chained | 2 |
# | Q2.24–Q2.26 | written: the Perceptron, Adaline and logistic-regression losses from their update rule | 12 |
# | | **total** (35 autograded + 24 written) | **59** |
#
# Every question marked *written* is read by a person; the others are autograded. Each autograded
# question has a test cell with public checks you can run while you work; hidden checks with other
# inputs (other shapes, batch size 1, exact zeros, huge scores, ...) run when your notebook is graded.
#
# Rules for all questions: use numpy only (no PyTorch, no autograd), no Python loops over examples,
# and **never modify an input array in place** — build new arrays instead.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import os, sys
if "google.colab" in sys.modules:  # Google Colab: mount Drive, install hwlib, work in My Drive/backprop (see README)
    if not os.environ.get("HWLIB_COLAB_DRIVE"):  # set only by the course's Colab emulation test
        from google.colab import drive; drive.mount("/content/drive")
    %run {os.environ.get("HWLIB_COLAB_DRIVE", "/content/drive")}/MyDrive/backprop/colab_setup.py
import hwlib.unanswered; hwlib.unanswered.install()  # "Qn.m is not answered yet"; Run All goes past those cells
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np

from hwlib.checks import expect_close, expect_gradcheck, expect_true, passed, run
from hwlib.gradcheck import check_layer, check_loss, numeric_gradient_array
from hwlib.graphdraw import CompGraph
from hwlib.plots import plot_curves, plot_functions_and_derivatives

# %matplotlib inline
np.set_printoptions(precision=4, suppress=True)

#: Questions whose public checks passed in this session (Q2.23 needs its building blocks to work).
public_checks_passed: set[str] = set()

# %% [markdown]
# ## The modular API
#
# Every layer in this notebook is a **pair of functions**:
#
# | function | call | returns |
# | --- | --- | --- |
# | forward | `out, cache = layer_forward(x, ...)` | the output, and a `cache`: whatever the backward pass will need (inputs, intermediate values) |
# | backward | `grads = layer_backward(grad_out, cache)` | one gradient per input of the forward pass, **each with the shape of that input** |
#
# `grad_out` is the *upstream gradient* $\partial L/\partial\,\text{out}$: how the final loss $L$
# changes when each entry of `out` changes. It has the shape of `out`. The backward pass applies
# the chain rule locally and returns the *downstream gradients* $\partial L/\partial x$,
# $\partial L/\partial w$, ... The layer never needs to know what comes after it.
#
# A **loss function** sits at the end of the chain and has no upstream gradient (the derivative of
# $L$ with respect to itself is 1), so it does both steps at once:
# `loss, grad_x = loss_fn(x, target)` returns the scalar loss and $\partial L/\partial x$.
#
# Here is a two-layer classifier drawn as a graph of such blocks. The forward pass runs left to
# right, storing a cache in every block; the backward pass then runs right to left, each block
# turning the gradient of its output into gradients of its inputs.

# %% nbgrader={"grade": false, "grade_id": "api_graph", "locked": true, "schema_version": 3, "solution": false}
two_layer_net = CompGraph("a two-layer classifier built from blocks")
two_layer_net.op("fc", ["x", "W1", "b1"], "h")
two_layer_net.op("ReLU", ["h"], "a")
two_layer_net.op("fc", ["a", "W2", "b2"], "scores")
two_layer_net.op("softmax loss", ["scores", "y"], "L")
two_layer_net.draw()

# %% [markdown]
# In code, forward and backward through that graph take seven lines:
#
# ```python
# h, cache1 = fc_forward(x, W1, b1)
# a, cache2 = relu_forward(h)
# scores, cache3 = fc_forward(a, W2, b2)
# loss, grad_scores = softmax_loss(scores, y)
# grad_a, grad_W2, grad_b2 = fc_backward(grad_scores, cache3)
# grad_h = relu_backward(grad_a, cache2)
# grad_x, grad_W1, grad_b1 = fc_backward(grad_h, cache1)
# ```
#
# ### How your backward passes are checked
#
# A **numeric gradient** perturbs one input entry at a time by a small step $h$ and measures the
# change of the output with a central difference, $\frac{f(x+h) - f(x-h)}{2h}$. `hwlib.gradcheck`
# does this for every entry (`check_layer` for layers, `check_loss` for losses) and compares with
# your analytic gradient through the **maximum relative error**
# $\max_i \frac{|a_i - n_i|}{\max(10^{-8},\, |a_i| + |n_i|)}$.
# All checks run in float64, and a correct backward pass stays **below $10^{-9}$**; a wrong one is
# usually above $10^{-3}$.
# Numeric gradients are for *checking* your work: an answer that computes its gradient with the
# `hwlib.gradcheck` helpers, by finite differences or by calling its own forward pass scores 0 for
# that question (the autograder reads your code and times large hidden cases).
#
# **Choosing the step $h$.** A central difference has two kinds of error. The *truncation* error
# grows like $h^2$ times the third derivative, so it is exactly zero for blocks that are linear or
# quadratic in each input entry (fc, ReLU away from 0, mean squared error, L2 penalty). The
# *rounding* error grows like $\varepsilon/h$ ($\varepsilon \approx 2.2\times10^{-16}$ in float64),
# because we subtract two nearly equal numbers. So the checks below use $h = 10^{-3}$ for the linear
# and quadratic blocks, and a smaller $h$ ($10^{-5}$, or $3\times10^{-6}$ for the strongly curved
# BCE) for the curved ones, where the two errors balance. If you run your own checks, do the same.
#
# One caveat: a gradient check only tells you that your backward pass is the derivative of *your*
# forward pass. A wrong forward pass with a matching backward pass passes it. That is why the
# forward functions have their own tests with known values, and why the gradient check of a
# backward pass waits until its forward pass passes those tests.
#
# A numeric gradient is meaningless right at a kink (ReLU at $x = 0$): the two sides disagree.
# The checks below use inputs at least $0.1$ away from kinks.

# %% [markdown]
# ## Part A — the fully connected layer
#
# ### Q2.1 — `fc_forward` (3 points)
#
# A fully connected (also: affine, linear) layer maps each example to $M$ numbers by a matrix
# product plus a bias. The batch `x` holds $N$ examples of **any shape**: `x.shape` is
# $(N, d_1, \dots, d_k)$ — a batch of vectors $(N, D)$, of gray images $(N, H, W)$, of colour
# images $(N, 3, H, W)$, ... The layer first flattens every example into a row of length
# $D = d_1 d_2 \cdots d_k$, giving a matrix $X$ of shape $(N, D)$, and then computes
#
# $$\text{out} = X\,W + b, \qquad W \in \mathbb{R}^{D \times M},\ b \in \mathbb{R}^{M},\ \text{out} \in \mathbb{R}^{N\times M},$$
#
# where $b$ is added to every row (numpy broadcasting does that for you). Row $i$ of the output is
# $x_i W + b$ for the flattened example $x_i$. Shapes are therefore $(N, D)\times(D, M) \to (N, M)$.
#
# `x.reshape(N, -1)` flattens everything after the first axis, whatever the number of axes.
#
# **Done** when the test cell prints ✓: two small cases with values you can check by hand, one of
# them with 3-D input.

# %% nbgrader={"grade": false, "grade_id": "fc_forward_answer", "locked": false, "schema_version": 3, "solution": true}
def fc_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Fully connected layer: flatten each example to a row, then multiply by w and add b.

    Inputs:
        x: (N, d1, ..., dk) batch of N examples.
        w: (D, M) weights, where D = d1 * ... * dk.
        b: (M,) bias.

    Returns:
        out: (N, M) output.
        cache: whatever fc_backward needs (for example the tuple (x, w, b)).
    """
    ### BEGIN SOLUTION
    x_flat = x.reshape(x.shape[0], -1)
    out = x_flat @ w + b
    cache = (x, w, b)
    ### END SOLUTION
    return out, cache


# %% nbgrader={"grade": true, "grade_id": "fc_forward_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# 1. A batch of two vectors: out = x @ w + b, easy to check by hand.
x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]])
w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
b = np.array([0.5, -0.5])
out, _ = run("fc_forward", fc_forward, x, w, b)
expect_close("fc_forward output for x of shape (2, 3)", out, [[4.5, -1.5], [1.5, -2.5]],
             inputs={"x": x, "w": w, "b": b}, hint="out = x @ w + b, with b added to every row")

# 2. A batch of two 2x2 "images": each is flattened to a row of length 4 first.
x = np.arange(8.0).reshape(2, 2, 2)
w = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
b = np.array([0.0, 0.0, 1.0])
out, _ = run("fc_forward", fc_forward, x, w, b)
expect_close("fc_forward output for x of shape (2, 2, 2)", out, [[3.0, 4.0, 6.0], [11.0, 12.0, 14.0]],
             inputs={"x": x, "w": w, "b": b},
             hint="flatten each example first: x.reshape(N, -1) has shape (N, D) for any number of axes")
passed("fc_forward")
public_checks_passed.add("fc_forward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "fc_forward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.2 — *written*: derive the backward pass of the fully connected layer (3 points)
#
# Write $G = \partial L/\partial\,\text{out}$ for the upstream gradient, shape $(N, M)$, and $X$ for
# the flattened input, shape $(N, D)$, so that $\text{out}_{ij} = \sum_d X_{id} W_{dj} + b_j$.
# Starting from this sum and the chain rule **entry by entry**, derive $\partial L/\partial X_{id}$,
# $\partial L/\partial W_{dj}$ and $\partial L/\partial b_j$, then collect each result into a matrix
# expression in $G$, $X$ and $W$ and check its shape. Write your derivation in the cell below.

# %% [markdown] nbgrader={"grade": true, "grade_id": "fc_backward_derivation_written", "locked": false, "points": 3, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# By the chain rule, $\frac{\partial L}{\partial\theta} = \sum_{i,j}\frac{\partial L}{\partial\,\text{out}_{ij}}
# \frac{\partial\,\text{out}_{ij}}{\partial\theta} = \sum_{i,j} G_{ij}\frac{\partial\,\text{out}_{ij}}{\partial\theta}$.
#
# * $\partial\,\text{out}_{i'j}/\partial X_{id} = W_{dj}$ if $i' = i$, else 0, so
#   $\frac{\partial L}{\partial X_{id}} = \sum_j G_{ij}W_{dj} = (GW^\top)_{id}$: $\partial L/\partial X = GW^\top$,
#   $(N, M)(M, D)\to(N, D)$, then reshaped to the original shape of `x`.
# * $\partial\,\text{out}_{ij'}/\partial W_{dj} = X_{id}$ if $j' = j$, else 0, so
#   $\frac{\partial L}{\partial W_{dj}} = \sum_i X_{id}G_{ij} = (X^\top G)_{dj}$: $\partial L/\partial W = X^\top G$,
#   $(D, N)(N, M)\to(D, M)$.
# * $\partial\,\text{out}_{ij'}/\partial b_j = 1$ if $j' = j$, so $\frac{\partial L}{\partial b_j} = \sum_i G_{ij}$:
#   the column sums of $G$, shape $(M,)$.
#
# === BEGIN MARK SCHEME ===
# 1 point per parameter: the entry-wise chain rule with the right partial derivative (½) and the
# matrix form with a matching shape (½). A result stated without the entry-wise step gets ½ at most.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q2.3 — `fc_backward` (4 points)
#
# Implement the three gradients you derived in Q2.2, without loops (matrix products and sums).
#
# A quick sanity check that catches most mistakes: every gradient has the shape of the thing it is
# the gradient of. In particular `grad_x` must come back in **x's original shape**
# $(N, d_1, \dots, d_k)$, not the flattened $(N, D)$.
#
# **Skipping what nobody needs.** In a network, the first layer's input is the data itself. Nothing
# is learned about the data, so nobody uses $\partial L/\partial X$ there, yet $G W^{\top}$ costs as
# much as $X^{\top} G$: a third of that layer's work. So `fc_backward` takes `need_grad_x=True`;
# called with `need_grad_x=False` it skips that product and returns `None` in its place. Notebook 4
# uses it for the first layer (PyTorch does the same for inputs that do not require a gradient).
#
# **Done** when the test cell prints ✓: the three gradients have the right shapes, the gradient
# check on a 3-D input gives a max relative error below $10^{-9}$ for `grad_x`, `grad_w` and `grad_b`,
# and `need_grad_x=False` gives `None` with the same `grad_w` and `grad_b`.

# %% nbgrader={"grade": false, "grade_id": "fc_backward_answer", "locked": false, "schema_version": 3, "solution": true}
def fc_backward(grad_out: np.ndarray, cache: tuple, need_grad_x: bool = True
                ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Backward pass of fc_forward.

    Inputs:
        grad_out: (N, M) upstream gradient dL/dout.
        cache: what fc_forward returned as its cache.
        need_grad_x: False skips grad_x (returned as None), e.g. for a first layer whose input is data.

    Returns:
        grad_x: (N, d1, ..., dk), the shape of the original x; None when need_grad_x is False.
        grad_w: (D, M).
        grad_b: (M,).
    """
    ### BEGIN SOLUTION
    x, w, b = cache
    x_flat = x.reshape(x.shape[0], -1)
    grad_x = (grad_out @ w.T).reshape(x.shape) if need_grad_x else None
    grad_w = x_flat.T @ grad_out
    grad_b = grad_out.sum(axis=0)
    ### END SOLUTION
    return grad_x, grad_w, grad_b


# %% nbgrader={"grade": true, "grade_id": "fc_backward_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false}
# 1. Shapes: each gradient has the shape of its input (x is 3-D here). The cache comes from your
#    fc_forward, so these checks wait until fc_forward runs on this x (a mistake there is charged there).
rng = np.random.default_rng(0)
x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((12, 5)), rng.standard_normal(5)
grad_out = rng.standard_normal((2, 5))
try:
    _, cache = fc_forward(x.copy(), w.copy(), b.copy())
except Exception as error:
    cache = None
    print(f"fc_backward: checks skipped until fc_forward runs on x of shape (2, 3, 4) (it raised "
          f"{type(error).__name__}: {error}); see fc_forward's test cell.")
if cache is not None:
    grads = run("fc_backward", fc_backward, grad_out, cache)
    expect_true("fc_backward", isinstance(grads, tuple) and len(grads) == 3,
                f"expected a tuple (grad_x, grad_w, grad_b), got {type(grads).__name__}",
                hint="return grad_x, grad_w, grad_b")
    for name, grad, value in zip(("grad_x", "grad_w", "grad_b"), grads, (x, w, b)):
        expect_true("fc_backward", np.shape(grad) == value.shape,
                    f"{name} has shape {np.shape(grad)}, expected {value.shape} (the shape of {name[5:]})",
                    hint="reshape grad_x back to x.shape; sum grad_b over the batch axis (axis 0)")

# 2. Numeric gradient check, float64: max relative error below 1e-9 for every input.
#    (It differentiates your fc_forward numerically, so it waits until fc_forward passes its checks.)
if cache is not None and "fc_forward" in public_checks_passed:
    report = check_layer(fc_forward, fc_backward, {"x": x, "w": w, "b": b}, h=1e-3,
                         title="gradient check: fc (x of shape (2, 3, 4))")
    expect_gradcheck(report, hint="grad_x = G W^T reshaped to x's shape, grad_w = X^T G with X the flattened x, "
                                  "grad_b = G summed over the batch axis")
    # 3. need_grad_x=False: no grad_x, the same grad_w and grad_b.
    skipped = run("fc_backward", fc_backward, grad_out, cache, need_grad_x=False)
    expect_true("fc_backward", isinstance(skipped, tuple) and len(skipped) == 3 and skipped[0] is None,
                f"with need_grad_x=False expected (None, grad_w, grad_b), got {skipped!r:.120}",
                hint="compute grad_x only `if need_grad_x`, and return None in its place otherwise")
    expect_close("fc_backward grad_w with need_grad_x=False", skipped[1], grads[1],
                 hint="need_grad_x changes nothing but grad_x")
    expect_close("fc_backward grad_b with need_grad_x=False", skipped[2], grads[2],
                 hint="need_grad_x changes nothing but grad_x")
    passed("fc_backward")
    public_checks_passed.add("fc_backward")
else:
    print("gradient check skipped until fc_forward passes its public checks: it compares your fc_backward "
          "with numeric derivatives of your fc_forward.")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "fc_backward")
### END HIDDEN TESTS

# %% [markdown]
# ## Part B — activation functions
#
# Activations act **elementwise**: `out` has the shape of `x`, and $\text{out}_i$ depends on $x_i$
# only. So the backward pass is the upstream gradient times the local derivative, entry by entry:
#
# $$\frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial\,\text{out}_i}\; f'(x_i).$$
#
# Since the backward pass only receives `grad_out` and the cache, the forward pass must cache what
# $f'$ needs: the input $x$, or the output when $f'$ is easier to write in terms of it.
#
# ### Q2.4 — `relu_forward` (1 point)
#
# The rectified linear unit keeps positive values and zeroes the rest:
#
# $$\text{ReLU}(x) = \max(0, x) = \begin{cases} x & x \ge 0 \\ 0 & x < 0 \end{cases}$$
#
# Remember the rule: do not change `x` itself (`x[x < 0] = 0` would change the caller's array).
# `np.maximum` builds a new array.

# %% nbgrader={"grade": false, "grade_id": "relu_forward_answer", "locked": false, "schema_version": 3, "solution": true}
def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise ReLU.

    Inputs:
        x: array of any shape.

    Returns:
        out: max(0, x), the shape of x.
        cache: whatever relu_backward needs.
    """
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    cache = x
    ### END SOLUTION
    return out, cache


# %% nbgrader={"grade": true, "grade_id": "relu_forward_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -0.0]])
out, _ = run("relu_forward", relu_forward, x)
expect_close("relu_forward output", out, [[0.0, 0.0, 0.0], [0.5, 3.0, 0.0]], inputs={"x": x},
             hint="np.maximum(x, 0) keeps positive entries and replaces the others by 0")
passed("relu_forward")
public_checks_passed.add("relu_forward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "relu_forward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.5 — *written*: derive the backward pass of ReLU (1 point)
#
# Write the Jacobian $\partial\,\text{out}/\partial x$ of ReLU applied to a vector $x$ (which entries
# are nonzero, and what are they?), and use the chain rule
# $\frac{\partial L}{\partial x_i} = \sum_j \frac{\partial L}{\partial\,\text{out}_j}\frac{\partial\,\text{out}_j}{\partial x_i}$
# to get $\partial L/\partial x_i$ for $x_i > 0$ and $x_i < 0$. Answer in the cell below.

# %% [markdown] nbgrader={"grade": true, "grade_id": "relu_backward_derivation_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# $\text{out}_j = \max(0, x_j)$ depends on $x_j$ only, so the Jacobian is diagonal, with
# $\partial\,\text{out}_i/\partial x_i = 1$ for $x_i > 0$ and $0$ for $x_i < 0$. The chain-rule sum
# keeps the single term $j = i$: $\partial L/\partial x_i = \partial L/\partial\,\text{out}_i$ where
# $x_i > 0$ and $0$ where $x_i < 0$ (at $x_i = 0$ a convention, here 0).
#
# === BEGIN MARK SCHEME ===
# ½ point for the diagonal Jacobian with entries 1 / 0, ½ for the resulting masked upstream gradient.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q2.6 — `relu_backward` (2 points)
#
# Implement your result of Q2.5. At exactly $x = 0$ ReLU has a kink and no derivative; any value in
# $[0, 1]$ is a valid *subgradient*. We follow PyTorch and **use 0 at $x = 0$**. The tests include inputs that are exactly 0. Also do not write into `grad_out`: it belongs to the
# caller.
#
# **Done** when the test cell prints ✓: the zero convention holds and the gradient check (inputs
# away from 0) is below $10^{-9}$.

# %% nbgrader={"grade": false, "grade_id": "relu_backward_answer", "locked": false, "schema_version": 3, "solution": true}
def relu_backward(grad_out: np.ndarray, cache) -> np.ndarray:
    """Backward pass of relu_forward.

    Inputs:
        grad_out: upstream gradient, the shape of x.
        cache: what relu_forward returned as its cache.

    Returns:
        grad_x: the shape of x; grad_out where x > 0, and 0 where x <= 0.
    """
    ### BEGIN SOLUTION
    x = cache
    grad_x = grad_out * (x > 0)
    ### END SOLUTION
    return grad_x


# %% nbgrader={"grade": true, "grade_id": "relu_backward_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# 1. Negative, zero and positive inputs: the gradient passes only where x > 0.
x = np.array([[-1.5, 0.0, 2.0], [0.0, -0.3, 0.7]])
grad_out = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
_, cache = relu_forward(x.copy())
grad_x = run("relu_backward", relu_backward, grad_out, cache)
expect_close("relu_backward at negative, zero and positive inputs", grad_x, [[0.0, 0.0, 30.0], [0.0, 0.0, 60.0]],
             inputs={"x": x, "grad_out": grad_out},
             hint="pass grad_out through where x > 0 and send 0 elsewhere, also where x == 0 exactly")

# 2. Numeric gradient check on inputs at least 0.1 away from the kink (it differentiates your
#    relu_forward, so it waits until that passes its checks).
rng = np.random.default_rng(0)
x = rng.choice([-1.0, 1.0], size=(3, 4)) * rng.uniform(0.1, 2.0, size=(3, 4))
if "relu_forward" in public_checks_passed:
    expect_gradcheck(check_layer(relu_forward, relu_backward, {"x": x}, h=1e-3, title="gradient check: relu"),
                     hint="the local derivative is 1 where x > 0 and 0 elsewhere; multiply it by grad_out")
    passed("relu_backward")
else:
    print("gradient check skipped until relu_forward passes its public checks: it compares your relu_backward "
          "with numeric derivatives of your relu_forward.")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "relu_backward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.7 — `leaky_relu_forward` (1 point)
#
# ReLU sends no gradient at all through negative inputs. Leaky ReLU keeps a small slope $\alpha$
# there (`negative_slope`, default $0.1$ in this course, as in notebook 1; PyTorch's `nn.LeakyReLU`
# defaults to $0.01$):
#
# $$\text{LeakyReLU}(x) = \begin{cases} x & x \ge 0 \\ \alpha x & x < 0 \end{cases}$$
#
# Use the `negative_slope` you are given: the tests also call it with other values.

# %% nbgrader={"grade": false, "grade_id": "leaky_relu_forward_answer", "locked": false, "schema_version": 3, "solution": true}
def leaky_relu_forward(x: np.ndarray, negative_slope: float = 0.1) -> tuple[np.ndarray, tuple]:
    """Elementwise leaky ReLU.

    Inputs:
        x: array of any shape.
        negative_slope: the slope alpha used for x < 0.

    Returns:
        out: x where x >= 0, x scaled by negative_slope elsewhere; the shape of x.
        cache: whatever leaky_relu_backward needs (the slope too).
    """
    ### BEGIN SOLUTION
    out = np.where(x >= 0, x, negative_slope * x)
    cache = (x, negative_slope)
    ### END SOLUTION
    return out, cache


# %% nbgrader={"grade": true, "grade_id": "leaky_relu_forward_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x = np.array([-2.0, -0.5, 0.0, 1.5])
out, _ = run("leaky_relu_forward", leaky_relu_forward, x)
expect_close("leaky_relu_forward output with the default slope 0.1", out, [-0.2, -0.05, 0.0, 1.5],
             inputs={"x": x}, hint="negative entries are scaled by negative_slope, the rest pass unchanged")
out, _ = run("leaky_relu_forward", leaky_relu_forward, x, negative_slope=0.01)
expect_close("leaky_relu_forward output with negative_slope=0.01", out, [-0.02, -0.005, 0.0, 1.5],
             inputs={"x": x, "negative_slope": 0.01}, hint="use the negative_slope argument, not a fixed 0.1")
passed("leaky_relu_forward")
public_checks_passed.add("leaky_relu_forward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "leaky_relu_forward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.8 — `leaky_relu_backward` (2 points)
#
# The local derivative is 1 for $x > 0$ and $\alpha$ for $x < 0$. At $x = 0$ we again take the
# left-hand value, as PyTorch does: **$\alpha$ at $x = 0$** (for $\alpha = 0$ this is exactly the
# ReLU convention). The slope must come from the cache, because the backward pass is not told
# which slope the forward pass used.
#
# **Done** when the test cell prints ✓: the convention at 0 holds and the gradient check with
# `negative_slope=0.1` is below $10^{-9}$.

# %% nbgrader={"grade": false, "grade_id": "leaky_relu_backward_answer", "locked": false, "schema_version": 3, "solution": true}
def leaky_relu_backward(grad_out: np.ndarray, cache) -> np.ndarray:
    """Backward pass of leaky_relu_forward.

    Inputs:
        grad_out: upstream gradient, the shape of x.
        cache: what leaky_relu_forward returned as its cache.

    Returns:
        grad_x: the shape of x; grad_out where x > 0, negative_slope * grad_out where x <= 0.
    """
    ### BEGIN SOLUTION
    x, negative_slope = cache
    grad_x = grad_out * np.where(x > 0, 1.0, negative_slope)
    ### END SOLUTION
    return grad_x


# %% nbgrader={"grade": true, "grade_id": "leaky_relu_backward_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# 1. Negative, zero and positive inputs with slope 0.1.
x = np.array([-1.0, 0.0, 2.0])
grad_out = np.array([10.0, 10.0, 10.0])
_, cache = leaky_relu_forward(x.copy(), negative_slope=0.1)
grad_x = run("leaky_relu_backward", leaky_relu_backward, grad_out, cache)
expect_close("leaky_relu_backward with negative_slope=0.1", grad_x, [1.0, 1.0, 10.0],
             inputs={"x": x, "negative_slope": 0.1, "grad_out": grad_out},
             hint="multiply grad_out by 1 where x > 0 and by the cached slope where x <= 0 (also at 0)")

# 2. Numeric gradient check, slope 0.1, inputs away from the kink (it waits until your
#    leaky_relu_forward passes its checks).
rng = np.random.default_rng(0)
x = rng.choice([-1.0, 1.0], size=(3, 4)) * rng.uniform(0.1, 2.0, size=(3, 4))
if "leaky_relu_forward" in public_checks_passed:
    expect_gradcheck(check_layer(leaky_relu_forward, leaky_relu_backward, {"x": x}, params={"negative_slope": 0.1},
                                 h=1e-3, title="gradient check: leaky relu (negative_slope=0.1)"),
                     hint="take the slope from the cache")
    passed("leaky_relu_backward")
else:
    print("gradient check skipped until leaky_relu_forward passes its public checks: it compares your leaky_relu_backward "
          "with numeric derivatives of your leaky_relu_forward.")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "leaky_relu_backward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.9 — `sigmoid_forward` (2 points)
#
# The logistic sigmoid squashes any real number into $(0, 1)$:
#
# $$\sigma(x) = \frac{1}{1 + e^{-x}}.$$
#
# Typed in literally, this overflows: for $x = -1000$, $e^{1000}$ is far beyond the largest float64
# (about $1.8\times10^{308}$, reached near $e^{709.8}$), numpy returns `inf` and prints an overflow
# warning. The rewritten form $\sigma(x) = \frac{e^{x}}{1 + e^{x}}$ has the same problem for
# $x = +1000$, and there it even gives `inf / inf = nan`. The way out is to use each form only where
# it is safe, so that you only ever exponentiate a number $\le 0$:
#
# $$\sigma(x) = \begin{cases} \dfrac{1}{1 + e^{-x}} & x \ge 0 \\[8pt] \dfrac{e^{x}}{1 + e^{x}} & x < 0 \end{cases}$$
#
# Both branches can be written with $z = e^{-|x|} \in (0, 1]$. Careful with `np.where(cond, a, b)`:
# numpy evaluates both `a` and `b` on the whole array before choosing, so an overflowing branch
# still warns even where it is not selected.
#
# **Done** when the test cell prints ✓: correct values, and $x = \pm 1000$ gives exactly 0 and 1
# **without any numpy warning**.

# %% nbgrader={"grade": false, "grade_id": "sigmoid_forward_answer", "locked": false, "schema_version": 3, "solution": true}
def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise logistic sigmoid, stable for inputs of any size.

    Inputs:
        x: array of any shape.

    Returns:
        out: 1 / (1 + exp(-x)), the shape of x, computed without overflow.
        cache: whatever sigmoid_backward needs.
    """
    ### BEGIN SOLUTION
    positive = x >= 0
    z = np.exp(-np.abs(x))
    out = np.where(positive, 1 / (1 + z), z / (1 + z))
    cache = out
    ### END SOLUTION
    return out, cache


# %% nbgrader={"grade": true, "grade_id": "sigmoid_forward_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# 1. Ordinary inputs.
x = np.array([[-2.0, -1.0, 0.0], [1.0, 2.0, 4.0]])
out, _ = run("sigmoid_forward", sigmoid_forward, x)
expect_close("sigmoid_forward output", out, [[0.11920292, 0.26894142, 0.5], [0.73105858, 0.88079708, 0.98201379]],
             inputs={"x": x}, hint="sigma(x) = 1 / (1 + exp(-x))")

# 2. Huge inputs: exact 0 and 1, and no overflow warning.
x = np.array([-1000.0, -710.0, 0.0, 710.0, 1000.0])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    # Overflow and nan warnings count; underflow to 0 (exp(-1000) == 0.0) is harmless.
    with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        out, _ = sigmoid_forward(x.copy())
expect_true("sigmoid_forward at x = ±710, ±1000", not caught,
            "numpy warned: " + "; ".join(sorted({str(w.message) for w in caught})),
            hint="only ever exponentiate numbers <= 0 (which form of sigma suits which sign of x?); "
                 "np.where evaluates both of its branches on the whole array")
expect_close("sigmoid_forward at x = ±710, ±1000", out, [0.0, 0.0, 0.5, 1.0, 1.0], inputs={"x": x},
             hint="use 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) for x < 0")
passed("sigmoid_forward")
public_checks_passed.add("sigmoid_forward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "sigmoid_forward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.10 — `sigmoid_backward` (2 points)
#
# The sigmoid has a derivative that is cheapest to write in terms of its own output:
#
# $$\sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr).$$
#
# So if your forward pass caches `out`, the backward pass needs no exponential at all (and cannot
# overflow). Note that $\sigma'(x) \le \tfrac14$ everywhere, with the maximum at $x = 0$.
#
# **Done** when the test cell prints ✓: the gradient check is below $10^{-9}$ and $x = \pm1000$ gives a
# gradient of exactly 0 (no `nan`).

# %% nbgrader={"grade": false, "grade_id": "sigmoid_backward_answer", "locked": false, "schema_version": 3, "solution": true}
def sigmoid_backward(grad_out: np.ndarray, cache) -> np.ndarray:
    """Backward pass of sigmoid_forward.

    Inputs:
        grad_out: upstream gradient, the shape of x.
        cache: what sigmoid_forward returned as its cache.

    Returns:
        grad_x: grad_out * sigma(x) * (1 - sigma(x)), the shape of x.
    """
    ### BEGIN SOLUTION
    out = cache
    grad_x = grad_out * out * (1 - out)
    ### END SOLUTION
    return grad_x


# %% nbgrader={"grade": true, "grade_id": "sigmoid_backward_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# 1. Saturated inputs: the gradient is 0, not nan.
x = np.array([-1000.0, 0.0, 1000.0])
grad_out = np.array([1.0, 1.0, 1.0])
with warnings.catch_warnings(), np.errstate(all="ignore"):  # Q2.9 checks the warnings; here only values count
    warnings.simplefilter("ignore")
    _, cache = sigmoid_forward(x.copy())
    grad_x = sigmoid_backward(grad_out.copy(), cache)
expect_close("sigmoid_backward at x = -1000, 0, 1000", grad_x, [0.0, 0.25, 0.0],
             inputs={"x": x, "grad_out": grad_out}, hint="write the derivative with the cached output sigma(x)")

# 2. Numeric gradient check (it differentiates your sigmoid_forward, so it waits until that passes).
rng = np.random.default_rng(0)
x = rng.uniform(-3.0, 3.0, size=(3, 4))
if "sigmoid_forward" in public_checks_passed:
    expect_gradcheck(check_layer(sigmoid_forward, sigmoid_backward, {"x": x}, h=1e-5, title="gradient check: sigmoid"),
                     hint="the local derivative is sigma(x) (1 - sigma(x)); multiply it by grad_out")
    passed("sigmoid_backward")
else:
    print("gradient check skipped until sigmoid_forward passes its public checks: it compares your sigmoid_backward "
          "with numeric derivatives of your sigmoid_forward.")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "sigmoid_backward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.11 — `tanh_forward` (1 point)
#
# The hyperbolic tangent maps the real line into $(-1, 1)$:
# $\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1$. Typing the fraction in
# literally has the same overflow problem as the sigmoid (`inf / inf` at $x = 1000$); `np.tanh`
# is implemented stably.

# %% nbgrader={"grade": false, "grade_id": "tanh_forward_answer", "locked": false, "schema_version": 3, "solution": true}
def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise hyperbolic tangent.

    Inputs:
        x: array of any shape.

    Returns:
        out: tanh(x), the shape of x.
        cache: whatever tanh_backward needs.
    """
    ### BEGIN SOLUTION
    out = np.tanh(x)
    cache = out
    ### END SOLUTION
    return out, cache


# %% nbgrader={"grade": true, "grade_id": "tanh_forward_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x = np.array([-1000.0, -0.5, 0.0, 0.5, 1000.0])
out, _ = run("tanh_forward", tanh_forward, x)
expect_close("tanh_forward output", out, [-1.0, -0.46211716, 0.0, 0.46211716, 1.0], inputs={"x": x},
             hint="np.tanh is stable for huge inputs; the exp formula gives inf / inf = nan there")
passed("tanh_forward")
public_checks_passed.add("tanh_forward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "tanh_forward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.12 — `tanh_backward` (1 point)
#
# Like the sigmoid, $\tanh$ has a derivative that can be written with its own output (you derived
# $\tanh'$ in notebook 1, Q1.17), which is 1 at $x = 0$ and falls towards 0 as $|x|$ grows. Cache what
# that form needs in `tanh_forward`.
#
# **Done** when the test cell prints ✓: the gradient check is below $10^{-9}$ and $x = \pm1000$ gives a
# gradient of exactly 0.

# %% nbgrader={"grade": false, "grade_id": "tanh_backward_answer", "locked": false, "schema_version": 3, "solution": true}
def tanh_backward(grad_out: np.ndarray, cache) -> np.ndarray:
    """Backward pass of tanh_forward.

    Inputs:
        grad_out: upstream gradient, the shape of x.
        cache: what tanh_forward returned as its cache.

    Returns:
        grad_x: grad_out times tanh'(x), the shape of x.
    """
    ### BEGIN SOLUTION
    out = cache
    grad_x = grad_out * (1 - out ** 2)
    ### END SOLUTION
    return grad_x


# %% nbgrader={"grade": true, "grade_id": "tanh_backward_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# 1. Saturated inputs: the gradient is 0.
x = np.array([-1000.0, 0.0, 1000.0])
grad_out = np.array([2.0, 2.0, 2.0])
_, cache = tanh_forward(x.copy())
grad_x = run("tanh_backward", tanh_backward, grad_out, cache)
expect_close("tanh_backward at x = -1000, 0, 1000", grad_x, [0.0, 2.0, 0.0], inputs={"x": x, "grad_out": grad_out},
             hint="write tanh'(x) with tanh(x) itself (notebook 1, Q1.17) and multiply it by grad_out")

# 2. Numeric gradient check (it differentiates your tanh_forward, so it waits until that passes).
rng = np.random.default_rng(0)
x = rng.uniform(-2.0, 2.0, size=(3, 4))
if "tanh_forward" in public_checks_passed:
    expect_gradcheck(check_layer(tanh_forward, tanh_backward, {"x": x}, h=1e-5, title="gradient check: tanh"),
                     hint="write tanh'(x) with tanh(x) itself (notebook 1, Q1.17) and multiply it by grad_out")
    passed("tanh_backward")
else:
    print("gradient check skipped until tanh_forward passes its public checks: it compares your tanh_backward "
          "with numeric derivatives of your tanh_forward.")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "tanh_backward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.13 — `elu_forward` (1 point)
#
# The exponential linear unit is the identity for positive inputs and bends smoothly towards
# $-\alpha$ for negative ones:
#
# $$\text{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}
#   \qquad (\alpha = \texttt{alpha} > 0,\ \text{default } 1).$$
#
# Unlike ReLU its output can be negative, and unlike LeakyReLU it saturates (at $-\alpha$) for very
# negative inputs. Mind overflow: `np.where` evaluates **both** branches on the whole array, so an
# exponential of a large positive entry overflows (with a warning) even though that branch is not
# chosen there. The tests use $x = \pm1000$ and fail on any overflow warning.
#
# **Done** when the test cell prints ✓.

# %% nbgrader={"grade": false, "grade_id": "elu_forward_answer", "locked": false, "schema_version": 3, "solution": true}
def elu_forward(x: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, tuple]:
    """Elementwise exponential linear unit.

    Inputs:
        x: array of any shape.
        alpha: the value ELU tends to (as -alpha) for very negative x; alpha > 0.

    Returns:
        out: ELU(x), the shape of x, computed without overflow.
        cache: whatever elu_backward needs (alpha too).
    """
    ### BEGIN SOLUTION
    negative_part = alpha * np.expm1(np.minimum(x, 0.0))
    out = np.where(x > 0, x, negative_part)
    cache = (x, alpha)
    ### END SOLUTION
    return out, cache


# %% nbgrader={"grade": true, "grade_id": "elu_forward_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x = np.array([-2.0, -0.5, 0.0, 1.5])
out, _ = run("elu_forward", elu_forward, x)
expect_close("elu_forward output, alpha = 1", out, [math.expm1(-2.0), math.expm1(-0.5), 0.0, 1.5], inputs={"x": x},
             hint="positive entries pass unchanged; the others follow the exponential branch of the definition")
out, _ = run("elu_forward", elu_forward, x, alpha=0.5)
expect_close("elu_forward output, alpha = 0.5", out, [0.5 * math.expm1(-2.0), 0.5 * math.expm1(-0.5), 0.0, 1.5],
             inputs={"x": x, "alpha": 0.5}, hint="use the alpha argument, not a fixed 1")
x = np.array([-1000.0, 1000.0])
with warnings.catch_warnings():
    warnings.simplefilter("error")
    with np.errstate(over="raise", invalid="raise"):
        out, _ = run("elu_forward", elu_forward, x)
expect_close("elu_forward at x = -1000, 1000 (no overflow)", out, [-1.0, 1000.0], inputs={"x": x},
             hint="exponentiate only numbers <= 0, e.g. clip x at 0 before the exponential")
passed("elu_forward")
public_checks_passed.add("elu_forward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "elu_forward")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.14 — `elu_backward` (2 points)
#
# Differentiate the two branches of ELU yourself. At $x = 0$ use the **slope from the left**, as for
# ReLU and LeakyReLU (for $\alpha = 1$ both sides agree anyway). The slope for $x \le 0$ can be
# written with the forward output, or with $x$; either way, it must not overflow at $x = 1000$.
#
# **Done** when the test cell prints ✓: the convention at 0, no overflow, and a gradient check below
# $10^{-9}$ (step $10^{-5}$: ELU is curved for $x < 0$).

# %% nbgrader={"grade": false, "grade_id": "elu_backward_answer", "locked": false, "schema_version": 3, "solution": true}
def elu_backward(grad_out: np.ndarray, cache) -> np.ndarray:
    """Backward pass of elu_forward.

    Inputs:
        grad_out: upstream gradient, the shape of x.
        cache: what elu_forward returned as its cache.

    Returns:
        grad_x: grad_out times ELU'(x) (left slope at 0), the shape of x.
    """
    ### BEGIN SOLUTION
    x, alpha = cache
    grad_x = grad_out * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
    ### END SOLUTION
    return grad_x


# %% nbgrader={"grade": true, "grade_id": "elu_backward_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# 1. The convention at 0 and huge inputs: alpha = 0.5 makes the two sides of 0 differ.
x = np.array([-1000.0, 0.0, 1000.0])
grad_out = np.array([2.0, 2.0, 2.0])
_, cache = elu_forward(x.copy(), alpha=0.5)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    with np.errstate(over="raise", invalid="raise"):
        grad_x = run("elu_backward", elu_backward, grad_out, cache)
expect_close("elu_backward at x = -1000, 0, 1000 with alpha = 0.5", grad_x, [0.0, 1.0, 2.0],
             inputs={"x": x, "alpha": 0.5, "grad_out": grad_out},
             hint="differentiate each branch; at 0 take the left branch; take alpha from the cache")

# 2. Numeric gradient check (it differentiates your elu_forward, so it waits until that passes).
rng = np.random.default_rng(0)
x = rng.choice([-1.0, 1.0], size=(3, 4)) * rng.uniform(0.1, 2.0, size=(3, 4))
if "elu_forward" in public_checks_passed:
    for alpha in (1.0, 0.7):
        expect_gradcheck(check_layer(elu_forward, elu_backward, {"x": x}, params={"alpha": alpha}, h=1e-5,
                                     title=f"gradient check: elu (alpha={alpha})"),
                         hint="differentiate each branch of ELU; multiply by grad_out")
    passed("elu_backward")
else:
    print("gradient check skipped until elu_forward passes its public checks: it compares your elu_backward "
          "with numeric derivatives of your elu_forward.")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "elu_backward")
### END HIDDEN TESTS

# %% [markdown]
# ## Vanishing gradients
#
# During backpropagation, the gradient reaching an early layer is the product of the local
# derivatives of every layer on the way back. If those factors are small, the product shrinks
# exponentially with depth, and the early layers barely learn: the gradient *vanishes*.
#
# The next cell plots each activation and its derivative. The derivatives are **computed by your
# backward functions** (with `grad_out` = 1), so this plot is also a visual check of your work. Two
# more curves are included for comparison: the identity (a purely linear layer) and GELU,
# $\text{GELU}(x) = x\,\Phi(x)$ with $\Phi$ the standard normal CDF (notebook 1, Q1.18). GELU is given
# here and its derivative is estimated by central differences, so you do not implement it.

# %% nbgrader={"grade": false, "grade_id": "activation_plots", "locked": true, "schema_version": 3, "solution": false}
def derivative_from_backward(forward, backward, **params):
    """f'(x) computed by a layer's backward pass with an upstream gradient of ones."""
    def derivative(x: np.ndarray) -> np.ndarray:
        out, cache = forward(x, **params)
        return backward(np.ones_like(out), cache)
    return derivative


def output_of(forward, **params):
    """f(x) from a layer's forward pass (dropping the cache)."""
    return lambda x: forward(x, **params)[0]


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU(x) = x * Phi(x), Phi the standard normal CDF."""
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def gelu_derivative(x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """GELU'(x) estimated by a central difference (error ~1e-10 at this step)."""
    return (gelu(x + h) - gelu(x - h)) / (2 * h)


activations = {
    "linear (identity)": (lambda x: x, np.ones_like),
    "ReLU": (output_of(relu_forward), derivative_from_backward(relu_forward, relu_backward)),
    "LeakyReLU (negative_slope=0.1)": (output_of(leaky_relu_forward, negative_slope=0.1),
                                       derivative_from_backward(leaky_relu_forward, leaky_relu_backward,
                                                                negative_slope=0.1)),
    "sigmoid": (output_of(sigmoid_forward), derivative_from_backward(sigmoid_forward, sigmoid_backward)),
    "tanh": (output_of(tanh_forward), derivative_from_backward(tanh_forward, tanh_backward)),
    "ELU (alpha=1)": (output_of(elu_forward), derivative_from_backward(elu_forward, elu_backward)),
    "GELU (given, numeric derivative)": (gelu, gelu_derivative),
}
plot_functions_and_derivatives(activations, x=np.linspace(-6.0, 6.0, 601))
plt.show()

points = np.array([-10.0, -5.0, -2.0, -0.5, 0.5, 2.0, 5.0, 10.0])
print("local derivative f'(x) at x =" + "".join(f"{p:>10g}" for p in points))
for name in ("linear (identity)", "ReLU", "sigmoid", "tanh"):
    print(f"  {name:<28}" + "".join(f"{d:>10.2e}" for d in activations[name][1](points)))

# %% [markdown]
# ### Q2.15 — written: vanishing gradients (3 points)
#
# Among the **linear**, **ReLU**, **tanh** and **sigmoid** activations, which ones can make
# gradients vanish (become zero or nearly zero) during backpropagation? For each one that does,
# explain **why**, and say **which one-dimensional inputs** $x$ cause it. Use the plot and the table
# above. Three to six sentences in the cell below are enough; a person grades them.

# %% [markdown] nbgrader={"grade": true, "grade_id": "vanishing_written", "locked": false, "points": 3, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# *Model answer.*
#
# * **Linear** does not suffer: its derivative is 1 for every input, so it passes gradients through
#   unchanged (a stack of linear layers is itself just one linear map, but that is another problem).
# * **Sigmoid** suffers most. Its derivative $\sigma(x)(1-\sigma(x))$ is at most $1/4$ (at $x=0$) and
#   tends to 0 when $|x|$ is large, because the function saturates at 0 or 1: $\sigma'(5)\approx 0.0066$,
#   $\sigma'(10)\approx 4.5\times10^{-5}$. Inputs of large magnitude, **positive or negative**, kill
#   the gradient, and even in the best case each sigmoid layer multiplies the gradient by at most
#   $1/4$, so through 10 layers it shrinks by at least $4^{10}\approx 10^{6}$.
# * **tanh** suffers for the same reason: $1-\tanh^2(x)$ is 1 at $x=0$ but tends to 0 for large
#   $|x|$ (saturation at $\pm1$): $\tanh'(5)\approx 1.8\times10^{-4}$. Again inputs of large
#   magnitude of either sign; near 0 it is fine (derivative close to 1).
# * **ReLU** does not saturate for positive inputs (derivative exactly 1, however large $x$ is),
#   but its derivative is exactly 0 for **negative** inputs (and, by our convention, at 0). A unit
#   whose input is negative for every example passes no gradient at all and stops learning (a "dead
#   ReLU"). Leaky ReLU keeps a small slope there to avoid this.
#
# === BEGIN MARK SCHEME ===
# One point each: the right set of functions (sigmoid and tanh saturate, ReLU dies on negative
# inputs, linear does not vanish); the reason (local derivative near 0, multiplied along the
# layers); the inputs (large |x| of either sign for sigmoid/tanh, negative x for ReLU).
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## Part C — loss functions
#
# A loss returns `(loss, grad)`: a scalar, and the gradient of that scalar with respect to its first
# argument (the predictions or scores), with the shape of that argument. The three data losses here
# **average over all entries** or over the batch, so the same learning rate works for any batch
# size; do not forget that factor in the gradient. The L2 penalty of Q2.22 is different: it is a
# **sum** over all weights, since it measures the weights, not the data.
#
# ### Q2.16 — `l2_loss` (2 points)
#
# The mean squared error between predictions `x` and targets `y` (both of the same shape, any shape):
#
# $$L = \frac{1}{K}\sum_{k=1}^{K} (x_k - y_k)^2,$$
#
# where the sum runs over **all** $K$ = `x.size` entries; differentiate it with respect to each $x_k$
# for the gradient. This is exactly PyTorch's
# `nn.MSELoss()` with its default `reduction="mean"`.
#
# **Done** when the test cell prints ✓: a hand-checkable example and a gradient check below $10^{-9}$.

# %% nbgrader={"grade": false, "grade_id": "l2_loss_answer", "locked": false, "schema_version": 3, "solution": true}
def l2_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all entries.

    Inputs:
        x: predictions, any shape.
        y: targets, the shape of x.

    Returns:
        loss: mean of (x - y)**2 over all entries (a float).
        grad_x: dloss/dx, the shape of x.
    """
    ### BEGIN SOLUTION
    diff = x - y
    loss = np.mean(diff ** 2)
    grad_x = 2 * diff / diff.size
    ### END SOLUTION
    return loss, grad_x


# %% nbgrader={"grade": true, "grade_id": "l2_loss_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# 1. By hand: differences 0, 1, 2, 3 -> loss (0 + 1 + 4 + 9) / 4.
x = np.array([[1.0, 2.0], [3.0, 4.0]])
y = np.array([[1.0, 1.0], [1.0, 1.0]])
loss, grad_x = run("l2_loss", l2_loss, x, y)
expect_close("l2_loss value", loss, 3.5, inputs={"x": x, "y": y}, hint="average (x - y)**2 over all 4 entries")
expect_close("l2_loss gradient", grad_x, [[0.0, 0.5], [1.0, 1.5]], inputs={"x": x, "y": y},
             hint="differentiate the mean: every entry's term, and the 1/K in front")

# 2. Numeric gradient check (x - y kept away from 0, so no gradient entry is tiny).
rng = np.random.default_rng(0)
y = rng.standard_normal((3, 4))
x = y + rng.choice([-1.0, 1.0], size=(3, 4)) * rng.uniform(0.1, 2.0, size=(3, 4))
expect_gradcheck(check_loss(l2_loss, x, y, h=1e-3, title="gradient check: l2_loss"),
                 hint="differentiate the mean: every entry's term, and the 1/K in front")
passed("l2_loss")
public_checks_passed.add("l2_loss")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "l2_loss")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.17 — `bce_loss` (3 points)
#
# Binary cross-entropy compares predicted probabilities $\hat y \in (0, 1)$ (typically sigmoid
# outputs) with targets $y \in [0, 1]$ (usually 0 or 1), entry by entry, and averages over all
# $K$ entries:
#
# $$L = \frac{1}{K}\sum_{k=1}^{K} -\Bigl[\,y_k \log \hat y_k + (1 - y_k)\log(1 - \hat y_k)\Bigr].$$
#
# Differentiate one term with respect to $\hat y_k$ and simplify to get the gradient
# $\partial L/\partial \hat y_k$; its sign should make sense: if $y_k = 1$, raising $\hat y_k$ must
# lower the loss.
#
# **Domain.** The loss needs $0 < \hat y_k < 1$ (at 0 or 1 a logarithm is $-\infty$). The tests
# keep $\hat y$ inside $[0.01, 0.99]$, so you do not need to clip; if you want a guard against
# $\log 0$, clip $\hat y$ to $[10^{-12}, 1 - 10^{-12}]$, which changes nothing in the tests.
#
# **Done** when the test cell prints ✓: a small example and a gradient check below $10^{-9}$.

# %% nbgrader={"grade": false, "grade_id": "bce_loss_answer", "locked": false, "schema_version": 3, "solution": true}
def bce_loss(y_hat: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy, averaged over all entries.

    Inputs:
        y_hat: predicted probabilities in (0, 1), any shape.
        y: targets in [0, 1], the shape of y_hat.

    Returns:
        loss: mean of -[y log(y_hat) + (1 - y) log(1 - y_hat)] (a float).
        grad_y_hat: dloss/dy_hat, the shape of y_hat.
    """
    ### BEGIN SOLUTION
    loss = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    grad_y_hat = (y_hat - y) / (y_hat * (1 - y_hat)) / y_hat.size
    ### END SOLUTION
    return loss, grad_y_hat


# %% nbgrader={"grade": true, "grade_id": "bce_loss_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# 1. A small example: loss = -(log 0.8 + log 0.5 + log 0.75 + log 0.9) / 4.
y_hat = np.array([[0.8, 0.5], [0.25, 0.9]])
y = np.array([[1.0, 0.0], [0.0, 1.0]])
loss, grad_y_hat = run("bce_loss", bce_loss, y_hat, y)
expect_close("bce_loss value", loss, 0.32733333, inputs={"y_hat": y_hat, "y": y},
             hint="average -[y log(y_hat) + (1 - y) log(1 - y_hat)] over all 4 entries")
expect_close("bce_loss gradient", grad_y_hat, [[-0.3125, 0.5], [0.33333333, -0.27777778]],
             inputs={"y_hat": y_hat, "y": y},
             hint="per entry: (-y / y_hat + (1 - y) / (1 - y_hat)) / K; it is negative where y = 1")

# 2. Numeric gradient check (a small step: the logarithms are strongly curved).
rng = np.random.default_rng(0)
y_hat, y = rng.uniform(0.2, 0.8, size=(2, 3)), rng.integers(0, 2, size=(2, 3)).astype(float)
expect_gradcheck(check_loss(bce_loss, y_hat, y, h=3e-6, title="gradient check: bce_loss"),
                 hint="per entry: (-y / y_hat + (1 - y) / (1 - y_hat)) / y_hat.size")
passed("bce_loss")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "bce_loss")
### END HIDDEN TESTS

# %% [markdown]
# ### Softmax and cross-entropy
#
# For classification into $C$ classes, a network outputs a score $x_{i,c}$ for every example $i$
# and class $c$: `x` has shape $(N, C)$, and `y` holds the correct class of each example, an
# integer in $\{0, \dots, C-1\}$ (shape $(N,)$). The softmax turns each row of scores into a
# probability distribution,
#
# $$p_{i,c} = \frac{e^{x_{i,c}}}{\sum_{j=1}^{C} e^{x_{i,j}}},$$
#
# and the loss is the average negative log-probability of the correct class (cross-entropy):
#
# $$L = -\frac{1}{N}\sum_{i=1}^{N} \log p_{i, y_i}.$$
#
# ### Q2.18 — *written*: why is softmax a *soft argmax*? (1 point)
#
# Compare $p_{i,:}$ with the one-hot vector of $\arg\max_c x_{i,c}$. What happens to $p_{i,:}$ when
# every score of the row is multiplied by a large factor $\beta > 0$, and what does it look like for
# small $\beta$? Answer in two or three sentences in the cell below.

# %% [markdown] nbgrader={"grade": true, "grade_id": "soft_argmax_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# The argmax, written as a one-hot vector, puts all its weight on the largest score. Softmax puts
# *most* of the weight there: the entries are positive, sum to 1, keep the order of the scores, and
# the largest score gets the largest probability. With scores $\beta x$, $p_c \propto e^{\beta x_c}$,
# so as $\beta\to\infty$ the distribution tends to the one-hot argmax (for a unique maximum), and as
# $\beta\to 0$ it tends to uniform. Unlike the argmax, it is smooth in the scores (it has a useful
# gradient everywhere), which is why it is a *soft* (differentiable) version of the argmax, not of
# the max.
#
# === BEGIN MARK SCHEME ===
# 1 point: "a smooth/differentiable approximation of the one-hot argmax" plus the limit
# $\beta\to\infty$ (or an equivalent statement that the largest score dominates). ½ without the limit.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q2.19 — *written*: derive the gradient of the softmax loss (3 points)
#
# For one example $i$ with correct class $y_i$, write $\ell_i = -\log p_{i,y_i}$ in terms of the
# scores $x_{i,:}$ and differentiate it with respect to $x_{i,c}$, separately for $c = y_i$ and for
# $c \ne y_i$. Then write $\partial L/\partial x_{i,c}$ for the batch loss $L$ (the mean over $N$
# examples) as one expression, and explain why subtracting the row maximum $M_i$ from the scores
# (see Q2.20) does not change it. Answer in the cell below.

# %% [markdown] nbgrader={"grade": true, "grade_id": "softmax_gradient_written", "locked": false, "points": 3, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# $\ell_i = -x_{i,y_i} + \log\sum_j e^{x_{i,j}}$. The derivative of the log-sum-exp term with respect
# to $x_{i,c}$ is $e^{x_{i,c}}/\sum_j e^{x_{i,j}} = p_{i,c}$; the first term contributes $-1$ only when
# $c = y_i$. So $\partial\ell_i/\partial x_{i,c} = p_{i,c} - 1$ for $c = y_i$ and $p_{i,c}$ otherwise,
# i.e. $p_{i,c} - \mathbb 1[c = y_i]$. Example $i$'s loss depends on row $i$ only, and $L$ is the
# mean, so
#
# $$\frac{\partial L}{\partial x_{i,c}} = \frac{p_{i,c} - \mathbb 1[c = y_i]}{N}.$$
#
# Subtracting $M_i$ from row $i$ multiplies numerator and denominator of every $p_{i,c}$ by
# $e^{-M_i}$, so no $p$ changes and neither does the gradient.
#
# === BEGIN MARK SCHEME ===
# 1 point: $\ell_i$ rewritten with log-sum-exp (or an equivalent quotient-rule route). 1 point: both
# cases $c = y_i$, $c \ne y_i$ correct. ½ point: the $1/N$ and the combined one-hot form. ½ point:
# the invariance argument.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q2.20 — `softmax_loss` (4 points)
#
# Implement the loss of the previous section and your gradient of Q2.19, for a batch.
#
# **Stability: subtract the row maximum.** In float64, $e^{x}$ overflows to `inf` for scores above
# about $709.78$ ($\ln$ of the largest float64, $1.8\times10^{308}$); in float32 already above about
# $88.7$. Scores that large are rare but do occur, e.g. with a badly scaled network or a huge
# learning rate.
# Subtracting any constant $M_i$ from a whole row changes nothing, because $e^{-M_i}$ cancels between
# numerator and denominator. With $M_i = \max_c x_{i,c}$ every exponent is $\le 0$ (no overflow)
# and the largest one is exactly $e^0 = 1$ (the denominator is at least 1, so no $\log 0$). In
# log form, for the correct class $c = y_i$:
#
# $$-\log p_{i,c} = -(x_{i,c} - M_i) + \log \sum_{j=1}^{C} e^{x_{i,j} - M_i}.$$
#
# This is **required**: the tests use scores of $\pm 1000$, with different rows at very different
# levels (so use the maximum of each row, not of the whole array).
#
# **Gradient:** your result of Q2.19.
#
# **Done** when the test cell prints ✓: a hand-checkable example, a gradient check below $10^{-9}$, and
# the stability check: with scores of $\pm1000$ the loss and gradient are finite and equal to what
# your function returns for the same scores with each row's maximum already subtracted.

# %% nbgrader={"grade": false, "grade_id": "softmax_loss_answer", "locked": false, "schema_version": 3, "solution": true}
def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax followed by cross-entropy, averaged over the batch, computed stably.

    Inputs:
        x: (N, C) scores.
        y: (N,) integer labels in [0, C).

    Returns:
        loss: -(1/N) * sum_i log p[i, y[i]] (a float).
        grad_x: (N, C), dloss/dx = (p - onehot(y)) / N.
    """
    ### BEGIN SOLUTION
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_probs[np.arange(N), y])
    grad_x = np.exp(log_probs)
    grad_x[np.arange(N), y] -= 1
    grad_x /= N
    ### END SOLUTION
    return loss, grad_x


# %% nbgrader={"grade": true, "grade_id": "softmax_loss_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false}
# 1. By hand: scores (2, 1, 0) with correct class 0. p = e^(2, 1, 0) / (e^2 + e + 1).
x = np.array([[2.0, 1.0, 0.0]])
y = np.array([0])
loss, grad_x = run("softmax_loss", softmax_loss, x, y)
expect_close("softmax_loss value", loss, 0.40760596, inputs={"x": x, "y": y},
             hint="loss = -log p[0, y[0]] = log(1 + e^-1 + e^-2) here")
expect_close("softmax_loss gradient", grad_x, [[-0.33475904, 0.24472847, 0.09003057]], inputs={"x": x, "y": y},
             hint="compare with your derivation in Q2.19 (and do not forget the batch mean)")

# 2. Numeric gradient check on random scores (N = 3, C = 4).
rng = np.random.default_rng(1)
x, y = 0.5 * rng.standard_normal((3, 4)), rng.integers(0, 4, size=3)
expect_gradcheck(check_loss(softmax_loss, x, y, h=1e-5, title="gradient check: softmax_loss"),
                 hint="compare with your derivation in Q2.19 (and do not forget the batch mean)")

# 3. Stability: scores of +-1000, rows at very different levels.
x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1001.0, -999.0], [1000.0, 999.0, 1000.0]])
y = np.array([0, 2, 1])
with warnings.catch_warnings(), np.errstate(all="ignore"):  # exp(-2000) underflows to 0: harmless
    warnings.simplefilter("ignore")
    loss, grad_x = softmax_loss(x.copy(), y.copy())
    loss_shifted, grad_shifted = softmax_loss(x - x.max(axis=1, keepdims=True), y.copy())
expect_true("softmax_loss with scores of ±1000", bool(np.isfinite(loss) and np.all(np.isfinite(grad_x))),
            f"loss = {loss}, gradient finite: {bool(np.all(np.isfinite(grad_x)))}",
            hint="subtract each row's maximum (np.max(x, axis=1, keepdims=True)) before exponentiating")
expect_close("softmax_loss with scores of ±1000 (loss vs. the pre-shifted scores)", loss, loss_shifted,
             inputs={"x": x, "y": y}, hint="subtract each row's maximum, not the maximum of the whole array")
expect_close("softmax_loss with scores of ±1000 (gradient vs. the pre-shifted scores)", grad_x, grad_shifted,
             inputs={"x": x, "y": y}, hint="subtract each row's maximum, not the maximum of the whole array")
passed("softmax_loss")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "softmax_loss")
### END HIDDEN TESTS

# %% [markdown]
# ### Q2.21 — *written*: derive the gradient of the L2 penalty (1 point)
#
# Differentiate $L(W) = \frac{\lambda}{2}\sum_k W_k^2$ with respect to one entry $W_k$, write the
# whole gradient as an array expression, and say what the factor $\frac12$ is for. Answer in the
# cell below.

# %% [markdown] nbgrader={"grade": true, "grade_id": "l2_regularization_derivation_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Only the term $W_k^2$ of the sum depends on $W_k$, so $\partial L/\partial W_k = \frac{\lambda}{2}\cdot 2W_k
# = \lambda W_k$, i.e. $\partial L/\partial W = \lambda W$ (the shape of $W$). The $\frac12$ cancels the 2
# from the square, so the gradient (and the weight-decay update $W \leftarrow W - \eta\lambda W$) is
# simply proportional to $W$.
#
# === BEGIN MARK SCHEME ===
# ½ point for $\lambda W_k$ with the step shown, ½ for the role of the $\frac12$.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q2.22 — `l2_regularization` (2 points)
#
# To keep weights small, training adds a penalty on the weights to the data loss:
#
# $$L(W) = \frac{\lambda}{2}\lVert W\rVert^2 = \frac{\lambda}{2}\sum_{k} W_k^2,$$
#
# with the sum over **every** entry of `w` (any shape) and $\lambda$ = `reg` the regularization
# strength. It is a sum, not a mean: the penalty should not depend on how the weights are arranged
# or how many examples a batch has. The gradient is your result of Q2.21.
#
# **Done** when the test cell prints ✓: a hand-checkable example and a gradient check below $10^{-9}$.

# %% nbgrader={"grade": false, "grade_id": "l2_regularization_answer", "locked": false, "schema_version": 3, "solution": true}
def l2_regularization(w: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """L2 penalty (reg / 2) * sum(w**2) and its gradient.

    Inputs:
        w: weights, any shape.
        reg: regularization strength lambda >= 0.

    Returns:
        loss: (reg / 2) * sum of w**2 over all entries (a float).
        grad_w: dloss/dw, the shape of w.
    """
    ### BEGIN SOLUTION
    loss = 0.5 * reg * np.sum(w ** 2)
    grad_w = reg * w
    ### END SOLUTION
    return loss, grad_w


# %% nbgrader={"grade": true, "grade_id": "l2_regularization_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# 1. By hand: sum of squares 1 + 4 + 9 + 0 = 14, times reg / 2 = 0.05.
w = np.array([[1.0, -2.0], [3.0, 0.0]])
loss, grad_w = run("l2_regularization", l2_regularization, w, 0.1)
expect_close("l2_regularization value", loss, 0.7, inputs={"w": w, "reg": 0.1},
             hint="(reg / 2) * np.sum(w ** 2): do not forget the 1/2")
expect_close("l2_regularization gradient", grad_w, [[0.1, -0.2], [0.3, 0.0]], inputs={"w": w, "reg": 0.1},
             hint="compare with your derivation in Q2.21")

# 2. Numeric gradient check (entries of w kept away from 0, so no gradient entry is tiny).
rng = np.random.default_rng(0)
w = rng.choice([-1.0, 1.0], size=(3, 4)) * rng.uniform(0.1, 2.0, size=(3, 4))
expect_gradcheck(check_loss(l2_regularization, w, 0.3, h=1e-3, title="gradient check: l2_regularization"),
                 hint="compare with your derivation in Q2.21")
passed("l2_regularization")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "l2_regularization")
### END HIDDEN TESTS

# %% [markdown]
# ## Part D — putting blocks together: linear regression
#
# ### Q2.23 — `linear_regression_step` (2 points)
#
# Linear regression predicts $\hat y = X W + b$ and minimizes the mean squared error. With the
# blocks you have, one forward and backward pass is three calls: `fc_forward` for the prediction,
# `l2_loss` for the loss and its gradient with respect to the prediction, and `fc_backward` to
# send that gradient back to `w` and `b` (you do not need `grad_x` here).
#
# Use your functions; do not write the gradient formulas out again. The hidden tests run this
# function with the reference versions of `fc_forward`, `fc_backward` and `l2_loss`, so a mistake in
# those costs points only in their own questions (and the public checks below wait until your blocks
# pass theirs).
#
# **Done** when the test cell prints ✓: a one-weight example you can check by hand, and gradients that
# match numeric ones below $10^{-9}$.

# %% nbgrader={"grade": false, "grade_id": "linear_regression_step_answer", "locked": false, "schema_version": 3, "solution": true}
def linear_regression_step(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray
                           ) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss and gradients of linear regression, built from fc_forward, l2_loss and fc_backward.

    Inputs:
        x: (N, d1, ..., dk) inputs.
        y: (N, M) targets.
        w: (D, M) weights, D = d1 * ... * dk.
        b: (M,) bias.

    Returns:
        loss: mean squared error of the prediction fc(x) against y (a float).
        grad_w: (D, M), dloss/dw.
        grad_b: (M,), dloss/db.
    """
    ### BEGIN SOLUTION
    y_pred, cache = fc_forward(x, w, b)
    loss, grad_y_pred = l2_loss(y_pred, y)
    _, grad_w, grad_b = fc_backward(grad_y_pred, cache)
    ### END SOLUTION
    return loss, grad_w, grad_b


# %% nbgrader={"grade": true, "grade_id": "linear_regression_step_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# These checks use your fc_forward, l2_loss and fc_backward, so they only mean something once those
# pass their own public checks. Until then they are skipped; the hidden tests grade this question
# with reference blocks, so a mistake in a block is never charged twice.
missing_blocks = sorted({"fc_forward", "fc_backward", "l2_loss"} - public_checks_passed)
if missing_blocks:
    print("linear_regression_step: public checks skipped until the public checks of "
          + ", ".join(missing_blocks) + " pass (run those test cells first).")
else:
    # 1. By hand: predictions (1, 2) for targets (1, 1): loss (0 + 1) / 2, gradient of the prediction (0, 1).
    x = np.array([[1.0], [2.0]])
    y = np.array([[1.0], [1.0]])
    w = np.array([[1.0]])
    b = np.array([0.0])
    loss, grad_w, grad_b = run("linear_regression_step", linear_regression_step, x, y, w, b)
    example = {"x": x, "y": y, "w": w, "b": b}
    expect_close("linear_regression_step loss", loss, 0.5, inputs=example, hint="l2_loss of fc_forward's output and y")
    expect_close("linear_regression_step grad_w", grad_w, [[2.0]], inputs=example,
                 hint="pass the gradient that l2_loss returns (not the loss, not the residual) to fc_backward")
    expect_close("linear_regression_step grad_b", grad_b, [1.0], inputs=example,
                 hint="pass the gradient that l2_loss returns to fc_backward")

    # 2. Against numeric gradients of the loss (quadratic in w and b, so a large step is exact).
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    w, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    _, grad_w, grad_b = run("linear_regression_step", linear_regression_step, x, y, w, b)
    numeric_w = numeric_gradient_array(lambda w_: linear_regression_step(x, y, w_, b)[0], w.copy(), h=1e-3)
    numeric_b = numeric_gradient_array(lambda b_: linear_regression_step(x, y, w, b_)[0], b.copy(), h=1e-3)
    example = {"x": x, "y": y, "w": w, "b": b}
    expect_close("linear_regression_step grad_w vs numeric", grad_w, numeric_w, inputs=example,
                 hint="l2_loss(y_pred, y): prediction first, target second")
    expect_close("linear_regression_step grad_b vs numeric", grad_b, numeric_b, inputs=example,
                 hint="l2_loss(y_pred, y): prediction first, target second")
    passed("linear_regression_step")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("layers", "linear_regression_step")
### END HIDDEN TESTS

# %% [markdown]
# ### Gradient descent on toy data
#
# Now use your step function to fit a line (well, a plane in 3-D) by gradient descent. The data
# are $N = 200$ points with 3 features, generated from known weights plus a little noise, so we
# can compare what gradient descent finds with the truth. Each step moves the parameters a little
# against the gradient: $W \leftarrow W - \eta\,\partial L/\partial W$,
# $b \leftarrow b - \eta\,\partial L/\partial b$.
#
# Feel free to change the learning rate and the number of steps: with the noise we added, the loss
# cannot go much below $0.05^2 = 0.0025$. What happens with a learning rate of $1.5$?

# %%
rng = np.random.default_rng(442)
x_toy = rng.standard_normal((200, 3))
w_true, b_true = np.array([[2.0], [-1.0], [0.5]]), np.array([0.3])
y_toy = x_toy @ w_true + b_true + 0.05 * rng.standard_normal((200, 1))

learning_rate = 0.1
steps = 100
w_fit, b_fit = np.zeros((3, 1)), np.zeros(1)
losses = []
for step in range(steps):
    loss, grad_w, grad_b = linear_regression_step(x_toy, y_toy, w_fit, b_fit)
    losses.append(loss)
    w_fit = w_fit - learning_rate * grad_w
    b_fit = b_fit - learning_rate * grad_b

plot_curves({f"learning rate {learning_rate}": losses}, xlabel="step", ylabel="mean squared error",
            title="Linear regression by gradient descent", logy=True)
plt.show()
print(f"final loss {losses[-1]:.5f}")
print(f"w found {w_fit.ravel()}  (true {w_true.ravel()})")
print(f"b found {b_fit}  (true {b_true})")

# %% [markdown]
# ## Part E — losses from an update rule (written)
#
# Three classic linear classifiers share the same update rule for a training example
# $(\vec x, y)$ with $y\in\{-1, +1\}$:
#
# $$w_i \leftarrow w_i + \eta\,(y - \tilde y)\,x_i \qquad (\text{and } b \leftarrow b + \eta\,(y - \tilde y)),$$
#
# and differ only in how the prediction $\tilde y$ is computed from the pre-activation
# $z = b + \sum_{i=1}^d w_i x_i$. Read the rule as one step of (stochastic) gradient descent,
# $w_i \leftarrow w_i - \eta\,\partial\ell/\partial w_i$, on some per-example loss $\ell$: then
# $\partial\ell/\partial w_i = -(y - \tilde y)\,x_i$. For each model below, find a loss $\ell(z, y)$
# with this gradient and **show the steps**: which derivative $\partial\ell/\partial z$ the rule asks
# for (chain rule through $z$), and how you integrate it. A final formula alone earns no points.
# Each answer goes in its own cell below.
#
# ### Q2.24 — *written*: the Perceptron, $\tilde y = \operatorname{sign}(z)$ (4 points)

# %% [markdown] nbgrader={"grade": true, "grade_id": "perceptron_loss_written", "locked": false, "points": 4, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Since $\partial z/\partial w_i = x_i$, the rule needs $\partial\ell/\partial z = -(y - \operatorname{sign}(z))$.
# With $y\in\{\pm1\}$: if $\operatorname{sign}(z) = y$ (correct) this is 0; if not, $y - \operatorname{sign}(z) = 2y$,
# so $\partial\ell/\partial z = -2y$. A function of $z$ that is constant where $yz > 0$ and has slope
# $-2y$ where $yz < 0$ is $\ell(z, y) = 2\max(0, -yz)$, and up to the constant factor (which only
# rescales $\eta$) the **perceptron loss** $\ell = \max(0, -y z) = \max\bigl(0, -y(b + \sum_i w_i x_i)\bigr)$.
# Check: $\partial\ell/\partial w_i = -y x_i\,\mathbb 1[yz < 0]$, matching the rule (with $\eta$ doubled).
#
# === BEGIN MARK SCHEME ===
# 1 point: the rule read as a gradient step, so $\partial\ell/\partial z = -(y - \tilde y)$ (chain rule
# through $z$). 1 point: the two cases (correct: 0; wrong: $-2y$). 1 point: integrating to
# $\max(0, -yz)$ (a constant factor is fine). 1 point: the check or a correct statement of where the
# loss is not differentiable ($z = 0$) and why that does not matter for the rule.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q2.25 — *written*: Adaline / least mean squares, $\tilde y = z$ (4 points)

# %% [markdown] nbgrader={"grade": true, "grade_id": "adaline_loss_written", "locked": false, "points": 4, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# The rule needs $\partial\ell/\partial z = -(y - z) = z - y$. Integrating in $z$:
# $\ell(z, y) = \frac12(z - y)^2 + \text{const}$, so the loss is the **squared error**
# $\ell = \frac12\bigl(y - b - \sum_i w_i x_i\bigr)^2$. Check: $\partial\ell/\partial w_i = (z - y)x_i =
# -(y - \tilde y)x_i$, so gradient descent gives exactly the update rule.
#
# === BEGIN MARK SCHEME ===
# 1 point: $\partial\ell/\partial z = -(y - z)$ via the chain rule. 1 point: the integration step.
# 1 point: $\frac12(y - z)^2$ (the $\frac12$ matters for the exact rule; without it the rule has $2\eta$).
# 1 point: the check by differentiating back.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q2.26 — *written*: logistic regression, $\tilde y = \tanh(z)$ (4 points)
#
# Hint: write $y\in\{\pm1\}$ and use $\tanh(z) = 2\sigma(2z) - 1$, or integrate $\tanh$ directly;
# compare the result with the logistic loss $\log(1 + e^{-t})$ of a margin $t$.

# %% [markdown] nbgrader={"grade": true, "grade_id": "logistic_loss_written", "locked": false, "points": 4, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# The rule needs $\partial\ell/\partial z = -(y - \tanh z) = \tanh z - y$. Integrating in $z$, with
# $\int\tanh z\,dz = \log\cosh z$: $\ell(z, y) = \log\cosh z - yz + \text{const}$. For $y = \pm1$,
# $\cosh z = \cosh(yz)$ and $\log\cosh(yz) - yz = \log\frac{e^{yz} + e^{-yz}}{2} - yz = \log(1 + e^{-2yz}) - \log 2$.
# Dropping the constant, the loss is the **logistic loss** $\ell = \log\bigl(1 + e^{-2y(b + \sum_i w_i x_i)}\bigr)$,
# i.e. the negative log-likelihood of the model $P(y\mid\vec x) = \sigma(2yz)$ (with $\tilde y = \tanh z
# = P(+1) - P(-1)$ its expected label). Check: $\partial\ell/\partial z = -2y\,\sigma(-2yz) = -(y - \tanh z)$
# for $y = \pm1$.
#
# === BEGIN MARK SCHEME ===
# 1 point: $\partial\ell/\partial z = \tanh z - y$. 1 point: integration ($\log\cosh z - yz$).
# 1 point: rewriting as $\log(1 + e^{-2yz})$ (up to constants; an equivalent cross-entropy form with
# $\sigma(2z)$ and targets $(1 + y)/2$ is also fine). 1 point: the check, or the likelihood reading.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## Summary: gradient checks of every block
#
# All your backward passes and losses against numeric gradients, on fresh random inputs (float64,
# inputs kept away from kinks). Every row should say PASS, with a max relative error below
# $10^{-9}$.

# %% nbgrader={"grade": false, "grade_id": "gradcheck_summary", "locked": true, "schema_version": 3, "solution": false}
def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random float64 values with |value| in [0.1, 2]: no entry near a kink or near 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


rng = np.random.default_rng(2024)
targets = rng.standard_normal((4, 5))
summary = [  # the step h of each check as in the questions: 1e-3 where there is no truncation error
    check_layer(fc_forward, fc_backward,
                {"x": rng.standard_normal((3, 2, 4)), "w": rng.standard_normal((8, 5)), "b": rng.standard_normal(5)},
                h=1e-3, title="fc", verbose=False),
    check_layer(relu_forward, relu_backward, {"x": away_from_zero(rng, (4, 5))}, h=1e-3, title="relu",
                verbose=False),
    check_layer(leaky_relu_forward, leaky_relu_backward, {"x": away_from_zero(rng, (4, 5))},
                params={"negative_slope": 0.1}, h=1e-3, title="leaky relu", verbose=False),
    check_layer(sigmoid_forward, sigmoid_backward, {"x": rng.uniform(-3, 3, size=(4, 5))}, h=1e-5,
                title="sigmoid", verbose=False),
    check_layer(tanh_forward, tanh_backward, {"x": rng.uniform(-2, 2, size=(4, 5))}, h=1e-5, title="tanh",
                verbose=False),
    check_layer(elu_forward, elu_backward, {"x": away_from_zero(rng, (4, 5))}, params={"alpha": 0.7}, h=1e-5,
                title="elu", verbose=False),
    check_loss(l2_loss, targets + away_from_zero(rng, (4, 5)), targets, h=1e-3, title="l2_loss", verbose=False),
    check_loss(bce_loss, rng.uniform(0.2, 0.8, size=(2, 3)), rng.integers(0, 2, size=(2, 3)).astype(float),
               h=3e-6, title="bce_loss", verbose=False),
    check_loss(softmax_loss, 0.5 * rng.standard_normal((3, 4)), rng.integers(0, 4, size=3), h=1e-5,
               title="softmax_loss", verbose=False),
    check_loss(l2_regularization, away_from_zero(rng, (4, 5)), 0.7, h=1e-3, title="l2_regularization",
               verbose=False),
]
print(f"{'block':<20}{'worst input':<14}{'max rel error':>14}   verdict (threshold 1e-9)")
for report in summary:
    worst = max(report.rows, key=lambda row: row.error)
    print(f"{report.title:<20}{worst.name:<14}{worst.error:>14.2e}   {'PASS' if report.passed else 'FAIL'}")
