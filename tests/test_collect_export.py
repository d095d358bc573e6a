"""Collecting LMS downloads, exporting grades, Gradescope's results schema, sanitising and feedback math."""

from __future__ import annotations

import base64
import os
import stat
import zipfile
from datetime import datetime, timezone

import nbformat
import pytest
from hypothesis import given, strategies as st

from course.collect import collect, identify, notebook_of, student_folder, student_name, student_of, DEFAULT_PATTERN
from course.export import LatePolicy, neutralise, parse_due
from course.feedback import render_math
from course.gradescope import validate_results
from course.sanitize import sanitize_notebook


def test_student_and_notebook_mapping():
    assert student_of("alice_123_456_02_layers.ipynb", DEFAULT_PATTERN) == "alice"
    assert identify("Bob Smith_9_assignsubmission_file_/02_layers.ipynb", DEFAULT_PATTERN) == ("Bob%20Smith", "9")
    assert identify("smith_LATE_55_66_02_layers-1.ipynb", DEFAULT_PATTERN) == ("smith", "55")
    assert student_of("nounderscore.ipynb", DEFAULT_PATTERN) is None
    assert student_of("s1/sub/02_layers.ipynb", r"^(?P<student>[^/]+)/") == "s1"
    assert notebook_of("alice_1_2_02_layers-1.ipynb") == "02_layers.ipynb"
    assert notebook_of("alice_1_2_layers.ipynb") is None
    assert notebook_of("alice_1_2_02_layers.py") is None


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, (text, when) in entries.items():
            info = zipfile.ZipInfo(name, date_time=when)
            archive.writestr(info, text)
    return path


def test_collect_places_reports_and_never_overwrites_silently(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    first = _zip(tmp_path / "one.zip", {
        "alice_1_10_02_layers.ipynb": ("{}", (2026, 11, 20, 10, 0, 0)),
        "alice_1_11_01_computational_graphs.ipynb": ("{}", (2026, 11, 21, 9, 30, 0)),
        "bob_2_12_02_layers.ipynb": ("{}", (2026, 11, 19, 8, 0, 0)),
        "notes.txt": ("?", (2026, 11, 19, 8, 0, 0)),
    })
    report = collect(course, first)
    assert sorted(report.placed) == ["alice", "bob"]
    assert report.unplaced == ["notes.txt"]
    stamp = (course / "submitted" / "alice" / "backprop" / "timestamp.txt").read_text()
    assert stamp.startswith("2026-11-21 09:30:00")

    again = collect(course, first)
    assert again.unchanged == ["alice", "bob"] and not again.placed

    second = _zip(tmp_path / "two.zip", {"alice_1_13_02_layers.ipynb": ('{"new": 1}', (2026, 11, 22, 10, 0, 0))})
    report = collect(course, second)
    assert report.replaced and "submitted_history" in report.replaced[0]
    history = list((course / "submitted_history" / "alice").iterdir())
    assert (history[0] / "01_computational_graphs.ipynb").exists(), "the earlier submission is kept"


def test_collect_refuses_what_is_not_a_download(tmp_path):
    bogus = tmp_path / "grades.csv"
    bogus.write_text("a,b")
    with pytest.raises(ValueError, match="neither a folder nor a zip"):
        collect(tmp_path, bogus)


@given(st.text(min_size=1, max_size=30).filter(lambda t: t.strip()))
def test_student_folders_are_safe_and_reversible(name):
    import unicodedata

    folder = student_folder(name)
    normal = unicodedata.normalize("NFC", name).strip()
    assert student_name(folder) == normal
    assert "/" not in folder and "\\" not in folder and folder not in (".", "..")
    assert not folder.startswith(("=", "+", "-", "@", ".", " ")), folder


def test_unicode_names_never_collide_and_keep_their_lms_ids(tmp_path):
    from course.collect import lms_ids_of

    when = (2026, 11, 20, 10, 0, 0)
    names = ["Zoë", "Zo", "Анна", "王小明", "Zoe\u0308"]  # the last is Zoë in decomposed (macOS) form
    entries = {f"{name}_{100 + i}_{200 + i}_02_layers.ipynb": (f'{{"n": {i}}}', when) for i, name in enumerate(names)}
    entries["José Müller-Ñúñez_77_assignsubmission_file_/01_computational_graphs.ipynb"] = ("{}", when)
    course = tmp_path / "course"
    report = collect(course, _zip(tmp_path / "d.zip", entries))
    shown = {student_name(folder) for folder in report.placed}
    assert shown == {"Zoë", "Zo", "Анна", "王小明", "José Müller-Ñúñez"}
    assert any("2 copies of 02_layers.ipynb" in p and "Zoë" in p for p in report.problems)
    assert (course / "submitted" / "Zo" / "backprop" / "02_layers.ipynb").read_text() == '{"n": 1}'
    ids = {student_name(folder): lms_id for folder, lms_id in lms_ids_of(course).items()}
    assert ids["Анна"] == "102" and ids["José Müller-Ñúñez"] == "77"


def _zip_with_member_kinds(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("alice_1_1_02_layers.ipynb", base64.b64encode(os.urandom(6000)).decode())
        archive.writestr("bob_2_2_02_layers.ipynb", "{}")
        archive.writestr("../evil_3_3_02_layers.ipynb", "{}")
        archive.writestr("/abs_4_4_02_layers.ipynb", "{}")
        link = zipfile.ZipInfo("link_5_5_02_layers.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path


def test_collect_reports_unsafe_and_unreadable_members_and_loses_nothing(tmp_path):
    course = tmp_path / "course"
    first = _zip(tmp_path / "first.zip", {"alice_1_1_02_layers.ipynb": ('{"old": 1}', (2026, 11, 1, 0, 0, 0))})
    collect(course, first)
    download = _zip_with_member_kinds(tmp_path / "d.zip")
    data = bytearray(download.read_bytes())
    start = data.index(b"alice_1_1_02_layers.ipynb") + len("alice_1_1_02_layers.ipynb")
    data[start + 10:start + 30] = b"\xff" * 20  # corrupt alice's compressed bytes
    download.write_bytes(bytes(data))
    report = collect(course, download)
    text = report.summary()
    assert "could not read alice_1_1_02_layers.ipynb from d.zip" in text and "download the zip again" in text
    assert "skipped ../evil_3_3_02_layers.ipynb in d.zip: a path that leaves the download" in text
    assert "skipped /abs_4_4_02_layers.ipynb in d.zip: an absolute path" in text
    assert "skipped link_5_5_02_layers.ipynb in d.zip: a symbolic link" in text
    assert list(report.placed) == ["bob"]
    assert (course / "submitted" / "alice" / "backprop" / "02_layers.ipynb").read_text() == '{"old": 1}'
    assert not (tmp_path / "etc").exists() and not (course / "submitted" / "link").exists()


def test_due_dates_are_converted_and_say_how_they_were_read():
    due, how = parse_due("2026-12-01T23:59+01:00")
    assert due == datetime(2026, 12, 1, 22, 59, tzinfo=timezone.utc) and "+0100" in how and "22:59 UTC" in how
    due, how = parse_due("2026-12-01T23:59", "America/New_York")
    assert due == datetime(2026, 12, 2, 4, 59, tzinfo=timezone.utc) and "America/New_York" in how
    due, how = parse_due("2026-12-01T23:59")
    assert "local time" in how and due.tzinfo is not None
    assert parse_due("2026-12-01T22:59Z")[0] == datetime(2026, 12, 1, 22, 59, tzinfo=timezone.utc)


def test_formula_cells_are_neutralised_but_readable():
    for text in ("=1+2", "@SUM(1+1)", "+1+1", "-1+1", '=HYPERLINK("http:evil.example")'):
        assert neutralise(text) == "'" + text
    assert neutralise("Zoë") == "Zoë" and neutralise(-1.5) == -1.5


def test_sanitising_removes_script_and_keeps_images():
    import base64
    import io

    from PIL import Image

    big = io.BytesIO()
    Image.new("RGB", (3000, 1500), "white").save(big, format="PNG")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x", outputs=[
            nbformat.v4.new_output("display_data", data={"text/html": "<b>ok</b><script>steal()</script>"}),
            nbformat.v4.new_output("display_data", data={"text/html": '<img src=x onerror="steal()">'}),
            nbformat.v4.new_output("display_data", data={"application/javascript": "steal()",
                                                         "text/plain": "<IPython.core.display.Javascript object>"}),
            nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg onload='steal()'/>",
                                                         "image/png": base64.b64encode(big.getvalue()).decode()}),
        ]),
        nbformat.v4.new_markdown_cell("my answer <script>steal()</script> $x^2$"),
        nbformat.v4.new_markdown_cell("instructor <span style='color:red'>text</span>",
                                      metadata={"nbgrader": {"locked": True, "solution": False}}),
    ])
    sanitize_notebook(notebook)
    text = nbformat.writes(notebook)
    assert "<script" not in text and "<img" not in text and "onload" not in text
    assert "application/javascript" not in text and "image/svg+xml" not in text
    assert "&lt;script&gt;" in notebook.cells[1].source and "$x^2$" in notebook.cells[1].source
    assert notebook.cells[2].source == "instructor <span style='color:red'>text</span>"
    image = Image.open(io.BytesIO(base64.b64decode(notebook.cells[0].outputs[3].data["image/png"])))
    assert max(image.size) == 1200


def test_math_is_rendered_to_mathml_outside_code():
    out = render_math(r"The sigmoid $\sigma(x) = \frac{1}{1+e^{-x}}$, `cost $x$` and $$\frac{\partial L}{\partial W}$$ for $5 and $10.")
    assert out.count("<math") == 2 and 'display="block"' in out
    assert "`cost $x$`" in out and "$5 and $10." in out


def test_late_policies():
    assert LatePolicy.parse("none").penalty(80, 3) == 0
    assert LatePolicy.parse("zero").penalty(80, 0.1) == 80
    assert LatePolicy.parse("percent:10").penalty(80, 1.5) == pytest.approx(16)
    assert LatePolicy.parse("percent:50").penalty(80, 5) == 80
    assert LatePolicy.parse("percent:10").penalty(80, 0) == 0
    with pytest.raises(ValueError, match="--late-policy 'sometimes' is not a late policy"):
        LatePolicy.parse("sometimes")


def test_results_schema_validation():
    good = {"score": 3.0, "execution_time": 12.5, "tests": [
        {"name": "q1", "score": 1.0, "max_score": 1.0, "output": "", "visibility": "visible"}],
        "leaderboard": [{"name": "Test accuracy", "value": 0.42, "order": "desc"}]}
    assert validate_results(good) == []
    bad = {"score": "3", "tests": [{"name": "q1", "score": 2.0, "max_score": 1.0, "visibility": "secret"}],
           "leaderboard": [{"value": 1}]}
    problems = validate_results(bad)
    assert len(problems) == 4
    assert validate_results([]) == ["results.json must hold a JSON object"]

