"""Load test: the reference submission scores the same on an idle machine and with every core
saturated (two busy processes per core), under ``course autograde`` and the Gradescope zip.

Notebooks 2 and 4 (the layers every later notebook builds on, and the training recipes whose
hidden cases retrain a network: the cases a busy machine used to fail).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from course.autograde import autograde
from course.coursedir import init_course_dir
from course.release import release

pytestmark = pytest.mark.slow

NOTEBOOKS = ["02_layers.ipynb", "04_neural_networks.ipynb"]

BUSY = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@contextlib.contextmanager
def saturated(per_core: int = 2, seconds: float = 240) -> Iterator[list[subprocess.Popen]]:
    """``per_core`` busy processes per core; each stops by itself after ``seconds`` (or on exit)."""
    count = per_core * (os.cpu_count() or 1)
    busy = [subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=seconds)]) for _ in range(count)]
    try:
        yield busy
    finally:
        for process in busy:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("load")
    course_dir = init_course_dir(root / "course", keys=NOTEBOOKS)
    release(course_dir, jobs=2)
    submission = root / "reference"
    submission.mkdir()
    for name in NOTEBOOKS:
        shutil.copy2(course_dir / "source" / "backprop" / name, submission / name)
    target = course_dir / "submitted" / "reference" / "backprop"
    shutil.copytree(submission, target)
    return root, course_dir, submission


def _autograde_scores(course_dir: Path) -> tuple[dict, float]:
    started = time.monotonic()
    [report] = autograde(course_dir, jobs=2, force=True, progress=False)
    seconds = time.monotonic() - started
    return {name: (n.status, n.score, n.max_score) for name, n in report.notebooks.items()}, seconds


def test_course_autograde_scores_the_same_under_load(course):
    _, course_dir, _ = course
    idle, idle_seconds = _autograde_scores(course_dir)
    with saturated():
        loaded, loaded_seconds = _autograde_scores(course_dir)
    print(f"course autograde: idle {idle_seconds:.0f} s, loaded {loaded_seconds:.0f} s: {idle} / {loaded}")
    assert all(status == "graded" and score == maximum for status, score, maximum in idle.values()), idle
    assert loaded == idle


def test_gradescope_zip_scores_the_same_under_load(course, tmp_path, gradescope_root):
    from course.gradescope import build, run_local

    root, course_dir, submission = course
    zip_path = build(course_dir, root / "autograder.zip")
    started = time.monotonic()
    idle = run_local(zip_path, submission, keep=gradescope_root(zip_path, tmp_path / "idle"))
    idle_seconds = time.monotonic() - started
    loaded_root = gradescope_root(zip_path, tmp_path / "loaded")
    with saturated():
        started = time.monotonic()
        loaded = run_local(zip_path, submission, keep=loaded_root)
        loaded_seconds = time.monotonic() - started

    def scores(result: dict) -> dict:
        return {test["name"]: (test["score"], test["max_score"]) for test in result["tests"]}

    print(f"gradescope: idle {idle_seconds:.0f} s (with setup), loaded {loaded_seconds:.0f} s; "
          f"{idle['score']} / {loaded['score']}")
    assert idle["score"] == sum(m for _, m in scores(idle).values()), json.dumps(idle)[:2000]
    assert scores(loaded) == scores(idle) and loaded["score"] == idle["score"]
