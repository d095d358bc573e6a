"""Plots used across the notebooks: curves, training history, activations, image grids.

Every function draws with pyplot (so ``%matplotlib inline`` shows the figure at
the end of the cell), returns the Figure, and saves it when given ``path``
(format from the suffix: ``.png``, ``.pdf``, ...; parent folders are created).
Nothing here closes a figure the caller receives, and nothing writes to stderr.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from hwlib.checks import run as run_student_code

#: Raster resolution used when saving (vector formats ignore it).
SAVE_DPI = 150

#: Image layouts accepted by :func:`show_image_grid`, for error messages.
IMAGE_LAYOUTS = "(N, H, W, 3) channels-last colour, (N, 3, H, W) channels-first colour, or (N, H, W) gray"


def save_figure(fig: Figure, path: str | Path | None) -> None:
    """Save ``fig`` to ``path`` (format from the suffix), creating parent folders; no-op for None."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=SAVE_DPI)


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The caller's axes and its figure, or a new pyplot figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each ``window`` consecutive values, shape (len(values) - window + 1,)."""
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_curves(
    series: Mapping[str, Sequence[float]],
    xlabel: str,
    ylabel: str,
    title: str = "",
    logy: bool = False,
    ax: Axes | None = None,
    path: str | Path | None = None,
) -> Figure:
    """One line per named series against its index (0, 1, 2, ...).

    Inputs:
        series: name -> values, each a 1-D sequence (lengths may differ).
        xlabel, ylabel, title: axis labels and optional title.
        logy: logarithmic y axis (non-positive values are left out by matplotlib).
        ax: draw into this axes instead of a new figure.
        path: save the figure there.
    Output: the Figure.
    """
    if not series:
        raise ValueError("plot_curves: `series` is empty; expected a dict such as {'train': [...], 'val': [...]}.")
    fig, ax = _figure_and_axes(ax, figsize=(6, 4))
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(
                f"plot_curves: series {name!r} has shape {values.shape}; expected a 1-D sequence of numbers. "
                "Hint: pass one list per curve."
            )
        ax.plot(np.arange(len(values)), values, label=str(name))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    save_figure(fig, path)
    return fig


def _as_percent(values: np.ndarray) -> np.ndarray:
    """Accuracies in percent: fractions (all values within [0, 1]) are multiplied by 100."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
        return 100.0 * values
    return values


def plot_training_history(history: Mapping[str, Sequence[float]], path: str | Path | None = None) -> Figure:
    """Training loss (left) and train/val accuracy per epoch (right), like the handout's plot.pdf.

    Inputs (keys of ``history``):
        "loss": training loss per iteration, shape (T,). Required.
        "loss_epoch": optional, shape (T,): the (fractional) epoch of each loss entry;
            the left x axis is in epochs when given, in iterations otherwise.
        "train_acc", "val_acc": accuracy per epoch, shape (E,), as fractions in [0, 1]
            or as percentages; at least one of them is required. Shown in percent.
        "acc_epoch": optional, shape (E,): the epoch of each accuracy entry (default 1..E).
    Output: the Figure (two axes). Saved to ``path`` (PDF, PNG, ... by suffix) when given.
    """
    if "loss" not in history:
        raise ValueError(
            f"plot_training_history: history has keys {sorted(history)}; expected a 'loss' entry "
            "(training loss per iteration) and 'train_acc' and/or 'val_acc' (accuracy per epoch)."
        )
    accuracy_keys = [key for key in ("train_acc", "val_acc") if key in history]
    if not accuracy_keys:
        raise ValueError(
            f"plot_training_history: history has keys {sorted(history)}; expected 'train_acc' and/or 'val_acc' "
            "(accuracy per epoch) next to 'loss'."
        )

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")

    loss = np.asarray(history["loss"], dtype=float)
    if "loss_epoch" in history:
        loss_x = np.asarray(history["loss_epoch"], dtype=float)
        if loss_x.shape != loss.shape:
            raise ValueError(
                f"plot_training_history: 'loss_epoch' has shape {loss_x.shape} but 'loss' has shape {loss.shape}; "
                "expected one epoch value per loss entry."
            )
        loss_ax.set_xlabel("epoch")
    else:
        loss_x = np.arange(len(loss))
        loss_ax.set_xlabel("iteration")
    many_points = len(loss) >= 100
    loss_ax.plot(loss_x, loss, color="tab:blue", lw=0.8, alpha=0.45 if many_points else 1.0, label="per iteration")
    if many_points:
        window = max(len(loss) // 50, 5)
        loss_ax.plot(loss_x[window - 1:], _running_mean(loss, window), color="tab:blue", lw=2,
                     label=f"running mean ({window} iterations)")
    loss_ax.set_ylabel("training loss")
    loss_ax.set_title("Training loss")
    loss_ax.grid(True, alpha=0.3)
    loss_ax.legend()

    for key, label in (("train_acc", "train"), ("val_acc", "val")):
        if key not in history:
            continue
        accuracy = _as_percent(np.asarray(history[key], dtype=float))
        epochs = np.asarray(history.get("acc_epoch", np.arange(1, len(accuracy) + 1)), dtype=float)
        if epochs.shape != accuracy.shape:
            raise ValueError(
                f"plot_training_history: 'acc_epoch' has shape {epochs.shape} but {key!r} has shape "
                f"{accuracy.shape}; expected one epoch value per accuracy entry."
            )
        acc_ax.plot(epochs, accuracy, marker="o", ms=4, label=label)
    acc_ax.yaxis.set_major_formatter(PercentFormatter(xmax=100))
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_title("Accuracy")
    acc_ax.grid(True, alpha=0.3)
    acc_ax.legend()

    save_figure(fig, path)
    return fig


def _grid_shape(count: int, ncols: int) -> tuple[int, int]:
    """(rows, cols) for ``count`` panels with at most ``ncols`` columns."""
    cols = max(1, min(ncols, count))
    return math.ceil(count / cols), cols


def _evaluate_on(name: str, what: str, fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``fn(x)`` as a float array of x's shape, with a readable error otherwise."""
    values = np.asarray(run_student_code(f"{what} of {name!r}", fn, x.copy()), dtype=float)
    if values.shape != x.shape:
        raise ValueError(
            f"plot_functions_and_derivatives: the {what} of {name!r} returned shape {values.shape} for x of shape "
            f"{x.shape}; expected the same shape as x. Hint: use elementwise numpy operations "
            "(np.maximum, np.where, np.tanh) instead of Python if/else on the whole array."
        )
    return values


def plot_functions_and_derivatives(
    functions: Mapping[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]],
    x: np.ndarray | None = None,
    path: str | Path | None = None,
) -> Figure:
    """One panel per function showing f(x) and its derivative f'(x).

    Inputs:
        functions: name -> (f, f_prime); each maps an array x of shape (M,) to an
            array of shape (M,) elementwise (e.g. ReLU, LeakyReLU(0.1), tanh, GELU).
        x: the points to evaluate at, shape (M,); default ``np.linspace(-4, 4, 401)``.
        path: save the figure there.
    Output: the Figure, one axes per function.
    """
    if not functions:
        raise ValueError("plot_functions_and_derivatives: `functions` is empty; expected {name: (f, f_prime)}.")
    x = np.linspace(-4.0, 4.0, 401) if x is None else np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"plot_functions_and_derivatives: x has shape {x.shape}; expected a 1-D array of points.")
    rows, cols = _grid_shape(len(functions), ncols=math.ceil(math.sqrt(len(functions))))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False, layout="constrained")
    flat_axes = axes.ravel()
    for ax, (name, pair) in zip(flat_axes, functions.items()):
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(callable(fn) for fn in pair)):
            raise ValueError(
                f"plot_functions_and_derivatives: entry {name!r} is {type(pair).__name__}; expected a tuple "
                "(f, f_prime) of two functions."
            )
        f, f_prime = pair
        ax.axhline(0.0, color="0.75", lw=0.8)
        ax.axvline(0.0, color="0.75", lw=0.8)
        ax.plot(x, _evaluate_on(name, "function", f, x), lw=2, label="f(x)")
        ax.plot(x, _evaluate_on(name, "derivative", f_prime, x), lw=2, ls="--", label="f'(x)")
        ax.set_title(str(name))
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left")
    for ax in flat_axes[len(functions):]:
        fig.delaxes(ax)
    save_figure(fig, path)
    return fig


def _channels_last(images: np.ndarray) -> np.ndarray:
    """Images as (N, H, W, 3) colour or (N, H, W) gray; ValueError naming the layouts otherwise."""
    single_colour_image = images.ndim == 3 and images.shape[-1] == 3
    if images.ndim == 3 and not single_colour_image:
        return images
    if images.ndim == 4 and images.shape[-1] == 3:
        return images
    if images.ndim == 4 and images.shape[1] == 3:
        return images.transpose(0, 2, 3, 1)
    hint = ""
    if images.ndim == 2 or single_colour_image:
        hint = f" Hint: shape {images.shape} looks like one image; pass image[None] to show it alone."
    raise ValueError(f"show_image_grid: images has shape {images.shape}; expected {IMAGE_LAYOUTS}.{hint}")


def _min_max_scaled(images: np.ndarray) -> np.ndarray:
    """Each image scaled to [0, 1] by its own min and max (a constant image becomes 0)."""
    images = images.astype(float)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    span = images.max(axis=axes, keepdims=True) - low
    return (images - low) / np.where(span > 0, span, 1.0)


def show_image_grid(
    images: np.ndarray,
    labels: Sequence[str] | None = None,
    ncols: int = 10,
    normalize: bool = True,
    path: str | Path | None = None,
) -> Figure:
    """Show images in a grid without ticks, optionally with a label above each.

    Inputs:
        images: (N, H, W, 3), (N, 3, H, W) or (N, H, W) (gray).
        labels: N strings, or None.
        ncols: at most this many images per row.
        normalize: scale each image to [0, 1] by its own min and max (use this to
            look at learned weights). When False, images must be uint8 (0-255)
            or floats in [0, 1].
        path: save the figure there.
    Output: the Figure, one axes per image.
    """
    images = _channels_last(np.asarray(images))
    count = len(images)
    if count == 0:
        raise ValueError(f"show_image_grid: images has shape {images.shape}; expected at least one image.")
    if labels is not None and len(labels) != count:
        raise ValueError(f"show_image_grid: got {len(labels)} labels for {count} images; expected one label per image.")
    if normalize:
        images = _min_max_scaled(images)
    elif images.dtype != np.uint8:
        images = images.astype(float)
        if images.min() < 0.0 or images.max() > 1.0:
            raise ValueError(
                f"show_image_grid: with normalize=False, float images must lie in [0, 1]; got values in "
                f"[{images.min():.4g}, {images.max():.4g}]. Hint: pass normalize=True, or divide 0-255 data by 255."
            )
    rows, cols = _grid_shape(count, ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.35 * rows if labels is not None else 1.2 * rows),
                             squeeze=False, layout="constrained")
    flat_axes = axes.ravel()
    gray = images.ndim == 3
    vmax = 255 if images.dtype == np.uint8 else 1.0
    for index, ax in enumerate(flat_axes[:count]):
        if gray:
            ax.imshow(images[index], cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
        else:
            ax.imshow(images[index], interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if labels is not None:
            ax.set_title(str(labels[index]), fontsize=8)
    for ax in flat_axes[count:]:
        fig.delaxes(ax)
    save_figure(fig, path)
    return fig
