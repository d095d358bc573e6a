"""Load MNIST from the official IDX files (gzip-compressed or raw), downloading them if needed.

Where the data comes from, in order: ``root`` if given, else the folder named by
the environment variable ``HWLIB_MNIST``, else the cache
(``$HWLIB_DATA_DIR/mnist``, default ``~/.cache/hwlib/mnist``), downloading the four
``.gz`` files from :data:`MNIST_URL` the first time (unless ``download=False``).

Checksum policy (same as CIFAR-10): downloaded files must match the official md5s
in :data:`MNIST_MD5` or they are discarded; files in a user-supplied folder are
accepted when they parse as consistent IDX files.

A local folder that holds only the official *test* set (``t10k-*``, 10,000 images,
e.g. a copy made for machines without internet) still works: its images are split
at random (a fixed seed) into :data:`TEST_ONLY_TRAIN` training and the rest test
images, and ``info["note"]`` says so, so that nobody mistakes those accuracies for
figures on the official split.

IDX format: a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order.
MNIST images have magic 2051 (uint8, 3 dims), labels 2049 (uint8, 1 dim).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from hwlib.download import DatasetError, data_dir, download_file

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: Official md5 of each compressed file.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
#: Environment variable naming a local folder with the four files.
SOURCE_ENV = "HWLIB_MNIST"
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
IMAGE_SIDE = 28
NUM_CLASSES = 10
#: With a test-set-only folder: training images taken from the 10,000 (the rest are the test set).
TEST_ONLY_TRAIN = 8000
#: Seed of the permutation that splits a test-set-only folder.
TEST_ONLY_SEED = 0

#: IDX type code -> element dtype (stored big-endian).
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> tuple[int, np.ndarray]:
    """Parse one IDX file, gzip-compressed or raw (detected from its first bytes).

    Input: path of the file.
    Output: (magic number, array with the dimensions from the header, native byte order).
    Raises: DatasetError when the file is not IDX, is truncated or has extra bytes.
    """
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path} cannot be read as a (gzip) IDX file ({exc}). Replace it with a good copy.") from exc
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise DatasetError(
            f"{path} is not an IDX file: its first bytes are {raw[:4].hex()}, expected 0000 followed "
            f"by a type code and a number of dimensions. Replace it with a good copy."
        )
    magic, ndim = int.from_bytes(raw[:4], "big"), raw[3]
    header_bytes = 4 + 4 * ndim
    if len(raw) < header_bytes:
        raise DatasetError(f"{path} is truncated inside its header. Replace it with a good copy.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header_bytes != expected:
        raise DatasetError(
            f"{path} holds {len(raw) - header_bytes:,} bytes of values but its header {shape} needs "
            f"{expected:,}: the file is truncated or damaged. Replace it with a good copy."
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header_bytes).reshape(shape)
    return magic, values.astype(dtype.newbyteorder("="))


def download_mnist(directory: str | os.PathLike | None = None, *, progress: bool | None = None) -> Path:
    """Fetch the four official ``.gz`` files into ``directory`` (default: the cache), skipping ones present.

    Each file is verified against :data:`MNIST_MD5` and written atomically.
    Output: the folder. Raises DatasetError on a failed or corrupted download.
    """
    folder = Path(directory).expanduser() if directory is not None else data_dir() / "mnist"
    hint = f"To work offline, copy the four files another way into a folder and set {SOURCE_ENV} to it."
    for name, md5 in MNIST_MD5.items():
        if not (folder / name).is_file():
            download_file(MNIST_URL + name, folder / name, md5=md5, hint=hint, progress=progress)
    return folder


def _find(folder: Path, stem: str, hint: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{folder} has no {stem} (nor {stem}.gz). {hint}")


def _load_split(folder: Path, prefix: str, hint: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 28, 28), labels int64 (n,)) of one split, with consistency checks."""
    images_path = _find(folder, f"{prefix}-images-idx3-ubyte", hint)
    labels_path = _find(folder, f"{prefix}-labels-idx1-ubyte", hint)
    magic, images = read_idx(images_path)
    if magic != IMAGES_MAGIC or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DatasetError(
            f"{images_path} should hold uint8 images (magic {IMAGES_MAGIC}, shape (n, 28, 28)), "
            f"got magic {magic} and shape {images.shape}. Is it the right file?"
        )
    magic, labels = read_idx(labels_path)
    if magic != LABELS_MAGIC:
        raise DatasetError(
            f"{labels_path} should hold uint8 labels (magic {LABELS_MAGIC}), got magic {magic}. Is it the right file?"
        )
    if len(labels) != len(images):
        raise DatasetError(
            f"{images_path.name} has {len(images):,} images but {labels_path.name} has {len(labels):,} "
            f"labels; the two files come from different sets. Replace them with matching copies."
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DatasetError(f"{labels_path} has label {labels.max()}, expected 0..{NUM_CLASSES - 1}.")
    return images, labels.astype(np.int64)


def _has_split(folder: Path, prefix: str) -> bool:
    return any((folder / f"{prefix}-{kind}-idx{d}-ubyte{gz}").is_file()
               for kind, d in (("images", 3),) for gz in ("", ".gz"))


def split_test_only(images: np.ndarray, labels: np.ndarray, *, num_train: int | None = None,
                    seed: int = TEST_ONLY_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split one labelled set into (X_train, y_train, X_test, y_test) by a seeded permutation.

    Inputs: images (n, 28, 28), labels (n,); num_train in 1..n-1 images go to training
        (None: :data:`TEST_ONLY_TRAIN`).
    Output: the two parts, in permuted order (inputs are not modified).
    """
    num_train = TEST_ONLY_TRAIN if num_train is None else num_train
    if not 0 < num_train < len(images):
        raise ValueError(f"num_train must be between 1 and {len(images) - 1} for {len(images)} images, got {num_train}")
    order = np.random.default_rng(seed).permutation(len(images))
    train, test = order[:num_train], order[num_train:]
    return images[train], labels[train], images[test], labels[test]


def load_mnist(root: str | os.PathLike | None = None, *, download: bool = True) -> dict[str, Any]:
    """Load MNIST digits as uint8 images and int64 labels.

    Inputs:
        root: folder with ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
            ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``, or with the two
            ``t10k`` files only (the test set is then split, see the module docstring).
            None means ``$HWLIB_MNIST`` if set, else the cache.
        download: when the cache lacks files, fetch them (else raise).
    Output: dict with X_train uint8 (N, 28, 28), y_train int64 (N,), X_test, y_test,
        class_names ["0", ..., "9"], and info: source (folder or URL), official_split
        (False for a split test set) and note (one sentence saying where the images came from).
    Raises: DatasetError naming the file and what to do.
    """
    source = root if root is not None else os.environ.get(SOURCE_ENV) or None
    if source is not None:
        origin = "root" if root is not None else SOURCE_ENV
        folder = Path(source).expanduser()
        hint = f"Put the four MNIST IDX files (or at least the two t10k files) in the folder that {origin} names."
        if not folder.is_dir():
            raise DatasetError(f"{origin}={folder} is not a folder. {hint}")
        where = str(folder)
    else:
        folder = download_mnist() if download else data_dir() / "mnist"
        hint = f"Call load_mnist(download=True) to fetch MNIST into the cache, or set {SOURCE_ENV} to a local copy."
        where = str(folder) if not download else f"{MNIST_URL} (cached in {folder})"
    X_test, y_test = _load_split(folder, "t10k", hint)
    if source is not None and not _has_split(folder, "train"):
        X_train, y_train, X_test, y_test = split_test_only(X_test, y_test)
        note = (f"MNIST from {where}: only the official test set is there ({len(X_train) + len(X_test):,} images), "
                f"so it was split at random (seed {TEST_ONLY_SEED}) into {len(X_train):,} training and "
                f"{len(X_test):,} test images. Accuracies on this split are not comparable with published MNIST "
                f"figures (60,000 training images); point {SOURCE_ENV} at a folder with all four files, or unset "
                f"it to download them, for the official split.")
        official = False
    else:
        X_train, y_train = _load_split(folder, "train", hint)
        note = (f"MNIST from {where}: the official split, {len(X_train):,} training and "
                f"{len(X_test):,} test images.")
        official = True
    return {
        "X_train": X_train,
        "y_train": y_train,
        "X_test": X_test,
        "y_test": y_test,
        "class_names": [str(digit) for digit in range(NUM_CLASSES)],
        "info": {"source": where, "official_split": official, "note": note},
    }
