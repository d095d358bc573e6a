"""Hidden tests for notebook 4 (neural networks on CIFAR-10).

Reference values come from the source notebook's own solution (``ref``). Every
case swaps in the reference notebook-2 layers (``use_reference``), so a mistake
made in notebook 2 is not charged again here; cases that need a model, an
optimizer or a training loop other than the one under test use the reference
versions of those too, so each mistake costs points on its own question only.

The two accuracy questions retrain the student's recipe with the reference
code on real CIFAR-10 data (whatever ``hwlib.cifar.load_cifar10`` finds, e.g.
the course subset via ``HWLIB_CIFAR10``), under the autograding budget of the
notebook, and compare the accuracy with a threshold calibrated on the
reference recipe (see ``TUNED_VAL_TARGET`` and ``OVERFIT_TRAIN_TARGET``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from course import reference
from course.cases import Case, Ref, call
from course.hidden import question
from hwlib.cifar import load_cifar10
from hwlib.preprocess import preprocess_cifar

LAYER_NAMES = ("fc_forward", "fc_backward", "relu_forward", "relu_backward", "softmax_loss", "l2_regularization")
#: The notebook-2 functions a network calls, replaced by their reference versions.
NET_LAYERS = {name: "layers" for name in ("fc_forward", "fc_backward", "relu_forward", "relu_backward")}
#: The notebook-2 functions training_step calls.
LOSS_LAYERS = {name: "layers" for name in ("softmax_loss", "l2_regularization")}

#: Accuracy targets. Reference recipes on the course subset: 39.4% validation accuracy under the
#: autograding budget (44.2% with the full recipe), and 98.6% training accuracy when overfitting.
TUNED_VAL_TARGET = 0.30
OVERFIT_TRAIN_TARGET = 0.75
OVERFIT_MAX_TRAIN = 1000
OVERFIT_MAX_EPOCHS = 30

NET_HINT = ("scores = relu(X W1 + b1) W2 + b2 with your fc_forward / relu_forward; backward walks the layers in "
            "reverse (fc_backward, relu_backward, fc_backward), each with its own cache; parameters() returns "
            "the model's own arrays")
INIT_HINT = ("rng = np.random.default_rng(seed); W1 = weight_scale * rng.standard_normal((D, H)) first, then W2 "
             "the same way with shape (H, C); zero biases; every array converted to dtype")
FCN_HINT = ("(fc -> relu) for every hidden layer and a last fc without ReLU; parameters W1, b1, ..., WL, bL; "
            "backward walks the layers in reverse order, each with its own cache")
FCN_INIT_HINT = ("one generator np.random.default_rng(seed); W1, W2, ..., WL drawn in that order as "
                 "weight_scale * rng.standard_normal((d_{l-1}, d_l)); zero biases; everything converted to dtype")
STEP_HINT = ("loss = softmax_loss(scores, y) + sum of (reg / 2) ||W||^2 over the parameters whose name starts "
             "with 'W' (not the biases); each weight's gradient gets reg * W added; grads keyed like parameters()")
MOMENTUM_HINT = ("v = momentum * v - learning_rate * grad, then p += v, for every parameter, in place; one velocity "
                 "per parameter that persists between steps; read self.learning_rate at every update")


# ----- building and filling models inside the student's namespace --------------------------------------------


def _model_calls(constructor: str, args: tuple, kwargs: dict, values: Mapping[str, np.ndarray]) -> list:
    """Calls that build a model (call 0), fetch its parameters (call 1) and write ``values`` into them.

    The values are written with ``ndarray.put`` into the arrays ``parameters()`` returned, so a model
    whose ``parameters()`` hands out copies computes with its old weights (and fails the case).
    """
    calls = [call(constructor, *args, **kwargs), call(Ref(0), method="parameters")]
    for name, value in values.items():
        value = np.asarray(value)
        calls.append(call(Ref(1, (name,)), np.arange(value.size), value.ravel(), method="put"))
    return calls


def _set(model: Any, values: Mapping[str, np.ndarray]) -> Any:
    """Write ``values`` into a reference model's parameters (the same casting as ``put``)."""
    params = model.parameters()
    for name, value in values.items():
        params[name][...] = value
    return model


def _random_values(rng: np.random.Generator, shapes: Mapping[str, tuple], scale: float = 0.5) -> dict:
    """Random parameter values, biases included (zero biases would hide bias mistakes)."""
    return {name: scale * rng.standard_normal(shape) for name, shape in shapes.items()}


def _two_layer_shapes(D: int, H: int, C: int) -> dict[str, tuple]:
    return {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}


def _fcn_shapes(dims: list[int]) -> dict[str, tuple]:
    shapes = {}
    for layer in range(1, len(dims)):
        shapes[f"W{layer}"] = (dims[layer - 1], dims[layer])
        shapes[f"b{layer}"] = (dims[layer],)
    return shapes


def _check_keys(path: str, names: set[str], what: str):
    """A check that the dict at ``path`` has exactly the keys ``names``."""

    def check(outputs: Mapping[str, Any]) -> None:
        value = outputs[path]
        if not isinstance(value, Mapping) or set(value) != names:
            got = sorted(value) if isinstance(value, Mapping) else type(value).__name__
            raise AssertionError(f"{what} has keys {got}; expected exactly {sorted(names)}.")

    return check


def _check_dtypes(paths: list[str], dtype: str):
    def check(outputs: Mapping[str, Any]) -> None:
        found = {path: str(np.asarray(outputs[path]).dtype) for path in paths}
        wrong = {path: kind for path, kind in found.items() if kind != dtype}
        if wrong:
            raise AssertionError(f"parameters {wrong} should have dtype {dtype}.")

    return check


def _all(*checks):
    def check(outputs: Mapping[str, Any]) -> None:
        for one in checks:
            one(outputs)

    return check


def _forward_backward_case(name: str, constructor: str, args: tuple, kwargs: dict, values: Mapping[str, np.ndarray],
                           X: np.ndarray, grad_scores: np.ndarray, ref_model: Any, hint: str,
                           use_reference: Mapping[str, str], atol: float = 1e-7, rtol: float = 1e-6) -> Case:
    """Build, fill, forward, backward; compare scores and every gradient with the reference model."""
    calls = _model_calls(constructor, args, kwargs, values)
    forward_index = len(calls)
    calls.append(call(Ref(0), X, method="forward"))
    calls.append(call(Ref(0), grad_scores, Ref(forward_index, (1,)), method="backward"))
    _set(ref_model, values)
    scores, cache = ref_model.forward(X.copy())
    grads = ref_model.backward(grad_scores.copy(), cache)
    expect = {f"{forward_index}.0": scores}
    expect.update({f"{forward_index + 1}.{key}": value for key, value in grads.items()})
    return Case(name, calls, expect=expect, hint=hint, atol=atol, rtol=rtol, use_reference=use_reference,
                fetch=(f"{forward_index + 1}",),
                check=_check_keys(f"{forward_index + 1}", set(values), "the dict returned by backward"))


# ----- Q4.1 TwoLayerNet --------------------------------------------------------------------------------------


def _init_case(name: str, kwargs: dict, ref: Any, hint: str = INIT_HINT, rtol: float = 1e-6,
               dtype: str = "float64") -> Case:
    expected = ref.TwoLayerNet(**kwargs).parameters()
    names = {"W1", "b1", "W2", "b2"}
    return Case(name, [call("TwoLayerNet", **kwargs), call(Ref(0), method="parameters")],
                expect={f"1.{key}": value for key, value in expected.items()}, hint=hint, rtol=rtol, atol=1e-12,
                use_reference=NET_LAYERS, fetch=("1",),
                check=_all(_check_keys("1", names, "parameters()"),
                           _check_dtypes([f"1.{key}" for key in names], dtype)))


@question("two_layer_net")
def two_layer_net_cases(rng: np.random.Generator, ref: Any):
    # Public: the initialisation recipe, float32, the worked example, the gradient check.
    yield _init_case("initial parameters (input_dim=6, num_classes=3, hidden_dim=4, weight_scale=0.1, seed=1)",
                     dict(input_dim=6, num_classes=3, hidden_dim=4, weight_scale=0.1, seed=1), ref)
    yield _init_case("initial parameters with dtype='float32' (input_dim=5, num_classes=2, hidden_dim=3)",
                     dict(input_dim=5, num_classes=2, hidden_dim=3, dtype="float32"), ref, rtol=1e-6,
                     dtype="float32",
                     hint="convert each array with .astype(dtype); make the biases with np.zeros(..., dtype=dtype)")
    yield _init_case("initial parameters with the default arguments (3072 -> 100 -> 10)", {}, ref)
    yield _init_case("initial parameters (input_dim=3072, num_classes=10, hidden_dim=20, weight_scale=0.02, "
                     "seed=7, dtype='float32')",
                     dict(input_dim=3072, num_classes=10, hidden_dim=20, weight_scale=0.02, seed=7, dtype="float32"),
                     ref, dtype="float32", rtol=1e-5)

    example = {"W1": np.array([[1.0, -1.0], [0.0, 1.0]]), "b1": np.array([0.0, -2.0]),
               "W2": np.array([[2.0, 0.0], [1.0, 3.0]]), "b2": np.array([0.5, -0.5])}
    yield _forward_backward_case("the worked example: X = [[1, 2]], grad_scores = [[1, -1]]", "TwoLayerNet", (),
                                 dict(input_dim=2, num_classes=2, hidden_dim=2), example, np.array([[1.0, 2.0]]),
                                 np.array([[1.0, -1.0]]), ref.TwoLayerNet(input_dim=2, num_classes=2, hidden_dim=2),
                                 NET_HINT, NET_LAYERS)

    # Random weights (biases included) and inputs, several shapes: batch of 1, more classes than hidden units, ...
    for N, D, H, C in ((4, 12, 7, 5), (1, 3, 2, 2), (7, 5, 3, 4), (3, 4, 6, 10)):
        kwargs = dict(input_dim=D, num_classes=C, hidden_dim=H, weight_scale=0.5, seed=3)
        values = _random_values(rng, _two_layer_shapes(D, H, C))
        yield _forward_backward_case(f"forward and backward, N={N}, D={D}, H={H}, C={C}", "TwoLayerNet", (), kwargs,
                                     values, rng.standard_normal((N, D)), rng.standard_normal((N, C)),
                                     ref.TwoLayerNet(**kwargs), NET_HINT, NET_LAYERS)

    # float32 model and inputs.
    kwargs = dict(input_dim=8, num_classes=3, hidden_dim=6, seed=2, dtype="float32")
    values = {k: v.astype(np.float32) for k, v in _random_values(rng, _two_layer_shapes(8, 6, 3)).items()}
    yield _forward_backward_case("float32 model, N=5, D=8, H=6, C=3", "TwoLayerNet", (), kwargs, values,
                                 rng.standard_normal((5, 8)).astype(np.float32),
                                 rng.standard_normal((5, 3)).astype(np.float32), ref.TwoLayerNet(**kwargs),
                                 NET_HINT, NET_LAYERS, atol=1e-5, rtol=1e-4)

    # Images that are not flattened yet: X of shape (N, 3, 2, 2), D = 12.
    kwargs = dict(input_dim=12, num_classes=4, hidden_dim=5, seed=1)
    values = _random_values(rng, _two_layer_shapes(12, 5, 4))
    yield _forward_backward_case("X of shape (3, 3, 2, 2) (D = 12)", "TwoLayerNet", (), kwargs, values,
                                 rng.standard_normal((3, 3, 2, 2)), rng.standard_normal((3, 4)),
                                 ref.TwoLayerNet(**kwargs), NET_HINT + "; pass X to fc_forward as it is", NET_LAYERS)


# ----- Q4.2 training_step ------------------------------------------------------------------------------------


def _step_expect(index: int, ref: Any, model: Any, X: np.ndarray, y: np.ndarray, reg: float,
                 values: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Expected outputs of training_step (call ``index``) and unchanged parameters (call 1)."""
    loss, grads = ref.training_step(model, X.copy(), y.copy(), reg)
    expect: dict[str, Any] = {f"{index}.0": loss}
    expect.update({f"{index}.1.{key}": value for key, value in grads.items()})
    expect.update({f"1.{key}": np.asarray(model.parameters()[key]).copy() for key in values})
    return expect


def _linear_case(name: str, ref: Any, values: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray,
                 reg: float, hint: str = STEP_HINT) -> Case:
    """training_step on an hwlib LinearClassifier built from the reference fc layers."""
    D, C = values["W"].shape
    # Calls 0 and 1 fetch the (reference) layer functions from the namespace; LinearClassifier takes them.
    calls = [call("fc_forward", "__call__", method="__getattribute__"),
             call("fc_backward", "__call__", method="__getattribute__"),
             call("LinearClassifier", D, C, fc_forward=Ref(0), fc_backward=Ref(1), weight_scale=0.0),
             call(Ref(2), method="parameters")]
    for key, value in values.items():
        calls.append(call(Ref(3, (key,)), np.arange(value.size), value.ravel(), method="put"))
    index = len(calls)
    calls.append(call("training_step", Ref(2), X, y, reg))
    layers = reference.load("layers")
    model = ref.LinearClassifier(D, C, fc_forward=layers.fc_forward, fc_backward=layers.fc_backward, weight_scale=0.0)
    _set(model, values)
    loss, grads = ref.training_step(model, X.copy(), y.copy(), reg)
    expect: dict[str, Any] = {f"{index}.0": loss, f"{index}.1.W": grads["W"], f"{index}.1.b": grads["b"]}
    expect.update({f"3.{key}": value for key, value in values.items()})
    return Case(name, calls, expect=expect, hint=hint, use_reference={**NET_LAYERS, **LOSS_LAYERS},
                fetch=(f"{index}.1", f"{index}.0"), check=_step_check(index, {"W", "b"}))


def _step_check(index: int, names: set[str]):
    keys = _check_keys(f"{index}.1", names, "grads")

    def check(outputs: Mapping[str, Any]) -> None:
        keys(outputs)
        if np.ndim(outputs[f"{index}.0"]) != 0:
            raise AssertionError(f"the loss has shape {np.shape(outputs[f'{index}.0'])}; expected a single number.")

    return check


def _model_step_case(name: str, ref: Any, constructor: str, args: tuple, kwargs: dict, X: np.ndarray,
                     y: np.ndarray, reg: float, rng: np.random.Generator, dtype: Any = np.float64,
                     rtol: float = 1e-6, atol: float = 1e-7) -> Case:
    """training_step on a reference network (TwoLayerNet or FullyConnectedNet) with random parameters."""
    model = getattr(ref, constructor)(*args, **kwargs)
    values = {key: (0.5 * rng.standard_normal(value.shape)).astype(dtype) for key, value in model.parameters().items()}
    _set(model, values)
    calls = _model_calls(constructor, args, kwargs, values)
    index = len(calls)
    calls.append(call("training_step", Ref(0), X, y, reg))
    return Case(name, calls, expect=_step_expect(index, ref, model, X, y, reg, values), hint=STEP_HINT,
                rtol=rtol, atol=atol, use_reference={**NET_LAYERS, **LOSS_LAYERS, constructor: "networks"},
                fetch=(f"{index}.1", f"{index}.0"), check=_step_check(index, set(values)))


@question("training_step")
def training_step_cases(rng: np.random.Generator, ref: Any):
    # Public: the LinearClassifier checks (zero model: loss log 4; reg = 0.5 with non-zero biases).
    public = np.random.default_rng(7)
    b = public.standard_normal(4)
    X_small, y_small = public.standard_normal((5, 8)), np.array([0, 3, 1, 1, 2])
    yield _linear_case("LinearClassifier (8 inputs, 4 classes, N = 5) with all parameters zero, reg = 0.5: loss = log 4", ref,
                       {"W": np.zeros((8, 4)), "b": np.zeros(4)}, X_small, y_small, 0.5)
    W = 0.3 * np.random.default_rng(2).standard_normal((8, 4))
    yield _linear_case("LinearClassifier (8 inputs, 4 classes, N = 5), reg = 0.5, non-zero biases", ref, {"W": W, "b": b}, X_small, y_small, 0.5)
    yield _linear_case("LinearClassifier (8 inputs, 4 classes, N = 5), reg = 0", ref, {"W": W, "b": b}, X_small, y_small, 0.0)
    W, b = rng.standard_normal((6, 3)), rng.standard_normal(3)
    yield _linear_case("LinearClassifier (6 inputs, 3 classes), one example, reg = 2.5", ref, {"W": W, "b": b},
                       rng.standard_normal((1, 6)), np.array([2]), 2.5)
    # Networks with several weight matrices: every W is regularized, no b is.
    for reg in (0.0, 0.3, 4.0):
        yield _model_step_case(f"TwoLayerNet (6 -> 5 -> 4), N = 7, reg = {reg}", ref, "TwoLayerNet", (),
                               dict(input_dim=6, num_classes=4, hidden_dim=5, seed=1), rng.standard_normal((7, 6)),
                               rng.integers(0, 4, 7), reg, rng)
    yield _model_step_case("FullyConnectedNet with hidden_dims [5, 4, 3] (W1..W4), reg = 0.7", ref,
                           "FullyConnectedNet", ([5, 4, 3],), dict(input_dim=6, num_classes=3, seed=2),
                           rng.standard_normal((4, 6)), rng.integers(0, 3, 4), 0.7, rng)
    yield _model_step_case("float32 TwoLayerNet, reg = 0.1", ref, "TwoLayerNet", (),
                           dict(input_dim=10, num_classes=3, hidden_dim=8, seed=5, dtype="float32"),
                           rng.standard_normal((6, 10)).astype(np.float32), rng.integers(0, 3, 6), 0.1, rng,
                           dtype=np.float32, rtol=1e-4, atol=1e-5)


# ----- Q4.3 SGDMomentum --------------------------------------------------------------------------------------


def _momentum_case(name: str, ref: Any, rng: np.random.Generator, *, learning_rate: float,
                   momentum: float | None, steps: int, new_rates: Mapping[int, float] | None = None,
                   dtype: str = "float64", hint: str = MOMENTUM_HINT) -> Case:
    """Steps of SGDMomentum on a reference TwoLayerNet's own parameter arrays.

    ``new_rates``: step number -> learning rate set (as the trainer's decay does) before that step.
    """
    new_rates = dict(new_rates or {})
    kwargs = dict(input_dim=3, num_classes=2, hidden_dim=4, weight_scale=0.5, seed=int(rng.integers(1000)),
                  dtype=dtype)
    model = ref.TwoLayerNet(**kwargs)
    params = model.parameters()
    options = {} if momentum is None else {"momentum": momentum}
    calls = [call("TwoLayerNet", **kwargs), call(Ref(0), method="parameters"),
             call("SGDMomentum", Ref(1), learning_rate, **options)]
    optimizer = ref.SGDMomentum(params, learning_rate, **options)
    rate = learning_rate
    for step in range(steps):
        if step in new_rates:
            rate = new_rates[step]
            calls.append(call(Ref(2), "learning_rate", rate, method="__setattr__"))
            optimizer.learning_rate = rate
        grads = {key: rng.standard_normal(value.shape).astype(dtype) for key, value in params.items()}
        calls.append(call(Ref(2), grads, method="step"))
        optimizer.step({key: value.copy() for key, value in grads.items()})
    expect = {f"1.{key}": value.copy() for key, value in params.items()}
    expect["2.learning_rate"] = rate
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else {}
    return Case(name, calls, expect=expect, hint=hint, use_reference={"TwoLayerNet": "networks"},
                fetch=tuple(f"1.{key}" for key in params),
                check=_check_dtypes([f"1.{key}" for key in params], dtype), **tolerance)


@question("sgd_momentum")
def sgd_momentum_cases(rng: np.random.Generator, ref: Any):
    yield _momentum_case("one step, learning rate 0.1, momentum 0.9", ref, rng, learning_rate=0.1, momentum=0.9,
                         steps=1, hint="step 1 from v = 0: v = -learning_rate * grad, and p += v in place (the "
                                       "model's own arrays must change)")
    yield _momentum_case("three steps, learning rate 0.1, momentum 0.9", ref, rng, learning_rate=0.1, momentum=0.9,
                         steps=3)
    yield _momentum_case("four steps with the default momentum (0.9), learning rate 0.05", ref, rng,
                         learning_rate=0.05, momentum=None, steps=4, hint="the default momentum is 0.9")
    yield _momentum_case("three steps, momentum 0.5, learning rate 0.2", ref, rng, learning_rate=0.2, momentum=0.5,
                         steps=3, hint="use self.momentum, not a fixed 0.9")
    yield _momentum_case("momentum 0 is plain SGD (two steps, learning rate 0.3)", ref, rng, learning_rate=0.3,
                         momentum=0.0, steps=2)
    yield _momentum_case("learning rate changed between steps (0.1, then 0.01 from step 2, 0.001 from step 4)", ref,
                         rng, learning_rate=0.1, momentum=0.9, steps=5, new_rates={2: 0.01, 4: 0.001},
                         hint="read self.learning_rate inside update: the trainer changes it after every epoch")
    yield _momentum_case("float32 parameters stay float32 (three steps)", ref, rng, learning_rate=0.1, momentum=0.9,
                         steps=3, dtype="float32",
                         hint="keep one velocity per parameter with np.zeros_like(param) and update in place")


# ----- Q4.4 / Q4.5 training recipes --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def course_data() -> dict[str, np.ndarray]:
    """The notebook's data split (validation 1,000 images, seed 0), only the parts the cases need."""
    data = preprocess_cifar(load_cifar10(), num_val=1000, seed=0, dtype=np.float32)
    return {"X_train": data["X_train"][:2000].copy(), "y_train": data["y_train"][:2000].copy(),
            "X_val": data["X_val"], "y_val": data["y_val"]}


def _validity_case(name: str, answer: str, ref: Any, **limits: Any) -> Case:
    def check(outputs: Mapping[str, Any]) -> None:
        settings = outputs["0"]
        problems = ref.settings_problems(settings, **limits)
        if problems:
            raise AssertionError("; ".join(problems) + ".")
        if settings == ref.DEFAULT_SETTINGS:
            raise AssertionError("these are the default settings, which do not learn.")

    return Case(name, [call(answer)], fetch=("0",), check=check,
                hint="start from dict(DEFAULT_SETTINGS) and change values within the allowed ranges")


@question("tuned_settings")
def tuned_settings_cases(rng: np.random.Generator, ref: Any):
    yield _validity_case("tuned_settings() is a valid recipe", "tuned_settings", ref)
    data = course_data()
    y_val = data["y_val"]

    def check(outputs: Mapping[str, Any]) -> None:
        predictions = np.asarray(outputs["2"])
        if predictions.shape != y_val.shape:
            raise AssertionError(f"predictions of shape {predictions.shape}; expected {y_val.shape}.")
        val_acc = float(np.mean(predictions == y_val))
        if val_acc < TUNED_VAL_TARGET:
            raise AssertionError(
                f"retrained with your recipe under the autograding budget ({ref.AUTOGRADE_LIMITS}), the network "
                f"reaches {val_acc:.1%} validation accuracy; at least {TUNED_VAL_TARGET:.0%} is needed.")

    yield Case("your recipe, retrained with the reference code under the autograding budget, reaches "
               f"{TUNED_VAL_TARGET:.0%} validation accuracy",
               [call("tuned_settings"),
                call("train_with_settings", Ref(0), data, limits=dict(ref.AUTOGRADE_LIMITS), progress=False),
                call(Ref(1, (0,)), data["X_val"], method="predict")],
               fetch=("2",), check=check, use_reference={"train_with_settings": "networks"},
               hint="tune the learning rate first (the default 1e-4 is far too small), then epochs, hidden_dim, "
                    "batch size and reg; the training cell shows what your recipe reaches under the budget")


@question("overfit_settings")
def overfit_settings_cases(rng: np.random.Generator, ref: Any):
    limits = dict(max_train=OVERFIT_MAX_TRAIN, max_epochs=OVERFIT_MAX_EPOCHS)
    yield _validity_case("overfit_settings() is a valid recipe (num_train <= 1000, num_epochs <= 30)",
                         "overfit_settings", ref, **limits)
    full = course_data()
    data = {"X_train": full["X_train"][:OVERFIT_MAX_TRAIN], "y_train": full["y_train"][:OVERFIT_MAX_TRAIN],
            "X_val": full["X_val"][:200], "y_val": full["y_val"][:200]}

    def check(outputs: Mapping[str, Any]) -> None:
        settings = outputs["0"]
        problems = ref.settings_problems(settings, **limits)
        if problems:
            raise AssertionError("; ".join(problems) + ".")
        count = int(settings["num_train"])
        predictions = np.asarray(outputs["2"])
        if predictions.shape != (OVERFIT_MAX_TRAIN,):
            raise AssertionError(f"predictions of shape {predictions.shape}; expected ({OVERFIT_MAX_TRAIN},).")
        train_acc = float(np.mean(predictions[:count] == data["y_train"][:count]))
        if train_acc < OVERFIT_TRAIN_TARGET:
            raise AssertionError(f"retrained with your recipe, the network reaches {train_acc:.1%} accuracy on its "
                                 f"{count} training images; at least {OVERFIT_TRAIN_TARGET:.0%} is needed.")

    yield Case(f"your recipe, retrained with the reference code, reaches {OVERFIT_TRAIN_TARGET:.0%} training accuracy",
               [call("overfit_settings"),
                call("train_with_settings", Ref(0), data, keep_best=False, progress=False),
                call(Ref(1, (0,)), data["X_train"], method="predict")],
               fetch=("0", "2"), check=check, use_reference={"train_with_settings": "networks"},
               hint="fewer images, more epochs or hidden units, a larger learning rate, and reg = 0 all help")


# ----- Q4.7 FullyConnectedNet ---------------------------------------------------------------------------------


def _fcn_init_case(name: str, hidden_dims: list[int], kwargs: dict, ref: Any, dtype: str = "float64",
                   rtol: float = 1e-6) -> Case:
    expected = ref.FullyConnectedNet(list(hidden_dims), **kwargs).parameters()
    return Case(name, [call("FullyConnectedNet", list(hidden_dims), **kwargs), call(Ref(0), method="parameters")],
                expect={f"1.{key}": value for key, value in expected.items()}, hint=FCN_INIT_HINT, rtol=rtol,
                atol=1e-12, use_reference=NET_LAYERS, fetch=("1",),
                check=_all(_check_keys("1", set(expected), "parameters()"),
                           _check_dtypes([f"1.{key}" for key in expected], dtype)))


@question("fully_connected_net")
def fully_connected_net_cases(rng: np.random.Generator, ref: Any):
    # Public: names, shapes and initial values for 0 to 3 hidden layers.
    for hidden_dims in ([], [4], [4, 3], [5, 4, 3]):
        yield _fcn_init_case(f"initial parameters, hidden_dims={hidden_dims} (input_dim=6, num_classes=2, "
                             "weight_scale=0.1, seed=4)", hidden_dims,
                             dict(input_dim=6, num_classes=2, weight_scale=0.1, seed=4), ref)
    yield _fcn_init_case("initial parameters with the default arguments, hidden_dims=[10]", [10], {}, ref)
    yield _fcn_init_case("initial parameters, hidden_dims=[7, 6, 5, 4], dtype='float32'", [7, 6, 5, 4],
                         dict(input_dim=9, num_classes=3, weight_scale=0.3, seed=11, dtype="float32"), ref,
                         dtype="float32", rtol=1e-5)

    # Public: the worked example with two hidden layers of width 1.
    example = {"W1": np.array([[1.0], [1.0]]), "b1": np.array([0.0]), "W2": np.array([[2.0]]),
               "b2": np.array([0.5]), "W3": np.array([[1.0, -1.0]]), "b3": np.array([0.0, 0.25])}
    yield _forward_backward_case("the worked example, hidden_dims=[1, 1], X = [[1, -2], [1, 1]]", "FullyConnectedNet",
                                 ([1, 1],), dict(input_dim=2, num_classes=2), example,
                                 np.array([[1.0, -2.0], [1.0, 1.0]]), np.array([[1.0, -1.0], [0.5, 2.0]]),
                                 ref.FullyConnectedNet([1, 1], input_dim=2, num_classes=2), FCN_HINT, NET_LAYERS)

    # Random weights and inputs for 0 to 4 hidden layers (the public gradient check's shapes first).
    for N, hidden_dims, D, C in ((4, [6, 5, 4], 7, 3), (1, [], 5, 3), (3, [3], 4, 2), (5, [2, 7], 6, 4),
                                 (2, [4, 4, 4, 4], 3, 5)):
        kwargs = dict(input_dim=D, num_classes=C, seed=1)
        values = _random_values(rng, _fcn_shapes([D, *hidden_dims, C]))
        yield _forward_backward_case(f"forward and backward, hidden_dims={hidden_dims}, N={N}, D={D}, C={C}",
                                     "FullyConnectedNet", (list(hidden_dims),), kwargs, values,
                                     rng.standard_normal((N, D)), rng.standard_normal((N, C)),
                                     ref.FullyConnectedNet(list(hidden_dims), **kwargs), FCN_HINT, NET_LAYERS)
    # float32, and unflattened images.
    kwargs = dict(input_dim=12, num_classes=3, seed=2, dtype="float32")
    values = {k: v.astype(np.float32) for k, v in _random_values(rng, _fcn_shapes([12, 5, 4, 3])).items()}
    yield _forward_backward_case("float32 model, hidden_dims=[5, 4], X of shape (3, 3, 2, 2)", "FullyConnectedNet",
                                 ([5, 4],), kwargs, values, rng.standard_normal((3, 3, 2, 2)).astype(np.float32),
                                 rng.standard_normal((3, 3)).astype(np.float32),
                                 ref.FullyConnectedNet([5, 4], **kwargs), FCN_HINT, NET_LAYERS, atol=1e-5, rtol=1e-4)


#: Backward passes: (function, forward functions it must not call); none may use hwlib.gradcheck.
ANALYTIC = {
    "two_layer_net": [("TwoLayerNet.backward", ("self.forward",))],
    "fully_connected_net": [("FullyConnectedNet.backward", ("self.forward",))],
    "training_step": [("training_step", ())],
}
