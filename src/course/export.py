"""``course export``: one CSV row per student, a column per question.

Scores come from nbgrader's gradebook (a manual score, where a grader gave one,
overrides the autograder's), so formgrader's manual grades count everywhere.
Flags come from each submission's ``grading_report.json``. The late policy uses
the submission time kept at collection (``timestamp.txt``):

* ``none``: no penalty;
* ``zero``: a late submission scores 0;
* ``percent:P``: P percent of the total per started day late (capped at 100).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from course.autograde import REPORT
from course.paths import ASSIGNMENT


@dataclass(frozen=True)
class LatePolicy:
    kind: str = "none"  # none | zero | percent
    percent_per_day: float = 0.0

    @classmethod
    def parse(cls, text: str) -> "LatePolicy":
        if text in ("none", "zero"):
            return cls(text)
        if text.startswith("percent:"):
            value = float(text.split(":", 1)[1])
            if not 0 <= value <= 100:
                raise ValueError("percent per day must be between 0 and 100")
            return cls("percent", value)
        raise ValueError(f"unknown late policy {text!r}: use none, zero or percent:P (e.g. percent:10)")

    def penalty(self, total: float, days_late: float) -> float:
        if days_late <= 0 or self.kind == "none":
            return 0.0
        if self.kind == "zero":
            return total
        return min(total, total * self.percent_per_day / 100 * math.ceil(days_late))


def export(course_dir: Path, target: Path, *, due: datetime | None = None,
           policy: LatePolicy = LatePolicy()) -> list[dict[str, object]]:
    """Write the grade CSV to ``target``; return its rows."""
    from nbgrader.api import Gradebook

    course_dir = Path(course_dir).resolve()
    rows: list[dict[str, object]] = []
    columns: list[str] = []
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        assignment = gradebook.find_assignment(ASSIGNMENT)
        for notebook in assignment.notebooks:
            columns.extend(f"{notebook.name}:{cell.name}" for cell in notebook.grade_cells)
        for student in sorted(gradebook.students, key=lambda s: s.id):
            try:
                submission = gradebook.find_submission(ASSIGNMENT, student.id)
            except Exception:
                continue
            row: dict[str, object] = {"student": student.id}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    row[f"{notebook.name}:{grade.name}"] = grade.score
            total = sum(float(v) for k, v in row.items() if k != "student" and v is not None)
            report_path = course_dir / "autograded" / student.id / ASSIGNMENT / REPORT
            statuses = json.loads(report_path.read_text())["notebooks"] if report_path.exists() else {}
            days_late = 0.0
            if due is not None and submission.timestamp is not None:
                days_late = max(0.0, (submission.timestamp - due.replace(tzinfo=None)).total_seconds() / 86400)
            penalty = policy.penalty(total, days_late)
            row.update({
                "total": round(total - penalty, 4),
                "max": assignment.max_score,
                "late_penalty": round(penalty, 4),
                "late": days_late > 0,
                "timeout": any(s["status"] == "timeout" for s in statuses.values()),
                "error": any(s["status"] in ("error", "invalid", "missing") for s in statuses.values()),
                "reasons": "; ".join(f"{n}: {s['reason']}" for n, s in statuses.items() if s["reason"]),
            })
            rows.append(row)
    header = ["student", *columns, "total", "max", "late_penalty", "late", "timeout", "error", "reasons"]
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return rows
