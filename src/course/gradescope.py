"""Gradescope: build an autograder zip, grade inside the container, run the zip locally.

The zip follows Gradescope's autograder specification: ``setup.sh`` and
``run_autograder`` at the top, everything else unpacked under
``/autograder/source``. Inside it:

* ``pkg/`` - this project (``hwlib`` + ``course``), installed by ``setup.sh``
  into a virtualenv;
* ``course/`` - a course directory: the source notebooks, the hidden-test cases,
  nbgrader's configuration and a gradebook holding only the assignment;
* ``data/`` - the CIFAR-10 archive the notebooks and the leaderboard use.

``run_autograder`` calls ``course gradescope grade``, which grades
``/autograder/submission`` with the same pipeline as ``course autograde`` and
writes ``/autograder/results/results.json``: one test per autograded question
and a leaderboard entry with the test accuracy of the submitted model.
``AUTOGRADER_ROOT`` replaces ``/autograder`` so ``course gradescope run`` can
stand a temporary folder in for the container.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from course.autograde import GRADER_STATUSES as _GRADER_SIDE
from course.paths import ASSIGNMENT

REPO = Path(__file__).resolve().parents[2]
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${COURSE_LOCAL_RUN:-}" ]; then
  apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip graphviz >/dev/null
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install -q --upgrade pip
"$ROOT/venv/bin/python" -m pip install -q "$ROOT/source/pkg[instructor]"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$ROOT/results"
if [ -f "$ROOT/source/data/cifar-10-python.tar.gz" ]; then
  export HWLIB_CIFAR10="$ROOT/source/data/cifar-10-python.tar.gz"
fi
if [ -d "$ROOT/source/data/mnist" ]; then
  export HWLIB_MNIST="$ROOT/source/data/mnist"
fi
export HWLIB_DATA_DIR="$ROOT/cache"
# Gradescope's default container has 768 MB: the grader (about 240 MB) and one kernel of at most
# 512 MB of data (notebook 4's reference peaks at 435). A kernel over it gets MemoryError; if the container
# still runs out, the kernel is the one the OOM killer takes (see course.sandbox_exec).
export COURSE_SANDBOX_MEMORY_MB="${COURSE_SANDBOX_MEMORY_MB:-512}"
# Gradescope stops a container after 600 s by default: grading stops at 500 s, so results.json
# is written, with a reason for whatever did not run.
export COURSE_SUBMISSION_TIMEOUT="${COURSE_SUBMISSION_TIMEOUT:-500}"
# Student kernels must not see the autograder's files, the results or the original submission.
export COURSE_SANDBOX_HIDE="$ROOT/source:$ROOT/results:$ROOT/submission:$ROOT/cache"
cd "$ROOT/source/course"
"$ROOT/venv/bin/course" gradescope grade --course-dir "$ROOT/source/course" \
  --submission "$ROOT/submission" --results "$ROOT/results/results.json"
"""


def build(course_dir: Path, target: Path, *, cifar_archive: Path | None = None,
          without_data: bool = False) -> Path:
    """Write the autograder zip for a released course directory.

    The CIFAR-10 archive (``cifar_archive``, default ``$HWLIB_CIFAR10``) goes into the zip; without
    one, ValueError says how to give it, unless ``without_data`` (every container then downloads
    the official 163 MB archive). The zip is written next to ``target`` and renamed into place, so
    a failed build leaves no partial zip.
    """
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "gradebook.db").exists():
        raise FileNotFoundError(f"{course_dir} has no gradebook.db: run `course release` first")
    cifar_archive = cifar_archive or (Path(os.environ["HWLIB_CIFAR10"]) if os.environ.get("HWLIB_CIFAR10") else None)
    if cifar_archive is not None and not cifar_archive.is_file():
        raise ValueError(f"the CIFAR-10 archive {cifar_archive} (--cifar or $HWLIB_CIFAR10) is not a file: give the "
                         f"cifar-10-python.tar.gz to include")
    if cifar_archive is None and not without_data:
        raise ValueError("no CIFAR-10 archive to put in the zip: pass --cifar /path/to/cifar-10-python.tar.gz "
                         "(or set HWLIB_CIFAR10), or --without-data to let every container download 163 MB")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        _write_zip(course_dir, partial, cifar_archive)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _write_zip(course_dir: Path, target: Path, cifar_archive: Path | None) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            archive.writestr(info, text)
        for path in [REPO / "pyproject.toml", REPO / "README.md", *(REPO / "src").rglob("*")]:
            if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
                archive.write(path, f"pkg/{path.relative_to(REPO)}")
        archive.write(course_dir / "nbgrader_config.py", "course/nbgrader_config.py")
        with tempfile.TemporaryDirectory(prefix="gradebook-") as scratch:
            copy = Path(scratch) / "gradebook.db"
            shutil.copy2(course_dir / "gradebook.db", copy)
            _gradebook_only_assignment(copy)
            archive.write(copy, "course/gradebook.db")
        for folder in (course_dir / "source" / ASSIGNMENT, course_dir / "autograder" / "tests"):
            for path in sorted(folder.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, f"course/{path.relative_to(course_dir)}")
        if cifar_archive is not None:
            archive.write(cifar_archive, "data/cifar-10-python.tar.gz")
        from course.kernel_data import _mnist_files

        for path in _mnist_files():  # $HWLIB_MNIST or the cache: the kernels of notebook 7 read them
            archive.write(path, f"data/mnist/{path.name}")


def _gradebook_only_assignment(database: Path) -> None:
    """Drop students and submissions from a gradebook copy (none belong in the zip)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{database}") as gradebook:
        for student in list(gradebook.students):
            gradebook.remove_student(student.id)


def grade(course_dir: Path, submission: Path, results: Path, *, student: str = "gradescope") -> dict[str, Any]:
    """Grade one Gradescope submission with the ``course autograde`` pipeline; write results.json."""
    from course.autograde import autograde
    from course.pipeline import Limits
    from course.collect import notebook_of

    started = time.monotonic()
    course_dir = Path(course_dir).resolve()
    target = course_dir / "submitted" / student / ASSIGNMENT
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    placed: list[str] = []
    ignored: list[str] = []
    # An exact file name wins over a copy ("02_layers (1).ipynb"), whatever the sort order.
    files = [p for p in Path(submission).rglob("*") if p.is_file()]
    for path in sorted(files, key=lambda p: (notebook_of(p.name) != p.name, len(p.parts), str(p))):
        name = notebook_of(path.name)
        shown = path.relative_to(submission).as_posix()
        if name and not (target / name).exists():
            shutil.copy2(path, target / name)
            placed.append(name)
            if name != path.name:
                ignored.append(f"{shown} (graded as {name})")
        elif path.suffix == ".npz" and not (target / path.name).exists():
            shutil.copy2(path, target / path.name)
        elif name:
            ignored.append(f"{shown} (another copy of {name}; the one named exactly {name} was graded)")
        else:
            ignored.append(shown)
    try:
        # One notebook at a time, in this process, unless $COURSE_JOBS asks for workers: the
        # container's memory (768 MB by default) holds one grader and one kernel, not more.
        jobs = max(1, int(os.environ.get("COURSE_JOBS", "1")))
        # Gradescope stops the container after 10 minutes by default: stop grading in time to
        # write results.json (run_autograder sets $COURSE_SUBMISSION_TIMEOUT), counted from now.
        limits = Limits.from_env()
        if limits.submission_timeout is not None:
            limits = dataclasses.replace(limits, deadline=started + limits.submission_timeout)
        reports = autograde(course_dir, jobs=jobs, force=True, students=[student], progress=False,
                            limits=limits, in_process=jobs == 1)
        result = results_json(course_dir, student, reports[0] if reports else None, placed, ignored)
    except Exception as error:  # the container must always leave a results file
        result = {"score": 0.0, "output": f"The autograder failed: {type(error).__name__}: {error}", "tests": []}
    result["execution_time"] = round(time.monotonic() - started, 1)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=1))
    return result


#: What the public test cells print about hidden tests, which have run by the time results.json is written.
_PUBLIC_ONLY = " Hidden tests run when your notebook is graded."


def _test_output(text: str, score: float, maximum: float, status: Any) -> str:
    """A test's output, worded for a graded notebook."""
    text = text.replace(_PUBLIC_ONLY, "").strip()
    if status is not None and status.status != "graded":
        text = f"{status.reason}\n{text}".strip()
    verdict = f"passed: {score:g}/{maximum:g} points" if score >= maximum else f"{score:g}/{maximum:g} points"
    return f"{verdict}\n{text}".strip()


def results_json(course_dir: Path, student: str, report: Any, placed: list[str],
                 ignored: list[str] | None = None) -> dict[str, Any]:
    """Gradescope's results.json: one test per autograded question of every course notebook
    (submitted or not, so the maximum is the same for everyone), plus the leaderboard.

    Written answers are graded by hand later: the output names them and their points.
    Outputs are plain text (``output_format: text``), so nothing a student printed renders as HTML.
    """
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    tests = []
    written: list[str] = []
    written_points = 0.0
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        assignment = gradebook.find_assignment(ASSIGNMENT)
        for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
            manual = {cell.name for cell in notebook.solution_cells}
            outputs = _cell_outputs(course_dir / "autograded" / student / ASSIGNMENT / f"{notebook.name}.ipynb",
                                    nbformat)
            status = report.notebooks.get(notebook.name) if report else None
            for cell in notebook.grade_cells:  # in notebook order
                if cell.name in manual:  # written answers: graded by hand
                    written.append(f"{notebook.name}: {cell.name} ({cell.max_score:g})")
                    written_points += cell.max_score
                    continue
                try:
                    score = float(gradebook.find_grade(cell.name, notebook.name, ASSIGNMENT, student).auto_score or 0)
                except MissingEntry:
                    score = 0.0
                tests.append({
                    "name": f"{notebook.name}: {cell.name}",
                    "score": score,
                    "max_score": float(cell.max_score),
                    "output": _test_output(outputs.get(cell.name, ""), score, cell.max_score, status)[:8000],
                    "visibility": "visible",
                })
    expected = [f"{n.name}.ipynb" for n in sorted(assignment.notebooks, key=lambda n: n.name)]
    missing = [name for name in expected if name not in placed]
    lines = ["Notebooks graded: " + (", ".join(sorted(placed)) or "none")]
    if missing:
        lines.append("Not found in the submission (scored 0): " + ", ".join(missing))
    if ignored:
        lines.append("Files not graded: " + "; ".join(ignored))
    if missing or ignored:
        lines.append("Expected file names: " + ", ".join(expected))
    if written:
        lines.append(f"Written answers ({written_points:g} points) are graded by hand later by the course staff "
                     f"and are not part of this score: " + ", ".join(written))
    if report is not None:
        lines += [f"{name}: {n.reason}" for name, n in report.notebooks.items() if n.status in _GRADER_SIDE]
    result: dict[str, Any] = {"score": round(sum(t["score"] for t in tests), 4), "output": "\n".join(lines),
                              "output_format": "text", "test_output_format": "text",
                              "tests": tests, "visibility": "visible"}
    accuracy = leaderboard_accuracy(course_dir / "autograded" / student / ASSIGNMENT / "best_model.npz")
    if accuracy is not None:
        result["leaderboard"] = [{"name": "Test accuracy", "value": round(accuracy, 4), "order": "desc"}]
    else:
        result["output"] += ("\nNo leaderboard entry: submit best_model.npz (written by notebook 04) to get "
                             "your model's test accuracy on the leaderboard")
    return result


def _cell_outputs(path: Path, nbformat: Any) -> dict[str, str]:
    """grade_id -> the text outputs of that cell in an autograded notebook."""
    if not path.exists():
        return {}
    notebook = nbformat.read(str(path), as_version=4)
    texts = {}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.cell_type == "code":
            parts = [o.get("text", "") if o.output_type == "stream" else o.get("evalue", "")
                     for o in cell.get("outputs", []) if o.output_type in ("stream", "error")]
            texts[grade_id] = "".join(parts)
    return texts


def leaderboard_accuracy(model_path: Path) -> float | None:
    """Test accuracy of a submitted model, evaluated here with the reference classes.

    The file is read with ``allow_pickle=False``; a model that cannot be loaded
    simply has no leaderboard entry.
    """
    if not model_path.exists():
        return None
    try:
        from course import reference
        from hwlib.classifier import Classifier, accuracy, read_metadata
        from hwlib.cifar import load_cifar10
        from hwlib.preprocess import preprocess_cifar

        meta = read_metadata(model_path)
        networks = reference.load("networks")
        cls = getattr(networks, meta["class"])
        model = Classifier.load_from(model_path, cls)
        data = preprocess_cifar(load_cifar10())
        return float(accuracy(model, data["X_test"], data["y_test"]))
    except Exception:
        return None


def validate_results(result: Any) -> list[str]:
    """Problems with a results.json object against Gradescope's specification."""
    problems = []
    if not isinstance(result, dict):
        return ["results.json must hold a JSON object"]
    if "score" not in result and not all("score" in t for t in result.get("tests", [])):
        problems.append("either a top-level score or a score in every test is required")
    if "score" in result and not isinstance(result["score"], (int, float)):
        problems.append("score must be a number")
    if "execution_time" in result and not isinstance(result["execution_time"], (int, float)):
        problems.append("execution_time must be a number")
    if result.get("visibility", "visible") not in VISIBILITIES:
        problems.append(f"visibility must be one of {sorted(VISIBILITIES)}")
    for index, test in enumerate(result.get("tests", [])):
        where = f"tests[{index}]"
        if not isinstance(test, dict):
            problems.append(f"{where} must be an object")
            continue
        for key, kinds in (("score", (int, float)), ("max_score", (int, float)), ("name", str), ("output", str)):
            if key in test and not isinstance(test[key], kinds):
                problems.append(f"{where}.{key} has the wrong type")
        if isinstance(test.get("score"), (int, float)) and isinstance(test.get("max_score"), (int, float)):
            if not 0 <= test["score"] <= test["max_score"]:
                problems.append(f"{where}.score is outside [0, max_score]")
        if test.get("visibility", "visible") not in VISIBILITIES:
            problems.append(f"{where}.visibility is not allowed")
    for index, entry in enumerate(result.get("leaderboard", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or "value" not in entry:
            problems.append(f"leaderboard[{index}] needs a name and a value")
        elif entry.get("order", "desc") not in ("asc", "desc"):
            problems.append(f"leaderboard[{index}].order must be asc or desc")
    return problems


#: Gradescope's default memory per container.
GRADESCOPE_MEMORY_MB = 768


def run_local(zip_path: Path, submission: Path, *, keep: Path | None = None,
              memory_mb: int | None = GRADESCOPE_MEMORY_MB) -> dict[str, Any]:
    """Run an autograder zip the way Gradescope's container does, in a temporary root.

    ``setup.sh`` installs into a fresh virtualenv under the root, then
    ``run_autograder`` grades a copy of ``submission``, limited to ``memory_mb`` like the
    container (where a memory cgroup can be made: root on Linux; None: no limit). Returns
    results.json, after checking it against the specification (ValueError lists problems).
    The temporary root (about 540 MB: a virtualenv and the data) is deleted afterwards;
    ``keep`` names a folder to use and keep instead (its virtualenv is reused next time).
    """
    from course.memory_cgroup import memory_cgroup

    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="gradescope-"))
    try:
        return _run_in(root, zip_path, submission, memory_mb, memory_cgroup)
    finally:
        if keep:
            print(f"container root kept in {root} (results in {root / 'results'}; delete it when done)")
        else:
            shutil.rmtree(root, ignore_errors=True)
            print(f"removed the temporary container root {root} (pass --keep FOLDER to keep it)")


def _container_env(root: Path) -> dict[str, str]:
    """The environment of ``setup.sh`` and ``run_autograder`` in container root ``root``."""
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_LOCAL_RUN": "1"}
    for variable in ("COURSE_DIR", "COURSE_AUTOGRADER_DIR", "COURSE_SOURCE_DIR", "VIRTUAL_ENV"):
        env.pop(variable, None)
    return env


def _unpack(zip_path: Path, root: Path) -> Path:
    """Unpack the zip into ``root/source`` (Gradescope's ``/autograder/source``); returns that folder."""
    source = root / "source"
    source.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{zip_path} is not a readable autograder zip ({error}): build it again with "
                         f"`course gradescope build`") from None
    return source


def install(zip_path: Path, root: Path) -> Path:
    """Gradescope's image build: unpack the zip under container root ``root`` and run its
    ``setup.sh`` unless ``root/venv`` already holds the kit. Returns the virtualenv."""
    source = _unpack(zip_path, root)
    if not (root / "venv" / "bin" / "course").exists():
        subprocess.run(["bash", str(source / "setup.sh")], env=_container_env(root), check=True)
    return root / "venv"


def _run_in(root: Path, zip_path: Path, submission: Path, memory_mb: int | None, memory_cgroup: Any) -> dict[str, Any]:
    """:func:`run_local` inside the container root ``root``."""
    install(zip_path, root)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    if (root / "submission").exists():
        shutil.rmtree(root / "submission")
    shutil.copytree(submission, root / "submission")
    env = _container_env(root)
    with memory_cgroup(memory_mb) if memory_mb else contextlib.nullcontext() as group:
        subprocess.run(["bash", str(root / "run_autograder")], env=env, check=False,
                       preexec_fn=group.enter if group is not None else None)
        if group is not None:
            peak = group.peak_mb()
            print(f"container memory: limited to {memory_mb} MB, peak " + (f"{peak:.0f} MB" if peak else "unknown"))
        elif memory_mb:
            print(f"container memory: not limited to {memory_mb} MB here (that needs root and a memory cgroup)")
    results_path = root / "results" / "results.json"
    if not results_path.exists():
        raise ValueError("run_autograder wrote no results/results.json")
    result = json.loads(results_path.read_text())
    problems = validate_results(result)
    if problems:
        raise ValueError("results.json does not follow Gradescope's specification:\n" + "\n".join(problems))
    return result

