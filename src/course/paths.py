"""Where the course's files are: notebooks, hidden-test specs, configuration.

The same code runs from a git checkout (``notebooks/`` and ``autograder/`` at the
top), from a course directory made by ``course init`` (``source/backprop/`` and
``autograder/``), and inside a grading kernel whose working directory is a
student's submission folder deep inside that course directory.
"""

from __future__ import annotations

import os
from pathlib import Path

ASSIGNMENT = "backprop"

#: Hidden-test key -> notebook file name, in course order.
NOTEBOOKS: dict[str, str] = {
    "graphs": "01_computational_graphs.ipynb",
    "layers": "02_layers.ipynb",
    "affine": "03_affine_fitting.ipynb",
    "networks": "04_neural_networks.ipynb",
    "convolution": "05_convolution.ipynb",
    "visualization": "06_class_visualization.ipynb",
    "mnist": "07_mnist.ipynb",
}

_REPO_ROOT = Path(__file__).resolve().parents[2]


def _candidates() -> list[Path]:
    roots = []
    if os.environ.get("COURSE_DIR"):
        roots.append(Path(os.environ["COURSE_DIR"]))
    cwd = Path.cwd().resolve()
    roots.extend([cwd, *cwd.parents])
    roots.append(_REPO_ROOT)
    return roots


def autograder_dir() -> Path:
    """The folder holding ``tests/`` (hidden-test specs) and the nbgrader configuration.

    Search order: ``$COURSE_AUTOGRADER_DIR``, ``$COURSE_DIR/autograder``, the
    working directory and its parents, then this checkout.
    """
    if os.environ.get("COURSE_AUTOGRADER_DIR"):
        return Path(os.environ["COURSE_AUTOGRADER_DIR"])
    for root in _candidates():
        if (root / "autograder" / "tests").is_dir():
            return root / "autograder"
    raise FileNotFoundError(
        "cannot find the course's autograder/tests folder; run from inside the course directory "
        "or set COURSE_AUTOGRADER_DIR"
    )


def source_dir() -> Path:
    """The folder with the instructor's source notebooks (with solutions)."""
    if os.environ.get("COURSE_SOURCE_DIR"):
        return Path(os.environ["COURSE_SOURCE_DIR"])
    for root in _candidates():
        for sub in (Path("source") / ASSIGNMENT, Path("notebooks")):
            if any((root / sub / name).exists() for name in NOTEBOOKS.values()):
                return root / sub
    raise FileNotFoundError(
        "cannot find the source notebooks (notebooks/ or source/backprop/); set COURSE_SOURCE_DIR"
    )


def source_notebook(key: str) -> Path:
    """Path of the source notebook for a hidden-test key such as ``"layers"``."""
    if key not in NOTEBOOKS:
        raise KeyError(f"unknown notebook key {key!r}; known: {', '.join(NOTEBOOKS)}")
    return source_dir() / NOTEBOOKS[key]
