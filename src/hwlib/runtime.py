"""Where is this notebook running? Answers used to keep notebooks headless-safe."""

from __future__ import annotations

import os
import sys

#: Environment variables that mean "a grader is executing this notebook".
#: nbgrader sets NBGRADER_EXECUTION ("autograde" or "validate"); the course
#: grader and the Gradescope runner set HWLIB_AUTOGRADE=1.
_AUTOGRADE_VARS = ("NBGRADER_EXECUTION", "HWLIB_AUTOGRADE")


def is_autograding() -> bool:
    """True when a grader (nbgrader, `course autograde`, Gradescope) runs the notebook."""
    return any(os.environ.get(name) for name in _AUTOGRADE_VARS)


def is_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def has_interactive_frontend() -> bool:
    """True when widgets can be shown to a person (a live Jupyter/Colab kernel, not a grader).

    Headless execution (nbclient, nbconvert --execute, autograding) still has a
    kernel, so the check is: an IPython kernel is running, no grader is running,
    and the caller did not force headless mode with HWLIB_HEADLESS=1.
    """
    if is_autograding() or os.environ.get("HWLIB_HEADLESS"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ in {"ZMQInteractiveShell", "Shell"}
