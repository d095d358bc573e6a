"""``course release``: generate the student version, prove it leaks nothing, bundle it.

Steps: nbgrader ``generate_assignment``; a text-level leak check of every
release notebook against its source (:mod:`course.leakcheck`); an execution
check (each release notebook runs, and the only failures are unanswered
questions raising NotImplementedError); a zip for students (notebooks, a wheel
of the ``hwlib`` helper package, requirements, a Colab set-up script and a
README with one set-up step per platform), ready to unpack locally or on Colab.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from course.workers import pool as worker_pool
from pathlib import Path

import nbformat

from course.grading import execute
from course.leakcheck import check_release
from course.paths import ASSIGNMENT
from hwlib.unanswered import assigned_names

HWLIB = Path(__file__).resolve().parents[1] / "hwlib"

#: The student's Python dependencies (hwlib's, as in pyproject.toml) plus JupyterLab and its kernel.
#: Never nbgrader: students must not see its instructor tools (Validate, Create Assignment, the menu).
HWLIB_DEPENDENCIES = ("numpy>=1.24", "matplotlib>=3.7", "ipywidgets>=8.0", "ipython>=8.0", "tqdm>=4.60",
                      "threadpoolctl>=3.1", "graphviz>=0.20", "nbformat>=5.9")
HWLIB_VERSION = "0.1.0"
WHEEL_NAME = f"hwlib-{HWLIB_VERSION}-py3-none-any.whl"
STUDENT_REQUIREMENTS = f"./{WHEEL_NAME}\njupyterlab>=4\nipykernel>=6\n"

#: What the first cell of every notebook runs on Colab (``%run``): install the wheel, move into the folder.
COLAB_SETUP = '''"""Colab set-up of the backprop course, run by the first cell of every notebook.

Installs hwlib from the wheel in this folder (once per Colab session) and makes
this folder the working folder, so notebooks that reuse earlier ones read your
own edited copies here in Drive.
"""
import importlib
import importlib.metadata
import os
import subprocess
import sys

folder = os.path.dirname(os.path.abspath(__file__))
wheel = os.path.join(folder, "{wheel}")
if not os.path.exists(wheel):
    raise FileNotFoundError(f"{{wheel}} is missing: upload the whole course folder from the course zip to My Drive")
try:
    installed = importlib.metadata.version("hwlib")
except importlib.metadata.PackageNotFoundError:
    installed = None
if installed != "{version}":
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", wheel], check=True)
    importlib.invalidate_caches()
os.chdir(folder)
print(f"course folder: {{folder}} (hwlib {version})")
'''.format(wheel=WHEEL_NAME, version=HWLIB_VERSION)

#: The cell a Colab student pastes into a new notebook, once: unpacks the zip into My Drive/backprop.
COLAB_UNPACK_CELL = f"""from google.colab import drive; drive.mount("/content/drive")
import os, zipfile; os.chdir("/content/drive/MyDrive")
if not os.path.exists("{ASSIGNMENT}"): zipfile.ZipFile("{ASSIGNMENT}-student.zip").extractall(".")
print(sorted(os.listdir("{ASSIGNMENT}")))"""

STUDENT_README = """# Backpropagation course: student folder

Work through the notebooks in numerical order (01, 02, ...). Each question shows its points;
run the test cell under each answer to check your work. Hidden tests run when the
course staff grade your submission. Until you answer a question, its cells say
"Qn.m `name` is not answered yet", and *Run All* runs every cell that does not
need that answer.

Keep all notebooks (and best_model.npz, written by notebook 04) in this folder:
later notebooks reuse what you wrote in earlier ones.

## On your own computer (Python 3.10 or newer)

In a terminal, in this folder, run this one command (it makes a `.venv` folder with
JupyterLab and the course's helpers, then opens JupyterLab):

    python3 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt && .venv/bin/jupyter lab

On Windows:

    py -m venv .venv && .venv\\Scripts\\python -m pip install -r requirements.txt && .venv\\Scripts\\jupyter lab

Next time, `.venv/bin/jupyter lab` (Windows: `.venv\\Scripts\\jupyter lab`) is enough.

## On Google Colab

1. Upload `{assignment}-student.zip` (this zip, unopened) to **My Drive** in Google Drive.
2. Open a new Colab notebook, paste this into its first cell and run it (allow access to
   your Drive when asked). It unpacks the course into `My Drive/{assignment}` (never over
   an existing folder):

```python
{unpack}
```

3. In Google Drive, open `My Drive/{assignment}/01_computational_graphs.ipynb` with
   Google Colaboratory and run its first cell: on Colab it mounts your Drive, installs
   the course's helpers (`hwlib`, from the wheel in the folder) and works in
   `My Drive/{assignment}`, so later notebooks import your own saved answers.
   Do the same for each notebook; keep them all in that folder.
{links}"""


def colab_links(colab_url: str, notebooks: list[str]) -> str:
    """README lines with an "Open in Colab" link per notebook in a GitHub folder.

    Args:
        colab_url: the GitHub folder holding the release notebooks, e.g.
            ``https://github.com/ORG/REPO/tree/main/backprop``.
        notebooks: the notebook file names.

    Raises:
        ReleaseError: the address is not a GitHub folder (says what it should look like).
    """
    match = re.match(r"^https://github\.com/([^/]+)/([^/]+)/(?:tree|blob)/([^/]+)(/.*)?$", colab_url.rstrip("/"))
    if not match:
        raise ReleaseError(f"--colab-url {colab_url!r} is not a GitHub folder; give one like "
                           "https://github.com/ORG/REPO/tree/main/backprop")
    owner, repo, branch, folder = match.groups()
    base = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}{folder or ''}"
    lines = ["", "## Open in Colab", "",
             "A quick look from the course repository (your work is saved and reused only in",
             f"`My Drive/{ASSIGNMENT}`: set that up as above, then open the notebooks there):", ""]
    lines += [f"- [{name}]({base}/{name})" for name in notebooks]
    return "\n".join(lines) + "\n"


def student_readme(notebooks: list[str], colab_url: str | None = None) -> str:
    """The README.md of the student zip."""
    links = colab_links(colab_url, notebooks) if colab_url else ""
    return STUDENT_README.format(assignment=ASSIGNMENT, unpack=COLAB_UNPACK_CELL, links=links)


def build_hwlib_wheel(target_dir: Path) -> Path:
    """Write a pure-Python wheel of ``hwlib`` alone (no instructor code) into ``target_dir``.

    A wheel is a zip with the package, its ``METADATA``, ``WHEEL`` and ``RECORD``
    (PEP 427); writing it directly needs no build backend and no network.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / WHEEL_NAME
    info = f"hwlib-{HWLIB_VERSION}.dist-info"
    files = {f"hwlib/{f.relative_to(HWLIB).as_posix()}": f.read_bytes()
             for f in sorted(HWLIB.rglob("*")) if f.is_file() and "__pycache__" not in f.parts}
    files[f"{info}/METADATA"] = "\n".join(
        ["Metadata-Version: 2.1", "Name: hwlib", f"Version: {HWLIB_VERSION}",
         "Summary: Helpers for the backpropagation course notebooks", "Requires-Python: >=3.10"]
        + [f"Requires-Dist: {dep}" for dep in HWLIB_DEPENDENCIES]).encode() + b"\n"
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: course.release\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n")
    files[f"{info}/top_level.txt"] = b"hwlib\n"
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join(record + [f"{info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


class ReleaseError(RuntimeError):
    """The release is not fit to hand out; the message says why."""


def generate(course_dir: Path) -> Path:
    """Run nbgrader generate_assignment; return the release folder."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                            cwd=course_dir, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"nbgrader generate_assignment failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return course_dir / "release" / ASSIGNMENT


def unexpected_errors(notebook: nbformat.NotebookNode, name: str) -> list[str]:
    """Errors in an executed release notebook that are not caused by unanswered questions.

    Allowed: NotImplementedError (an unanswered question), and NameError for a
    name that an earlier cell would have defined had it not stopped on an
    unanswered question (the cascade of that same missing answer).
    """
    problems = []
    undefined: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            missing = re.match(r"name '(\w+)' is not defined", output.evalue or "")
            if output.ename == "NotImplementedError" or (output.ename == "NameError" and missing
                                                          and missing.group(1) in undefined):
                undefined |= assigned_names(cell.source)
            else:
                problems.append(f"{name} cell {index}: {output.ename}: {output.evalue[:200]}")
    return problems


def run_release_notebook(path: str) -> list[str]:
    """Execute one release notebook in a scratch folder; return unexpected errors."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="release-check-") as folder:
        for sibling in Path(path).parent.iterdir():
            target = Path(folder) / sibling.name
            if sibling.is_file():
                shutil.copy2(sibling, target)
        failure = execute(notebook, Path(folder), timeout=300)
    return ([failure] if failure else []) + unexpected_errors(notebook, Path(path).name)


def check_execution(release_dir: Path, jobs: int = 2) -> list[str]:
    """Problems found by executing every release notebook (empty when all is well)."""
    paths = [str(p) for p in sorted(release_dir.glob("*.ipynb"))]
    with worker_pool(jobs) as pool:
        return [problem for problems in pool.map(run_release_notebook, paths) for problem in problems]


def bundle(release_dir: Path, target: Path, *, colab_url: str | None = None) -> Path:
    """Zip the release into ``target`` (a folder ``backprop/`` inside).

    The folder holds the release notebooks, the ``hwlib`` wheel, ``requirements.txt``
    (the wheel, JupyterLab, ipykernel), ``colab_setup.py`` (run by each notebook's
    first cell on Colab) and a README with one set-up step per platform.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    notebooks = sorted(p.name for p in release_dir.glob("*.ipynb"))
    readme = student_readme(notebooks, colab_url)
    with tempfile.TemporaryDirectory(prefix="wheel-") as scratch, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(release_dir.rglob("*")):
            if path.is_file():
                archive.write(path, f"{ASSIGNMENT}/{path.relative_to(release_dir)}")
        wheel = build_hwlib_wheel(Path(scratch))
        archive.write(wheel, f"{ASSIGNMENT}/{wheel.name}")
        archive.writestr(f"{ASSIGNMENT}/README.md", readme)
        archive.writestr(f"{ASSIGNMENT}/requirements.txt", STUDENT_REQUIREMENTS)
        archive.writestr(f"{ASSIGNMENT}/colab_setup.py", COLAB_SETUP)
    return target


def release(course_dir: Path, *, run_check: bool = True, jobs: int | None = None,
            colab_url: str | None = None) -> Path:
    """Generate, leak-check, execution-check and bundle; return the student zip."""
    course_dir = Path(course_dir).resolve()
    if colab_url:
        colab_links(colab_url, [])  # a bad address fails before anything is generated
    release_dir = generate(course_dir)
    leaks = check_release(course_dir / "source" / ASSIGNMENT, release_dir)
    if leaks:
        shutil.rmtree(release_dir)
        raise ReleaseError("the release would leak protected text; it was deleted:\n" + "\n".join(map(str, leaks)))
    if run_check:
        problems = check_execution(release_dir, jobs or os.cpu_count() or 1)
        if problems:
            raise ReleaseError("release notebooks fail for reasons other than unanswered questions:\n"
                               + "\n".join(problems))
    return bundle(release_dir, course_dir / "release" / f"{ASSIGNMENT}-student.zip", colab_url=colab_url)
