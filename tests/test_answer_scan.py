"""No graded answer can be read off a release notebook (issue 13).

``course.answerscan`` compares every autograded answer's returned/assigned
expressions (normalised: spacing, number spelling, ``np.``/``math.`` prefixes,
variable names) with all text of every release notebook: prompts, hints,
docstrings, locked helpers. The release is the source with its solution
regions, hidden tests and mark schemes removed. Runs in about 2 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course.answerscan import answers_of, find_answer_leaks, release_cells, tokens_of
from course.paths import NOTEBOOKS

REPO = Path(__file__).resolve().parents[1]
SOURCES = [REPO / "notebooks" / name for name in NOTEBOOKS.values() if (REPO / "notebooks" / name).exists()]

#: Answers that are part of a question's specification, not its solution: (grade_id, expression) -> why.
SPECIFICATION = {
    ("max_pool_forward_answer", "1 + (H - ph) // stride"): "the output size is given, as in handout 004 (e)",
    ("max_pool_forward_answer", "1 + (W - pw) // stride"): "the output size is given, as in handout 004 (e)",
    ("fully_connected_net_answer", "(dims[layer - 1], dims[layer])"):
        "the parameter shapes are the network's interface (W_l is (d_{l-1}, d_l)), stated as handout 004 does",
}

#: Known leaks still open: (notebook, grade_id, expression). Empty: the test fails on every leak.
KNOWN_ELSEWHERE: set[tuple[str, str, str]] = set()


@pytest.fixture(scope="module")
def leaks():
    if not SOURCES:
        pytest.skip("no notebooks")
    return [leak for leak in find_answer_leaks(SOURCES)
            if (leak.answer.grade_id, leak.answer.expression) not in SPECIFICATION]


@pytest.mark.parametrize("name", [path.name for path in SOURCES])
def test_release_shows_no_graded_answer(leaks, name):
    found = [leak for leak in leaks if leak.notebook == name
             and (name, leak.answer.grade_id, leak.answer.expression) not in KNOWN_ELSEWHERE]
    assert not found, "answers readable in the release:\n" + "\n".join(map(str, found))


def test_every_notebook_has_answers_to_scan():
    """The scan would pass trivially if it found no answers (a notebook whose answers are all settings,
    such as notebook 7's recipes, may have none)."""
    counts = {path.name: len(answers_of(path)) for path in SOURCES}
    expected = ["01_computational_graphs.ipynb", "02_layers.ipynb", "03_affine_fitting.ipynb", "05_convolution.ipynb"]
    assert all(counts.get(name) for name in expected if (REPO / "notebooks" / name).exists()), counts


def test_specification_entries_are_still_needed():
    """An allowed expression that no longer exists is stale and must go (so the list cannot grow silently)."""
    expressions = {(a.grade_id, a.expression) for path in SOURCES for a in answers_of(path)}
    assert set(SPECIFICATION) <= expressions, set(SPECIFICATION) - expressions


def _notebook(tmp_path: Path, cells: list) -> Path:
    notebook = nbformat.v4.new_notebook(cells=cells)
    path = tmp_path / "demo.ipynb"
    nbformat.write(notebook, str(path))
    return path


def _answer_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": "tanh_grad_answer", "locked": False,
                                 "schema_version": 3, "solution": True}
    return cell


TANH_ANSWER = "def tanh_grad(x):\n    ### BEGIN SOLUTION\n    return 1.0 - np.tanh(x) ** 2\n    ### END SOLUTION\n"


@pytest.mark.parametrize("page, leaked", [
    ('hint="1 - tanh(x)**2 (not 1 - x**2)"', True),           # the example: a hint giving the formula
    ("The derivative is `1-math.tanh(v) ** 2.`.", True),       # other names, spacing, module, number spelling
    ("$$\\tanh'(x) = 1 - \\tanh^2(x)$$", False),               # LaTeX is not Python: the scan does not read it
    ('hint="write tanh\'(x) with tanh(x) itself"', False),     # an idea, not the formula
    ("y = 1.0 - np.sin(x) ** 2", False),                      # a different function name is a different answer
])
def test_scan_finds_renamed_answers_and_nothing_else(tmp_path, page, leaked):
    path = _notebook(tmp_path, [_answer_cell(TANH_ANSWER), nbformat.v4.new_markdown_cell(page)])
    found = find_answer_leaks([path])
    assert bool(found) == leaked, found
    if leaked:
        assert found[0].answer.grade_id == "tanh_grad_answer" and found[0].cell == 1


def test_release_cells_drop_solutions_hidden_tests_and_mark_schemes(tmp_path):
    written = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nanswer 1 - tanh(x)**2\n### END SOLUTION")
    written.metadata["nbgrader"] = {"grade": True, "grade_id": "w_written", "points": 1, "solution": True,
                                    "locked": False, "schema_version": 3}
    test = nbformat.v4.new_code_cell("check()\n### BEGIN HIDDEN TESTS\nsecret = 1 - np.tanh(x) ** 2\n"
                                     "### END HIDDEN TESTS\n")
    scheme = nbformat.v4.new_markdown_cell("prompt\n=== BEGIN MARK SCHEME ===\n1 - tanh(x)**2\n=== END MARK SCHEME ===")
    path = _notebook(tmp_path, [_answer_cell(TANH_ANSWER), written, test, scheme])
    cells = release_cells(path)
    assert "np.tanh" not in json.dumps(cells) and "raise NotImplementedError()" in cells[0]
    assert cells[1] == "YOUR ANSWER HERE" and cells[3].strip() == "prompt"
    assert not find_answer_leaks([path])


def test_tokens_ignore_spacing_numbers_and_module_prefixes():
    assert tokens_of("1-np.tanh( x )**2") == tokens_of("1.0 - math.tanh(x) ** 2.0")
