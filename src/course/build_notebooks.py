"""Build the source notebooks (``notebooks/*.ipynb``) from their percent-format scripts.

Authors edit ``autograder/sources/NN_name.py`` (jupytext "percent" format, with
nbgrader cell metadata in each ``# %%`` header) because plain Python reads and
diffs far better than notebook JSON; this module writes the ``.ipynb`` files that
nbgrader consumes. ``--check`` fails when a committed notebook is out of date.

    python -m course.build_notebooks          # rebuild all
    python -m course.build_notebooks --check  # verify, change nothing
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "autograder" / "sources"
NOTEBOOKS = REPO / "notebooks"

#: Cell metadata written by jupytext that means nothing to nbgrader or Jupyter.
_NOISE_KEYS = ("lines_to_next_cell",)

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def build(script: Path) -> nbformat.NotebookNode:
    """Convert one percent-format script into a clean notebook (no outputs)."""
    import jupytext

    notebook = jupytext.read(script)
    notebook.metadata = nbformat.from_dict({
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
    })
    used: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        for key in _NOISE_KEYS:
            cell.metadata.pop(key, None)
        # Stable ids (jupytext draws random ones): the grade_id where there is one.
        cell_id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index}"
        cell.id = cell_id if cell_id not in used else f"{cell_id}-{index}"
        used.add(cell.id)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(notebook)
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a notebook is out of date")
    parser.add_argument("names", nargs="*", help="script stems to build (default: all)")
    args = parser.parse_args(argv)
    scripts = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem in args.names]
    stale = []
    for script in scripts:
        target = NOTEBOOKS / f"{script.stem}.ipynb"
        text = render(build(script))
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target.name)
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(REPO)}")
    if stale:
        print("out of date (run `python -m course.build_notebooks`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
