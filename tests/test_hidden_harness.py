"""The hidden-test harness: specs, reference loading, case execution and messages."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from course import hidden, reference
from course.cases import Case, call, evaluate, execute_calls

SPEC = '''
import numpy as np
from course.hidden import question
from course.cases import Case, Ref, call

@question("double")
def double_cases(rng, ref):
    for shape in [(2,), (3, 4)]:
        x = rng.standard_normal(shape)
        yield Case(f"x{shape}", [call("double", x)], expect={"0": ref.double(x)}, hint="multiply by 2")

@question("pair")
def pair_cases(rng, ref):
    x = rng.standard_normal(3)
    yield Case("chain", [call("pair", x), call("unpair", Ref(0, (1,)))], expect={"0.0": ref.pair(x)[0], "1": x})
'''

SOLUTION = '''
import numpy as np

def double(x):
    return 2 * x

def pair(x):
    return x + 1, {"x": x}

def unpair(cache):
    return cache["x"]

print("this line must not run when definitions are imported")
'''


@pytest.fixture()
def course_dirs(tmp_path, monkeypatch):
    (tmp_path / "autograder" / "tests").mkdir(parents=True)
    (tmp_path / "autograder" / "tests" / "layers.py").write_text(SPEC)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SOLUTION)])
    nbformat.write(nb, notebooks / "02_layers.ipynb")
    monkeypatch.setenv("COURSE_AUTOGRADER_DIR", str(tmp_path / "autograder"))
    monkeypatch.setenv("COURSE_SOURCE_DIR", str(notebooks))
    hidden.load_spec.cache_clear()
    reference.load.cache_clear()
    yield tmp_path
    hidden.load_spec.cache_clear()
    reference.load.cache_clear()


def test_correct_namespace_passes(course_dirs, capsys):
    ns = {"double": lambda x: x * 2.0}
    hidden.run_hidden_tests("layers", "double", ns)
    assert "2/2 cases passed" in capsys.readouterr().out


def test_reference_import_runs_definitions_only(course_dirs, capsys):
    ref = reference.load("layers")
    assert ref.double(np.ones(2)).tolist() == [2.0, 2.0]
    assert "must not run" not in capsys.readouterr().out


def test_wrong_answer_message_names_input_expected_got_and_hint(course_dirs):
    ns = {"double": lambda x: x * 3.0}
    with pytest.raises(AssertionError) as info:
        hidden.run_hidden_tests("layers", "double", ns)
    text = str(info.value)
    assert "with input" in text and "expected" in text and "got" in text and "multiply by 2" in text


def test_refs_chain_calls(course_dirs):
    def pair(x):
        return x + 1, {"x": x}

    hidden.run_hidden_tests("layers", "pair", {"pair": pair, "unpair": lambda c: c["x"]})
    with pytest.raises(AssertionError):
        hidden.run_hidden_tests("layers", "pair", {"pair": pair, "unpair": lambda c: c["x"] * 0})


def test_missing_function_and_not_implemented(course_dirs):
    with pytest.raises(AssertionError, match="not defined"):
        hidden.run_hidden_tests("layers", "double", {})

    def stub(x):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented"):
        hidden.run_hidden_tests("layers", "double", {"double": stub})


def test_in_place_modification_fails():
    def relu_in_place(x):
        x[x < 0] = 0
        return x

    x = np.array([-1.0, 2.0])
    case = Case("in place", [call("relu", x)], expect={"0": np.array([0.0, 2.0])})
    message = evaluate(case, execute_calls(case, {"relu": relu_in_place}))
    assert message is not None and "in place" in message
    assert x.tolist() == [-1.0, 2.0], "the case's own copy of the input must stay intact"


def test_warnings_do_not_reach_stderr(capfd):
    def noisy(x):
        return np.exp(x)

    case = Case("overflow", [call("f", np.array([1000.0]))], expect={"0": np.array([np.inf])})
    run = execute_calls(case, {"f": noisy})
    assert run.warnings and capfd.readouterr().err == ""


def test_use_reference_patches_and_restores():
    class Ref_:
        helper = staticmethod(lambda x: x + 100)

    def user(x):
        return helper(x)  # noqa: F821 - resolved in the namespace below

    ns = {"helper": lambda x: x, "user": user}
    user.__globals__.update(ns)
    case = Case("uses helper", [call("user", 1)], expect={"0": 101}, use_reference={"helper": "layers"})
    run = execute_calls(case, user.__globals__, lambda key: Ref_)
    assert evaluate(case, run) is None
    assert user.__globals__["helper"](1) == 1


#: A finite-difference answer per backward family, written the ways a student could: through the helpers
#: imported in the setup cells, a module alias, getattr with a string, or the forward pass.
NUMERIC_ANSWERS = {
    ("convolution", "conv_backward"): "def conv_backward(grad_out, cache):\n"
    "    x, w, b, stride, pad = cache\n"
    "    f = lambda v: conv_forward(v, w, b, stride=stride, pad=pad)[0]\n"
    "    return numeric_gradient_array(f, x, grad_out), None, None\n",
    ("convolution", "max_pool_backward"): "import hwlib.gradcheck as gc\n"
    "def max_pool_backward(grad_out, cache):\n"
    "    x, size, stride = cache\n"
    "    return gc.numeric_gradient_array(lambda v: max_pool_forward(v, size, stride)[0], x, grad_out)\n",
    ("graphs", "f3"): "from hwlib import gradcheck\n"
    "def f3(s1, s2, y):\n"
    "    value = lambda a, b: (a - b) ** 2\n"
    "    return value(s1, s2), getattr(gradcheck, 'numeric_gradient_scalars')(value, s1, s2)\n",
    ("graphs", "f5"): "def _grads(f, *args):\n    return numeric_gradient_scalars(f, *args)\n"
    "def f5(x, y, z):\n    g = lambda a, b, c: a * b + c\n    return g(x, y, z), _grads(g, x, y, z)\n",
    ("graphs", "jacobian_of_composition"): "def jacobian_of_composition(W1, W2):\n"
    "    return numeric_jacobian(lambda v: W2 @ (W1 @ v), np.zeros(W1.shape[1]))\n",
    ("networks", "TwoLayerNet.backward"): "class TwoLayerNet(Classifier):\n"
    "    def backward(self, grad_scores, cache):\n"
    "        return {k: numeric_gradient_array(lambda v: self.forward(cache[0])[0], p, grad_scores)\n"
    "                for k, p in self.parameters().items()}\n",
    ("visualization", "input_gradient"): "from hwlib.gradcheck import numeric_gradient_array as ng\n"
    "def input_gradient(model, X, class_index):\n    return None, ng(lambda v: v, X, X)\n",
    ("visualization", "hidden_unit_gradient"): "import hwlib.gradcheck\n"
    "def hidden_unit_gradient(model, X, layer, unit):\n"
    "    W1, b1 = model.parameters()['W1'], model.parameters()['b1']\n"
    "    values = fc_forward(X, W1, b1)[0]\n"
    "    upstream = np.zeros_like(values); upstream[:, unit] = 1.0\n"
    "    return values, hwlib.gradcheck.numeric_gradient_array(lambda v: fc_forward(v, W1, b1)[0], X, upstream)\n",
    ("visualization", "multiscale_visualization"): "def _back(large, small, factor):\n"
    "    return numeric_gradient_array(lambda z: upsample(z, factor), small.copy(), large)\n"
    "def multiscale_visualization(model, unit, *, scales=(4, 2, 1), **options):\n"
    "    small = np.zeros((8, 8, 3))\n"
    "    return _back(input_gradient(model, small, unit)[1], small, scales[0])\n",
}


@pytest.mark.parametrize("key,function", sorted(NUMERIC_ANSWERS))
def test_numeric_backward_scores_zero(key, function, monkeypatch):
    """Each backward family: the reference passes its analytic case, a finite-difference answer fails it."""
    from pathlib import Path

    from course.paths import NOTEBOOKS
    from course.source_checks import SourceIndex

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("COURSE_AUTOGRADER_DIR", str(repo / "autograder"))
    monkeypatch.setenv("COURSE_SOURCE_DIR", str(repo / "notebooks"))
    hidden.load_spec.cache_clear()
    hidden.load_spec(key)
    import sys

    table = sys.modules[f"course_hidden_spec_{key}"].ANALYTIC
    entries = [(question, forward) for question, rows in table.items() for fn, forward in rows if fn == function]
    assert entries, f"{function} is not checked"
    source = nbformat.read(str(repo / "notebooks" / NOTEBOOKS[key]), as_version=4)
    cells = [c.source for c in source.cells if c.cell_type == "code"]
    for question, forward in entries:
        case = hidden.analytic_case(function, tuple(forward))
        case.check({"source": SourceIndex(cells).describe(function)})  # the reference passes
        with pytest.raises(AssertionError, match="analytically|cannot be checked"):
            case.check({"source": SourceIndex(cells + [NUMERIC_ANSWERS[key, function]]).describe(function)})
    hidden.load_spec.cache_clear()
