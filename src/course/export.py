"""``course export``: one CSV row per student, a column per question.

Scores come from nbgrader's gradebook (a manual score, where a grader gave one,
overrides the autograder's), so formgrader's manual grades count everywhere.
A written answer nobody has graded yet reads ``pending`` (never 0) and its
points are listed in ``pending_points``. Flags come from each submission's
``grading_report.json``. Students appear under their name as it came from the
LMS (``student``), with the folder name and the LMS user id next to it.

The late policy uses the submission time kept at collection (``timestamp.txt``,
UTC) and a due date (:func:`parse_due`: an ISO date with or without a UTC
offset; without one it is read in ``--timezone``, default the machine's local
time):

* ``none``: no penalty;
* ``zero``: a late submission scores 0;
* ``percent:P``: P percent of the total per started day late (capped at 100).

Export refuses (one line saying what to run) while any collected submission is
ungraded or was graded before its files, the source notebooks or the hidden
tests changed, so a new maximum is never mixed with stale scores. Cells a
spreadsheet would read as a formula are written with a leading ``'``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from course.autograde import GRADER_STATUSES, REPORT, stale_submissions
from course.collect import lms_ids_of, student_name
from course.paths import ASSIGNMENT

PENDING = "pending"

#: First characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class LatePolicy:
    kind: str = "none"  # none | zero | percent
    percent_per_day: float = 0.0

    @classmethod
    def parse(cls, text: str) -> "LatePolicy":
        """``none``, ``zero`` or ``percent:P``; ValueError names ``--late-policy`` and the form."""
        if text in ("none", "zero"):
            return cls(text)
        if text.startswith("percent:"):
            try:
                value = float(text.split(":", 1)[1])
            except ValueError:
                value = math.nan
            if not 0 <= value <= 100:
                raise ValueError(f"--late-policy {text!r}: P must be a number from 0 to 100 "
                                 f"(percent per started day late), e.g. percent:10")
            return cls("percent", value)
        raise ValueError(f"--late-policy {text!r} is not a late policy: use none, zero or percent:P "
                         f"(e.g. percent:10)")

    def penalty(self, total: float, days_late: float) -> float:
        if days_late <= 0 or self.kind == "none":
            return 0.0
        if self.kind == "zero":
            return total
        return min(total, total * self.percent_per_day / 100 * math.ceil(days_late))


def parse_due(text: str, zone: str | None = None) -> tuple[datetime, str]:
    """The due date as an aware UTC datetime, and a sentence saying how ``text`` was read.

    ``text`` is ISO 8601 (``2026-12-01T23:59``, ``2026-12-01 23:59+01:00``,
    ``2026-12-01T22:59Z``). A given offset is converted; a date without one is
    read in ``zone`` (an IANA name such as ``Europe/Berlin``), or in the
    machine's local time when ``zone`` is None.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--due {text!r} is not a date: write it in ISO format, e.g. 2026-12-01T23:59 "
                         f"(local time, or --timezone) or 2026-12-01T23:59+01:00") from None
    if parsed.tzinfo is not None:
        how = f"with its UTC offset {parsed.strftime('%z')}"
    elif zone:
        try:
            parsed = parsed.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"--timezone {zone!r} is not a known time zone: use an IANA name such as "
                             f"Europe/Berlin, America/New_York or UTC") from None
        how = f"in {zone} (UTC{parsed.strftime('%z')})"
    else:
        parsed = parsed.astimezone()  # a naive datetime is the machine's local time
        how = f"in this machine's local time (UTC{parsed.strftime('%z')}; --timezone changes it)"
    due = parsed.astimezone(timezone.utc)
    return due, f"due {text} read {how} = {due.strftime('%Y-%m-%d %H:%M')} UTC"


def neutralise(value: object) -> object:
    """A CSV cell a spreadsheet will not evaluate: text starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export(course_dir: Path, target: Path, *, due: datetime | None = None,
           policy: LatePolicy = LatePolicy()) -> list[dict[str, object]]:
    """Write the grade CSV to ``target``; return its rows (values as computed, not neutralised).

    ``due``: an aware datetime (naive ones are taken as UTC; see :func:`parse_due`).
    """
    from nbgrader.api import Gradebook

    course_dir = Path(course_dir).resolve()
    stale = stale_submissions(course_dir)
    if stale:
        shown = "; ".join(stale[:5]) + (f"; and {len(stale) - 5} more" if len(stale) > 5 else "")
        raise ValueError(f"{len(stale)} submission(s) need grading first ({shown}): run `course autograde`, "
                         f"then export again (nothing was written)")
    due_utc = None
    if due is not None:
        due_utc = (due if due.tzinfo else due.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        due_utc = due_utc.replace(tzinfo=None)  # nbgrader keeps timestamps as naive UTC
    rows: list[dict[str, object]] = []
    columns: list[str] = []
    lms_ids = lms_ids_of(course_dir)
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        assignment = gradebook.find_assignment(ASSIGNMENT)
        for notebook in assignment.notebooks:
            columns.extend(f"{notebook.name}:{cell.name}" for cell in notebook.grade_cells)
        for student in sorted(gradebook.students, key=lambda s: s.id):
            try:
                submission = gradebook.find_submission(ASSIGNMENT, student.id)
            except Exception:
                continue
            row: dict[str, object] = {"student": student_name(student.id), "student_folder": student.id,
                                      "lms_user_id": lms_ids.get(student.id) or student.lms_user_id or ""}
            total = 0.0
            pending = 0.0
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade and grade.manual_score is None:
                        row[f"{notebook.name}:{grade.name}"] = PENDING
                        pending += grade.max_score
                    else:
                        row[f"{notebook.name}:{grade.name}"] = grade.score
                        total += float(grade.score or 0.0)
            report_path = course_dir / "autograded" / student.id / ASSIGNMENT / REPORT
            statuses = json.loads(report_path.read_text())["notebooks"] if report_path.exists() else {}
            days_late = 0.0
            if due_utc is not None and submission.timestamp is not None:
                days_late = max(0.0, (submission.timestamp - due_utc).total_seconds() / 86400)
            penalty = policy.penalty(total, days_late)
            row.update({
                "total": round(total - penalty, 4),
                "max": assignment.max_score,
                "pending_points": pending,
                "late_penalty": round(penalty, 4),
                "late": days_late > 0,
                "timeout": any(s["status"] == "timeout" for s in statuses.values()),
                "error": any(s["status"] in ("error", "invalid", "missing") for s in statuses.values()),
                "grader_problem": any(s["status"] in GRADER_STATUSES for s in statuses.values()),
                "reasons": "; ".join(f"{n}: {s['reason']}" for n, s in statuses.items() if s["reason"]),
            })
            rows.append(row)
    header = ["student", "student_folder", "lms_user_id", *columns, "total", "max", "pending_points",
              "late_penalty", "late", "timeout", "error", "grader_problem", "reasons"]
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({key: neutralise(value) for key, value in row.items()} for row in rows)
    return rows

