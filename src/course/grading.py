"""Execute a notebook in a fresh kernel and score its nbgrader cells.

Scoring follows nbgrader exactly (``nbgrader.utils.determine_grade``): a graded
test cell earns its points unless its output holds an error or anything on
stderr. This module is the execution half of ``course autograde``; tests and
``course.mutants`` use it directly.

    python -m course.grading notebooks/02_layers.ipynb
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.utils import determine_grade, is_grade, is_solution

#: Environment for grading kernels: headless widgets, no GUI backend, grader mode.
#: One BLAS thread per kernel: graders run several kernels side by side, and
#: oversubscribed OpenBLAS threads made one notebook 6x slower on 2 cores.
GRADING_ENV = {"HWLIB_AUTOGRADE": "1", "HWLIB_HEADLESS": "1", "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               # Same submission, same score: hashing and thread counts do not depend on the grader's environment.
               "PYTHONHASHSEED": "0"}


@dataclass
class CellGrade:
    """The grade of one nbgrader cell."""

    grade_id: str
    max_points: float
    score: float | None  # None: manually graded, not yet graded
    error: str | None = None

    @property
    def lost(self) -> bool:
        return self.score is not None and self.score < self.max_points


@dataclass
class NotebookGrade:
    """Grades of every graded cell of one executed notebook."""

    path: Path
    cells: dict[str, CellGrade] = field(default_factory=dict)
    seconds: float = 0.0
    failure: str | None = None  # the notebook could not be executed to the end

    @property
    def auto_score(self) -> float:
        return sum(c.score or 0.0 for c in self.cells.values() if c.score is not None)

    @property
    def auto_max(self) -> float:
        return sum(c.max_points for c in self.cells.values() if c.score is not None)

    @property
    def manual_max(self) -> float:
        return sum(c.max_points for c in self.cells.values() if c.score is None)


def _error_text(cell: nbformat.NotebookNode) -> str | None:
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}"
        if output.output_type == "stream" and output.name == "stderr":
            return "wrote to stderr: " + output.text.strip()[:300]
    return None


def score_cells(notebook: nbformat.NotebookNode) -> dict[str, CellGrade]:
    """Score the graded cells of an executed notebook the way nbgrader does."""
    grades = {}
    for cell in notebook.cells:
        if not is_grade(cell):
            continue
        grade_id = cell.metadata.nbgrader["grade_id"]
        score, max_points = determine_grade(cell)
        if is_solution(cell) and score is not None:
            error = "unanswered"
        else:
            error = _error_text(cell) if cell.cell_type == "code" else None
        grades[grade_id] = CellGrade(grade_id, float(max_points), None if score is None else float(score), error)
    return grades


def execute(notebook: nbformat.NotebookNode, cwd: Path, *, timeout: int = 300,
            env: Mapping[str, str] | None = None) -> str | None:
    """Run every cell in a fresh kernel (errors recorded, execution continues).

    Returns a failure description when the kernel died or a cell timed out.
    """
    kernel_env = {**os.environ, **GRADING_ENV, **(env or {})}
    with tempfile.TemporaryDirectory(prefix="kernel-") as sockets:
        # IPC sockets: nothing listens on the network, and jupyter_client's
        # "running over TCP without encryption" warning does not appear.
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "k"))
        client = NotebookClient(notebook, km=manager, timeout=timeout, allow_errors=True,
                                resources={"metadata": {"path": str(cwd)}})
        try:
            client.execute(env=kernel_env, cwd=str(cwd))
        except CellTimeoutError:
            return f"a cell ran longer than {timeout} s"
        except DeadKernelError:
            return "the kernel died (crash, memory limit or os._exit)"
        finally:
            stop_kernel(manager)
    return None


def stop_kernel(manager: KernelManager) -> None:
    """Shut a kernel down now: nbclient leaves kernels it did not create running."""
    try:
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    except Exception:  # already gone
        pass


def grade_notebook(path: str | Path, *, timeout: int = 300, env: Mapping[str, str] | None = None,
                   cwd: str | Path | None = None) -> NotebookGrade:
    """Execute the notebook at ``path`` in its folder (or ``cwd``) and score it."""
    path = Path(path)
    notebook = nbformat.read(str(path), as_version=4)
    start = time.perf_counter()
    failure = execute(notebook, Path(cwd) if cwd else path.parent, timeout=timeout, env=env)
    result = NotebookGrade(path, score_cells(notebook), time.perf_counter() - start, failure)
    return result


def format_grade(grade: NotebookGrade) -> str:
    """A readable table of a notebook's grades."""
    lines = [f"{grade.path.name}: {grade.auto_score:g}/{grade.auto_max:g} autograded points"
             f" (+{grade.manual_max:g} manual) in {grade.seconds:.1f} s"]
    if grade.failure:
        lines.append(f"  execution stopped: {grade.failure}")
    for cell in grade.cells.values():
        score = "manual" if cell.score is None else f"{cell.score:g}/{cell.max_points:g}"
        note = f"  <- {cell.error}" if cell.error and cell.lost else ""
        lines.append(f"  {cell.grade_id:<36} {score:>9}{note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks headless and print nbgrader scores.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    args = parser.parse_args(argv)
    worst = 0
    for path in args.notebooks:
        grade = grade_notebook(path, timeout=args.timeout)
        print(format_grade(grade))
        if grade.auto_score < grade.auto_max or grade.failure:
            worst = 1
    return worst


if __name__ == "__main__":
    sys.exit(main())
