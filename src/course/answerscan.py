"""Find graded answers that can be read off a release notebook (issue 13).

:mod:`course.leakcheck` makes sure no *line* of a solution reaches the release.
This module looks for the *answer itself* written elsewhere on the page: in a
hint, a docstring, a prompt or a locked helper, possibly with other variable
names and spacing, in any notebook of the assignment (notebook 2 must not
print notebook 1's answer either).

How it works:

1. From every autograded answer cell (``grade_id`` ending in ``_answer``) of the
   source notebooks, the expressions the solution returns or assigns are taken
   with :mod:`ast`; only those with at least :data:`MIN_OPERATIONS` operations
   (calls, arithmetic, comparisons, ...) count, so ``x + y`` is not an answer.
2. Each expression and all release text (code and markdown) become token lists
   normalised the same way: numbers by value (``1`` = ``1.0``), the prefixes
   ``np.``, ``numpy.`` and ``math.`` dropped, numpy/math functions kept
   (``tanh(`` is not ``sin(``), every other name replaced by its order of first
   appearance (``Phi(x) + x * phi(x)`` and ``normal_cdf(x) + x * normal_pdf(x)``
   are the same), whitespace ignored.
3. A leak is a window of release tokens equal to an answer's tokens.

The release is the source with its solution regions, hidden tests and mark
schemes removed (what ``nbgrader generate_assignment`` ships), see
:func:`release_cells`.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path
from functools import lru_cache
from typing import Iterable, Iterator

import nbformat

#: Fewer operations than this make an expression too generic to call a leak (``a * b``, ``-x``).
#: An answer must also compute something (arithmetic, a comparison): a bare call pattern such as
#: ``f(a, p["W"], p["b"])`` matches too many unrelated calls once names are renamed.
MIN_OPERATIONS = 3

_SOLUTION = re.compile(r"^[ \t]*#*[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*#*[ \t]*### END SOLUTION[ \t]*$",
                       re.MULTILINE | re.DOTALL)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*$",
                     re.MULTILINE | re.DOTALL)
_MARK_SCHEME = re.compile(r"^[^\n]*=== BEGIN MARK SCHEME ===[^\n]*\n.*?^[^\n]*=== END MARK SCHEME ===[^\n]*$",
                          re.MULTILINE | re.DOTALL)
_TOKEN = re.compile(r"\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?|[^\W\d]\w*"
                    r"|\*\*|//|==|!=|<=|>=|[-+*/@%<>()\[\],.~]")
_MODULES = {"np", "numpy", "math"}
_KEPT_NAMES = {"and", "or", "not", "in", "is", "if", "else", "for", "lambda", "None", "True", "False",
               "sum", "max", "min", "abs", "len", "range", "float", "int"}
_OPERATIONS = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare, ast.BoolOp, ast.IfExp, ast.Subscript)
_ARITHMETIC = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp)


@dataclass(frozen=True)
class Answer:
    """One graded answer's expression."""

    notebook: str
    grade_id: str
    expression: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class AnswerLeak:
    answer: Answer
    notebook: str
    cell: int
    text: str

    def __str__(self) -> str:
        return (f"{self.notebook}, cell {self.cell}: shows the answer of {self.answer.notebook} "
                f"{self.answer.grade_id} ({self.answer.expression!r}) as {self.text!r}")


def _normalise(raw: Iterable[str]) -> list[str]:
    """Numbers by value and module prefixes dropped (names are renamed per window, see :func:`_rename`)."""
    tokens = list(raw)
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in _MODULES and index + 1 < len(tokens) and tokens[index + 1] == ".":
            index += 2
            continue
        if token[0].isdigit() or (token[0] == "." and len(token) > 1):
            try:
                token = repr(float(token))
            except ValueError:
                pass
        out.append(token)
        index += 1
    return out


@lru_cache(maxsize=None)
def _library_function(name: str) -> bool:
    """A numpy or math function such as ``tanh`` or ``where``: kept as is, since it is the answer's content."""
    import math

    import numpy

    with warnings.catch_warnings():  # numpy warns about a few deprecated attribute names
        warnings.simplefilter("ignore")
        return callable(getattr(math, name, None)) or callable(getattr(numpy, name, None))


def _renamed(token: str, following: str | None, names: dict[str, str]) -> str:
    """``token`` with a variable name replaced by its order of first appearance in ``names``."""
    if not (token[0].isalpha() or token[0] == "_") or token in _KEPT_NAMES:
        return token
    if following == "(" and _library_function(token):
        return token
    return names.setdefault(token, f"${len(names)}")


def _rename(window: Iterable[str]) -> tuple[str, ...]:
    """Variable names replaced by their order of first appearance within the window."""
    tokens = list(window)
    names: dict[str, str] = {}
    return tuple(_renamed(token, tokens[i + 1] if i + 1 < len(tokens) else None, names)
                 for i, token in enumerate(tokens))


def tokens_of(text: str) -> list[str]:
    """Normalised tokens of any text (code or prose)."""
    return _normalise(_TOKEN.findall(text))


def _operations(node: ast.AST) -> int:
    """Operations in an expression, or 0 when none of them is arithmetic or a comparison."""
    nodes = list(ast.walk(node))
    if not any(isinstance(n, _ARITHMETIC) for n in nodes):
        return 0
    return sum(isinstance(n, _OPERATIONS) for n in nodes)


def _answer_expressions(code: str) -> Iterator[ast.expr]:
    """Returned and assigned expressions of a solution region (parsed on its own)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            yield from values
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            yield node.value


def answers_of(source: Path) -> list[Answer]:
    """The graded answers' expressions of one source notebook."""
    notebook = nbformat.read(str(source), as_version=4)
    found = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if cell.cell_type != "code" or not meta.get("solution") or not grade_id.endswith("_answer"):
            continue
        for region in _SOLUTION.findall(cell.source):
            for expression in _answer_expressions(region):
                if _operations(expression) < MIN_OPERATIONS:
                    continue
                text = ast.unparse(expression)
                found.append(Answer(source.name, grade_id, text, _rename(tokens_of(text))))
    return found


def release_cells(source: Path) -> list[str]:
    """The text of each cell as released: solution regions stubbed, hidden tests and mark schemes gone."""
    notebook = nbformat.read(str(source), as_version=4)
    cells = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        text = _HIDDEN.sub("", cell.source)
        if meta.get("solution") and cell.cell_type == "markdown":
            text = "YOUR ANSWER HERE"
        else:
            text = _SOLUTION.sub("raise NotImplementedError()", text)
        cells.append(_MARK_SCHEME.sub("", text))
    return cells


def find_answer_leaks(sources: Iterable[Path], releases: Iterable[Path] | None = None) -> list[AnswerLeak]:
    """Every window of release text equal to a graded answer of any source notebook.

    Args:
        sources: the source notebooks (with solutions).
        releases: release notebooks to scan (as written by ``generate_assignment``); by default the
            sources with their solution regions removed (:func:`release_cells`).
    """
    sources = list(sources)
    trie: dict = {}
    for answer in (answer for path in sources for answer in answers_of(path)):
        node = trie
        for token in answer.tokens:
            node = node.setdefault(token, {})
        node.setdefault(None, []).append(answer)
    if releases is None:
        pages = [(path.name, release_cells(path)) for path in sources]
    else:
        pages = [(path.name, [c.source for c in nbformat.read(str(path), as_version=4).cells]) for path in releases]
    leaks = []
    for name, cells in pages:
        for number, text in enumerate(cells):
            tokens = tokens_of(text)
            for start in range(len(tokens)):
                node, names, end = trie, {}, start
                while end < len(tokens):
                    following = tokens[end + 1] if end + 1 < len(tokens) else None
                    node = node.get(_renamed(tokens[end], following, names))
                    if node is None:
                        break
                    end += 1
                    for answer in node.get(None, ()):
                        leaks.append(AnswerLeak(answer, name, number, " ".join(tokens[start:end])))
    return list(dict.fromkeys(leaks))
