"""``course autograde``: grade every collected submission, in parallel, resumably.

Workers (one process per notebook job) sanitize, execute and score; this
process alone writes results: the gradebook rows (through nbgrader's own
SaveAutoGrades), the executed notebooks under ``autograded/`` (student HTML and
JavaScript outputs sanitised, see :mod:`course.sanitize`, so the formgrader and
feedback never run them), and a ``grading_report.json`` per submission. Every
submission ends with a gradebook row: a notebook that could not be graded
scores 0 with the reason recorded.

Resuming: a submission is skipped when its files and the grading material are
unchanged, unless one of its notebooks ended with a grader-side status
(:data:`GRADER_STATUSES`: missing data, a kernel that could not start, the
grader's own time-outs); those are the grader's problem, never the student's,
and are retried by the next run without ``--force``. Ctrl-C stops the run
within seconds: what was saved stays, the next run continues.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import resource
import shutil
import signal
import tempfile
import time
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import nbformat

from course import kernel_data, sandbox
from course.calibration import GRADER_SLOW
from course.kernel_fork import largest_forked_kernel_mb
from course.paths import ASSIGNMENT
from course.pipeline import STAGES, Limits, NotebookResult, grade_notebook_file
from course.progress import ClassProgress
from course.sanitize import sanitize_notebook
from course.workers import pool as worker_pool

REPORT = "grading_report.json"

#: Statuses that mean the grader, not the submission, failed (data missing, a kernel that could not
#: start, a time limit hit because the machine was slow): retried by the next ``course autograde``.
GRADER_STATUSES = frozenset({"grader_error", GRADER_SLOW})

#: The note every grader-side failure carries.
RETRY_NOTE = "this is the grader's problem, not the student's: the next `course autograde` grades it again"


@dataclass
class NotebookReport:
    status: str
    reason: str
    score: float
    max_score: float
    seconds: float


@dataclass
class SubmissionReport:
    student: str
    fingerprint: str
    graded_at: str
    notebooks: dict[str, NotebookReport] = field(default_factory=dict)
    #: hash of the source notebooks and hidden tests used (see :func:`material_fingerprint`)
    material: str = ""

    @property
    def score(self) -> float:
        return sum(n.score for n in self.notebooks.values())


def course_env(course_dir: Path) -> dict[str, str]:
    """Environment that points the grading harness at this course's files."""
    return {"COURSE_DIR": str(course_dir), "COURSE_AUTOGRADER_DIR": str(course_dir / "autograder"),
            "COURSE_SOURCE_DIR": str(course_dir / "source" / ASSIGNMENT)}


def _hash_folders(*roots: Path) -> str:
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(submission: Path, course_dir: Path) -> str:
    """Hash of the submission's files and of the grading material: unchanged means no regrade."""
    return _hash_folders(submission, course_dir / "autograder" / "tests", course_dir / "source" / ASSIGNMENT)


def material_fingerprint(course_dir: Path) -> str:
    """Hash of the grading material alone (source notebooks, hidden tests)."""
    return _hash_folders(course_dir / "autograder" / "tests", course_dir / "source" / ASSIGNMENT)


def _previous_report(course_dir: Path, student: str) -> dict | None:
    path = course_dir / "autograded" / student / ASSIGNMENT / REPORT
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except ValueError:
        return None


def stale_submissions(course_dir: Path) -> list[str]:
    """One phrase per collected submission whose grades are missing or out of date."""
    from course.collect import student_name

    course_dir = Path(course_dir).resolve()
    material = material_fingerprint(course_dir)
    found = []
    for submission in sorted(p for p in (course_dir / "submitted").glob(f"*/{ASSIGNMENT}") if p.is_dir()):
        student = submission.parent.name
        report = _previous_report(course_dir, student)
        if report is None:
            found.append(f"{student_name(student)}: not graded yet")
        elif report.get("fingerprint") != fingerprint(submission, course_dir):
            why = ("the source notebooks or hidden tests changed after grading"
                   if report.get("material") and report["material"] != material else "new files were collected")
            found.append(f"{student_name(student)}: {why}")
    return found


def needs_regrade(report: dict | None, stamp: str) -> bool:
    """Whether a submission with this previous report must be graded (again)."""
    if report is None or report.get("fingerprint") != stamp:
        return True
    return any(n.get("status") in GRADER_STATUSES for n in report.get("notebooks", {}).values())


def needs_cifar(name: str, course_dir: Path) -> bool:
    """Whether notebook ``name`` loads CIFAR-10 (read from its source notebook, so new notebooks count)."""
    path = course_dir / "source" / ASSIGNMENT / f"{name}.ipynb"
    return path.exists() and "load_cifar10" in path.read_text(encoding="utf-8", errors="replace")


def data_problem() -> str | None:
    """Why the grader has no CIFAR-10 for the kernels (the loader's own complete message), or None."""
    if kernel_data.prepare() is not None:
        return None
    from hwlib.cifar import locate_cifar10

    try:
        locate_cifar10()
    except Exception as error:  # noqa: BLE001 - the loader's message says what to do
        return f"{type(error).__name__}: {error}"
    return "CIFAR-10 could not be prepared for the grading kernels"


def _expected_notebooks(db_url: str) -> list[str]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        return [n.name for n in gradebook.find_assignment(ASSIGNMENT).notebooks]


def _read_timestamp(submission: Path) -> datetime | None:
    stamp = submission / "timestamp.txt"
    if not stamp.exists():
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(stamp.read_text().strip())
    except Exception:
        return None


def _peak_mb(who: int) -> float:
    """Peak resident set size in MB (Linux reports kilobytes) of this process or its reaped children."""
    return resource.getrusage(who).ru_maxrss / 1024


def submission_started(folder: Path, student: str) -> float:
    """When ``student``'s first notebook started grading (``time.monotonic()``), shared by every
    worker through a file in ``folder``: the first caller records now, the others read it."""
    stamp = folder / student
    if not stamp.exists():
        draft = folder / f".{student}.{os.getpid()}"
        draft.write_text(repr(time.monotonic()))
        try:
            os.link(draft, stamp)  # atomic: fails if another worker was first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return float(stamp.read_text())


def _job(args: tuple) -> NotebookResult:
    # Ctrl-C reaches the workers too: only a job in progress stops on it (its kernel and sandbox are
    # cleaned up on the way out); an idle worker ignores it and exits when the pool shuts down.
    import multiprocessing

    in_worker = multiprocessing.parent_process() is not None  # not the caller's own process (in_process)
    if in_worker:
        signal.signal(signal.SIGINT, _interrupt_job)
    try:
        return _grade_job(args)
    finally:
        if in_worker:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupt_job(signum: int, frame: object) -> None:
    """Ctrl-C in a worker: stop the job; what the worker prints while it cleans up is not shown
    (the interrupted command reports once, in the main process). Only the first Ctrl-C counts: a
    second one (the terminal's and :func:`_stop_workers`'s) would cut the clean-up of the job's
    kernel and sandbox short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    raise KeyboardInterrupt


def _grade_job(args: tuple) -> NotebookResult:
    path, student, db_url, submission, limits, starts = args
    if limits.submission_timeout is not None and starts is not None:
        end = submission_started(Path(starts), student) + limits.submission_timeout
        limits = dataclasses.replace(limits, deadline=end if limits.deadline is None else min(end, limits.deadline))
    if limits.deadline is not None and time.monotonic() >= limits.deadline:
        return NotebookResult(student, Path(path).stem, None, status="timeout",
                              reason="not graded: the submission used up its time budget in its other notebooks")
    try:
        result = grade_notebook_file(Path(path), student=student, assignment=ASSIGNMENT, db_url=db_url,
                                     submission_dir=Path(submission), limits=limits)
        if result.status == GRADER_SLOW:  # the machine's fault, not the student's: regrade once, now
            retry = grade_notebook_file(Path(path), student=student, assignment=ASSIGNMENT, db_url=db_url,
                                        submission_dir=Path(submission), limits=limits)
            retry.seconds += result.seconds
            result = retry
    except Exception as error:  # one broken notebook never stops the batch
        import traceback

        where = traceback.extract_tb(error.__traceback__)[-1]
        result = NotebookResult(student, Path(path).stem, None, status="grader_error",
                                reason=f"could not be graded: {type(error).__name__}: {error} "
                                       f"(at {Path(where.filename).name}:{where.lineno}); {RETRY_NOTE}")
    result.grader_peak_mb = _peak_mb(resource.RUSAGE_SELF)
    # exec-started kernels are this worker's children, forked ones the zygote's
    result.kernel_peak_mb = max(_peak_mb(resource.RUSAGE_CHILDREN), largest_forked_kernel_mb())
    return result


def _save(course_dir: Path, db_url: str, submission: Path, results: list[NotebookResult],
          expected: list[str], stamp: str, material: str = "") -> SubmissionReport:
    """Write one student's results: gradebook rows, autograded notebooks, report.

    One gradebook connection per submission and one commit per notebook (nbgrader's SaveAutoGrades
    commits once per cell, each a synchronous write of the database file)."""
    from nbgrader.api import Gradebook

    import warnings

    from sqlalchemy.exc import SAWarning

    from course.gradebook_writes import OneCommitSaveAutoGrades

    # nbgrader's gradebook triggers harmless SQLAlchemy autoflush warnings on a first submission.
    warnings.filterwarnings("ignore", category=SAWarning)
    student = submission.parent.name
    out_dir = course_dir / "autograded" / student / ASSIGNMENT
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(submission, out_dir, ignore=shutil.ignore_patterns("*.ipynb"))
    report = SubmissionReport(student, stamp, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              material=material)
    by_name = {r.name: r for r in results}
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(ASSIGNMENT, student, timestamp=_read_timestamp(submission))
        for name in expected:
            result = by_name.get(name) or NotebookResult(student, name, None, status="missing",
                                                         reason=f"{name}.ipynb was not submitted")
            if result.notebook is not None:
                resources = {"nbgrader": {"notebook": name, "assignment": ASSIGNMENT, "student": student,
                                          "db_url": db_url}}
                OneCommitSaveAutoGrades(gradebook).preprocess(result.notebook, resources)
                nbformat.write(sanitize_notebook(result.notebook), str(out_dir / f"{name}.ipynb"))
                score = sum(s or 0.0 for s, _ in result.scores.values() if s is not None)
                maximum = sum(m for s, m in result.scores.values() if s is not None)
            else:
                score, maximum = 0.0, _zero_notebook(gradebook, name, student, result.reason)
            report.notebooks[name] = NotebookReport(result.status, result.reason, score, maximum,
                                                    round(result.seconds, 2))
    (out_dir / REPORT).write_text(json.dumps(asdict(report), indent=1))
    return report


def _zero_notebook(gradebook: object, name: str, student: str, reason: str) -> float:
    """Give every cell of a notebook 0, with the reason as the comment; return its autograded maximum
    (written answers excluded, the same maximum as a graded notebook reports). ``gradebook``: an open
    nbgrader Gradebook."""
    notebook = gradebook.find_submission_notebook(name, ASSIGNMENT, student)
    maximum = 0.0
    manual = {cell.name for cell in gradebook.find_notebook(name, ASSIGNMENT).solution_cells}
    for grade in notebook.grades:
        grade.auto_score = 0.0
        grade.needs_manual_grade = False
        if grade.name not in manual:  # grade + solution = graded by hand
            maximum += grade.max_score
    for comment in notebook.comments:
        comment.auto_comment = reason
    gradebook.db.commit()
    return maximum


def require_data(course_dir: Path, what: str) -> None:
    """RuntimeError (the loader's complete message: where to put the data, which variable to set)
    when notebooks of this course load CIFAR-10 and it is not available for ``what``."""
    names = [p.stem for p in sorted((course_dir / "source" / ASSIGNMENT).glob("*.ipynb"))
             if needs_cifar(p.stem, course_dir)]
    if names:
        problem = data_problem()
        if problem:
            raise RuntimeError(f"{what} needs CIFAR-10 for {', '.join(names)}, and it is not available. {problem}")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during ``course autograde``: what was graded before it is saved."""

    def __init__(self, saved: int, left: int) -> None:
        super().__init__(f"interrupted: {saved} submission(s) graded and saved, {left} not finished; "
                         f"run `course autograde` again to grade the rest")


#: Seconds the workers get to stop their kernels and clean up after Ctrl-C before they are killed.
STOP_GRACE = 3.5


def _stop_workers(pool: object) -> None:
    """Cancel queued jobs, pass Ctrl-C on to running ones, kill what has not stopped in time."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)  # type: ignore[attr-defined]
    for process in processes:
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGINT)  # a no-op for workers that already have it
    end = time.monotonic() + STOP_GRACE
    for process in processes:
        process.join(max(0.0, end - time.monotonic()))
    killed = [process for process in processes if process.is_alive()]
    for process in killed:
        process.kill()
    for process in killed:
        process.join(5.0)
    if getattr(pool, "_course_dir", None):  # what a killed worker, or a kernel outliving its worker, left
        _remove_sandboxes_of(pool._course_dir)  # type: ignore[attr-defined]


def _submission_signature(folder: Path) -> tuple[str, frozenset[str]] | None:
    """(timestamp.txt, file names) of a submission folder or of a sandbox's copy of one."""
    stamp = folder / "timestamp.txt"
    try:
        return stamp.read_text(), frozenset(p.name for p in folder.iterdir())
    except OSError:
        return None


def _remove_sandboxes_of(course_dir: str) -> None:
    """Kill the kernels and delete the sandbox folders that killed workers left for ``course_dir``:
    those whose ``sandbox.json`` names the course directory among the folders it hides, and those
    killed while being set up (no ``sandbox.json`` yet) whose work folder is a copy of one of the
    course's submissions."""
    ours = {_submission_signature(p) for p in Path(course_dir, "submitted").glob(f"*/{ASSIGNMENT}")} - {None}
    for root in Path(tempfile.gettempdir()).glob("sandbox-*"):
        record = root / "sandbox.json"
        try:
            data = json.loads(record.read_text()) if record.exists() else None
        except (OSError, ValueError):
            continue
        if data is None:
            if _submission_signature(root / "work") in ours:
                shutil.rmtree(root, ignore_errors=True)
            continue
        if course_dir not in data.get("hide", []):
            continue
        if data.get("uid") is not None:
            sandbox.kill_user_processes(int(data["uid"]))
        shutil.rmtree(root, ignore_errors=True)


def _local_results(jobs_list: list[tuple], course_dir: Path, *, jobs: int | None,
                   in_process: bool) -> Iterator[NotebookResult]:
    """Each job's result once, as it finishes, from local worker processes (or this one).

    Interrupted (Ctrl-C, or the caller closing the generator): queued jobs are cancelled and
    running ones stopped within :data:`STOP_GRACE` seconds (:func:`_stop_workers`).
    """
    pool = worker_pool(jobs, course_env(course_dir), in_process=in_process)
    pool._course_dir = str(course_dir)  # type: ignore[attr-defined]  # for _stop_workers' cleanup
    done = False
    try:
        futures = []
        for job in jobs_list:
            futures.append(pool.submit(_job, job))
            if futures[-1].done() and isinstance(futures[-1].exception(), KeyboardInterrupt):
                raise KeyboardInterrupt  # the in-process executor ran the job and was interrupted
        for future in as_completed(futures):
            yield future.result()
        done = True
    finally:
        if done:
            pool.shutdown(wait=True)
        else:
            _stop_workers(pool)


def _plan(course_dir: Path, submissions: list[Path], force: bool, progress: bool) -> list[tuple[Path, str]]:
    """The submissions to grade now, with their fingerprints; says why some are regraded."""
    material = material_fingerprint(course_dir)
    todo, retried, changed = [], [], []
    for submission in submissions:
        stamp = fingerprint(submission, course_dir)
        previous = _previous_report(course_dir, submission.parent.name)
        if force or needs_regrade(previous, stamp):
            todo.append((submission, stamp))
            if previous and previous.get("fingerprint") == stamp:
                retried.append(submission.parent.name)
            elif previous and previous.get("material") and previous["material"] != material:
                changed.append(submission.parent.name)
    if progress and retried and not force:
        print(f"retrying {len(retried)} submission(s) whose last grading failed on the grader's side")
    if progress and changed:
        print(f"warning: the source notebooks or hidden tests changed after {len(changed)} submission(s) were "
              f"graded; they are regraded now (export waits for this)")
    return todo


def _data_failures(todo: list[tuple[Path, str]], expected: list[str], course_dir: Path,
                   progress: bool) -> dict[str, list[NotebookResult]]:
    """Notebooks that need CIFAR-10 when the grader has none: not run, a grader-side status each."""
    needing = [name for name in expected if needs_cifar(name, course_dir)]
    if not needing or not any((s / f"{n}.ipynb").exists() for s, _ in todo for n in needing):
        return {}
    problem = data_problem()
    if problem is None:
        return {}
    reason = (f"not graded: the grader has no CIFAR-10 data ({problem}); {RETRY_NOTE}")
    if progress:
        print(f"warning: CIFAR-10 is not available, so {', '.join(needing)} are not graded now: {problem}")
    failures: dict[str, list[NotebookResult]] = {}
    for submission, _ in todo:
        for name in needing:
            if (submission / f"{name}.ipynb").exists():
                failures.setdefault(submission.parent.name, []).append(
                    NotebookResult(submission.parent.name, name, None, status="grader_error", reason=reason))
    return failures


def _results(jobs_list: list[tuple], course_dir: Path, *, jobs: int | None, in_process: bool,
             cluster: str | None, progress: bool = False) -> Iterator[NotebookResult]:
    """Each job's result once, as it finishes: from local worker processes, or from a Dask cluster."""
    if cluster:
        from tqdm.auto import tqdm

        from course.cluster import cluster_results

        yield from cluster_results(cluster, course_dir, jobs_list, say=tqdm.write if progress else None)
        return
    yield from _local_results(jobs_list, course_dir, jobs=jobs, in_process=in_process)


def stage_summary(stages: list[dict[str, float]]) -> str:
    """One line: mean seconds per notebook in each grading stage (kernel start, sanitize, ...)."""
    means = {name: sum(s.get(name, 0.0) for s in stages) / len(stages) for name in STAGES}
    return "seconds per notebook by stage: " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in means.items())


def autograde(course_dir: Path, *, jobs: int | None = None, force: bool = False,
              students: list[str] | None = None, limits: Limits | None = None,
              progress: bool = True, in_process: bool = False, cluster: str | None = None) -> list[SubmissionReport]:
    """Grade the collected submissions of ``course_dir`` (see module docstring).

    Args:
        jobs: worker processes (default: the CPU count).
        force: regrade submissions whose files and grading material did not change.
        students: only these student ids.
        limits: per-cell and per-notebook time limits.
        in_process: grade one notebook at a time in this process, without worker processes
            (least memory; changes this process's environment).
        cluster: address of a Dask scheduler (``tcp://host:8786``): grade the notebooks there
            (:mod:`course.cluster`); this process still writes every result.

    Raises:
        Interrupted: on Ctrl-C, after saving every submission graded so far.
    """
    course_dir = Path(course_dir).resolve()
    db_url = f"sqlite:///{course_dir / 'gradebook.db'}"
    limits = limits or Limits()
    expected = _expected_notebooks(db_url)
    material = material_fingerprint(course_dir)
    submissions = sorted(p for p in (course_dir / "submitted").glob(f"*/{ASSIGNMENT}") if p.is_dir())
    if students:
        submissions = [p for p in submissions if p.parent.name in students]
    todo = _plan(course_dir, submissions, force, progress)
    results: dict[str, list[NotebookResult]] = {s.parent.name: [] for s, _ in todo}
    results.update(_data_failures(todo, expected, course_dir, progress))
    not_run = {(r.student, r.name) for found in results.values() for r in found}
    jobs_list = []
    starts_dir = tempfile.TemporaryDirectory(prefix="course-submission-starts-")  # see submission_started
    starts = starts_dir.name
    for submission, _ in todo:
        for name in expected:
            path = submission / f"{name}.ipynb"
            if path.exists() and (submission.parent.name, name) not in not_run:
                jobs_list.append((str(path), submission.parent.name, db_url, str(submission), limits, starts))
    pending = {s.parent.name: 0 for s, _ in todo}
    for job in jobs_list:
        pending[job[1]] += 1
    stamps = {s.parent.name: (s, stamp) for s, stamp in todo}
    reports = [_save(course_dir, db_url, s, results[s.parent.name], expected, stamp, material)
               for s, stamp in todo if not pending[s.parent.name]]
    started = time.monotonic()
    peaks: list[tuple[float, float]] = []
    stage_seconds: list[dict[str, float]] = []
    if jobs_list:
        kernel_data.prepare()  # once, here; the workers inherit its location
        if progress and not cluster:
            print(sandbox.describe())
    with starts_dir, ClassProgress(dict(pending), disable=not progress) as bar:
        finished = _results(jobs_list, course_dir, jobs=jobs, in_process=in_process, cluster=cluster,
                            progress=progress)
        try:
            for result in finished:
                peaks.append((result.grader_peak_mb, result.kernel_peak_mb))
                stage_seconds.append(result.stages)
                results[result.student].append(result)
                pending[result.student] -= 1
                if pending[result.student] == 0:  # save each submission as soon as it is complete
                    submission, stamp = stamps[result.student]
                    writing = time.monotonic()
                    reports.append(_save(course_dir, db_url, submission, results[result.student], expected,
                                         stamp, material))
                    for done in results[result.student]:  # the main process's write, shared among the notebooks
                        done.stages["write"] = (time.monotonic() - writing) / len(results[result.student])
                bar.notebook_done(result.student)
        except KeyboardInterrupt:
            finished.close()  # stops the workers (see _local_results)
            raise Interrupted(len(reports), len(todo) - len(reports)) from None
    if progress:
        print(f"graded {len(reports)} submission(s), {len(jobs_list)} notebook(s) in "
              f"{time.monotonic() - started:.1f} s; {len(submissions) - len(todo)} unchanged submission(s) skipped")
        if stage_seconds:
            print(stage_summary(stage_seconds))
        if peaks and not cluster:
            print(f"peak memory: grader {_peak_mb(resource.RUSAGE_SELF):.0f} MB, each worker up to "
                  f"{max(g for g, _ in peaks):.0f} MB, largest kernel {max(k for _, k in peaks):.0f} MB")
        problems = [f"{r.student}: {name}" for r in reports for name, n in r.notebooks.items()
                    if n.status in GRADER_STATUSES]
        if problems:
            print(f"{len(problems)} notebook(s) could not be graded because of the grader, not the student "
                  f"({', '.join(problems[:5])}{', ...' if len(problems) > 5 else ''}); "
                  f"run `course autograde` again to retry them")
    return reports
