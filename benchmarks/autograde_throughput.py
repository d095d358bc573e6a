"""Autograde throughput: `course autograde --jobs N` against stock `nbgrader autograde`.

Builds one course directory with N generated submissions (reference, partly
answered and buggy students in turn), copies it, grades one copy with each tool
(and a third with ``course autograde`` and the sandbox switched off, for its
overhead), and prints side by side: wall time, seconds per submission, the peak
memory of the largest process (a grading kernel), the grader's own peak memory
and whether the scores agree; then the seconds per notebook in each grading stage
(kernel start, sanitize, execute, probe, score, write) of stock nbgrader and of
``course autograde`` side by side (stock nbgrader timed by
``_nbgrader_stages.py``, its own code with timers around each stage).

    python benchmarks/autograde_throughput.py --students 20 --jobs 2
    python benchmarks/autograde_throughput.py --students 4 --notebooks 02_layers.ipynb 03_affine_fitting.ipynb
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course import mutants as mutant_catalogue
from course.coursedir import init_course_dir
from course.demo import partly_answered
from course.paths import ASSIGNMENT, NOTEBOOKS
from course.release import generate


def make_submissions(course_dir: Path, count: int) -> None:
    """``count`` students: reference, partial and buggy (a different mutant each time)."""
    source_dir, release_dir = course_dir / "source" / ASSIGNMENT, course_dir / "release" / ASSIGNMENT
    names = sorted(p.name for p in source_dir.glob("*.ipynb"))
    keys = {name: key for key, name in NOTEBOOKS.items()}
    for number in range(count):
        folder = course_dir / "submitted" / f"student{number:03d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        for name in names:
            source = nbformat.read(str(source_dir / name), as_version=4)
            kind = number % 3
            if kind == 1:
                notebook = partly_answered(source, nbformat.read(str(release_dir / name), as_version=4))
            elif kind == 2:
                catalogue = mutant_catalogue.load_mutants(keys[name])
                notebook = mutant_catalogue.apply(source, catalogue[number % len(catalogue)])
            else:
                notebook = source
            nbformat.write(notebook, str(folder / name))


def question_scores(course_dir: Path, student: str) -> dict[str, float]:
    """"notebook/grade_id" -> autograded score of one student's code cells."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return {f"{nb.name}/{g.name}": g.score for nb in submission.notebooks for g in nb.grades
                if g.cell.cell_type == "code"}


def scores(course_dir: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        return {s.id: gradebook.find_submission(ASSIGNMENT, s.id).score for s in gradebook.students}


_MEASURE = ("import resource, subprocess, sys; "
            "r = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True); print(r.stdout); "
            "u = resource.getrusage(resource.RUSAGE_CHILDREN); print(u.ru_utime + u.ru_stime, u.ru_maxrss)")


#: CPU seconds (user + system) of each timed run and every process it waited for, by course folder
CPU_SECONDS: dict[Path, float] = {}


def timed(command: list[str], cwd: Path, **env: str) -> tuple[float, float, str]:
    """Run ``command``; return (seconds, peak RSS in MB of its largest descendant process, its stdout).
    Its CPU seconds go to :data:`CPU_SECONDS` (a machine's load changes them far less than wall time)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _MEASURE, *command], cwd=cwd, check=True, capture_output=True,
                            text=True, env={**os.environ, "MPLBACKEND": "Agg", "COURSE_DIR": str(cwd), **env})
    output, _, last = result.stdout.rstrip().rpartition("\n")
    cpu, peak = last.split()
    CPU_SECONDS[cwd] = float(cpu)
    return time.perf_counter() - started, int(peak) / 1024, output


STAGES = ("kernel start", "sanitize", "execute", "probe", "score", "write")
STOCK_STAGES = Path(__file__).with_name("_nbgrader_stages.py")


def parse_stages(output: str) -> dict[str, float]:
    """The ``seconds per notebook by stage: kernel start 1.20, ...`` line of ``course autograde``."""
    line = next((l for l in output.splitlines() if l.startswith("seconds per notebook by stage:")), "")
    found = {}
    for part in line.split(":", 1)[-1].split(","):
        name, _, value = part.strip().rpartition(" ")
        if name:
            found[name] = float(value)
    return found


def stage_table(columns: dict[str, dict[str, float]]) -> list[str]:
    """Seconds per notebook by stage, one column per grader, with totals."""
    widths = [max(12, len(name) + 2) for name in columns]
    lines = [f"{'stage (s per notebook)':<24}" + "".join(f"{n:>{w}}" for n, w in zip(columns, widths))]
    for stage in (*STAGES, "total"):
        values = [sum(c.values()) if stage == "total" else c.get(stage, 0.0) for c in columns.values()]
        lines.append(f"{stage:<24}" + "".join(f"{v:>{w}.2f}" for v, w in zip(values, widths)))
    return lines


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _peak_line(output: str) -> str:
    """The ``peak memory: ...`` line ``course autograde`` prints at the end."""
    return next((line for line in output.splitlines() if line.startswith("peak memory")), "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--notebooks", nargs="*", help="limit the course to these notebook files")
    parser.add_argument("--keep", help="build the course directories in this (new) folder and keep them")
    parser.add_argument("--compare-exec", action="store_true",
                        help="also grade with COURSE_KERNEL_START=exec (a new interpreter per kernel)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as scratch:
        folder = args.keep or scratch
        Path(folder).mkdir(parents=True, exist_ok=True)
        ours = init_course_dir(Path(folder) / "ours", keys=args.notebooks)
        generate(ours)
        make_submissions(ours, args.students)
        stock, plain = Path(folder) / "stock", Path(folder) / "no-sandbox"
        shutil.copytree(ours, stock)
        shutil.copytree(ours, plain)
        execd = Path(folder) / "exec-start"
        if args.compare_exec:
            shutil.copytree(ours, execd)
        print(f"{args.students} submissions x {len(list((ours / 'source' / ASSIGNMENT).glob('*.ipynb')))} notebooks")
        ours_command = [sys.executable, "-m", "course.cli", "autograde", "--jobs", str(args.jobs), "--force"]
        print(f"load average at start (1, 5, 15 min): {load_average()}")
        stock_json = Path(folder) / "stock-stages.json"
        stock_s, stock_mb, _ = timed([sys.executable, str(STOCK_STAGES), str(stock_json), "autograde", ASSIGNMENT,
                                      "--force"], stock)
        ours_s, ours_mb, ours_out = timed(ours_command, ours)
        plain_s, plain_mb, plain_out = timed(ours_command, plain, COURSE_SANDBOX="off")
        if args.compare_exec:
            exec_s, exec_mb, exec_out = timed(ours_command, execd, COURSE_KERNEL_START="exec")
        a, b, c = scores(ours), scores(stock), scores(plain)
        differ = sorted(s for s in a if abs(a[s] - b.get(s, -1)) > 1e-9)
        print(f"{'tool':<40} {'seconds':>8} {'s/submission':>13} {'peak MB':>8} {'CPU s':>8}")
        rows = [("nbgrader autograde (stock)", stock_s, stock_mb, CPU_SECONDS[stock]),
                (f"course autograde --jobs {args.jobs}", ours_s, ours_mb, CPU_SECONDS[ours]),
                (f"course autograde --jobs {args.jobs}, no sandbox", plain_s, plain_mb, CPU_SECONDS[plain])]
        if args.compare_exec:
            rows.append((f"course autograde --jobs {args.jobs}, exec start", exec_s, exec_mb, CPU_SECONDS[execd]))
        for tool, seconds, megabytes, cpu in rows:
            print(f"{tool:<40} {seconds:>8.1f} {seconds / args.students:>13.2f} {megabytes:>8.0f} {cpu:>8.1f}")
        print(f"speed-up over stock nbgrader: {stock_s / ours_s:.2f}x; scores identical: "
              f"{'yes' if not differ else 'no: ' + ', '.join(differ)}")
        print(f"sandbox overhead: {(ours_s - plain_s) / args.students:+.2f} s per submission "
              f"({ours_s / plain_s - 1:+.0%}); scores with and without it identical: {'yes' if a == c else 'no'}")
        if args.compare_exec:
            e = scores(execd)
            print(f"fork over exec kernel start: {exec_s / ours_s:.2f}x in wall time, "
                  f"{CPU_SECONDS[execd] / CPU_SECONDS[ours]:.2f}x in CPU time; scores identical: {'yes' if e == a else 'no'}")
        print(f"course autograde {_peak_line(ours_out)}")
        measured = json.loads(stock_json.read_text())
        stock_stages = {k: v / max(1, measured["notebooks"]) for k, v in measured["seconds"].items()}
        for line in stage_table({"nbgrader (stock)": stock_stages,
                                 f"course --jobs {args.jobs}": parse_stages(ours_out),
                                 f"course --jobs {args.jobs}, no sandbox": parse_stages(plain_out),
                                 **({f"course --jobs {args.jobs}, exec start": parse_stages(exec_out)}
                                    if args.compare_exec else {})}):
            print(line)
        print(f"(time inside each grading process; course runs {args.jobs} at once. "
              f"Load average at the end: {load_average()})")
        for student in differ:
            ours_q, stock_q = question_scores(ours, student), question_scores(stock, student)
            where = ", ".join(f"{q} {ours_q[q]:g} vs {stock_q.get(q)}" for q in sorted(ours_q)
                              if ours_q[q] != stock_q.get(q))
            print(f"  {student}: course {a[student]:g}, nbgrader {b.get(student)} ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
