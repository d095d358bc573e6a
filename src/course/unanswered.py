"""Release-time naming of answer stubs: ``raise NotImplementedError()`` says which question it is.

nbgrader's ``ClearSolutions`` replaces each solution region with one fixed stub.
:class:`ClearSolutionsNamingQuestions` does the same and then rewrites every
``raise NotImplementedError()`` of an answer cell into::

    raise NotImplementedError("Q2.1 `fc_forward` is not answered yet — write it in the cell above")

The question number comes from the nearest markdown header above the cell
(``### Q2.1 — ...``), the name from the function (or ``Class.method``) the stub
sits in. ``hwlib.unanswered`` turns that message into the student's one-line
explanation and lets Run All go past it. ``autograder/nbgrader_config.py``
puts this preprocessor in place of ``ClearSolutions``, so both ``course release``
and a stock ``nbgrader generate_assignment`` write named stubs.
"""

from __future__ import annotations

import ast
import re

from nbgrader.preprocessors import ClearSolutions

from hwlib.unanswered import stub_message

_HEADER = re.compile(r"^#{1,6}\s*(?P<question>Q\d+(?:\.\d+)*)\b(?:[^`\n]*`(?P<name>[^`]+)`)?", re.MULTILINE)
_BARE_STUB = re.compile(r"raise NotImplementedError\(\)")


def question_in(markdown: str) -> tuple[str, str] | None:
    """(question, backticked name or "") of the last question header in a markdown cell."""
    headers = list(_HEADER.finditer(markdown))
    return (headers[-1]["question"], headers[-1]["name"] or "") if headers else None


def _stub_owners(source: str) -> dict[int, str]:
    """Line number of each bare ``raise NotImplementedError()`` -> qualified name of its function ("" at top level)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    owners: dict[int, str] = {}

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, (*scope, child.name))
                continue
            if (isinstance(child, ast.Raise) and isinstance(child.exc, ast.Call)
                    and isinstance(child.exc.func, ast.Name) and child.exc.func.id == "NotImplementedError"
                    and not child.exc.args and not child.exc.keywords):
                owners[child.lineno] = ".".join(scope)
            visit(child, scope)

    visit(tree, ())
    return owners


def name_stubs(source: str, question: str, fallback_name: str) -> str:
    """``source`` with each bare stub raising the question's not-answered message."""
    owners = _stub_owners(source)
    lines = source.split("\n")
    for lineno, owner in owners.items():
        name = owner or fallback_name or "this answer"
        message = stub_message(question, name).replace("\\", "\\\\").replace('"', '\\"')
        lines[lineno - 1] = _BARE_STUB.sub(lambda _: f'raise NotImplementedError("{message}")',
                                           lines[lineno - 1], count=1)
    return "\n".join(lines)


class ClearSolutionsNamingQuestions(ClearSolutions):
    """nbgrader's ClearSolutions, then every stub names its question (``Qn.m `name` is not answered yet``)."""

    def preprocess(self, nb, resources):  # noqa: ANN001 - nbconvert's signature
        nb, resources = super().preprocess(nb, resources)
        current: tuple[str, str] | None = None
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                current = question_in(cell.source) or current
            elif cell.cell_type == "code" and current and cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = name_stubs(cell.source, *current)
        return nb, resources
