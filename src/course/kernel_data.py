"""Data a sandboxed grading kernel may read, prepared by the trusted grader.

The kernel cannot write the user's cache, see home folders or download
anything, so the grader copies the extracted CIFAR-10 batches once per grading
run into a world-readable folder, exposed read-only to every kernel and named
by ``HWLIB_CIFAR10`` in the kernel's environment. Workers find the folder
through ``$COURSE_KERNEL_DATA``, set by the process that made it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

ENV = "COURSE_KERNEL_DATA"
CIFAR_FOLDER = "cifar-10-batches-py"
MNIST_FOLDER = "mnist"


def _mnist_files() -> list[Path]:
    """The MNIST IDX files hwlib would read ($HWLIB_MNIST or a complete cache), without downloading."""
    from hwlib.download import data_dir
    from hwlib.mnist import SOURCE_ENV

    folder = Path(os.environ[SOURCE_ENV]) if os.environ.get(SOURCE_ENV) else data_dir() / "mnist"
    return sorted(p for p in folder.glob("*-idx?-ubyte*") if p.is_file()) if folder.is_dir() else []


@lru_cache(maxsize=1)
def prepare() -> Path | None:
    """The folder with the kernels' data (made on first use), or None when there is no CIFAR-10 here."""
    if os.environ.get(ENV) and (Path(os.environ[ENV]) / CIFAR_FOLDER).is_dir():
        return Path(os.environ[ENV])
    from hwlib.cifar import locate_cifar10

    try:
        batches = locate_cifar10()
    except Exception:  # no data, no network: notebooks that need CIFAR-10 will say so
        return None
    target = Path(tempfile.mkdtemp(prefix="course-data-"))
    atexit.register(shutil.rmtree, target, True)
    shutil.copytree(batches, target / CIFAR_FOLDER)
    mnist_files = _mnist_files()
    if mnist_files:
        (target / MNIST_FOLDER).mkdir()
        for path in mnist_files:
            shutil.copy2(path, target / MNIST_FOLDER / path.name)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    os.environ[ENV] = str(target)
    return target


def kernel_env() -> dict[str, str]:
    """Environment entries that point a kernel's hwlib at the prepared data."""
    folder = prepare()
    if not folder:
        return {}
    env = {"HWLIB_CIFAR10": str(folder / CIFAR_FOLDER)}
    if (folder / MNIST_FOLDER).is_dir():
        env["HWLIB_MNIST"] = str(folder / MNIST_FOLDER)
    return env


def read_only_paths() -> list[str]:
    """Paths to expose read-only inside the sandbox."""
    folder = prepare()
    return [str(folder)] if folder else []
