"""``course feedback``: per-student HTML feedback through nbgrader's generate_feedback.

The autograded notebooks it renders were executed without hidden tests (they are
stripped before execution), so feedback shows each student their answers, the
points per question, the public test output and the hidden-test verdicts, never
hidden-test source.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from course.paths import ASSIGNMENT


def feedback(course_dir: Path) -> Path:
    """Generate feedback for every autograded submission; return the feedback folder."""
    course_dir = Path(course_dir).resolve()
    result = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force"],
                            cwd=course_dir, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_feedback failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return course_dir / "feedback"
