"""Every handout item has a home a test checks (issue 13): ``autograder/handout_map.toml``.

Fast: reads the percent-format notebook sources with jupytext, starts no kernel.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jupytext
import pytest

from course.handout_map import DOC_PATH, KINDS, SOURCES, load, render

#: Items listed per handout when the map was written (issue 13's audit, item by item). A removed or
#: merged entry changes a count and fails here; add to both when a handout item is split.
EXPECTED_ITEMS = {"000": 12, "001": 30, "002": 7, "003": 25, "004": 19}

HANDOUT_MAP = load()


@cache
def graded_cells(notebook: str) -> dict[str, dict]:
    """grade_id -> nbgrader metadata of every cell of a source notebook."""
    path = SOURCES / f"{notebook}.py"
    assert path.exists(), f"handout_map.toml names notebook {notebook!r}, but {path} does not exist"
    cells = {}
    for cell in jupytext.read(path).cells:
        meta = cell.metadata.get("nbgrader")
        if meta and "grade_id" in meta:
            cells[meta["grade_id"]] = {**meta, "cell_type": cell.cell_type, "source": cell.source}
    return cells


@cache
def code_cells(notebook: str) -> list[tuple[dict, str]]:
    """(nbgrader metadata or {}, source) of every code cell of a source notebook."""
    return [(cell.metadata.get("nbgrader", {}), cell.source)
            for cell in jupytext.read(SOURCES / f"{notebook}.py").cells if cell.cell_type == "code"]


def is_autograded(meta: dict) -> bool:
    return bool(meta.get("grade")) and not meta.get("solution") and meta.get("points", 0) > 0


def is_written(meta: dict) -> bool:
    return bool(meta.get("grade")) and bool(meta.get("solution")) and meta.get("points", 0) > 0


def item_id(item) -> str:
    return f"{item.handout} {item.label}"


def test_map_is_well_formed():
    assert set(HANDOUT_MAP.handouts) == set(EXPECTED_ITEMS)
    labels = [item_id(item) for item in HANDOUT_MAP.items]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    assert not duplicates, f"items listed twice: {duplicates}"
    for item in HANDOUT_MAP.items:
        assert item.handout in HANDOUT_MAP.handouts, f"{item_id(item)}: unknown handout id"
        assert item.kind in KINDS, f"{item_id(item)}: kind {item.kind!r} is not one of {KINDS}"
        assert item.what.strip(), f"{item_id(item)}: empty description"
        if item.kind in ("autograded", "written"):
            assert item.grade_ids, f"{item_id(item)}: a {item.kind} item needs grade_ids"
        if item.kind == "demonstrated":
            assert item.marker, f"{item_id(item)}: a demonstrated item needs a marker"
        if item.kind == "missing":
            assert item.note, f"{item_id(item)}: a missing item needs a note saying what is there instead"


def test_every_handout_seed_is_named():
    """The map's handout files are the seeds the README of ../shared describes (when present)."""
    seeds = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"{seeds} is not here (it is reference material outside the repository)")
    named = {info["file"] for info in HANDOUT_MAP.handouts.values()}
    assert named == {path.name for path in seeds.glob("*.txt")}


@pytest.mark.parametrize("handout", sorted(EXPECTED_ITEMS))
def test_item_count_per_handout(handout):
    listed = [item.label for item in HANDOUT_MAP.items if item.handout == handout]
    assert len(listed) == EXPECTED_ITEMS[handout], (
        f"handout {handout}: the map lists {len(listed)} items, expected {EXPECTED_ITEMS[handout]}: {listed}")


@pytest.mark.parametrize("item", HANDOUT_MAP.items, ids=item_id)
def test_item_home_exists(item):
    cells = graded_cells(item.notebook)
    for grade_id in item.grade_ids:
        assert grade_id in cells, f"{item_id(item)}: no cell {grade_id!r} in {item.notebook}"
        assert cells[grade_id].get("points", 0) > 0, f"{item_id(item)}: cell {grade_id!r} awards no points"
    metas = [cells[grade_id] for grade_id in item.grade_ids]
    if item.kind == "autograded":
        assert any(map(is_autograded, metas)), f"{item_id(item)}: none of {item.grade_ids} is an autograded test cell"
    if item.kind == "written":
        assert any(map(is_written, metas)), f"{item_id(item)}: none of {item.grade_ids} is a written answer cell"
    if item.kind == "demonstrated":
        holders = [meta for meta, source in code_cells(item.notebook) if item.marker in source]
        assert len(holders) == 1, (f"{item_id(item)}: marker {item.marker!r} is in {len(holders)} code cells of "
                                   f"{item.notebook}; expected exactly one")
        assert not holders[0].get("solution"), (f"{item_id(item)}: marker {item.marker!r} is in a student answer "
                                                "cell; a demonstrated figure must come from a locked cell")


def test_every_graded_cell_is_claimed():
    """Each graded cell serves a handout item or is listed in course_only with a reason."""
    claimed = {(item.notebook, grade_id) for item in HANDOUT_MAP.items for grade_id in item.grade_ids}
    course_only = {(entry["notebook"], entry["grade_id"]) for entry in HANDOUT_MAP.course_only}
    for entry in HANDOUT_MAP.course_only:
        assert entry.get("reason", "").strip(), f"course_only {entry['grade_id']}: give a reason"
        assert entry["grade_id"] in graded_cells(entry["notebook"]), f"course_only {entry['grade_id']}: no such cell"
    assert not claimed & course_only, f"listed as course_only but claimed by an item: {sorted(claimed & course_only)}"
    unclaimed = [(path.stem, grade_id) for path in sorted(SOURCES.glob("[0-9][0-9]_*.py"))
                 for grade_id, meta in graded_cells(path.stem).items()
                 if meta.get("points", 0) > 0 and (path.stem, grade_id) not in claimed | course_only]
    assert not unclaimed, f"graded cells no handout item claims and course_only does not list: {unclaimed}"


def test_doc_is_current():
    assert DOC_PATH.read_text(encoding="utf-8") == render(HANDOUT_MAP), (
        f"{DOC_PATH.name} is stale: run `python -m course.handout_map --write`")


def test_no_item_is_missing():
    """Every handout item has a graded home (the last one, 003's extra credit, is notebook 6's Q6.6-Q6.8)."""
    missing = [f"{item_id(item)}: {item.what} ({item.note})" for item in HANDOUT_MAP.items if item.kind == "missing"]
    assert not missing, "handout items with no home:\n" + "\n".join(missing)
