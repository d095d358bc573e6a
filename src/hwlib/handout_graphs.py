"""The computational graphs that the handouts hand to students already drawn.

Structures only: each function returns a fresh :class:`~hwlib.graphdraw.CompGraph`
with no values and no gradient formulas. Notebooks pass dicts keyed by the
variable names listed in each docstring to ``graph.draw(values, grads)``.
"""

from __future__ import annotations

from hwlib.graphdraw import CompGraph


def example_add_mul() -> CompGraph:
    """f(x, y, z) = (x + y) z, the warm-up example.

    Variables: inputs ``x``, ``y``, ``z``; ``q = x + y``; output ``f = q × z``.
    """
    return CompGraph("f(x, y, z) = (x + y) z").op("+", ["x", "y"], "q").op("×", ["q", "z"], "f")


def f1_graph() -> CompGraph:
    """f1: two products and a bias summed, compared with a target, squared.

    Variables: inputs ``x1``, ``w1``, ``x2``, ``w2``, ``b``, ``y``;
    ``a1 = x1 × w1``, ``a2 = x2 × w2``, ``y_hat = a1 + a2 + b``,
    ``d = y_hat − y``; output ``L = d^2``.
    """
    return (
        CompGraph("f1")
        .op("×", ["x1", "w1"], "a1")
        .op("×", ["x2", "w2"], "a2")
        .op("+", ["a1", "a2", "b"], "y_hat")
        .op("−", ["y_hat", "y"], "d")
        .op("^2", ["d"], "L")
    )


def f2_graph() -> CompGraph:
    """f2: a function of one input built from ×2, exp, −1, +1 and ÷.

    Variables: input ``x``; ``d = 2x``, ``e = exp(d)``, ``t = e − 1``,
    ``b = e + 1``; output ``y = t ÷ b`` (``t`` is the numerator).
    """
    return (
        CompGraph("f2")
        .op("×2", ["x"], "d")
        .op("exp", ["d"], "e")
        .op("−1", ["e"], "t")
        .op("+1", ["e"], "b")
        .op("÷", ["t", "b"], "y")
    )


def f3_graph() -> CompGraph:
    """f3: two scores, exponentiated and normalised; the chosen one's −log.

    Variables: inputs ``s1``, ``s2`` and the label ``y`` (1 or 2, no gradient);
    ``e1 = exp(s1)``, ``e2 = exp(s2)``, ``d = e1 + e2``, ``p1 = e1 ÷ d``,
    ``p2 = e2 ÷ d``, ``p_plus = choose(p1, p2, y)`` (p1 if y = 1, else p2);
    output ``L = −log(p_plus)``.
    """
    return (
        CompGraph("f3")
        .op("exp", ["s1"], "e1")
        .op("exp", ["s2"], "e2")
        .op("+", ["e1", "e2"], "d")
        .op("÷", ["e1", "d"], "p1")
        .op("÷", ["e2", "d"], "p2")
        .op("choose", ["p1", "p2", "y"], "p_plus")
        .op("−log", ["p_plus"], "L")
    )


def copy_example_graph() -> CompGraph:
    """L = a·b + c·b with ``b`` split by an explicit copy operator.

    Variables: inputs ``a``, ``b``, ``c``; ``b1``, ``b2`` = copy(b);
    ``d = a × b1``, ``e = c × b2``; output ``L = d + e``. In the backward pass
    the gradients of ``b1`` and ``b2`` add up to the gradient of ``b``.
    """
    return (
        CompGraph("copy operator: L = a·b + c·b")
        .op("copy", ["b"], ["b1", "b2"])
        .op("×", ["a", "b1"], "d")
        .op("×", ["c", "b2"], "e")
        .op("+", ["d", "e"], "L")
    )
