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
    assert any(o.get("output_type") == "error" for o in notebook.cells[1].outputs)  # interrupted
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
