"""``course autograde --cluster``: a Dask cluster of worker processes on 127.0.0.1 grades like a local run.

The end-to-end test grades three generated students (reference, partly answered,
buggy) on two notebooks locally and on a three-worker LocalCluster, SIGKILLs one
worker once a grading kernel runs under it (mid-notebook, whatever the machine's
speed), checks that the scheduler handed that notebook out again exactly once, and
that the gradebook and reports of both runs are the same (each notebook counted
once, none lost). About a minute on
an idle 2-core machine; 8-12 minutes at load average 19.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import sqlite3
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from course.paths import ASSIGNMENT

distributed = pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["01_computational_graphs.ipynb", "03_affine_fitting.ipynb"]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_autograde", REPO / "benchmarks" / "autograde_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gradebook(course_dir: Path) -> dict[tuple[str, str, str], tuple[float | None, float]]:
    """(student, notebook, cell) -> (auto score, max score) for every graded cell."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            submission = gradebook.find_submission(ASSIGNMENT, student.id)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    found[(student.id, notebook.name, grade.name)] = (grade.auto_score, grade.max_score)
    return found


class WorkerKiller(threading.Thread):
    """SIGKILLs the first worker process seen grading a notebook: not after a guessed delay, but once a
    grading kernel is running under that worker (a kernel lives from the notebook's first cell to its
    last probe call, so a worker with a live kernel is mid-notebook) and still runs at the kill."""

    def __init__(self, address: str, poll: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.address, self.poll = address, poll
        self.killed: tuple[str, int] | None = None  # (the job's key, the worker's pid)
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self._hunt()
        except BaseException as error:  # shown by the test, not lost in this thread
            self.error = error

    def _hunt(self) -> None:
        import psutil
        from distributed import Client

        with Client(self.address, set_as_default=False) as client:
            pids = client.run(os.getpid)  # worker address -> pid
            while not self.stop.is_set():
                for address, pid in pids.items():
                    kernel = _grading_kernel(pid)
                    if kernel is None:
                        continue
                    keys = client.run(_executing_keys, workers=[address]).get(address, [])
                    if len(keys) != 1 or not kernel.is_running():
                        continue  # the notebook ended meanwhile: wait for the next one
                    sandbox = _sandbox_of(kernel)
                    if sandbox is None:
                        continue  # a forked kernel not yet in its sandbox: look again at the next poll
                    os.kill(pid, signal.SIGKILL)
                    self.killed = (keys[0], pid)
                    psutil.wait_procs([psutil.Process(pid)], timeout=30)
                    shutil.rmtree(sandbox, ignore_errors=True)  # a lost machine takes its folders with it
                    return
                time.sleep(self.poll)


def _grading_kernel(worker_pid: int):
    """The kernel process a worker started, or None: by exec, the process whose command runs
    ipykernel (its sandbox launcher becomes the kernel); by fork, a child of the worker's zygote
    (it keeps the zygote's command line)."""
    import psutil

    try:
        children = psutil.Process(worker_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    for child in children:
        try:
            command = child.cmdline()
            if any("ipykernel" in part for part in command):
                return child
            if "course.zygote" in command and child.ppid() != worker_pid:
                return child  # a forked kernel: the zygote (the worker's child) is its parent
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return None


def _sandbox_of(kernel) -> Path | None:
    """The sandbox folder of a kernel process: its connection file is ``SANDBOX/kernel/connection-N.json``
    (an exec-started kernel's ``-f``), and it runs in ``SANDBOX/work``."""
    try:
        arguments = kernel.cmdline()
        for flag, value in zip(arguments, arguments[1:]):
            if flag == "-f" and Path(value).parent.name == "kernel":
                return Path(value).parents[1]
        folder = Path(kernel.cwd())
    except Exception:
        return None
    return folder.parent if folder.name == "work" and folder.parent.name.startswith("sandbox-") else None


def _executing_keys(dask_worker) -> list[str]:
    return [str(task.key) for task in dask_worker.state.executing if str(task.key).startswith("course-grade-")]


def _transitions_to(scheduler, key: str, state: str) -> int:
    """How many times the scheduler moved ``key`` into ``state`` (its transition log: key, start, finish, ...)."""
    return sum(1 for event in scheduler.story(key) if event[0] == key and event[2] == state)


def _timed_verdict(autograded: Path, cell: tuple[str, str, str]) -> bool:
    """Whether a graded cell failed on a timed case's limit (its verdict names the reference's time)."""
    student, notebook, grade_id = cell
    graded = nbformat.read(str(autograded / student / ASSIGNMENT / f"{notebook}.ipynb"), as_version=4)
    return any(c.metadata.get("nbgrader", {}).get("grade_id") == grade_id and "the reference takes" in str(c.outputs)
               for c in graded.cells)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    if not all((REPO / "notebooks" / name).exists() for name in NOTEBOOKS):
        pytest.skip("notebooks missing")
    from course.coursedir import init_course_dir
    from course.release import generate

    root = init_course_dir(tmp_path_factory.mktemp("cluster") / "course", keys=NOTEBOOKS)
    generate(root)
    _bench().make_submissions(root, 3)
    return root


@pytest.mark.slow
def test_a_cluster_with_a_worker_killed_mid_notebook_grades_like_a_local_run(course, tmp_path):
    from distributed import LocalCluster

    from course.autograde import autograde

    local, remote = tmp_path / "local", tmp_path / "remote"
    shutil.copytree(course, local)
    shutil.copytree(course, remote)
    autograde(local, jobs=2, progress=False)
    with LocalCluster(n_workers=3, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        killer = WorkerKiller(cluster.scheduler_address)
        killer.start()
        try:
            reports = autograde(remote, cluster=cluster.scheduler_address, progress=False)
        finally:
            killer.stop.set()
            killer.join(timeout=60)
        assert killer.error is None, f"the killer failed: {killer.error!r}"
        assert killer.killed is not None, "no worker was killed mid-notebook: the test proved nothing"
        key, _pid = killer.killed
        # the lost notebook was handed out again exactly once, and its result taken once
        assert _transitions_to(cluster.scheduler, key, "processing") == 2, cluster.scheduler.story(key)
        assert _transitions_to(cluster.scheduler, key, "memory") == 1, cluster.scheduler.story(key)
    assert sorted(r.student for r in reports) == ["student000", "student001", "student002"]
    expected = _gradebook(local)
    graded = _gradebook(remote)
    assert expected and graded.keys() == expected.keys()
    differing = sorted(cell for cell in expected if graded[cell] != expected[cell])
    lower = {cell: remote if (graded[cell][0] or 0) < (expected[cell][0] or 0) else local for cell in differing}
    if differing and all(_timed_verdict(lower[cell] / "autograded", cell) for cell in differing):
        # not the cluster's doing: the run that scored lower failed a timed case's limit
        pytest.xfail(f"open (issue 10): a timed case scored differently on a loaded machine: {differing}")
    assert not differing, {cell: (graded[cell], expected[cell]) for cell in differing}
    for report in reports:
        assert sorted(report.notebooks) == sorted(Path(n).stem for n in NOTEBOOKS)
        assert all(n.status == "graded" for n in report.notebooks.values()), report
        local_report = (local / "autograded" / report.student / ASSIGNMENT / "grading_report.json").read_text()
        assert f'"fingerprint": "{report.fingerprint}"' in local_report
        assert all((remote / "autograded" / report.student / ASSIGNMENT / n).exists() for n in NOTEBOOKS)
    # resumable as a local run: nothing changed, nothing is graded again
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert autograde(remote, cluster=cluster.scheduler_address, progress=False) == []


def test_the_gradebook_snapshot_keeps_the_cells_and_drops_students(course, tmp_path):
    from course.cluster import gradebook_snapshot

    source = tmp_path / "gradebook.db"
    shutil.copy(course / "gradebook.db", source)
    with sqlite3.connect(source) as db:
        db.execute("INSERT INTO student (id, first_name, last_name, email, lms_user_id) "
                   "VALUES ('eve', 'Eve', 'E', NULL, NULL)")
    copy = tmp_path / "snapshot.db"
    gradebook_snapshot(source, copy)
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT COUNT(*) FROM student").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM grade_cells").fetchone()[0] > 0
        assert db.execute("SELECT COUNT(*) FROM source_cell").fetchone()[0] > 0


def test_the_course_bundle_holds_the_read_only_inputs_and_unpacks_only_inside(course, tmp_path):
    from course.cluster import _unzip, pack_course

    bundle = pack_course(course, None)
    names = zipfile.ZipFile(__import__("io").BytesIO(bundle)).namelist()
    assert "gradebook.db" in names
    assert any(n.startswith("autograder/tests/") for n in names)
    assert {f"source/{ASSIGNMENT}/{n}" for n in NOTEBOOKS} <= set(names)
    assert not any(n.startswith(("submitted/", "autograded/", "release/")) for n in names)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../outside.txt", "x")
    with pytest.raises(ValueError, match="outside"):
        _unzip(evil.read_bytes(), tmp_path / "target")
    assert not (tmp_path / "outside.txt").exists()


def test_an_unreachable_scheduler_is_one_clear_error(course):
    from course.cluster import cluster_results

    jobs = [(str(course / "submitted" / "student000" / ASSIGNMENT / NOTEBOOKS[0]), "student000", "", 
             str(course / "submitted" / "student000" / ASSIGNMENT), None, None)]
    with pytest.raises(SystemExit, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        list(cluster_results("tcp://127.0.0.1:9", course, jobs, connect_timeout=2))


def test_progress_counts_submissions_by_their_notebooks():
    from course.progress import ClassProgress

    with ClassProgress({"ada": 2, "bob": 4, "cyd": 0}, disable=True) as bar:
        assert bar.bar.total == 2
        bar.notebook_done("bob")
        assert bar.position == pytest.approx(0.25)
        bar.notebook_done("ada")
        bar.notebook_done("ada")
        assert bar.position == pytest.approx(1.25) and bar.complete == 1
        for _ in range(3):
            bar.notebook_done("bob")
        assert bar.position == 2 and bar.complete == 2 and not bar.in_progress
        assert bar.rate_per_minute() > 0


def test_the_cached_schema_check_accepts_and_rejects_what_nbgrader_does():
    """course.nbgrader_speedups: the schema is checked once, each cell still fully (same error)."""
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator

    from course import nbgrader_speedups

    schema = MetadataValidator().schema
    good = {"grade": True, "solution": False, "locked": True, "task": False, "grade_id": "q_tests", "points": 2,
            "schema_version": 3}
    bad = {**good, "points": "two"}
    nbgrader_speedups.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError) as ours:
        nbgrader_speedups.validate(bad, schema)
    with pytest.raises(jsonschema.ValidationError) as stock:
        jsonschema.validate(bad, schema)
    assert ours.value.message == stock.value.message
    nbgrader_speedups.install()
    from nbgrader.nbgraderformat import common

    assert common.jsonschema.validate is nbgrader_speedups.validate
    assert common.jsonschema.ValidationError is jsonschema.ValidationError
