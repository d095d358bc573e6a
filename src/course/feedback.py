"""``course feedback``: per-student HTML feedback through nbgrader's generate_feedback.

The autograded notebooks it renders were executed without hidden tests (they are
stripped before execution), so feedback shows each student their answers, the
points per question, the public test output and the hidden-test verdicts, never
hidden-test source.

On top of nbgrader's own feedback (see :class:`FeedbackExtras` and the
``course_feedback`` template next to this module):

* written answers nobody graded yet read "pending: graded by hand later", not 0;
* the page is self-contained: math is rendered to MathML here (browsers draw it
  natively, no MathJax download), images are embedded, and no script is loaded;
* student HTML and JavaScript outputs are sanitised (:mod:`course.sanitize`).
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from course.paths import ASSIGNMENT
from course.sanitize import sanitize_notebook

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: Code that markdown shows literally: fenced blocks and inline code spans.
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]+`)", re.S)
#: Display math ($$...$$ or \[...\]) and inline math ($...$, not \$, no space inside the dollars).
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\d)")


def latex_to_mathml(latex: str, *, display: bool) -> str:
    """MathML for one formula; the formula as escaped code when it cannot be converted."""
    from latex2mathml.converter import convert

    latex = html.unescape(latex).strip()
    try:
        return convert(latex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - an unsupported macro shows its source rather than nothing
        return f"<code>{html.escape(latex)}</code>"


def render_math(markdown: str) -> str:
    """``markdown`` with every ``$...$``, ``$$...$$`` and ``\\[...\\]`` outside code replaced by MathML."""
    parts = _CODE.split(markdown)
    for index in range(0, len(parts), 2):  # even parts are outside code
        text = _DISPLAY.sub(lambda m: latex_to_mathml(m.group(1) or m.group(2), display=True), parts[index])
        parts[index] = _INLINE.sub(lambda m: latex_to_mathml(m.group(1), display=False), text)
    return "".join(parts)


class FeedbackExtras(Preprocessor):
    """After nbgrader's GetGrades: sanitise, mark pending written answers, render math to MathML."""

    enabled = Bool(True).tag(config=True)  # nbconvert registers preprocessors disabled unless they say so

    def preprocess(self, nb, resources):  # noqa: ANN001, ANN201 - nbconvert's signature
        from nbgrader.api import Gradebook, MissingEntry

        info = resources["nbgrader"]
        sanitize_notebook(nb)
        pending_points = 0.0
        with Gradebook(info["db_url"]) as gradebook:
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade") and meta.get("grade_id"):
                    try:
                        grade = gradebook.find_grade(meta["grade_id"], info["notebook"], info["assignment"],
                                                     info["student"])
                    except MissingEntry:
                        continue
                    if grade.needs_manual_grade and grade.manual_score is None:
                        meta["pending"] = True
                        pending_points += grade.max_score
        info["pending_points"] = pending_points
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = render_math(cell.source)
        return nb, resources


def _run_generate_feedback(argv: list[str]) -> None:
    """nbgrader's ``generate_feedback`` app with this module's preprocessor and template (run in a child)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.apps import generatefeedbackapp
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import GetGrades
    from traitlets import List
    from traitlets.config import Config

    class CourseFeedback(GenerateFeedback):
        preprocessors = List([GetGrades, FeedbackExtras, CSSHTMLHeaderPreprocessor]).tag(config=True)

        def __init__(self, coursedir=None, **kwargs):  # noqa: ANN001, ANN003
            super().__init__(coursedir=coursedir, **kwargs)
            nbgrader_templates = Path(generatefeedbackapp.__file__).resolve().parents[1] / "server_extensions" \
                / "formgrader" / "templates"
            config = Config()
            config.HTMLExporter.template_name = "course_feedback"
            config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(nbgrader_templates)]
            # 'feedback/index.html.j2' (nbgrader's page, which ours extends) is found under its templates folder
            config.HTMLExporter.extra_template_paths = [*self.config.HTMLExporter.extra_template_paths,
                                                        str(nbgrader_templates)]
            self.update_config(config)

    generatefeedbackapp.GenerateFeedback = CourseFeedback  # the app builds its converter by this name
    generatefeedbackapp.GenerateFeedbackApp.launch_instance(argv)


def feedback(course_dir: Path, student: str | None = None) -> Path:
    """Generate feedback for every autograded submission (or ``student``'s only); return the feedback folder."""
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "autograded").is_dir():
        raise FileNotFoundError(f"{course_dir} has no autograded submissions yet: run `course autograde` first")
    if student is not None and not (course_dir / "autograded" / student / ASSIGNMENT).is_dir():
        raise FileNotFoundError(f"{student!r} has no autograded submission in {course_dir}: check the id "
                                f"(`ls {course_dir / 'autograded'}`) or run `course autograde` first")
    only = [f"--student={student}"] if student is not None else []
    result = subprocess.run([sys.executable, "-m", "course.feedback", ASSIGNMENT, "--force", *only],
                            cwd=course_dir, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_feedback failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return course_dir / "feedback"


if __name__ == "__main__":
    _run_generate_feedback(sys.argv[1:])
