"""Hidden cases for notebook 1, computational graphs (key ``graphs``).

Every public check of the notebook is repeated here, plus more points, shapes and
edge cases. Reference values come from the source notebook (``ref``).

Graph-building questions are checked by *running* the student's graph: a tiny
interpreter below evaluates ops labelled +, ×, −, +1, exp, 1/x and copy.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from course.cases import Case, call
from course.hidden import question
from hwlib.checks import expect_close
from hwlib.samples import load_scalar_samples

GRAPH_FETCH = ("0.ops", "0.inputs", "0.outputs")
NEURON_LEAVES = ("w0", "x0", "w1", "x1", "w2")


# ---------------------------------------------------------------------------
# Helpers: running student graphs, comparing dicts and (output, grads) pairs
# ---------------------------------------------------------------------------


def _apply_op(op: Any, args: list[float], ref: Any) -> list[float]:
    """Evaluate one op of a student graph; AssertionError for labels it cannot have."""
    label, n_in, n_out = op.label, len(args), len(op.outputs)
    where = f"op {label!r} with inputs {list(op.inputs)} and outputs {list(op.outputs)}"
    if label == ref.COPY:
        if n_in != 1:
            raise AssertionError(f"{where}: a copy op takes exactly one input.")
        return [args[0]] * n_out
    if n_out != 1:
        raise AssertionError(f"{where}: only a copy op may have several outputs.")
    if label == ref.ADD:
        if n_in < 2:
            raise AssertionError(f"{where}: + needs at least two inputs (use PLUS_ONE for +1).")
        return [math.fsum(args)]
    if label == ref.MUL:
        if n_in < 2:
            raise AssertionError(f"{where}: × needs at least two inputs.")
        return [math.prod(args)]
    unary = {ref.NEG: lambda v: -v, ref.PLUS_ONE: lambda v: v + 1.0, ref.EXP: math.exp,
             ref.RECIPROCAL: lambda v: 1.0 / v}
    if label in unary:
        if n_in != 1:
            raise AssertionError(f"{where}: {label} takes exactly one input.")
        return [unary[label](args[0])]
    raise AssertionError(f"{where}: unknown operator label.")


def _evaluate_graph(ops: Sequence[Any], inputs: Mapping[str, float], ref: Any) -> dict[str, float]:
    """Values of every variable of a student graph at ``inputs``."""
    env = dict(inputs)
    for op in ops:
        missing = [name for name in op.inputs if name not in env]
        if missing:
            raise AssertionError(f"op {op.label!r} reads {missing}, which no earlier op produces.")
        env.update(zip(op.outputs, _apply_op(op, [env[name] for name in op.inputs], ref)))
    return env


def _check_leaves(out: Mapping[str, Any], inputs: Sequence[str], outputs: Sequence[str]) -> None:
    got_in, got_out = list(out["0.inputs"]), list(out["0.outputs"])
    if sorted(got_in) != sorted(inputs):
        raise AssertionError(f"the graph's inputs are {got_in}; expected {sorted(inputs)}. "
                             "(A variable that no op produces is an input: check the spelling.)")
    if got_out != list(outputs):
        raise AssertionError(f"the graph's outputs are {got_out}; expected {list(outputs)}. "
                             "(A variable that no op reads is an output: is every intermediate used?)")


def _unpack_pair(result: Any, what: str) -> tuple[Any, Any]:
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise AssertionError(f"expected a pair {what}, got {type(result).__name__}: {result!r:.150}")
    return result[0], result[1]


def _grads_tuple(grads: Any, names: Sequence[str]) -> tuple:
    if len(names) == 1 and not isinstance(grads, (tuple, list, np.ndarray)):
        grads = (grads,)
    if not isinstance(grads, (tuple, list, np.ndarray)) or len(grads) != len(names):
        raise AssertionError(f"grads should be a tuple of {len(names)} number(s) "
                             f"({', '.join('grad_' + n for n in names)}), got {grads!r:.150}")
    return tuple(grads)


def _output_and_grads_check(label: str, inputs: Mapping[str, Any], expected: tuple[float, Sequence[float]],
                            grad_names: Sequence[str], *, rtol: float, atol: float,
                            hint: str) -> Callable[[Mapping[str, Any]], None]:
    """Check that call 0 returned (L, grads) equal to ``expected``."""
    expected_out, expected_grads = expected

    def check(out: Mapping[str, Any]) -> None:
        value, grads = _unpack_pair(out["0"], "(L, grads)")
        grads = _grads_tuple(grads, grad_names)
        expect_close(f"case {label!r}: output", value, expected_out, inputs=inputs, rtol=rtol, atol=atol, hint=hint)
        for name, got, want in zip(grad_names, grads, expected_grads):
            expect_close(f"case {label!r}: grad_{name}", got, want, inputs=inputs, rtol=rtol, atol=atol, hint=hint)

    return check


def _dicts_check(label: str, inputs: Mapping[str, Any], expected: tuple[dict, dict], *, rtol_values: float,
                 rtol_grads: float, atol: float, hint: str) -> Callable[[Mapping[str, Any]], None]:
    """Check that call 0 returned (values, grads), two dicts equal to ``expected``."""

    def check(out: Mapping[str, Any]) -> None:
        pair = _unpack_pair(out["0"], "(values, grads) of two dicts")
        for what, got, want, rtol in zip(("values", "grads"), pair, expected, (rtol_values, rtol_grads)):
            if not isinstance(got, Mapping):
                raise AssertionError(f"{what} should be a dict keyed by variable name, got {type(got).__name__}.")
            missing = [k for k in want if k not in got]
            extra = [k for k in got if k not in want]
            if missing or extra:
                raise AssertionError(f"{what} has missing keys {missing} and unexpected keys {extra}; "
                                     f"expected exactly {list(want)}.")
            for key, value in want.items():
                expect_close(f"case {label!r}: {what}[{key!r}]", got[key], value, inputs=inputs, rtol=rtol,
                             atol=atol, hint=hint)

    return check


# ---------------------------------------------------------------------------
# Part 2: the sigmoid neuron
# ---------------------------------------------------------------------------


def _neuron_points(rng: np.random.Generator, ref: Any, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    points = [(ref.W_HANDOUT, ref.X_HANDOUT), (ref.W_SECOND, ref.X_SECOND)]
    points += [(rng.standard_normal(3), rng.standard_normal(2)) for _ in range(count)]
    return points


@question("build_sigmoid_neuron_graph")
def build_sigmoid_neuron_graph_cases(rng, ref):
    hint = "build the graph of the table with MUL, ADD, NEG, EXP, PLUS_ONE, RECIPROCAL; end with `return g`"
    wanted_labels = Counter(op.label for op in ref.build_sigmoid_neuron_graph().ops)
    wanted_variables = set(ref.SIGMOID_NEURON_VARIABLES)

    def leaves(out):
        _check_leaves(out, NEURON_LEAVES, ["f"])

    def labels(out):
        got = Counter(op.label for op in out["0.ops"])
        if got != wanted_labels:
            raise AssertionError(f"the operator labels are {sorted(got.elements())}; "
                                 f"expected {sorted(wanted_labels.elements())}.")

    def variables(out):
        got = {name for op in out["0.ops"] for name in (*op.inputs, *op.outputs)}
        if got != wanted_variables:
            raise AssertionError(f"missing variables {sorted(wanted_variables - got)}, unexpected variables "
                                 f"{sorted(got - wanted_variables)}; use exactly the names of the table.")

    def computes(points):
        def check(out):
            for w, x in points:
                env = _evaluate_graph(out["0.ops"], dict(zip(NEURON_LEAVES, [w[0], x[0], w[1], x[1], w[2]])), ref)
                expected = ref.sigmoid_neuron_primitives(w, x)[0]
                for name, value in expected.items():
                    if name in env and not math.isclose(env[name], value, rel_tol=1e-9, abs_tol=1e-12):
                        raise AssertionError(f"at w = {np.asarray(w).tolist()}, x = {np.asarray(x).tolist()} your graph gives {name} = {env[name]!r}; "
                                             f"the table says {name} = {value!r}. Check which inputs that op reads.")
        return check

    yield Case("graph inputs and output", [call("build_sigmoid_neuron_graph")], fetch=GRAPH_FETCH, check=leaves,
               hint=hint)
    yield Case("operator labels", [call("build_sigmoid_neuron_graph")], fetch=GRAPH_FETCH, check=labels, hint=hint)
    yield Case("variable names", [call("build_sigmoid_neuron_graph")], fetch=GRAPH_FETCH, check=variables, hint=hint)
    points = [(ref.W_HANDOUT, ref.X_HANDOUT)] + [(rng.standard_normal(3), rng.standard_normal(2)) for _ in range(2)]
    yield Case("the graph computes the neuron", [call("build_sigmoid_neuron_graph")], fetch=GRAPH_FETCH,
               check=computes(points), hint=hint)


@question("sigmoid_neuron_primitives")
def sigmoid_neuron_primitives_cases(rng, ref):
    hint = ("backpropagate through each primitive: 1/x gives -1/d**2, exp gives e, negation flips the sign, "
            "+ and +1 pass the gradient on, × multiplies by the other factor")
    for number, (w, x) in enumerate(_neuron_points(rng, ref, 4)):
        label = {0: "handout point (saturated, z = 27)", 1: "second point (z = 0.8)"}.get(number, f"random point {number - 1}")
        expected = ref.sigmoid_neuron_primitives(w, x)
        # Saturated gradients are ~1e-11: only relative tolerances mean anything there.
        yield Case(label, [call("sigmoid_neuron_primitives", w, x)], fetch=("0",),
                   check=_dicts_check(label, {"w": w, "x": x}, expected, rtol_values=1e-8, rtol_grads=1e-6,
                                      atol=0.0 if number == 0 else 1e-12, hint=hint), hint=hint)
    w, x = [0.5, -1.0, 2.0], [1.0, 3.0]
    yield Case("inputs given as lists", [call("sigmoid_neuron_primitives", w, x)], fetch=("0",),
               check=_dicts_check("inputs given as lists", {"w": w, "x": x}, ref.sigmoid_neuron_primitives(w, x),
                                  rtol_values=1e-8, rtol_grads=1e-6, atol=1e-12, hint=hint), hint=hint)


@question("sigmoid")
def sigmoid_cases(rng, ref):
    hint = "1 / (1 + exp(-z)), elementwise; for large |z| avoid inf/inf"
    fixed = [np.array([-3.0, -0.5, 0.0, 0.5, 3.0]), np.array([[-800.0, 800.0], [-40.0, 40.0]])]
    for z in fixed + [3.0 * rng.standard_normal(s) for s in [(7,), (3, 4), (2, 3, 2)]]:
        yield Case(f"z of shape {z.shape}", [call("sigmoid", z)], expect={"0": ref.sigmoid(z)}, atol=1e-20,
                   rtol=1e-6, hint=hint)
    yield Case("z = 27.0 (a float)", [call("sigmoid", 27.0)], expect={"0": ref.sigmoid(27.0)}, atol=0.0, rtol=1e-12,
               hint=hint)
    z = np.array([-1000.0, -710.0, 710.0, 1000.0])
    yield Case("very large |z|: no nan or inf", [call("sigmoid", z)], expect={"0": ref.sigmoid(z)}, atol=1e-20,
               hint="exp(z) / (1 + exp(z)) overflows to inf / inf = nan; use 1 / (1 + exp(-z)) for z >= 0")


@question("sigmoid_grad")
def sigmoid_grad_cases(rng, ref):
    hint = "(1 - sigma(z)) * sigma(z), with sigma(z) (not z) inside"
    reference_sigmoid = {"sigmoid": "graphs"}  # a wrong sigmoid is charged once, in Q2.3
    fixed = [np.array([-3.0, -0.5, 0.0, 0.5, 3.0]), np.array([[-1.3, 0.2], [2.5, 0.7]]), np.array([-30.0, 30.0])]
    for z in fixed + [2.0 * rng.standard_normal(s) for s in [(6,), (2, 5)]]:
        yield Case(f"z of shape {z.shape}", [call("sigmoid_grad", z)], expect={"0": ref.sigmoid_grad(z)},
                   atol=1e-12, rtol=1e-6, hint=hint, use_reference=reference_sigmoid)
    yield Case("z = 1.3 (a float)", [call("sigmoid_grad", 1.3)], expect={"0": ref.sigmoid_grad(1.3)}, atol=1e-12,
               rtol=1e-7, hint=hint, use_reference=reference_sigmoid)


@question("sigmoid_neuron_sigma_node")
def sigmoid_neuron_sigma_node_cases(rng, ref):
    hint = "grad_z = grad_f * (1 - f) * f; the rest of the backward pass is as in Q2.2"
    uses = {"sigmoid": "graphs", "sigmoid_grad": "graphs"}
    for number, (w, x) in enumerate(_neuron_points(rng, ref, 4)):
        label = {0: "handout point (saturated, z = 27)", 1: "second point (z = 0.8)"}.get(number, f"random point {number - 1}")
        expected = ref.sigmoid_neuron_sigma_node(w, x)
        # At z = 27, 1 - sigma(z) keeps ~5 digits, so equally valid formulas differ by ~1e-4 relative.
        yield Case(label, [call("sigmoid_neuron_sigma_node", w, x)], fetch=("0",),
                   check=_dicts_check(label, {"w": w, "x": x}, expected, rtol_values=1e-8,
                                      rtol_grads=1e-3 if number == 0 else 1e-8,
                                      atol=0.0 if number == 0 else 1e-12, hint=hint),
                   hint=hint, use_reference=uses)


# ---------------------------------------------------------------------------
# Part 3: f1, f2, f3
# ---------------------------------------------------------------------------


def _sample_cases(name: str, ref: Any, points: list[dict[str, Any]], grad_names: Sequence[str], hint: str,
                  first_labels: str = "sample"):
    samples = load_scalar_samples()[name]
    for number, inputs in enumerate([s["inputs"] for s in samples] + points):
        label = f"{first_labels} {number}" if number < len(samples) else f"point {inputs}"
        yield Case(label, [call(name, **inputs)], fetch=("0",),
                   check=_output_and_grads_check(label, inputs, getattr(ref, name)(**inputs), grad_names,
                                                 rtol=1e-6, atol=1e-9, hint=hint), hint=hint)


@question("f1")
def f1_cases(rng, ref):
    names = ["x1", "w1", "x2", "w2", "b", "y"]
    points = [dict(zip(names, (scale * rng.standard_normal(6)).tolist())) for scale in (1.0, 1.0, 10.0, 0.01)]
    points.append(dict(zip(names, [1.0, 2.0, -1.0, 0.5, 0.25, 2.25])))  # prediction equals target: L = 0
    yield from _sample_cases("f1", ref, points, names,
                             hint="L = d**2 with d = y_hat - y: grad_d = 2d, grad_y = -grad_d, × takes the other factor")


@question("f2")
def f2_cases(rng, ref):
    points = [{"x": x} for x in (0.0, 0.01, -0.3, 3.0, -8.0, *rng.uniform(-4.0, 4.0, 3).tolist())]
    yield from _sample_cases("f2", ref, points, ["x"],
                             hint="÷ node: 1/b for t and -t/b**2 for b; e feeds two nodes, so add both gradients; "
                                  "×2 multiplies the gradient by 2")


@question("f3")
def f3_cases(rng, ref):
    points = [{"s1": 1.5, "s2": 1.5, "y": 1}]
    points += [{"s1": s1, "s2": s2, "y": y} for (s1, s2) in [(30.0, -30.0), (-25.0, 20.0), (40.0, 39.0)] for y in (1, 2)]
    points += [{"s1": float(a), "s2": float(b), "y": int(y)}
               for a, b, y in zip(3 * rng.standard_normal(3), 3 * rng.standard_normal(3), rng.integers(1, 3, 3))]
    yield from _sample_cases("f3", ref, points, ["s1", "s2"],
                             hint="choose sends the gradient to p1 when y == 1 and to p2 when y == 2 (0 to the other); "
                                  "-log gives -1/p; e_i and d each collect two gradients; no gradient for y")


# ---------------------------------------------------------------------------
# Part 4: the copy operator
# ---------------------------------------------------------------------------


@question("build_f5_graph")
def build_f5_graph_cases(rng, ref):
    hint = "inputs x, y, z; output w; ops ADD, MUL, COPY only; read each variable once (copy it first)"

    def leaves(out):
        _check_leaves(out, ["x", "y", "z"], ["w"])

    def labels(out):
        got = {op.label for op in out["0.ops"]}
        if not got <= {ref.ADD, ref.MUL, ref.COPY} or ref.COPY not in got:
            raise AssertionError(f"the operator labels are {sorted(got)}; use only ADD, MUL and COPY "
                                 "(and at least one COPY).")

    def copies(out):
        reads = Counter(name for op in out["0.ops"] for name in op.inputs)
        repeated = sorted(name for name, count in reads.items() if count > 1)
        if repeated:
            raise AssertionError(f"the variable(s) {repeated} are read more than once; send each reused "
                                 "variable through a COPY op and read each copy once.")

    def computes(points):
        def check(out):
            for x, y, z in points:
                env = _evaluate_graph(out["0.ops"], {"x": x, "y": y, "z": z}, ref)
                expected = ref.f5(x, y, z)[0]
                if not math.isclose(env.get("w", math.nan), expected, rel_tol=1e-9, abs_tol=1e-12):
                    raise AssertionError(f"at x = {x}, y = {y}, z = {z} your graph gives w = {env.get('w')!r}; "
                                         f"expected {expected!r} (a = xy + z, b = a(x + x), w = ab + b).")
        return check

    for label, check in (("graph inputs and output", leaves), ("operator labels", labels),
                         ("explicit copies", copies),
                         ("the graph computes w", computes([(1.0, 2.0, 3.0), *rng.standard_normal((3, 3)).tolist()]))):
        yield Case(label, [call("build_f5_graph")], fetch=GRAPH_FETCH, check=check, hint=hint)


@question("f5")
def f5_cases(rng, ref):
    hint = "sum the gradients of every copy: three for x, two for a, two for b"
    points = [(1.0, 2.0, 3.0), (-0.5, 1.5, 1.25), (-0.5, 1.5, 0.25), (0.0, 1.0, 2.0), *(2 * rng.standard_normal((5, 3))).tolist()]
    for x, y, z in points:
        inputs = {"x": x, "y": y, "z": z}
        label = f"x = {x:.4g}, y = {y:.4g}, z = {z:.4g}"
        yield Case(label, [call("f5", x, y, z)], fetch=("0",),
                   check=_output_and_grads_check(label, inputs, ref.f5(x, y, z), ["x", "y", "z"], rtol=1e-7,
                                                 atol=1e-9, hint=hint), hint=hint)


# ---------------------------------------------------------------------------
# Part 5: f4 of the student's design
# ---------------------------------------------------------------------------

#: Seeds of the random points in [0.5, 2]: the public test's, then extra hidden ones.
F4_POINT_SEEDS = ((4, 3), (44, 5))


def _f4_parameters(listing: Any) -> list[str]:
    """f4's argument names, from its code listing (``Case.source_of``)."""
    if not isinstance(listing, dict) or not listing.get("defined"):
        raise AssertionError("f4 is not defined as a plain function; define it with `def f4(...)`.")
    params = listing.get("params") or []
    if any(kind in ("VAR_POSITIONAL", "VAR_KEYWORD") for _, kind in params):
        raise AssertionError("f4 should list its inputs explicitly (no *args or **kwargs).")
    if not params:
        raise AssertionError("f4 takes no inputs; give it the scalar inputs of your design.")
    return [name for name, _ in params]


#: Step of the numeric gradient of f4 (central differences, computed here from f4's values).
F4_STEP = 1e-6
F4_HINT = "return (L, grads) with one gradient per argument, in order"


def _f4_point_check(names: list[str], args: list[float]):
    """Compare f4's gradients at ``args`` with central differences of its returned values."""

    def check(out: Mapping[str, Any]) -> None:
        inputs = dict(zip(names, args))
        value, grads = _unpack_pair(out["0"], "(L, grads)")
        grads = np.asarray(_grads_tuple(grads, names), dtype=np.float64)
        value = float(value)
        numeric = np.array([(float(out[f"{1 + 2 * i}.0"]) - float(out[f"{2 + 2 * i}.0"])) / (2 * F4_STEP)
                            for i in range(len(names))])
        expect_close("f4: your gradients (got) vs numeric gradients (expected)", grads, numeric,
                     inputs=inputs, rtol=1e-6, atol=1e-7 * max(1.0, abs(value)),
                     hint="check each local derivative, and sum the gradients of reused variables; the function "
                          "must be smooth for inputs in [0.5, 2]")

    return check


def _f4_followup(outputs: Mapping[str, Any]) -> list[Case]:
    """Once f4's arguments are known: one case per random point, f4 and its 2n neighbours."""
    names = _f4_parameters(outputs.get("source"))
    points = [row for seed, count in F4_POINT_SEEDS
              for row in np.random.default_rng(seed).uniform(0.5, 2.0, size=(count, len(names)))]
    cases = []
    for point in points:
        args = point.tolist()
        calls = [call("f4", *args)]
        for i in range(len(args)):
            calls.append(call("f4", *[a + F4_STEP * (j == i) for j, a in enumerate(args)]))
            calls.append(call("f4", *[a - F4_STEP * (j == i) for j, a in enumerate(args)]))
        fetch = ("0", *(f"{k}.0" for k in range(1, len(calls))))
        cases.append(Case(f"f4 at {tuple(round(a, 4) for a in args)}", calls, fetch=fetch,
                          check=_f4_point_check(names, args), unmodified=False, hint=F4_HINT))
    return cases


@question("f4")
def f4_cases(rng, ref):
    # f4's arguments are the student's choice: the first case reads them from f4's
    # code, then follow-up cases evaluate f4 at 8 random points and their neighbours.
    yield Case("numeric gradient check at 8 random points in [0.5, 2]", [], source_of="f4",
               followup=_f4_followup, unmodified=False, hint=F4_HINT)


@question("build_f4_graph")
def build_f4_graph_cases(rng, ref):
    def check(out):
        ops, inputs, outputs = out["0.ops"], list(out["0.inputs"]), list(out["0.outputs"])
        if len(ops) < 5:
            raise AssertionError(f"the graph has {len(ops)} operator(s); at least 5 are needed.")
        if len(outputs) != 1:
            raise AssertionError(f"the graph has the outputs {outputs}; expected exactly one.")
        names = _f4_parameters(out["source"])
        if len(inputs) != len(names):
            raise AssertionError(f"the graph has the inputs {inputs} but f4 takes {names}.")

    yield Case("at least 5 ops, one output, one input per argument of f4",
               [call("build_f4_graph")], fetch=GRAPH_FETCH, source_of="f4", check=check,
               hint="one graph input per argument of f4, every intermediate used, end with `return g`")


# ---------------------------------------------------------------------------
# Part 6: activation derivatives
# ---------------------------------------------------------------------------


def _activation_inputs(rng: np.random.Generator) -> list[np.ndarray]:
    """Public inputs, then random shapes with exact zeros and negatives mixed in."""
    arrays = [np.array([-2.0, -0.5, 0.0, 0.5, 3.0]), np.array([[1.0, -1.0, 0.0], [0.0, 2.0, -3.0]])]
    for shape in [(7,), (3, 4), (2, 3, 4), (1,)]:
        x = 2.0 * rng.standard_normal(shape)
        x.flat[:: 3] = 0.0
        arrays.append(x)
    arrays += [np.zeros(4), np.array([-0.0, 1e-12, -1e-12])]
    return arrays


def _activation_cases(name: str, rng: np.random.Generator, ref: Any, hint: str, extra: list[np.ndarray] = ()):
    for x in _activation_inputs(rng) + list(extra):
        yield Case(f"x of shape {x.shape}", [call(name, x)], expect={"0": getattr(ref, name)(x)}, atol=1e-12,
                   rtol=1e-6, hint=hint)


@question("relu_grad")
def relu_grad_cases(rng, ref):
    yield from _activation_cases("relu_grad", rng, ref, hint="1 where x > 0, else 0 — also 0 at exactly x = 0")


@question("leaky_relu_grad")
def leaky_relu_grad_cases(rng, ref):
    hint = "1 where x > 0, else negative_slope (also at exactly 0); the default slope is 0.1"
    yield from _activation_cases("leaky_relu_grad", rng, ref, hint=hint)
    public = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    for slope, x in ((0.2, public), (0.01, rng.standard_normal((3, 3))), (0.3, np.array([[-1.0, 0.0], [2.0, -3.0]]))):
        yield Case(f"negative_slope={slope}, x of shape {x.shape}",
                   [call("leaky_relu_grad", x, negative_slope=slope)],
                   expect={"0": ref.leaky_relu_grad(x, negative_slope=slope)}, atol=1e-12,
                   hint="use the negative_slope argument, not a constant")


@question("tanh_grad")
def tanh_grad_cases(rng, ref):
    yield from _activation_cases("tanh_grad", rng, ref, hint="1 - tanh(x)**2 (not 1 - x**2)",
                                 extra=[np.array([-20.0, -5.0, 5.0, 20.0])])


@question("gelu_grad")
def gelu_grad_cases(rng, ref):
    yield from _activation_cases("gelu_grad", rng, ref, hint="product rule on x * Phi(x): Phi(x) + x * phi(x)",
                                 extra=[np.array([-8.0, -4.0, 4.0, 8.0])])


# ---------------------------------------------------------------------------
# Part 7: Jacobians
# ---------------------------------------------------------------------------

PUBLIC_W1 = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
PUBLIC_W2_SUM = np.array([[0.5, -1.0, 1.0], [2.0, 1.5, -0.5]])
PUBLIC_W2_COMPOSITION = np.array([[0.5, -1.0], [2.0, 1.5], [1.0, 1.0], [0.0, -2.0]])


@question("jacobian_of_linear")
def jacobian_of_linear_cases(rng, ref):
    for W in [PUBLIC_W1] + [rng.standard_normal(s) for s in [(3, 2), (1, 4), (4, 1), (3, 3)]]:
        yield Case(f"W of shape {W.shape}", [call("jacobian_of_linear", W)], expect={"0": ref.jacobian_of_linear(W)},
                   hint="J[i, j] = d(Wx)_i / dx_j: shape (b, a), one row per output")


@question("jacobian_of_sum")
def jacobian_of_sum_cases(rng, ref):
    pairs = [(PUBLIC_W1, PUBLIC_W2_SUM)] + [(rng.standard_normal(s), rng.standard_normal(s))
                                           for s in [(3, 2), (1, 4), (4, 1), (2, 2)]]
    for W1, W2 in pairs:
        yield Case(f"W1, W2 of shape {W1.shape}", [call("jacobian_of_sum", W1, W2)],
                   expect={"0": ref.jacobian_of_sum(W1, W2)}, hint="the Jacobian of a sum is the sum of the Jacobians")


@question("jacobian_of_composition")
def jacobian_of_composition_cases(rng, ref):
    pairs = [(PUBLIC_W1, PUBLIC_W2_COMPOSITION)]
    for a, b, c in [(2, 3, 4), (3, 1, 2), (2, 2, 2), (1, 4, 3), (1, 1, 1)]:
        pairs.append((rng.standard_normal((b, a)), rng.standard_normal((c, b))))
    for W1, W2 in pairs:
        yield Case(f"W1 of shape {W1.shape}, W2 of shape {W2.shape}", [call("jacobian_of_composition", W1, W2)],
                   expect={"0": ref.jacobian_of_composition(W1, W2)},
                   hint="chain rule: J_h = J_g J_f = W2 @ W1, shape (c, a)")


#: Questions whose answers return gradients: (function, forward functions it must not call); none may use
#: hwlib.gradcheck (numeric gradients are for checking, not inside answers).
ANALYTIC = {name: [(name, ())] for name in (
    "sigmoid_neuron_primitives", "sigmoid_grad", "sigmoid_neuron_sigma_node", "f1", "f2", "f3", "f5", "f4",
    "relu_grad", "leaky_relu_grad", "tanh_grad", "gelu_grad", "jacobian_of_linear", "jacobian_of_sum",
    "jacobian_of_composition")}
