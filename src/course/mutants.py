"""Plausible buggy solutions ("mutants"), to prove that the hidden tests bite.

Each notebook has a catalogue ``autograder/mutants/<key>.py`` defining
``MUTANTS``: one text substitution in one answer cell, plus the graded cells that
must lose points. A mutant passes the audit when it loses points exactly there.

    python -m course.mutants layers          # audit one catalogue through `course autograde` (full)
    python -m course.mutants layers --stock  # ... through stock nbgrader's hidden-test cells
    python -m course.mutants layers --fast   # ... on imported definitions, in-process (seconds)
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import os
import pickle
import shutil
import sys
import tempfile
from course.workers import pool as worker_pool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import nbformat

from course.grading import NotebookGrade, grade_notebook
from course.paths import NOTEBOOKS, autograder_dir, source_dir


@dataclass(frozen=True)
class Mutant:
    """One plausible mistake.

    Attributes:
        name: unique, e.g. ``"fc_backward_missing_transpose"``.
        answer: grade_id of the answer cell to change.
        old, new: the substitution; ``old`` must occur exactly once in that cell.
        fails: grade_ids of every graded cell that must lose points.
        description: the mistake in words.
    """

    name: str
    answer: str
    old: str
    new: str
    fails: tuple[str, ...]
    description: str = ""


def load_mutants(key: str) -> list[Mutant]:
    """The catalogue of notebook ``key``."""
    path = autograder_dir() / "mutants" / f"{key}.py"
    spec = importlib.util.spec_from_file_location(f"course_mutants_{key}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    mutants = list(module.MUTANTS)
    names = [m.name for m in mutants]
    if len(names) != len(set(names)):
        raise ValueError(f"{path}: duplicate mutant names")
    return mutants


def apply(notebook: nbformat.NotebookNode, mutant: Mutant) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with the mutant's substitution made.

    Raises:
        ValueError: the answer cell is missing, or ``old`` does not occur exactly once.
    """
    mutated = copy.deepcopy(notebook)
    for cell in mutated.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == mutant.answer:
            count = cell.source.count(mutant.old)
            if count != 1:
                raise ValueError(f"mutant {mutant.name}: {mutant.old!r} occurs {count} times in {mutant.answer}")
            cell.source = cell.source.replace(mutant.old, mutant.new)
            return mutated
    raise ValueError(f"mutant {mutant.name}: no cell with grade_id {mutant.answer}")


def _with_siblings(folder: Path) -> None:
    """Copy the other source notebooks next to a mutant: later notebooks import earlier ones."""
    for sibling in source_dir().glob("*.ipynb"):
        shutil.copy2(sibling, folder / sibling.name)


def _grade_copy(notebook: nbformat.NotebookNode, name: str, env: dict[str, str]) -> NotebookGrade:
    with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
        _with_siblings(Path(folder))
        path = Path(folder) / name
        nbformat.write(notebook, str(path))
        return grade_notebook(path, env=env)


@dataclass
class MutantResult:
    mutant: Mutant
    lost: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return set(self.lost) == set(self.mutant.fails)


def audit(key: str, jobs: int = 2, names: list[str] | None = None) -> tuple[NotebookGrade, list[MutantResult]]:
    """Grade the solution and every mutant of notebook ``key``; report which cells lost points."""
    env = {"COURSE_AUTOGRADER_DIR": str(autograder_dir()), "COURSE_SOURCE_DIR": str(source_dir())}
    source = source_dir() / NOTEBOOKS[key]
    notebook = nbformat.read(str(source), as_version=4)
    mutants = [m for m in load_mutants(key) if names is None or m.name in names]
    variants = [apply(notebook, m) for m in mutants]
    with worker_pool(jobs, env) as pool:
        baseline_future = pool.submit(_grade_copy, notebook, source.name, env)
        futures = [pool.submit(_grade_copy, v, source.name, env) for v in variants]
        baseline = baseline_future.result()
        grades = [f.result() for f in futures]
    results = []
    for mutant, grade in zip(mutants, grades):
        lost = tuple(gid for gid, cell in grade.cells.items()
                     if cell.lost and not baseline.cells[gid].lost)
        results.append(MutantResult(mutant, lost))
    return baseline, results


def autograde_audit(key: str, jobs: int = 2, names: list[str] | None = None,
                    root: Path | None = None) -> tuple[dict[str, dict[str, tuple[float, float]]], list[MutantResult]]:
    """Grade the solution and the mutants of notebook ``key`` through ``course autograde`` itself.

    One course with one student per mutant (and ``solution``), graded in one batch of ``jobs``
    workers: the same sandboxed pipeline, probe and trusted scoring that grade students.

    Returns:
        (per-question scores: student -> grade_id -> (score, max), results).
    """
    from nbgrader.api import Gradebook

    from course.autograde import autograde
    from course.coursedir import init_course_dir
    from course.paths import ASSIGNMENT
    from course.release import release

    mutants = [m for m in load_mutants(key) if names is None or m.name in names]
    notebook = nbformat.read(str(source_dir() / NOTEBOOKS[key]), as_version=4)
    with tempfile.TemporaryDirectory(prefix="mutant-course-") as scratch:
        course = init_course_dir(Path(root or scratch) / "course", notebooks=source_dir(), keys=[NOTEBOOKS[key]])
        release(course, run_check=False, jobs=1)
        # The references of later notebooks import earlier ones from the source folder; the gradebook
        # (made by the release) still holds this notebook alone, so only it is graded.
        _with_siblings(course / "source" / ASSIGNMENT)
        variants = {"solution": notebook, **{m.name: apply(notebook, m) for m in mutants}}
        for student, variant in variants.items():
            folder = course / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            _with_siblings(folder)
            nbformat.write(variant, str(folder / NOTEBOOKS[key]))
        reports = {r.student: r for r in autograde(course, jobs=jobs, progress=False)}
        scores: dict[str, dict[str, tuple[float, float]]] = {}
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            for student in variants:
                graded = gradebook.find_submission_notebook(Path(NOTEBOOKS[key]).stem, ASSIGNMENT, student)
                scores[student] = {g.name: (g.auto_score or 0.0, g.max_score) for g in graded.grades
                                   if g.cell.cell_type == "code" and g.auto_score is not None}
    baseline = scores["solution"]
    short = {gid: f"{score:g}/{maximum:g}" for gid, (score, maximum) in baseline.items() if score < maximum}
    if short or not baseline:
        solution_report = reports["solution"].notebooks.get(Path(NOTEBOOKS[key]).stem)
        raise AssertionError(f"course autograde gave the solution of {key} less than full marks "
                             f"({short or 'nothing'}): {solution_report.reason if solution_report else 'not graded'}")
    results = [MutantResult(m, tuple(gid for gid, (score, maximum) in scores[m.name].items()
                                     if score < maximum and baseline.get(gid, (0, 0))[0] >= baseline[gid][1]))
               for m in mutants]
    return scores, results


#: Reference stand-ins whose result depends on nothing but their plain-data arguments (a recipe
#: dict and the course's fixed data; the reference trains with seed 0): the fast audit runs each
#: distinct call once per worker. Most mutants leave the recipe alone, and retraining it for each
#: of notebook 4's 32 mutants was about 5 of every 8 CPU-seconds of the audit.
RECIPE_STAND_INS = {"networks": ("train_with_settings",)}


def _same_arguments_once(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` remembering its result per distinct (pickled) arguments."""
    results: dict[str, Any] = {}

    def remembered(*args: Any, **kwargs: Any) -> Any:
        try:
            digest = hashlib.sha256(pickle.dumps((args, sorted(kwargs.items())))).hexdigest()
        except Exception:  # an argument that does not pickle: no memory
            return function(*args, **kwargs)
        if digest not in results:
            results[digest] = function(*args, **kwargs)
        return results[digest]

    remembered.remembers = True  # type: ignore[attr-defined]
    return remembered


def _audit_reference(key: str) -> Any:
    """:func:`course.reference.load` for the fast audit: the recipe stand-ins remember their results."""
    from course import reference

    module = reference.load(key)
    for name in RECIPE_STAND_INS.get(key, ()):
        function = getattr(module, name, None)
        if function is not None and not getattr(function, "remembers", False):
            setattr(module, name, _same_arguments_once(function))
    return module


def _fast_grade(key: str, notebook: nbformat.NotebookNode) -> tuple[str, ...]:
    """Grade cells whose hidden cases fail when run on the notebook's definitions alone."""
    from course.cases import in_process, run_cases
    from course.hidden import build_cases
    from course.pipeline import questions_by_cell
    from course.source_checks import SourceIndex
    from hwlib.nbimport import import_notebook

    with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
        _with_siblings(Path(folder))
        path = Path(folder) / NOTEBOOKS[key]
        nbformat.write(notebook, str(path))
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            namespace = import_notebook(path).__dict__
            lost = []
            executor = in_process(namespace, _audit_reference,
                                  SourceIndex([c.source for c in notebook.cells if c.cell_type == "code"]))
            for grade_id, calls in questions_by_cell(notebook).items():
                cases = [case for k, question in calls for case in build_cases(k, question)]
                if any(m is not None for m in run_cases(cases, executor)):
                    lost.append(grade_id)
        finally:
            os.chdir(cwd)
    return tuple(lost)


def fast_audit(key: str, jobs: int = 2, names: list[str] | None = None) -> list[MutantResult]:
    """Like :func:`audit`, but without kernels: each mutant's definitions are imported and
    every question's hidden cases run in a worker process (seconds instead of minutes).

    Valid because every public check of a question is also one of its hidden cases.
    """
    env = {"COURSE_AUTOGRADER_DIR": str(autograder_dir()), "COURSE_SOURCE_DIR": str(source_dir())}
    notebook = nbformat.read(str(source_dir() / NOTEBOOKS[key]), as_version=4)
    mutants = [m for m in load_mutants(key) if names is None or m.name in names]
    with worker_pool(jobs, env) as pool:
        baseline = pool.submit(_fast_grade, key, notebook)
        futures = [pool.submit(_fast_grade, key, apply(notebook, m)) for m in mutants]
        if baseline.result():
            raise AssertionError(f"the solution itself fails hidden cases of {baseline.result()}")
        return [MutantResult(m, f.result()) for m, f in zip(mutants, futures)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Audit a notebook's catalogue of buggy solutions.")
    parser.add_argument("key", choices=sorted(NOTEBOOKS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="mutant names to run")
    parser.add_argument("--fast", action="store_true",
                        help="run hidden cases on imported definitions instead of executing notebooks")
    parser.add_argument("--stock", action="store_true",
                        help="execute notebooks with stock nbgrader's hidden-test cells instead of course autograde")
    args = parser.parse_args(argv)
    if args.fast:
        results = fast_audit(args.key, args.jobs, args.only)
        baseline = None
    elif args.stock:
        baseline, results = audit(args.key, args.jobs, args.only)
        print(f"solution: {baseline.auto_score:g}/{baseline.auto_max:g} in {baseline.seconds:.1f} s")
    else:
        scores, results = autograde_audit(args.key, args.jobs, args.only)
        solution = scores["solution"]
        print(f"solution (course autograde): {sum(s for s, _ in solution.values()):g}/"
              f"{sum(m for _, m in solution.values()):g}")
        baseline = None
        if any(s < m for s, m in solution.values()):
            print("the solution itself loses points")
            return 1
    bad = 0
    for r in results:
        verdict = "ok " if r.ok else "BAD"
        bad += not r.ok
        print(f"{verdict} {r.mutant.name:<44} lost: {', '.join(r.lost) or '-'}"
              + ("" if r.ok else f"   (expected: {', '.join(r.mutant.fails)})"))
    print(f"{len(results) - bad}/{len(results)} mutants behave")
    return 1 if bad or (baseline is not None and baseline.auto_score < baseline.auto_max) else 0


if __name__ == "__main__":
    sys.exit(main())
