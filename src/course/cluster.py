"""``course autograde --cluster ADDRESS``: the per-notebook grading jobs on a Dask distributed cluster.

The main process stays the only writer (gradebook, ``autograded/``, reports), as
in a local run; the cluster only computes. Nothing needs a shared filesystem:

* the course's read-only inputs (hidden-test specs and nbgrader configuration
  under ``autograder/``, the source notebooks, a snapshot of the gradebook with
  the assignment's cells but no student rows, and the kernels' CIFAR-10 batches)
  travel once, as one zip, in a :class:`CoursePlugin` that the scheduler installs
  on every worker, including workers that join or restart later;
* each job carries its student's submission folder as zip bytes;
* each job returns a :class:`course.pipeline.NotebookResult` (the graded notebook,
  scores, status, reason, seconds per stage): plain data.

A job's key names (run, student, notebook), so a result is taken once. When a
worker dies mid-notebook (SIGKILL, a lost machine), the scheduler hands its job
to another worker, which grades that notebook from scratch; the main process
never sees the half-graded one. A job that kills ``distributed.scheduler.allowed-failures``
+ 1 workers in a row scores 0 with that reason, like any notebook that could
not be graded.

Workers need the kit installed (``pip install "backprop-course-kit[instructor,cluster]"``),
one grading thread each (``--nthreads 1``; a per-process lock enforces it anyway),
and the same sandbox requirements as a local grader (root for a separate user,
Linux namespaces for no network and hidden files); see docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from distributed.diagnostics.plugin import WorkerPlugin

from course.paths import ASSIGNMENT
from course.pipeline import Limits, NotebookResult

#: Prefix of the name under which a course bundle plugin is registered (then its digest): runs of
#: different courses, or of changed course files, can share a cluster.
PLUGIN_NAME = "course-bundle"

#: What a worker unpacks the bundle into, below its own temporary folder.
_GRADEBOOK = "gradebook.db"
_DATA = "kernel-data"

#: One grading job at a time per worker process (each runs a kernel; the pipeline is not thread-safe).
_ONE_JOB = threading.Lock()


def _zip_folder(folder: Path, archive: zipfile.ZipFile, prefix: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")


def zip_folder(folder: Path) -> bytes:
    """The files of ``folder`` (symlinks left out) as zip bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _zip_folder(folder, archive, ".")
    return buffer.getvalue()


def _unzip(data: bytes, target: Path) -> None:
    """Unpack zip bytes made by this module into ``target``, refusing paths that leave it."""
    target = target.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            destination = (target / member.filename).resolve()
            if target != destination and target not in destination.parents:
                raise ValueError(f"refusing to unpack {member.filename!r} outside {target}")
        archive.extractall(target)


def gradebook_snapshot(db_path: Path, target: Path) -> None:
    """Copy the gradebook's assignment and cells to ``target``, without any student or grade row."""
    with sqlite3.connect(db_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    with sqlite3.connect(target) as copy:
        for table in ("comment", "grade", "submitted_notebook", "submitted_assignment", "student"):
            copy.execute(f"DELETE FROM {table}")
    with sqlite3.connect(target) as copy:
        copy.execute("VACUUM")


def pack_course(course_dir: Path, kernel_data: Path | None) -> bytes:
    """The read-only inputs every worker needs, as one zip (see module docstring)."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="course-bundle-") as scratch, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _zip_folder(course_dir / "autograder", archive, "autograder")
        _zip_folder(course_dir / "source" / ASSIGNMENT, archive, f"source/{ASSIGNMENT}")
        snapshot = Path(scratch) / _GRADEBOOK
        gradebook_snapshot(course_dir / _GRADEBOOK, snapshot)
        archive.write(snapshot, _GRADEBOOK)
        if kernel_data is not None:
            _zip_folder(kernel_data, archive, _DATA)
    return buffer.getvalue()


class CoursePlugin(WorkerPlugin):
    """Installs one course's read-only inputs on a worker (a fresh folder per worker process)."""

    def __init__(self, bundle: bytes) -> None:
        self.bundle = bundle
        self.digest = hashlib.sha256(bundle).hexdigest()[:16]
        self.name = f"{PLUGIN_NAME}-{self.digest}"
        self.folder: Path | None = None

    def setup(self, worker: Any) -> None:
        from course.autograde import course_env
        from course.workers import SINGLE_THREADED

        self.folder = Path(tempfile.mkdtemp(prefix=f"course-{self.digest}-"))
        _unzip(self.bundle, self.folder)
        env = {**SINGLE_THREADED, **course_env(self.folder)}
        data = self.folder / _DATA
        if data.is_dir():  # shipped: world-readable, as kernel_data.prepare() leaves its own copy
            for path in [data, *data.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            self.folder.chmod(0o755)
            env["COURSE_KERNEL_DATA"] = str(data)
        os.environ.update(env)

    def teardown(self, worker: Any) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class RemoteJob:
    """One notebook of one submission, with everything a worker needs but the course bundle."""

    run: str
    student: str
    name: str
    submission: bytes
    limits: Limits
    digest: str


def _submission_start(run: str, student: str) -> float:
    """Wall-clock time at which ``student``'s first notebook started on any worker (shared through the
    scheduler: the first job records it, the others read it)."""
    from distributed import Lock, get_client

    client = get_client()
    key = ["course-autograde", run, "started", student]
    with Lock(f"course-start-{run}-{student}"):
        started = client.get_metadata(key, default=None)
        if started is None:
            started = time.time()
            client.set_metadata(key, started)
    return float(started)


def grade_remote(job: RemoteJob) -> NotebookResult:
    """Grade one notebook on a worker; the result travels back as data."""
    from course.autograde import _grade_job
    from distributed import get_worker

    plugin = get_worker().plugins.get(f"{PLUGIN_NAME}-{job.digest}")
    if plugin is None or plugin.folder is None:  # registered before any job is submitted: not expected
        raise RuntimeError("this worker has not got the course's files (its plugin is missing)")
    with _ONE_JOB:
        limits = job.limits
        if limits.submission_timeout is not None:
            end_wall = _submission_start(job.run, job.student) + limits.submission_timeout
            end = time.monotonic() + (end_wall - time.time())  # this machine's clock
            limits = dataclasses.replace(limits, deadline=end if limits.deadline is None else min(end, limits.deadline))
        with tempfile.TemporaryDirectory(prefix="course-submission-") as scratch:
            submission = Path(scratch) / job.student / ASSIGNMENT
            submission.mkdir(parents=True)
            _unzip(job.submission, submission)
            db_url = f"sqlite:///{plugin.folder / _GRADEBOOK}"
            # not autograde._job: that installs a Ctrl-C handler, which only a main thread may do, and a
            # Dask worker runs its jobs in a thread (stopping a cluster run is the scheduler's business)
            return _grade_job((str(submission / f"{job.name}.ipynb"), job.student, db_url, str(submission),
                               limits, None))


def _lost(job: RemoteJob, error: BaseException) -> NotebookResult:
    reason = f"could not be graded on the cluster: {type(error).__name__}: {str(error)[:300]}"
    return NotebookResult(job.student, job.name, None, status="error", reason=reason)


def _register(client: Any, plugin: CoursePlugin) -> None:
    if hasattr(client, "register_plugin"):
        client.register_plugin(plugin, name=plugin.name)
    else:  # distributed before 2023.9
        client.register_worker_plugin(plugin, name=plugin.name)


def _unregister(client: Any, plugin: CoursePlugin) -> None:
    """Remove the course's files from the workers (each worker deletes its unpacked copy)."""
    try:
        client.unregister_worker_plugin(plugin.name)
    except Exception:  # the cluster is gone or already forgot it: nothing left to clean
        pass


def _describe_sandbox() -> str:
    from course import sandbox

    return sandbox.describe()


def worker_sandboxes(client: Any) -> list[str]:
    """What the sandbox enforces on the cluster's workers: each distinct answer, with how many gave it."""
    answers = list(client.run(_describe_sandbox).values())
    return [f"{answers.count(a)} worker(s): {a}" for a in sorted(set(answers))]


def cluster_results(address: str, course_dir: Path, jobs: list[tuple], *, connect_timeout: float = 30,
                    say: Callable[[str], None] | None = None) -> Iterator[NotebookResult]:
    """Grade ``jobs`` (the local runner's tuples: path, student, db_url, submission, limits, starts)
    on the Dask cluster at ``address``; yield each result once, as it comes back. ``say`` gets the
    cluster's size and what the sandbox enforces on its workers."""
    from concurrent.futures import CancelledError

    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    from course import kernel_data

    if not jobs:
        return
    data = kernel_data.prepare() if os.environ.get("COURSE_CLUSTER_SHIP_DATA", "1") != "0" else None
    bundle = pack_course(course_dir, data)
    plugin = CoursePlugin(bundle)
    run = uuid.uuid4().hex[:12]
    packed: dict[str, bytes] = {}
    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except OSError as error:
        raise SystemExit(f"course autograde: cannot reach the Dask scheduler at {address} ({error}); "
                         f"start one (dask scheduler) or check the address") from None
    with client:
        _register(client, plugin)
        futures: dict[Any, RemoteJob] = {}
        try:
            if say is not None:
                say(f"cluster {address}: {len(client.scheduler_info()['workers'])} worker(s), run {run}")
                for line in worker_sandboxes(client):
                    say(line)
            for index, (path, student, _db_url, submission, limits, _starts) in enumerate(jobs):
                if submission not in packed:
                    packed[submission] = zip_folder(Path(submission))
                job = RemoteJob(run, student, Path(path).stem, packed[submission], limits, plugin.digest)
                future = client.submit(grade_remote, job, key=f"course-grade-{run}-{student}-{job.name}", pure=False,
                                       priority=len(jobs) - index)  # earlier submissions first: saved sooner
                futures[future] = job
            packed.clear()
            for future in as_completed(list(futures), loop=client.loop):
                job = futures.pop(future)
                try:
                    result = future.result()
                except KilledWorker as error:  # this notebook took several workers down with it
                    result = _lost(job, error)
                except (CancelledError, OSError) as error:  # the scheduler went away: stop, keep what is saved
                    raise SystemExit(f"course autograde: lost the Dask cluster at {address} ({type(error).__name__}); "
                                     f"{len(futures) + 1} notebook(s) not graded; run the same command again to "
                                     f"grade the rest (finished submissions are saved)") from None
                except Exception as error:  # the job itself failed outside the pipeline
                    result = _lost(job, error)
                future.release()
                yield result
        finally:  # also when this generator is closed early (Ctrl-C, an error while saving)
            with contextlib.suppress(Exception):
                client.cancel(list(futures))
            _unregister(client, plugin)
