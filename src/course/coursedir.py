"""Create and inspect nbgrader course directories.

Layout (nbgrader's own): ``source/backprop/*.ipynb``, ``release/``,
``submitted/<student>/backprop/``, ``autograded/``, ``feedback/``,
``gradebook.db``, plus ``nbgrader_config.py`` and our ``autograder/`` folder
(hidden-test specs and mutants).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from course.paths import ASSIGNMENT

REPO = Path(__file__).resolve().parents[2]


def init_course_dir(root: Path, *, notebooks: Path | None = None, autograder: Path | None = None,
                    keys: list[str] | None = None) -> Path:
    """Make a course directory at ``root`` with the source notebooks and configuration.

    Args:
        root: the new course directory (created; must be empty or absent).
        notebooks: folder of source notebooks (default: this checkout's ``notebooks/``).
        autograder: folder with ``tests/``, ``mutants/`` and ``nbgrader_config.py``.
        keys: copy only these notebooks (file names), e.g. for fast tests.

    Returns:
        ``root``.
    """
    notebooks = notebooks or REPO / "notebooks"
    autograder = autograder or REPO / "autograder"
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; choose a new folder for the course")
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in sorted(notebooks.glob("*.ipynb")):
        if keys is None or path.name in keys:
            shutil.copy2(path, source / path.name)
    shutil.copytree(autograder / "tests", root / "autograder" / "tests")
    if (autograder / "mutants").is_dir():
        shutil.copytree(autograder / "mutants", root / "autograder" / "mutants")
    shutil.copy2(autograder / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


def check_course_dir(path: Path, *, released: bool = False) -> Path:
    """``path`` resolved, when it is a course directory made by ``course init``.

    Raises ValueError (one line: what is missing and what to do) otherwise, before
    anything is written; ``released`` also asks for the gradebook ``course release`` makes.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder: pass --course-dir with your course directory "
                         f"(made by `course init`)")
    missing = [name for name in ("nbgrader_config.py", f"source/{ASSIGNMENT}", "autograder/tests")
               if not (root / name).exists()]
    if missing:
        raise ValueError(f"{root} is not a course directory (no {', '.join(missing)}): cd into the folder made by "
                         f"`course init NAME`, or pass --course-dir; nothing was written")
    if released and not (root / "gradebook.db").exists():
        raise ValueError(f"{root} has no gradebook.db yet: run `course release` first; nothing was written")
    return root
