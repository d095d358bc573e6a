"""Progress of a grading run over the whole class: submissions done, submissions per minute, ETA.

One bar counts submissions; each notebook that comes back moves it by its share
of its submission (1/6 of one for a six-notebook submission), so the rate and
tqdm's ETA move smoothly even while the first submissions are still running.
Used alike by local and cluster runs.
"""

from __future__ import annotations

import time
from typing import Any

from tqdm.auto import tqdm

BAR_FORMAT = ("{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total_fmt} submissions "
              "[{elapsed}<{remaining}{postfix}]")


class ClassProgress:
    """A tqdm bar for ``submissions`` submissions of ``notebooks[student]`` notebooks each."""

    def __init__(self, notebooks: dict[str, int], *, disable: bool = False, desc: str = "autograding") -> None:
        self.expected = {student: count for student, count in notebooks.items() if count}
        self.bar = tqdm(total=len(self.expected), desc=desc, unit="submission", bar_format=BAR_FORMAT,
                        disable=disable, smoothing=0.1)
        self.complete = 0
        self.in_progress: dict[str, int] = {}  # student -> notebooks back so far (complete ones removed)
        self.position = 0.0  # submissions done, counting the notebooks back of those under way
        self.started = time.monotonic()

    def notebook_done(self, student: str) -> None:
        """Count one notebook of ``student``."""
        if student not in self.expected:
            return
        done = self.in_progress.get(student, 0) + 1
        if done >= self.expected[student]:
            self.in_progress.pop(student, None)
            self.complete += 1
        else:
            self.in_progress[student] = done
        position = self.complete + sum(n / self.expected[s] for s, n in self.in_progress.items())
        self.bar.update(position - self.position)
        self.position = position
        self.bar.set_postfix_str(f"{self.rate_per_minute():.1f} submissions/min", refresh=False)

    def rate_per_minute(self) -> float:
        """Submissions per minute since the start (the figure shown next to tqdm's ETA)."""
        elapsed = time.monotonic() - self.started
        return self.position / elapsed * 60 if elapsed > 0 else 0.0

    def __enter__(self) -> "ClassProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()
