"""A fresh student release for the browser and Colab tests (built once per test module)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_release(folder: Path) -> Path:
    """``course init`` + ``course release --skip-execution-check`` in ``folder``; returns the student zip.

    ``COURSE_TEST_RELEASE_ZIP`` names an already built zip to use instead (to iterate on a test quickly).
    """
    prebuilt = os.environ.get("COURSE_TEST_RELEASE_ZIP")
    if prebuilt:
        return Path(prebuilt)
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
