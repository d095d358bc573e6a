"""The `course` command end to end on real files: demo pipeline, Gradescope zip, stock nbgrader.

Two notebooks keep this test to a few minutes; every subcommand runs on them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.paths import ASSIGNMENT

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["02_layers.ipynb", "03_affine_fitting.ipynb"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not all((REPO / "notebooks" / n).exists() for n in NOTEBOOKS), reason="notebooks missing")]


def _course(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "course.cli", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=1800, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, f"course {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from course.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo"), jobs=2, notebooks=NOTEBOOKS)


def _rows(course_dir: Path) -> dict[str, dict[str, str]]:
    with open(course_dir / "grades.csv") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_demo_grades_make_sense(demo):
    rows = _rows(demo)
    assert set(rows) == {"reference", "untouched", "partial", "buggy", "broken"}
    total = {s: float(r["total"]) for s, r in rows.items()}
    maximum = float(rows["reference"]["max"])
    report = json.loads((demo / "autograded" / "reference" / ASSIGNMENT / "grading_report.json").read_text())
    auto_max = sum(n["max_score"] for n in report["notebooks"].values())
    assert total["reference"] == auto_max and auto_max <= maximum
    assert total["untouched"] == 0
    assert 0 < total["partial"] < total["reference"]
    assert 0 < total["buggy"] < total["reference"]
    assert rows["broken"]["error"] == "True" and "not a valid notebook" in rows["broken"]["reasons"]
    assert rows["reference"]["error"] == "False"


def test_feedback_has_no_hidden_test_source(demo):
    pages = list((demo / "feedback").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text()
        assert "run_hidden_tests" not in text and "BEGIN HIDDEN TESTS" not in text


def test_autograde_is_resumable_and_forced(demo):
    result = _course("autograde", "--jobs", "2", cwd=demo)
    assert "5 unchanged submission(s) skipped" in result.stdout
    stamp = demo / "submitted" / "partial" / ASSIGNMENT / "timestamp.txt"
    stamp.write_text("2026-11-23 10:00:00.000000 UTC")
    result = _course("autograde", "--jobs", "2", cwd=demo)
    assert "graded 1 submission(s)" in result.stdout


def test_export_late_policy(demo, tmp_path):
    _course("export", "--output", str(tmp_path / "late.csv"), "--due", "2026-01-01T00:00",
            "--late-policy", "zero", cwd=demo)
    with open(tmp_path / "late.csv") as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    assert all(float(r["total"]) == 0 and r["late"] == "True" for r in rows.values())


def test_formgrader_instructions(demo):
    assert "Formgrader" in _course("formgrader", cwd=demo).stdout


def test_gradescope_zip_gives_the_same_scores(demo, tmp_path):
    zip_path = tmp_path / "autograder.zip"
    _course("gradescope", "build", "--output", str(zip_path), cwd=demo)
    from course.gradescope import run_local

    result = run_local(zip_path, demo / "submitted" / "buggy" / ASSIGNMENT, keep=tmp_path / "root")
    report = json.loads((demo / "autograded" / "buggy" / ASSIGNMENT / "grading_report.json").read_text())
    assert result["score"] == pytest.approx(sum(n["score"] for n in report["notebooks"].values()))
    names = {t["name"] for t in result["tests"]}
    assert any(n.startswith("02_layers:") for n in names)


def test_stock_nbgrader_agrees(demo, tmp_path):
    """Stock `nbgrader autograde` on a copy of the course gives the same scores."""
    copy = tmp_path / "stock"
    shutil.copytree(demo, copy, ignore=shutil.ignore_patterns("autograded", "feedback"))
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=copy,
                   capture_output=True, text=True, timeout=1800, env={**os.environ, "MPLBACKEND": "Agg",
                                                                        "COURSE_DIR": str(copy)})
    from nbgrader.api import Gradebook

    def scores(course_dir: Path) -> dict[str, float]:
        with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
            return {s.id: gradebook.find_submission(ASSIGNMENT, s.id).score for s in gradebook.students}

    ours, stock = scores(demo), scores(copy)
    for student in ("reference", "untouched", "partial", "buggy"):
        assert stock[student] == pytest.approx(ours[student]), student


def test_malformed_submissions_end_as_zero_rows_with_reasons(demo):
    """A 50 MB notebook, a notebook from another course and a wrongly named file: 0 and a reason each."""
    import nbformat

    folder = demo / "submitted" / "malformed" / ASSIGNMENT
    folder.mkdir(parents=True)
    huge = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x" * (50 * 2**20))])
    nbformat.write(huge, str(folder / "02_layers.ipynb"))
    foreign = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert True")])
    foreign.cells[0].metadata["nbgrader"] = {"grade": True, "grade_id": "other_course_q1", "points": 5,
                                             "solution": False, "locked": True, "schema_version": 3}
    nbformat.write(foreign, str(folder / "03_affine_fitting.ipynb"))
    nbformat.write(foreign, str(folder / "03_affine_fitting_final_v2.ipynb.bak"))
    _course("autograde", "--jobs", "2", "--student", "malformed", cwd=demo)
    report = json.loads((demo / "autograded" / "malformed" / ASSIGNMENT / "grading_report.json").read_text())
    layers, affine = report["notebooks"]["02_layers"], report["notebooks"]["03_affine_fitting"]
    assert layers["score"] == 0 and "over the 20 MB limit" in layers["reason"]
    assert affine["score"] == 0 and "another course" in affine["reason"]
    _course("export", "--output", "grades.csv", cwd=demo)
    row = _rows(demo)["malformed"]
    assert float(row["total"]) == 0 and row["error"] == "True"
