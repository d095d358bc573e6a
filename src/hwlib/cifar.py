"""Load CIFAR-10 from the official ``cifar-10-python.tar.gz`` (downloaded, cached or local).

Where the data comes from, in order:

1. ``root`` if given, else the environment variable ``HWLIB_CIFAR10``: a local
   ``.tar.gz`` archive, an extracted ``cifar-10-batches-py`` folder, or a folder
   holding either of them.
2. Otherwise the cache (``$HWLIB_DATA_DIR``, default ``~/.cache/hwlib``), downloading
   the archive from :data:`CIFAR10_URL` the first time (unless ``download=False``).

Checksum policy:

* An archive downloaded from :data:`CIFAR10_URL`, or found in the cache, must have
  the official md5 :data:`CIFAR10_MD5`; otherwise it is rejected (a failed
  download leaves nothing behind).
* A user-supplied archive (``root`` / ``HWLIB_CIFAR10``) may have any md5, e.g. a
  subset of the dataset. It is accepted when it has the official layout and its
  batches load; its md5 is reported in ``info["md5"]`` (and logged), not enforced.

Archives are unpacked once, into ``<cache>/cifar10/extracted/<md5 of the archive>/``,
so two different archives never share an extracted copy.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from hwlib.download import DatasetError, data_dir, download_file, md5_of, safe_extract_tar

logger = logging.getLogger(__name__)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
BATCH_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
#: Environment variable naming a local archive or extracted folder.
SOURCE_ENV = "HWLIB_CIFAR10"
NUM_CLASSES = 10
IMAGE_SHAPE = (32, 32, 3)
_PIXELS = 32 * 32 * 3

_OFFLINE_HINT = (
    f"To work offline, get {ARCHIVE_NAME} (or a subset in the same layout) another way "
    f"and set {SOURCE_ENV}=/path/to/the/archive."
)


def load_cifar10(root: str | os.PathLike | None = None, *, download: bool = True) -> dict[str, Any]:
    """Load CIFAR-10 as uint8 images and int64 labels.

    Inputs:
        root: a local archive, an extracted ``cifar-10-batches-py`` folder or its
            parent. None means ``$HWLIB_CIFAR10`` if set, else the cache.
        download: when the cache is empty, fetch the official archive (else raise).
    Output: a dict with
        X_train: uint8 (N_train, 32, 32, 3); y_train: int64 (N_train,) in 0..9;
        X_test: uint8 (N_test, 32, 32, 3); y_test: int64 (N_test,);
        class_names: list of 10 str (``label_names`` of batches.meta);
        info: dict with ``source`` (path or URL), ``md5`` of the archive (None for
            a folder) and ``official`` (True when that md5 is the official one).
    Raises:
        DatasetError (a ValueError): missing, damaged or unsafe data; the message
        names the file and what to do.
    """
    source = root if root is not None else os.environ.get(SOURCE_ENV) or None
    if source is None:
        folder, info = _official_from_cache(download)
    else:
        origin = "root" if root is not None else SOURCE_ENV
        folder, info = _from_local(Path(source).expanduser(), origin)
    return {**_read_folder(folder), "info": info}


def locate_cifar10(root: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """The extracted ``cifar-10-batches-py`` folder :func:`load_cifar10` would read (extracting first)."""
    source = root if root is not None else os.environ.get(SOURCE_ENV) or None
    if source is None:
        return _official_from_cache(download)[0]
    return _from_local(Path(source).expanduser(), "root" if root is not None else SOURCE_ENV)[0]


def _cache() -> Path:
    return data_dir() / "cifar10"


def _extract(archive: Path, md5: str, hint: str) -> Path:
    """Unpack an archive once into the cache, keyed by its md5; return its batch folder."""
    target = _cache() / "extracted" / md5
    required = [f"{BATCH_FOLDER}/{name}" for name in (*TRAIN_BATCHES, TEST_BATCH, META_FILE)]
    return safe_extract_tar(archive, target, required=required, hint=hint) / BATCH_FOLDER


def _official_from_cache(download: bool) -> tuple[Path, dict[str, Any]]:
    """The official archive from the cache, downloading it first if needed and allowed."""
    info = {"source": CIFAR10_URL, "md5": CIFAR10_MD5, "official": True}
    folder = _cache() / "extracted" / CIFAR10_MD5 / BATCH_FOLDER
    if folder.is_dir():
        return folder, info
    archive = _cache() / ARCHIVE_NAME
    if archive.is_file():
        found = md5_of(archive)
        if found != CIFAR10_MD5:
            raise DatasetError(
                f"The cached archive {archive} has md5 {found}, not the official {CIFAR10_MD5}: "
                f"it is damaged or not the real file. Delete it and run again to download it "
                f"afresh, or set {SOURCE_ENV} to a good archive."
            )
    elif download:
        download_file(CIFAR10_URL, archive, md5=CIFAR10_MD5, hint=_OFFLINE_HINT)
    else:
        raise DatasetError(
            f"CIFAR-10 is not in the cache ({_cache()}) and download=False. "
            f"Call load_cifar10(download=True), or set {SOURCE_ENV} to a local copy."
        )
    hint = f"Delete {archive} and run again to download it afresh, or set {SOURCE_ENV} to a good archive."
    return _extract(archive, CIFAR10_MD5, hint), info


def _from_local(path: Path, origin: str) -> tuple[Path, dict[str, Any]]:
    """Resolve a user-supplied archive or folder; archives are checksummed and reported, not enforced."""
    if path.is_dir():
        for folder in (path, path / BATCH_FOLDER):
            if (folder / TEST_BATCH).is_file() or (folder / META_FILE).is_file():
                return folder, {"source": str(folder), "md5": None, "official": False}
        if (path / ARCHIVE_NAME).is_file():
            path = path / ARCHIVE_NAME
        else:
            raise DatasetError(
                f"{origin}={path} is a folder without CIFAR-10 data: expected {TEST_BATCH} and "
                f"{META_FILE} in it or in {path / BATCH_FOLDER}, or an {ARCHIVE_NAME}."
            )
    if not path.is_file():
        raise DatasetError(
            f"{origin}={path} does not exist. Point it at {ARCHIVE_NAME} or at an extracted "
            f"{BATCH_FOLDER} folder."
        )
    md5 = md5_of(path)
    official = md5 == CIFAR10_MD5
    logger.info("CIFAR-10 archive %s has md5 %s (%s)", path, md5, "official" if official else "not the official file")
    hint = f"Check that {origin} points at a good copy of {ARCHIVE_NAME}."
    return _extract(path, md5, hint), {"source": str(path), "md5": md5, "official": official}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and nothing else (no arbitrary code from a file)."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
        *((module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
          for name in ("_reconstruct", "scalar")),
        *((module, "_frombuffer") for module in ("numpy.core.numeric", "numpy._core.numeric")),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR-10 batch never does")
        return super().find_class(module, name)


def _unpickle(path: Path) -> Any:
    """Read one batch file the way the official Python 2 pickles need (latin1 strings)."""
    try:
        with open(path, "rb") as stream:
            return _NumpyOnlyUnpickler(stream, encoding="latin1").load()
    except FileNotFoundError as exc:
        raise _bad_file(path, "the file is missing") from exc
    except Exception as exc:  # any unpickling failure means a damaged or foreign file
        raise _bad_file(path, f"it cannot be unpickled ({exc})") from exc


def _bad_file(path: Path, problem: str) -> DatasetError:
    return DatasetError(
        f"{path} is not a valid CIFAR-10 batch: {problem}. Replace it with a good copy "
        f"(if it is under the cache {data_dir()}, delete that extracted folder and run again)."
    )


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (rows uint8 (n, 3072), labels int64 (n,)), validated."""
    batch = _unpickle(path)
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise _bad_file(path, f"expected a dict with 'data' and 'labels', got {found}")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS:
        described = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise _bad_file(path, f"'data' should be a uint8 array of shape (n, {_PIXELS}), got {described}")
    try:
        labels = np.asarray(batch["labels"], dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise _bad_file(path, f"'labels' are not integers ({exc})") from exc
    if labels.shape != (data.shape[0],):
        raise _bad_file(path, f"{labels.shape} labels for {data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise _bad_file(path, f"labels range over {labels.min()}..{labels.max()}, expected 0..{NUM_CLASSES - 1}")
    return data, labels


def _rows_to_images(rows: np.ndarray) -> np.ndarray:
    """(n, 3072) channel-major rows (1024 red, 1024 green, 1024 blue) -> C-ordered (n, 32, 32, 3)."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _read_class_names(path: Path) -> list[str]:
    meta = _unpickle(path)
    names = meta.get("label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != NUM_CLASSES:
        raise _bad_file(path, f"expected a dict whose 'label_names' lists {NUM_CLASSES} names")
    return [name.decode() if isinstance(name, bytes) else str(name) for name in names]


def _read_folder(folder: Path) -> dict[str, Any]:
    """All batches of an extracted ``cifar-10-batches-py`` folder as arrays."""
    train = [_read_batch(folder / name) for name in TRAIN_BATCHES]
    test_rows, y_test = _read_batch(folder / TEST_BATCH)
    return {
        "X_train": _rows_to_images(np.concatenate([rows for rows, _ in train])),
        "y_train": np.concatenate([labels for _, labels in train]),
        "X_test": _rows_to_images(test_rows),
        "y_test": y_test,
        "class_names": _read_class_names(folder / META_FILE),
    }
