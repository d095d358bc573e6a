"""Facts about a submitted function, read from its source text with ``ast`` in the grader.

The grader takes the code cells from the submitted notebook file (never from the
kernel), so nothing a cell patches at run time (``dis``, ``inspect``, ``ast`` ...)
changes what is found here. :meth:`SourceIndex.describe` gives plain data for
``Case.source_of`` checks::

    {"defined": True, "text": "def f(...): ...", "params": [["x", "POSITIONAL_OR_KEYWORD"], ...],
     "loops": ["line 3: for loop", ...], "uses": ["hwlib.gradcheck.numeric_gradient_array", "fc_forward", ...],
     "problems": ["calls exec", ...], "functions": {"f": {"uses": [...], "problems": [...]}, ...}}

``loops`` and ``uses`` cover the function, the functions and lambdas inside it,
and the notebook's own top-level functions it calls (transitively), so moving a
loop or a numeric gradient into a helper changes nothing. ``uses`` holds every
name the code reads, resolved through imports and aliases (``import
hwlib.gradcheck as g`` then ``g.numeric_jacobian`` is
``hwlib.gradcheck.numeric_jacobian``; ``getattr(g, "numeric_jacobian")`` too).
``problems`` lists what makes the code impossible to check (``exec``,
``eval``, ``__import__``, ``getattr`` with a computed name, ``globals()[...]``).
``functions`` gives the same per function reached (the call graph), so a check
can stop at answers that another question checks itself.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any, Iterable, Mapping

#: Calls that hide what code runs; a checked function (or a helper it calls) must not use them.
DYNAMIC_CALLS = frozenset({"exec", "eval", "compile", "__import__", "globals", "locals", "vars",
                           "importlib.import_module", "builtins.exec", "builtins.eval"})

_PARAM_KINDS = (("posonlyargs", "POSITIONAL_ONLY"), ("args", "POSITIONAL_OR_KEYWORD"))


def _parse(text: str) -> ast.Module | None:
    lines = [line if not line.lstrip().startswith(("%", "!")) else "" for line in text.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _import_aliases(statements: Iterable[ast.stmt]) -> dict[str, str]:
    """Names bound by import statements (and ``alias = other.name`` assignments), as dotted paths."""
    aliases: dict[str, str] = {}
    for node in statements:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            dotted = _dotted(node.value)
            if dotted is not None:
                aliases[node.targets[0].id] = dotted
    return aliases


def _resolve(dotted: str, aliases: Mapping[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    seen = set()
    while head in aliases and head not in seen:
        seen.add(head)
        target = aliases[head]
        if target == head:
            break
        dotted = target + ("." + rest if rest else "")
        head, _, rest = dotted.partition(".")
    return dotted


class SourceIndex:
    """The top-level functions of a notebook's code cells, and what they use."""

    def __init__(self, cells: Iterable[str]) -> None:
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.texts: dict[str, str] = {}
        self.rebound: set[str] = set()
        top: list[ast.stmt] = []
        for text in cells:
            tree = _parse(text)
            if tree is None:
                continue
            for node in tree.body:
                top.append(node)
                if isinstance(node, ast.ClassDef):  # methods are indexed as "Class.method"
                    for item in node.body:
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            self.functions[f"{node.name}.{item.name}"] = item
                            self.texts[f"{node.name}.{item.name}"] = ""
                    self.rebound.discard(node.name)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.functions[node.name] = node
                    self.texts[node.name] = ast.get_source_segment("\n".join(
                        line if not line.lstrip().startswith(("%", "!")) else "" for line in text.splitlines()),
                        node) or ""
                    self.rebound.discard(node.name)
                else:
                    for name in _bound_names(node):
                        self.rebound.add(name)
        self.aliases = _import_aliases(top)

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> "SourceIndex":
        """In-process (stock nbgrader, fast audits): the cells IPython recorded, else each function's source."""
        history = namespace.get("In")
        if isinstance(history, list) and history and all(isinstance(t, str) for t in history):
            return cls(history)
        texts = []
        for value in list(namespace.values()):
            if inspect.isfunction(value):
                try:
                    texts.append(inspect.getsource(value))
                except (OSError, TypeError):
                    pass
        return cls(texts)

    def describe(self, name: str) -> dict[str, Any]:
        """Plain-data facts about function ``name`` (see the module docstring)."""
        node = self.functions.get(name)
        if node is None or name.split(".")[0] in self.rebound:
            return {"defined": False, "text": "", "params": [], "loops": [], "uses": [], "problems": []}
        params = [[a.arg, kind] for attr, kind in _PARAM_KINDS for a in getattr(node.args, attr)]
        if "." in name and params and params[0][0] in ("self", "cls"):
            params = params[1:]
        if node.args.vararg:
            params.append([node.args.vararg.arg, "VAR_POSITIONAL"])
        params += [[a.arg, "KEYWORD_ONLY"] for a in node.args.kwonlyargs]
        if node.args.kwarg:
            params.append([node.args.kwarg.arg, "VAR_KEYWORD"])
        loops: list[str] = []
        uses: set[str] = set()
        problems: list[str] = []
        reached: dict[str, dict[str, list[str]]] = {}
        pending, done = [name], set()
        while pending:
            current = pending.pop()
            if current in done or current not in self.functions:
                continue
            done.add(current)
            where = "" if current == name else f" (in {current}, which {name} uses)"
            found_loops, found_uses, found_problems = _scan(self.functions[current], self.aliases)
            loops += [f"{loop}{where}" for loop in found_loops]
            problems += [f"{problem}{where}" for problem in found_problems]
            uses |= found_uses
            reached[current] = {"uses": sorted(found_uses), "problems": [f"{p}{where}" for p in found_problems]}
            pending += [u for u in found_uses if u in self.functions and u not in done and u != current]
        return {"defined": True, "text": self.texts.get(name, ""), "params": params, "loops": loops,
                "uses": sorted(uses), "problems": problems, "functions": reached}


def _bound_names(node: ast.stmt) -> set[str]:
    """Names a top-level statement (other than a def) binds."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in child.names}
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child is not node:
            continue
    if isinstance(node, ast.ClassDef):
        names.add(node.name)
    return names


def _scan(function: ast.AST, module_aliases: Mapping[str, str]) -> tuple[list[str], set[str], list[str]]:
    """Loops, resolved names read, and unsafe constructs in one function (nested code included)."""
    aliases = dict(module_aliases)
    aliases.update(_import_aliases(n for n in ast.walk(function) if isinstance(n, ast.stmt) and n is not function))
    loops, uses, problems = [], set(), []
    first = getattr(function, "lineno", 1)
    for node in ast.walk(function):
        line = getattr(node, "lineno", first) - first + 1
        if isinstance(node, (ast.For, ast.AsyncFor)):
            loops.append(f"line {line}: for loop")
        elif isinstance(node, ast.While):
            loops.append(f"line {line}: while loop")
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            loops.append(f"line {line}: comprehension")
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            dotted = _dotted(node)
            if dotted is not None:
                uses.add(_resolve(dotted, aliases))
        if isinstance(node, ast.Call):
            called = _dotted(node.func)
            resolved = _resolve(called, aliases) if called else None
            if resolved in DYNAMIC_CALLS or (called in DYNAMIC_CALLS):
                problems.append(f"line {line}: calls {called}()")
            if called in ("getattr", "builtins.getattr") and len(node.args) >= 2:
                base = _dotted(node.args[0])
                attr = node.args[1]
                if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                    if base is not None:
                        uses.add(_resolve(f"{base}.{attr.value}", aliases))
                else:
                    problems.append(f"line {line}: getattr with a computed name")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call):
            called = _dotted(node.value.func)
            if called in ("globals", "locals", "vars"):
                problems.append(f"line {line}: looks names up in {called}()")
    return loops, uses, problems


# ----------------------------------------------------------------------------- checks used by hidden tests


def loops_message(name: str, facts: Mapping[str, Any] | None) -> str | None:
    """Why ``name`` fails "no Python loops" (None when it passes)."""
    if not isinstance(facts, Mapping) or not facts.get("defined"):
        return f"{name} is not defined with `def {name}(...)` in its answer cell; define it there."
    if facts.get("problems"):
        return f"{name} runs code that cannot be checked: " + "; ".join(facts["problems"]) + "."
    if facts.get("loops"):
        return f"found Python loops in {name}: " + "; ".join(facts["loops"]) + "."
    return None


#: Prefix of every numeric-gradient helper (the module students use to check their work).
NUMERIC_HELPERS = "hwlib.gradcheck."


def _closure_without(name: str, facts: Mapping[str, Any], charged_elsewhere: Iterable[str]) -> tuple[set[str], list[str]]:
    """``uses`` and ``problems`` of ``name`` and the notebook functions it reaches, not entering
    ``charged_elsewhere`` (answers that another question checks itself: what they use is charged there)."""
    functions = facts.get("functions")
    stops = set(charged_elsewhere) - {name}
    if not isinstance(functions, Mapping) or name not in functions:  # facts without the call graph
        return set(facts.get("uses", [])), list(facts.get("problems", []))
    uses: set[str] = set()
    problems: list[str] = []
    pending, done = [name], set()
    while pending:
        current = pending.pop()
        if current in done or current not in functions:
            continue
        done.add(current)
        uses |= set(functions[current].get("uses", []))
        problems += list(functions[current].get("problems", []))
        pending += [u for u in functions[current].get("uses", []) if u in functions and u not in stops]
    return uses, problems


def analytic_message(name: str, facts: Mapping[str, Any] | None, forward: Iterable[str] = (),
                     charged_elsewhere: Iterable[str] = ()) -> str | None:
    """Why backward ``name`` is not an analytic backward pass (None when it is).

    It fails when it (or a helper of the notebook it calls) uses anything from
    ``hwlib.gradcheck`` or calls one of the ``forward`` functions. The functions in
    ``charged_elsewhere`` (other answers of the notebook that get this same check in
    their own question) are not followed: calling them is fine, and what they use
    costs points in their own question only (one mistake costs points once). Any
    other function of the notebook is followed, so a helper that is not such an
    answer cannot hide a numeric gradient.
    """
    if not isinstance(facts, Mapping) or not facts.get("defined"):
        return f"{name} is not defined with `def {name}(...)` in its answer cell; define it there."
    uses, problems = _closure_without(name, facts, charged_elsewhere)
    if problems:
        return f"{name} runs code that cannot be checked: " + "; ".join(problems) + "."
    helpers = sorted(u for u in uses if u.startswith(NUMERIC_HELPERS) or u == NUMERIC_HELPERS.rstrip("."))
    forwards = sorted(set(forward) & uses)
    if helpers or forwards:
        found = ", ".join(helpers + forwards)
        return (f"{name} uses {found}: a backward pass must compute the gradient analytically (numeric-gradient "
                f"helpers and the forward pass are for checking your work, not inside the answer).")
    return None
