"""Grade one submitted notebook: sanitize, execute, probe, score.

The steps, each small:

1. :func:`sanitize` - nbgrader's own preprocessors (clear outputs, de-duplicate
   ids, restore the kernelspec and every locked/test cell from the gradebook),
   then nbgrader's ClearHiddenTests, so no hidden-test text reaches the kernel.
2. :func:`run_notebook` - execute cell by cell in a fresh kernel inside a
   throwaway copy of the submission, then run the probe cell
   (:mod:`course.probe`) that answers the hidden cases' calls.
3. :func:`score` - compare the kernel's answers with the expected values in this
   (trusted) process and write the verdict into each graded cell's output, so
   nbgrader's ``determine_grade`` and feedback see exactly what was decided.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils as nbutils

from course import probe
from course.cases import Case, Execution, run_cases
from course.grading import GRADING_ENV, stop_kernel
from course.hidden import build_cases
from course.paths import NOTEBOOKS, source_notebook
from hwlib.nbimport import definitions_source, notebook_imports

_HIDDEN_CALL = re.compile(r"run_hidden_tests\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']")

#: Largest stream output kept per cell (bytes); the rest is cut with a note.
MAX_OUTPUT = 20_000

#: Largest notebook file graded (a course notebook without outputs is ~100 kB).
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


@dataclass
class Limits:
    """Execution limits for one notebook."""

    cell_timeout: int = 120
    notebook_timeout: int = 600
    case_timeout: float = 20.0


@dataclass
class NotebookResult:
    """What grading one notebook produced (all plain data but the notebook)."""

    student: str
    name: str
    notebook: nbformat.NotebookNode | None
    scores: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    status: str = "graded"  # graded | error | timeout | missing | invalid
    reason: str = ""
    seconds: float = 0.0


def questions_by_cell(notebook: nbformat.NotebookNode) -> dict[str, list[tuple[str, str]]]:
    """grade_id -> [(key, question)] for every graded cell that runs hidden tests."""
    found: dict[str, list[tuple[str, str]]] = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            calls = _HIDDEN_CALL.findall(cell.source)
            if calls:
                found[meta["grade_id"]] = calls
    return found


def sanitize(notebook: nbformat.NotebookNode, *, name: str, assignment: str, student: str,
             db_url: str) -> nbformat.NotebookNode:
    """Apply nbgrader's sanitizing preprocessors, then strip hidden tests."""
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearOutput, DeduplicateIds,
                                        OverwriteCells, OverwriteKernelspec)

    resources = {"nbgrader": {"notebook": name, "assignment": assignment, "student": student, "db_url": db_url}}
    for step in (ClearOutput(), DeduplicateIds(), OverwriteKernelspec(), OverwriteCells(), ClearHiddenTests(),
                 CheckCellMetadata()):
        notebook, resources = step.preprocess(notebook, resources)
    return notebook


def _limit_outputs(cell: nbformat.NotebookNode) -> None:
    """Cut huge stream outputs; keep the notebook small and the gradebook readable."""
    kept = []
    total = 0
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            text = output.text
            if total + len(text) > MAX_OUTPUT:
                output.text = text[: max(0, MAX_OUTPUT - total)] + "\n... (output cut: too long)\n"
                kept.append(output)
                total = MAX_OUTPUT
                break
            total += len(text)
        kept.append(output)
    cell.outputs = kept


@dataclass
class KernelRun:
    """The outcome of executing a notebook; ``probe`` asks its kernel hidden-case calls."""

    status: str = "graded"
    reason: str = ""
    probe: Callable[[list[Case]], list[Execution]] | None = None


@contextlib.contextmanager
def executed(notebook: nbformat.NotebookNode, workdir: Path, limits: Limits,
             env: Mapping[str, str] | None = None) -> Iterator[KernelRun]:
    """Execute ``notebook`` in place (cwd ``workdir``) and keep its kernel for probing.

    Inside the ``with`` block, ``run.probe(cases)`` sends a batch of cases to the
    kernel (one probe cell per batch) and returns what came back; after a timeout
    or a dead kernel it returns "no result" executions, which score 0.
    """
    kernel_env = {**os.environ, **GRADING_ENV, **(env or {})}
    run = KernelRun()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kernel-") as sockets:
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "k"))
        # interrupt_on_timeout: a cell stuck in an endless loop is interrupted and
        # recorded as an error; the notebook goes on, so only that answer is lost.
        client = NotebookClient(notebook, km=manager, timeout=limits.cell_timeout, allow_errors=True,
                                interrupt_on_timeout=True, resources={"metadata": {"path": str(workdir)}})

        def probe_cases(cases: list[Case]) -> list[Execution]:
            if run.status == "graded" and cases:
                probe.write_request(workdir, [cases], dict(references_for(cases)), limits.case_timeout)
                notebook.cells.append(nbformat.v4.new_code_cell(probe.KERNEL_SOURCE))
                try:
                    client.execute_cell(notebook.cells[-1], len(notebook.cells) - 1)
                except CellTimeoutError:
                    run.status, run.reason = "timeout", f"a cell ran longer than {limits.cell_timeout} s"
                except DeadKernelError:
                    run.status, run.reason = "error", "the kernel died (a crash, the memory limit, or os._exit)"
                finally:
                    notebook.cells.pop()
            answered = probe.read_response(workdir, [cases])[0] if run.status == "graded" else [
                Execution(error=f"no result: {run.reason}") for _ in cases]
            for name in (probe.RESPONSE_JSON, probe.RESPONSE_NPZ):
                (workdir / name).unlink(missing_ok=True)
            return answered

        run.probe = probe_cases
        try:
            with client.setup_kernel(env=kernel_env, cwd=str(workdir)):
                for index, cell in enumerate(notebook.cells):
                    if time.monotonic() - started > limits.notebook_timeout:
                        run.status, run.reason = "timeout", f"the notebook ran longer than {limits.notebook_timeout} s"
                        break
                    if cell.cell_type == "code":
                        try:
                            client.execute_cell(cell, index)
                        finally:
                            _limit_outputs(cell)
                yield run
        except CellTimeoutError:
            run.status, run.reason = "timeout", f"a cell ran longer than {limits.cell_timeout} s"
            yield run
        except DeadKernelError:
            run.status, run.reason = "error", "the kernel died (a crash, the memory limit, or os._exit)"
            yield run
        finally:
            stop_kernel(manager)


def references_for(cases: list[Case]) -> dict[str, str]:
    """Definitions source of every notebook whose reference versions the cases use."""
    return {key: _definitions(key) for case in cases for key in case.use_reference.values()}


def _verdict_output(passed: bool, message: str) -> nbformat.NotebookNode:
    if passed:
        return nbformat.v4.new_output("stream", name="stdout", text=message + "\n")
    return nbformat.v4.new_output("error", ename="AssertionError", evalue=message, traceback=[message])


def score(notebook: nbformat.NotebookNode,
          verdicts: dict[str, list[str | None]]) -> dict[str, tuple[float | None, float]]:
    """Write trusted verdicts into graded cells and score them like nbgrader does.

    Graded cells with hidden cases are decided by those cases alone (``verdicts``:
    grade_id -> one failure message or None per case): the kernel's own errors and
    stderr in that cell are replaced by the verdict, so a warning on stderr no
    longer costs points and a forged "passed" message earns nothing. Graded
    cells without hidden cases keep nbgrader's rule.
    """
    scores: dict[str, tuple[float | None, float]] = {}
    for cell in notebook.cells:
        if not nbutils.is_grade(cell):
            continue
        grade_id = cell.metadata.nbgrader["grade_id"]
        if grade_id in verdicts:
            failures = [m for m in verdicts[grade_id] if m is not None]
            kept = []
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    continue
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                kept.append(output)
            total = len(verdicts[grade_id])
            if failures:
                shown = "\n\n".join(failures[:3])
                message = f"hidden tests: {total - len(failures)}/{total} cases passed\n\n{shown}"
            else:
                message = f"hidden tests: {total}/{total} cases passed"
            cell.outputs = kept + [_verdict_output(not failures, message)]
        scores[grade_id] = nbutils.determine_grade(cell)
    return scores


def grade_notebook_file(path: Path, *, student: str, assignment: str, db_url: str, submission_dir: Path,
                        limits: Limits, env: Mapping[str, str] | None = None) -> NotebookResult:
    """Grade one submitted notebook end to end (runs in a worker process)."""
    name = path.stem
    started = time.monotonic()
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return NotebookResult(student, name, None, status="invalid",
                              reason=f"{path.name} is {size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB "
                                     f"limit (clear the outputs and resubmit)")
    try:
        notebook = nbformat.read(str(path), as_version=4)
        nbformat.validate(notebook)
    except Exception as error:
        return NotebookResult(student, name, None, status="invalid",
                              reason=f"{path.name} is not a valid notebook ({type(error).__name__}: {str(error)[:200]})")
    expected = set(_source_questions(name))
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    if expected and not expected & present:
        return NotebookResult(student, name, None, status="invalid",
                              reason=f"{path.name} has none of this course's graded cells: it is from another "
                                     f"course or was rebuilt from scratch; start again from the released notebook")
    notebook = sanitize(notebook, name=name, assignment=assignment, student=student, db_url=db_url)
    flat: list[tuple[str, Case]] = [(grade_id, case) for grade_id, calls in _source_questions(name).items()
                                    for key, question in calls for case in build_cases(key, question)]
    with tempfile.TemporaryDirectory(prefix=f"grade-{student}-") as folder:
        # A throwaway copy: the student's other notebooks and files stay readable
        # (later notebooks import earlier ones), and nothing written survives.
        workdir = Path(folder) / "work"
        shutil.copytree(submission_dir, workdir)
        with executed(notebook, workdir, limits, env) as run:
            messages = run_cases([case for _, case in flat], run.probe)
    verdicts: dict[str, list[str | None]] = {}
    for (grade_id, _), message in zip(flat, messages):
        verdicts.setdefault(grade_id, []).append(message)
    scores = score(notebook, verdicts)
    return NotebookResult(student, name, notebook, scores, run.status, run.reason, time.monotonic() - started)


def _source_questions(name: str) -> dict[str, list[tuple[str, str]]]:
    """grade_id -> hidden questions, read from the instructor's source notebook."""
    from course.paths import source_dir

    path = source_dir() / f"{name}.ipynb"
    if not path.exists():
        return {}
    return questions_by_cell(nbformat.read(str(path), as_version=4))


def _definitions(key: str, seen: frozenset[str] = frozenset()) -> str:
    """The definitions of a source notebook as one Python source string.

    The notebooks it imports (notebook 4 imports notebook 2) come first, so the
    reference module built from this text in the kernel is complete.
    """
    notebook = nbformat.read(str(source_notebook(key)), as_version=4)
    keys_by_file = {name: k for k, name in NOTEBOOKS.items()}
    parts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for other, _ in notebook_imports(cell.source):
            other_key = keys_by_file.get(Path(other).name)
            if other_key and other_key != key and other_key not in seen:
                parts.append(_definitions(other_key, seen | {key}))
        parts.append(definitions_source(cell.source))
    return "\n\n".join(parts)
