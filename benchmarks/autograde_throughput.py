"""Autograde throughput: `course autograde --jobs N` against stock `nbgrader autograde`.

Builds one course directory with N generated submissions (reference, partly
answered and buggy students in turn), copies it, grades one copy with each tool,
and prints side by side: wall time, seconds per submission, the peak memory of
the largest process (a grading kernel) and whether the scores agree.

    python benchmarks/autograde_throughput.py --students 20 --jobs 2
    python benchmarks/autograde_throughput.py --students 4 --notebooks 02_layers.ipynb 03_affine_fitting.ipynb
"""

from __future__ import annotations

import argparse
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


def scores(course_dir: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        return {s.id: gradebook.find_submission(ASSIGNMENT, s.id).score for s in gradebook.students}


_MEASURE = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; return (seconds, peak RSS in MB of its largest descendant process)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _MEASURE, *command], cwd=cwd, check=True, capture_output=True,
                            text=True, env={**os.environ, "MPLBACKEND": "Agg", "COURSE_DIR": str(cwd)})
    return time.perf_counter() - started, int(result.stdout.split()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--notebooks", nargs="*", help="limit the course to these notebook files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as folder:
        ours = init_course_dir(Path(folder) / "ours", keys=args.notebooks)
        generate(ours)
        make_submissions(ours, args.students)
        stock = Path(folder) / "stock"
        shutil.copytree(ours, stock)
        print(f"{args.students} submissions x {len(list((ours / 'source' / ASSIGNMENT).glob('*.ipynb')))} notebooks")
        stock_s, stock_mb = timed([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], stock)
        ours_s, ours_mb = timed([sys.executable, "-m", "course.cli", "autograde", "--jobs", str(args.jobs),
                                 "--force"], ours)
        a, b = scores(ours), scores(stock)
        differ = sorted(s for s in a if abs(a[s] - b.get(s, -1)) > 1e-9)
        print(f"{'tool':<34} {'seconds':>8} {'s/submission':>13} {'peak MB':>8}")
        print(f"{'nbgrader autograde (stock)':<34} {stock_s:>8.1f} {stock_s / args.students:>13.2f} {stock_mb:>8.0f}")
        print(f"{f'course autograde --jobs {args.jobs}':<34} {ours_s:>8.1f} {ours_s / args.students:>13.2f} {ours_mb:>8.0f}")
        print(f"speed-up: {stock_s / ours_s:.2f}x; scores identical: {'yes' if not differ else 'no: ' + ', '.join(differ)}")
        for student in differ:
            print(f"  {student}: course {a[student]:g}, nbgrader {b.get(student)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
