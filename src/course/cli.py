"""The ``course`` command: the instructor's pipeline on top of nbgrader.

Each subcommand works on a course directory (``--course-dir``, default: the
current directory) in nbgrader's layout.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

FORMGRADER_HELP = """Manually graded answers (the written questions) are graded in nbgrader's formgrader:

  cd {course_dir}
  jupyter lab          # then open the "Formgrader" entry in the Nbgrader menu

Scores you give there are read by `course export` (a manual score overrides the
autograder's for that cell), so they count everywhere grades appear."""


def _course_dir(args: argparse.Namespace, *, released: bool = False) -> Path:
    """The course directory of a command; ValueError (nothing written) when it is not one.

    ``released``: the command also needs the gradebook that ``course release`` makes.
    """
    from course.coursedir import check_course_dir

    return check_course_dir(Path(args.course_dir), released=released)


def cmd_init(args: argparse.Namespace) -> None:
    from course.coursedir import init_course_dir

    root = init_course_dir(Path(args.directory))
    print(f"created {root}: source notebooks in source/backprop, hidden tests in autograder/tests")


def cmd_release(args: argparse.Namespace) -> None:
    from course.release import release

    course_dir = _course_dir(args)
    if not args.skip_execution_check:
        from course.autograde import require_data

        require_data(course_dir, "the release's execution check")
    path = release(course_dir, run_check=not args.skip_execution_check, jobs=args.jobs,
                   colab_url=args.colab_url)
    if args.skip_execution_check:
        print(f"release ready: {path} (no leaks; the notebooks were NOT executed: --skip-execution-check)")
    else:
        print(f"release ready: {path} (no leaks; every release notebook runs)")
    from course.autograde import stale_submissions

    stale = [s for s in stale_submissions(course_dir) if "changed after grading" in s]
    if stale:
        print(f"warning: {len(stale)} submission(s) were graded with the earlier source notebooks or hidden "
              f"tests; run `course autograde` to regrade them (`course export` waits for it)")


def cmd_collect(args: argparse.Namespace) -> None:
    from course.collect import DEFAULT_PATTERN, collect

    print(collect(_course_dir(args), Path(args.source), pattern=args.pattern or DEFAULT_PATTERN).summary())
    print("next: course autograde")


def cmd_autograde(args: argparse.Namespace) -> None:
    from course.autograde import autograde
    from course.pipeline import Limits, no_limit_if_zero

    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs {args.jobs}: give at least 1 worker")
    reports = autograde(_course_dir(args, released=True), jobs=args.jobs, force=args.force, students=args.student,
                        cluster=args.cluster,
                        limits=Limits(args.cell_timeout, args.notebook_timeout,
                                      submission_timeout=no_limit_if_zero(args.submission_timeout)))
    from course.collect import student_name

    for report in sorted(reports, key=lambda r: r.student):
        problems = [f"{n}: {r.reason}" for n, r in report.notebooks.items() if r.status != "graded"]
        print(f"  {student_name(report.student):<16} {report.score:g} autograded points"
              + (f"  ({'; '.join(problems)})" if problems else ""))
    print(FORMGRADER_HELP.format(course_dir=_course_dir(args)).splitlines()[0])


def cmd_feedback(args: argparse.Namespace) -> None:
    from course.feedback import feedback

    print(f"feedback written to {feedback(_course_dir(args, released=True), student=args.student)}")


def cmd_formgrader(args: argparse.Namespace) -> None:
    print(FORMGRADER_HELP.format(course_dir=_course_dir(args)))


def cmd_export(args: argparse.Namespace) -> None:
    from course.demo import format_table
    from course.export import LatePolicy, export

    from course.export import parse_due

    course_dir = _course_dir(args, released=True)
    policy = LatePolicy.parse(args.late_policy)
    due = None
    if args.due:
        due, how = parse_due(args.due, args.timezone)
        print(how)
    elif policy.kind != "none":
        raise ValueError(f"--late-policy {args.late_policy} needs --due (e.g. --due 2026-12-01T23:59)")
    rows = export(course_dir, Path(args.output), due=due, policy=policy)
    print(format_table(rows))
    print(f"wrote {args.output}")


def cmd_gradescope_build(args: argparse.Namespace) -> None:
    from course.gradescope import build

    cifar = Path(args.cifar) if args.cifar else None
    path = build(_course_dir(args, released=True), Path(args.output), cifar_archive=cifar,
                 without_data=args.without_data)
    print(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment")


def cmd_gradescope_run(args: argparse.Namespace) -> None:
    import json

    from course.gradescope import run_local

    for given, what in ((Path(args.zip), "the autograder zip"), (Path(args.submission), "the submission folder")):
        if not given.exists():
            raise ValueError(f"{given} does not exist: pass {what}")
    result = run_local(Path(args.zip), Path(args.submission), keep=Path(args.keep) if args.keep else None,
                       memory_mb=args.memory_mb or None)
    print(json.dumps({k: result[k] for k in ("score", "execution_time", "leaderboard") if k in result}, indent=1))
    for test in result["tests"]:
        print(f"  {test['name']:<52} {test['score']:g}/{test['max_score']:g}")
    print("results.json follows Gradescope's specification")


def cmd_gradescope_grade(args: argparse.Namespace) -> None:
    from course.gradescope import grade

    grade(_course_dir(args), Path(args.submission), Path(args.results))


def cmd_demo(args: argparse.Namespace) -> None:
    from course.demo import run_demo

    run_demo(Path(args.directory) if args.directory else None, jobs=args.jobs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course-dir", default=".", help="the course directory (default: current directory)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create a course directory with the source notebooks and configuration")
    p.add_argument("directory")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("release", parents=[common], help="generate the student version, leak-check it, bundle it")
    p.add_argument("--skip-execution-check", action="store_true", help="do not execute the release notebooks")
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--colab-url", default=None, metavar="GITHUB_FOLDER",
                   help="GitHub folder holding the release notebooks: the student README gets Open-in-Colab links")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("collect", parents=[common], help="import submissions from an LMS zip or a folder")
    p.add_argument("source", help="zip archive or folder")
    p.add_argument("--pattern", help="regex with a named group 'student' matched against each path")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("autograde", parents=[common], help="grade every collected submission")
    p.add_argument("--jobs", type=int, default=os.cpu_count(), help="parallel workers (default: CPU count)")
    p.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); "
                        "this machine still writes the gradebook and reports (needs the 'cluster' extra)")
    p.add_argument("--cell-timeout", type=int, default=120,
                   help="own seconds per cell (waits for a busy CPU do not count; capped per notebook)")
    p.add_argument("--notebook-timeout", type=int, default=600,
                   help="own seconds per notebook (capped per notebook, see docs/ARCHITECTURE.md)")
    p.add_argument("--submission-timeout", type=int, default=1800,
                   help="seconds per submission, from its first notebook on (0: no limit)")
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("feedback", parents=[common], help="per-student HTML feedback")
    p.add_argument("--student", metavar="ID", help="only this student's feedback (default: everyone's)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("formgrader", parents=[common], help="how to grade the written answers")
    p.set_defaults(func=cmd_formgrader)

    p = sub.add_parser("export", parents=[common], help="CSV of grades with late/timeout/error flags")
    p.add_argument("--output", default="grades.csv")
    p.add_argument("--due", help="due date, ISO format: 2026-12-01T23:59 is read in --timezone (default: this "
                                 "machine's local time); 2026-12-01T23:59+01:00 or ...Z is converted from its "
                                 "offset; the output says how it was read")
    p.add_argument("--timezone", help="IANA time zone for a --due without offset, e.g. Europe/Berlin "
                                      "(default: local time)")
    p.add_argument("--late-policy", default="none", help="none | zero | percent:P (P%% per started day)")
    p.set_defaults(func=cmd_export)

    gradescope = sub.add_parser("gradescope", help="build, run and grade with a Gradescope autograder zip")
    gsub = gradescope.add_subparsers(dest="gradescope_command", required=True)
    p = gsub.add_parser("build", parents=[common], help="write the autograder zip")
    p.add_argument("--output", default="gradescope-autograder.zip")
    p.add_argument("--cifar", help="CIFAR-10 archive to include (default: $HWLIB_CIFAR10)")
    p.add_argument("--without-data", action="store_true",
                   help="build without CIFAR-10 (each container then downloads 163 MB from the official site)")
    p.set_defaults(func=cmd_gradescope_build)
    p = gsub.add_parser("run", help="run a zip locally as Gradescope would, and validate results.json")
    p.add_argument("zip")
    p.add_argument("submission", help="folder with the student's files")
    p.add_argument("--keep", help="use this folder as the container root and keep it (reuses its virtualenv); "
                                  "without it, the temporary root is deleted afterwards")
    p.add_argument("--memory-mb", type=int, default=768,
                   help="limit the grading run's memory like the container (default: Gradescope's 768; "
                        "0: no limit); needs root and a memory cgroup")
    p.set_defaults(func=cmd_gradescope_run)
    p = gsub.add_parser("grade", parents=[common], help="(inside the container) grade one submission")
    p.add_argument("--submission", required=True)
    p.add_argument("--results", required=True)
    p.set_defaults(func=cmd_gradescope_grade)

    p = sub.add_parser("demo", help="the whole pipeline offline on generated submissions")
    p.add_argument("--directory", help="where to build the demo (default: a new temporary folder)")
    p.add_argument("--jobs", type=int, default=2)
    p.set_defaults(func=cmd_demo)
    return parser


def _exit_now(code: int) -> None:
    """Leave at once after Ctrl-C: run the clean-up handlers (temporary data copies), flush, and skip
    the interpreter's slow teardown of every imported module."""
    import atexit

    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # nbgrader runs `alembic` (installed next to this Python) when it makes a gradebook: find it
    # whether or not the virtualenv is activated (`.venv/bin/course ...` works as well).
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    try:
        args.func(args)
    except KeyboardInterrupt as interrupt:
        message = str(interrupt) or "interrupted; nothing already saved was lost"
        print(f"\ncourse {args.command}: {message}", file=sys.stderr)
        if argv is None:  # the `course` command itself (not a caller passing arguments)
            _exit_now(130)
        return 130
    except (FileNotFoundError, FileExistsError, ValueError, RuntimeError) as error:
        print(f"course {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
