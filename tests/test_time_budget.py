"""Time limits of a grading run: per cell, per notebook, and the submission's deadline (Gradescope)."""

from __future__ import annotations

import time

import nbformat
import pytest

from course.autograde import _job, submission_started
from course.pipeline import Limits, executed
from course.sandbox import Sandbox

pytestmark = pytest.mark.slow


def _notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources],
                                    metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})


def _stop_message(cell: nbformat.NotebookNode) -> str:
    """The one-line message of a cell the grader stopped; no KeyboardInterrupt traceback or stderr line is left."""
    outputs = cell.get("outputs", [])
    assert not any(o.get("ename") == "KeyboardInterrupt" or "KeyboardInterrupt" in str(o.get("text", ""))
                   for o in outputs), outputs
    [stop] = [o for o in outputs if o.get("output_type") == "error"]
    assert stop["ename"] == "CellTimeout" and stop["traceback"] == [f"CellTimeout: {stop['evalue']}"], stop
    assert "\n" not in stop["evalue"] and "Hint:" in stop["evalue"], stop
    return stop["evalue"]


def test_the_deadline_shortens_cells_and_stops_the_notebook():
    notebook = _notebook("import time\ntime.sleep(1)\nfirst = 1", "time.sleep(60)", "third = 3")
    started = time.monotonic()
    limits = Limits(cell_timeout=120, notebook_timeout=600, deadline=started + 8)
    with Sandbox() as box:
        box.work.mkdir()
        with executed(notebook, box, limits) as run:
            pass
    seconds = time.monotonic() - started
    assert run.status == "timeout" and "time budget" in run.reason, run
    assert seconds < 25, f"the 60 s cell should have been cut at the deadline, took {seconds:.0f} s"
    assert not notebook.cells[0].get("outputs") or notebook.cells[0].outputs[0].get("output_type") != "error"
    # interrupted at the deadline (or, on a machine so busy the kernel took the 8 s to start, never run)
    if notebook.cells[1].get("outputs"):
        assert _stop_message(notebook.cells[1]).startswith("cell 2 was stopped: the submission's time budget ran out")
    assert not notebook.cells[2].get("outputs")  # never ran


def test_a_notebook_after_the_deadline_is_not_started(tmp_path):
    limits = Limits(deadline=time.monotonic() - 1)
    result = _job((str(tmp_path / "02_layers.ipynb"), "ada", "sqlite:///unused.db", str(tmp_path), limits, None))
    assert result.status == "timeout" and "time budget" in result.reason and result.notebook is None


def test_the_submission_budget_counts_from_its_first_notebook(tmp_path):
    starts = tmp_path / "starts"
    starts.mkdir()
    first = submission_started(starts, "ada")
    time.sleep(0.05)
    assert submission_started(starts, "ada") == first  # every later notebook (any worker) sees the same start
    assert submission_started(starts, "bob") > first
    assert sorted(p.name for p in starts.iterdir()) == ["ada", "bob"]
    # ada's first notebook started an hour ago: with a 30-minute budget her next one is not graded
    (starts / "ada").write_text(repr(time.monotonic() - 3600))
    job = (str(tmp_path / "03_affine_fitting.ipynb"), "ada", "sqlite:///unused.db", str(tmp_path),
           Limits(submission_timeout=1800), str(starts))
    result = _job(job)
    assert result.status == "timeout" and "time budget" in result.reason


@pytest.mark.parametrize("value, expected", [("0", None), ("-5", None), ("500", 500)])
def test_a_zero_submission_timeout_means_no_limit_everywhere(monkeypatch, value, expected):
    from course.cli import build_parser
    from course.pipeline import no_limit_if_zero

    monkeypatch.setenv("COURSE_SUBMISSION_TIMEOUT", value)
    assert Limits.from_env().submission_timeout == expected
    args = build_parser().parse_args(["autograde", "--submission-timeout", value])
    assert no_limit_if_zero(args.submission_timeout) == expected


# ----- load-independent limits (own time of the kernel, see course.calibration) -------------------------------

BUSY = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def _saturate(seconds: float) -> list:
    """Two busy processes per core that stop by themselves after ``seconds``."""
    import os
    import subprocess
    import sys

    return [subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=seconds)])
            for _ in range(2 * (os.cpu_count() or 1))]


def _stop(processes: list) -> None:
    for process in processes:
        process.kill()
        process.wait()


@pytest.mark.parametrize("body", ["while True:\n    pass", "import time\ntime.sleep(600)"], ids=["loop", "sleep"])
def test_an_endless_cell_costs_its_own_time_limit_even_on_a_saturated_machine(body):
    """The cell is stopped after 4 s of its own time (running or sleeping, not waiting for a core),
    the notebook goes on, and the time it held the grader stays a small multiple of that."""
    notebook = _notebook("first = 1", body, "third = 3\nprint(first + third)")
    busy = _saturate(120)
    try:
        started = time.monotonic()
        with Sandbox() as box:
            box.work.mkdir()
            with executed(notebook, box, Limits(cell_timeout=4, notebook_timeout=60)) as run:
                pass
        seconds = time.monotonic() - started
    finally:
        _stop(busy)
    assert run.status == "graded", run
    assert _stop_message(notebook.cells[1]).startswith("cell 2 was stopped after 4 s of running: the limit of 4 s "
                                                       "per cell"), notebook.cells[1].outputs
    assert notebook.cells[2].outputs[0]["text"] == "4\n"
    assert seconds < 90, f"an endless cell with a 4 s limit held the grader {seconds:.0f} s"


def test_a_cell_the_machine_starves_is_the_graders_fault(monkeypatch):
    """Only the wall-time safety net (not the own-time limit) stops a kernel that barely gets a
    core: that is reported as grader_slow ("grader too slow, regrade"), never as the student's timeout."""
    import os

    from course import kernel_session

    if os.geteuid() != 0:
        pytest.skip("starving the kernel needs root (renice)")
    monkeypatch.setattr(kernel_session, "WALL_FLOOR", 3)
    monkeypatch.setattr(kernel_session, "WALL_SLACK", 1.0)
    notebook = _notebook("import os\nos.setpriority(os.PRIO_PROCESS, 0, 19)", "total = sum(range(10**10))",
                         "never = 1")
    busy = _saturate(60)
    try:
        with Sandbox() as box:
            box.work.mkdir()
            with executed(notebook, box, Limits(cell_timeout=3, notebook_timeout=60)) as run:
                pass
    finally:
        _stop(busy)
    if run.status == "graded":
        pytest.skip("the kernel was not starved on this machine (fewer busy processes than it takes)")
    assert run.status == "grader_slow" and run.reason.startswith("grader too slow, regrade"), run
    assert not notebook.cells[2].get("outputs")


def test_autograde_regrades_a_grader_slow_notebook_once(monkeypatch, tmp_path):
    from course import autograde as autograde_module
    from course.pipeline import NotebookResult

    calls = []

    def grade(path, **kwargs):
        calls.append(path)
        if len(calls) == 1:
            return NotebookResult("ada", path.stem, None, status="grader_slow", reason="grader too slow, regrade",
                                  seconds=3.0)
        return NotebookResult("ada", path.stem, None, status="graded", seconds=2.0)

    monkeypatch.setattr(autograde_module, "grade_notebook_file", grade)
    result = _job((str(tmp_path / "02_layers.ipynb"), "ada", "sqlite:///unused.db", str(tmp_path), Limits(), None))
    assert len(calls) == 2 and result.status == "graded" and result.seconds == 5.0


def test_limits_are_capped_per_notebook_and_scaled_by_the_machine_speed(monkeypatch):
    from course import calibration

    calibration.speed_factor.cache_clear()
    monkeypatch.setenv("COURSE_SPEED_FACTOR", "2.5")
    try:
        limits = Limits(cell_timeout=120, notebook_timeout=600, case_timeout=20).for_notebook("02_layers")
    finally:
        calibration.speed_factor.cache_clear()
    assert (limits.cell_timeout, limits.notebook_timeout, limits.case_timeout) == (25, 375, 50.0)
    assert Limits(cell_timeout=5).for_notebook("02_layers").cell_timeout <= 5 * calibration.speed_factor() + 1


def test_own_time_excludes_waiting_for_a_core():
    import os

    from course.calibration import KernelClock, available

    if not available():
        pytest.skip("no schedstat on this machine")
    import subprocess
    import sys

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(1.0)  # started and asleep
        clock = KernelClock(sleeper.pid)
        start = clock.read()
        time.sleep(0.5)
        assert 0.45 <= clock.own_since(start) <= 1.5  # sleeping is the process's own time
        assert clock.waited_since(start) < 0.05
    finally:
        sleeper.kill()
        sleeper.wait()
