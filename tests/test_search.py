"""Tests for hwlib.search: settings generation, hyperparameter_search and ResultsTable."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwlib.search import ResultsTable, hyperparameter_search, search_settings


def fake_train(**params: float) -> dict[str, float]:
    """A deterministic stand-in for training: best at learning_rate=1e-2, more hidden is better."""
    lr_penalty = abs(math.log10(params["learning_rate"]) + 2)
    return {"val_acc": 0.5 - 0.1 * lr_penalty + params.get("hidden_dim", 0) / 10_000}


# ----- grid mode ------------------------------------------------------------------------------


def test_grid_tries_every_combination_once() -> None:
    space = {"learning_rate": [1e-3, 1e-2, 1e-1], "hidden_dim": [50, 100], "reg": [0.0, 0.1]}
    results = hyperparameter_search(fake_train, space, mode="grid", progress=False)
    assert len(results) == 3 * 2 * 2
    combos = {(row["learning_rate"], row["hidden_dim"], row["reg"]) for row in results}
    assert len(combos) == 12
    assert results.columns == ["learning_rate", "hidden_dim", "reg", "val_acc"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4))
def test_grid_size_is_the_product_of_list_lengths(lengths: list[int]) -> None:
    space = {f"p{i}": list(range(n)) for i, n in enumerate(lengths)}
    grid = search_settings(space, mode="grid")
    assert len(grid) == math.prod(lengths)
    assert len({tuple(s.values()) for s in grid}) == len(grid)


def test_grid_rejects_ranges_and_num_trials() -> None:
    with pytest.raises(ValueError, match="grid mode cannot enumerate"):
        search_settings({"learning_rate": ("log", 1e-4, 1e-1)}, mode="grid")
    with pytest.raises(ValueError, match=r"every combination \(2 here\)"):
        search_settings({"hidden_dim": [1, 2]}, mode="grid", num_trials=5)


# ----- random mode ----------------------------------------------------------------------------


SPACE = {"learning_rate": ("log", 1e-4, 1e-1), "hidden_dim": [50, 100, 200], "dropout": ("uniform", 0.0, 0.5)}


def test_random_is_reproducible_by_seed() -> None:
    first = search_settings(SPACE, num_trials=8, seed=3)
    assert first == search_settings(SPACE, num_trials=8, seed=3)
    assert first != search_settings(SPACE, num_trials=8, seed=4)
    assert len(first) == 8


def test_random_default_trial_count() -> None:
    assert len(search_settings({"hidden_dim": [1, 2]})) == 10


def test_random_samples_stay_in_their_ranges_and_choices() -> None:
    samples = search_settings(SPACE, num_trials=2000, seed=0)
    lrs = np.array([s["learning_rate"] for s in samples])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    assert {s["hidden_dim"] for s in samples} == {50, 100, 200}
    assert all(0.0 <= s["dropout"] <= 0.5 for s in samples)
    # Log-uniform: each decade gets about a third of the samples (uniform would put ~90% in the top one).
    decade_shares = np.histogram(np.log10(lrs), bins=[-4, -3, -2, -1])[0] / len(lrs)
    assert np.all(np.abs(decade_shares - 1 / 3) < 0.05), decade_shares
    # Choices are picked uniformly.
    counts = np.array([sum(s["hidden_dim"] == v for s in samples) for v in (50, 100, 200)]) / len(samples)
    assert np.all(np.abs(counts - 1 / 3) < 0.05), counts


@pytest.mark.parametrize(
    "space, match",
    [
        ({"lr": (1e-3, 1e-2)}, "not understood"),
        ({"lr": []}, "empty list"),
        ({"lr": ("log", 0.0, 1.0)}, "low > 0"),
        ({"lr": ("log", 1.0, 0.1)}, "low <= high"),
        ({}, "non-empty"),
    ],
)
def test_bad_spaces_are_named(space: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        search_settings(space, num_trials=2)


def test_bad_mode_and_trial_count() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        search_settings({"a": [1]}, mode="bayes")
    with pytest.raises(ValueError, match="num_trials"):
        search_settings({"a": [1]}, num_trials=0)


def test_search_passes_each_setting_to_train_fn() -> None:
    seen = []

    def train_fn(**params):
        seen.append(params)
        return {"score": params["a"] * 10}

    results = hyperparameter_search(train_fn, {"a": [1, 2, 3]}, mode="random", num_trials=6, seed=1,
                                    progress=False)
    assert seen == search_settings({"a": [1, 2, 3]}, num_trials=6, seed=1)
    assert [row["score"] for row in results] == [s["a"] * 10 for s in seen]


def test_search_reports_train_fn_returning_a_non_dict() -> None:
    with pytest.raises(TypeError, match="dict of metrics"):
        hyperparameter_search(lambda **p: 0.5, {"a": [1]}, mode="grid", progress=False)


def test_search_rejects_metrics_named_like_hyperparameters() -> None:
    with pytest.raises(ValueError, match=r"\['a'\]"):
        hyperparameter_search(lambda **p: {"a": 1}, {"a": [1]}, mode="grid", progress=False)


def test_search_writes_progress_to_stdout_only(capsys, monkeypatch) -> None:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("HWLIB_AUTOGRADE", raising=False)
    hyperparameter_search(fake_train, {"learning_rate": [1e-3, 1e-2]}, mode="grid")
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "search" in captured.out


def test_search_progress_is_silent_while_autograding(capsys, monkeypatch) -> None:
    monkeypatch.setenv("HWLIB_AUTOGRADE", "1")
    hyperparameter_search(fake_train, {"learning_rate": [1e-3, 1e-2]}, mode="grid")
    assert capsys.readouterr().out == ""


# ----- ResultsTable -----------------------------------------------------------------------------


def make_table() -> ResultsTable:
    return ResultsTable([
        {"lr": 0.1, "hidden": 50, "val_acc": 0.30},
        {"lr": 0.01, "hidden": 100, "val_acc": 0.45},
        {"lr": 0.001, "hidden": 200, "val_acc": float("nan")},
        {"lr": 0.0001, "hidden": 100, "val_acc": 0.41},
    ])


def test_sort_by_orders_rows_and_puts_nan_last() -> None:
    table = make_table()
    assert table.sort_by("val_acc").column("lr") == [0.01, 0.0001, 0.1, 0.001]
    assert table.sort_by("val_acc", descending=False).column("lr") == [0.1, 0.0001, 0.01, 0.001]
    assert table.sort_by("lr", descending=False).column("lr") == [0.0001, 0.001, 0.01, 0.1]
    assert table.column("lr") == [0.1, 0.01, 0.001, 0.0001]  # the original is unchanged
    with pytest.raises(KeyError, match="columns are"):
        table.sort_by("val_loss")


def test_best_row() -> None:
    table = make_table()
    assert table.best("val_acc") == {"lr": 0.01, "hidden": 100, "val_acc": 0.45}
    assert table.best("val_acc", highest=False)["lr"] == 0.1
    with pytest.raises(ValueError, match="empty"):
        ResultsTable([]).best("val_acc")


def test_table_container_protocol() -> None:
    table = make_table()
    assert len(table) == 4
    rows = list(table)
    assert rows[1] == {"lr": 0.01, "hidden": 100, "val_acc": 0.45}
    rows[1]["lr"] = 99  # rows handed out are copies
    assert table[1]["lr"] == 0.01
    assert table.columns == ["lr", "hidden", "val_acc"]


def test_text_rendering_is_aligned() -> None:
    lines = str(make_table()).splitlines()
    assert len(lines) == 2 + 4
    assert len({len(line) for line in lines}) == 1
    assert lines[0].split() == ["lr", "hidden", "val_acc"]
    assert lines[4].split() == ["0.001", "200", "nan"]


def test_html_rendering_is_a_table_with_escaped_cells() -> None:
    table = ResultsTable([{"name": "<b>x</b>", "val_acc": 0.123456}])
    markup = table._repr_html_()
    assert markup.count("<tr>") == 2
    assert "<th>name</th>" in markup and "<td>0.1235</td>" in markup
    assert "&lt;b&gt;x&lt;/b&gt;" in markup and "<b>x</b>" not in markup


def test_search_results_sort_and_best() -> None:
    space = {"learning_rate": [1e-1, 1e-2, 1e-3], "hidden_dim": [100, 200]}
    results = hyperparameter_search(fake_train, space, mode="grid", progress=False)
    best = results.best("val_acc")
    assert best["learning_rate"] == 1e-2 and best["hidden_dim"] == 200
    ordered = results.sort_by("val_acc").column("val_acc")
    assert ordered == sorted(ordered, reverse=True)
