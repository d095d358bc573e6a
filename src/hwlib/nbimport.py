"""Load the definitions (functions, classes, imports, constants) from another notebook.

Later notebooks reuse what a student wrote earlier, e.g. notebook 4 builds a
network from the layers of notebook 2::

    from hwlib.nbimport import import_notebook
    import_notebook("02_layers.ipynb", names=["fc_forward", "fc_backward"], into=globals())

Only definitions run: imports, ``def``, ``class`` and UPPER_CASE constant
assignments. Training loops, plots and tests in the other notebook do not.
A notebook that itself imports another one (notebook 4 imports notebook 2)
gets that import replayed, relative to its own folder, so its functions find
the names they use.
"""

from __future__ import annotations

import ast
import json
import types
from pathlib import Path
from typing import Any, Iterable, MutableMapping

_KEPT_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def code_cells(path: Path) -> list[str]:
    """The source of every code cell of a notebook file, in order.

    Read as plain JSON rather than with nbformat: importing nbformat takes about a
    second (its schema validator loads jsonschema's format checkers), which every
    student kernel that imports an earlier notebook would pay.

    Raises:
        ValueError: the file is not a version-4 notebook (says how to fix it).
    """
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        cells = notebook["cells"] if notebook.get("nbformat") == 4 else None
    except (ValueError, KeyError, TypeError, AttributeError):
        cells = None
    if not isinstance(cells, list):
        raise ValueError(f"{Path(path).name} is not a Jupyter notebook in format version 4; open it in Jupyter, "
                         f"save it, and try again (or start again from the released notebook)")
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _is_constant_assignment(node: ast.stmt) -> bool:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    names: list[ast.expr] = []
    for target in targets:
        names.extend(target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target])
    return bool(names) and all(isinstance(t, ast.Name) and t.id.isupper() for t in names)


def _imports_from(node: ast.stmt, packages: tuple[str, ...]) -> bool:
    """Whether ``node`` imports anything from one of ``packages`` (or their submodules)."""
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
        modules = [node.module or ""]
    else:
        return False
    return any(m == p or m.startswith(p + ".") for m in modules for p in packages)


def definitions_source(cell_source: str, *, skip_imports_from: tuple[str, ...] = ()) -> str:
    """The definitions in one code cell as plain Python (magics and shell lines removed).

    Args:
        cell_source: the cell's code.
        skip_imports_from: packages whose imports are left out (e.g. a grader's own package).

    Raises:
        SyntaxError: when the cell is not valid Python.
    """
    lines = [line for line in cell_source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    kept = [node for node in tree.body if (isinstance(node, _KEPT_NODES) or _is_constant_assignment(node))
            and not _imports_from(node, skip_imports_from)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[]))


def _literal_names(node: ast.expr | None) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                                                       for e in node.elts):
        return [e.value for e in node.elts]
    return None


def notebook_imports(cell_source: str) -> list[tuple[str, list[str] | None]]:
    """Top-level ``import_notebook("file.ipynb", names=[...])`` calls in a cell: (file, names)."""
    lines = [line for line in cell_source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        if not isinstance(value, ast.Call):
            continue
        func = value.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name != "import_notebook" or not value.args:
            continue
        first = value.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            names = next((_literal_names(k.value) for k in value.keywords if k.arg == "names"), None)
            found.append((first.value, names))
    return found


def import_notebook(
    path: str | Path,
    *,
    names: Iterable[str] | None = None,
    into: MutableMapping[str, Any] | None = None,
    module_name: str | None = None,
) -> types.ModuleType:
    """Execute the definitions of a notebook and return them as a module.

    Args:
        path: the ``.ipynb`` file (relative paths are resolved from the current directory).
        names: when given, these names must exist (a clear error lists the missing ones)
            and only they are copied into ``into``.
        into: a namespace (e.g. ``globals()``) to copy the definitions into.
        module_name: name of the returned module (default: the file's stem).

    Returns:
        A module whose attributes are the notebook's definitions.

    Raises:
        FileNotFoundError: the notebook does not exist (names the path).
        SyntaxError: a cell of the notebook does not parse (names the cell).
        ImportError: a requested name is not defined in the notebook.
        ValueError: the file is not a version-4 notebook.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"cannot import definitions from {path}: no such notebook. Keep the course notebooks "
            f"together in one folder and run this notebook from that folder."
        )
    module = types.ModuleType(module_name or path.stem.replace("-", "_"))
    module.__file__ = str(path)
    for index, source in enumerate(code_cells(path)):
        for other, other_names in notebook_imports(source):
            target = (path.parent / other).resolve()
            if target == path.resolve():
                continue
            import_notebook(target, names=other_names, into=module.__dict__)
        try:
            code = definitions_source(source)
        except SyntaxError as error:
            raise SyntaxError(f"{path.name}, code cell {index}: {error.msg} (line {error.lineno}); fix that cell first") from None
        if code.strip():
            exec(compile(code, f"{path.name}[cell {index}]", "exec"), module.__dict__)
    if names is not None:
        names = list(names)
        missing = [name for name in names if name not in module.__dict__]
        if missing:
            raise ImportError(f"{path.name} does not define {', '.join(missing)}; finish those questions there first")
    if into is not None:
        chosen = names if names is not None else [k for k in module.__dict__ if not k.startswith("__")]
        for name in chosen:
            into[name] = module.__dict__[name]
    return module
