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
