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
import signal
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Callable, Mapping

#: One BLAS thread per worker: the workers already run side by side on every core.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _set_environment(changes: dict[str, str]) -> None:
    os.environ.update(changes)
    # Ctrl-C in a terminal reaches every worker: an idle one ignores it (no traceback); a grading job
    # turns it back on while it runs (course.autograde._job) so its kernel and sandbox are cleaned up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class InlineExecutor(Executor):
    """Runs each job at once in this process: one grading process instead of two, where memory is
    scarce (a Gradescope container has 768 MB by default)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # delivered through the future, as a pool would
            future.set_exception(error)
        return future


def pool(jobs: int | None = None, env: Mapping[str, str] | None = None, *,
         in_process: bool = False) -> Executor:
    """A process pool of ``jobs`` workers (default: the CPU count), each with ``env`` added.

    ``in_process=True`` runs the jobs one by one in this process instead, after adding ``env``
    to this process's own environment (for a process that does nothing else, like Gradescope's).
    """
    if in_process:
        _set_environment({**SINGLE_THREADED, **(env or {})})
        return InlineExecutor()
    return ProcessPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_set_environment, initargs=({**SINGLE_THREADED, **(env or {})},))
