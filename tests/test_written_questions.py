"""Written questions and numbering follow the course conventions (issue 13).

* every question header is ``Q<notebook>.<n>``, numbered 1, 2, 3, ... in order, and shows its points;
* a manually graded answer cell holds only the model answer (its prompt sits in the markdown cell
  above it, so the release shows the prompt once and "YOUR ANSWER HERE" once), with a mark scheme
  between ``=== BEGIN MARK SCHEME ===`` / ``=== END MARK SCHEME ===``, and the points in the header
  above match the cell's points.

Reads the built notebooks only (well under a second).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
#: Every notebook with written questions.
CHECKED = ["01_computational_graphs.ipynb", "02_layers.ipynb", "03_affine_fitting.ipynb", "04_neural_networks.ipynb",
           "05_convolution.ipynb", "06_class_visualization.ipynb", "07_mnist.ipynb"]
HEADER = re.compile(r"^#{2,4} Q(\d+)\.(\d+)\b[^\n]*?(?:\((\d+) points?\))?$", re.MULTILINE)
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def _cells(name: str) -> list:
    path = REPO / "notebooks" / name
    if not path.exists():
        pytest.skip(f"{name} not built")
    return nbformat.read(str(path), as_version=4).cells


@pytest.mark.parametrize("name", CHECKED)
def test_questions_are_numbered_by_notebook_in_order(name):
    number = int(name[:2])
    headers = [m for cell in _cells(name) if cell.cell_type == "markdown" for m in HEADER.finditer(cell.source)]
    assert headers, f"{name}: no question headers"
    assert [int(m.group(1)) for m in headers] == [number] * len(headers), [m.group(0) for m in headers]
    assert [int(m.group(2)) for m in headers] == list(range(1, len(headers) + 1)), [m.group(0) for m in headers]


@pytest.mark.parametrize("name", CHECKED)
def test_written_answer_cells_hold_only_the_answer_and_a_mark_scheme(name):
    cells = _cells(name)
    written = [(i, c) for i, c in enumerate(cells) if c.cell_type == "markdown"
               and c.metadata.get("nbgrader", {}).get("solution") and c.metadata["nbgrader"].get("grade")]
    assert written, f"{name}: no written questions"
    for index, cell in written:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        outside = SOLUTION.sub("", cell.source).strip()
        assert not outside, f"{name} {grade_id}: text outside the solution region (put the prompt above): {outside!r:.80}"
        assert "=== BEGIN MARK SCHEME ===" in cell.source and "=== END MARK SCHEME ===" in cell.source, grade_id
        above = next(c for c in reversed(cells[:index]) if c.cell_type == "markdown")
        assert not above.metadata.get("nbgrader", {}).get("solution"), f"{name} {grade_id}: no prompt cell above"
        headers = HEADER.findall(above.source)
        assert headers, f"{name} {grade_id}: the cell above has no question header"
        points = cell.metadata["nbgrader"]["points"]
        assert headers[-1][2] and float(headers[-1][2]) == points, (
            f"{name} {grade_id}: header says {headers[-1][2]!r} points, the cell is worth {points}")
