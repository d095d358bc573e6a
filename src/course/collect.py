"""``course collect``: import submissions from an LMS download (zip) or a folder.

Each file is mapped to a student id and a notebook:

* the student id comes from ``--pattern``, a regular expression with a named
  group ``student`` (and optionally ``lms_id``) matched against the file's path
  inside the download. The default takes the first folder (Moodle's
  ``Name_123_assignsubmission_file_/`` gives ``Name`` and LMS id ``123``), or the
  part of the file name before the first ``_`` (Canvas'
  ``name_12345_67890_02_layers.ipynb`` gives ``name`` and LMS id ``12345``);
* the notebook is the course notebook whose name the file name contains
  (``02_layers-1.ipynb``, as LMSs rename resubmissions, still maps).

Names are kept exactly: any Unicode name becomes a folder name by
:func:`student_folder` (letters and digits of any script kept, every other
character percent-encoded), which :func:`student_name` turns back into the
name, so ``Zoë`` and ``Zo`` never share a folder. The LMS user id goes to
``lms_ids.json`` in the course directory, where ``course export`` finds it.

Files that cannot be placed are reported, never guessed; so are unsafe zip
entries (``..``, absolute paths, links), unreadable members and duplicate
copies of a notebook. A student's earlier submission is never overwritten
silently: when new files differ, the old folder moves to
``submitted_history/<student>/<time>/`` and the report says so; a student with
an unreadable file keeps the earlier submission untouched. The submission time
(the newest file time in the download) goes to ``timestamp.txt``, which
nbgrader and ``course export`` read for late penalties.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from course.paths import ASSIGNMENT, NOTEBOOKS

DEFAULT_PATTERN = (r"^(?:(?P<folder>[^/]+)/.+"
                   r"|(?P<prefix>[^/_]+)_(?:LATE_)?(?:(?P<lms_id>\d+)_\d+_)?[^/]*)$")

#: Moodle's per-student folder: ``Full Name_<participant id>_assignsubmission_file_``.
MOODLE_FOLDER = re.compile(r"^(?P<student>.+?)_(?P<lms_id>\d+)_assignsubmission_\w*$")

#: Largest file accepted from a download (a 50 MB notebook is imported, then graded 0 with a reason).
MAX_FILE = 200 * 1024 * 1024


@dataclass
class CollectReport:
    placed: dict[str, list[str]] = field(default_factory=dict)  # student folder -> notebook files
    unplaced: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: one line per problem found in the download (unsafe entries, unreadable members, duplicates)
    problems: list[str] = field(default_factory=list)
    lms_ids: dict[str, str] = field(default_factory=dict)  # student folder -> LMS user id

    def summary(self) -> str:
        lines = [f"collected {len(self.placed)} submission(s)"]
        lines += [f"  {student_name(s)}: {', '.join(n)}" + (f"  (folder {s})" if student_name(s) != s else "")
                  for s, n in sorted(self.placed.items())]
        lines += [f"  replaced an earlier submission: {r}" for r in self.replaced]
        lines += [f"  unchanged, skipped: {u}" for u in self.unchanged]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s) in the download:")
            lines += [f"  {p}" for p in self.problems]
        if self.unplaced:
            lines.append(f"could not place {len(self.unplaced)} file(s) (check --pattern):")
            lines += [f"  {u}" for u in self.unplaced]
        return "\n".join(lines)


def student_folder(name: str) -> str | None:
    """A folder name for a student name or id, reversible with :func:`student_name`.

    Letters and digits of every script, ``_``, ``-`` and ``.`` are kept (Unicode
    NFC form); any other character, a leading ``-`` or ``.``, and ``%`` itself are
    percent-encoded (UTF-8), so the folder is one safe path component that no
    spreadsheet reads as a formula. ``None`` for an empty name.
    """
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        return None
    parts = []
    for index, char in enumerate(name):
        keep = (char.isalnum() or char in "_-.") and not (index == 0 and char in "-.")
        parts.append(char if keep else "".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
    return "".join(parts)


def student_name(folder: str) -> str:
    """The student's name as it came from the LMS, from a folder made by :func:`student_folder`.

    A folder placed in ``submitted/`` by hand (the nbgrader way) is its own name.
    """
    return unquote(folder) if "%" in folder else folder


def identify(relative: str, pattern: str) -> tuple[str, str | None] | None:
    """(student folder, LMS user id or None) of a path inside the download, or None."""
    match = re.match(pattern, unicodedata.normalize("NFC", relative))
    if not match:
        return None
    groups = match.groupdict()
    lms_id = groups.get("lms_id")
    if groups.get("student"):
        student = groups["student"]
    elif groups.get("folder"):
        student = groups["folder"]
        moodle = MOODLE_FOLDER.match(student)
        if moodle:
            student, lms_id = moodle.group("student"), moodle.group("lms_id")
    else:
        student = groups.get("prefix") or ""
    folder = student_folder(student)
    return (folder, lms_id) if folder else None


def student_of(relative: str, pattern: str) -> str | None:
    """The student folder of a path inside the download, or None."""
    found = identify(relative, pattern)
    return found[0] if found else None


def notebook_of(filename: str) -> str | None:
    """The course notebook a submitted file name refers to (longest match), or None."""
    stems = sorted((name.removesuffix(".ipynb") for name in NOTEBOOKS.values()), key=len, reverse=True)
    if not filename.endswith(".ipynb"):
        return None
    for stem in stems:
        if stem in filename:
            return f"{stem}.ipynb"
    return None


@dataclass
class DownloadFile:
    relative: str  # path inside the download
    path: Path  # local copy
    mtime: datetime


def _unsafe_entry(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry is not extracted, or None when it is a plain file inside the download."""
    name = PurePosixPath(info.filename.replace("\\", "/"))
    if name.is_absolute() or re.match(r"^[A-Za-z]:", info.filename):
        return "an absolute path"
    if ".." in name.parts:
        return "a path that leaves the download (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.file_size > MAX_FILE:
        return f"larger than {MAX_FILE // 2**20} MB"
    return None


def _open_zip(source: Path) -> zipfile.ZipFile:
    """The download as a zip archive, or ValueError saying what is wrong with it and what to do."""
    try:
        with open(source, "rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise ValueError(f"cannot read {source}: {error.strerror}; pass the LMS download (zip or folder)") from None
    if magic[:2] != b"PK" and source.suffix.lower() != ".zip":
        raise ValueError(f"{source} is neither a folder nor a zip archive; pass the LMS download as is")
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ValueError(f"{source} is a damaged or incomplete zip archive ({error}); download it again "
                         f"from the LMS (nothing was collected)") from None


def _files_of(source: Path, scratch: Path, problems: list[str]) -> tuple[list[DownloadFile], set[str]]:
    """Every file of the download, and the paths of files that could not be read (in ``problems``)."""
    broken: set[str] = set()
    if not source.exists():
        raise ValueError(f"{source} does not exist; pass the path of the LMS download (zip or folder)")
    if source.is_dir():
        root = source
    else:
        root = scratch / "unzipped"
        with _open_zip(source) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                why = _unsafe_entry(info)
                if why:
                    problems.append(f"skipped {info.filename} in {source.name}: {why}")
                    continue
                name = PurePosixPath(info.filename.replace("\\", "/"))
                target = root / Path(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with archive.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
                    target.unlink(missing_ok=True)
                    broken.add(name.as_posix())
                    problems.append(f"could not read {info.filename} from {source.name} ({type(error).__name__}: "
                                    f"{error}); its student keeps any earlier submission: download the zip "
                                    f"again or ask the student to resubmit")
                    continue
                stamp = datetime(*info.date_time, tzinfo=timezone.utc).timestamp()
                os.utime(target, (stamp, stamp))
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(("__MACOSX", ".")) for part in path.relative_to(root).parts):
            continue
        if path.is_symlink():
            problems.append(f"skipped {relative}: a symbolic link")
            continue
        if path.is_file():
            mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
            files.append(DownloadFile(relative, path, mtime))
    return files, broken


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "timestamp.txt"):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def collect(course_dir: Path, source: Path, *, pattern: str = DEFAULT_PATTERN) -> CollectReport:
    """Import ``source`` (zip or folder) into ``course_dir/submitted``; see module docstring."""
    course_dir = Path(course_dir).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"--pattern {pattern!r} is not a valid regular expression ({error}); "
                         f"give one with a named group, e.g. '^(?P<student>[^/]+)/'") from None
    report = CollectReport()
    with tempfile.TemporaryDirectory(prefix="collect-") as scratch:
        staged: dict[str, dict[str, list[DownloadFile]]] = {}
        extras: dict[str, list[tuple[str, Path]]] = {}
        files, broken = _files_of(Path(source), Path(scratch), report.problems)
        blocked: set[str] = set()  # students with an unreadable file: their submission is not touched
        for relative in broken:
            found = identify(relative, pattern)
            if found:
                blocked.add(found[0])
        for item in files:
            found = identify(item.relative, pattern)
            filename = PurePosixPath(item.relative).name
            notebook = notebook_of(filename)
            if found and found[1]:
                report.lms_ids[found[0]] = found[1]
            if found and notebook:
                staged.setdefault(found[0], {}).setdefault(notebook, []).append(item)
            elif found and filename.endswith(".npz"):
                extras.setdefault(found[0], []).append((filename, item.path))
            else:
                report.unplaced.append(item.relative)
        for student in sorted(blocked):
            report.problems.append(f"{student_name(student)}: not collected because a file could not be read "
                                   f"(see above); nothing of theirs was changed")
        for student, notebooks in sorted(staged.items()):
            if student in blocked:
                continue
            chosen: dict[str, DownloadFile] = {}
            for name, copies in sorted(notebooks.items()):
                copies.sort(key=lambda f: (f.mtime, f.relative))
                chosen[name] = copies[-1]  # two copies: the newest wins, and the report says so
                if len(copies) > 1:
                    report.problems.append(
                        f"{student_name(student)}: {len(copies)} copies of {name} "
                        f"({', '.join(c.relative for c in copies)}); kept the newest, {copies[-1].relative}")
            incoming = Path(scratch) / "incoming" / student
            incoming.mkdir(parents=True)
            for name, item in chosen.items():
                shutil.copy2(item.path, incoming / name)
            for name, path in extras.get(student, []):
                shutil.copy2(path, incoming / name)
            newest = max(item.mtime for item in chosen.values())
            (incoming / "timestamp.txt").write_text(newest.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
            target = course_dir / "submitted" / student / ASSIGNMENT
            if target.exists():
                if _digest(target) == _digest(incoming):
                    report.unchanged.append(student)
                    continue
                kept = course_dir / "submitted_history" / student / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(target), str(kept))
                report.replaced.append(f"{student_name(student)} (earlier files kept in {kept.relative_to(course_dir)})")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(incoming, target)
            report.placed[student] = sorted(chosen)
    _record_lms_ids(course_dir, report.lms_ids)
    return report


#: The LMS user id of every collected student folder, kept in the course directory.
LMS_IDS = "lms_ids.json"


def _record_lms_ids(course_dir: Path, lms_ids: dict[str, str]) -> None:
    """Merge each student's LMS user id into ``course_dir/lms_ids.json`` (read by ``course export``)."""
    if not lms_ids:
        return
    path = course_dir / LMS_IDS
    known = lms_ids_of(course_dir)
    known.update(lms_ids)
    draft = path.with_suffix(".json.partial")
    draft.write_text(json.dumps(dict(sorted(known.items())), indent=1, ensure_ascii=False), encoding="utf-8")
    draft.replace(path)


def lms_ids_of(course_dir: Path) -> dict[str, str]:
    """Student folder -> LMS user id, as recorded by :func:`collect`."""
    path = Path(course_dir) / LMS_IDS
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        return {}
