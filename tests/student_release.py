"""A fresh student release for the browser and Colab tests (built once per test module)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: What a release is built from: a change in any of these builds a fresh one.
RELEASE_INPUTS = ["notebooks", "src", "autograder", "data", "pyproject.toml", "requirements.txt"]


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for top in RELEASE_INPUTS:
        path = REPO / top
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc" or not file.exists():
                continue
            digest.update(str(file.relative_to(REPO)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def build_release(folder: Path) -> Path:
    """The student zip of ``course init`` + ``course release --skip-execution-check``.

    Built once per version of the course's sources and shared by the test modules that need it
    (the browser and Colab tests, often on two xdist workers at once: a file lock makes the second
    wait for the first); ``folder`` receives a copy. ``COURSE_TEST_RELEASE_ZIP`` names an already
    built zip to use instead (to iterate on a test quickly).
    """
    prebuilt = os.environ.get("COURSE_TEST_RELEASE_ZIP")
    if prebuilt:
        return Path(prebuilt)
    shared = Path(tempfile.gettempdir()) / f"course-test-release-{_inputs_digest()}"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = shared / "backprop-student.zip"
        if not built.exists():
            zip_path = _build(shared / "build")
            shutil.copy2(zip_path, built.with_suffix(".part"))
            built.with_suffix(".part").rename(built)
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(built, folder / built.name))


def _build(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    course = folder / "course"
    for args in (["init", str(course)], ["release", "--skip-execution-check"]):
        done = subprocess.run([sys.executable, "-m", "course.cli", *args], cwd=folder if args[0] == "init" else course,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return course / "release" / "backprop-student.zip"


def unpack(zip_path: Path, target: Path) -> Path:
    """Unzip the student zip into ``target``; returns the ``backprop`` folder."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(target)
    return target / "backprop"
