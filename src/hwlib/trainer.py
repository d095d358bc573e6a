"""The training loop: minibatches, your ``training_step``, an optimizer, and bookkeeping.

You write ``training_step(model, X_batch, y_batch, reg) -> (loss, grads)``;
:func:`train` does the rest: shuffles the data into minibatches, calls your step,
updates the parameters, decays the learning rate, measures train/val accuracy
after every epoch, keeps the best-validation weights, shows a progress bar and
(optionally) saves the loss/accuracy plot.

Nothing is written to stderr (a notebook test cell that writes to stderr gets
zero points): the progress bar goes to stdout, and numpy warnings raised during
training are summarised on stdout at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
import warnings
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from hwlib.classifier import Classifier, accuracy
from hwlib.optim import SGD, Optimizer, validate_grads
from hwlib.runtime import is_autograding

#: Train accuracy is measured on at most this many (fixed, random) training examples.
TRAIN_ACC_SUBSET = 1000
#: The keys ``data`` must hold.
DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")

TrainingStep = Callable[[Classifier, np.ndarray, np.ndarray, float], tuple[Any, Mapping[str, np.ndarray]]]
OptimizerFactory = Callable[[Mapping[str, np.ndarray], float], Optimizer]


@dataclasses.dataclass
class History:
    """What happened during :func:`train`.

    Attributes:
        loss: training loss of every iteration (one per minibatch).
        loss_epoch: for each entry of ``loss``, the (fractional) epoch it belongs
            to; the last minibatch of epoch ``e`` sits at exactly ``e``.
        train_acc: accuracy on a fixed subset of <= 1000 training examples, after each epoch.
        val_acc: validation accuracy after each epoch.
        learning_rate: the learning rate used during each epoch.
        best_val_acc: the highest entry of ``val_acc``.
        best_epoch: the epoch (1-based) that reached it.
        seconds: wall-clock training time.
    """

    loss: list[float] = dataclasses.field(default_factory=list)
    loss_epoch: list[float] = dataclasses.field(default_factory=list)
    train_acc: list[float] = dataclasses.field(default_factory=list)
    val_acc: list[float] = dataclasses.field(default_factory=list)
    learning_rate: list[float] = dataclasses.field(default_factory=list)
    best_val_acc: float = -math.inf
    best_epoch: int = 0
    seconds: float = 0.0

    @property
    def acc_epoch(self) -> list[int]:
        """The epoch of each accuracy entry, ``[1, 2, ..., E]``: the x-axis of the accuracy curves."""
        return list(range(1, len(self.val_acc) + 1))

    def as_dict(self) -> dict[str, Any]:
        """All fields (lists copied) plus ``acc_epoch``, as a plain dict (what the plot helper reads)."""
        return {**dataclasses.asdict(self), "acc_epoch": self.acc_epoch}


@dataclasses.dataclass(frozen=True)
class SettingRange:
    """The values one numeric training setting may take, e.g. ``SettingRange(0, 10, "(]")`` for a learning rate.

    Attributes:
        low, high: the ends of the interval.
        ends: which ends are allowed: ``"[]"`` both, ``"(]"`` not ``low``, ``"[)"`` not ``high``, ``"()"`` neither.
        whole: only whole numbers (a batch size, a number of epochs, a width).
    """

    low: float
    high: float
    ends: str = "[]"
    whole: bool = False

    def __post_init__(self) -> None:
        if self.ends not in ("[]", "(]", "[)", "()") or not self.low < self.high:
            raise ValueError(f"SettingRange({self.low!r}, {self.high!r}, {self.ends!r}): ends must be one of "
                             f"'[]', '(]', '[)', '()' and low < high")

    def __str__(self) -> str:
        interval = f"{self.ends[0]}{self.low:g}, {self.high:g}{self.ends[1]}"
        return f"{interval} (whole numbers)" if self.whole else interval

    def problem(self, name: str, value: Any) -> str | None:
        """None when ``value`` is allowed, else one sentence: the setting, what it got, what it may be."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return f"{name} = {value!r} is not a number; allowed: {self}"
        above = value > self.low if self.ends[0] == "(" else value >= self.low
        below = value < self.high if self.ends[1] == ")" else value <= self.high
        if not (above and below):  # NaN fails both
            return f"{name} = {value!r} is outside the allowed range {self}"
        if self.whole and not float(value).is_integer():
            return f"{name} = {value!r} must be a whole number in {self.ends[0]}{self.low:g}, {self.high:g}{self.ends[1]}"
        return None


def setting_problems(settings: Mapping[str, Any], ranges: Mapping[str, SettingRange]) -> list[str]:
    """One sentence per setting of a training recipe that is outside its range (an empty list: all fine).

    Inputs:
        settings: setting name -> value, e.g. ``{"learning_rate": 0.1, "batch_size": 100, ...}``.
        ranges: setting name -> :class:`SettingRange`; names absent from ``settings`` are skipped
            (a notebook reports missing keys itself), and settings without a range are not checked.
    Output: e.g. ``["learning_rate = 20 is outside the allowed range (0, 10]"]``, in the order of ``ranges``.
    """
    found = (ranges[name].problem(name, settings[name]) for name in ranges if name in settings)
    return [problem for problem in found if problem]


def train(
    model: Classifier,
    training_step: TrainingStep,
    data: Mapping[str, np.ndarray],
    *,
    num_epochs: int,
    batch_size: int,
    learning_rate: float,
    optimizer_factory: OptimizerFactory = SGD,
    lr_decay: float = 1.0,
    reg: float = 0.0,
    seed: int = 0,
    progress: bool = True,
    plot_file: str | os.PathLike | None = None,
    keep_best: bool = True,
    log_every: int = 10,
) -> History:
    """Train ``model`` with minibatch gradient descent.

    Args:
        model: a :class:`~hwlib.classifier.Classifier`; its parameters change in place.
        training_step: your ``training_step(model, X_batch, y_batch, reg) -> (loss, grads)``
            with a scalar loss and ``grads`` keyed like ``model.parameters()``.
        data: ``X_train`` (N, ...), ``y_train`` (N,), ``X_val`` (M, ...), ``y_val`` (M,).
        num_epochs: passes over the training set.
        batch_size: examples per minibatch.
        learning_rate: initial learning rate.
        optimizer_factory: ``factory(params, learning_rate) -> optimizer``; the
            optimizer must have a ``learning_rate`` attribute. Default :class:`~hwlib.optim.SGD`;
            e.g. ``functools.partial(SGDMomentum, momentum=0.9)``.
        lr_decay: the learning rate is multiplied by this after every epoch.
        reg: regularisation strength handed to ``training_step``.
        seed: seeds the minibatch order and the train-accuracy subset.
        progress: show a progress bar (never shown while autograding).
        plot_file: if given, save the loss/accuracy plot there (e.g. "plot.pdf"); the
            figure is closed, not shown (show it with ``hwlib.plots.plot_training_history``).
        keep_best: at the end, put back the parameters of the epoch with the best
            validation accuracy (otherwise keep the last ones).
        log_every: refresh the progress bar's loss read-out every this many iterations.

    Returns:
        A :class:`History`.

    Raises:
        FloatingPointError: the loss became nan or inf (learning rate too high?).
        ValueError / TypeError: bad data, or ``training_step`` returned something
            other than ``(scalar loss, grads dict matching the parameters)``.
    """
    X_train, y_train, X_val, y_val = _unpack_data(data)
    _check_settings(num_epochs=num_epochs, batch_size=batch_size, learning_rate=learning_rate,
                    lr_decay=lr_decay, reg=reg, log_every=log_every)
    from hwlib.sampler import DataSampler

    params = model.parameters()
    optimizer = optimizer_factory(params, learning_rate)
    if not hasattr(optimizer, "learning_rate"):
        raise TypeError(
            f"optimizer_factory returned a {type(optimizer).__name__} without a learning_rate "
            "attribute; the trainer needs it to apply lr_decay. Hint: store it as self.learning_rate."
        )
    rng = np.random.default_rng(seed)
    subset = np.sort(rng.choice(len(X_train), size=min(TRAIN_ACC_SUBSET, len(X_train)), replace=False))
    X_train_subset, y_train_subset = X_train[subset], y_train[subset]
    sampler = DataSampler(X_train, y_train, batch_size, seed=seed)
    batches_per_epoch = len(sampler)
    if batches_per_epoch == 0:
        raise ValueError(f"batch_size={batch_size} leaves no minibatch in {len(X_train)} training examples")

    history = History()
    best_params: dict[str, np.ndarray] | None = None
    show_bar = progress and not is_autograding()
    started = time.perf_counter()
    with _warnings_on_stdout(), _progress_bar(num_epochs * batches_per_epoch, show_bar) as bar:
        for epoch in range(1, num_epochs + 1):
            history.learning_rate.append(float(optimizer.learning_rate))
            for iteration, (X_batch, y_batch) in enumerate(sampler, start=1):
                loss, grads = _call_training_step(training_step, model, X_batch, y_batch, reg)
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"loss became {loss} at epoch {epoch} iteration {iteration}: lower the learning "
                        f"rate (it was {optimizer.learning_rate:g}) or check training_step for a "
                        "division by zero or log(0)."
                    )
                validate_grads(params, grads, source="training_step's grads")
                optimizer.step(grads)
                history.loss.append(loss)
                history.loss_epoch.append(epoch - 1 + iteration / batches_per_epoch)
                bar.update(1)
                if len(history.loss) % log_every == 0:
                    recent = history.loss[-log_every:]
                    bar.set_postfix(_postfix(history, loss=sum(recent) / len(recent)), refresh=False)
            history.train_acc.append(accuracy(model, X_train_subset, y_train_subset))
            history.val_acc.append(accuracy(model, X_val, y_val))
            if history.val_acc[-1] > history.best_val_acc:
                history.best_val_acc, history.best_epoch = history.val_acc[-1], epoch
                best_params = {name: value.copy() for name, value in params.items()}
            bar.set_postfix(_postfix(history, loss=history.loss[-1]))
            optimizer.learning_rate *= lr_decay
    history.seconds = time.perf_counter() - started

    if keep_best and best_params is not None:
        for name, value in params.items():
            value[...] = best_params[name]
    if plot_file is not None:
        _save_plot(history, plot_file)
    return history


def _save_plot(history: History, path: str | os.PathLike) -> None:
    """Save the loss/accuracy figure to ``path`` and close it (so repeated runs do not pile up figures).

    To see it in a notebook, call ``hwlib.plots.plot_training_history(history.as_dict())``.
    """
    import matplotlib.pyplot as plt

    from hwlib.plots import plot_training_history

    plt.close(plot_training_history(history.as_dict(), path))


def _unpack_data(data: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, y_train, X_val, y_val)`` from ``data``, with lengths checked."""
    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a dict with keys {list(DATA_KEYS)}, got {type(data).__name__}")
    missing = [key for key in DATA_KEYS if key not in data]
    if missing:
        raise ValueError(f"data is missing {missing}; it needs {list(DATA_KEYS)} (it has {sorted(data)})")
    X_train, y_train, X_val, y_val = (np.asarray(data[key]) for key in DATA_KEYS)
    for split, X, y in (("train", X_train, y_train), ("val", X_val, y_val)):
        if y.ndim != 1 or len(X) != len(y):
            raise ValueError(
                f"X_{split} has {len(X)} examples but y_{split} has shape {y.shape}; "
                f"expected y_{split} of shape ({len(X)},)"
            )
        if len(y) == 0:
            raise ValueError(f"the {split} split is empty")
    return X_train, y_train, X_val, y_val


def _check_settings(*, num_epochs: int, batch_size: int, learning_rate: float, lr_decay: float,
                    reg: float, log_every: int) -> None:
    """Reject settings that cannot work, naming the setting."""
    for name, value in (("num_epochs", num_epochs), ("batch_size", batch_size), ("log_every", log_every)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name, value in (("learning_rate", learning_rate), ("lr_decay", lr_decay)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not (math.isfinite(reg) and reg >= 0):
        raise ValueError(f"reg must be a number >= 0, got {reg!r}")


def _call_training_step(training_step: TrainingStep, model: Classifier, X_batch: np.ndarray,
                        y_batch: np.ndarray, reg: float) -> tuple[float, Mapping[str, np.ndarray]]:
    """Run the student's step and check the shape of what it returns."""
    result = training_step(model, X_batch, y_batch, reg)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(
            f"training_step must return (loss, grads), got {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        )
    loss, grads = result
    loss_array = np.asarray(loss)
    if loss_array.size != 1 or not np.issubdtype(loss_array.dtype, np.number):
        raise TypeError(
            f"training_step's loss must be a single number, got {type(loss).__name__} "
            f"of shape {loss_array.shape}. Hint: average the per-example losses."
        )
    return float(loss_array.item()), grads


def _postfix(history: History, *, loss: float) -> dict[str, str]:
    """Progress-bar read-out: loss, and the latest accuracies once there are some."""
    postfix = {"loss": f"{loss:.4f}"}
    if history.val_acc:
        postfix["train_acc"] = f"{history.train_acc[-1]:.3f}"
        postfix["val_acc"] = f"{history.val_acc[-1]:.3f}"
    return postfix


def _progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar over ``total`` iterations that writes to stdout (a no-op bar when disabled)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, file=sys.stdout, unit="it", desc="training",
                dynamic_ncols=True)


@contextlib.contextmanager
def _warnings_on_stdout() -> Iterator[None]:
    """Collect warnings raised inside the block and print one line per distinct one on stdout."""
    counts: dict[str, int] = {}

    def record(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
        text = f"{category.__name__}: {message}"
        counts[text] = counts.get(text, 0) + 1

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        try:
            yield
        finally:
            for text, count in counts.items():
                print(f"note: during training, {text} (seen {count} time{'s' * (count != 1)})")
