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
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Mapping

import nbformat
from nbgrader import utils as nbutils

from course import calibration, kernel_data, kernel_runner, probe, reference
from course.cases import Case, Execution, complete, run_cases
from course.grading import GRADING_ENV
from course.kernel_session import KernelSession
from course.sandbox import Sandbox
from course.hidden import build_cases
from course.source_checks import SourceIndex
from hwlib.nbimport import definitions_source

_HIDDEN_CALL = re.compile(r"run_hidden_tests\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']")

#: Largest stream output kept per cell (bytes); the rest is cut with a note.
MAX_OUTPUT = 20_000

#: Largest notebook file graded (a course notebook without outputs is ~100 kB).
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


#: Own-time budgets per notebook (seconds, see :mod:`course.calibration`): (largest cell, whole
#: notebook with its hidden cases). About 5-10x what the reference solution takes (1-2 s per cell,
#: 5-7 s per notebook; notebook 4: training cells of 3-5 s, 14 s in all), with room for slower but
#: legitimate answers (a heavier training recipe). An endless loop or sleep costs at most its cell's
#: budget, and a notebook of them at most the notebook's, instead of the 120/600 s upper limits.
#: Own time is work, not wall time: on a machine with three runnable processes per core the same
#: budget takes about three times as long to use up, for the student and the reference alike.
NOTEBOOK_BUDGETS: dict[str, tuple[int, int]] = {
    "01_computational_graphs": (10, 150), "02_layers": (10, 150), "03_affine_fitting": (15, 150),
    "04_neural_networks": (60, 180), "05_convolution": (15, 150), "06_class_visualization": (20, 90),
}


@dataclass
class Limits:
    """Execution limits for one notebook.

    ``cell_timeout`` and ``notebook_timeout`` are *own time* of the kernel (wall time minus
    waiting for a core, :class:`course.calibration.KernelClock`) and ``case_timeout`` is CPU
    time of the kernel, so a busy machine does not change them; :meth:`calibrated` scales all
    three by the machine's speed. ``submission_timeout`` bounds a whole submission, counted from
    the start of its first notebook; ``deadline`` (a ``time.monotonic()`` value, the same clock
    in every process of the machine) is where that ends for the notebook at hand, or an absolute
    end set by the caller (Gradescope stops a container after 10 minutes, and results.json must
    be written before that). Those two are wall time: when the kernel spent a large part of it
    waiting for a core, running out of it is reported as the grader's problem (``grader_slow``).
    """

    cell_timeout: int = 120
    notebook_timeout: int = 600
    case_timeout: float = 20.0
    submission_timeout: int | None = 1800
    deadline: float | None = None

    def for_notebook(self, name: str) -> "Limits":
        """These limits capped by the notebook's own-time budget (:data:`NOTEBOOK_BUDGETS`) and
        scaled by the machine's speed (:func:`course.calibration.speed_factor`)."""
        cell, notebook = NOTEBOOK_BUDGETS.get(name, (self.cell_timeout, self.notebook_timeout))
        factor = calibration.speed_factor()
        return replace(self, cell_timeout=math.ceil(min(self.cell_timeout, cell) * factor),
                       notebook_timeout=math.ceil(min(self.notebook_timeout, notebook) * factor),
                       case_timeout=self.case_timeout * factor)

    def seconds_left(self, started: float, used: float | None = None) -> float:
        """What is left of the notebook's time and of the deadline: ``used`` is the own time spent
        so far (wall time since ``started`` when not given)."""
        now = time.monotonic()
        left = self.notebook_timeout - (now - started if used is None else used)
        return min(left, self.deadline - now) if self.deadline is not None else left

    def budget_note(self, used: float) -> str:
        """In words, which limit a cell started now stops at (for the message of a stopped cell):
        ``used`` is the notebook's own time so far."""
        notebook_left = self.notebook_timeout - used
        wall_left = self.wall_left()
        if self.cell_timeout <= notebook_left and (wall_left is None or self.cell_timeout <= wall_left):
            return f"the limit of {self.cell_timeout} s per cell"
        if wall_left is None or notebook_left <= wall_left:
            return f"the notebook's time budget of {self.notebook_timeout} s ran out"
        return "the submission's time budget ran out"

    def wall_left(self) -> float | None:
        """Wall seconds to the deadline, if there is one."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def out_of_time(self, started: float) -> str:
        """Why no more time is left (call when :meth:`seconds_left` is not positive)."""
        if self.deadline is not None and self.deadline - time.monotonic() <= 0:
            return "the submission used up its time budget before this point (other cells or notebooks ran long)"
        return f"the notebook ran longer than {self.notebook_timeout} s"

    def stop_status(self, started: float, waited: float) -> tuple[str, str]:
        """Status and reason once time ran out: the deadline passing while the kernel waited for a
        core for over a quarter of the time is the machine's fault, not the student's."""
        reason = self.out_of_time(started)
        elapsed = time.monotonic() - started
        if self.deadline is not None and self.deadline - time.monotonic() <= 0 and waited > 0.25 * elapsed:
            return calibration.GRADER_SLOW, (f"grader too slow, regrade: the kernel waited {waited:.0f} s of "
                                             f"{elapsed:.0f} s for a processor ({reason})")
        return "timeout", reason

    @classmethod
    def from_env(cls) -> "Limits":
        """Defaults, overridden by ``$COURSE_CELL_TIMEOUT``, ``$COURSE_NOTEBOOK_TIMEOUT``,
        ``$COURSE_CASE_TIMEOUT`` and ``$COURSE_SUBMISSION_TIMEOUT``; a submission timeout of 0
        means no limit, as ``course autograde --submission-timeout 0`` does."""
        submission = int(os.environ.get("COURSE_SUBMISSION_TIMEOUT", cls.submission_timeout))
        return cls(int(os.environ.get("COURSE_CELL_TIMEOUT", cls.cell_timeout)),
                   int(os.environ.get("COURSE_NOTEBOOK_TIMEOUT", cls.notebook_timeout)),
                   float(os.environ.get("COURSE_CASE_TIMEOUT", cls.case_timeout)),
                   no_limit_if_zero(submission))


def no_limit_if_zero(seconds: int | None) -> int | None:
    """A submission timeout as given by a user: 0 (or less) means no limit, i.e. ``None``."""
    return seconds if seconds is not None and seconds > 0 else None


@dataclass
class NotebookResult:
    """What grading one notebook produced (all plain data but the notebook)."""

    student: str
    name: str
    notebook: nbformat.NotebookNode | None
    scores: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    status: str = "graded"  # graded | error | timeout | missing | invalid | grader_slow
    reason: str = ""
    seconds: float = 0.0
    #: peak resident memory (MB) so far of the grading process, and of the largest kernel it ran
    grader_peak_mb: float = 0.0
    kernel_peak_mb: float = 0.0
    #: seconds per stage (sanitize, kernel start, execute, probe, score), see :data:`STAGES`
    stages: dict[str, float] = field(default_factory=dict)


#: The stages of grading one notebook, in order ("write" happens in the main process).
STAGES = ("kernel start", "sanitize", "execute", "probe", "score", "write")


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

    from course import nbgrader_speedups

    nbgrader_speedups.install()  # the schema is checked once per process, not once per cell
    resources = {"nbgrader": {"notebook": name, "assignment": assignment, "student": student, "db_url": db_url}}
    for step in (ClearOutput(), DeduplicateIds(), OverwriteKernelspec(), OverwriteCells()):
        notebook, resources = step.preprocess(notebook, resources)
    _strip_copied_hidden_tests(notebook)
    _restore_deleted_grade_cells(notebook, name=name, assignment=assignment, db_url=db_url)
    for step in (ClearHiddenTests(), CheckCellMetadata()):
        notebook, resources = step.preprocess(notebook, resources)
    return notebook


_HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


def _strip_copied_hidden_tests(notebook: nbformat.NotebookNode) -> None:
    """Copies of test cells lose their grade metadata (DeduplicateIds); drop their hidden-test markers too,
    which nbgrader's ClearHiddenTests would otherwise reject."""
    for cell in notebook.cells:
        if "nbgrader" in cell.metadata and not cell.metadata["nbgrader"].get("grade_id"):
            del cell.metadata["nbgrader"]  # what DeduplicateIds leaves of a copy
        if cell.cell_type == "code" and not nbutils.is_grade(cell) and "BEGIN HIDDEN TESTS" in cell.source:
            cell.source = _HIDDEN_REGION.sub("", cell.source)


def _restore_deleted_grade_cells(notebook: nbformat.NotebookNode, *, name: str, assignment: str,
                                 db_url: str) -> None:
    """Put back graded test cells the student deleted (from the gradebook's copy), at the end."""
    from nbgrader.api import Gradebook, MissingEntry

    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    with Gradebook(db_url) as gradebook:
        try:
            cells = gradebook.find_notebook(name, assignment).grade_cells
        except MissingEntry:
            return
        for grade_cell in sorted(cells, key=lambda c: c.name):
            if grade_cell.name in present or grade_cell.cell_type != "code":
                continue
            try:
                source = gradebook.find_source_cell(grade_cell.name, name, assignment).source
            except MissingEntry:
                continue
            cell = nbformat.v4.new_code_cell(source)
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "task": False,
                                         "grade_id": grade_cell.name, "points": grade_cell.max_score,
                                         "schema_version": 3}
            notebook.cells.append(cell)


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
    kernel_starts: int = 0
    #: seconds spent starting kernels (with their hidden set-up), running cells, answering cases
    kernel_seconds: float = 0.0
    execute_seconds: float = 0.0
    probe_seconds: float = 0.0


#: Kernel starts allowed per notebook: the first, plus restarts after cells or
#: cases that killed the kernel (each restart replays the notebook without them).
MAX_KERNEL_STARTS = 10


def _skip_output(reason: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename="NotGraded", evalue=f"this cell was skipped: {reason}",
                                  traceback=[f"NotGraded: this cell was skipped: {reason}"])


@contextlib.contextmanager
def executed(notebook: nbformat.NotebookNode, sandbox: Sandbox, limits: Limits,
             env: Mapping[str, str] | None = None) -> Iterator[KernelRun]:
    """Execute ``notebook`` in place in a sandboxed kernel and keep it for probing.

    A cell that kills the kernel (``os._exit``, SIGKILL, the memory limit, an
    endless loop that ignores interrupts) or breaks the kernel's guard is
    skipped: the kernel is restarted and the notebook replayed without it, so
    only that answer is lost. Inside the ``with`` block, ``run.probe(cases)``
    answers a batch of cases; a case that kills the kernel is failed and the
    rest are asked again in a replayed kernel. Cases that get no answer score 0.
    """
    # PYTHONSAFEPATH: the submission folder is not on sys.path (a numpy.py there shadows nothing).
    kernel_env = {**os.environ, **GRADING_ENV, "PYTHONSAFEPATH": "1", **(env or {})}
    run = KernelRun()
    started = time.monotonic()
    session = KernelSession(notebook, sandbox, cell_timeout=limits.cell_timeout, env=kernel_env)
    skipped: dict[int, str] = {}

    reduced: dict[int, str] = {}  # cells that killed the kernel once: replayed as their definitions only
    # What the source checks read: the submitted cells as the grader holds them, never the kernel's view.
    sources = SourceIndex([c.source for c in notebook.cells if c.cell_type == "code"])

    def execute_all() -> bool:
        """(Re)start the kernel and run every code cell not skipped; False when grading must stop."""
        while True:
            if session.starts >= MAX_KERNEL_STARTS:
                run.status, run.reason = "error", f"the kernel died {session.starts} times; grading stopped"
                return False
            began = time.monotonic()
            session.start()
            run.kernel_starts = session.starts
            # the case runner binds what it uses before any student code runs
            loaded = session.run_hidden(kernel_runner.bootstrap_source())
            run.kernel_seconds += time.monotonic() - began
            if loaded.status != "ok":
                run.status, run.reason = "error", f"the grading kernel could not be prepared ({loaded.detail})"
                return False
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                if index in skipped:
                    cell.outputs = [_skip_output(skipped[index])]
                    continue
                left = limits.seconds_left(started, session.own_seconds)
                if left <= 0:
                    run.status, run.reason = limits.stop_status(started, session.waited_seconds)
                    return False
                session.set_cell_timeout(min(limits.cell_timeout, math.ceil(left)))
                session.wall_cap = limits.wall_left()
                session.budget_note = limits.budget_note(session.own_seconds)
                original = cell.source
                if index in reduced:
                    cell.source = definitions_source(original)
                began = time.monotonic()
                try:
                    outcome = session.run(index)
                finally:
                    cell.source = original
                    run.execute_seconds += time.monotonic() - began
                _limit_outputs(cell)
                if index in reduced:
                    cell.outputs = [_skip_output(f"{reduced[index]}; only its definitions were run"),
                                    *cell.get("outputs", [])]
                if outcome.status == calibration.GRADER_SLOW:
                    run.status, run.reason = outcome.status, outcome.detail
                    return False
                if outcome.status in ("died", "tampered"):
                    if index in reduced:
                        skipped[index] = outcome.detail
                    else:
                        reduced[index] = outcome.detail
                    break
            else:
                return True

    failed_cases: dict[int, str] = {}

    def probe_cases(cases: list[Case]) -> list[Execution]:
        began = time.monotonic()
        try:
            return _probe_cases(cases)
        finally:  # a replay after a case killed the kernel counts as kernel start and execute, not twice
            run.probe_seconds += time.monotonic() - began - (run.kernel_seconds + run.execute_seconds - before[0])

    before = [0.0]

    def _probe_cases(cases: list[Case]) -> list[Execution]:
        before[0] = run.kernel_seconds + run.execute_seconds
        answers: dict[int, Execution] = {}
        while run.status == "graded":
            todo = [i for i in range(len(cases)) if i not in answers and i not in failed_cases]
            if not todo:
                break
            batch = [cases[i] for i in todo]
            left = limits.seconds_left(started, session.own_seconds)
            if left <= 0:
                run.status, run.reason = limits.stop_status(started, session.waited_seconds)
                break
            session.wall_cap = limits.wall_left()
            with probe.ProbeServer(sandbox.work, batch, reference.load, clock=session.clock,
                                   cpu=session.cpu) as server:
                outcome = session.run_hidden(
                    kernel_runner.probe_source(probe.SOCKET_NAME, limits.case_timeout),
                    timeout=min(int(len(batch) * limits.case_timeout) + limits.cell_timeout, math.ceil(left)),
                    excluded=server.serving_seconds_total)
            if outcome.status == calibration.GRADER_SLOW:
                run.status, run.reason = outcome.status, outcome.detail
                break
            if outcome.status in ("died", "tampered"):
                for position, answer in enumerate(server.executions()):
                    if position in server.answers:
                        answers[todo[position]] = answer
                last = server.current if server.current is not None else 0
                culprit = todo[last] if last < len(todo) else todo[0]
                failed_cases[culprit] = f"no result: {outcome.detail} during this case"
                calls = cases[culprit].calls
                call_index = server.call_in_progress
                target = calls[call_index].target if call_index < len(calls) else None
                if isinstance(target, str):  # a function that killed the kernel is not called again
                    for i in todo:
                        if i not in failed_cases and i not in answers and any(c.target == target for c in cases[i].calls):
                            failed_cases[i] = f"not run: `{target}` killed the kernel in an earlier case"
                if not execute_all():
                    break
                continue
            for i, answer in zip(todo, server.executions()):
                answers[i] = answer
            break
        return [complete(cases[i], answers.get(i) or Execution(error=failed_cases.get(i) or f"no result: {run.reason}"),
                         sources) for i in range(len(cases))]

    run.probe = probe_cases
    try:
        execute_all()
        yield run
    finally:
        session.stop()


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
    limits = limits.for_notebook(name)
    sanitized = time.monotonic()
    flat: list[tuple[str, Case]] = [(grade_id, case) for grade_id, calls in _source_questions(name).items()
                                    for key, question in calls for case in build_cases(key, question)]
    cases_built = time.monotonic()
    # A throwaway copy in the sandbox: the student's other notebooks and files stay
    # readable (later notebooks import earlier ones), and nothing written survives.
    with Sandbox(hide=hidden_paths(db_url), read_only=kernel_data.read_only_paths(),
                 env=kernel_data.kernel_env()) as sandbox:
        shutil.copytree(submission_dir, sandbox.work, symlinks=False)
        copied = time.monotonic()
        with executed(notebook, sandbox, limits, env) as run:
            executed_at = time.monotonic()
            messages = run_cases([case for _, case in flat], run.probe)
            probed = time.monotonic()
    stopped = time.monotonic()
    verdicts: dict[str, list[str | None]] = {}
    for (grade_id, _), message in zip(flat, messages):
        verdicts.setdefault(grade_id, []).append(message)
    if run.status == calibration.GRADER_SLOW:  # nothing is decided on a run the machine cut short
        return NotebookResult(student, name, None, status=run.status, reason=run.reason,
                              seconds=time.monotonic() - started)
    scores = score(notebook, verdicts)
    finished = time.monotonic()
    # Wall time per stage; whatever is not kernel start, cells or probe calls (the sandbox, the copy,
    # building expected values, comparing, stopping the kernel) goes to the stage it belongs with.
    kernel = run.kernel_seconds + (copied - cases_built) + (stopped - probed)
    stages = {"sanitize": sanitized - started, "kernel start": kernel, "execute": run.execute_seconds,
              "probe": run.probe_seconds,
              "score": (cases_built - sanitized) + (probed - executed_at - run.probe_seconds) + (finished - stopped)}
    stages["execute"] += max(0.0, (executed_at - copied) - run.kernel_seconds - run.execute_seconds)
    return NotebookResult(student, name, notebook, scores, run.status, run.reason, finished - started,
                          stages=stages)


def _source_questions(name: str) -> dict[str, list[tuple[str, str]]]:
    """grade_id -> hidden questions, read from the instructor's source notebook."""
    from course.paths import source_dir

    path = source_dir() / f"{name}.ipynb"
    if not path.exists():
        return {}
    return questions_by_cell(nbformat.read(str(path), as_version=4))


def hidden_paths(db_url: str = "") -> list[str]:
    """Folders a student kernel must not see: the course directory, hidden tests, source notebooks,
    the gradebook's folder, and any listed in ``$COURSE_SANDBOX_HIDE`` (os.pathsep-separated)."""
    from course.paths import autograder_dir, source_dir

    found = [os.environ.get("COURSE_DIR", "")]
    for locate in (autograder_dir, source_dir):
        try:
            found.append(str(locate()))
        except FileNotFoundError:
            pass
    if db_url.startswith("sqlite:///"):
        found.append(str(Path(db_url[len("sqlite:///"):]).parent))
    found += os.environ.get("COURSE_SANDBOX_HIDE", "").split(os.pathsep)
    return [str(Path(p).resolve()) for p in found if p]
