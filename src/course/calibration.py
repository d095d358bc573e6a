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
* :class:`CpuClock` - the *computing* time of a kernel and every process it started:
  CPU seconds from ``/proc/<pid>/stat`` (threads, reaped and live children, and,
  with a sandbox user, every process of that user). Timed hidden cases use it: a
  kernel that waits for the grader (a reference stand-in's round trip) or for a
  core is not computing, however slow the grader is.
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


def run_delay(schedstat: Path) -> float:
    """Seconds a process or thread has waited for a core so far, from its ``schedstat`` file (0 if missing)."""
    try:
        return int(schedstat.read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


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
        return run_delay(self.path) if self.path is not None else 0.0

    def read(self) -> ClockReading:
        return ClockReading(time.monotonic(), self._waited())

    def own_since(self, start: ClockReading) -> float:
        """Seconds of own time since ``start`` (wall minus waiting for a core)."""
        now = self.read()
        return max(0.0, (now.wall - start.wall) - max(0.0, now.waited - start.waited))

    def waited_since(self, start: ClockReading) -> float:
        """Seconds the kernel waited for a core since ``start``."""
        return max(0.0, self._waited() - start.waited)


#: Clock ticks per second of ``/proc/<pid>/stat``'s CPU times.
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def stat_fields(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), or None."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu_seconds(fields: list[str]) -> float:
    """utime + stime + cutime + cstime: the process's threads and its reaped children."""
    return sum(int(v) for v in fields[11:15]) / _TICKS


def processes_of(uid: int) -> list[int]:
    """PIDs of every process owned by ``uid`` (zombies included)."""
    found = []
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return found
    for entry in entries:
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _children(pid: int) -> list[int]:
    """Live children of ``pid`` (every thread's), from ``/proc/<pid>/task/*/children``."""
    found: list[int] = []
    try:
        for task in (Path("/proc") / str(pid) / "task").iterdir():
            try:
                found.extend(int(c) for c in (task / "children").read_text().split())
            except (OSError, ValueError):
                continue
    except OSError:
        pass
    return found


class CpuClock:
    """CPU seconds of process ``pid``, its descendants and (given ``uid``) every process of that user.

    A reading is a snapshot ``{pid: cpu seconds}``; :meth:`since` sums, over the processes
    alive now, what each computed since the snapshot (all of it for a process started
    since). A child reaped by the kernel moves its time into the kernel's ``cutime``, so
    nothing computed by the student's processes is lost; a process that left the tree
    (a daemon) is still found through the sandbox user when there is one. Resolution:
    one clock tick (10 ms).
    """

    def __init__(self, pid: int | None, uid: int | None = None) -> None:
        self.pid, self.uid = pid, uid

    def _pids(self) -> set[int]:
        if self.pid is None:
            return set()
        found, todo = set(), [self.pid]
        while todo:
            pid = todo.pop()
            if pid not in found:
                found.add(pid)
                todo.extend(_children(pid))
        if self.uid is not None:
            found.update(processes_of(self.uid))
        return found

    def read(self) -> dict[int, float]:
        snapshot = {}
        for pid in self._pids():
            fields = stat_fields(pid)
            if fields is not None:
                snapshot[pid] = _cpu_seconds(fields)
        return snapshot

    def since(self, start: dict[int, float]) -> float | None:
        """CPU seconds computed since ``start`` (None where this machine has no ``/proc``)."""
        if self.pid is None or not start:
            return None
        now = self.read()
        return sum(max(0.0, seconds - start.get(pid, 0.0)) for pid, seconds in now.items())


def available() -> bool:
    """Whether this machine reports run-queue waits (Linux with schedstat)."""
    return Path("/proc/self/schedstat").exists()
