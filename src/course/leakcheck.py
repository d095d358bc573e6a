"""Check that no solution code, hidden test or mark scheme reaches a release notebook.

The check works on text: it collects every line inside ``### BEGIN SOLUTION`` /
``### BEGIN HIDDEN TESTS`` / ``=== BEGIN MARK SCHEME ===`` regions of the source
notebook and reports any such line found in the released notebook, unless the
same line also appears in the source outside those regions (public text, such as
``return out, cache`` written both in a stub and in a solution).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

_REGIONS = [
    (re.compile(r"^\s*###\s*BEGIN SOLUTION\s*$"), re.compile(r"^\s*###\s*END SOLUTION\s*$"), "solution"),
    (re.compile(r"^\s*###\s*BEGIN HIDDEN TESTS\s*$"), re.compile(r"^\s*###\s*END HIDDEN TESTS\s*$"), "hidden test"),
    (re.compile(r"^\s*===\s*BEGIN MARK SCHEME\s*===\s*$"), re.compile(r"^\s*===\s*END MARK SCHEME\s*===\s*$"), "mark scheme"),
]

#: Lines shorter than this carry no information (``pass``, ``)``, ``return x``).
MIN_LINE = 12


@dataclass(frozen=True)
class Leak:
    notebook: str
    kind: str
    line: str

    def __str__(self) -> str:
        return f"{self.notebook}: {self.kind} text in the release: {self.line!r}"


def split_regions(source: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Return (protected (kind, line) pairs, public lines) of one cell's source."""
    protected: list[tuple[str, str]] = []
    public: list[str] = []
    inside: tuple[re.Pattern, str] | None = None
    for line in source.splitlines():
        if inside is None:
            for begin, end, kind in _REGIONS:
                if begin.match(line):
                    inside = (end, kind)
                    break
            else:
                public.append(line.strip())
        elif inside[0].match(line):
            inside = None
        else:
            protected.append((inside[1], line.strip()))
    return protected, public


def find_leaks(source_path: Path, release_path: Path) -> list[Leak]:
    """Protected lines of ``source_path`` that occur in ``release_path``."""
    source = nbformat.read(str(source_path), as_version=4)
    release_text = "\n".join(
        line.strip() for cell in nbformat.read(str(release_path), as_version=4).cells
        for line in cell.source.splitlines()
    )
    release_lines = set(release_text.splitlines())
    protected: list[tuple[str, str]] = []
    public: set[str] = set()
    for cell in source.cells:
        cell_protected, cell_public = split_regions(cell.source)
        protected.extend(cell_protected)
        public.update(cell_public)
    leaks = []
    seen = set()
    for kind, line in protected:
        if len(line) < MIN_LINE or line in public or line in seen:
            continue
        if line in release_lines:
            seen.add(line)
            leaks.append(Leak(release_path.name, kind, line))
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME", "run_hidden_tests"):
        if marker in release_text:
            leaks.append(Leak(release_path.name, "marker", marker))
    return leaks


def check_release(source_dir: Path, release_dir: Path) -> list[Leak]:
    """Leaks in every released notebook of an assignment."""
    leaks = []
    for source_path in sorted(source_dir.glob("*.ipynb")):
        release_path = release_dir / source_path.name
        if not release_path.exists():
            raise FileNotFoundError(f"{release_path} was not generated")
        leaks.extend(find_leaks(source_path, release_path))
    return leaks
