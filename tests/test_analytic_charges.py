"""The "analytic backward" source check charges a numeric-gradient cheat once: in the answer that cheats.

No kernel: the grader-side check reads the submitted cells with ``ast`` (``course.source_checks``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

from course import hidden
from course.paths import NOTEBOOKS
from course.source_checks import SourceIndex
from redteam_cases import NUMERIC_FC_BACKWARD

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def layers():
    """The reference cells of notebook 2 and its ANALYTIC table."""
    patch = pytest.MonkeyPatch()
    patch.setenv("COURSE_AUTOGRADER_DIR", str(REPO / "autograder"))
    hidden.load_spec.cache_clear()
    hidden.load_spec("layers")
    table = sys.modules["course_hidden_spec_layers"].ANALYTIC
    source = nbformat.read(str(REPO / "notebooks" / NOTEBOOKS["layers"]), as_version=4)
    yield [c.source for c in source.cells if c.cell_type == "code"], table
    hidden.load_spec.cache_clear()
    patch.undo()


def _verdict(cells: list[str], table: dict, function: str) -> str | None:
    """The failure message of ``function``'s analytic case as the grader builds it (None: it passes)."""
    (checked, forward), = table[function]
    case = hidden.analytic_case(checked, tuple(forward), hidden.analytic_functions(table, besides=checked))
    try:
        case.check({"source": SourceIndex(cells).describe(checked)})
    except AssertionError as failure:
        return str(failure)
    return None


def _replace_answer(cells: list[str], name: str, new: str) -> list[str]:
    """``cells`` with the cell defining ``def name(`` replaced by ``new``."""
    hits = [i for i, c in enumerate(cells) if f"def {name}(" in c]
    assert len(hits) == 1, hits
    return [new if i == hits[0] else c for i, c in enumerate(cells)]


def test_reference_passes_every_analytic_check(layers):
    cells, table = layers
    assert all(_verdict(cells, table, q) is None for q in table)


def test_numeric_fc_backward_costs_fc_backward_only(layers):
    cells, table = layers
    cheated = _replace_answer(cells, "fc_backward", NUMERIC_FC_BACKWARD)
    assert "numeric_gradient_array" in (_verdict(cheated, table, "fc_backward") or "")
    # linear_regression_step calls fc_backward; the cheat is fc_backward's, charged there only
    assert _verdict(cheated, table, "linear_regression_step") is None
    assert [q for q in table if _verdict(cheated, table, q)] == ["fc_backward"]


STEP_HEAD = "import numpy as np\nfrom hwlib.gradcheck import numeric_gradient_array as _numeric\n"

#: linear_regression_step cheating itself: directly, through its own helper (same cell), through an
#: alias of the module, through a helper in another cell, and through a helper fc_backward also uses.
CHEATING_STEPS = {
    "direct": STEP_HEAD + '''
def linear_regression_step(x, y, w, b):
    y_pred, cache = fc_forward(x, w, b)
    loss, grad_y_pred = l2_loss(y_pred, y)
    grad_w = _numeric(lambda v: l2_loss(fc_forward(x, v, b)[0], y)[0], w.copy(), np.array(1.0))
    _, grad_w_unused, grad_b = fc_backward(grad_y_pred, cache)
    return loss, grad_w, grad_b
''',
    "helper in the same cell": STEP_HEAD + '''
def _grad_w(x, y, w, b):
    return _numeric(lambda v: l2_loss(fc_forward(x, v, b)[0], y)[0], w.copy(), np.array(1.0))

def linear_regression_step(x, y, w, b):
    y_pred, cache = fc_forward(x, w, b)
    loss, grad_y_pred = l2_loss(y_pred, y)
    _, _, grad_b = fc_backward(grad_y_pred, cache)
    return loss, _grad_w(x, y, w, b), grad_b
''',
    "module alias": '''
import hwlib.gradcheck as checking

def linear_regression_step(x, y, w, b):
    y_pred, cache = fc_forward(x, w, b)
    loss, grad_y_pred = l2_loss(y_pred, y)
    _, _, grad_b = fc_backward(grad_y_pred, cache)
    grad_w = getattr(checking, "numeric_gradient_array")(lambda v: l2_loss(fc_forward(x, v, b)[0], y)[0], w, 1.0)
    return loss, grad_w, grad_b
''',
}

HELPER_CELL = STEP_HEAD + '''
def finite_differences(x, y, w, b):
    return _numeric(lambda v: l2_loss(fc_forward(x, v, b)[0], y)[0], w.copy(), np.array(1.0))
'''

STEP_WITH_HELPER = '''
def linear_regression_step(x, y, w, b):
    y_pred, cache = fc_forward(x, w, b)
    loss, grad_y_pred = l2_loss(y_pred, y)
    _, _, grad_b = fc_backward(grad_y_pred, cache)
    return loss, finite_differences(x, y, w, b), grad_b
'''


@pytest.mark.parametrize("how", sorted(CHEATING_STEPS))
def test_a_numeric_linear_regression_step_is_still_caught(layers, how):
    cells, table = layers
    cheated = _replace_answer(cells, "linear_regression_step", CHEATING_STEPS[how])
    assert "numeric_gradient_array" in (_verdict(cheated, table, "linear_regression_step") or "")
    assert _verdict(cheated, table, "fc_backward") is None


def test_a_helper_in_another_cell_is_followed(layers):
    cells, table = layers
    cheated = _replace_answer(cells, "linear_regression_step", STEP_WITH_HELPER)
    cheated = cheated[:1] + [HELPER_CELL] + cheated[1:]
    message = _verdict(cheated, table, "linear_regression_step") or ""
    assert "numeric_gradient_array" in message


def test_a_helper_shared_with_a_cheating_answer_is_charged_to_each_caller():
    """Both call the same numeric helper themselves: two answers, two mistakes, each charged where it is."""
    table = {"back_a": [("back_a", ())], "back_b": [("back_b", ())]}
    cells = [HELPER_CELL,
             "def back_a(grad_out, cache):\n    return finite_differences(*cache)\n",
             "def back_b(grad_out, cache):\n    return back_a(grad_out, cache) + finite_differences(*cache)\n"]
    assert _verdict(cells, table, "back_a") and _verdict(cells, table, "back_b")
    # back_b calling only back_a is fine for back_b
    cells[2] = "def back_b(grad_out, cache):\n    return back_a(grad_out, cache)\n"
    assert _verdict(cells, table, "back_a") and _verdict(cells, table, "back_b") is None


def test_a_forward_answer_is_followed():
    """Only answers that get the same check in their own question are not followed: a forward is."""
    table = {"back": [("back", ())]}
    cells = [HELPER_CELL.replace("def finite_differences", "def forward"),
             "def back(grad_out, cache):\n    return forward(*cache)\n"]
    assert "numeric_gradient_array" in (_verdict(cells, table, "back") or "")


def test_problems_in_a_charged_answer_stay_there():
    table = {"back_a": [("back_a", ())], "back_b": [("back_b", ())]}
    cells = ["def back_a(grad_out, cache):\n    return eval('grad_out')\n",
             "def back_b(grad_out, cache):\n    return back_a(grad_out, cache)\n"]
    assert "cannot be checked" in (_verdict(cells, table, "back_a") or "")
    assert _verdict(cells, table, "back_b") is None
    cells[1] = "def back_b(grad_out, cache):\n    return eval('back_a')(grad_out, cache)\n"
    assert "cannot be checked" in (_verdict(cells, table, "back_b") or "")
