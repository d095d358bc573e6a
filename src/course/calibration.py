"""Time that does not depend on how busy the machine is.

Two measurements, both read by the grader (never by the kernel):

* :func:`speed_factor` - how much slower this machine computes than the one the
  limits were set on: a short fixed workload is timed in *CPU* seconds of the
  grader's own thread (``time.thread_time``), which other processes competing for
  the cores barely change, while a slower processor (a Gradescope container)
  raises it. Every limit is multiplied by it (never below 1).
* :class:`KernelClock` - a kernel's *own* time: wall time minus the time its main
  thread waited for a core (``run_delay`` in ``/proc/<pid>/schedstat``). Running
  and sleeping count, waiting behind other processes does not. A student's
  endless loop or ``time.sleep`` is stopped after the same own time on an idle
  and on a saturated machine; a limit that is reached only in wall time is the
  machine's fault ("grader too slow, regrade").
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: CPU seconds :func:`_workload` takes on this project's reference machine (2-core VM, idle).
BASELINE_SECONDS = 0.05

#: Status of a notebook stopped because the grader's machine was too slow (not the student's fault).
GRADER_SLOW = "grader_slow"


def _workload() -> float:
    """A fixed mix of numpy and plain Python work (about 50 ms on the reference machine); CPU seconds."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((160, 160)).astype(np.float32)
    started = time.thread_time()
    for _ in range(20):
        a = np.tanh(a @ a.T * 0.01)
    total = 0
    for i in range(60_000):
        total += i % 7
    return time.thread_time() - started


@functools.lru_cache(maxsize=1)
def speed_factor() -> float:
    """How many times slower than the reference machine this one computes (>= 1).

    ``$COURSE_SPEED_FACTOR`` sets it (tests, or a known slow grader). Otherwise the best
    of five short runs of :func:`_workload`, in CPU seconds, so load hardly matters.
    """
    given = os.environ.get("COURSE_SPEED_FACTOR")
    if given:
        return max(1.0, float(given))
    best = min(_workload() for _ in range(5))
    return max(1.0, best / BASELINE_SECONDS)


@dataclass
class ClockReading:
    """One reading: wall time and how long the kernel's main thread had waited for a core (seconds)."""

    wall: float
    waited: float


class KernelClock:
    """The own time of process ``pid`` (see module docstring); wall time where schedstat is missing."""

    def __init__(self, pid: int | None) -> None:
        self.path = Path(f"/proc/{pid}/schedstat") if pid else None

    def _waited(self) -> float:
        if self.path is None:
            return 0.0
        try:
            return int(self.path.read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    def read(self) -> ClockReading:
        return ClockReading(time.monotonic(), self._waited())

    def own_since(self, start: ClockReading) -> float:
        """Seconds of own time since ``start`` (wall minus waiting for a core)."""
        now = self.read()
        return max(0.0, (now.wall - start.wall) - max(0.0, now.waited - start.waited))

    def waited_since(self, start: ClockReading) -> float:
        """Seconds the kernel waited for a core since ``start``."""
        return max(0.0, self._waited() - start.waited)


def available() -> bool:
    """Whether this machine reports run-queue waits (Linux with schedstat)."""
    return Path("/proc/self/schedstat").exists()
