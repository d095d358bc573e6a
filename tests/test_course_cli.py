"""The `course` command end to end on real files: demo pipeline, Gradescope zip, stock nbgrader.

Two notebooks keep this test to a few minutes; every subcommand runs on them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.paths import ASSIGNMENT

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["02_layers.ipynb", "03_affine_fitting.ipynb"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not all((REPO / "notebooks" / n).exists() for n in NOTEBOOKS), reason="notebooks missing")]


def _course(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "course.cli", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=1800, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, f"course {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from course.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo"), jobs=2, notebooks=NOTEBOOKS)


def _rows(course_dir: Path) -> dict[str, dict[str, str]]:
    with open(course_dir / "grades.csv") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_demo_grades_make_sense(demo):
    rows = _rows(demo)
    assert set(rows) == {"reference", "untouched", "partial", "buggy", "broken"}
    total = {s: float(r["total"]) for s, r in rows.items()}
    maximum = float(rows["reference"]["max"])
    report = json.loads((demo / "autograded" / "reference" / ASSIGNMENT / "grading_report.json").read_text())
    auto_max = sum(n["max_score"] for n in report["notebooks"].values())
    assert total["reference"] == auto_max and auto_max <= maximum
    assert total["untouched"] == 0
    assert 0 < total["partial"] < total["reference"]
    assert 0 < total["buggy"] < total["reference"]
    assert rows["broken"]["error"] == "True" and "not a valid notebook" in rows["broken"]["reasons"]
    assert rows["reference"]["error"] == "False"
    # written answers nobody graded yet are pending, never 0
    assert rows["reference"]["02_layers:vanishing_written"] == "pending"
    assert float(rows["reference"]["pending_points"]) == 30  # notebooks 2 (24) and 3 (6)
    assert rows["broken"]["02_layers:vanishing_written"] != "pending"  # an invalid notebook has no answer
    # one maximum per notebook, whatever its status
    broken = json.loads((demo / "autograded" / "broken" / ASSIGNMENT / "grading_report.json").read_text())
    assert {n: r["max_score"] for n, r in broken["notebooks"].items()} == \
        {n: r["max_score"] for n, r in report["notebooks"].items()}


def test_feedback_has_no_hidden_test_source(demo):
    pages = list((demo / "feedback").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text()
        assert "run_hidden_tests" not in text and "BEGIN HIDDEN TESTS" not in text


def test_feedback_is_self_contained_and_marks_pending(demo):
    _course("feedback", cwd=demo)  # the instructor's command (the demo's own feedback ran before formgrader)
    page = (demo / "feedback" / "reference" / ASSIGNMENT / "02_layers.html").read_text()
    assert "<script" not in page and "cdnjs" not in page and "MathJax.js" not in page and "latest.js" not in page
    assert "<math" in page and "$$" not in page


def test_feedback_for_one_student(demo):
    """`course feedback --student ID` rewrites that student's pages only; a wrong id says what to do."""
    pages = {p: p.stat().st_mtime_ns for p in (demo / "feedback").rglob("*.html")}
    _course("feedback", "--student", "partial", cwd=demo)
    changed = {p.relative_to(demo / "feedback").parts[0] for p in (demo / "feedback").rglob("*.html")
               if p.stat().st_mtime_ns != pages.get(p)}
    assert changed == {"partial"}
    result = subprocess.run([sys.executable, "-m", "course.cli", "feedback", "--student", "nobody"], cwd=demo,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "'nobody' has no autograded submission" in result.stdout + result.stderr


def test_feedback_marks_pending_written_answers(demo):
    """Every score of a written answer nobody graded yet reads pending: headings, contents, total."""
    page = (demo / "feedback" / "reference" / ASSIGNMENT / "02_layers.html").read_text()
    assert "pending: graded by hand later" in page and "Score: 0.0 / 3.0" not in page
    assert page.count('id="toc"') == 1  # nbgrader's own table of contents (no pending) is not rendered
    assert "24.0 points of written answers pending" in page


def test_autograde_is_resumable_and_forced(demo):
    result = _course("autograde", "--jobs", "2", cwd=demo)
    assert "5 unchanged submission(s) skipped" in result.stdout
    stamp = demo / "submitted" / "partial" / ASSIGNMENT / "timestamp.txt"
    stamp.write_text("2026-11-23 10:00:00.000000 UTC")
    result = _course("autograde", "--jobs", "2", cwd=demo)
    assert "graded 1 submission(s)" in result.stdout


def test_export_late_policy(demo, tmp_path):
    _course("export", "--output", str(tmp_path / "late.csv"), "--due", "2026-01-01T00:00",
            "--late-policy", "zero", cwd=demo)
    with open(tmp_path / "late.csv") as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    assert all(float(r["total"]) == 0 and r["late"] == "True" for r in rows.values())


def test_formgrader_instructions(demo):
    assert "Formgrader" in _course("formgrader", cwd=demo).stdout


def test_gradescope_results_have_one_maximum_and_say_what_was_ignored(demo):
    from types import SimpleNamespace

    from course.gradescope import results_json

    def report(student):
        data = json.loads((demo / "autograded" / student / ASSIGNMENT / "grading_report.json").read_text())
        return SimpleNamespace(notebooks={n: SimpleNamespace(**r) for n, r in data["notebooks"].items()})

    full = results_json(demo, "reference", report("reference"), ["02_layers.ipynb", "03_affine_fitting.ipynb"])
    empty = results_json(demo, "broken", report("broken"), [], ["layers_final.ipynb"])
    maximum = sum(t["max_score"] for t in full["tests"])
    assert maximum == sum(t["max_score"] for t in empty["tests"])
    assert full["score"] == maximum and empty["score"] == 0
    assert "Files not graded: layers_final.ipynb" in empty["output"]
    assert "Expected file names: 02_layers.ipynb, 03_affine_fitting.ipynb" in empty["output"]
    assert "Written answers (30 points) are graded by hand later" in full["output"]
    assert full["output_format"] == "text"
    assert all("Hidden tests run when" not in t["output"] for t in full["tests"])
    assert all(t["output"].startswith("passed") for t in full["tests"])


def test_gradescope_zip_gives_the_same_scores(demo, tmp_path, gradescope_root):
    zip_path = tmp_path / "autograder.zip"
    _course("gradescope", "build", "--output", str(zip_path),
            *([] if os.environ.get("HWLIB_CIFAR10") else ["--without-data"]), cwd=demo)
    from course.gradescope import run_local

    root = gradescope_root(zip_path, tmp_path / "root")
    result = run_local(zip_path, demo / "submitted" / "buggy" / ASSIGNMENT, keep=root)
    report = json.loads((demo / "autograded" / "buggy" / ASSIGNMENT / "grading_report.json").read_text())
    assert result["score"] == pytest.approx(sum(n["score"] for n in report["notebooks"].values()))
    names = {t["name"] for t in result["tests"]}
    assert any(n.startswith("02_layers:") for n in names)


def test_stock_nbgrader_agrees(demo, tmp_path):
    """Stock `nbgrader autograde` on a copy of the course gives the same scores."""
    copy = tmp_path / "stock"
    shutil.copytree(demo, copy, ignore=shutil.ignore_patterns("autograded", "feedback"))
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=copy,
                   capture_output=True, text=True, timeout=1800, env={**os.environ, "MPLBACKEND": "Agg",
                                                                        "COURSE_DIR": str(copy)})
    from nbgrader.api import Gradebook

    def scores(course_dir: Path) -> dict[str, float]:
        with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
            return {s.id: gradebook.find_submission(ASSIGNMENT, s.id).score for s in gradebook.students}

    ours, stock = scores(demo), scores(copy)
    for student in ("reference", "untouched", "partial", "buggy"):
        assert stock[student] == pytest.approx(ours[student]), student


def test_malformed_submissions_end_as_zero_rows_with_reasons(demo):
    """A 50 MB notebook, a notebook from another course and a wrongly named file: 0 and a reason each."""
    import nbformat

    folder = demo / "submitted" / "malformed" / ASSIGNMENT
    folder.mkdir(parents=True)
    huge = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x" * (50 * 2**20))])
    nbformat.write(huge, str(folder / "02_layers.ipynb"))
    foreign = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert True")])
    foreign.cells[0].metadata["nbgrader"] = {"grade": True, "grade_id": "other_course_q1", "points": 5,
                                             "solution": False, "locked": True, "schema_version": 3}
    nbformat.write(foreign, str(folder / "03_affine_fitting.ipynb"))
    nbformat.write(foreign, str(folder / "03_affine_fitting_final_v2.ipynb.bak"))
    _course("autograde", "--jobs", "2", "--student", "malformed", cwd=demo)
    report = json.loads((demo / "autograded" / "malformed" / ASSIGNMENT / "grading_report.json").read_text())
    layers, affine = report["notebooks"]["02_layers"], report["notebooks"]["03_affine_fitting"]
    assert layers["score"] == 0 and "over the 20 MB limit" in layers["reason"]
    assert affine["score"] == 0 and "another course" in affine["reason"]
    _course("export", "--output", "grades.csv", cwd=demo)
    row = _rows(demo)["malformed"]
    assert float(row["total"]) == 0 and row["error"] == "True"


def test_grader_side_failures_are_retried_without_force(demo):
    path = demo / "autograded" / "broken" / ASSIGNMENT / "grading_report.json"
    report = json.loads(path.read_text())
    report["notebooks"]["03_affine_fitting"]["status"] = "grader_error"
    path.write_text(json.dumps(report))
    result = _course("autograde", "--jobs", "1", cwd=demo)
    assert "retrying 1 submission(s)" in result.stdout and "graded 1 submission(s)" in result.stdout
    assert json.loads(path.read_text())["notebooks"]["03_affine_fitting"]["status"] == "invalid"


def test_export_refuses_stale_grades(demo, tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(demo, copy)
    spec = next((copy / "autograder" / "tests").glob("layers.py"))
    spec.write_text(spec.read_text() + "\n# changed after grading\n")
    result = subprocess.run([sys.executable, "-m", "course.cli", "export", "--output", "new.csv"], cwd=copy,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and not (copy / "new.csv").exists()
    assert "source notebooks or hidden tests changed after grading" in result.stderr
    assert "run `course autograde`" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_student_html_and_javascript_are_sanitised(demo):
    """A student's <script>, <img onerror> and Javascript outputs reach neither the formgrader's notebook
    nor the feedback page; the score is unaffected."""
    import nbformat

    folder = demo / "submitted" / "mallory" / ASSIGNMENT
    folder.mkdir(parents=True)
    notebook = nbformat.read(str(demo / "source" / ASSIGNMENT / "02_layers.ipynb"), as_version=4)
    notebook.cells.insert(3, nbformat.v4.new_code_cell(
        "from IPython.display import HTML, Javascript, display\n"
        "display(HTML('<script>document.title=\"pwned\"</script><img src=x onerror=\"alert(1)\">'))\n"
        "display(Javascript('alert(2)'))"))
    nbformat.write(notebook, str(folder / "02_layers.ipynb"))
    _course("autograde", "--jobs", "1", "--student", "mallory", cwd=demo)
    _course("feedback", cwd=demo)
    graded = nbformat.read(str(demo / "autograded" / "mallory" / ASSIGNMENT / "02_layers.ipynb"), as_version=4)
    outputs = json.dumps([cell.get("outputs", []) for cell in graded.cells])
    page = (demo / "feedback" / "mallory" / ASSIGNMENT / "02_layers.html").read_text()
    assert "<script" not in outputs and "<img src=x" not in outputs and "application/javascript" not in outputs
    assert "<script" not in page and "<img src=x" not in page  # the code itself is shown escaped
    assert "&lt;script&gt;" in page  # shown as text, not run
    report = json.loads((demo / "autograded" / "mallory" / ASSIGNMENT / "grading_report.json").read_text())
    reference = json.loads((demo / "autograded" / "reference" / ASSIGNMENT / "grading_report.json").read_text())
    assert report["notebooks"]["02_layers"]["score"] == reference["notebooks"]["02_layers"]["score"]


def test_a_grading_worker_takes_only_the_first_ctrl_c():
    """Ctrl-C reaches a worker twice (from the terminal and from the pool): the second must not cut
    short the clean-up of the job's kernel and sandbox that the first one started."""
    program = (
        "import os, signal, time\n"
        "from course.autograde import _interrupt_job\n"
        "signal.signal(signal.SIGINT, _interrupt_job)\n"
        "cleaned = False\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, during the clean-up\n"
        "    time.sleep(0.2)\n"
        "    cleaned = True\n"
        "print('cleaned' if cleaned else 'cut short', flush=True)\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "cleaned", (done.stdout, done.returncode)


def test_ctrl_c_stops_autograde_quickly_and_keeps_grades(demo, tmp_path):
    import signal
    import tempfile
    import time
    import uuid

    copy = tmp_path / "course"
    shutil.copytree(demo, copy)
    marker = f"marker-{uuid.uuid4().hex}.npz"
    for submission in (copy / "submitted").glob(f"*/{ASSIGNMENT}"):
        (submission / marker).write_bytes(b"")
    before = {p.name: p.read_text() for p in (copy / "autograded").glob(f"*/{ASSIGNMENT}/grading_report.json")}
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "course.cli", "autograde", "--jobs", "2"], cwd=copy,
                                   stdout=out, stderr=err, start_new_session=True,
                                   env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(Path(tempfile.gettempdir()).glob(f"sandbox-*/work/{marker}")):
        time.sleep(0.5)
    time.sleep(2)  # kernels are running
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    interrupted = time.monotonic()
    process.wait(timeout=60)  # the command has returned (the terminal prompt is back)
    stopped = time.monotonic() - interrupted
    stderr = err_path.read_text()
    print(f"stopped {stopped:.1f} s after Ctrl-C")
    assert process.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "interrupted:" in stderr
    assert stopped < 10  # 5 s on an idle machine; this allows for a loaded CI machine
    time.sleep(1)
    assert not list(Path(tempfile.gettempdir()).glob(f"sandbox-*/work/{marker}")), "sandbox folders left behind"
    for report in (copy / "autograded").glob(f"*/{ASSIGNMENT}/grading_report.json"):
        json.loads(report.read_text())  # every saved report is whole
    assert len(list((copy / "autograded").glob(f"*/{ASSIGNMENT}/grading_report.json"))) >= len(before)
