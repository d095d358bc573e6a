"""Helpers for the affine-fitting notebook: data, a loss logger, plots, an animation, an explorer.

The exercise fits p' ~= S p + t (S of shape (2, 2), t of shape (2,)) to N
correspondences by gradient descent. The loss, its gradient and the descent loop
are the student's; this module only loads the data, records what the student's
loop reports (:class:`FitLogger`) and draws it. Predictions ``P @ S.T + t`` are
computed here for display only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hwlib.checks import run as run_student_code
from hwlib.plots import save_figure
from hwlib.widgets import explore

#: The handout's goal for the final loss.
TARGET_LOSS = 1e-4

#: Resolution of the GIF frames (about 0.9 MB for 45 frames).
ANIMATION_DPI = 90

#: Larger losses are marked as diverged rather than drawn (a log axis reaching
#: towards 1e308 overflows inside matplotlib and warns on stderr).
_LARGEST_DRAWN_LOSS = 1e100

_DATA_FILE = "affine_correspondences.npz"
_TARGET_STYLE = dict(s=36, facecolors="none", edgecolors="tab:blue", linewidths=1.2, label="targets p'")
_PREDICTION_STYLE = dict(s=12, color="tab:orange", label="predictions S p + t")
_RESIDUAL_STYLE = dict(colors="0.6", linewidths=0.7)


def load_correspondences() -> tuple[np.ndarray, np.ndarray]:
    """The course's correspondences: P and P_prime, float64 arrays of shape (N, 2), N = 200.

    Row i of P is a point p_i and row i of P_prime its noisy image p'_i.
    """
    with (files("hwlib") / "data" / _DATA_FILE).open("rb") as handle:
        with np.load(handle, allow_pickle=False) as data:
            return np.array(data["P"], dtype=np.float64), np.array(data["P_prime"], dtype=np.float64)


def _as_parameter(where: str, name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A float64 copy of ``value`` with the given shape, or a readable ValueError."""
    array = np.array(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(
            f"{where}: {name} has shape {array.shape}; expected {shape}. "
            "Hint: S is the 2x2 matrix and t the length-2 vector of p' = S p + t."
        )
    return array


_EMPTY_LOGGER_MESSAGE = (
    "the FitLogger has no entries. Hint: inside your gradient-descent loop, call "
    "logger.log(step, loss, S, t) when logger is not None."
)


class FitLogger:
    """Records (step, loss, S, t) reported by a gradient-descent loop.

    Call ``logger.log(step, loss, S, t)`` once per step. Every ``every``-th step
    (step % every == 0) is kept; the most recent call is always available as well,
    so the curve ends at the last step and ``final_loss`` is the last loss logged.

    Attributes (lists, oldest first): ``steps`` (int), ``losses`` (float),
    ``params`` ((S, t) copies, shapes (2, 2) and (2,)).
    """

    def __init__(self, every: int = 1) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"FitLogger: every={every!r}; expected a positive integer (1 keeps every step).")
        self.every = int(every)
        self._kept: list[tuple[int, float, np.ndarray, np.ndarray]] = []
        self._latest: tuple[int, float, np.ndarray, np.ndarray] | None = None

    def log(self, step: int, loss: float, S: np.ndarray, t: np.ndarray) -> None:
        """Record one step; S (2, 2) and t (2,) are copied, so updating them in place later is fine."""
        loss_array = np.asarray(loss, dtype=np.float64)
        if loss_array.size != 1:
            raise ValueError(
                f"FitLogger.log: loss has shape {loss_array.shape}; expected a single number. "
                "Hint: the loss is the mean over all N points of the squared distances."
            )
        entry = (int(step), float(loss_array.reshape(())), _as_parameter("FitLogger.log", "S", S, (2, 2)),
                 _as_parameter("FitLogger.log", "t", t, (2,)))
        self._latest = entry
        if entry[0] % self.every == 0:
            self._kept.append(entry)

    def _entries(self) -> list[tuple[int, float, np.ndarray, np.ndarray]]:
        if self._latest is None or (self._kept and self._kept[-1] is self._latest):
            return list(self._kept)
        return [*self._kept, self._latest]

    @property
    def steps(self) -> list[int]:
        return [entry[0] for entry in self._entries()]

    @property
    def losses(self) -> list[float]:
        return [entry[1] for entry in self._entries()]

    @property
    def params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(entry[2], entry[3]) for entry in self._entries()]

    @property
    def final_loss(self) -> float:
        """The loss of the most recent ``log`` call."""
        if self._latest is None:
            raise ValueError(_EMPTY_LOGGER_MESSAGE)
        return self._latest[1]

    def __len__(self) -> int:
        return len(self._entries())

    def __repr__(self) -> str:
        if self._latest is None:
            return f"FitLogger(every={self.every}, empty)"
        return f"FitLogger(every={self.every}, {len(self)} entries, final loss {self.final_loss:.4g})"


def _require_entries(logger: FitLogger) -> None:
    if len(logger) == 0:
        raise ValueError(_EMPTY_LOGGER_MESSAGE)


def plot_fit_losses(logger: FitLogger, path: str | Path | None = None, ax: Axes | None = None) -> Figure:
    """Loss against step on a log scale, with the 1e-4 target as a dashed line.

    Inputs: a filled :class:`FitLogger`; ``path`` to save; ``ax`` to draw into.
    Output: the Figure. Non-finite losses (a diverging fit) are marked, not drawn.
    """
    _require_entries(logger)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    else:
        fig = ax.figure
    steps = np.asarray(logger.steps)
    losses = np.asarray(logger.losses)
    with np.errstate(invalid="ignore"):
        diverged = ~np.isfinite(losses) | (losses > _LARGEST_DRAWN_LOSS)
    drawable = ~diverged & (losses > 0)
    ax.plot(steps[drawable], losses[drawable], color="tab:blue", lw=1.8, label="loss")
    ax.axhline(TARGET_LOSS, color="tab:red", ls="--", lw=1.2, label=f"target {TARGET_LOSS:g}")
    if np.any(diverged):
        first_bad = steps[diverged][0]
        ax.axvline(first_bad, color="black", ls=":", lw=1.2,
                   label=f"diverged from step {first_bad}: loss > {_LARGEST_DRAWN_LOSS:g} or not finite")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)")
    ax.set_title("Gradient descent on the affine fit")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.1)
    ax.legend()
    save_figure(fig, path)
    return fig


def _predictions(P: np.ndarray, S: np.ndarray, t: np.ndarray) -> np.ndarray:
    """S p_i + t for every row p_i of P, shape (N, 2) (display only)."""
    with np.errstate(all="ignore"):
        return P @ np.asarray(S, dtype=float).T + np.asarray(t, dtype=float)


def _residual_segments(predictions: np.ndarray, P_prime: np.ndarray) -> np.ndarray:
    """Line segments from each prediction to its target, shape (N, 2, 2)."""
    return np.stack([predictions, P_prime], axis=1)


def _view_limits(*point_sets: np.ndarray, margin: float = 0.08) -> tuple[tuple[float, float], tuple[float, float]]:
    """Square-ish (xlim, ylim) around the finite points of all sets."""
    points = np.concatenate([p[np.all(np.isfinite(p), axis=1)] for p in point_sets])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * float(np.max(high - low))
    return (low[0] - pad, high[0] + pad), (low[1] - pad, high[1] + pad)


def _style_point_axes(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(True, alpha=0.25)


def plot_fit(P: np.ndarray, P_prime: np.ndarray, S: np.ndarray, t: np.ndarray, ax: Axes | None = None) -> Figure:
    """Targets p' (hollow) against predictions S p + t (filled), joined by short grey lines.

    Inputs: P, P_prime of shape (N, 2); S (2, 2); t (2,); ``ax`` to draw into.
    Output: the Figure.
    """
    S = _as_parameter("plot_fit", "S", S, (2, 2))
    t = _as_parameter("plot_fit", "t", t, (2,))
    P, P_prime = np.asarray(P, dtype=float), np.asarray(P_prime, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    else:
        fig = ax.figure
    predictions = _predictions(P, S, t)
    ax.add_collection(LineCollection(_residual_segments(predictions, P_prime), **_RESIDUAL_STYLE))
    ax.scatter(P_prime[:, 0], P_prime[:, 1], **_TARGET_STYLE)
    ax.scatter(predictions[:, 0], predictions[:, 1], **_PREDICTION_STYLE)
    xlim, ylim = _view_limits(P_prime, _bounded(predictions, P_prime))
    _style_point_axes(ax, xlim, ylim)
    ax.set_title("Fit: predictions vs targets")
    ax.legend(loc="best", fontsize=9)
    return fig


def _bounded(points: np.ndarray, reference: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """The rows of ``points`` within ``factor`` times the reference's extent of it (for view limits)."""
    low, high = reference.min(axis=0), reference.max(axis=0)
    pad = factor * (high - low)
    with np.errstate(invalid="ignore"):
        keep = np.all((points >= low - pad) & (points <= high + pad), axis=1)
    return points[keep]


def _frame_indices(count: int, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` indices into ``count`` entries, spaced geometrically
    (gradient descent moves fastest at the start), always including the first and last."""
    if count <= max_frames:
        return np.arange(count)
    spaced = np.round(np.geomspace(1, count, max_frames)).astype(int) - 1
    return np.unique(np.concatenate([[0], spaced, [count - 1]]))


def _animation_figure(xlim: tuple[float, float], ylim: tuple[float, float], height: float = 3.8) -> Figure:
    """A figure (not registered with pyplot, so never shown inline) whose one axes fits the data's aspect ratio.

    Margins are fixed in inches so the axes does not move between frames.
    """
    width = height * (xlim[1] - xlim[0]) / (ylim[1] - ylim[0])
    left, right, bottom, top = 0.7, 0.25, 0.85, 0.45
    fig = Figure(figsize=(left + width + right, bottom + height + top))
    fig_width, fig_height = fig.get_size_inches()
    fig.add_axes((left / fig_width, bottom / fig_height, width / fig_width, height / fig_height))
    return fig


def make_fit_animation(
    logger: FitLogger,
    P: np.ndarray,
    P_prime: np.ndarray,
    path: str | Path,
    fps: int = 10,
    max_frames: int = 60,
) -> str:
    """Write an animated GIF of the predictions S p + t moving onto the targets p'.

    Inputs: a filled :class:`FitLogger`; P, P_prime of shape (N, 2); ``path`` of
    the .gif; ``fps`` frames per second; at most ``max_frames`` frames (the logged
    steps are thinned, keeping the first and the last).
    Output: ``path`` as a string. Show it inline with :func:`show_animation`.
    """
    _require_entries(logger)
    if max_frames < 2:
        raise ValueError(f"make_fit_animation: max_frames={max_frames}; expected at least 2.")
    P, P_prime = np.asarray(P, dtype=float), np.asarray(P_prime, dtype=float)
    steps, losses, params = logger.steps, logger.losses, logger.params
    chosen = _frame_indices(len(steps), max_frames)
    frames = [_predictions(P, *params[i]) for i in chosen]
    xlim, ylim = _view_limits(P_prime, *(_bounded(frame, P_prime) for frame in frames))

    fig = _animation_figure(xlim, ylim)
    ax = fig.axes[0]
    residuals = LineCollection(_residual_segments(frames[0], P_prime), **_RESIDUAL_STYLE)
    ax.add_collection(residuals)
    ax.scatter(P_prime[:, 0], P_prime[:, 1], **_TARGET_STYLE)
    moving = ax.scatter(frames[0][:, 0], frames[0][:, 1], **_PREDICTION_STYLE)
    _style_point_axes(ax, xlim, ylim)
    fig.legend(loc="lower center", ncols=2, fontsize=9, frameon=False)
    title = ax.set_title("")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = PillowWriter(fps=fps)
    with writer.saving(fig, str(path), dpi=ANIMATION_DPI):
        for index, predictions in zip(chosen, frames):
            moving.set_offsets(predictions)
            residuals.set_segments(_residual_segments(predictions, P_prime))
            title.set_text(f"step {steps[index]}   loss {losses[index]:.3g}")
            writer.grab_frame()
    return str(path)


def show_animation(path: str | Path) -> Any:
    """An IPython Image of the GIF at ``path``; the last expression of a cell displays it."""
    from IPython.display import Image

    return Image(filename=str(path))


def affine_fit_explorer(fit_fn: Callable[..., tuple[np.ndarray, np.ndarray]], P: np.ndarray, P_prime: np.ndarray) -> Any:
    """Sliders for log10(learning rate) and steps that rerun the student's fit and redraw.

    Inputs:
        fit_fn: the student's ``fit_affine_transform(P, P_prime, learning_rate, steps, logger=None)
            -> (S, t)``; it is called with a fresh :class:`FitLogger` and must log every step.
        P, P_prime: correspondences of shape (N, 2).
    Output: the ipywidgets object, or None when run headless (then it draws once
    with the default sliders: learning rate 0.1, 300 steps).
    Each redraw shows the loss curve and the final fit, with the final loss and
    the wall time of ``fit_fn`` in the title.
    """
    P, P_prime = np.asarray(P, dtype=float), np.asarray(P_prime, dtype=float)

    def render(log10_learning_rate: float, steps: float) -> None:
        learning_rate = float(10.0 ** log10_learning_rate)
        step_count = int(round(steps))
        logger = FitLogger()
        started = time.perf_counter()
        S, t = run_student_code("fit_fn", fit_fn, P.copy(), P_prime.copy(),
                                learning_rate=learning_rate, steps=step_count, logger=logger)
        seconds = time.perf_counter() - started
        _require_entries(logger)
        fig, (loss_ax, fit_ax) = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained",
                                              gridspec_kw={"width_ratios": (1.4, 1)})
        plot_fit_losses(logger, ax=loss_ax)
        plot_fit(P, P_prime, S, t, ax=fit_ax)
        verdict = "below" if logger.final_loss < TARGET_LOSS else "not below"
        fig.suptitle(
            f"learning rate {learning_rate:.3g}, {step_count} steps: final loss {logger.final_loss:.3g} "
            f"({verdict} the {TARGET_LOSS:g} target) in {1000 * seconds:.0f} ms"
        )
        return None

    return explore(render, log10_learning_rate=(-3.0, 0.5, 0.1, -1.0), steps=(10.0, 1000.0, 10.0, 300.0))
