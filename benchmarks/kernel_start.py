"""CPU and wall seconds of one grading kernel start, exec vs fork (``$COURSE_KERNEL_START``).

    python benchmarks/kernel_start.py [--starts 20] [--modes exec fork]

Each start is what the grader does for a notebook: a fresh sandbox, a kernel started in it
(:class:`course.kernel_session.KernelSession`, with the hidden set-up), and a first cell that
imports what the notebooks import first. Printed per mode, medians over the starts:

* wall: seconds from asking for the kernel to the first cell's answer;
* cpu: CPU seconds of the grader process, the kernel (with its children), and the zygote's
  fork (fork mode), over the same span.

The zygote itself starts once per grading process; its one-off start is printed apart.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

import nbformat

from course.calibration import stat_fields
from course.kernel_session import KernelSession
from course.pipeline import GRADING_ENV
from course.sandbox import Sandbox, describe

FIRST_CELL = "import numpy as np\nimport matplotlib.pyplot as plt\nfrom hwlib.checks import expect_close\nprint(np.ones(3).sum())"
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int | None) -> float:
    """CPU seconds of ``pid`` and its reaped children (0 when gone or None)."""
    fields = stat_fields(pid) if pid else None
    return sum(int(v) for v in fields[11:15]) / _TICKS if fields else 0.0


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _zygote_pid() -> int | None:
    from course import kernel_fork

    live = [z for z in kernel_fork._zygotes.values() if not z.dead]
    return live[0].pid if live else None


def one_start(env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one kernel start to its first cell's answer."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FIRST_CELL)])
    with Sandbox() as box:
        box.work.mkdir()
        session = KernelSession(notebook, box, cell_timeout=60, env=env)
        zygote = _zygote_pid()
        zygote_before, own_before, began = _cpu(zygote), _own_cpu(), time.monotonic()
        session.start()
        outcome = session.run(0)
        wall = time.monotonic() - began
        cpu = _own_cpu() - own_before + _cpu(session.pid) + (_cpu(zygote) - zygote_before)
        session.stop()
    if outcome.status != "ok":
        raise SystemExit(f"the first cell failed: {outcome}")
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--modes", nargs="+", default=["exec", "fork"], choices=["exec", "fork"])
    args = parser.parse_args(argv)
    env = {**os.environ, **GRADING_ENV, "PYTHONSAFEPATH": "1"}
    print(describe())
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for mode in args.modes:
        os.environ["COURSE_KERNEL_START"] = mode
        if mode == "fork":
            began, before = time.monotonic(), _own_cpu()
            one_start(env)  # starts the zygote
            print(f"fork: first start with the zygote's own start: {time.monotonic() - began:.2f} s wall")
        walls, cpus = zip(*(one_start(env) for _ in range(args.starts)))
        print(f"{mode}: {args.starts} starts, median wall {statistics.median(walls):.2f} s "
              f"(min {min(walls):.2f}), median cpu {statistics.median(cpus):.2f} s (min {min(cpus):.2f}); "
              f"load {os.getloadavg()[0]:.2f}")
        sys.stdout.flush()
    print(f"open descriptors of this grader at the end: {len(os.listdir('/proc/self/fd'))}")


if __name__ == "__main__":
    main()
