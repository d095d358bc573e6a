"""Worker pools for grading jobs.

Workers are started with "spawn", not Linux's default "fork": forking a process
that runs threads (pytest-xdist, Jupyter clients, tqdm's monitor) can copy a
held lock into the child, which then waits on it forever. Spawned workers start
clean; each one sets its own environment before anything imports numpy, so the
caller's process is never changed.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Mapping

#: One BLAS thread per worker: the workers already run side by side on every core.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _set_environment(changes: dict[str, str]) -> None:
    os.environ.update(changes)


def pool(jobs: int | None = None, env: Mapping[str, str] | None = None) -> ProcessPoolExecutor:
    """A process pool of ``jobs`` workers (default: the CPU count), each with ``env`` added."""
    return ProcessPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_set_environment, initargs=({**SINGLE_THREADED, **(env or {})},))
