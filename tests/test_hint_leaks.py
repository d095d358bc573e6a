"""No text a student can be shown by the grader spells out reference solution code.

Hidden-case names, hints and the messages of their checks reach the student in the
graded notebook, the feedback and Gradescope's results.json. The red team's
``print_everything`` found hints that quoted solution lines verbatim; this checks every
string literal of every hidden-test spec against every reference-only solution line
(a line between the solution markers that appears nowhere else in the source notebook,
so not in the release either). Static and fast: nothing is executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from redteam_cases import split_solution_lines

REPO = Path(__file__).resolve().parents[1]
SPECS = sorted((REPO / "autograder" / "tests").glob("*.py"))
#: Shorter solution lines (``return x``, ``out = cache``) are common Python, not the solution.
MIN_LENGTH = 15


def reference_only_lines(notebook: nbformat.NotebookNode) -> set[str]:
    """Solution code lines (stripped, not comments) that occur nowhere outside the solution regions."""
    solution, public = split_solution_lines(notebook)
    shown = "\n".join(public)
    return {line for line in solution if len(line) >= MIN_LENGTH and not line.startswith("#") and line not in shown}


def shown_texts(spec: Path) -> list[str]:
    """Every string literal of a spec module (case names, hints, check messages, f-string parts)."""
    return [node.value for node in ast.walk(ast.parse(spec.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


SOLUTION_LINES = sorted({line for path in sorted((REPO / "notebooks").glob("*.ipynb"))
                         for line in reference_only_lines(nbformat.read(str(path), as_version=4))})


def test_the_check_sees_the_solutions():
    assert len(SOLUTION_LINES) > 300 and len(SPECS) >= 7


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_no_hidden_case_text_quotes_a_solution_line(spec):
    texts = shown_texts(spec)
    quoted = sorted({line for line in SOLUTION_LINES for text in texts if line in text})
    assert not quoted, f"{spec.name} shows students these lines of the reference solution: {quoted[:5]}"
