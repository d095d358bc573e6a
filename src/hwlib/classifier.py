"""The classifier interface every model in the course follows, plus one worked example.

A classifier owns a dict of named parameter arrays and knows how to run a
forward pass (inputs -> class scores) and a backward pass (gradient of the loss
with respect to the scores -> gradient with respect to every parameter). The
loss itself is *not* part of the model: ``training_step`` (your code) combines
``forward``, a loss function and ``backward``. Because every model speaks the
same interface, one trainer and one optimizer work for all of them.

:class:`LinearClassifier` is the worked example. It does no matrix maths of its
own: it calls the ``fc_forward`` / ``fc_backward`` functions you pass in (the
ones you wrote), so this file contains no solution.

Saving uses a plain ``.npz`` archive: one array per parameter plus a JSON
string with the class name and constructor arguments. Loading never unpickles
(``allow_pickle=False``), so a model file cannot run code on your machine.
"""

from __future__ import annotations

import abc
import inspect
import json
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

#: Name of the archive entry holding the JSON metadata; parameters may not use it.
META_KEY = "__meta__"
#: Format tag written into the metadata, checked on load.
FILE_FORMAT = "hwlib.classifier/1"
#: Default number of examples scored at once by predict/accuracy (bounds memory).
DEFAULT_BATCH_SIZE = 1000

ClassifierT = TypeVar("ClassifierT", bound="Classifier")
PathLike = str | os.PathLike


def _json_value(value: Any) -> Any:
    """``value`` made JSON-ready (numpy scalars -> Python scalars), or raise TypeError."""

    def convert(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    try:
        return json.loads(json.dumps(value, default=convert, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise TypeError(str(err)) from None


def _record_init_arguments(cls: type, args: tuple, kwargs: dict) -> tuple[dict[str, Any], list[str]]:
    """Split the arguments of ``cls(*args, **kwargs)`` into storable and not storable.

    Returns:
        ``(config, unsaved)``: ``config`` maps argument name -> JSON value (defaults
        included); ``unsaved`` names the arguments that cannot go into a file
        (functions, arrays, ...), which :meth:`Classifier.load_from` must be given.
    """
    try:
        signature = inspect.signature(cls.__init__)
        bound = signature.bind(None, *args, **kwargs)  # None stands in for self
    except (TypeError, ValueError):
        return {}, []  # __init__ itself will report the bad call
    bound.apply_defaults()
    parameters = list(signature.parameters.values())
    config: dict[str, Any] = {}
    unsaved: list[str] = []
    for param in parameters[1:]:
        value = bound.arguments.get(param.name)
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                unsaved.append(param.name)
            continue
        items = value.items() if param.kind is inspect.Parameter.VAR_KEYWORD else [(param.name, value)]
        for name, item in items:
            try:
                config[name] = _json_value(item)
            except TypeError:
                unsaved.append(name)
    return config, unsaved


class Classifier(abc.ABC):
    """Base class for models that map inputs ``X`` of shape (N, ...) to scores (N, C).

    Subclasses implement :meth:`parameters`, :meth:`forward` and :meth:`backward`;
    :meth:`predict`, :meth:`save`, :meth:`load` and :meth:`load_from` come for free.

    The constructor arguments are recorded automatically when the model is built
    (no code needed in your ``__init__``). Those that fit in JSON (numbers, strings,
    lists, ...) are saved with the weights so :meth:`load_from` can rebuild the
    model; others, such as layer functions, must be passed again when loading.
    Tuples come back as lists.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "Classifier":
        instance = super().__new__(cls)
        instance._init_config, instance._init_unsaved = _record_init_arguments(cls, args, kwargs)
        return instance

    # ----- what a subclass implements ------------------------------------------------

    @abc.abstractmethod
    def parameters(self) -> dict[str, np.ndarray]:
        """The model's live parameter arrays, by name.

        Returns:
            ``{name: array}`` holding the very arrays the model computes with (not
            copies), so an optimizer that updates them in place trains the model.
        """

    @abc.abstractmethod
    def forward(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        """Class scores for a batch.

        Args:
            X: inputs, shape (N, ...) — e.g. (N, D) feature vectors or (N, 3, 32, 32) images.

        Returns:
            ``(scores, cache)``: scores of shape (N, C), and whatever the backward pass needs.
        """

    @abc.abstractmethod
    def backward(self, grad_scores: np.ndarray, cache: Any) -> dict[str, np.ndarray]:
        """Gradients of the loss with respect to every parameter.

        Args:
            grad_scores: dLoss/dscores, shape (N, C).
            cache: the cache returned by :meth:`forward` for the same batch.

        Returns:
            ``{name: gradient}`` with the same keys as :meth:`parameters` and each
            gradient the shape of its parameter.
        """

    # ----- provided ------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The JSON-storable constructor arguments (defaults included), by name.

        Override this if your model should be rebuilt from something else.
        """
        return dict(getattr(self, "_init_config", {}))

    def predict(self, X: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Predicted class labels: the argmax of the scores, computed in batches.

        Args:
            X: inputs, shape (N, ...).
            batch_size: examples scored per forward pass (bounds memory use).

        Returns:
            Integer array of shape (N,).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        num_examples = len(X)
        labels = np.empty(num_examples, dtype=np.int64)
        for start in range(0, num_examples, batch_size):
            batch = X[start : start + batch_size]
            scores, _ = self.forward(batch)
            scores = np.asarray(scores)
            if scores.ndim != 2 or scores.shape[0] != len(batch):
                raise ValueError(
                    f"{type(self).__name__}.forward returned scores of shape {scores.shape} for a batch "
                    f"of {len(batch)} inputs; expected ({len(batch)}, num_classes). "
                    "Hint: forward must return (scores, cache) with one row of scores per input."
                )
            labels[start : start + len(batch)] = np.argmax(scores, axis=1)
        return labels

    def save(self, path: PathLike) -> Path:
        """Write the parameters and constructor arguments to an ``.npz`` file.

        Args:
            path: destination; ``.npz`` is appended if missing, folders are created.

        Returns:
            The path actually written.
        """
        params = self.parameters()
        if META_KEY in params:
            raise ValueError(f"a parameter may not be called {META_KEY!r}: that name is reserved for metadata")
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FILE_FORMAT,
            "class": type(self).__name__,
            "config": self.config(),
            "unsaved_arguments": list(getattr(self, "_init_unsaved", [])),
        }
        arrays = {name: np.asarray(value) for name, value in params.items()}
        np.savez(path, **{META_KEY: np.array([json.dumps(meta)])}, **arrays)
        return path

    def load(self: ClassifierT, path: PathLike) -> ClassifierT:
        """Copy the parameters saved in ``path`` into this model (in place).

        The arrays from :meth:`parameters` keep their identity, so an optimizer
        built earlier still points at the model's weights.

        Args:
            path: an ``.npz`` file written by :meth:`save`.

        Returns:
            ``self``.

        Raises:
            ValueError: the file holds other parameter names or shapes than this
                model, or contains pickled objects (refused for safety).
        """
        stored = _read_parameters(path)
        params = self.parameters()
        missing = sorted(set(params) - set(stored))
        extra = sorted(set(stored) - set(params))
        if missing or extra:
            raise ValueError(
                f"{path}: the parameter names do not match this {type(self).__name__}. "
                f"In the model but not the file: {missing}; in the file but not the model: {extra}. "
                "Hint: load a file saved from the same kind of model."
            )
        for name, live in params.items():
            if stored[name].shape != live.shape:
                raise ValueError(
                    f"{path}: parameter {name!r} has shape {stored[name].shape} in the file, but this "
                    f"model expects shape {live.shape}. Hint: build the model with the constructor "
                    "arguments used when it was saved, or use Classifier.load_from(path, cls)."
                )
        for name, live in params.items():
            live[...] = stored[name]
        return self

    @staticmethod
    def load_from(path: PathLike, cls: type[ClassifierT], **constructor_arguments: Any) -> ClassifierT:
        """Rebuild a model of class ``cls`` from a file written by :meth:`save`.

        Args:
            path: the ``.npz`` file.
            cls: the model class, e.g. ``TwoLayerNet``.
            **constructor_arguments: arguments that could not be stored (layer
                functions, ...) or that you want to override.

        Returns:
            A new ``cls`` instance holding the saved parameters.
        """
        meta = read_metadata(path)
        if meta["class"] != cls.__name__:
            raise ValueError(
                f"{path} holds a {meta['class']}, not a {cls.__name__}. "
                f"Hint: call Classifier.load_from(path, {meta['class']})."
            )
        missing = [name for name in meta["unsaved_arguments"] if name not in constructor_arguments]
        if missing:
            passed = ", ".join(f"{name}={name}" for name in missing)
            raise ValueError(
                f"{cls.__name__} needs the argument(s) {missing}, which cannot be stored in a file. "
                f"Pass them again: Classifier.load_from(path, {cls.__name__}, {passed})."
            )
        model = cls(**{**meta["config"], **constructor_arguments})
        return model.load(path)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.config().items())
        return f"{type(self).__name__}({arguments})"


def _open_archive(path: PathLike) -> Any:
    """``np.load(path, allow_pickle=False)``, checked to be an ``.npz`` archive."""
    archive = np.load(path, allow_pickle=False)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a single .npy array, not an .npz model file written by Classifier.save")
    return archive


def _read_parameters(path: PathLike) -> dict[str, np.ndarray]:
    """Every array in the archive except the metadata; refuses pickled entries."""
    with _open_archive(path) as archive:
        parameters = {}
        for name in archive.files:
            if name == META_KEY:
                continue
            try:
                parameters[name] = archive[name]
            except ValueError as err:
                raise ValueError(
                    f"{path}: entry {name!r} holds pickled Python objects, which are refused for "
                    f"safety (allow_pickle=False). A model file should hold numeric arrays only. ({err})"
                ) from err
    return parameters


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The metadata stored by :meth:`Classifier.save`: format, class, config, unsaved_arguments."""
    with _open_archive(path) as archive:
        if META_KEY not in archive.files:
            raise ValueError(f"{path} has no {META_KEY!r} entry: it was not written by Classifier.save")
        raw = archive[META_KEY]
    meta = json.loads(str(raw.reshape(-1)[0]))
    if meta.get("format") != FILE_FORMAT:
        raise ValueError(f"{path}: unknown model file format {meta.get('format')!r}, expected {FILE_FORMAT!r}")
    return meta


def accuracy(model: Classifier, X: np.ndarray, y: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> float:
    """Fraction of examples whose predicted label equals the true label.

    Args:
        model: anything with ``predict(X, batch_size=...)``.
        X: inputs, shape (N, ...).
        y: integer labels, shape (N,).
        batch_size: examples scored per forward pass.

    Returns:
        A float in [0, 1].
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must have shape ({len(X)},) to match X, got {y.shape}")
    if len(y) == 0:
        raise ValueError("accuracy of an empty dataset is undefined: X and y have no examples")
    predictions = model.predict(X, batch_size=batch_size)
    return float(np.mean(predictions == y))


LayerForward = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, Any]]
LayerBackward = Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray, np.ndarray]]


class LinearClassifier(Classifier):
    """Scores = X W + b, computed by the fully-connected layer functions you pass in.

    Args:
        input_dim: D, the number of features per example (inputs of shape
            (N, d1, ..., dk) are flattened to (N, D) with D = d1 * ... * dk).
        num_classes: C.
        fc_forward: ``fc_forward(X, W, b) -> (out, cache)`` with X (N, D), W (D, C), b (C,).
        fc_backward: ``fc_backward(grad_out, cache) -> (grad_X, grad_W, grad_b)``.
        weight_scale: standard deviation of the initial weights.
        seed: seed of the weight initialisation.

    Parameters: ``W`` of shape (D, C) and ``b`` of shape (C,), float64.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        fc_forward: LayerForward,
        fc_backward: LayerBackward,
        weight_scale: float = 1e-3,
        seed: int = 0,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.input_dim = int(input_dim)
        self.num_classes = int(num_classes)
        self.fc_forward = fc_forward
        self.fc_backward = fc_backward
        self.W = weight_scale * rng.standard_normal((self.input_dim, self.num_classes))
        self.b = np.zeros(self.num_classes)

    def parameters(self) -> dict[str, np.ndarray]:
        """``{"W": (D, C) array, "b": (C,) array}``, the live arrays."""
        return {"W": self.W, "b": self.b}

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        """Scores (N, C) for inputs X (N, D) or (N, d1, ..., dk); the cache is fc_forward's."""
        X_flat = np.reshape(X, (len(X), -1))
        if X_flat.shape[1] != self.input_dim:
            raise ValueError(
                f"LinearClassifier was built with input_dim={self.input_dim}, but X of shape "
                f"{np.shape(X)} has {X_flat.shape[1]} features per example."
            )
        return self.fc_forward(X_flat, self.W, self.b)

    def backward(self, grad_scores: np.ndarray, cache: Any) -> dict[str, np.ndarray]:
        """``{"W": dL/dW (D, C), "b": dL/db (C,)}`` from dL/dscores (N, C), via fc_backward."""
        grads = self.fc_backward(grad_scores, cache)
        if not isinstance(grads, tuple) or len(grads) != 3:
            raise ValueError(
                "fc_backward must return a tuple (grad_X, grad_W, grad_b), "
                f"got {type(grads).__name__}{'' if not isinstance(grads, tuple) else f' of length {len(grads)}'}"
            )
        _, grad_W, grad_b = grads
        return {"W": grad_W, "b": grad_b}
