"""``course feedback`` on a one-notebook course built in place (no kernel, no autograde): a few seconds.

A written answer nobody has graded yet reads "pending" everywhere on the page (cell heading,
table of contents, notebook total), never "0.0 / N"; once graded by hand it shows its score.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ComputeChecksums, SaveAutoGrades, SaveCells

from course.feedback import feedback
from course.paths import ASSIGNMENT

pytestmark = pytest.mark.slow  # nbgrader's generate_feedback in a child process

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "nb"
WRITTEN_POINTS, TEST_POINTS = 3.0, 2.0


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _source_notebook() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Why does the gradient vanish? $\\sigma'(x) \\le 1/4$",
                                      metadata=_meta("why_written", grade=True, solution=True, locked=False,
                                                     points=WRITTEN_POINTS)),
        nbformat.v4.new_code_cell("def double(x):\n    return 2 * x",
                                  metadata=_meta("double", grade=False, solution=True, locked=False)),
        nbformat.v4.new_code_cell("assert double(2) == 4",
                                  metadata=_meta("double_test", grade=True, solution=False, locked=True,
                                                 points=TEST_POINTS)),
    ])


def _course(root: Path, students: list[str]) -> Path:
    """Course dir whose gradebook holds the notebook's cells and each student's autograded submission."""
    shutil.copy2(REPO / "autograder" / "nbgrader_config.py", root / "nbgrader_config.py")
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    resources = {"nbgrader": {"db_url": db_url, "assignment": ASSIGNMENT, "notebook": NOTEBOOK}}
    source = _source_notebook()
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT)
    ComputeChecksums().preprocess(source, {})
    SaveCells().preprocess(source, resources)
    for student in students:
        with Gradebook(db_url) as gradebook:
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(ASSIGNMENT, student)
        answered = nbformat.from_dict(source)
        answered.cells[0].source = "Because each sigmoid factor is at most $1/4$, the product shrinks."
        answered.cells[2].outputs = []  # the test cell ran without an error: full points
        SaveAutoGrades().preprocess(answered, {"nbgrader": {**resources["nbgrader"], "student": student}})
        folder = root / "autograded" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(answered, str(folder / f"{NOTEBOOK}.ipynb"))
    return root


def test_pending_written_answer_is_pending_everywhere_until_graded_by_hand(tmp_path):
    course = _course(tmp_path, ["ana", "ben"])
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("why_written", NOTEBOOK, ASSIGNMENT, "ben")
        assert grade.needs_manual_grade and grade.manual_score is None
        grade.manual_score = 1.5  # ben's answer was graded in the formgrader
        gradebook.db.commit()

    feedback(course)
    pending = (course / "feedback" / "ana" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    graded = (course / "feedback" / "ben" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()

    scores = re.findall(r"Score: ([^<)]*?)\s*[<)]", pending)
    assert scores.count(f"pending: graded by hand later / {WRITTEN_POINTS}") == 2, scores  # heading and contents
    assert f"0.0 / {WRITTEN_POINTS}" not in pending
    assert pending.count('id="toc"') == 1, "one table of contents (nbgrader's own would ignore pending)"
    assert f"{WRITTEN_POINTS} points of written answers pending" in pending
    assert scores.count(f"{TEST_POINTS} / {TEST_POINTS}") == 2, scores
    assert "<math" in pending and "Because each sigmoid factor" in pending  # the answer, its math as MathML
    assert '<span class="nf">double</span>' in pending  # the code cells are on the page too

    assert "pending" not in graded
    assert re.findall(r"Score: ([^<)]*?)\s*[<)]", graded).count(f"1.5 / {WRITTEN_POINTS}") == 2
