"""Hyperparameter search: run a training function over many settings and tabulate the results.

You write ``train_fn(**params) -> dict of metrics`` (for example it builds a
model, calls :func:`hwlib.trainer.train` and returns ``{"val_acc": ...}``);
:func:`hyperparameter_search` calls it once per setting and returns a
:class:`ResultsTable` that shows as a table in a notebook::

    space = {"learning_rate": ("log", 1e-4, 1e-1), "hidden_dim": [50, 100, 200]}
    results = hyperparameter_search(train_fn, space, mode="random", num_trials=20)
    results.sort_by("val_acc")          # best first
    results.best("val_acc")             # the winning row, a dict

A search space maps each hyperparameter name to either

* a list of choices: random mode picks one uniformly, grid mode tries each;
* ``("log", low, high)``: random mode samples log-uniformly (good for learning
  rates and regularisation strengths, which matter by orders of magnitude);
* ``("uniform", low, high)``: random mode samples uniformly.

Ranges exist only in random mode; grid mode needs lists.
"""

from __future__ import annotations

import html
import itertools
import math
import numbers
import sys
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from hwlib.runtime import is_autograding

RANGE_KINDS = ("log", "uniform")
MODES = ("random", "grid")
DEFAULT_RANDOM_TRIALS = 10

SearchSpace = Mapping[str, list | tuple]


# ----- results ---------------------------------------------------------------------------


def _format_cell(value: Any) -> str:
    """A short, readable rendering of one table cell."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}"
    return str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    """Order rows by ``value``, with missing values and NaN always last."""
    if value is None or (isinstance(value, numbers.Real) and math.isnan(value)):
        return (1, 0)
    return (0, value)


class ResultsTable:
    """Rows of ``{hyperparameter: value, ..., metric: value, ...}``, shown as a table.

    Args:
        rows: the rows (dicts); they are copied.
        columns: column order; default: keys in order of first appearance.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> None:
        self._rows = [dict(row) for row in rows]
        if columns is None:
            columns = list(dict.fromkeys(key for row in self._rows for key in row))
        self.columns: list[str] = list(columns)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """A copy of the rows."""
        return [dict(row) for row in self._rows]

    def column(self, key: str) -> list[Any]:
        """All values of one column, in row order (None where a row lacks it)."""
        self._check_column(key)
        return [row.get(key) for row in self._rows]

    def sort_by(self, key: str, descending: bool = True) -> "ResultsTable":
        """A new table sorted by column ``key`` (largest first by default); missing/NaN values last."""
        self._check_column(key)
        present = [row for row in self._rows if _sort_key(row.get(key))[0] == 0]
        absent = [row for row in self._rows if _sort_key(row.get(key))[0] == 1]
        present.sort(key=lambda row: row[key], reverse=descending)
        return ResultsTable(present + absent, self.columns)

    def best(self, key: str, *, highest: bool = True) -> dict[str, Any]:
        """The row with the highest (or, with ``highest=False``, lowest) value of ``key``."""
        if not self._rows:
            raise ValueError("the table is empty: there is no best row")
        row = self.sort_by(key, descending=highest)._rows[0]
        if _sort_key(row.get(key))[0] == 1:
            raise ValueError(f"no row has a value for {key!r}")
        return dict(row)

    def _check_column(self, key: str) -> None:
        if key not in self.columns:
            raise KeyError(f"no column {key!r}; the columns are {self.columns}")

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return dict(self._rows[index])

    def _cells(self) -> list[list[str]]:
        return [[_format_cell(row.get(column)) for column in self.columns] for row in self._rows]

    def __str__(self) -> str:
        header = list(self.columns)
        cells = self._cells()
        widths = [max([len(header[i])] + [len(line[i]) for line in cells]) for i in range(len(header))]
        lines = ["  ".join(text.rjust(width) for text, width in zip(header, widths))]
        lines.append("  ".join("-" * width for width in widths))
        lines += ["  ".join(text.rjust(width) for text, width in zip(line, widths)) for line in cells]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ResultsTable({len(self)} rows, columns={self.columns})"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(column)}</th>" for column in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(text)}</td>" for text in line) + "</tr>" for line in self._cells()
        )
        return (
            '<table class="hwlib-results" style="text-align:right">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<p>{len(self)} row{'s' * (len(self) != 1)}</p>"
        )


# ----- search ----------------------------------------------------------------------------


def _check_space(space: SearchSpace, mode: str) -> None:
    """Raise a ValueError naming the first entry of ``space`` that ``mode`` cannot use."""
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"space must be a non-empty dict {{name: list of choices or range}}, got {space!r}")
    for name, spec in space.items():
        if isinstance(spec, list):
            if not spec:
                raise ValueError(f"space[{name!r}] is an empty list; give at least one value")
            continue
        if isinstance(spec, tuple) and len(spec) == 3 and spec[0] in RANGE_KINDS:
            kind, low, high = spec
            if mode == "grid":
                raise ValueError(
                    f"space[{name!r}] = {spec!r} is a range, which grid mode cannot enumerate. "
                    "Hint: give a list of values, or use mode='random'."
                )
            if not (isinstance(low, numbers.Real) and isinstance(high, numbers.Real) and low <= high):
                raise ValueError(f"space[{name!r}] = {spec!r}: need numbers low <= high")
            if kind == "log" and low <= 0:
                raise ValueError(f"space[{name!r}] = {spec!r}: a log range needs low > 0")
            continue
        raise ValueError(
            f"space[{name!r}] = {spec!r} is not understood. Use a list of choices, e.g. [50, 100], "
            f"or a range ('log', low, high) / ('uniform', low, high)."
        )


def _sample(spec: list | tuple, rng: np.random.Generator) -> Any:
    """One random value from a checked spec."""
    if isinstance(spec, list):
        return spec[int(rng.integers(len(spec)))]
    kind, low, high = spec
    if kind == "log":
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return float(rng.uniform(low, high))


def search_settings(space: SearchSpace, *, mode: str = "random", num_trials: int | None = None,
                    seed: int = 0) -> list[dict[str, Any]]:
    """The list of hyperparameter settings :func:`hyperparameter_search` would try, in order.

    Args:
        space: ``{name: [choices] | ("log", low, high) | ("uniform", low, high)}``.
        mode: "random" (``num_trials`` independent samples) or "grid" (every combination of the lists).
        num_trials: random mode only; default 10.
        seed: random mode only; the same seed gives the same settings.

    Returns:
        A list of ``{name: value}`` dicts.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    _check_space(space, mode)
    if mode == "grid":
        if num_trials is not None:
            grid_size = math.prod(len(spec) for spec in space.values())
            raise ValueError(
                f"grid mode tries every combination ({grid_size} here), so num_trials={num_trials} "
                "does not apply. Hint: drop num_trials, or use mode='random'."
            )
        names = list(space)
        return [dict(zip(names, values)) for values in itertools.product(*space.values())]
    num_trials = DEFAULT_RANDOM_TRIALS if num_trials is None else num_trials
    if not isinstance(num_trials, (int, np.integer)) or num_trials < 1:
        raise ValueError(f"num_trials must be a positive integer, got {num_trials!r}")
    rng = np.random.default_rng(seed)
    return [{name: _sample(spec, rng) for name, spec in space.items()} for _ in range(num_trials)]


def hyperparameter_search(
    train_fn: Callable[..., Mapping[str, Any]],
    space: SearchSpace,
    *,
    mode: str = "random",
    num_trials: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> ResultsTable:
    """Call ``train_fn(**setting)`` for every setting and collect params and metrics.

    Args:
        train_fn: ``train_fn(**params) -> {"metric": value, ...}``.
        space: see :func:`search_settings`.
        mode: "random" or "grid".
        num_trials: number of random settings (random mode; default 10).
        seed: seed of the random settings.
        progress: show a progress bar over trials (never shown while autograding).

    Returns:
        A :class:`ResultsTable`, one row per trial in the order tried: the
        hyperparameters, then the metrics.
    """
    settings = search_settings(space, mode=mode, num_trials=num_trials, seed=seed)
    from tqdm.auto import tqdm

    rows = []
    metric_names: dict[str, None] = {}
    with tqdm(settings, disable=not progress or is_autograding(), file=sys.stdout, desc="search",
              unit="trial") as trials:
        for setting in trials:
            try:
                metrics = train_fn(**setting)
            except Exception as err:
                if hasattr(err, "add_note"):  # Python >= 3.11
                    err.add_note(f"hyperparameter_search: this happened in train_fn(**{setting!r})")
                raise
            if not isinstance(metrics, Mapping):
                raise TypeError(
                    f"train_fn must return a dict of metrics such as {{'val_acc': 0.41}}, "
                    f"got {type(metrics).__name__} for {setting}"
                )
            clash = sorted(set(metrics) & set(setting))
            if clash:
                raise ValueError(f"train_fn returned metrics {clash} with the same names as hyperparameters")
            metric_names.update(dict.fromkeys(metrics))
            rows.append({**setting, **metrics})
            trials.set_postfix({key: _format_cell(value) for key, value in metrics.items()}, refresh=False)
    return ResultsTable(rows, columns=list(space) + list(metric_names))
