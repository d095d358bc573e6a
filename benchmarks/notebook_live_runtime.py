"""How long a student's Run All of a course notebook takes, cell by cell.

Runs a notebook the way a student's Jupyter does (no autograding budget: the
variables ``HWLIB_AUTOGRADE`` and ``NBGRADER_EXECUTION`` are removed from the
kernel's environment; ``HWLIB_HEADLESS=1`` and ``MPLBACKEND=Agg`` keep it
headless), in a scratch copy of the notebook's folder (so cross-notebook imports
work and files it writes, e.g. ``best_model.npz``, stay out of the checkout), and
prints the load average before and after, the slowest cells (wall and kernel CPU
seconds), the total wall time and the kernel's CPU time. Cell times come from nbclient's own execution
timestamps (``record_timing``: ``iopub.execute_input`` to ``shell.execute_reply``).

    python benchmarks/notebook_live_runtime.py                          # notebook 4, reference (hidden tests included)
    python benchmarks/notebook_live_runtime.py --student                # as released: hidden tests stripped
    python benchmarks/notebook_live_runtime.py --set RUN_FULL_EXPERIMENTS=True
    python benchmarks/notebook_live_runtime.py notebooks/06_class_visualization.ipynb --without best_model.npz
    python benchmarks/notebook_live_runtime.py --autograde              # the autograding budget, for comparison

``--student`` removes every ``### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS``
region, as the release does, keeping the reference answers: the run a student
sees once every question is answered. No timing is asserted anywhere: these are
figures to quote (with the load average), not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_NOTEBOOK = REPO / "notebooks" / "04_neural_networks.ipynb"
HIDDEN_REGION = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)
GRADER_VARIABLES = ("HWLIB_AUTOGRADE", "NBGRADER_EXECUTION")


@dataclass
class CellTime:
    """One executed code cell: its position among all cells, a label, its wall and kernel CPU seconds,
    and the error it raised (None: none)."""

    index: int
    label: str
    seconds: float
    cpu_seconds: float | None
    error: str | None


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. "0.52 0.61 0.70" ("n/a" where the OS has none)."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def cell_label(cell: nbformat.NotebookNode) -> str:
    """The nbgrader grade_id of a cell, else its first non-empty line (shortened)."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "(empty)")
    return first if len(first) <= 50 else first[:47] + "..."


def strip_hidden_tests(notebook: nbformat.NotebookNode) -> int:
    """Remove hidden-test regions from code cells in place (what the release does); how many were removed."""
    removed = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source, count = HIDDEN_REGION.subn("", cell.source)
            removed += count
    return removed


def set_variables(notebook: nbformat.NotebookNode, assignments: dict[str, str]) -> None:
    """Rewrite the top-level line ``NAME = ...`` of each given name (e.g. a settings cell's flag).

    Raises ValueError naming a variable no code cell assigns at the start of a line.
    """
    for name, value in assignments.items():
        pattern = re.compile(rf"^{re.escape(name)}\s*=[^\n#]*", re.M)
        hits = 0
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.source, count = pattern.subn(f"{name} = {value}  ", cell.source)
                hits += count
        if not hits:
            raise ValueError(f"--set {name}: no code cell has a line starting with '{name} ='; check the name")


def _seconds(cell: nbformat.NotebookNode) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def cell_times(notebook: nbformat.NotebookNode, cpu: dict[int, float] | None = None) -> list[CellTime]:
    """Seconds of every executed code cell, from nbclient's execution timestamps.

    ``cpu``: kernel CPU seconds by cell index, where they were measured.
    """
    rows = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or "execution" not in cell.metadata:
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        error = f"{errors[0].ename}: {errors[0].evalue[:80]}" if errors else None
        rows.append(CellTime(index, cell_label(cell), _seconds(cell), (cpu or {}).get(index), error))
    return rows


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc; None elsewhere or when it is gone)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_live(path: Path, *, student: bool = False, autograde: bool = False, assignments: dict[str, str] | None = None,
             without: list[str] | None = None, timeout: int = 1800, threads: int | None = None,
             progress: bool = True, save: Path | None = None) -> dict:
    """Execute one notebook in a scratch copy of its folder; return the cell times and totals.

    ``save``: also write the executed notebook (with its outputs) there.
    """
    notebook = nbformat.read(str(path), as_version=4)
    stripped = strip_hidden_tests(notebook) if student else 0
    set_variables(notebook, assignments or {})
    env = {key: value for key, value in os.environ.items() if key not in GRADER_VARIABLES}
    env.update(HWLIB_HEADLESS="1", MPLBACKEND="Agg")
    if autograde:
        env["HWLIB_AUTOGRADE"] = "1"
    if threads:
        env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    with tempfile.TemporaryDirectory(prefix="live-run-") as folder:
        for sibling in path.parent.iterdir():
            if sibling.is_file() and sibling.name not in (without or []):
                shutil.copy2(sibling, Path(folder) / sibling.name)
        # IPC sockets in the scratch folder: nothing listens on the network.
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(folder) / ".kernel"))
        client = NotebookClient(notebook, km=manager, timeout=timeout, allow_errors=True, record_timing=True,
                                resources={"metadata": {"path": folder}})
        load_before, failure, cpu, cell_cpu = load_average(), None, None, {}
        started = time.perf_counter()
        try:
            with client.setup_kernel(env=env, cwd=folder):
                pid = getattr(getattr(manager.provisioner, "process", None), "pid", None)
                for index, cell in enumerate(notebook.cells):
                    before = _cpu_seconds(pid)
                    client.execute_cell(cell, index)
                    cpu = _cpu_seconds(pid)
                    if cell.cell_type == "code" and before is not None and cpu is not None:
                        cell_cpu[index] = cpu - before
                    if progress and cell.cell_type == "code":
                        print(f"  cell {index:>3} {_seconds(cell):7.1f} s  {cell_cpu.get(index, float('nan')):7.1f} "
                              f"CPU-s  {cell_label(cell)}", file=sys.stderr, flush=True)
        except CellTimeoutError:
            failure = f"a cell ran longer than {timeout} s"
        except DeadKernelError:
            failure = "the kernel died"
        wall = time.perf_counter() - started
    if save is not None:
        nbformat.write(notebook, str(save))
    cells = cell_times(notebook, cell_cpu)
    return {"notebook": path.name, "mode": "autograde" if autograde else ("student" if student else "reference"),
            "hidden_regions_removed": stripped, "set": assignments or {}, "without": without or [],
            "load_before": load_before, "load_after": load_average(), "wall_seconds": wall,
            "kernel_cpu_seconds": cpu, "cells_seconds": sum(c.seconds for c in cells), "failure": failure,
            "cells": [asdict(c) for c in cells]}


def report(result: dict, top: int) -> str:
    """The printed summary: load, the slowest cells, errors, totals."""
    lines = [f"{result['notebook']} ({result['mode']}"
             + "".join(f", {k}={v}" for k, v in result["set"].items())
             + "".join(f", without {name}" for name in result["without"]) + ")",
             f"load average before: {result['load_before']}   after: {result['load_after']}  "
             f"({os.cpu_count()} CPUs)", f"{'cell':>5}  {'seconds':>8}  {'CPU-s':>7}  label"]
    ranked = sorted(result["cells"], key=lambda c: -c["seconds"])
    show_cpu = lambda value: f"{value:>7.1f}" if value is not None else f"{'n/a':>7}"  # noqa: E731
    for cell in ranked[:top]:
        lines.append(f"{cell['index']:>5}  {cell['seconds']:>8.1f}  {show_cpu(cell['cpu_seconds'])}  {cell['label']}")
    rest = sum(c["seconds"] for c in ranked[top:])
    rest_cpu = sum(c["cpu_seconds"] or 0.0 for c in ranked[top:])
    lines.append(f"{'':>5}  {rest:>8.1f}  {rest_cpu:>7.1f}  the other {max(len(ranked) - top, 0)} code cells")
    for cell in result["cells"]:
        if cell["error"]:
            lines.append(f"error in cell {cell['index']} ({cell['label']}): {cell['error']}")
    cpu = result["kernel_cpu_seconds"]
    lines.append(f"total: {result['wall_seconds']:.1f} s wall (kernel start included), "
                 f"{result['cells_seconds']:.1f} s in cells, "
                 + (f"{cpu:.1f} s of kernel CPU" if cpu is not None else "kernel CPU n/a"))
    if result["failure"]:
        lines.append(f"FAILED: {result['failure']}")
    return "\n".join(lines)


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier() or not value.strip():
        raise argparse.ArgumentTypeError(f"--set {text!r}: write NAME=VALUE, e.g. RUN_FULL_EXPERIMENTS=True")
    return name.strip(), value.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=[DEFAULT_NOTEBOOK],
                        help="notebooks to run (default: notebooks/04_neural_networks.ipynb)")
    parser.add_argument("--student", action="store_true", help="strip hidden tests first, as the release does")
    parser.add_argument("--autograde", action="store_true", help="run under the autograding budget instead")
    parser.add_argument("--set", dest="assignments", action="append", type=_assignment, default=[],
                        metavar="NAME=VALUE", help="rewrite a top-level assignment, e.g. RUN_FULL_EXPERIMENTS=True")
    parser.add_argument("--without", action="append", default=[], metavar="FILE",
                        help="leave this file out of the scratch folder, e.g. best_model.npz")
    parser.add_argument("--threads", type=int, help="BLAS/OpenMP threads of the kernel (default: the library's own)")
    parser.add_argument("--top", type=int, default=8, help="how many of the slowest cells to list (default 8)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one cell may take (default 1800)")
    parser.add_argument("--quiet", action="store_true", help="do not print each cell to stderr as it finishes")
    parser.add_argument("--json", type=Path, help="also write every cell's time to this file")
    parser.add_argument("--save", type=Path, metavar="FOLDER", help="write the executed notebooks (outputs) there")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)} (give the path of an .ipynb file)")
    results = []
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        result = run_live(path.resolve(), student=args.student, autograde=args.autograde,
                          assignments=dict(args.assignments), without=args.without, timeout=args.timeout,
                          threads=args.threads, progress=not args.quiet,
                          save=args.save / path.name if args.save else None)
        print(report(result, args.top), flush=True)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if any(r["failure"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
