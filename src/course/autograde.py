"""``course autograde``: grade every collected submission, in parallel, resumably.

Workers (one process per notebook job) sanitize, execute and score; this
process alone writes results: the gradebook rows (through nbgrader's own
SaveAutoGrades), the executed notebooks under ``autograded/``, and a
``grading_report.json`` per submission. Every submission ends with a gradebook
row: a notebook that could not be graded scores 0 with the reason recorded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import resource
import shutil
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
from course.paths import ASSIGNMENT
from course.pipeline import STAGES, Limits, NotebookResult, grade_notebook_file
from course.progress import ClassProgress
from course.workers import pool as worker_pool

REPORT = "grading_report.json"


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

    @property
    def score(self) -> float:
        return sum(n.score for n in self.notebooks.values())


def course_env(course_dir: Path) -> dict[str, str]:
    """Environment that points the grading harness at this course's files."""
    return {"COURSE_DIR": str(course_dir), "COURSE_AUTOGRADER_DIR": str(course_dir / "autograder"),
            "COURSE_SOURCE_DIR": str(course_dir / "source" / ASSIGNMENT)}


def fingerprint(submission: Path, course_dir: Path) -> str:
    """Hash of the submission's files and of the grading material: unchanged means no regrade."""
    digest = hashlib.sha256()
    for root in (submission, course_dir / "autograder" / "tests", course_dir / "source" / ASSIGNMENT):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


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
        result = NotebookResult(student, Path(path).stem, None, status="error",
                                reason=f"could not be graded: {type(error).__name__}: {str(error)[:300]} "
                                       f"(at {Path(where.filename).name}:{where.lineno})")
    result.grader_peak_mb = _peak_mb(resource.RUSAGE_SELF)
    result.kernel_peak_mb = _peak_mb(resource.RUSAGE_CHILDREN)  # kernels are this worker's children
    return result


def _save(course_dir: Path, db_url: str, submission: Path, results: list[NotebookResult],
          expected: list[str], stamp: str) -> SubmissionReport:
    """Write one student's results: gradebook rows, autograded notebooks, report."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import SaveAutoGrades

    import warnings

    from sqlalchemy.exc import SAWarning

    # nbgrader's gradebook triggers harmless SQLAlchemy autoflush warnings on a first submission.
    warnings.filterwarnings("ignore", category=SAWarning)
    student = submission.parent.name
    out_dir = course_dir / "autograded" / student / ASSIGNMENT
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(submission, out_dir, ignore=shutil.ignore_patterns("*.ipynb"))
    report = SubmissionReport(student, stamp, datetime.now(timezone.utc).isoformat(timespec="seconds"))
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
            SaveAutoGrades().preprocess(result.notebook, resources)
            nbformat.write(result.notebook, str(out_dir / f"{name}.ipynb"))
            score = sum(s or 0.0 for s, _ in result.scores.values() if s is not None)
            maximum = sum(m for s, m in result.scores.values() if s is not None)
        else:
            score, maximum = 0.0, _zero_notebook(db_url, name, student, result.reason)
        report.notebooks[name] = NotebookReport(result.status, result.reason, score, maximum, round(result.seconds, 2))
    (out_dir / REPORT).write_text(json.dumps(asdict(report), indent=1))
    return report


def _zero_notebook(db_url: str, name: str, student: str, reason: str) -> float:
    """Give every autograded cell of a notebook 0, with the reason as the comment."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(name, ASSIGNMENT, student)
        maximum = 0.0
        for grade in notebook.grades:
            grade.auto_score = 0.0
            grade.needs_manual_grade = False
            maximum += grade.max_score
        for comment in notebook.comments:
            comment.auto_comment = reason
        gradebook.db.commit()
    return maximum


def _results(jobs_list: list[tuple], course_dir: Path, *, jobs: int | None, in_process: bool,
             cluster: str | None, progress: bool = False) -> Iterator[NotebookResult]:
    """Each job's result once, as it finishes: from local worker processes, or from a Dask cluster."""
    if cluster:
        from tqdm.auto import tqdm

        from course.cluster import cluster_results

        yield from cluster_results(cluster, course_dir, jobs_list, say=tqdm.write if progress else None)
        return
    with worker_pool(jobs, course_env(course_dir), in_process=in_process) as pool:
        futures = [pool.submit(_job, job) for job in jobs_list]
        for future in as_completed(futures):
            yield future.result()


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
    """
    course_dir = Path(course_dir).resolve()
    db_url = f"sqlite:///{course_dir / 'gradebook.db'}"
    limits = limits or Limits()
    expected = _expected_notebooks(db_url)
    submissions = sorted(p for p in (course_dir / "submitted").glob(f"*/{ASSIGNMENT}") if p.is_dir())
    if students:
        submissions = [p for p in submissions if p.parent.name in students]
    todo = []
    for submission in submissions:
        stamp = fingerprint(submission, course_dir)
        previous = course_dir / "autograded" / submission.parent.name / ASSIGNMENT / REPORT
        if not force and previous.exists() and json.loads(previous.read_text()).get("fingerprint") == stamp:
            continue
        todo.append((submission, stamp))
    jobs_list = []
    starts_dir = tempfile.TemporaryDirectory(prefix="course-submission-starts-")  # see submission_started
    starts = starts_dir.name
    for submission, _ in todo:
        for name in expected:
            path = submission / f"{name}.ipynb"
            if path.exists():
                jobs_list.append((str(path), submission.parent.name, db_url, str(submission), limits, starts))
    results: dict[str, list[NotebookResult]] = {s.parent.name: [] for s, _ in todo}
    pending = {s.parent.name: 0 for s, _ in todo}
    for job in jobs_list:
        pending[job[1]] += 1
    stamps = {s.parent.name: (s, stamp) for s, stamp in todo}
    reports = [_save(course_dir, db_url, s, [], expected, stamp) for s, stamp in todo if not pending[s.parent.name]]
    started = time.monotonic()
    peaks: list[tuple[float, float]] = []
    stage_seconds: list[dict[str, float]] = []
    if jobs_list:
        kernel_data.prepare()  # once, here; the workers inherit its location
        if progress and not cluster:
            print(sandbox.describe())
    with starts_dir, ClassProgress(dict(pending), disable=not progress) as bar:
        for result in _results(jobs_list, course_dir, jobs=jobs, in_process=in_process, cluster=cluster,
                               progress=progress):
            peaks.append((result.grader_peak_mb, result.kernel_peak_mb))
            stage_seconds.append(result.stages)
            results[result.student].append(result)
            pending[result.student] -= 1
            if pending[result.student] == 0:  # save each submission as soon as it is complete
                submission, stamp = stamps[result.student]
                writing = time.monotonic()
                reports.append(_save(course_dir, db_url, submission, results[result.student], expected, stamp))
                for done in results[result.student]:  # the main process's write, shared among the notebooks
                    done.stages["write"] = (time.monotonic() - writing) / len(results[result.student])
            bar.notebook_done(result.student)
    if progress:
        print(f"graded {len(reports)} submission(s), {len(jobs_list)} notebook(s) in "
              f"{time.monotonic() - started:.1f} s; {len(submissions) - len(todo)} unchanged submission(s) skipped")
        if stage_seconds:
            print(stage_summary(stage_seconds))
        if peaks and not cluster:
            print(f"peak memory: grader {_peak_mb(resource.RUSAGE_SELF):.0f} MB, each worker up to "
                  f"{max(g for g, _ in peaks):.0f} MB, largest kernel {max(k for _, k in peaks):.0f} MB")
    return reports
