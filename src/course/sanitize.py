"""Make student-made HTML and JavaScript harmless before an instructor or a student views it.

Graded notebooks are shown in three places: the HTML feedback, nbgrader's
formgrader (which renders the autograded notebook in the instructor's Jupyter
origin, next to the server token) and Gradescope's results. A student cell can
display ``<script>``, ``<img onerror=...>`` or an ``IPython.display.Javascript``
object, and a written answer is student markdown. Everything here goes through
nbconvert's own :class:`~nbconvert.preprocessors.SanitizeHTML` (bleach): HTML
and markdown outputs are cleaned, JavaScript and every other active output type
are removed, and student-editable markdown cells are cleaned. Locked cells
(the instructor's text, restored from the gradebook) are left as they are.

Images are kept, scaled down to :data:`MAX_IMAGE_SIDE` pixels when larger, so
a student's drawn graph stays in the feedback without making it huge.
"""

from __future__ import annotations

import base64
import io

import nbformat

#: Longest side (pixels) of an image output kept in graded notebooks.
MAX_IMAGE_SIDE = 1200

#: What replaces an output that had only active content (JavaScript, widgets' views).
REMOVED_NOTE = "(an interactive or script output was removed for safety)"


def _sanitizer():  # noqa: ANN202 - nbconvert's preprocessor
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    return SanitizeHTML()


def _editable(cell: nbformat.NotebookNode) -> bool:
    """Whether the student could have written this cell (not a locked instructor cell)."""
    meta = cell.metadata.get("nbgrader", {})
    return not meta.get("locked", False) or meta.get("solution", False)


def shrink_image(data: str, max_side: int = MAX_IMAGE_SIDE) -> str:
    """A base64 PNG/JPEG no larger than ``max_side`` on its longest side (unchanged if it is smaller
    or cannot be read)."""
    try:
        from PIL import Image

        image = Image.open(io.BytesIO(base64.b64decode(data)))
        if max(image.size) <= max_side:
            return data
        image.thumbnail((max_side, max_side))
        buffer = io.BytesIO()
        image.save(buffer, format=image.format or "PNG")
        return base64.b64encode(buffer.getvalue()).decode("ascii")
    except Exception:  # noqa: BLE001 - a broken image stays as it was (browsers show nothing)
        return data


def sanitize_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Clean ``notebook`` in place (see module docstring) and return it."""
    sanitizer = _sanitizer()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            outputs = sanitizer.sanitize_code_outputs(cell.get("outputs", []))
            for output in outputs:
                data = output.get("data")
                if output.get("output_type") not in ("display_data", "execute_result") or data is None:
                    continue
                for key in ("image/png", "image/jpeg"):
                    if isinstance(data.get(key), str):
                        data[key] = shrink_image(data[key])
                if not any(key for key in data if key != "metadata"):
                    data["text/plain"] = REMOVED_NOTE
            cell.outputs = outputs
        elif cell.cell_type in ("markdown", "raw") and _editable(cell):
            cell.source = sanitizer.sanitize_html_tags(cell.source)
    return notebook

