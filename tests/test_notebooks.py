"""The course notebooks end to end with stock nbgrader.

One course directory is built for the module: ``generate_assignment`` makes the
release, two submissions are autograded (the instructor's solution and the
untouched release), and the tests read the gradebook and the files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course import build_notebooks
from course.coursedir import init_course_dir
from course.leakcheck import check_release
from course.paths import ASSIGNMENT, NOTEBOOKS
from course.release import run_release_notebook

REPO = Path(__file__).resolve().parents[1]
PRESENT = {key: name for key, name in NOTEBOOKS.items() if (REPO / "notebooks" / name).exists()}
NBGRADER = [sys.executable, "-m", "nbgrader"]

pytestmark = pytest.mark.slow


def _nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", "HWLIB_HEADLESS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([*NBGRADER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    if not PRESENT:
        pytest.skip("no notebooks yet")
    root = init_course_dir(tmp_path_factory.mktemp("course") / "course")
    _nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root)
    for student, folder in (("solution", root / "source" / ASSIGNMENT), ("untouched", root / "release" / ASSIGNMENT)):
        target = root / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        for name in PRESENT.values():
            shutil.copy2(folder / name, target / name)
    _nbgrader("autograde", ASSIGNMENT, "--force", cwd=root)
    return root


def _grades(root: Path, student: str) -> dict[str, dict[str, tuple[float | None, float]]]:
    """notebook -> grade cell -> (auto score, max score), from the gradebook."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, tuple[float | None, float]]] = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        for notebook in submission.notebooks:
            out[notebook.name] = {g.name: (g.auto_score, g.max_score) for g in notebook.grades}
    return out


def test_notebooks_are_built_from_their_sources():
    assert build_notebooks.main(["--check"]) == 0, "run `python -m course.build_notebooks`"


def test_source_notebooks_have_no_outputs():
    for name in PRESENT.values():
        notebook = nbformat.read(str(REPO / "notebooks" / name), as_version=4)
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), name


def test_release_contains_no_solution_or_hidden_test_text(course):
    leaks = check_release(course / "source" / ASSIGNMENT, course / "release" / ASSIGNMENT)
    assert not leaks, "\n".join(map(str, leaks))
    assert not (course / "release" / ASSIGNMENT / "autograder").exists()


def test_release_shows_points_and_stubs(course):
    for name in PRESENT.values():
        notebook = nbformat.read(str(course / "release" / ASSIGNMENT / name), as_version=4)
        text = "\n".join(c.source for c in notebook.cells)
        assert "raise NotImplementedError(" in text and "is not answered yet" in text and "points)" in text, name


@pytest.mark.parametrize("key", sorted(PRESENT))
def test_release_notebook_runs_and_only_unanswered_questions_fail(course, key):
    path = course / "release" / ASSIGNMENT / PRESENT[key]
    problems = run_release_notebook(str(path))  # runs next to the other release notebooks
    assert not problems, "cells failing for another reason than a missing answer:\n" + "\n".join(problems)
    untouched = nbformat.read(str(course / "autograded" / "untouched" / ASSIGNMENT / PRESENT[key]), as_version=4)
    errors = [o for c in untouched.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert any(o.ename == "NotImplementedError" for o in errors), "the release should fail where answers are missing"


@pytest.mark.parametrize("key", sorted(PRESENT))
def test_solution_autogrades_to_full_marks_and_runs_clean(course, key):
    grades = _grades(course, "solution")[PRESENT[key].removesuffix(".ipynb")]
    auto = {k: v for k, v in grades.items() if v[0] is not None}
    assert auto and all(score == maximum for score, maximum in auto.values()), grades
    executed = nbformat.read(str(course / "autograded" / "solution" / ASSIGNMENT / PRESENT[key]), as_version=4)
    problems = [(i, o.get("ename") or o.get("name")) for i, c in enumerate(executed.cells) if c.cell_type == "code"
                for o in c.outputs if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]
    assert not problems, f"errors or stderr output in the solution run: {problems}"


@pytest.mark.parametrize("key", sorted(PRESENT))
def test_untouched_release_autogrades_to_zero(course, key):
    grades = _grades(course, "untouched")[PRESENT[key].removesuffix(".ipynb")]
    assert grades and all((score or 0) == 0 for score, _ in grades.values()), grades


@pytest.mark.parametrize("key", sorted(k for k in PRESENT if (REPO / "autograder" / "tests" / f"{k}.py").exists()))
def test_hidden_cases_are_plain_data(key, tmp_path, monkeypatch):
    """Every hidden case must be sendable to a sandboxed kernel (arrays, numbers, strings)."""
    from course import kernel_runner, probe, reference
    from course.hidden import build_cases, load_spec

    monkeypatch.setenv("COURSE_AUTOGRADER_DIR", str(REPO / "autograder"))
    monkeypatch.setenv("COURSE_SOURCE_DIR", str(REPO / "notebooks"))
    for question in load_spec(key):
        for case in build_cases(key, question):
            probe.case_spec(case, kernel_runner.Encoder(), {}, reference.load)


def test_course_autograde_agrees_with_stock_nbgrader(course, tmp_path):
    """The trusted pipeline (hidden cases judged outside the kernel) gives the same per-question scores."""
    from course.autograde import autograde

    copy = tmp_path / "ours"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("autograded", "feedback", "scratch"))
    reports = autograde(copy, jobs=2, force=True, progress=False)
    assert {r.student for r in reports} == {"solution", "untouched"}
    for student in ("solution", "untouched"):
        stock, ours = _grades(course, student), _grades(copy, student)
        assert ours == stock, f"{student}: course autograde {ours} vs nbgrader {stock}"
