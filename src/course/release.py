"""``course release``: generate the student version, prove it leaks nothing, bundle it.

Steps: nbgrader ``generate_assignment``; a text-level leak check of every
release notebook against its source (:mod:`course.leakcheck`); an execution
check (each release notebook runs, and the only failures are unanswered
questions raising NotImplementedError); a zip for students (notebooks plus the
``hwlib`` helper package), ready to unpack locally or on Colab.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from course.workers import pool as worker_pool
from pathlib import Path

import nbformat

from course.grading import execute
from course.leakcheck import check_release
from course.paths import ASSIGNMENT

HWLIB = Path(__file__).resolve().parents[1] / "hwlib"

STUDENT_README = """# Backpropagation course: student folder

Work through the notebooks in order (01 ... 06). Each question shows its points;
run the test cell under each answer to check your work. Hidden tests run when the
course staff grade your submission.

Local Jupyter:  pip install -r requirements.txt && jupyter lab
Google Colab:   upload this zip, then in a first cell run
                !unzip -q backprop-student.zip && %cd backprop && !pip install -q -r requirements.txt

Keep all notebooks (and best_model.npz, written by notebook 04) in this folder:
later notebooks reuse what you wrote in earlier ones.
"""

STUDENT_REQUIREMENTS = "numpy\nmatplotlib\nipywidgets\ntqdm\ngraphviz\nnbformat\n"


class ReleaseError(RuntimeError):
    """The release is not fit to hand out; the message says why."""


def generate(course_dir: Path) -> Path:
    """Run nbgrader generate_assignment; return the release folder."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                            cwd=course_dir, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"nbgrader generate_assignment failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return course_dir / "release" / ASSIGNMENT


def _assigned_names(source: str) -> set[str]:
    """Names a cell assigns at top level (best effort; magics are skipped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def unexpected_errors(notebook: nbformat.NotebookNode, name: str) -> list[str]:
    """Errors in an executed release notebook that are not caused by unanswered questions.

    Allowed: NotImplementedError (an unanswered question), and NameError for a
    name that an earlier cell would have defined had it not stopped on an
    unanswered question (the cascade of that same missing answer).
    """
    problems = []
    undefined: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            missing = re.match(r"name '(\w+)' is not defined", output.evalue or "")
            if output.ename == "NotImplementedError" or (output.ename == "NameError" and missing
                                                          and missing.group(1) in undefined):
                undefined |= _assigned_names(cell.source)
            else:
                problems.append(f"{name} cell {index}: {output.ename}: {output.evalue[:200]}")
    return problems


def run_release_notebook(path: str) -> list[str]:
    """Execute one release notebook in a scratch folder; return unexpected errors."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="release-check-") as folder:
        for sibling in Path(path).parent.iterdir():
            target = Path(folder) / sibling.name
            if sibling.is_file():
                shutil.copy2(sibling, target)
        failure = execute(notebook, Path(folder), timeout=300)
    return ([failure] if failure else []) + unexpected_errors(notebook, Path(path).name)


def check_execution(release_dir: Path, jobs: int = 2) -> list[str]:
    """Problems found by executing every release notebook (empty when all is well)."""
    paths = [str(p) for p in sorted(release_dir.glob("*.ipynb"))]
    with worker_pool(jobs) as pool:
        return [problem for problems in pool.map(run_release_notebook, paths) for problem in problems]


def bundle(release_dir: Path, target: Path) -> Path:
    """Zip the release notebooks with hwlib into ``target`` (a folder ``backprop/`` inside)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(release_dir.rglob("*")):
            if path.is_file():
                archive.write(path, f"{ASSIGNMENT}/{path.relative_to(release_dir)}")
        for path in sorted(HWLIB.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, f"{ASSIGNMENT}/hwlib/{path.relative_to(HWLIB)}")
        archive.writestr(f"{ASSIGNMENT}/README.md", STUDENT_README)
        archive.writestr(f"{ASSIGNMENT}/requirements.txt", STUDENT_REQUIREMENTS)
    return target


def release(course_dir: Path, *, run_check: bool = True, jobs: int | None = None) -> Path:
    """Generate, leak-check, execution-check and bundle; return the student zip."""
    course_dir = Path(course_dir).resolve()
    release_dir = generate(course_dir)
    leaks = check_release(course_dir / "source" / ASSIGNMENT, release_dir)
    if leaks:
        shutil.rmtree(release_dir)
        raise ReleaseError("the release would leak protected text; it was deleted:\n" + "\n".join(map(str, leaks)))
    if run_check:
        problems = check_execution(release_dir, jobs or os.cpu_count() or 1)
        if problems:
            raise ReleaseError("release notebooks fail for reasons other than unanswered questions:\n"
                               + "\n".join(problems))
    return bundle(release_dir, course_dir / "release" / f"{ASSIGNMENT}-student.zip")
