# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Notebook 1 — Computational graphs and backpropagation by hand
#
# A computational graph writes a formula as a network of small operators
# (circles) connected by variables (arrows). Backpropagation then needs only
# *local* reasoning: each operator receives the gradient of the final output
# with respect to its own output (the **upstream gradient**) and turns it into
# gradients with respect to its inputs (the **downstream gradients**), using
# nothing but its local derivative and the chain rule.
#
# Everything in this notebook is a scalar: no vectors until the Jacobians at the
# end. That keeps the focus on the bookkeeping of the forward and backward passes.
#
# **What you will do**
#
# | part | questions | what | points |
# | --- | --- | --- | --- |
# | 1 | | warm-up: $(x + y)z$ forward and backward (worked) | 0 |
# | 2 | Q1.1–Q1.7 | the sigmoid neuron, with primitives and with a σ node | 8 |
# | 3 | Q1.8–Q1.10 | three given graphs f1, f2, f3 | 4 |
# | 4 | Q1.11–Q1.12 | a graph of your own design, f4 | 3 |
# | 5 | Q1.13–Q1.14 | the copy operator; the graph $w = ab + b$ | 3 |
# | 6 | Q1.15–Q1.18 | derivatives of ReLU, LeakyReLU, tanh and GELU | 4 |
# | 7 | Q1.19–Q1.22 | Jacobians of linear maps, their sums and compositions | 4 |
# | 8 | Q1.23–Q1.28 | written: a two-layer network forward and backward, in numerator layout | 25 |
# |   | | **total** (23 autograded + 28 written) | **51** |
#
# Each graded function has its own cell; the test cell after it runs public
# checks you can see, and hidden checks that run when the notebook is graded.
# "Done" means the public checks print ✓ — the hidden ones test the same things
# at more points. Written answers (marked *written*) are graded by a person.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import os, sys
if "google.colab" in sys.modules:  # Google Colab: mount Drive, install hwlib, work in My Drive/backprop (see README)
    if not os.environ.get("HWLIB_COLAB_DRIVE"):  # set only by the course's Colab emulation test
        from google.colab import drive; drive.mount("/content/drive")
    %run {os.environ.get("HWLIB_COLAB_DRIVE", "/content/drive")}/MyDrive/backprop/colab_setup.py
import hwlib.unanswered; hwlib.unanswered.install()  # "Qn.m is not answered yet"; Run All goes past those cells
%matplotlib inline
import inspect
import math

import numpy as np
from IPython.display import display

from hwlib.checks import expect_close, expect_gradcheck, expect_true, passed, run
from hwlib.gradcheck import check_scalar_graph, numeric_gradient_scalars, numeric_jacobian, rel_error
from hwlib.graphdraw import CompGraph
from hwlib.handout_graphs import copy_example_graph, example_add_mul, f1_graph, f2_graph, f3_graph
from hwlib.plots import plot_functions_and_derivatives
from hwlib.samples import load_scalar_samples
from hwlib.widgets import sigmoid_neuron_explorer

np.set_printoptions(precision=4, suppress=False)

# Operator labels for CompGraph.op(...): use these names instead of typing the symbols.
ADD = "+"
MUL = "×"
NEG = "−"  # negation of one input
PLUS_ONE = "+1"
EXP = "exp"
RECIPROCAL = "1/x"
COPY = "copy"
SIGMA = "σ"

# %% [markdown]
# ## Part 1 — Warm-up: $f(x, y, z) = (x + y)\,z$ (worked example, not graded)
#
# Name the intermediate sum $q = x + y$, so $f = q z$. At $x = -2$, $y = 5$, $z = -4$:
#
# * **forward:** $q = 3$, $f = q z = -12$;
# * **backward:** start with $\partial f/\partial f = 1$. The × node has local
#   derivatives $\partial f/\partial q = z = -4$ and $\partial f/\partial z = q = 3$.
#   The + node passes its upstream gradient unchanged to both inputs, so
#   $\partial f/\partial x = \partial f/\partial y = -4$.
#
# In the drawings below each variable carries its forward value above the arrow
# (green) and the gradient of the output with respect to it below (red).
#
# `hwlib.graphdraw.CompGraph` is the tool we use all along: `g.op(label, inputs, output)`
# adds one operator, and `g.draw(values, grads)` draws the graph with two dicts keyed
# by variable name. Here is the structure of the warm-up graph:

# %%
warmup = example_add_mul()
print(warmup)
for op in warmup.ops:
    print(f"  {op.outputs} = {op.label}{op.inputs}")

# %% [markdown]
# In code, the forward pass has **one line per operator output** and the backward
# pass **one line per operator input**, visited in reverse order. Gradients are named
# `grad_<variable>`; `grad_f = 1.0` starts the backward pass.

# %% nbgrader={"grade": false, "grade_id": "warmup_code", "locked": true, "schema_version": 3, "solution": false}
def add_mul_forward_backward(x, y, z):
    """f = (x + y) z. Returns (values, grads): dicts keyed by the graph's variable names."""
    # forward pass: one line per operator output
    q = x + y
    f = q * z
    # backward pass: one line per operator input, last operator first
    grad_f = 1.0
    grad_q = grad_f * z  # × node, input q: local derivative is the other factor
    grad_z = grad_f * q  # × node, input z
    grad_x = grad_q      # + node: local derivative 1
    grad_y = grad_q
    values = {"x": x, "y": y, "z": z, "q": q, "f": f}
    grads = {"x": grad_x, "y": grad_y, "z": grad_z, "q": grad_q, "f": grad_f}
    return values, grads


warmup_values, warmup_grads = add_mul_forward_backward(-2.0, 5.0, -4.0)
print("f =", warmup_values["f"], " df/dx, df/dy, df/dz =", warmup_grads["x"], warmup_grads["y"], warmup_grads["z"])
display(example_add_mul().draw(warmup_values, warmup_grads))

# %% [markdown]
# Numeric gradients are for *checking* your work: an answer that computes its gradient with the
# `hwlib.gradcheck` helpers, by finite differences or by calling its own forward pass scores 0 for
# that question (the autograder reads your code and times large hidden cases).
#
# How do we know the backward pass is right? A **numeric gradient check** nudges
# each input by $\pm h$ and compares the central difference
# $\bigl(f(x + h) - f(x - h)\bigr) / 2h$ with our gradient, reporting the relative
# error $|a - n| / (|a| + |n|)$. A correct backward pass gives about $10^{-10}$ or
# less; a mistake gives something near 1. `check_scalar_graph` does this for a
# function that returns `(output, grads)`:

# %%
def add_mul(x, y, z):
    values, grads = add_mul_forward_backward(x, y, z)
    return values["f"], (grads["x"], grads["y"], grads["z"])


check_scalar_graph(add_mul, {"x": -2.0, "y": 5.0, "z": -4.0});

# %% [markdown]
# ## Part 2 — The sigmoid neuron
#
# A single neuron with two inputs and a bias computes
#
# $$f(\vec x, \vec w) = \frac{1}{1 + e^{-(w_0 x_0 + w_1 x_1 + w_2)}}$$
#
# We will evaluate it at the handout's point $\vec w = [1, 3, -2]$, $\vec x = [5, 8]$.
#
# ### Q1.1 — `build_sigmoid_neuron_graph` (1 point)
#
# Build the graph of $f$ using only the primitives `MUL` (×), `ADD` (+, two inputs),
# `NEG` (−, negation of one input), `PLUS_ONE` (+1), `EXP` (exp) and `RECIPROCAL` (1/x).
# So that everyone's graphs (and the gradients in Q1.2) can be compared, use exactly
# these variable names:
#
# | variable | meaning |
# | --- | --- |
# | `w0`, `x0`, `w1`, `x1`, `w2` | the inputs |
# | `p0` | $w_0 x_0$ |
# | `p1` | $w_1 x_1$ |
# | `s` | $p_0 + p_1$ |
# | `z` | $s + w_2$ (the *pre-activation*) |
# | `n` | $-z$ |
# | `e` | $\exp(n)$ |
# | `d` | $e + 1$ |
# | `f` | $1/d$, the output |
#
# Done = the test below passes: eight operators with the right labels, inputs
# `w0, x0, w1, x1, w2`, the single output `f`, and a graph that computes $f$.

# %% nbgrader={"grade": false, "grade_id": "build_sigmoid_neuron_graph_answer", "locked": false, "schema_version": 3, "solution": true}
def build_sigmoid_neuron_graph():
    """The sigmoid neuron f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) as a CompGraph.

    Returns:
        CompGraph with inputs w0, x0, w1, x1, w2, output f and the variable names of the table.
    """
    g = CompGraph("sigmoid neuron from primitives")
    ### BEGIN SOLUTION
    g.op(MUL, ["w0", "x0"], "p0")
    g.op(MUL, ["w1", "x1"], "p1")
    g.op(ADD, ["p0", "p1"], "s")
    g.op(ADD, ["s", "w2"], "z")
    g.op(NEG, ["z"], "n")
    g.op(EXP, ["n"], "e")
    g.op(PLUS_ONE, ["e"], "d")
    g.op(RECIPROCAL, ["d"], "f")
    ### END SOLUTION
    return g


build_sigmoid_neuron_graph().draw()

# %% nbgrader={"grade": true, "grade_id": "build_sigmoid_neuron_graph_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
graph = run("build_sigmoid_neuron_graph", build_sigmoid_neuron_graph)
expect_true("build_sigmoid_neuron_graph", isinstance(graph, CompGraph),
            f"expected a CompGraph, got {type(graph).__name__}.", hint="end the function with `return g`")
expect_true("build_sigmoid_neuron_graph inputs", sorted(graph.inputs) == sorted(["w0", "x0", "w1", "x1", "w2"]),
            f"the graph's inputs are {graph.inputs}; expected w0, x0, w1, x1, w2.",
            hint="a variable no op produces is an input: check the spelling of every name")
expect_true("build_sigmoid_neuron_graph outputs", graph.outputs == ["f"],
            f"the graph's outputs are {graph.outputs}; expected just ['f'].",
            hint="a variable no op reads is an output: every intermediate must feed the next op")
labels = sorted(op.label for op in graph.ops)
wanted = sorted([MUL, MUL, ADD, ADD, NEG, EXP, PLUS_ONE, RECIPROCAL])
expect_true("build_sigmoid_neuron_graph operators", labels == wanted,
            f"the operator labels are {labels}; expected {wanted}.",
            hint="one op per primitive, labelled with the constants MUL, ADD, NEG, EXP, PLUS_ONE, RECIPROCAL")
passed("build_sigmoid_neuron_graph")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "build_sigmoid_neuron_graph")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.2 — `sigmoid_neuron_primitives` (2 points)
#
# Run the forward pass through every node of your graph, then the backward pass,
# one line per edge as in the warm-up. Return two dicts keyed by the variable names
# of the table: `values` (every variable's value) and `grads` (the derivative of
# $f$ with respect to every variable, so `grads["f"] = 1`).
#
# Local derivatives you need: $\frac{d}{dn} e^n = e^n$, $\frac{d}{dd}\frac1d = -\frac{1}{d^2}$,
# negation flips the sign, +1 and + pass the gradient through, × multiplies by the
# *other* factor.
#
# Done = the test below passes: your values follow the table at the handout point, and at a
# second, unsaturated point every one of your 13 gradients matches a numeric derivative (nudge
# that one variable, recompute everything after it as in the table, and difference $f$). The
# hidden tests also compare your gradients at the handout point, to a relative error of $10^{-6}$.

# %% nbgrader={"grade": false, "grade_id": "setup_neuron", "locked": true, "schema_version": 3, "solution": false}
W_HANDOUT = np.array([1.0, 3.0, -2.0])
X_HANDOUT = np.array([5.0, 8.0])
W_SECOND = np.array([0.4, -0.2, 0.3])  # a second point where the neuron is not saturated
X_SECOND = np.array([1.5, 0.5])
SIGMOID_NEURON_VARIABLES = ["w0", "x0", "w1", "x1", "w2", "p0", "p1", "s", "z", "n", "e", "d", "f"]
NEURON_INPUTS = ["w0", "w1", "w2", "x0", "x1"]

# %% nbgrader={"grade": false, "grade_id": "sigmoid_neuron_primitives_answer", "locked": false, "schema_version": 3, "solution": true}
def sigmoid_neuron_primitives(w, x):
    """Forward and backward pass through the primitive graph of the sigmoid neuron.

    Args:
        w: the three weights [w0, w1, w2] (array or list, shape (3,)).
        x: the two inputs [x0, x1] (shape (2,)).

    Returns:
        (values, grads): dicts keyed by SIGMOID_NEURON_VARIABLES; values[v] is the
        value of variable v, grads[v] = df/dv (floats).
    """
    w0, w1, w2 = (float(v) for v in w)
    x0, x1 = (float(v) for v in x)
    ### BEGIN SOLUTION
    # forward pass
    p0 = w0 * x0
    p1 = w1 * x1
    s = p0 + p1
    z = s + w2
    n = -z
    e = math.exp(n)
    d = e + 1.0
    f = 1.0 / d
    # backward pass
    grad_f = 1.0
    grad_d = -grad_f / d**2
    grad_e = grad_d
    grad_n = grad_e * e
    grad_z = -grad_n
    grad_s = grad_z
    grad_w2 = grad_z
    grad_p0 = grad_s
    grad_p1 = grad_s
    grad_w0 = grad_p0 * x0
    grad_x0 = grad_p0 * w0
    grad_w1 = grad_p1 * x1
    grad_x1 = grad_p1 * w1
    ### END SOLUTION
    values = {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2,
              "p0": p0, "p1": p1, "s": s, "z": z, "n": n, "e": e, "d": d, "f": f}
    grads = {"w0": grad_w0, "x0": grad_x0, "w1": grad_w1, "x1": grad_x1, "w2": grad_w2,
             "p0": grad_p0, "p1": grad_p1, "s": grad_s, "z": grad_z, "n": grad_n, "e": grad_e,
             "d": grad_d, "f": grad_f}
    return values, grads

# %% nbgrader={"grade": false, "grade_id": "neuron_adapter", "locked": true, "schema_version": 3, "solution": false}
def neuron_by_scalars(w0, w1, w2, x0, x1):
    """sigmoid_neuron_primitives with five scalar arguments: (values, grads)."""
    return sigmoid_neuron_primitives(np.array([w0, w1, w2]), np.array([x0, x1]))


#: The table of Q1.2 as code: each intermediate variable from the ones before it.
NEURON_TABLE = {"p0": lambda v: v["w0"] * v["x0"], "p1": lambda v: v["w1"] * v["x1"], "s": lambda v: v["p0"] + v["p1"],
                "z": lambda v: v["s"] + v["w2"], "n": lambda v: -v["z"], "e": lambda v: math.exp(v["n"]),
                "d": lambda v: v["e"] + 1.0, "f": lambda v: 1.0 / v["d"]}


def output_after_nudge(values, name, value):
    """f when variable `name` is set to `value` and every later variable of the table is recomputed."""
    changed = {**values, name: value}
    order = list(NEURON_TABLE)
    for later in order[order.index(name) + 1 if name in order else 0:]:
        changed[later] = NEURON_TABLE[later](changed)
    return changed["f"]


def neuron_output_and_input_grads(w0, w1, w2, x0, x1):
    """(f, (df/dw0, df/dw1, df/dw2, df/dx0, df/dx1)), the shape check_scalar_graph expects."""
    values, grads = neuron_by_scalars(w0, w1, w2, x0, x1)
    return values["f"], tuple(grads[name] for name in NEURON_INPUTS)

# %% nbgrader={"grade": true, "grade_id": "sigmoid_neuron_primitives_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
values, grads = run("sigmoid_neuron_primitives", sigmoid_neuron_primitives, W_HANDOUT, X_HANDOUT)
for what, table in (("values", values), ("grads", grads)):
    expect_true(f"sigmoid_neuron_primitives {what}",
                isinstance(table, dict) and sorted(table) == sorted(SIGMOID_NEURON_VARIABLES),
                f"expected a dict with the keys {SIGMOID_NEURON_VARIABLES}; got "
                f"{sorted(table) if isinstance(table, dict) else type(table).__name__}.",
                hint="keep the two dict-building statements at the end of the function")
point = {"w": W_HANDOUT, "x": X_HANDOUT}
for name, rule in NEURON_TABLE.items():  # forward: each variable from your own earlier values, as in the table
    expect_close(f"values[{name!r}] from the table", values[name], rule(values), inputs=point, atol=0, rtol=1e-9,
                 hint="follow the table of Q1.1 line by line")
values, grads = run("sigmoid_neuron_primitives", sigmoid_neuron_primitives, W_SECOND, X_SECOND)
point = {"w": W_SECOND, "x": X_SECOND}
for name in SIGMOID_NEURON_VARIABLES:  # backward: each gradient against a numeric derivative at the second point
    step = 1e-6 * max(1.0, abs(values[name]))
    numeric = (output_after_nudge(values, name, values[name] + step)
               - output_after_nudge(values, name, values[name] - step)) / (2 * step)
    expect_close(f"grads[{name!r}] (got) vs numeric df/d{name} (expected)", grads[name], numeric, inputs=point,
                 atol=1e-9, rtol=1e-6, hint="backpropagate one primitive at a time, last operator first: the "
                                            "upstream gradient times that primitive's local derivative")
report = check_scalar_graph(neuron_output_and_input_grads, dict(zip(NEURON_INPUTS, [*W_SECOND, *X_SECOND])),
                            threshold=1e-8, title="numeric check at the second point")
expect_gradcheck(report, hint="check each local derivative; the numeric check uses a non-saturated point")
passed("sigmoid_neuron_primitives")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "sigmoid_neuron_primitives")
### END HIDDEN TESTS

# %% [markdown]
# Here is your graph with your numbers:

# %%
primitive_values, primitive_grads = sigmoid_neuron_primitives(W_HANDOUT, X_HANDOUT)
build_sigmoid_neuron_graph().draw(primitive_values, primitive_grads)

# %% [markdown]
# **Saturation.** The pre-activation is $z = 1\cdot5 + 3\cdot8 - 2 = 27$, so
# $f = \sigma(27) \approx 1 - 1.9\times10^{-12}$ and every gradient with respect to
# $\vec w$ and $\vec x$ is of order $10^{-12}$–$10^{-11}$. The neuron is *saturated*:
# moving any input changes the output by almost nothing, which is why training
# stalls when sigmoid units saturate.
#
# Two practical consequences:
#
# * compare such gradients with a **relative** tolerance. An absolute tolerance of,
#   say, $10^{-8}$ would accept *any* answer here, including zero;
# * a numeric gradient check is useless at this point: changing $w_0$ by
#   $h = 10^{-6}$ changes $f$ by about $10^{-17}$, less than the spacing of
#   floating-point numbers near 1 ($2.2\times10^{-16}$). The central difference comes
#   out as 0 (or noise), so the check fails even for a correct backward pass — see
#   below. That is why the test above checks numerically at a second, unsaturated
#   point ($z = 0.8$).

# %%
check_scalar_graph(neuron_output_and_input_grads, dict(zip(NEURON_INPUTS, [*W_HANDOUT, *X_HANDOUT])),
                   title="numeric check at the saturated handout point (expected to 'fail')");

# %% [markdown]
# Slide the inputs and watch the values and gradients change (in a live notebook;
# when the notebook runs headless you see one static drawing). Try making $z$ small,
# e.g. $w_1 = 0$, $w_2 = -5$ (with $w_0 = 1$, $\vec x = [5, 8]$): then $z = 0$, where $\sigma$ is
# steepest ($\sigma'(0) = 1/4$), and the gradients grow to order 1 ($\partial f/\partial w_0 = 1.25$,
# $\partial f/\partial w_1 = 2$) — about $10^{11}$ times larger than at the handout point.

# %%
sigmoid_neuron_explorer(neuron_by_scalars, build_sigmoid_neuron_graph())

# %% [markdown]
# ### A σ node
#
# A graph can use bigger building blocks when their local derivative is simple. The
# *sigmoid* is
#
# $$\sigma(z) = \frac{1}{1 + e^{-z}}.$$
#
# ### Q1.3 — `sigmoid` (1 point)
#
# Implement $\sigma$ elementwise for a scalar or an array of any shape.
# Optional but good practice: avoid overflow for large negative $z$ (where $e^{-z}$
# overflows) by using $\sigma(z) = e^{z}/(1 + e^{z})$ for $z < 0$. Whatever you do,
# the result must never be `nan` (try $z = \pm 800$).
#
# Done = matches $\sigma$ to $10^{-6}$ relative error, for several shapes and for large $|z|$.

# %% nbgrader={"grade": false, "grade_id": "sigmoid_answer", "locked": false, "schema_version": 3, "solution": true}
def sigmoid(z):
    """The logistic sigmoid 1 / (1 + exp(-z)), elementwise.

    Args:
        z: a float or an array of any shape.

    Returns:
        An array of the same shape as z (0-d for a scalar), values in [0, 1].
    """
    z = np.asarray(z, dtype=np.float64)
    ### BEGIN SOLUTION
    small = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "sigmoid_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
expect_close("sigmoid", run("sigmoid", sigmoid, z), [0.04742587317756678, 0.3775406687981454, 0.5,
                                                     0.6224593312018546, 0.9525741268224334],
             inputs={"z": z}, hint="1 / (1 + exp(-z))")
expect_close("sigmoid(27)", run("sigmoid", sigmoid, 27.0), 0.9999999999981204, inputs={"z": 27.0}, rtol=1e-12)
z = np.array([[-800.0, 800.0], [-40.0, 40.0]])
expect_close("sigmoid (large |z|)", run("sigmoid", sigmoid, z), [[0.0, 1.0], [4.248354255291589e-18, 1.0]],
             inputs={"z": z}, atol=1e-20, hint="exp(z) / (1 + exp(z)) gives inf/inf = nan for z = 800")
passed("sigmoid")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "sigmoid")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.4 — `sigmoid_grad` (1 point)
#
# The derivative of the sigmoid can be written with the sigmoid itself:
#
# $$\sigma'(z) = \bigl(1 - \sigma(z)\bigr)\,\sigma(z).$$
#
# Implement it elementwise (you may call your `sigmoid`). Done = matches to $10^{-6}$.

# %% nbgrader={"grade": false, "grade_id": "sigmoid_grad_answer", "locked": false, "schema_version": 3, "solution": true}
def sigmoid_grad(z):
    """d sigma / dz = (1 - sigma(z)) sigma(z), elementwise.

    Args:
        z: a float or an array of any shape.

    Returns:
        An array of the same shape as z.
    """
    ### BEGIN SOLUTION
    s = sigmoid(z)
    return (1.0 - s) * s
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "sigmoid_grad_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
expect_close("sigmoid_grad", run("sigmoid_grad", sigmoid_grad, z),
             [0.045176659730912, 0.2350037122015945, 0.25, 0.2350037122015945, 0.045176659730912],
             inputs={"z": z}, hint="use sigma(z), not z, inside (1 - .) * .")
z = np.array([[-1.3, 0.2], [2.5, 0.7]])
expect_close("sigmoid_grad (2-D)", run("sigmoid_grad", sigmoid_grad, z),
             [[0.16829836246906024, 0.24751657271185995], [0.07010371654510807, 0.22171287329310904]],
             inputs={"z": z}, hint="(1 - sigma(z)) * sigma(z), elementwise")
passed("sigmoid_grad")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "sigmoid_grad")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.5 — *written*: derive $\sigma'(z) = (1 - \sigma(z))\,\sigma(z)$ (1 point)
#
# Show the steps in the next cell (a few lines of LaTeX).

# %% [markdown] nbgrader={"grade": true, "grade_id": "sigmoid_derivative_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Write $\sigma(z) = (1 + e^{-z})^{-1}$. By the chain rule,
#
# $$\sigma'(z) = -(1 + e^{-z})^{-2}\cdot\frac{d}{dz}(1 + e^{-z}) = \frac{e^{-z}}{(1 + e^{-z})^2}
#   = \frac{1}{1 + e^{-z}}\cdot\frac{e^{-z}}{1 + e^{-z}}.$$
#
# The second factor is $\frac{(1 + e^{-z}) - 1}{1 + e^{-z}} = 1 - \sigma(z)$, so
# $\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$.
#
# === BEGIN MARK SCHEME ===
# 1 point for a correct chain-rule derivation that reaches the stated form
# (the rewriting of $e^{-z}/(1+e^{-z})$ as $1-\sigma$ must appear).
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q1.6 — `sigmoid_neuron_sigma_node` (1 point)
#
# Now the same neuron with a σ node: the graph below has only five operators. Its
# variables are `w0, x0, w1, x1, w2, p0, p1, s, z, f` with the same meanings as before
# and `f = σ(z)`. Implement the forward and backward pass. In the backward pass the
# σ node's local derivative is $(1 - f)\,f$ — note that it reuses the *output* of the
# forward pass, a common pattern.
#
# Done = matches the gradients of Q1.2: to a relative error of $10^{-3}$ at the
# saturated handout point (the comparison below shows why not tighter) and of
# $10^{-8}$ at the second point.

# %% nbgrader={"grade": false, "grade_id": "sigma_node_setup", "locked": true, "schema_version": 3, "solution": false}
SIGMA_NODE_VARIABLES = ["w0", "x0", "w1", "x1", "w2", "p0", "p1", "s", "z", "f"]


def sigma_node_graph():
    """The sigmoid neuron with a single σ node (five operators)."""
    return (CompGraph("sigmoid neuron with a σ node")
            .op(MUL, ["w0", "x0"], "p0")
            .op(MUL, ["w1", "x1"], "p1")
            .op(ADD, ["p0", "p1"], "s")
            .op(ADD, ["s", "w2"], "z")
            .op(SIGMA, ["z"], "f"))


sigma_node_graph().draw()

# %% nbgrader={"grade": false, "grade_id": "sigmoid_neuron_sigma_node_answer", "locked": false, "schema_version": 3, "solution": true}
def sigmoid_neuron_sigma_node(w, x):
    """Forward and backward pass through the σ-node graph of the sigmoid neuron.

    Args:
        w: the three weights [w0, w1, w2], shape (3,).
        x: the two inputs [x0, x1], shape (2,).

    Returns:
        (values, grads): dicts keyed by SIGMA_NODE_VARIABLES (floats); grads[v] = df/dv.
    """
    w0, w1, w2 = (float(v) for v in w)
    x0, x1 = (float(v) for v in x)
    ### BEGIN SOLUTION
    p0 = w0 * x0
    p1 = w1 * x1
    s = p0 + p1
    z = s + w2
    f = float(sigmoid(z))
    grad_f = 1.0
    grad_z = grad_f * f * (1.0 - f)
    grad_s = grad_z
    grad_w2 = grad_z
    grad_p0 = grad_s
    grad_p1 = grad_s
    grad_w0 = grad_p0 * x0
    grad_x0 = grad_p0 * w0
    grad_w1 = grad_p1 * x1
    grad_x1 = grad_p1 * w1
    ### END SOLUTION
    values = {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2, "p0": p0, "p1": p1, "s": s, "z": z, "f": f}
    grads = {"w0": grad_w0, "x0": grad_x0, "w1": grad_w1, "x1": grad_x1, "w2": grad_w2,
             "p0": grad_p0, "p1": grad_p1, "s": grad_s, "z": grad_z, "f": grad_f}
    return values, grads

# %% nbgrader={"grade": true, "grade_id": "sigmoid_neuron_sigma_node_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
values, grads = run("sigmoid_neuron_sigma_node", sigmoid_neuron_sigma_node, W_HANDOUT, X_HANDOUT)
for what, table in (("values", values), ("grads", grads)):
    expect_true(f"sigmoid_neuron_sigma_node {what}",
                isinstance(table, dict) and sorted(table) == sorted(SIGMA_NODE_VARIABLES),
                f"expected a dict with the keys {SIGMA_NODE_VARIABLES}; got "
                f"{sorted(table) if isinstance(table, dict) else type(table).__name__}.",
                hint="keep the two dict-building statements at the end of the function")
handout_grads = {"w0": 9.397644082660089e-12, "w1": 1.5036230532256143e-11, "w2": 1.879528816532018e-12,
                 "x0": 1.879528816532018e-12, "x1": 5.638586449596054e-12, "z": 1.879528816532018e-12, "f": 1.0}
second_grads = {"w0": 0.32086454478044163, "w1": 0.10695484826014721, "w2": 0.21390969652029443,
                "x0": 0.08556387860811777, "x1": -0.04278193930405889, "z": 0.21390969652029443, "f": 1.0}
# relative tolerance 1e-3 at z = 27, where 1 - f keeps only ~5 significant digits (see the comparison below)
for w, x, tolerance, expected in ((W_HANDOUT, X_HANDOUT, 1e-3, handout_grads), (W_SECOND, X_SECOND, 1e-8, second_grads)):
    values, grads = run("sigmoid_neuron_sigma_node", sigmoid_neuron_sigma_node, w, x)
    point = {"w": w, "x": x}
    expect_close("values['z']", values["z"], w[0] * x[0] + w[1] * x[1] + w[2], inputs=point, hint="z = w0*x0 + w1*x1 + w2")
    expect_close("values['f']", values["f"], float(sigmoid(values["z"])), inputs=point, atol=0, rtol=1e-12,
                 hint="f = sigmoid(z)")
    for name, value in expected.items():
        expect_close(f"grads[{name!r}]", grads[name], value, inputs=point, atol=0, rtol=tolerance,
                     hint="the σ node's local derivative is (1 - f) * f; the rest is as in Q1.2")
passed("sigmoid_neuron_sigma_node")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "sigmoid_neuron_sigma_node")
### END HIDDEN TESTS

# %% [markdown]
# Both graphs with your numbers, and the gradients side by side:

# %%
sigma_values, sigma_grads = sigmoid_neuron_sigma_node(W_HANDOUT, X_HANDOUT)
display(build_sigmoid_neuron_graph().draw(primitive_values, primitive_grads))
display(sigma_node_graph().draw(sigma_values, sigma_grads))

for title, w, x in (("handout point (z = 27)", W_HANDOUT, X_HANDOUT), ("second point (z = 0.8)", W_SECOND, X_SECOND)):
    grads_a = sigmoid_neuron_primitives(w, x)[1]
    grads_b = sigmoid_neuron_sigma_node(w, x)[1]
    print(f"{title}\n  {'':6} {'primitives':>24} {'σ node':>24} {'relative difference':>20}")
    for name in NEURON_INPUTS:
        a, b = grads_a[name], grads_b[name]
        print(f"  df/d{name:<2} {a:>24.16e} {b:>24.16e} {rel_error(a, b):>20.1e}")

# %% [markdown]
# ### Q1.7 — *written*: are the two sets of gradients the same? Why? (1 point)
#
# Look at the table above. Answer in the next cell, in two or three sentences.

# %% [markdown] nbgrader={"grade": true, "grade_id": "sigma_node_comparison_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Mathematically they are identical: the σ node is just the chain $-$, exp, $+1$, $1/x$
# collapsed into one operator, and $(1-\sigma)\sigma$ is the product of those four
# local derivatives, so the chain rule gives the same $\partial f/\partial\vec w$ and
# $\partial f/\partial\vec x$ (at the second point they agree to about $10^{-16}$).
# At the saturated handout point they agree only to about 5 digits (relative
# difference ~$4\times10^{-5}$): $\sigma(27)$ is stored as a double close to 1, and
# $1 - \sigma(27) \approx 1.9\times10^{-12}$ loses most of its significant digits to
# cancellation, while the primitive graph computes $e^{-27}$ directly. Same math,
# slightly different floating-point results.
#
# === BEGIN MARK SCHEME ===
# 1 point for "same in exact arithmetic" with the reason (σ collapses the
# primitive chain / chain rule), and noticing the small difference at saturation (any
# sensible explanation: cancellation in $1 - \sigma$, rounding).
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## Part 3 — Three given graphs: f1, f2, f3
#
# Each function below receives its inputs as scalars and returns `(L, grads)`, where
# `grads` is a tuple of the derivatives of the output with respect to the inputs,
# **in argument order**. The graphs are drawn for you with the handout's variable
# names; implement the forward pass exactly as drawn (one line per operator) and
# then the backward pass.
#
# How you are checked: `hwlib.samples.load_scalar_samples()` holds sample inputs and
# the matching outputs (your forward pass must reproduce them), and a numeric gradient
# check must pass with a relative error below $10^{-8}$ at every sample.

# %% nbgrader={"grade": false, "grade_id": "samples_setup", "locked": true, "schema_version": 3, "solution": false}
scalar_samples = load_scalar_samples()
for name in ("f1", "f2", "f3"):
    print(name, "first sample:", scalar_samples[name][0])
display(f1_graph().draw(), f2_graph().draw(), f3_graph().draw())

# %% [markdown]
# ### Q1.8 — `f1` (1 point)
#
# $a_1 = x_1 w_1$, $a_2 = x_2 w_2$, $\hat y = a_1 + a_2 + b$, $d = \hat y - y$, $L = d^2$.
# Return `L, (grad_x1, grad_w1, grad_x2, grad_w2, grad_b, grad_y)`.

# %% nbgrader={"grade": false, "grade_id": "f1_answer", "locked": false, "schema_version": 3, "solution": true}
def f1(x1, w1, x2, w2, b, y):
    """L = (x1 w1 + x2 w2 + b - y)^2 through the graph f1_graph().

    Args: six floats.
    Returns:
        (L, (grad_x1, grad_w1, grad_x2, grad_w2, grad_b, grad_y)), all floats.
    """
    ### BEGIN SOLUTION
    a1 = x1 * w1
    a2 = x2 * w2
    y_hat = a1 + a2 + b
    d = y_hat - y
    L = d ** 2
    grad_L = 1.0
    grad_d = grad_L * 2 * d
    grad_y_hat = grad_d
    grad_y = -grad_d
    grad_a1 = grad_y_hat
    grad_a2 = grad_y_hat
    grad_b = grad_y_hat
    grad_x1 = grad_a1 * w1
    grad_w1 = grad_a1 * x1
    grad_x2 = grad_a2 * w2
    grad_w2 = grad_a2 * x2
    ### END SOLUTION
    return L, (grad_x1, grad_w1, grad_x2, grad_w2, grad_b, grad_y)

# %% nbgrader={"grade": true, "grade_id": "f1_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
for number, sample in enumerate(scalar_samples["f1"]):
    L, grads = run("f1", f1, **sample["inputs"])
    expect_close(f"f1 forward, sample {number}", L, sample["output"], inputs=sample["inputs"],
                 hint="forward pass as drawn: L = (x1*w1 + x2*w2 + b - y)**2")
    expect_gradcheck(check_scalar_graph(f1, sample["inputs"], threshold=1e-8, title=f"f1, sample {number}",
                                        verbose=False),
                     hint="the square's local derivative depends on d; the − node treats its two inputs with opposite signs")
passed("f1", len(scalar_samples["f1"]))
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "f1")
### END HIDDEN TESTS

# %%
sample = scalar_samples["f1"][0]["inputs"]
L, grads = f1(**sample)
f1_graph().draw({**sample, "L": L}, {**dict(zip(["x1", "w1", "x2", "w2", "b", "y"], grads)), "L": 1.0})

# %% [markdown]
# ### Q1.9 — `f2` (1 point)
#
# $d = 2x$, $e = \exp(d)$, $t = e - 1$, $b = e + 1$, $y = t / b$. Note that $e$ feeds
# two operators, so its gradient is the **sum** of what flows back from both.
# Return `y, (grad_x,)` — a tuple with one element.

# %% nbgrader={"grade": false, "grade_id": "f2_answer", "locked": false, "schema_version": 3, "solution": true}
def f2(x):
    """y = (exp(2x) - 1) / (exp(2x) + 1) through the graph f2_graph().

    Args: x, a float.
    Returns:
        (y, (grad_x,)), floats.
    """
    ### BEGIN SOLUTION
    d = 2 * x
    e = math.exp(d)
    t = e - 1
    b = e + 1
    y = t / b
    grad_y = 1.0
    grad_t = grad_y / b
    grad_b = -grad_y * t / b**2
    grad_e = grad_t + grad_b
    grad_d = grad_e * e
    grad_x = grad_d * 2
    ### END SOLUTION
    return y, (grad_x,)

# %% nbgrader={"grade": true, "grade_id": "f2_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
for number, sample in enumerate(scalar_samples["f2"]):
    y, grads = run("f2", f2, **sample["inputs"])
    expect_close(f"f2 forward, sample {number}", y, sample["output"], inputs=sample["inputs"],
                 hint="forward pass as drawn: y = (exp(2x) - 1) / (exp(2x) + 1)")
    expect_gradcheck(check_scalar_graph(f2, sample["inputs"], threshold=1e-8, title=f"f2, sample {number}",
                                        verbose=False),
                     hint="the ÷ node has one local derivative per input; e feeds two nodes, so add both gradients")
passed("f2", len(scalar_samples["f2"]))
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "f2")
### END HIDDEN TESTS

# %%
x = scalar_samples["f2"][0]["inputs"]["x"]
y, (grad_x,) = f2(x)
f2_graph().draw({"x": x, "y": y}, {"x": grad_x, "y": 1.0})

# %% [markdown]
# ### Q1.10 — `f3` (2 points)
#
# Two scores $s_1, s_2$ and a label $y \in \{1, 2\}$: $e_i = \exp(s_i)$,
# $d = e_1 + e_2$, $p_i = e_i / d$; the *choose* node outputs $p_+ = p_1$ if $y = 1$
# and $p_2$ if $y = 2$; $L = -\log p_+$. The label gets no gradient. Return
# `L, (grad_s1, grad_s2)`.
#
# Hints: the choose node sends its upstream gradient to the input it picked and 0 to
# the other; $d$ and each $e_i$ feed two operators.

# %% nbgrader={"grade": false, "grade_id": "f3_answer", "locked": false, "schema_version": 3, "solution": true}
def f3(s1, s2, y):
    """L = -log(exp(s_y) / (exp(s1) + exp(s2))) through the graph f3_graph().

    Args:
        s1, s2: floats (scores).
        y: int, 1 or 2 (the label; not differentiated).
    Returns:
        (L, (grad_s1, grad_s2)), floats.
    """
    if y not in (1, 2):
        raise ValueError(f"y must be 1 or 2, got {y!r}")
    ### BEGIN SOLUTION
    e1 = math.exp(s1)
    e2 = math.exp(s2)
    d = e1 + e2
    p1 = e1 / d
    p2 = e2 / d
    p_plus = p1 if y == 1 else p2
    L = -math.log(p_plus)
    grad_L = 1.0
    grad_p_plus = -grad_L / p_plus
    grad_p1 = grad_p_plus if y == 1 else 0.0
    grad_p2 = grad_p_plus if y == 2 else 0.0
    grad_d = -grad_p1 * e1 / d**2 - grad_p2 * e2 / d**2
    grad_e1 = grad_p1 / d + grad_d
    grad_e2 = grad_p2 / d + grad_d
    grad_s1 = grad_e1 * e1
    grad_s2 = grad_e2 * e2
    ### END SOLUTION
    return L, (grad_s1, grad_s2)

# %% nbgrader={"grade": true, "grade_id": "f3_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
for number, sample in enumerate(scalar_samples["f3"]):
    L, grads = run("f3", f3, **sample["inputs"])
    expect_close(f"f3 forward, sample {number}", L, sample["output"], inputs=sample["inputs"],
                 hint="forward pass as drawn; choose p1 when y == 1 and p2 when y == 2")
    expect_gradcheck(check_scalar_graph(f3, sample["inputs"], wrt=["s1", "s2"], threshold=1e-8,
                                        title=f"f3, sample {number}", verbose=False),
                     hint="one local derivative per operator input (−log, ÷, +, exp); e_i and d each collect two gradients")
passed("f3", len(scalar_samples["f3"]))
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "f3")
### END HIDDEN TESTS

# %%
sample = scalar_samples["f3"][0]["inputs"]
L, (grad_s1, grad_s2) = f3(**sample)
f3_graph().draw({**sample, "L": L}, {"s1": grad_s1, "s2": grad_s2, "L": 1.0})

# %% [markdown]
# **Just for fun (not graded):** each of these graphs is a familiar piece of machine
# learning. Which ones? Try it before opening the answer.
#
# <details><summary>answer</summary>
#
# f1 is the squared-error (L2) loss of a linear regression model with two features;
# f2 is $\tanh(x)$ (compare with `np.tanh`); f3 is the softmax cross-entropy loss for
# two classes — the logistic loss, since $p_1 = \sigma(s_1 - s_2)$.
# </details>

# %% [markdown]
# ## Part 4 — A graph of your own: f4
#
# Design a function of your choice with **at least five operators** (any you like:
# ×, +, exp, log, sin, $x^2$, ÷, σ, copy, ...) and any number of scalar inputs.
#
# ### Q1.11 — `f4` (2 points)
#
# Implement `f4(<your inputs>) -> (L, grads)` with one gradient per input, in argument
# order. Change the argument list of the stub to your own inputs (all of them are
# differentiated; no integer labels here).
#
# How it is graded: at several random points with **every input drawn uniformly from
# [0.5, 2]**, your gradients must match numeric ones (relative error below $10^{-6}$, or an
# absolute error that is tiny compared with $L$). So make sure your function is smooth
# and defined there (no $|x|$ kinks, no $\log$ of something that can be negative).
# Depending on your operators, errors around $10^{-8}$ are normal and fine.
#
# A good design mixes operator kinds (a product, a nonlinearity, a sum, a power, a quotient ...), so
# that the backward pass exercises different local derivatives; draw it on paper first.

# %% nbgrader={"grade": false, "grade_id": "f4_answer", "locked": false, "schema_version": 3, "solution": true}
def f4(a, b, c, d):
    """A function of my own design with at least five operators.

    Args: scalar floats (change the argument list to your design).
    Returns:
        (L, grads): L a float; grads a tuple with one float per argument, in order.
    """
    ### BEGIN SOLUTION
    u = a * b
    v = math.sin(u)
    r = v + c
    s = r ** 2
    k = math.exp(d)
    L = s / k
    grad_L = 1.0
    grad_s = grad_L / k
    grad_k = -grad_L * s / k**2
    grad_d = grad_k * k
    grad_r = grad_s * 2 * r
    grad_v = grad_r
    grad_c = grad_r
    grad_u = grad_v * math.cos(u)
    grad_a = grad_u * b
    grad_b = grad_u * a
    return L, (grad_a, grad_b, grad_c, grad_d)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "f4_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
parameters = list(inspect.signature(f4).parameters)
expect_true("f4", len(parameters) >= 1, "f4 takes no inputs.", hint="give f4 the scalar inputs of your design")
for point in np.random.default_rng(4).uniform(0.5, 2.0, size=(3, len(parameters))):
    inputs = dict(zip(parameters, point.tolist()))
    L, grads = run("f4", f4, *point.tolist())
    grads = grads if isinstance(grads, (tuple, list)) else (grads,)
    expect_true("f4", len(grads) == len(parameters),
                f"f4 has {len(parameters)} inputs but returned {len(grads)} gradient(s).",
                hint="return one gradient per input, in argument order")
    numeric = numeric_gradient_scalars(lambda *args: f4(*args)[0], *point.tolist())
    expect_close("f4: your gradients (got) vs numeric gradients (expected)", np.asarray(grads, dtype=np.float64),
                 np.asarray(numeric), inputs=inputs, rtol=1e-6, atol=1e-7 * max(1.0, abs(L)),
                 hint="check each local derivative, and sum the gradients of reused variables")
passed("f4")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "f4")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.12 — `build_f4_graph` (1 point)
#
# Now draw your f4 as a `CompGraph`: one input variable per argument of `f4` (same
# names are nicest), **at least five operators**, and a single output. Labels are free
# text, e.g. `"sin"`, `"^2"`, `"÷"`.

# %% nbgrader={"grade": false, "grade_id": "build_f4_graph_answer", "locked": false, "schema_version": 3, "solution": true}
def build_f4_graph():
    """The computational graph of f4.

    Returns:
        CompGraph with one input per argument of f4, at least five ops and one output.
    """
    g = CompGraph("f4")
    ### BEGIN SOLUTION
    g.op(MUL, ["a", "b"], "u")
    g.op("sin", ["u"], "v")
    g.op(ADD, ["v", "c"], "r")
    g.op("^2", ["r"], "s")
    g.op(EXP, ["d"], "k")
    g.op("÷", ["s", "k"], "L")
    ### END SOLUTION
    return g

# %% nbgrader={"grade": true, "grade_id": "build_f4_graph_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
graph = run("build_f4_graph", build_f4_graph)
expect_true("build_f4_graph", isinstance(graph, CompGraph), f"expected a CompGraph, got {type(graph).__name__}.",
            hint="end the function with `return g`")
expect_true("build_f4_graph", len(graph.ops) >= 5, f"the graph has {len(graph.ops)} operator(s); at least 5 are needed.")
expect_true("build_f4_graph", len(graph.outputs) == 1, f"the graph has the outputs {graph.outputs}; expected exactly one.",
            hint="every intermediate variable must feed a later operator")
parameters = list(inspect.signature(f4).parameters)
expect_true("build_f4_graph", len(graph.inputs) == len(parameters),
            f"the graph has the inputs {graph.inputs} but f4 takes {parameters}.",
            hint="one graph input per argument of f4")
passed("build_f4_graph")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "build_f4_graph")
### END HIDDEN TESTS

# %%
f4_inputs = list(inspect.signature(f4).parameters)
f4_point = dict(zip(f4_inputs, np.linspace(0.6, 1.8, len(f4_inputs)).tolist()))
L, grads = f4(**f4_point)
f4_graph = build_f4_graph()
if sorted(f4_graph.inputs) == sorted(f4_inputs):  # label the drawing when the names match f4's arguments
    output = f4_graph.outputs[0]
    display(f4_graph.draw({**f4_point, output: L}, {**dict(zip(f4_inputs, grads)), output: 1.0}))
else:
    display(f4_graph.draw())

# %% [markdown]
# ## Part 5 — The copy operator
#
# When one variable feeds several operators, it helps to make the fan-out explicit
# with a **copy** operator: `copy(b)` outputs `b1` and `b2`, both equal to `b`. In the
# backward pass each copy gets its own gradient, and the copy node **adds them up**:
# $\partial L/\partial b = \partial L/\partial b_1 + \partial L/\partial b_2$. (That is
# the multivariable chain rule: $b$ influences $L$ along two paths.)
#
# Worked example: $L = a b + c b$ at $a = 2$, $b = -3$, $c = 5$.

# %% nbgrader={"grade": false, "grade_id": "copy_example_code", "locked": true, "schema_version": 3, "solution": false}
def copy_example_forward_backward(a, b, c):
    """L = a*b + c*b with an explicit copy of b. Returns (values, grads) keyed by variable name."""
    b1, b2 = b, b  # copy operator
    d = a * b1
    e = c * b2
    L = d + e
    grad_L = 1.0
    grad_d = grad_L
    grad_e = grad_L
    grad_a = grad_d * b1
    grad_b1 = grad_d * a
    grad_c = grad_e * b2
    grad_b2 = grad_e * c
    grad_b = grad_b1 + grad_b2  # the copy node sums the gradients of its copies
    values = {"a": a, "b": b, "c": c, "b1": b1, "b2": b2, "d": d, "e": e, "L": L}
    grads = {"a": grad_a, "b": grad_b, "c": grad_c, "b1": grad_b1, "b2": grad_b2, "d": grad_d, "e": grad_e,
             "L": grad_L}
    return values, grads


copy_values, copy_grads = copy_example_forward_backward(2.0, -3.0, 5.0)
print("dL/db =", copy_grads["b"], "= a + c")
display(copy_example_graph().draw(copy_values, copy_grads))

# %% [markdown]
# ### Q1.13 — `build_f5_graph` (1 point)
#
# Draw the graph of
#
# $$a = x y + z, \qquad b = a\,(x + x), \qquad w = a b + b$$
#
# with inputs `x`, `y`, `z` and output `w`, using only `ADD`, `MUL` and `COPY`.
# Here $x$ is used three times, and $a$ and $b$ twice each: give every reuse an
# explicit copy node (`g.op(COPY, ["x"], ["x1", "x2", "x3"])`), so that **every
# variable is read by exactly one operator input**. Name the other intermediate
# variables as you like.
#
# Done = the test passes: inputs x, y, z; output w; only +, ×, copy; no variable read
# twice; and the graph evaluates to $w$.

# %% nbgrader={"grade": false, "grade_id": "build_f5_graph_answer", "locked": false, "schema_version": 3, "solution": true}
def build_f5_graph():
    """The graph of a = xy + z, b = a(x + x), w = ab + b with explicit copy operators.

    Returns:
        CompGraph with inputs x, y, z and output w.
    """
    g = CompGraph("f5: a = xy + z, b = a(x + x), w = ab + b")
    ### BEGIN SOLUTION
    g.op(COPY, ["x"], ["x1", "x2", "x3"])
    g.op(MUL, ["x1", "y"], "m")
    g.op(ADD, ["m", "z"], "a")
    g.op(COPY, ["a"], ["a1", "a2"])
    g.op(ADD, ["x2", "x3"], "c")
    g.op(MUL, ["a1", "c"], "b")
    g.op(COPY, ["b"], ["b1", "b2"])
    g.op(MUL, ["a2", "b1"], "q")
    g.op(ADD, ["q", "b2"], "w")
    ### END SOLUTION
    return g


build_f5_graph().draw()

# %% nbgrader={"grade": true, "grade_id": "build_f5_graph_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
graph = run("build_f5_graph", build_f5_graph)
expect_true("build_f5_graph", isinstance(graph, CompGraph), f"expected a CompGraph, got {type(graph).__name__}.",
            hint="end the function with `return g`")
expect_true("build_f5_graph inputs", sorted(graph.inputs) == ["x", "y", "z"],
            f"the graph's inputs are {graph.inputs}; expected x, y, z.", hint="check the spelling of every name")
expect_true("build_f5_graph outputs", graph.outputs == ["w"], f"the graph's outputs are {graph.outputs}; expected ['w'].",
            hint="every copy must be used: an unused copy shows up as an extra output")
labels = {op.label for op in graph.ops}
expect_true("build_f5_graph operators", labels <= {ADD, MUL, COPY} and COPY in labels,
            f"the operator labels are {sorted(labels)}; use only ADD, MUL and COPY (and at least one COPY).")
reads = [name for op in graph.ops for name in op.inputs]
repeated = sorted({name for name in reads if reads.count(name) > 1})
expect_true("build_f5_graph copies", not repeated,
            f"the variable(s) {repeated} are read more than once.",
            hint="send each reused variable through a COPY op and read each copy once")
passed("build_f5_graph")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "build_f5_graph")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.14 — `f5` (2 points)
#
# Implement the forward and backward passes of your graph, with the copies written out
# (`x1, x2, x3 = x, x, x` and so on) and their gradients summed in the backward pass.
# Return `w, (grad_x, grad_y, grad_z)`.
#
# Done = numeric gradient checks below $10^{-8}$ at the points of the test.

# %% nbgrader={"grade": false, "grade_id": "f5_answer", "locked": false, "schema_version": 3, "solution": true}
def f5(x, y, z):
    """w = ab + b with b = a(x + x), a = xy + z, with explicit copies.

    Args: three floats.
    Returns:
        (w, (grad_x, grad_y, grad_z)), floats.
    """
    ### BEGIN SOLUTION
    x1, x2, x3 = x, x, x
    m = x1 * y
    a = m + z
    a1, a2 = a, a
    c = x2 + x3
    b = a1 * c
    b1, b2 = b, b
    q = a2 * b1
    w = q + b2
    grad_w = 1.0
    grad_q = grad_w
    grad_b2 = grad_w
    grad_a2 = grad_q * b1
    grad_b1 = grad_q * a2
    grad_b = grad_b1 + grad_b2
    grad_a1 = grad_b * c
    grad_c = grad_b * a1
    grad_x2 = grad_c
    grad_x3 = grad_c
    grad_a = grad_a1 + grad_a2
    grad_m = grad_a
    grad_z = grad_a
    grad_x1 = grad_m * y
    grad_y = grad_m * x1
    grad_x = grad_x1 + grad_x2 + grad_x3
    ### END SOLUTION
    return w, (grad_x, grad_y, grad_z)

# %% nbgrader={"grade": true, "grade_id": "f5_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
for point, expected_w in (({"x": 1.0, "y": 2.0, "z": 3.0}, 60.0), ({"x": -0.5, "y": 1.5, "z": 1.25}, -0.75)):
    w, grads = run("f5", f5, **point)
    expect_close("f5 forward", w, expected_w, inputs=point, hint="a = x*y + z, b = a*(x + x), w = a*b + b")
    expect_gradcheck(check_scalar_graph(f5, point, threshold=1e-8, title=f"f5 at {point}"),
                     hint="sum the gradients of all copies of x (three), a (two) and b (two)")
passed("f5")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "f5")
### END HIDDEN TESTS

# %%
w, (grad_x, grad_y, grad_z) = f5(1.0, 2.0, 3.0)
build_f5_graph().draw({"x": 1.0, "y": 2.0, "z": 3.0, "w": w}, {"x": grad_x, "y": grad_y, "z": grad_z, "w": 1.0})

# %% [markdown]
# ## Part 6 — Derivatives of activation functions
#
# Backpropagating through an elementwise activation multiplies the upstream gradient
# by the activation's derivative. Implement four derivatives as elementwise numpy
# functions (input: array of any shape; output: array of the same shape, floats).
#
# * ReLU$(x) = \max(x, 0)$;
# * LeakyReLU$(x) = x$ for $x > 0$, and $\alpha x$ otherwise, with `negative_slope` $\alpha = 0.1$;
# * $\tanh(x)$;
# * GELU$(x) = x\,\Phi(x)$, where $\Phi$ is the standard normal CDF (this is the exact
#   GELU, not the tanh approximation). The helpers `normal_cdf` and `normal_pdf` below
#   give you $\Phi$ and $\varphi = \Phi'$.
#
# **Convention at the kink.** ReLU and LeakyReLU have no derivative at exactly
# $x = 0$. In this course we use **the slope from the left** there (as PyTorch does):
# ReLU$'(0) = 0$ and LeakyReLU$'(0) = \alpha$. The tests include exact zeros.
#
# Each derivative is worth 1 point; done = matches to $10^{-6}$ for several shapes,
# including zeros and negative numbers, and your input array is left unchanged.

# %% nbgrader={"grade": false, "grade_id": "activation_setup", "locked": true, "schema_version": 3, "solution": false}
def normal_cdf(x):
    """Phi(x), the standard normal CDF, elementwise (array of any shape)."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[np.float64])(x / math.sqrt(2.0)))


def normal_pdf(x):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi), elementwise."""
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)


def relu(x):
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def leaky_relu(x, negative_slope=0.1):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x, negative_slope * x)


def gelu(x):
    x = np.asarray(x, dtype=np.float64)
    return x * normal_cdf(x)

# %% [markdown]
# ### Q1.15 — `relu_grad`: ReLU$'$ (1 point)

# %% nbgrader={"grade": false, "grade_id": "relu_grad_answer", "locked": false, "schema_version": 3, "solution": true}
def relu_grad(x):
    """d ReLU / dx elementwise, with ReLU'(0) = 0.

    Args: x, array of any shape.
    Returns: float array of x's shape.
    """
    x = np.asarray(x, dtype=np.float64)
    ### BEGIN SOLUTION
    return np.where(x > 0, 1.0, 0.0)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "relu_grad_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
expect_close("relu_grad", run("relu_grad", relu_grad, x), [0.0, 0.0, 0.0, 1.0, 1.0], inputs={"x": x},
             hint="the slope of each piece of ReLU; at exactly 0 use the slope from the left")
x = np.array([[1.0, -1.0, 0.0], [0.0, 2.0, -3.0]])
expect_close("relu_grad (2-D)", run("relu_grad", relu_grad, x), [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], inputs={"x": x})
passed("relu_grad")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "relu_grad")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.16 — `leaky_relu_grad`: LeakyReLU$'$ (1 point)

# %% nbgrader={"grade": false, "grade_id": "leaky_relu_grad_answer", "locked": false, "schema_version": 3, "solution": true}
def leaky_relu_grad(x, negative_slope=0.1):
    """d LeakyReLU / dx elementwise, with LeakyReLU'(0) = negative_slope.

    Args:
        x: array of any shape.
        negative_slope: the slope for x <= 0.
    Returns: float array of x's shape.
    """
    x = np.asarray(x, dtype=np.float64)
    ### BEGIN SOLUTION
    return np.where(x > 0, 1.0, negative_slope)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "leaky_relu_grad_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
expect_close("leaky_relu_grad", run("leaky_relu_grad", leaky_relu_grad, x), [0.1, 0.1, 0.1, 1.0, 1.0],
             inputs={"x": x}, hint="the slope of each piece; at exactly 0 the slope from the left; default negative_slope 0.1")
expect_close("leaky_relu_grad, negative_slope=0.2", run("leaky_relu_grad", leaky_relu_grad, x, negative_slope=0.2),
             [0.2, 0.2, 0.2, 1.0, 1.0], inputs={"x": x, "negative_slope": 0.2}, hint="use the argument, not a constant")
passed("leaky_relu_grad")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "leaky_relu_grad")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.17 — `tanh_grad`: $\tanh'$ (1 point)

# %% nbgrader={"grade": false, "grade_id": "tanh_grad_answer", "locked": false, "schema_version": 3, "solution": true}
def tanh_grad(x):
    """d tanh / dx elementwise.

    Args: x, array of any shape.
    Returns: float array of x's shape.
    """
    x = np.asarray(x, dtype=np.float64)
    ### BEGIN SOLUTION
    return 1.0 - np.tanh(x) ** 2
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "tanh_grad_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
expect_close("tanh_grad", run("tanh_grad", tanh_grad, x),
             [0.07065082485316443, 0.7864477329659274, 1.0, 0.7864477329659274, 0.009866037165440211],
             inputs={"x": x}, hint="differentiate tanh with the quotient rule (or look at Q1.9's f2), then write the result with tanh itself")
passed("tanh_grad")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "tanh_grad")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.18 — `gelu_grad`: GELU$'$ (1 point)

# %% nbgrader={"grade": false, "grade_id": "gelu_grad_answer", "locked": false, "schema_version": 3, "solution": true}
def gelu_grad(x):
    """d GELU / dx elementwise, for the exact GELU(x) = x Phi(x).

    Args: x, array of any shape.
    Returns: float array of x's shape.
    """
    x = np.asarray(x, dtype=np.float64)
    ### BEGIN SOLUTION
    return normal_cdf(x) + x * normal_pdf(x)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "gelu_grad_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
expect_close("gelu_grad", run("gelu_grad", gelu_grad, x),
             [-0.08523180107819692, 0.13250487534383715, 0.5, 0.8674951246561629, 1.011945647204184],
             inputs={"x": x}, hint="GELU is a product of two functions of x; normal_pdf is the derivative of normal_cdf")
passed("gelu_grad")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "gelu_grad")
### END HIDDEN TESTS

# %% [markdown]
# The four functions (solid) and your derivatives (dashed):

# %%
plot_functions_and_derivatives({
    "ReLU": (relu, relu_grad),
    "LeakyReLU (negative_slope = 0.1)": (leaky_relu, leaky_relu_grad),
    "tanh": (np.tanh, tanh_grad),
    "GELU": (gelu, gelu_grad),
});

# %% [markdown]
# ## Part 7 — Jacobians as code
#
# For a vector function $f:\mathbb R^a\to\mathbb R^b$ the Jacobian is the $b\times a$
# matrix $J_{ij} = \partial f_i/\partial x_j$ (numerator layout: one row per output).
# `numeric_jacobian(f, x)` estimates it by central differences, which is how the tests
# check you.
#
# Take $f(\vec x) = W_1\vec x$ with $W_1\in\mathbb R^{b\times a}$.
#
# * **Q1.19** `jacobian_of_linear(W)`: the Jacobian of $\vec x\mapsto W\vec x$.
# * **Q1.20** `jacobian_of_sum(W1, W2)`: the Jacobian of $h(\vec x) = f(\vec x) + g(\vec x)$
#   with $g(\vec x) = W_2\vec x$, $W_2\in\mathbb R^{b\times a}$ (same shape as $W_1$).
# * **Q1.21** `jacobian_of_composition(W1, W2)`: the Jacobian of $h = g\circ f$, i.e.
#   $h(\vec x) = g(f(\vec x))$, now with $W_2\in\mathbb R^{c\times b}$. It is $c\times a$.
#   (Write one entry $\partial h_i/\partial x_j$ with the chain rule, then recognise the sum.)
#
# 1 point each; done = equal to the numeric Jacobian to $10^{-6}$ for non-square shapes.

# %% [markdown]
# ### Q1.19 — `jacobian_of_linear` (1 point)

# %% nbgrader={"grade": false, "grade_id": "jacobian_of_linear_answer", "locked": false, "schema_version": 3, "solution": true}
def jacobian_of_linear(W):
    """Jacobian of f(x) = W x.

    Args: W, array of shape (b, a).
    Returns: J, array of shape (b, a), J[i, j] = d f_i / d x_j.
    """
    ### BEGIN SOLUTION
    return np.array(W, dtype=np.float64)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "jacobian_of_linear_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
W = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
x = np.array([0.3, -1.2, 2.0])
expect_close("jacobian_of_linear", run("jacobian_of_linear", jacobian_of_linear, W), numeric_jacobian(lambda v: W @ v, x),
             inputs={"W": W}, hint="row i holds the derivatives of output i: shape (b, a)")
passed("jacobian_of_linear")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "jacobian_of_linear")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.20 — `jacobian_of_sum` (1 point)

# %% nbgrader={"grade": false, "grade_id": "jacobian_of_sum_answer", "locked": false, "schema_version": 3, "solution": true}
def jacobian_of_sum(W1, W2):
    """Jacobian of h(x) = W1 x + W2 x.

    Args: W1, W2, arrays of shape (b, a).
    Returns: J, array of shape (b, a).
    """
    ### BEGIN SOLUTION
    return np.asarray(W1, dtype=np.float64) + np.asarray(W2, dtype=np.float64)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "jacobian_of_sum_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
W1 = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
W2 = np.array([[0.5, -1.0, 1.0], [2.0, 1.5, -0.5]])
x = np.array([0.3, -1.2, 2.0])
expect_close("jacobian_of_sum", run("jacobian_of_sum", jacobian_of_sum, W1, W2),
             numeric_jacobian(lambda v: W1 @ v + W2 @ v, x), inputs={"W1": W1, "W2": W2},
             hint="write out the entry (i, j) of the Jacobian of h from its definition")
passed("jacobian_of_sum")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "jacobian_of_sum")
### END HIDDEN TESTS

# %% [markdown]
# ### Q1.21 — `jacobian_of_composition` (1 point)

# %% nbgrader={"grade": false, "grade_id": "jacobian_of_composition_answer", "locked": false, "schema_version": 3, "solution": true}
def jacobian_of_composition(W1, W2):
    """Jacobian of h(x) = g(f(x)) with f(x) = W1 x and g(y) = W2 y.

    Args:
        W1: array of shape (b, a).
        W2: array of shape (c, b).
    Returns: J, array of shape (c, a).
    """
    ### BEGIN SOLUTION
    return np.asarray(W2, dtype=np.float64) @ np.asarray(W1, dtype=np.float64)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "jacobian_of_composition_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false}
W1 = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])                # b x a = 2 x 3
W2 = np.array([[0.5, -1.0], [2.0, 1.5], [1.0, 1.0], [0.0, -2.0]])  # c x b = 4 x 2
x = np.array([0.3, -1.2, 2.0])
expect_close("jacobian_of_composition", run("jacobian_of_composition", jacobian_of_composition, W1, W2),
             numeric_jacobian(lambda v: W2 @ (W1 @ v), x), inputs={"W1": W1, "W2": W2},
             hint="the result is c x a; write one entry with the chain rule")
passed("jacobian_of_composition")
### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("graphs", "jacobian_of_composition")
### END HIDDEN TESTS

# %% [markdown]
# Space to experiment (not graded): try the special case $W_1 = W_2$ numerically before
# answering Q1.22.

# %%
W = np.array([[1.0, 2.0], [-1.0, 0.5]])
print(numeric_jacobian(lambda v: W @ v + W @ v, np.zeros(2)))
print(numeric_jacobian(lambda v: W @ (W @ v), np.zeros(2)))

# %% [markdown]
# ### Q1.22 — *written*: the special case $W_1 = W_2 = W$ (1 point)
#
# Answer in the next cell:
#
# (a) What is the Jacobian of $h(\vec x) = f(\vec x) + g(\vec x)$ when $W_1 = W_2 = W$?
#
# (b) What is the Jacobian of $h = g\circ f$ when $W_1 = W_2 = W$ (so $a = b = c$)?

# %% [markdown] nbgrader={"grade": true, "grade_id": "jacobian_special_cases_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# (a) $J_h = W_1 + W_2 = 2W$ (shape $b\times a$): $h(\vec x) = 2W\vec x$.
#
# (b) $J_h = W_2 W_1 = W^2 = WW$ (shape $a\times a$); $W$ must be square for the
# composition to make sense.
#
# === BEGIN MARK SCHEME ===
# ½ point each; (b) must be the matrix product $WW$, not an elementwise square.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## Part 8 — A two-layer network on paper (written)
#
# The last part is pen-and-paper work in the notation of the Jacobians above. Conventions:
# every vector is a **column** vector, and derivatives use the **numerator layout**: for
# $\vec u\in\mathbb R^m$ and $\vec v\in\mathbb R^n$, $\partial\vec u/\partial\vec v$ is the
# $m\times n$ matrix with entries $\partial u_i/\partial v_j$, so the derivative of a scalar with
# respect to a column vector is a **row** vector. Use matrices and vectors only (no tensors), and
# mind every transpose: a missing one makes an expression wrong.
#
# The network is
#
# $$\text{Linear}_1 \;\to\; f \;\to\; \text{Linear}_2 \;\to\; g, \qquad
#   \text{Linear}_i(\vec v) = W^{(i)}\vec v + \vec b^{(i)},$$
#
# with input $\vec x\in\mathbb R^n$, output $\tilde{\vec y}\in\mathbb R^K$, and $f, g$ applied
# entry by entry. Name the outputs of the four blocks $\vec s_1, \vec a_1, \vec s_2, \tilde{\vec y}$.
# First a **regression** set-up: $f(\cdot) = 3\,\mathrm{ReLU}(\cdot) = 3(\cdot)^+$, $g$ the identity,
# and the cost $C(\vec y, \tilde{\vec y}) = \lVert\tilde{\vec y} - \vec y\rVert^2$ for a target $\vec y$.
# Write LaTeX (`$...$`) in the answer cells; each answer cell is graded by a person.
#
# ### Q1.23 — *written*: one training iteration (1 point)
#
# Name the five programming steps of one iteration of training this model with PyTorch and SGD on
# a single batch, and say in symbols what each one computes.

# %% [markdown] nbgrader={"grade": true, "grade_id": "training_steps_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# 1. **Forward pass**: $\tilde{\vec y} = \text{model}(\vec x)$ (e.g. `y_tilde = model(x)`).
# 2. **Cost**: $C = \lVert\tilde{\vec y} - \vec y\rVert^2$ (`loss = criterion(y_tilde, y)`).
# 3. **Zero the gradients** kept from the previous iteration: $\partial C/\partial w \leftarrow 0$
#    for every parameter $w$ (`optimizer.zero_grad()`).
# 4. **Backward pass**: compute $\partial C/\partial w$ for every parameter by backpropagation
#    (`loss.backward()`).
# 5. **Update**: $w \leftarrow w - \eta\,\partial C/\partial w$ (`optimizer.step()`).
#
# === BEGIN MARK SCHEME ===
# 1 point for all five steps in a sensible order with what each computes (forward, cost, zero
# gradients, backward, update with a learning rate). Steps 3 and 4 may be swapped only if the
# zeroing is clearly before the backward pass of the same iteration. ½ point for four of five.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q1.24 — *written*: the forward pass (4 points)
#
# For one data point $(\vec x, \vec y)$, write the input and the output of each of the four blocks
# and of the cost, using only $\vec x, \vec y, W^{(1)}, \vec b^{(1)}, W^{(2)}, \vec b^{(2)}$.

# %% [markdown] nbgrader={"grade": true, "grade_id": "two_layer_forward_written", "locked": false, "points": 4, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# | block | input | output |
# | --- | --- | --- |
# | Linear$_1$ | $\vec x$ | $\vec s_1 = W^{(1)}\vec x + \vec b^{(1)}$ |
# | $f$ | $\vec s_1$ | $\vec a_1 = 3\,(W^{(1)}\vec x + \vec b^{(1)})^+$ |
# | Linear$_2$ | $\vec a_1$ | $\vec s_2 = 3\,W^{(2)}(W^{(1)}\vec x + \vec b^{(1)})^+ + \vec b^{(2)}$ |
# | $g$ | $\vec s_2$ | $\tilde{\vec y} = \vec s_2$ |
# | $C$ | $\tilde{\vec y}$, $\vec y$ | $\lVert 3\,W^{(2)}(W^{(1)}\vec x + \vec b^{(1)})^+ + \vec b^{(2)} - \vec y\rVert^2$ |
#
# === BEGIN MARK SCHEME ===
# 1 point per block (four blocks); each row needs both input and output written only with the
# allowed symbols (the cost row may replace a missing block row's point). The factor 3 must appear.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q1.25 — *written*: the backward pass (6 points)
#
# Write the gradients of the cost with respect to $W^{(1)}, \vec b^{(1)}, W^{(2)}, \vec b^{(2)}$,
# using only $\vec x, \vec y, W^{(1)}, \vec b^{(1)}, W^{(2)}, \vec b^{(2)}$ and the Jacobians
# $\frac{\partial C}{\partial\tilde{\vec y}}$, $\frac{\partial\vec a_1}{\partial\vec s_1}$,
# $\frac{\partial\tilde{\vec y}}{\partial\vec s_2}$. Give each gradient the shape of its parameter.

# %% [markdown] nbgrader={"grade": true, "grade_id": "two_layer_backward_written", "locked": false, "points": 6, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# Let $\vec\delta_2 = \frac{\partial C}{\partial\tilde{\vec y}}\frac{\partial\tilde{\vec y}}{\partial\vec s_2}$
# ($1\times K$) and $\vec\delta_1 = \vec\delta_2\,W^{(2)}\frac{\partial\vec a_1}{\partial\vec s_1}$
# ($1\times m$, $m$ hidden units); both are abbreviations, not new variables. Then
#
# $$\frac{\partial C}{\partial W^{(2)}} = \vec\delta_2^{\top}\,\bigl(3\,(W^{(1)}\vec x + \vec b^{(1)})^+\bigr)^{\top}
#   \;(K\times m), \qquad \frac{\partial C}{\partial\vec b^{(2)}} = \vec\delta_2^{\top}\;(K\times 1),$$
#
# $$\frac{\partial C}{\partial W^{(1)}} = \Bigl(\frac{\partial C}{\partial\tilde{\vec y}}
#   \frac{\partial\tilde{\vec y}}{\partial\vec s_2}W^{(2)}\frac{\partial\vec a_1}{\partial\vec s_1}\Bigr)^{\top}\vec x^{\top}
#   \;(m\times n), \qquad \frac{\partial C}{\partial\vec b^{(1)}} = \Bigl(\frac{\partial C}{\partial\tilde{\vec y}}
#   \frac{\partial\tilde{\vec y}}{\partial\vec s_2}W^{(2)}\frac{\partial\vec a_1}{\partial\vec s_1}\Bigr)^{\top}\;(m\times 1).$$
#
# (Written as row vectors, $\partial C/\partial\vec b^{(i)}$ is $\vec\delta_i$ itself; either
# convention is fine if it is stated.)
#
# === BEGIN MARK SCHEME ===
# 1.5 points per parameter (6 in total): the right product of Jacobians in the right order (1),
# and the right transposes / outer product with the layer input (0.5). The input of Linear$_2$
# must be written as $3(W^{(1)}\vec x + \vec b^{(1)})^+$, not as $\vec a_1$ (−0.5 once).
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q1.26 — *written*: the Jacobian entries (2 points)
#
# Give the elements of $\frac{\partial\vec a_1}{\partial\vec s_1}$, $\frac{\partial\tilde{\vec y}}{\partial\vec s_2}$
# and $\frac{\partial C}{\partial\tilde{\vec y}}$, with their sizes.

# %% [markdown] nbgrader={"grade": true, "grade_id": "two_layer_jacobians_written", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# * $\frac{\partial\vec a_1}{\partial\vec s_1}$ is $m\times m$ and diagonal: entry $(i, i)$ is $3$ if
#   $(W^{(1)}\vec x + \vec b^{(1)})_i > 0$ and $0$ otherwise; off-diagonal entries are $0$.
# * $\frac{\partial\tilde{\vec y}}{\partial\vec s_2} = I_K$ ($K\times K$ identity), since $g$ is the identity.
# * $\frac{\partial C}{\partial\tilde{\vec y}} = 2(\tilde{\vec y} - \vec y)^{\top}$, a $1\times K$ row vector
#   with entries $2(\tilde y_j - y_j)$.
#
# === BEGIN MARK SCHEME ===
# ½ point for the ReLU Jacobian being diagonal, ½ for its entries (3 or 0), ½ for the identity,
# ½ for $2(\tilde{\vec y} - \vec y)^\top$ as a row vector (a column vector loses this ½).
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q1.27 — *written*: classification with tanh and σ (6 points)
#
# Now $f = \tanh$ and $g = \sigma$, the logistic sigmoid $\sigma(z) = (1 + e^{-z})^{-1}$, still with the
# squared-distance cost. What changes in your answers to Q1.24 (2 points), Q1.25 (3 points) and
# Q1.26 (1 point)? Write the new expressions where something changes and say so where nothing does.

# %% [markdown] nbgrader={"grade": true, "grade_id": "tanh_sigmoid_changes_written", "locked": false, "points": 6, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# * **Forward (Q1.24):** $\vec s_1$ is unchanged; $\vec a_1 = \tanh(W^{(1)}\vec x + \vec b^{(1)})$;
#   $\vec s_2 = W^{(2)}\tanh(W^{(1)}\vec x + \vec b^{(1)}) + \vec b^{(2)}$;
#   $\tilde{\vec y} = \sigma(\vec s_2)$; the cost is $\lVert\tilde{\vec y} - \vec y\rVert^2$ of that.
# * **Backward (Q1.25):** the chain-rule products keep the same form; only the input of Linear$_2$
#   inside $\partial C/\partial W^{(2)}$ becomes $\tanh(W^{(1)}\vec x + \vec b^{(1)})$.
# * **Jacobians (Q1.26):** $\frac{\partial\vec a_1}{\partial\vec s_1} = \operatorname{diag}\bigl(1 - \tanh^2(\vec s_1)\bigr)$;
#   $\frac{\partial\tilde{\vec y}}{\partial\vec s_2} = \operatorname{diag}\bigl(\sigma(\vec s_2)\odot(1 - \sigma(\vec s_2))\bigr)$;
#   $\frac{\partial C}{\partial\tilde{\vec y}} = 2(\tilde{\vec y} - \vec y)^\top$ is unchanged in form
#   (with the new $\tilde{\vec y}$).
#
# === BEGIN MARK SCHEME ===
# 2 points: the forward expressions with tanh and σ. 3 points: backward "same structure" plus
# the changed Linear$_2$ input (1 point each for the W's, ½ for the b's). 1 point: both diagonal
# Jacobians with the right entries (½ each).
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q1.28 — *written*: binary cross-entropy instead (6 points)
#
# Keep $f = \tanh$, $g = \sigma$, and replace the cost with the binary cross-entropy
#
# $$C_{\text{BCE}}(\vec y, \tilde{\vec y}) = \frac1K\sum_{i=1}^K -\bigl[y_i\log\tilde y_i + (1 - y_i)\log(1 - \tilde y_i)\bigr].$$
#
# What changes now in Q1.24 (2 points), Q1.25 (3 points) and Q1.26 (1 point)? Simplify
# $\frac{\partial C}{\partial\tilde{\vec y}}\frac{\partial\tilde{\vec y}}{\partial\vec s_2}$ and say
# why this pairing of σ with BCE helps training.

# %% [markdown] nbgrader={"grade": true, "grade_id": "bce_changes_written", "locked": false, "points": 6, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# * **Forward:** the blocks are as in Q1.27; only the cost's output changes, to
#   $\frac1K\sum_i -[y_i\log\tilde y_i + (1 - y_i)\log(1 - \tilde y_i)]$ with
#   $\tilde{\vec y} = \sigma(W^{(2)}\tanh(W^{(1)}\vec x + \vec b^{(1)}) + \vec b^{(2)})$.
# * **Backward:** the products keep the same form as in Q1.27 (the cost enters only through
#   $\partial C/\partial\tilde{\vec y}$).
# * **Jacobians:** $\frac{\partial C}{\partial\tilde{\vec y}}$ is the $1\times K$ row with entries
#   $\frac1K\Bigl(\frac{1 - y_i}{1 - \tilde y_i} - \frac{y_i}{\tilde y_i}\Bigr)
#   = \frac1K\,\frac{\tilde y_i - y_i}{\tilde y_i(1 - \tilde y_i)}$; the other two are as in Q1.27.
#   Multiplied by $\operatorname{diag}(\tilde y_i(1 - \tilde y_i))$ the σ factor cancels:
#   $\frac{\partial C}{\partial\vec s_2} = \frac1K(\tilde{\vec y} - \vec y)^\top$. So the gradient does
#   not vanish when σ saturates on a wrong answer, unlike the squared cost, whose gradient carries
#   the factor $\tilde y_i(1 - \tilde y_i)\approx 0$ there.
#
# === BEGIN MARK SCHEME ===
# 2 points: the new cost output (forward otherwise unchanged). 3 points: backward unchanged in
# form, with the simplified $\frac1K(\tilde{\vec y} - \vec y)^\top$ (2) and the reason it helps (1).
# 1 point: the entries of $\partial C/\partial\tilde{\vec y}$ with the $1/K$.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ### Q1.29 — *written*: ReLU in the hidden layer (1 point)
#
# Now the hidden activation becomes $f(z) = (z)^+ = \max(0, z)$ while the output keeps $g = \sigma$.
# Explain in two or three sentences why this choice of $f$ makes a network easier to train, the more
# so when it has many hidden layers. (The activation plot and table of notebook 2's Q2.15 may help.)

# %% [markdown] nbgrader={"grade": true, "grade_id": "relu_hidden_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# The backward pass multiplies the upstream gradient by $f'(\vec s_1)$ once per hidden layer. For
# tanh or σ that factor is below 1 everywhere except near 0 (at most 1/4 for σ) and nearly 0 where
# the unit saturates, so through many layers the product shrinks towards 0 (vanishing gradients)
# and the early layers hardly learn. ReLU's derivative is exactly 1 for every positive input, however
# large, so active units pass the gradient back undiminished through any depth; it is also cheaper
# to compute and gives sparse activations. (Its drawback: units whose input stays negative get no
# gradient at all.)
#
# === BEGIN MARK SCHEME ===
# 1 point: the derivative is 1 on the positive side (no saturation), so the gradient does not shrink
# layer after layer, against tanh/σ whose derivatives are small or vanish when saturated. Half a point
# for "no saturation" without the link to depth.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## Done
#
# Before submitting: *Kernel → Restart & Run All*, check that every test cell prints ✓,
# and that the drawings and the activation plot look right.
