"""Every bad input to the ``course`` command gets one clear line naming the option or file and what to do,
and changes nothing (the bad-input table of issue 11). Runs in-process: a few seconds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from course.cli import main
from course.coursedir import init_course_dir


def _listing(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course directory (one notebook) with a stand-in gradebook file and some files to pass in."""
    root = init_course_dir(tmp_path / "course", keys=["02_layers.ipynb"])
    (root / "gradebook.db").write_bytes(b"")
    files = tmp_path / "files"
    files.mkdir()
    with zipfile.ZipFile(files / "download.zip", "w") as archive:
        archive.writestr("alice_1_2_02_layers.ipynb", "{}" * 2000)
    data = (files / "download.zip").read_bytes()
    (files / "truncated.zip").write_bytes(data[: len(data) // 2])
    (files / "notes.txt").write_text("not a download")
    (files / "submission").mkdir()
    return root


BAD_INPUTS = [
    (["export", "--due", "tomorrow"], "--due 'tomorrow' is not a date: write it in ISO format"),
    (["export", "--due", "2026-12-01T23:59", "--late-policy", "percent:ten"],
     "--late-policy 'percent:ten': P must be a number from 0 to 100"),
    (["export", "--due", "2026-12-01T23:59", "--late-policy", "percent:150"], "--late-policy 'percent:150'"),
    (["export", "--due", "2026-12-01T23:59", "--late-policy", "sometimes"], "use none, zero or percent:P"),
    (["export", "--late-policy", "zero"], "--late-policy zero needs --due"),
    (["export", "--due", "2026-12-01T23:59", "--timezone", "Mars/Olympus"], "--timezone 'Mars/Olympus' is not a known"),
    (["collect", "{files}/missing.zip"], "missing.zip does not exist; pass the path of the LMS download"),
    (["collect", "{files}/truncated.zip"], "truncated.zip is a damaged or incomplete zip archive"),
    (["collect", "{files}/notes.txt"], "notes.txt is neither a folder nor a zip archive"),
    (["collect", "{files}/download.zip", "--pattern", "(?P<student"], "--pattern '(?P<student' is not a valid"),
    (["autograde", "--jobs", "0"], "--jobs 0: give at least 1 worker"),
    (["gradescope", "build"], "pass --cifar /path/to/cifar-10-python.tar.gz (or set HWLIB_CIFAR10), or --without-data"),
    (["gradescope", "build", "--cifar", "{files}/nothing.tar.gz"], "nothing.tar.gz (--cifar or $HWLIB_CIFAR10) is not a file"),
    (["gradescope", "run", "{files}/none.zip", "{files}/submission"], "none.zip does not exist: pass the autograder zip"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUTS, ids=[" ".join(a)[:60] for a, _ in BAD_INPUTS])
def test_bad_input_gets_one_clear_line_and_changes_nothing(course, argv, message, capsys, monkeypatch):
    monkeypatch.delenv("HWLIB_CIFAR10", raising=False)
    monkeypatch.chdir(course)
    files = course.parent / "files"
    before = _listing(course), _listing(files)
    code = main([part.format(files=files) for part in argv])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith(f"course {argv[0]}: ") and len(err.splitlines()) == 1, err
    assert message in err and "Traceback" not in err
    assert (_listing(course), _listing(files)) == before, "a bad input changed files"


OUTSIDE = [["autograde"], ["collect", "{zip}"], ["feedback"], ["export"], ["gradescope", "build"], ["release"]]


@pytest.mark.parametrize("argv", OUTSIDE, ids=[a[0] if a[0] != "gradescope" else "gradescope build" for a in OUTSIDE])
def test_commands_outside_a_course_directory_say_so_and_write_nothing(tmp_path, argv, capsys, monkeypatch):
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("alice_1_2_02_layers.ipynb", "{}")
    monkeypatch.chdir(elsewhere)
    code = main([part.format(zip=download) for part in argv])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "is not a course directory" in err and "course init" in err and len(err.splitlines()) == 1
    assert not any(elsewhere.iterdir()), "a command outside a course directory wrote files"


def test_release_without_execution_check_does_not_claim_the_notebooks_run(monkeypatch, capsys, tmp_path):
    import course.release

    monkeypatch.setattr(course.release, "release", lambda *a, **k: tmp_path / "backprop-student.zip")
    root = init_course_dir(tmp_path / "course", keys=["02_layers.ipynb"])
    assert main(["release", "--course-dir", str(root), "--skip-execution-check"]) == 0
    out = capsys.readouterr().out
    assert "NOT executed" in out and "every release notebook runs" not in out
