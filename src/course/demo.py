"""``course demo``: the whole instructor pipeline, offline, on generated submissions.

A fresh course directory; release; five students whose submissions arrive as an
LMS-style zip (the reference solution, the untouched release, a partly answered
one, a buggy one built from the mutant catalogue, and a broken one: invalid JSON,
an empty file, a missing notebook); collect; autograde; feedback; export; a
printed grade table.
"""

from __future__ import annotations

import copy
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat

from course import mutants as mutant_catalogue
from course.autograde import autograde, require_data
from course.coursedir import init_course_dir
from course.collect import collect
from course.export import export
from course.feedback import feedback
from course.paths import ASSIGNMENT, NOTEBOOKS
from course.release import release


def _answer_cells(notebook: nbformat.NotebookNode) -> list[int]:
    return [i for i, c in enumerate(notebook.cells)
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def partly_answered(source: nbformat.NotebookNode, released: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release with the first half of its answer cells filled from the solution."""
    result = copy.deepcopy(released)
    source_by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    answers = _answer_cells(result)
    for index in answers[: len(answers) // 2]:
        grade_id = result.cells[index].metadata.nbgrader["grade_id"]
        result.cells[index].source = source_by_id[grade_id].source
    return result


def buggy(key: str, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution with the first catalogued mutant of notebook ``key`` applied."""
    try:
        catalogue = mutant_catalogue.load_mutants(key)
    except FileNotFoundError:
        return source
    return mutant_catalogue.apply(source, catalogue[0]) if catalogue else source


def make_download(course_dir: Path, target: Path) -> Path:
    """An LMS-style zip (Canvas file names: ``student_userid_subid_file``) of five submissions."""
    source_dir = course_dir / "source" / ASSIGNMENT
    release_dir = course_dir / "release" / ASSIGNMENT
    names = [name for name in NOTEBOOKS.values() if (source_dir / name).exists()]
    with zipfile.ZipFile(target, "w") as archive:
        for number, name in enumerate(names):
            key = next(k for k, v in NOTEBOOKS.items() if v == name)
            source = nbformat.read(str(source_dir / name), as_version=4)
            released = nbformat.read(str(release_dir / name), as_version=4)
            versions = {
                "reference": source,
                "untouched": released,
                "partial": partly_answered(source, released),
                "buggy": buggy(key, source),
            }
            for uid, (student, notebook) in enumerate(versions.items()):
                archive.writestr(f"{student}_{1000 + uid}_{2000 + number}_{name}", nbformat.writes(notebook))
            if number == 0:
                archive.writestr(f"broken_1004_2000_{name}", "{ this is not json")
            elif number == 1:
                archive.writestr(f"broken_1004_2001_{name}", "")
            elif number > 2:
                archive.writestr(f"broken_1004_{2000 + number}_{name}", nbformat.writes(released))
        archive.writestr("readme_from_the_lms.txt", "files the LMS adds that belong to nobody")
    return target


def run_demo(directory: Path | None = None, *, jobs: int = 2, notebooks: list[str] | None = None) -> Path:
    """Run the demo in ``directory`` (default: a new temporary folder); return the course dir.

    ``notebooks`` limits the course to these notebook files (tests use two).
    """
    started = time.monotonic()
    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="course-demo-"))
    course_dir = init_course_dir(root / "course", keys=notebooks)
    print(f"[1/7] course directory: {course_dir}")
    require_data(course_dir, "the demo")  # before anything runs: the complete message, the fix included
    zip_path = release(course_dir, jobs=jobs)
    print(f"[2/7] released; student bundle: {zip_path} (leak check and execution check passed)")
    download = make_download(course_dir, root / "lms-download.zip")
    print(f"[3/7] made an LMS-style download with five students: {download}")
    print("[4/7] " + collect(course_dir, download).summary().replace("\n", "\n      "))
    print("[5/7] autograding")
    autograde(course_dir, jobs=jobs)
    feedback_dir = feedback(course_dir)
    print(f"[6/7] feedback written to {feedback_dir}")
    rows = export(course_dir, course_dir / "grades.csv")
    print(f"[7/7] grades exported to {course_dir / 'grades.csv'}\n")
    print(format_table(rows))
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    return course_dir


def format_table(rows: list[dict[str, object]]) -> str:
    """Student, total/max, points pending manual grading and flags as an aligned text table."""
    lines = [f"{'student':<12} {'score':>14}  {'pending':>7}  flags"]
    for row in rows:
        flags = [name for name in ("late", "timeout", "error", "grader_problem") if row.get(name)]
        reasons = f"  ({row['reasons']})" if row.get("reasons") else ""
        pending = f"{row['pending_points']:g}" if row.get("pending_points") else "-"
        lines.append(f"{row['student']:<12} {row['total']:>6g} / {row['max']:<6g}  {pending:>7}  "
                     f"{', '.join(flags) or '-'}{reasons}")
    if any(row.get("pending_points") for row in rows):
        lines.append("pending: points of written answers not graded yet (course formgrader says how)")
    return "\n".join(lines)
