"""Worker pools for grading jobs.

Workers are started with "spawn", not Linux's default "fork": forking a process
that runs threads (pytest-xdist, Jupyter clients, tqdm's monitor) can copy a
held lock into the child, which then waits on it forever. Spawned workers start
clean and inherit only the environment.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor


def pool(jobs: int | None = None) -> ProcessPoolExecutor:
    """A process pool of ``jobs`` workers (default: the CPU count)."""
    return ProcessPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1),
                               mp_context=multiprocessing.get_context("spawn"))
