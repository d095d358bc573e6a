# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Notebook 5 — Convolution, max pooling and their backward passes
#
# A fully connected layer gives every input pixel its own weight. For images that is wasteful: an
# edge looks the same in the top-left corner as in the bottom-right one. A **convolution** slides
# one small mask over the whole image and applies the same weights at every position. The mask
# can be designed by hand (you will build a derivative filter and an edge detector) or learned by
# backpropagation, which needs the backward pass you will derive and implement here. **Max
# pooling** then shrinks the result by keeping the strongest response in each neighbourhood.
#
# | question | what | points |
# | --- | --- | --- |
# | Q5.1 | `derivative_mask`: a 1-D mask that differentiates a signal | 2 |
# | Q5.2 | `conv_forward`: strided, padded, multi-channel 2-D convolution | 6 |
# | Q5.3 | written: the gradients of a convolution | 4 |
# | Q5.4 | `conv_backward` | 6 |
# | Q5.5 | `vertical_edge_mask`: a hand-made edge detector | 2 |
# | Q5.6 | written: the output of strided max pooling | 1 |
# | Q5.7 | `max_pool_forward` | 3 |
# | Q5.8 | written: backpropagation through max pooling in plain words | 2 |
# | Q5.9 | `max_pool_backward` | 4 |
# | | **total** | **30** |
#
# The code questions are autograded: each has a test cell with public checks you can run while you
# work, and hidden checks (other shapes, one image or many, one channel or three, non-square images
# and masks, other strides and paddings, ties) that run when your notebook is graded. Q5.3, Q5.6
# and Q5.8 are read by a person.
#
# Rules: numpy only (no PyTorch, no `scipy.signal`), and **never modify an input array in place**.
# Loops over output positions are fine here, as long as the work inside them is vectorised (one
# numpy call over the whole batch and all channels, not a loop over every single number).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import time

import matplotlib.pyplot as plt
import numpy as np

from hwlib.checks import expect_close, expect_gradcheck, expect_true, passed, run
from hwlib.cifar import load_cifar10
from hwlib.gradcheck import check_layer

# %matplotlib inline
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## Part A — convolution in one dimension
#
# Take a signal $I[\,]$ (a row of numbers) and a mask $G[\,]$. Their convolution at position $t$ is
#
# $$(I * G)[t] = \sum_{k=-\infty}^{\infty} I[k]\; G[t-k].$$
#
# A mask is nonzero only at a few offsets, so the infinite sum is really a short one. Writing
# $u = t - k$ for the *offset* of a mask tap, the same sum reads
# $(I*G)[t] = \sum_u G[u]\, I[t-u]$. Look carefully at which sample each tap meets: the mask is
# applied *flipped*, and that flip is what distinguishes a convolution from a plain weighted sum of
# neighbours.
#
# **A mask as an array.** A 3-tap mask is nonzero at the offsets $u = -1, 0, +1$. We store it as a
# numpy array of length 3 holding the taps in order of offset:
#
# | array entry | `G[0]` | `G[1]` | `G[2]` |
# | --- | --- | --- | --- |
# | tap | $G[-1]$ | $G[0]$ | $G[+1]$ |
#
# With this layout, `np.convolve(I, G, mode="same")[t]` is exactly $(I*G)[t]$ (it returns an output
# as long as `I`, centred on each sample, and treats samples beyond either end of `I` as zeros), so
# you can try a mask out in a scratch cell.
#
# ### Q5.1 — `derivative_mask` (2 points)
#
# The central finite difference estimates the derivative of a sampled signal (per sample step) as
#
# $$I'[t] \approx \frac{I[t+1] - I[t-1]}{2}.$$
#
# Return the mask $G$ (as a length-3 array in the layout above) with $(I*G)[t] = I'[t]$.
#
# **Done** when the test cell prints ✓: on $I[t] = t^2$ your mask gives $2t$ away from the two ends.

# %% nbgrader={"grade": false, "grade_id": "derivative_mask_answer", "locked": false, "schema_version": 3, "solution": true}
def derivative_mask() -> np.ndarray:
    """The 3-tap mask G with (I * G)[t] = (I[t+1] - I[t-1]) / 2 under convolution.

    Returns:
        float array of shape (3,): G[0], G[1], G[2] are the taps at offsets -1, 0, +1
        (the layout np.convolve(I, G, mode="same") uses).
    """
    ### BEGIN SOLUTION
    return np.array([0.5, 0.0, -0.5])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "derivative_mask_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
G = run("derivative_mask", derivative_mask)
expect_true("derivative_mask", np.shape(G) == (3,),
            f"returned shape {np.shape(G)}; expected (3,) (the taps at offsets -1, 0, +1).",
            hint="return np.array([G0, G1, G2])")
squares = np.arange(7.0) ** 2  # I[t] = t^2, whose central difference is exactly 2t
expect_close("np.convolve(I, G, mode='same') away from the ends", np.convolve(squares, G, mode="same")[1:-1],
             2.0 * np.arange(1, 6), inputs={"I": squares, "G": np.asarray(G)},
             hint="G[0] multiplies I[t+1] and G[2] multiplies I[t-1] (the mask is flipped); "
                  "do not forget the 1/2")
passed("derivative_mask")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("convolution", "derivative_mask")
### END HIDDEN TESTS

# %% [markdown]
# ### Your mask on a sine wave
#
# Sample $\sin$ with a step $\Delta = 2\pi/32$, convolve with your mask, and divide by $\Delta$ to
# turn "change per sample" into "change per unit of $t$". The result should lie on $\cos$, the true
# derivative. The central difference is off by about $\Delta^2/6 \approx 0.006$ at most in the
# interior; the first and last samples are far off because `np.convolve` pretends the signal is
# zero outside its range.

# %% nbgrader={"grade": false, "grade_id": "derivative_demo", "locked": true, "schema_version": 3, "solution": false}
step = 2 * np.pi / 32
t = np.arange(65) * step
signal = np.sin(t)
estimate = np.convolve(signal, derivative_mask(), mode="same") / step
interior = slice(1, -1)
print(f"largest |estimate - cos(t)| away from the ends: {np.max(np.abs(estimate - np.cos(t))[interior]):.4f}")

fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
ax.plot(t, signal, color="0.6", lw=1.5, label=r"signal $\sin t$")
ax.plot(t, np.cos(t), color="tab:blue", lw=2, label=r"true derivative $\cos t$")
ax.plot(t, estimate, "o", ms=4, color="tab:orange", label=r"$(I * G)[t] / \Delta$")
ax.set_xlabel("t")
ax.set_title("Differentiating a sampled sine wave by convolution")
ax.grid(True, alpha=0.3)
ax.legend(loc="lower left", fontsize=9);

# %% [markdown]
# ## Part B — convolution in two dimensions
#
# An image $I$ has three colour channels $I_r, I_g, I_b$, each an $H \times W$ grid. A mask $G$ has
# the same three channels, each a small $h \times w$ grid ($h \ll H$, $w \ll W$). Throughout this
# notebook positions are (row, column), exactly as numpy indexes `image[c, row, col]`.
# We use the definition common in deep learning: the output at position $(i, j)$ lays the mask
# over the image with its top-left corner at $(i, j)$, multiplies entry by entry, and adds up
# everything, over all channels:
#
# $$R[i, j] = \sum_{a=0}^{h-1} \sum_{b=0}^{w-1} \sum_{c \in \{r,g,b\}} I_c[i + a,\, j + b]\; G_c[a, b].$$
#
# Note that the mask is **not flipped** here (mathematicians would call this a cross-correlation;
# deep-learning libraries call it convolution anyway). Flipping a mask in both directions turns
# one operation into the other, so a learned mask does not care; but the tests do: `G_c[0, 0]`
# must multiply the top-left pixel of each window.
#
# The output is computed only where the mask fits entirely inside the image, so $R$ has
# $(H - h + 1) \times (W - w + 1)$ entries.
#
# **Stride.** To shrink the output, move the mask $s$ pixels at a time instead of one: the window
# of $R[i, j]$ starts at $(s\,i,\; s\,j)$. The output then has
# $\lfloor 1 + (H-h)/s \rfloor \times \lfloor 1 + (W-w)/s \rfloor$ entries (windows that would stick
# out past the edge are dropped).
#
# **Padding.** To keep the borders, surround every channel with `pad` rows and columns of zeros on
# each side first (`np.pad` does this). The image is then $(H + 2\,\text{pad}) \times (W +
# 2\,\text{pad})$.
#
# ### Q5.2 — `conv_forward` (6 points)
#
# A convolution layer processes a batch of $N$ images with $F$ masks (also called filters) at once,
# and adds a bias $b_f$ to every output of mask $f$:
#
# | array | shape | meaning |
# | --- | --- | --- |
# | `x` | $(N, C, H, W)$ | $N$ images with $C$ channels (here $C$ need not be 3) |
# | `w` | $(F, C, HH, WW)$ | $F$ masks, each with $C$ channels of size $HH \times WW$ |
# | `b` | $(F,)$ | one bias per mask |
# | `out` | $(N, F, H', W')$ | one response map per image and mask |
#
# With $x_{\text{pad}}$ the zero-padded input,
#
# $$\text{out}[n, f, i, j] = b_f + \sum_{c=0}^{C-1} \sum_{p=0}^{HH-1} \sum_{q=0}^{WW-1}
#   x_{\text{pad}}[n, c,\; s\,i + p,\; s\,j + q]\;\; w[f, c, p, q],$$
#
# $$H' = 1 + \left\lfloor \frac{H + 2\,\text{pad} - HH}{s} \right\rfloor, \qquad
#   W' = 1 + \left\lfloor \frac{W + 2\,\text{pad} - WW}{s} \right\rfloor .$$
#
# (This is the pseudocode the handout asks for in part (b), written as real code.) A good plan:
# pad once; loop over the output positions $(i, j)$; cut out the window
# `x_pad[:, :, s*i : s*i + HH, s*j : s*j + WW]` of shape $(N, C, HH, WW)$ and contract it with `w`
# over the last three axes (`np.tensordot` or `np.einsum`) to get all $N \times F$ outputs at
# $(i, j)$ at once.
#
# The cache, already written for you below the solution, keeps the inputs and settings:
# `(x, w, b, stride, pad)`. Keep it that way: `conv_backward` unpacks exactly this tuple, and its
# tests build the tuple directly, so a slip in `conv_forward` does not cost you points twice.
#
# **Done** when the test cell prints ✓: two hand-checkable examples and the shape of a strided,
# padded output.

# %% nbgrader={"grade": false, "grade_id": "conv_forward_answer", "locked": false, "schema_version": 3, "solution": true}
def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1,
                 pad: int = 0) -> tuple[np.ndarray, tuple]:
    """Strided, zero-padded, multi-channel 2-D convolution (no mask flip), plus a bias per mask.

    Inputs:
        x: (N, C, H, W) images.
        w: (F, C, HH, WW) masks.
        b: (F,) biases.
        stride: step s between neighbouring windows, in pixels (the same along rows and columns).
        pad: number of zero rows/columns added on each side of every channel.

    Returns (out, cache):
        out: (N, F, H', W') with H' = 1 + (H + 2 pad - HH) // stride and
             W' = 1 + (W + 2 pad - WW) // stride;
             out[n, f, i, j] = b[f] + sum_{c,p,q} x_pad[n, c, stride i + p, stride j + q] w[f, c, p, q].
        cache: the tuple (x, w, b, stride, pad), for conv_backward.
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((N, F, H_out, W_out))
    for i in range(H_out):
        top = i * stride
        for j in range(W_out):
            left = j * stride
            window = x_pad[:, :, top:top + HH, left:left + WW]  # (N, C, HH, WW)
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))  # (N, F)
    out += b[None, :, None, None]
    ### END SOLUTION
    cache = (x, w, b, stride, pad)
    return out, cache


# %% nbgrader={"grade": true, "grade_id": "conv_forward_tests", "locked": true, "points": 6, "schema_version": 3, "solution": false}
# 1. One 3x3 image, one 2x2 mask, bias 1: out[0, 0] = 1*1 + 2*2 + 3*4 + 4*5 + 1 = 38.
example = {"x": np.arange(1.0, 10.0).reshape(1, 1, 3, 3), "w": np.array([[[[1.0, 2.0], [3.0, 4.0]]]]),
           "b": np.array([1.0])}
out, _ = run("conv_forward", conv_forward, *example.values())
expect_close("conv_forward, stride 1, pad 0", out, [[[[38.0, 48.0], [68.0, 78.0]]]], inputs=example,
             hint="w[f, c, 0, 0] multiplies the top-left pixel of each window: no flip. "
                  "An output [[[[24, 34], [54, 64]]]] means the mask was flipped.")

# 2. The same image with stride 2 and one ring of zeros: every pixel lands in exactly one window.
out, _ = run("conv_forward", conv_forward, *example.values(), stride=2, pad=1)
expect_close("conv_forward, stride 2, pad 1", out, [[[[5.0, 19.0], [37.0, 78.0]]]],
             inputs={**example, "stride": 2, "pad": 1},
             hint="pad first (5x5 image); the window of out[i, j] starts at row 2i, column 2j of the padded image")

# 3. Two channels are summed; two masks give two maps; each has its own bias.
x = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])[None]  # (1, 2, 3, 3): channel 0 all 1, channel 1 all 2
w = np.stack([np.ones((2, 1, 1)), np.array([[[1.0]], [[-1.0]]])])  # (2, 2, 1, 1): masks "c0 + c1" and "c0 - c1"
b = np.array([0.5, -0.5])
out, _ = run("conv_forward", conv_forward, x, w, b)
expect_close("conv_forward, 2 channels, 2 masks, 1x1 masks", out,
             np.stack([np.full((3, 3), 3.5), np.full((3, 3), -1.5)])[None], inputs={"x": x, "w": w, "b": b},
             hint="sum over the channel axis too; out[:, f] gets bias b[f]")

# 4. Shapes: non-square images and masks, stride 2, pad 1.
rng = np.random.default_rng(5)
x, w, b = rng.standard_normal((2, 3, 7, 5)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
out, _ = run("conv_forward", conv_forward, x, w, b, stride=2, pad=1)
expect_true("conv_forward output shape", np.shape(out) == (2, 4, 4, 3),
            f"x (2, 3, 7, 5), w (4, 3, 3, 2), stride 2, pad 1 gave shape {np.shape(out)}; expected (2, 4, 4, 3).",
            hint="H' = 1 + (H + 2 pad - HH) // stride, and the same with W and WW")
passed("conv_forward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("convolution", "conv_forward")
### END HIDDEN TESTS

# %% [markdown]
# ## The backward pass of a convolution
#
# When a mask is learned, the same weights are used at every position of the image. So a single
# weight influences *every* output, and by the chain rule its gradient collects one contribution
# from each window it was applied to. An input pixel, in turn, influences the outputs of every
# window that covers it.

# %% [markdown] nbgrader={"grade": true, "grade_id": "conv_gradients_written", "locked": false, "points": 4, "schema_version": 3, "solution": true}
# ### Q5.3 — The gradients of a convolution (4 points)
#
# Use the single-image, single-mask form from Part B, with stride $s = 1$ and no padding:
# $R[i, j] = \sum_{a}\sum_{b}\sum_{c} I_c[i + a, j + b]\, G_c[a, b]$. You are given
# $\frac{\partial L}{\partial R[i, j]}$ for every output position. With $(x, y)$ a (row, column)
# position, as in the handout, write expressions for
#
# 1. $\dfrac{\partial L}{\partial G_c[x, y]}$ (2 points), and
# 2. $\dfrac{\partial L}{\partial I_c[x, y]}$, saying exactly which $(i, j)$ the sum runs over
#    (2 points).
#
# Then say in one sentence what changes with a stride $s > 1$. (Your answer is the recipe for
# `conv_backward`.)
#
# YOUR ANSWER HERE
#
# ### BEGIN SOLUTION
# *Model answer.* $R[i, j]$ depends on $G_c[x, y]$ through the single term $I_c[i + x, j + y]\,
# G_c[x, y]$, so $\partial R[i,j] / \partial G_c[x, y] = I_c[i + x, j + y]$, and the chain rule sums
# over all outputs:
#
# $$\frac{\partial L}{\partial G_c[x, y]} = \sum_{i=0}^{H-h} \sum_{j=0}^{W-w}
#   \frac{\partial L}{\partial R[i, j]}\; I_c[i + x,\, j + y].$$
#
# (This is the correlation of the input channel $I_c$ with the upstream gradient.)
#
# $I_c[x, y]$ appears in $R[i, j]$ only when the window at $(i, j)$ covers it, i.e. with
# $a = x - i$ and $b = y - j$ inside the mask, and there it is multiplied by $G_c[x - i, y - j]$:
#
# $$\frac{\partial L}{\partial I_c[x, y]} = \sum_{\substack{i:\ 0 \le x - i \le h-1 \\ j:\ 0 \le y - j \le w-1}}
#   \frac{\partial L}{\partial R[i, j]}\; G_c[x - i,\, y - j],$$
#
# where $(i, j)$ also has to be a valid output position ($0 \le i \le H - h$, $0 \le j \le W - w$).
# Equivalently: a full convolution (with the flip) of the zero-padded upstream gradient with $G_c$.
# In code, each output position adds $\frac{\partial L}{\partial R[i,j]}\, G_c$ into the window it
# came from.
#
# With stride $s$ the window of $R[i, j]$ starts at $(s i, s j)$: replace $I_c[i + x, j + y]$ by
# $I_c[s i + x, s j + y]$ and $G_c[x - i, y - j]$ by $G_c[x - s i, y - s j]$ (sum over the $(i, j)$
# with $0 \le x - s i \le h - 1$, $0 \le y - s j \le w - 1$). Zero padding only adds inputs whose
# gradients are thrown away. For the bias of a layer, $\partial L / \partial b = \sum_{i,j}
# \partial L / \partial R[i, j]$.
#
# Marking: 2 points for $\partial L/\partial G$ (1 for the sum over all output positions, 1 for the
# right input index $i + x, j + y$); 2 points for $\partial L/\partial I$ (1 for $G_c[x-i, y-j]$, 1
# for the correct range of the sum or an equivalent statement such as "over the windows that cover
# $(x, y)$"). The stride sentence is needed for full marks on either part if the expressions are
# written for stride 1 only; it costs nothing when the expressions already include $s$.
# ### END SOLUTION

# %% [markdown]
# ### Q5.4 — `conv_backward` (6 points)
#
# Turn your answer to Q5.3 into code for a batch, $F$ masks, stride and padding. Loop over the
# output positions $(i, j)$ as in the forward pass. At each position, with `g = grad_out[:, :, i, j]`
# of shape $(N, F)$ and the window `x_pad[:, :, s*i : s*i + HH, s*j : s*j + WW]` of shape
# $(N, C, HH, WW)$:
#
# * `grad_w` ($F, C, HH, WW$) gets $\sum_n g[n, f]\cdot\text{window}[n]$ for each mask $f$ (sum
#   over the batch);
# * the same window of `grad_x_pad` ($N, C, H + 2\,\text{pad}, W + 2\,\text{pad}$) gets
#   $\sum_f g[n, f]\cdot w[f]$ for each image $n$. Windows overlap when the stride is smaller than
#   the mask, so **add** into `grad_x_pad`, never assign;
# * at the end cut the padding off: `grad_x` has the shape of `x`;
# * `grad_b[f]` is the sum of `grad_out[:, f]` over the batch and all positions.
#
# **Done** when the test cell prints ✓: hand-checkable gradients for stride 1 and for stride 2 with
# padding, and every gradient has the shape of its input. The cell after it runs numeric gradient
# checks, which must all stay below $10^{-9}$.
# Numeric gradients are for *checking* your work: an answer that computes its gradient with the
# `hwlib.gradcheck` helpers, by finite differences or by calling its own forward pass scores 0 for
# that question (the autograder reads your code and times large hidden cases).

# %% nbgrader={"grade": false, "grade_id": "conv_backward_answer", "locked": false, "schema_version": 3, "solution": true}
def conv_backward(grad_out: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of conv_forward.

    Inputs:
        grad_out: (N, F, H', W') upstream gradient dL/dout.
        cache: (x, w, b, stride, pad) as returned by conv_forward.

    Returns (grad_x, grad_w, grad_b), with the shapes of x (N, C, H, W), w (F, C, HH, WW) and b (F,).
    """
    x, w, b, stride, pad = cache
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = grad_out.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    grad_x_pad = np.zeros(x_pad.shape)
    grad_w = np.zeros(w.shape)
    for i in range(H_out):
        top = i * stride
        for j in range(W_out):
            left = j * stride
            g = grad_out[:, :, i, j]  # (N, F)
            window = x_pad[:, :, top:top + HH, left:left + WW]  # (N, C, HH, WW)
            grad_w += np.tensordot(g, window, axes=([0], [0]))  # (F, C, HH, WW)
            grad_x_pad[:, :, top:top + HH, left:left + WW] += np.tensordot(g, w, axes=([1], [0]))  # (N, C, HH, WW)
    grad_x = grad_x_pad[:, :, pad:pad + H, pad:pad + W]
    grad_b = np.sum(grad_out, axis=(0, 2, 3))
    ### END SOLUTION
    return grad_x, grad_w, grad_b


# %% nbgrader={"grade": true, "grade_id": "conv_backward_tests", "locked": true, "points": 6, "schema_version": 3, "solution": false}
example = {"x": np.arange(1.0, 10.0).reshape(1, 1, 3, 3), "w": np.array([[[[1.0, 2.0], [3.0, 4.0]]]]),
           "b": np.array([1.0])}

# 1. Stride 1, upstream gradient all ones: grad_x[r, c] adds up the mask entries that touch pixel (r, c);
#    grad_w[p, q] adds up the pixels that mask entry (p, q) touched; grad_b counts the outputs.
# (The tests build the cache (x, w, b, stride, pad) themselves: conv_backward is tested on its own.)
cache = (example["x"], example["w"], example["b"], 1, 0)
grads = run("conv_backward", conv_backward, np.ones((1, 1, 2, 2)), cache)
expect_true("conv_backward", isinstance(grads, tuple) and len(grads) == 3,
            f"expected a tuple (grad_x, grad_w, grad_b), got {type(grads).__name__}",
            hint="return grad_x, grad_w, grad_b")
grad_x, grad_w, grad_b = grads
upstream = {**example, "grad_out": np.ones((1, 1, 2, 2))}
expect_close("grad_x, stride 1", grad_x, [[[[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]]], inputs=upstream,
             hint="every output position adds grad_out[i, j] * w into the window it came from (+=, no flip)")
expect_close("grad_w, stride 1", grad_w, [[[[12.0, 16.0], [24.0, 28.0]]]], inputs=upstream,
             hint="grad_w[p, q] = sum over positions of grad_out[i, j] * x[i + p, j + q]")
expect_close("grad_b, stride 1", grad_b, [4.0], inputs=upstream,
             hint="grad_b[f] sums grad_out[:, f] over the batch and all positions: shape (F,)")

# 2. Stride 2, pad 1: each pixel lies in exactly one window, so grad_x shows which mask entry it met.
cache = (example["x"], example["w"], example["b"], 2, 1)
grad_out = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
grad_x, grad_w, grad_b = run("conv_backward", conv_backward, grad_out, cache)
upstream = {**example, "stride": 2, "pad": 1, "grad_out": grad_out}
expect_close("grad_x, stride 2, pad 1", grad_x, [[[[4.0, 6.0, 8.0], [6.0, 4.0, 8.0], [12.0, 12.0, 16.0]]]],
             inputs=upstream,
             hint="windows start at multiples of the stride in the padded image; cut the padding off at the end")
expect_close("grad_w, stride 2, pad 1", grad_w, [[[[20.0, 36.0], [36.0, 64.0]]]], inputs=upstream,
             hint="use the padded input (zeros at the border) and the window start stride * i")
expect_close("grad_b, stride 2, pad 1", grad_b, [10.0], inputs=upstream)

# 3. Shapes: a gradient always has the shape of its input.
rng = np.random.default_rng(6)
x, w, b = rng.standard_normal((2, 3, 7, 5)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
grads = run("conv_backward", conv_backward, rng.standard_normal((2, 4, 4, 3)), (x, w, b, 2, 1))
for name, grad, value in zip(("grad_x", "grad_w", "grad_b"), grads, (x, w, b)):
    expect_true("conv_backward", np.shape(grad) == value.shape,
                f"{name} has shape {np.shape(grad)}, expected {value.shape} (the shape of {name[5:]})",
                hint="remove the padding from grad_x; sum grad_b over axes (0, 2, 3)")
passed("conv_backward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("convolution", "conv_backward")
### END HIDDEN TESTS

# %% [markdown]
# ### Numeric gradient checks for the convolution
#
# The cell below compares your `conv_backward` with central-difference gradients of your
# `conv_forward` (float64) for all four combinations of stride 1 or 2 and padding 0 or 1, on a
# non-square batch. Every row must read PASS: a maximum relative error below $10^{-9}$.
# (A gradient check only shows that your backward pass matches *your* forward pass; the forward
# tests above make sure the forward pass itself is right.)
#
# The step is $h = 10^{-3}$ rather than the usual $10^{-6}$. A convolution is *linear* in each of
# `x`, `w` and `b`, so the central difference $\frac{f(x+h) - f(x-h)}{2h}$ has no truncation error
# at all; what remains is floating-point rounding, roughly $10^{-16}\,|\text{out}| / h$, and with
# $h = 10^{-6}$ that alone reaches a few times $10^{-9}$ on small gradient entries. A larger step
# removes it without hiding any real mistake (those give errors near 1).

# %% nbgrader={"grade": false, "grade_id": "conv_gradcheck", "locked": true, "schema_version": 3, "solution": false}
rng = np.random.default_rng(442)
conv_inputs = {"x": rng.standard_normal((2, 3, 6, 5)), "w": rng.standard_normal((4, 3, 3, 2)),
               "b": rng.standard_normal(4)}
conv_reports = []
for stride in (1, 2):
    for pad in (0, 1):
        report = check_layer(conv_forward, conv_backward, conv_inputs, params={"stride": stride, "pad": pad}, h=1e-3,
                             title=f"gradient check: conv, x (2, 3, 6, 5), w (4, 3, 3, 2), stride {stride}, pad {pad}")
        expect_gradcheck(report, hint="compare with your answer to Q5.3: window start stride * i, += into "
                                      "grad_x_pad, padding cut off at the end")
        conv_reports.append(report)
print(f"largest relative error over all checks: {max(r.max_error for r in conv_reports):.1e}")

# %% [markdown]
# ## Part C — a hand-made edge detector
#
# Before masks were learned, they were designed. An *edge* in the sense of this question is a
# boundary where a dark region meets a light one (not a thin dark line on a light background).
#
# ### Q5.5 — `vertical_edge_mask` (2 points)
#
# Design a mask with all three colour channels, shape $(3, k, k)$ for a $k$ from 2 to 7, that
# responds strongly to **vertical** edges. With the convolution of Part B (no flip) and pixel
# values in $[0, 1]$ (0 = black, 1 = white), your mask must give:
#
# * a **large positive** response, at least $1$, where a window straddles a vertical edge with
#   **dark on the left and light on the right** (so light-to-dark gives a large negative one);
# * (almost) **zero**, at most $10^{-6}$ times that peak in absolute value, on every flat region,
#   whatever its colour;
# * (almost) **zero** everywhere on an image with a **horizontal** edge (dark above, light below).
#
# Hint: the response of a window is a weighted sum of its pixels. Which weights cancel on a
# constant patch, cancel between rows, and do not cancel across a left/right jump?
#
# **Done** when the test cell prints ✓. Then look at what your mask finds in a real photo below.

# %% nbgrader={"grade": false, "grade_id": "vertical_edge_mask_answer", "locked": false, "schema_version": 3, "solution": true}
def vertical_edge_mask() -> np.ndarray:
    """A mask that responds to vertical dark-to-light edges (dark left, light right: positive).

    Returns:
        float array of shape (3, k, k): one k x k mask per colour channel (r, g, b),
        used without flipping as in conv_forward.
    """
    ### BEGIN SOLUTION
    sobel_x = np.array([[-1.0, 0.0, 1.0],
                        [-2.0, 0.0, 2.0],
                        [-1.0, 0.0, 1.0]])
    return np.stack([sobel_x] * 3) / 3
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "vertical_edge_mask_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
def mask_response(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Response of one (3, k, k) mask at every window of one (3, H, W) image (the formula of Part B)."""
    k_rows, k_cols = mask.shape[1:]
    rows, cols = image.shape[1] - k_rows + 1, image.shape[2] - k_cols + 1
    return np.array([[np.sum(image[:, i:i + k_rows, j:j + k_cols] * mask) for j in range(cols)]
                     for i in range(rows)])


mask = np.asarray(run("vertical_edge_mask", vertical_edge_mask), dtype=float)
expect_true("vertical_edge_mask", mask.ndim == 3 and mask.shape[0] == 3 and 2 <= mask.shape[1] <= 7
            and mask.shape[1] == mask.shape[2] and np.all(np.isfinite(mask)),
            f"returned shape {mask.shape}; expected (3, k, k) with k from 2 to 7, all finite.",
            hint="stack one k x k mask per colour channel: np.stack([m, m, m])")
k = mask.shape[1]
dark_light = np.zeros((3, 10, 16))
dark_light[:, :, 8:] = 1.0  # black on the left, white from column 8 on
response = mask_response(dark_light, mask)
straddles = np.arange(response.shape[1]) + k > 8  # windows that reach into the white half ...
straddles &= np.arange(response.shape[1]) < 8  # ... and start in the black half
peak = response[:, straddles].max()
expect_true("dark | light edge", peak >= 1.0,
            f"largest response across the edge is {peak:.4g}; expected at least 1.",
            hint="weights of one sign on the left columns, the opposite sign on the right columns; "
                 "dark-to-light left to right must be positive")
flat = np.abs(response[:, ~straddles]).max(initial=0.0)
expect_true("flat regions", flat <= 1e-6 * peak,
            f"windows entirely inside the black or the white half respond with up to {flat:.4g}; expected 0.",
            hint="the weights of each channel must add up to zero")
colour_patch = np.ones((3, 8, 8)) * np.array([0.9, 0.2, 0.5])[:, None, None]
flat = np.abs(mask_response(colour_patch, mask)).max()
expect_true("flat coloured patch", flat <= 1e-6 * peak,
            f"a constant patch with colour (0.9, 0.2, 0.5) gives a response of {flat:.4g}; expected 0.",
            hint="the weights of each channel (not only all of them together) must add up to zero")
dark_above = np.zeros((3, 12, 10))
dark_above[:, 6:, :] = 1.0  # black above, white below
across = np.abs(mask_response(dark_above, mask)).max()
expect_true("horizontal edge", across <= 1e-6 * peak,
            f"a horizontal edge gives a response of up to {across:.4g}; expected 0.",
            hint="each row of the mask must add up to zero (summed over the channels), so a change "
                 "from one row to the next cancels")
passed("vertical_edge_mask")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("convolution", "vertical_edge_mask")
### END HIDDEN TESTS

# %% [markdown]
# ### Edges in synthetic and real images
#
# First three synthetic images: dark | light, light | dark and a horizontal edge. Red means a
# positive response, blue a negative one, white zero.

# %% nbgrader={"grade": false, "grade_id": "edge_demo_synthetic", "locked": true, "schema_version": 3, "solution": false}
edge_mask = vertical_edge_mask()[None]  # (1, 3, k, k): one mask for conv_forward
synthetic = np.zeros((3, 3, 16, 16))
synthetic[0, :, :, 8:] = 1.0  # dark | light
synthetic[1, :, :, :8] = 1.0  # light | dark
synthetic[2, :, 8:, :] = 1.0  # dark above, light below
responses, _ = conv_forward(synthetic, edge_mask, np.zeros(1))  # no padding: only windows inside the image
limit = np.abs(responses).max()

fig, axes = plt.subplots(2, 3, figsize=(8, 5.6), layout="constrained")
for column, title in enumerate(["dark | light", "light | dark", "horizontal edge"]):
    axes[0, column].imshow(synthetic[column].transpose(1, 2, 0), interpolation="nearest")
    axes[0, column].set_title(title)
    shown = axes[1, column].imshow(responses[column, 0], cmap="RdBu_r", vmin=-limit, vmax=limit,
                                   interpolation="nearest")
    axes[1, column].set_title(f"response (min {responses[column, 0].min():.2g}, max {responses[column, 0].max():.2g})",
                              fontsize=8)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(shown, ax=axes[1, :], shrink=0.8, label="mask response");

# %% [markdown]
# Now photos from CIFAR-10 (32 × 32 pixels; `load_cifar10` downloads the dataset the first time,
# or reads the archive named by the environment variable `HWLIB_CIFAR10`). The pixels are scaled
# to $[0, 1]$ and moved to the $(N, C, H, W)$ layout that `conv_forward` expects. Vertical
# outlines (a ship's mast, the legs of an animal, the side of a car) should light up; horizontal
# ones (the horizon) should stay pale. There is no padding, so the maps are a little smaller than
# the photos: zero padding would make every bright left or right border look like an edge.

# %% nbgrader={"grade": false, "grade_id": "edge_demo_cifar", "locked": true, "schema_version": 3, "solution": false}
edge_mask = vertical_edge_mask()[None]
cifar = load_cifar10()
chosen = [int(np.flatnonzero(cifar["y_test"] == label)[0]) for label in (0, 1, 4, 7, 8, 9)]
photos = cifar["X_test"][chosen].astype(np.float64) / 255.0  # (6, 32, 32, 3), values in [0, 1]
start = time.perf_counter()
photo_responses, _ = conv_forward(photos.transpose(0, 3, 1, 2), edge_mask, np.zeros(1))
print(f"conv_forward on {len(photos)} images of 32x32x3: {1000 * (time.perf_counter() - start):.0f} ms, "
      f"response maps {photo_responses.shape}")

fig, axes = plt.subplots(2, len(chosen), figsize=(1.9 * len(chosen), 4.2), layout="constrained")
for column, index in enumerate(chosen):
    axes[0, column].imshow(photos[column], interpolation="nearest")
    axes[0, column].set_title(cifar["class_names"][cifar["y_test"][index]], fontsize=9)
    limit = np.abs(photo_responses[column, 0]).max()
    axes[1, column].imshow(photo_responses[column, 0], cmap="RdBu_r", vmin=-limit, vmax=limit,
                           interpolation="nearest")
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("photo")
axes[1, 0].set_ylabel("vertical edges");

# %% [markdown]
# ## Part D — max pooling
#
# A convolution's output is often larger than needed. **Max pooling** shrinks it: slide a
# $ph \times pw$ window over each channel separately, with stride $s$, and keep only the largest
# value in each window. Nothing is multiplied and nothing is learned; you can think of it as
# downsampling that keeps the strongest activation of each neighbourhood. The output size follows
# the same rule as a convolution without padding: an $H \times W$ channel becomes
# $\lfloor 1 + (H - ph)/s \rfloor \times \lfloor 1 + (W - pw)/s \rfloor$. Usually $s = ph = pw$
# (windows side by side), but windows may also overlap ($s < $ pool size) or leave gaps
# ($s > $ pool size).

# %% [markdown] nbgrader={"grade": true, "grade_id": "max_pool_expression_written", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# ### Q5.6 — The output of strided max pooling (1 point)
#
# For one channel $I$ of size $H \times W$, a $ph \times pw$ window and stride $s$, write a simple
# expression for the output element $R[i, j]$, including the range of $i$ and $j$.
#
# YOUR ANSWER HERE
#
# ### BEGIN SOLUTION
# *Model answer.*
#
# $$R[i, j] = \max_{0 \le a \le ph-1,\ 0 \le b \le pw-1} I[s\,i + a,\; s\,j + b],$$
#
# $$0 \le i \le \left\lfloor \tfrac{H - ph}{s} \right\rfloor, \qquad
#   0 \le j \le \left\lfloor \tfrac{W - pw}{s} \right\rfloor,$$
#
# computed for each channel separately (and each image of a batch).
# Marking: the point needs the window start $(s i, s j)$ and the max over the $ph \times pw$
# offsets; a missing or slightly wrong range of $(i, j)$ is not penalised.
# ### END SOLUTION

# %% [markdown]
# ### Q5.7 — `max_pool_forward` (3 points)
#
# `x` has shape $(N, C, H, W)$; pool every channel of every image separately. `pool_size` is an
# int (a square window) or a pair `(ph, pw)`; the first lines of the function, already written,
# turn it into `ph, pw`. `stride` is an int, the same along rows and columns. The output has
# shape $(N, C, H', W')$ with $H' = 1 + (H - ph) // s$ and $W' = 1 + (W - pw) // s$. The cache,
# written for you, is `(x, (ph, pw), stride)`; keep it, since the tests of `max_pool_backward`
# build it directly.
#
# **Done** when the test cell prints ✓: hand-checkable examples with side-by-side, overlapping and
# non-square windows.

# %% nbgrader={"grade": false, "grade_id": "max_pool_forward_answer", "locked": false, "schema_version": 3, "solution": true}
def max_pool_forward(x: np.ndarray, pool_size, stride: int) -> tuple[np.ndarray, tuple]:
    """Max pooling over ph x pw windows with stride s, for each image and channel separately.

    Inputs:
        x: (N, C, H, W).
        pool_size: int (square window) or a pair (ph, pw).
        stride: int, the step s between neighbouring windows.

    Returns (out, cache):
        out: (N, C, H', W'), H' = 1 + (H - ph) // s, W' = 1 + (W - pw) // s,
             out[n, c, i, j] = max of x[n, c, s i : s i + ph, s j : s j + pw].
        cache: the tuple (x, (ph, pw), stride), for max_pool_backward.
    """
    ph, pw = (pool_size, pool_size) if np.ndim(pool_size) == 0 else tuple(pool_size)
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        top = i * stride
        for j in range(W_out):
            left = j * stride
            window = x[:, :, top:top + ph, left:left + pw]  # (N, C, ph, pw)
            out[:, :, i, j] = window.max(axis=(2, 3))
    ### END SOLUTION
    cache = (x, (ph, pw), stride)
    return out, cache


# %% nbgrader={"grade": true, "grade_id": "max_pool_forward_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false}
x = np.arange(16.0).reshape(1, 1, 4, 4)  # rows [0..3], [4..7], [8..11], [12..15]

# 1. 2x2 windows side by side (stride 2).
out, _ = run("max_pool_forward", max_pool_forward, x, 2, 2)
expect_close("max_pool_forward, pool 2, stride 2", out, [[[[5.0, 7.0], [13.0, 15.0]]]],
             inputs={"x": x, "pool_size": 2, "stride": 2},
             hint="the window of out[i, j] is x[..., s*i : s*i + ph, s*j : s*j + pw]")

# 2. Overlapping 3x3 windows (stride 1).
out, _ = run("max_pool_forward", max_pool_forward, x, 3, 1)
expect_close("max_pool_forward, pool 3, stride 1", out, [[[[10.0, 11.0], [14.0, 15.0]]]],
             inputs={"x": x, "pool_size": 3, "stride": 1}, hint="H' = 1 + (H - ph) // stride")

# 3. A non-square window (2 rows, 3 columns) on a non-square image, and negative values.
x = -np.array([[[[9.0, 1.0, 7.0, 3.0], [2.0, 8.0, 4.0, 6.0], [5.0, 0.5, 1.5, 2.5]]]])
out, _ = run("max_pool_forward", max_pool_forward, x, (2, 3), 1)
expect_close("max_pool_forward, pool (2, 3), stride 1", out, [[[[-1.0, -1.0], [-0.5, -0.5]]]],
             inputs={"x": x, "pool_size": (2, 3), "stride": 1},
             hint="pool_size (ph, pw) = (rows, columns); start from the window's values, not from 0")

# 4. Several images and channels are pooled separately; the output size rounds down.
rng = np.random.default_rng(7)
x = rng.standard_normal((2, 3, 7, 6))
out, _ = run("max_pool_forward", max_pool_forward, x, 2, 2)
expect_true("max_pool_forward output shape", np.shape(out) == (2, 3, 3, 3),
            f"x (2, 3, 7, 6), pool 2, stride 2 gave shape {np.shape(out)}; expected (2, 3, 3, 3).",
            hint="H' = 1 + (H - ph) // stride: the last row of a 7-row image is not in any window")
expect_close("max_pool_forward, image 1, channel 2, first window", np.asarray(out)[1, 2, 0, 0],
             x[1, 2, :2, :2].max(), hint="take the max over the window's rows and columns only")
passed("max_pool_forward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("convolution", "max_pool_forward")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "max_pool_backprop_written", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# ### Q5.8 — Backpropagation through max pooling, in words (2 points)
#
# In plain English (no formulas needed): given $\partial L / \partial R[i, j]$ for every output of a
# max-pooling layer, how do you compute $\partial L / \partial I$ for every input pixel? Say what
# happens to the pixels that were not the maximum, what happens when windows overlap, and what
# you do when two pixels of a window share the maximum.
#
# YOUR ANSWER HERE
#
# ### BEGIN SOLUTION
# *Model answer.* Each output is a copy of one input pixel, the largest in its window, so near the
# current input the output changes one-for-one with that pixel and not at all with the others
# (moving a smaller pixel a tiny bit does not change the max). Backpropagation therefore starts
# from an all-zero gradient for the input, and for every output position sends its upstream
# gradient to the pixel that was the maximum of its window (remembered from, or recomputed as in,
# the forward pass); all other pixels of the window get nothing from that output. When windows
# overlap, a pixel can be the maximum of several windows and receives the sum of their upstream
# gradients. With a tie the max is not differentiable; we pick one winner by a fixed rule (here the
# first maximum in row-major order, as np.argmax does) and give it the whole gradient, so the
# gradient is neither duplicated nor split.
# Marking: 1 point for "route each upstream gradient to the argmax of its window, zeros elsewhere";
# 1 point for accumulating over overlapping windows and a sensible tie rule (one winner).
# ### END SOLUTION

# %% [markdown]
# ### Q5.9 — `max_pool_backward` (4 points)
#
# Implement the rule you just described. Loop over the output positions as in the forward pass;
# for each, find where the maximum of every window sits and add `grad_out[:, :, i, j]` there.
#
# * **Ties:** when several entries of a window share the maximum, the gradient goes to the
#   **first** of them in row-major order (scan the window row by row, left to right). That is
#   exactly what `np.argmax` returns on the window flattened to length $ph \cdot pw$;
#   `np.divmod(index, pw)` turns that index back into (row, column) inside the window.
# * **Overlapping windows** (stride < pool size) must **add up** their contributions.
# * Fancy indexing helps to write into all $N \times C$ windows at once: with
#   `n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")`, the expression
#   `grad_x[n, c, rows, cols]` picks one entry per image and channel when `rows` and `cols` have
#   shape $(N, C)$.
#
# **Done** when the test cell prints ✓: overlapping windows that share one maximum, ties, and a
# non-square window with gaps between windows. The cell after it runs numeric gradient checks.

# %% nbgrader={"grade": false, "grade_id": "max_pool_backward_answer", "locked": false, "schema_version": 3, "solution": true}
def max_pool_backward(grad_out: np.ndarray, cache: tuple) -> np.ndarray:
    """Backward pass of max_pool_forward.

    Inputs:
        grad_out: (N, C, H', W') upstream gradient dL/dout.
        cache: (x, (ph, pw), stride) as returned by max_pool_forward.

    Returns:
        grad_x: (N, C, H, W). Each grad_out[n, c, i, j] goes to the maximum of its window (the first
        one in row-major order if several are equal); overlapping windows add up.
    """
    x, (ph, pw), stride = cache
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    _, _, H_out, W_out = grad_out.shape
    grad_x = np.zeros(x.shape)
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")  # (N, C) index grids
    for i in range(H_out):
        top = i * stride
        for j in range(W_out):
            left = j * stride
            window = x[:, :, top:top + ph, left:left + pw].reshape(N, C, ph * pw)
            first_max = np.argmax(window, axis=2)  # (N, C), first maximum in row-major order
            row, col = np.divmod(first_max, pw)
            grad_x[n, c, top + row, left + col] += grad_out[:, :, i, j]
    ### END SOLUTION
    return grad_x


# %% nbgrader={"grade": true, "grade_id": "max_pool_backward_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false}
# 1. Overlapping windows (2x2, stride 1) that all contain the 9 in the middle: it collects every gradient.
x = np.array([[[[1.0, 2.0, 0.0], [0.0, 9.0, 3.0], [4.0, 0.0, 1.0]]]])
grad_out = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
# (The tests build the cache (x, (ph, pw), stride) themselves: max_pool_backward is tested on its own.)
grad_x = run("max_pool_backward", max_pool_backward, grad_out, (x, (2, 2), 1))
expect_close("max_pool_backward, overlapping windows", grad_x,
             [[[[0.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]]]],
             inputs={"x": x, "pool_size": 2, "stride": 1, "grad_out": grad_out},
             hint="only the maximum of each window gets its gradient, and overlapping windows add up (+=, not =)")

# 2. Ties: the first maximum in row-major order takes the whole gradient.
x = np.array([[[[3.0, 3.0, 1.0, 5.0], [3.0, 3.0, 5.0, 2.0]]]])
grad_out = np.array([[[[2.0, 7.0]]]])
grad_x = run("max_pool_backward", max_pool_backward, grad_out, (x, (2, 2), 2))
expect_close("max_pool_backward, ties", grad_x, [[[[2.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]]]],
             inputs={"x": x, "pool_size": 2, "stride": 2, "grad_out": grad_out},
             hint="give the whole gradient to one entry: np.argmax on the flattened window picks the first maximum")

# 3. A non-square window (1 row, 2 columns) with stride 3: rows 1 and 2 and column 2 lie in no window.
x = np.array([[[[1.0, 4.0, 9.0, 2.0, 0.0],
                [6.0, 5.0, 0.0, 8.0, 7.0],
                [2.0, 2.0, 2.0, 2.0, 2.0],
                [6.0, 5.0, 0.0, 8.0, 7.0]],
               [[0.0, -1.0, 5.0, -3.0, -2.0],
                [1.0, 1.0, 1.0, 1.0, 1.0],
                [1.0, 1.0, 1.0, 1.0, 1.0],
                [3.0, 3.0, 1.0, 2.0, 9.0]]]])
grad_out = np.array([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]])
grad_x = run("max_pool_backward", max_pool_backward, grad_out, (x, (1, 2), 3))
zeros = [0.0] * 5
expect_close("max_pool_backward, pool (1, 2), stride 3", grad_x,
             [[[[0.0, 1.0, 0.0, 2.0, 0.0], zeros, zeros, [3.0, 0.0, 0.0, 4.0, 0.0]],
               [[5.0, 0.0, 0.0, 0.0, 6.0], zeros, zeros, [7.0, 0.0, 0.0, 0.0, 8.0]]]],
             inputs={"x": x, "pool_size": (1, 2), "stride": 3, "grad_out": grad_out},
             hint="convert the flat argmax back to (row, column) with divmod by the window width pw; "
                  "pixels in no window get 0")
passed("max_pool_backward")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("convolution", "max_pool_backward")
### END HIDDEN TESTS

# %% [markdown]
# ### Numeric gradient checks for max pooling
#
# Max pooling is not differentiable where two entries of a window tie, so the check uses inputs
# whose values are all at least $0.1$ apart (a shuffled ramp): a step of $h = 10^{-3}$ never
# changes which entry is the maximum, and between ties max pooling is linear, so (as for the
# convolution) the central difference is exact up to rounding. Overlapping windows, side-by-side
# windows and gaps are all checked.

# %% nbgrader={"grade": false, "grade_id": "max_pool_gradcheck", "locked": true, "schema_version": 3, "solution": false}
rng = np.random.default_rng(443)
pool_input = {"x": 0.1 * rng.permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8)}  # no ties
pool_reports = []
for pool_size, stride in ((2, 2), (3, 1), ((2, 3), 2), (2, 3)):
    report = check_layer(max_pool_forward, max_pool_backward, pool_input,
                         params={"pool_size": pool_size, "stride": stride}, h=1e-3,
                         title=f"gradient check: max pool, x (2, 3, 7, 8), pool {pool_size}, stride {stride}")
    expect_gradcheck(report, hint="each upstream gradient goes to the argmax of its window; overlapping windows add up")
    pool_reports.append(report)
print(f"largest relative error over all checks: {max(r.max_error for r in pool_reports):.1e}")

# %% [markdown]
# ## Putting it together
#
# A convolution layer with your edge mask, followed by $2 \times 2$ max pooling with stride 2, turns
# each $32 \times 32$ photo into a small map of its strongest vertical edges (here the
# absolute response, so both dark-to-light and light-to-dark edges count). This is the shape of the
# first stage of a convolutional network, except that there the masks are learned with exactly the
# backward passes you wrote.

# %% nbgrader={"grade": false, "grade_id": "pipeline_demo", "locked": true, "schema_version": 3, "solution": false}
edge_mask = vertical_edge_mask()[None]
edge_maps, _ = conv_forward(photos.transpose(0, 3, 1, 2), edge_mask, np.zeros(1))
pooled, _ = max_pool_forward(np.abs(edge_maps), 2, 2)
print(f"photos {photos.transpose(0, 3, 1, 2).shape} -> edge maps {edge_maps.shape} -> pooled {pooled.shape}")

fig, axes = plt.subplots(3, len(chosen), figsize=(1.9 * len(chosen), 6), layout="constrained")
for column in range(len(chosen)):
    axes[0, column].imshow(photos[column], interpolation="nearest")
    axes[1, column].imshow(np.abs(edge_maps[column, 0]), cmap="gray_r", interpolation="nearest")
    axes[2, column].imshow(pooled[column, 0], cmap="gray_r", interpolation="nearest")
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
sizes = [photos.shape[1:3], edge_maps.shape[2:], pooled.shape[2:]]
for row, (label, size) in enumerate(zip(["photo", "|edge response|", "max pooled"], sizes)):
    axes[row, 0].set_ylabel(f"{label}\n{size[0]} x {size[1]}");
