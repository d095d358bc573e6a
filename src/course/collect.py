"""``course collect``: import submissions from an LMS download (zip) or a folder.

Each file is mapped to a student id and a notebook:

* the student id comes from ``--pattern``, a regular expression with a named
  group ``student`` matched against the file's path inside the download (the
  default takes the first folder, or the part of the file name before the first
  ``_``, which fits Canvas' ``name_12345_67890_02_layers.ipynb`` and per-student
  folders alike);
* the notebook is the course notebook whose name the file name contains
  (``02_layers-1.ipynb``, as LMSs rename resubmissions, still maps).

Files that cannot be placed are reported, never guessed. A student's earlier
submission is never overwritten silently: when new files differ, the old folder
moves to ``submitted_history/<student>/<time>/`` and the report says so. The
submission time (the newest file time in the download) goes to ``timestamp.txt``,
which nbgrader and ``course export`` read for late penalties.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from course.paths import ASSIGNMENT, NOTEBOOKS

DEFAULT_PATTERN = r"^(?:(?P<folder>[^/]+)/.+|(?P<prefix>[^/_]+)_[^/]*)$"

#: Largest file accepted from a download (a 50 MB notebook is imported, then graded 0 with a reason).
MAX_FILE = 200 * 1024 * 1024


@dataclass
class CollectReport:
    placed: dict[str, list[str]] = field(default_factory=dict)  # student -> notebook files
    unplaced: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"collected {len(self.placed)} submission(s)"]
        lines += [f"  replaced an earlier submission: {r}" for r in self.replaced]
        lines += [f"  unchanged, skipped: {u}" for u in self.unchanged]
        if self.unplaced:
            lines.append(f"could not place {len(self.unplaced)} file(s) (check --pattern):")
            lines += [f"  {u}" for u in self.unplaced]
        return "\n".join(lines)


def student_of(relative: str, pattern: str) -> str | None:
    """The student id of a path inside the download, or None."""
    match = re.match(pattern, relative)
    if not match:
        return None
    groups = match.groupdict()
    student = groups.get("student") or groups.get("folder") or groups.get("prefix")
    if not student:
        return None
    student = re.sub(r"[^A-Za-z0-9_.-]+", "-", student).strip("-._")
    return student or None


def notebook_of(filename: str) -> str | None:
    """The course notebook a submitted file name refers to (longest match), or None."""
    stems = sorted((name.removesuffix(".ipynb") for name in NOTEBOOKS.values()), key=len, reverse=True)
    if not filename.endswith(".ipynb"):
        return None
    for stem in stems:
        if stem in filename:
            return f"{stem}.ipynb"
    return None


def _files_of(source: Path, scratch: Path) -> list[tuple[str, Path, datetime]]:
    """(path inside the download, local file, modification time) for every file."""
    if source.is_dir():
        root = source
    elif zipfile.is_zipfile(source):
        root = scratch / "unzipped"
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir() or name.is_absolute() or ".." in name.parts or info.file_size > MAX_FILE:
                    continue
                target = root / Path(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                stamp = datetime(*info.date_time, tzinfo=timezone.utc).timestamp()
                os.utime(target, (stamp, stamp))
    else:
        raise ValueError(f"{source} is neither a folder nor a zip archive; pass the LMS download as is")
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(part.startswith(("__MACOSX", ".")) for part in path.relative_to(root).parts):
            mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
            files.append((path.relative_to(root).as_posix(), path, mtime))
    return files


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "timestamp.txt"):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def collect(course_dir: Path, source: Path, *, pattern: str = DEFAULT_PATTERN) -> CollectReport:
    """Import ``source`` (zip or folder) into ``course_dir/submitted``; see module docstring."""
    course_dir = Path(course_dir).resolve()
    report = CollectReport()
    with tempfile.TemporaryDirectory(prefix="collect-") as scratch:
        staged: dict[str, dict[str, tuple[Path, datetime]]] = {}
        extras: dict[str, list[tuple[str, Path]]] = {}
        for relative, path, mtime in _files_of(Path(source), Path(scratch)):
            student = student_of(relative, pattern)
            notebook = notebook_of(PurePosixPath(relative).name)
            if student and notebook:
                previous = staged.setdefault(student, {}).get(notebook)
                if previous is None or mtime >= previous[1]:  # two copies: the newest wins
                    staged[student][notebook] = (path, mtime)
            elif student and PurePosixPath(relative).name.endswith(".npz"):
                extras.setdefault(student, []).append((PurePosixPath(relative).name, path))
            else:
                report.unplaced.append(relative)
        for student, notebooks in sorted(staged.items()):
            incoming = Path(scratch) / "incoming" / student
            incoming.mkdir(parents=True)
            for name, (path, _) in notebooks.items():
                shutil.copy2(path, incoming / name)
            for name, path in extras.get(student, []):
                shutil.copy2(path, incoming / name)
            newest = max(mtime for _, mtime in notebooks.values())
            (incoming / "timestamp.txt").write_text(newest.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
            target = course_dir / "submitted" / student / ASSIGNMENT
            if target.exists():
                if _digest(target) == _digest(incoming):
                    report.unchanged.append(student)
                    continue
                kept = course_dir / "submitted_history" / student / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(target), str(kept))
                report.replaced.append(f"{student} (earlier files kept in {kept.relative_to(course_dir)})")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(incoming, target)
            report.placed[student] = sorted(notebooks)
    return report
