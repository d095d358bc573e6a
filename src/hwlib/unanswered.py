"""Friendly messages for questions that are not answered yet, and a Run All that goes on past them.

In a released notebook every answer stub raises::

    NotImplementedError("Q2.1 `fc_forward` is not answered yet — write it in the cell above")

(the release writes the question and the name; see :func:`stub_message`).
:func:`install`, called by each notebook's first cell, makes the running
IPython kernel

- show such an error as one line saying which question to answer and where
  (this cell, the cell above, or another notebook for a cross-notebook import);
- show a later ``NameError`` for a name that such a stopped cell would have set
  as "this cell waits for Q2.1 `fc_forward`";
- report those cells to the front end as finished rather than failed, so
  JupyterLab's, Notebook's and Colab's *Run All* keep going and run every cell
  that does not need an answer. Any other error still stops Run All as usual.

The error outputs themselves stay (``NotImplementedError``/``NameError``), so a
grader still sees an unanswered question as an error. Nothing is installed while
a grader runs the notebook (:func:`hwlib.runtime.is_autograding`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from hwlib.runtime import is_autograding

__all__ = ["Unanswered", "install", "parse_stub_message", "stub_message", "uninstall"]

_STUB = re.compile(r"^(?P<question>Q[\w.]+) `(?P<name>[\w.]+)` is not answered yet")
_IMPORTED_CELL = re.compile(r"^(?P<notebook>.+\.ipynb)\[cell \d+\]$")
_MISSING_NAME = re.compile(r"name '(?P<name>\w+)' is not defined")


def stub_message(question: str, name: str) -> str:
    """What an unanswered stub raises, e.g. ``Q2.1 `fc_forward` is not answered yet — ...``."""
    return f"{question} `{name}` is not answered yet — write it in the cell above"


@dataclass(frozen=True)
class Unanswered:
    """An unanswered question: its number (``Q2.1``), its function (``fc_forward``), its notebook.

    ``notebook`` is the other notebook's file name when the stub was loaded with
    :func:`hwlib.nbimport.import_notebook`, else empty (this notebook).
    """

    question: str
    name: str
    notebook: str = ""

    def label(self) -> str:
        where = f" in {self.notebook}" if self.notebook else ""
        return f"{self.question} `{self.name}`{where}"


def parse_stub_message(message: str) -> Unanswered | None:
    """The question named by a stub's message, or None for any other message."""
    match = _STUB.match(str(message))
    return Unanswered(match["question"], match["name"]) if match else None


def assigned_names(source: str) -> set[str]:
    """Top-level names a cell assigns, defines or imports (magics and shell lines skipped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


class _Tracker:
    """State of one kernel: the current cell, and which names wait for which question."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.cell = ""
        self.waiting: dict[str, Unanswered] = {}  # name an earlier cell did not set -> its question
        self.handled: BaseException | None = None  # the error of this cell shown as "not answered"

    # -- IPython event callbacks -------------------------------------------

    def pre_run_cell(self, info: Any) -> None:
        self.cell = getattr(info, "raw_cell", "") or ""
        self.handled = None

    def post_run_cell(self, result: Any) -> None:
        """A cell stopped only by an unanswered question counts as finished: Run All goes on."""
        if result is not None and self.handled is not None and result.error_in_exec is self.handled:
            result.error_in_exec = None
        self.handled = None

    # -- the custom exception handler --------------------------------------

    def handle(self, shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
        question, message = self._explain(value, tb)
        if question is None:  # any other error: IPython's usual traceback, and Run All stops
            stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        else:
            for name in assigned_names(self.cell):
                self.waiting.setdefault(name, question)
            self.handled = value
            stb = [f"\x1b[1;33m{etype.__name__}\x1b[0m: {message}"]
        shell._showtraceback(etype, value, stb)  # IPython leaves showing the error to the handler
        return stb

    def _explain(self, value: BaseException, tb: Any) -> tuple[Unanswered | None, str]:
        if isinstance(value, NameError) and not isinstance(value, UnboundLocalError):
            missing = _MISSING_NAME.search(str(value))
            question = self.waiting.get(missing["name"]) if missing else None
            if question is None:
                return None, ""
            return question, (f"this cell needs `{missing['name']}`, which an earlier cell sets once "
                              f"{question.label()} is answered: it waits for {question.question}.")
        question = parse_stub_message(str(value)) if type(value) is NotImplementedError else None
        if question is None:
            return None, ""
        frames = _frames(tb)
        raised_in = frames[-1].f_code.co_filename if frames else ""
        imported = _IMPORTED_CELL.match(raised_in)
        if imported:
            question = Unanswered(question.question, question.name, imported["notebook"])
            where = f"answer it in {question.notebook}, save that notebook, then run this notebook from the top again"
        elif frames and raised_in == frames[0].f_code.co_filename:
            where = "write it in this cell, then run the cell again"
        else:
            where = "write it in the cell above, run that cell, then this one"
        self.waiting.update({name: question for name in assigned_names(self.cell)})
        return question, f"{question.label()} is not answered yet — {where}."


def _frames(tb: Any) -> list[Any]:
    """The frames of a traceback from the cell's own code inward (IPython's frames dropped)."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    cell_frames = [f for f in frames if f.f_code.co_name == "<module>"]
    start = frames.index(cell_frames[0]) if cell_frames else 0
    return frames[start:]


_INSTALLED: dict[int, _Tracker] = {}


def install(shell: Any = None) -> bool:
    """Turn on the friendly unanswered-question messages in this IPython kernel.

    Args:
        shell: the IPython shell (default: the running one).

    Returns:
        True when installed (or already installed); False outside IPython and
        while a grader runs the notebook, where errors must stay errors.
    """
    if is_autograding():
        return False
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython is a dependency
            return False
        shell = get_ipython()
    if shell is None:
        return False
    if id(shell) in _INSTALLED:
        return True
    tracker = _Tracker(shell)
    shell.set_custom_exc((NotImplementedError, NameError), tracker.handle)
    shell.events.register("pre_run_cell", tracker.pre_run_cell)
    shell.events.register("post_run_cell", tracker.post_run_cell)
    _INSTALLED[id(shell)] = tracker
    return True


def uninstall(shell: Any) -> None:
    """Undo :func:`install` on ``shell`` (errors show and stop Run All as before)."""
    tracker = _INSTALLED.pop(id(shell), None)
    if tracker is None:
        return
    shell.set_custom_exc((), None)
    shell.events.unregister("pre_run_cell", tracker.pre_run_cell)
    shell.events.unregister("post_run_cell", tracker.post_run_cell)
