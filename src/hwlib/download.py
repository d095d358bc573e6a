"""Fetch, checksum and unpack dataset files without ever leaving half-written results.

Shared by :mod:`hwlib.cifar` and :mod:`hwlib.mnist`:

* :func:`data_dir` - where downloads and extracted copies are cached
  (``$HWLIB_DATA_DIR``, default ``~/.cache/hwlib``).
* :func:`download_file` - stream a URL into a temporary file next to the target,
  check its length and md5, and only then move it into place with ``os.replace``.
* :func:`safe_extract_tar` - unpack a ``.tar[.gz]`` after checking every member
  (regular files and folders only, nothing outside the target folder) into a
  temporary folder that is renamed into place when complete.

Every problem with the *data* (network failure, checksum, truncated or corrupt
archive, unsafe member) raises :class:`DatasetError`, a ``ValueError`` whose
message names the file and says what to do next.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import posixpath
import shutil
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from collections.abc import Collection
from pathlib import Path, PurePosixPath, PureWindowsPath

from tqdm.auto import tqdm

from hwlib.runtime import is_autograding

logger = logging.getLogger(__name__)

#: Environment variable that moves the cache (downloads and extracted copies).
DATA_DIR_ENV = "HWLIB_DATA_DIR"
_CHUNK_BYTES = 1 << 20


class DatasetError(ValueError):
    """A dataset file is missing, damaged, unsafe or could not be downloaded."""


def data_dir() -> Path:
    """The cache folder: ``$HWLIB_DATA_DIR`` if set, else ``~/.cache/hwlib`` (not created here)."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "hwlib"


def md5_of(path: str | os.PathLike) -> str:
    """Hex md5 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unique_sibling(target: Path, suffix: str) -> Path:
    """A fresh hidden name in target's folder, so os.replace stays on one file system."""
    return target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}{suffix}"


def download_file(
    url: str,
    destination: str | os.PathLike,
    *,
    md5: str | None,
    hint: str = "",
    progress: bool | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``destination`` atomically, checking its size and md5.

    Inputs:
        url: address to fetch (http, https or file).
        destination: final path; its folder is created if needed.
        md5: expected hex digest, or None to skip the check.
        hint: sentence appended to error messages (e.g. how to work offline).
        progress: show a tqdm bar on stdout; None means "unless a grader is running".
        timeout: seconds to wait for the server before giving up.
    Output:
        ``destination`` as a Path. The bytes go to a temporary file in the same
        folder, which is renamed to ``destination`` only after the length and the
        md5 match; on any failure (including Ctrl-C) the temporary file is removed,
        so ``destination`` is either absent or complete.
    Raises:
        DatasetError: network error, HTTP error, cut-short transfer, md5 mismatch.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    show_progress = (not is_autograding()) if progress is None else progress
    partial = _unique_sibling(destination, ".part")
    try:
        digest, received, announced = _stream_to_file(url, partial, show_progress, timeout, hint)
        if announced is not None and received != announced:
            raise DatasetError(
                f"The download of {url} stopped early: got {received:,} of "
                f"{announced:,} bytes, so nothing was saved. Run again to retry. {hint}".rstrip()
            )
        if md5 is not None and digest != md5:
            raise DatasetError(
                f"The file downloaded from {url} has md5 {digest}, expected {md5}, so it was "
                f"discarded (the transfer was damaged or the server sent another file). "
                f"Run again to retry. {hint}".rstrip()
            )
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("downloaded %s to %s (md5 %s)", url, destination, digest)
    return destination


def _stream_to_file(
    url: str, partial: Path, show_progress: bool, timeout: float, hint: str
) -> tuple[str, int, int | None]:
    """Copy the response body into ``partial``; return (md5, bytes received, Content-Length)."""
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length_header = response.headers.get("Content-Length")
            announced = int(length_header) if length_header and length_header.isdigit() else None
            # stdout, never stderr: a notebook cell that writes to stderr fails under nbgrader.
            with open(partial, "xb") as sink, tqdm(
                total=announced,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=Path(urllib.parse.urlsplit(url).path).name or url,
                file=sys.stdout,
                disable=not show_progress,
            ) as bar:
                for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                    sink.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()  # an HTTP error carries the open response
        reason = exc if isinstance(exc, urllib.error.HTTPError) else getattr(exc, "reason", exc)
        raise DatasetError(
            f"Could not download {url}: {reason}. Check the internet connection and run again. {hint}".rstrip()
        ) from exc
    return digest.hexdigest(), received, announced


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Why this archive member is unsafe to extract, or None if it is a plain file/folder inside."""
    name = member.name
    for flavour in (PurePosixPath(name), PureWindowsPath(name)):
        if flavour.anchor or ".." in flavour.parts:
            return "its path points outside the extraction folder"
    if member.issym() or member.islnk():
        return f"it is a link (to {member.linkname!r}); only regular files and folders are allowed"
    if not (member.isfile() or member.isdir()):
        return "it is a device, pipe or other special file; only regular files and folders are allowed"
    return None


def safe_extract_tar(
    archive: str | os.PathLike,
    target: str | os.PathLike,
    *,
    required: Collection[str] = (),
    hint: str = "",
) -> Path:
    """Unpack a (gzip-compressed) tar archive into ``target`` after checking every member.

    Inputs:
        archive: path of the ``.tar``/``.tar.gz`` file.
        target: folder to create; must not exist yet (if it exists it is returned untouched).
        required: member paths (e.g. ``"cifar-10-batches-py/test_batch"``) that
            must be present as regular files.
        hint: sentence appended to error messages.
    Output:
        ``target`` as a Path. Members are extracted into a temporary sibling folder
        that is renamed to ``target`` only when everything succeeded.
    Raises:
        DatasetError: the file is not a readable tar(.gz), is truncated, lacks a
        required member, or has a member that is a link, a special file, an
        absolute path or a path containing ``..``. Nothing is extracted then.
    """
    archive, target = Path(archive), Path(target)
    if target.is_dir():
        return target
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()  # reads the whole archive: truncation shows up here
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DatasetError(
            f"{archive} is not a complete, readable .tar.gz archive ({exc}). {hint}".rstrip()
        ) from exc
    for member in members:
        problem = _member_problem(member)
        if problem:
            raise DatasetError(
                f"{archive} was not extracted: member {member.name!r} is unsafe because {problem}. {hint}".rstrip()
            )
    present = {posixpath.normpath(m.name) for m in members if m.isfile()}
    missing = sorted(name for name in required if posixpath.normpath(name) not in present)
    if missing:
        raise DatasetError(
            f"{archive} does not have the expected layout: missing {', '.join(missing)}. {hint}".rstrip()
        )

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _unique_sibling(target, ".partial")
    staging.mkdir()
    try:
        with tarfile.open(archive, "r:*") as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.12 and recent security releases
                tar.extractall(staging, members=members, filter="data")
            else:  # members were checked above
                tar.extractall(staging, members=members)
        try:
            os.replace(staging, target)
        except OSError:
            if not target.is_dir():  # a concurrent run that finished first is fine
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    logger.info("extracted %s into %s", archive, target)
    return target
