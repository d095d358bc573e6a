"""Collecting LMS downloads, exporting grades, and Gradescope's results schema."""

from __future__ import annotations

import zipfile
from datetime import datetime

import pytest

from course.collect import collect, notebook_of, student_of, DEFAULT_PATTERN
from course.export import LatePolicy
from course.gradescope import validate_results


def test_student_and_notebook_mapping():
    assert student_of("alice_123_456_02_layers.ipynb", DEFAULT_PATTERN) == "alice"
    assert student_of("Bob Smith_9_assignsubmission_file_/02_layers.ipynb", DEFAULT_PATTERN) == "Bob-Smith_9_assignsubmission_file"
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


def test_late_policies():
    assert LatePolicy.parse("none").penalty(80, 3) == 0
    assert LatePolicy.parse("zero").penalty(80, 0.1) == 80
    assert LatePolicy.parse("percent:10").penalty(80, 1.5) == pytest.approx(16)
    assert LatePolicy.parse("percent:50").penalty(80, 5) == 80
    assert LatePolicy.parse("percent:10").penalty(80, 0) == 0
    with pytest.raises(ValueError, match="unknown late policy"):
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


def test_export_due_dates_parse():
    assert datetime.fromisoformat("2026-12-01T23:59").year == 2026
