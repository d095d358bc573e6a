"""Tests for hwlib.optim (Optimizer, SGD, validate_grads) and hwlib.trainer (train, History)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from hwlib.classifier import LinearClassifier, accuracy  # noqa: E402
from hwlib.optim import SGD, Optimizer, validate_grads  # noqa: E402
from hwlib.trainer import History, SettingRange, setting_problems, train  # noqa: E402


# ----- test-only stand-ins for the students' code -------------------------------------------


def fc_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
    return X @ W + b, (X, W)


def fc_backward(grad_out: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, W = cache
    return grad_out @ W.T, X.T @ grad_out, grad_out.sum(axis=0)


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    grad = np.exp(log_probs)
    grad[rows, y] -= 1
    return float(-log_probs[rows, y].mean()), grad / len(y)


def training_step(model, X_batch, y_batch, reg):
    scores, cache = model.forward(X_batch)
    loss, grad_scores = softmax_loss(scores, y_batch)
    grads = model.backward(grad_scores, cache)
    loss += 0.5 * reg * float(np.sum(model.W**2))
    grads["W"] = grads["W"] + reg * model.W
    return loss, grads


def make_model(input_dim: int = 4, num_classes: int = 3, **kwargs: Any) -> LinearClassifier:
    return LinearClassifier(input_dim, num_classes, fc_forward=fc_forward, fc_backward=fc_backward, **kwargs)


def blobs(num_train: int = 300, num_val: int = 90, dim: int = 4, num_classes: int = 3, seed: int = 0):
    """Well-separated Gaussian clusters: a linear model can classify them almost perfectly."""
    rng = np.random.default_rng(seed)
    centers = 4.0 * rng.standard_normal((num_classes, dim))

    def draw(n):
        y = rng.integers(num_classes, size=n)
        return centers[y] + rng.standard_normal((n, dim)), y

    X_train, y_train = draw(num_train)
    X_val, y_val = draw(num_val)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


@pytest.fixture(autouse=True)
def not_autograding(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("HWLIB_AUTOGRADE", raising=False)


# ----- optimizers ---------------------------------------------------------------------------


class RebindingSGD(Optimizer):
    """The classic mistake: builds new arrays instead of updating the model's arrays."""

    def __init__(self, params, learning_rate):
        super().__init__(params)
        self.learning_rate = learning_rate

    def update(self, grads):
        for name, param in self.params.items():
            self.params[name] = param - self.learning_rate * grads[name]


def model_sees_the_update(optimizer_cls) -> bool:
    model = make_model(3, 2, weight_scale=1.0)
    W_before = model.W.copy()
    optimizer = optimizer_cls(model.parameters(), 0.1)
    optimizer.step({"W": np.ones((3, 2)), "b": np.full(2, 2.0)})
    return np.allclose(model.parameters()["W"], W_before - 0.1) and np.allclose(model.b, -0.2)


def test_sgd_updates_the_models_arrays_in_place() -> None:
    assert model_sees_the_update(SGD)


def test_a_rebinding_optimizer_would_not_train_the_model() -> None:
    # The in-place test above really distinguishes the two implementations.
    assert not model_sees_the_update(RebindingSGD)


def test_sgd_keeps_dtype_and_identity() -> None:
    params = {"W": np.ones((2, 2), dtype=np.float32)}
    W = params["W"]
    SGD(params, 0.5).step({"W": np.ones((2, 2), dtype=np.float64)})
    assert params["W"] is W and W.dtype == np.float32
    np.testing.assert_array_equal(W, 0.5)


def test_sgd_learning_rate_can_be_changed_between_steps() -> None:
    params = {"w": np.zeros(1)}
    optimizer = SGD(params, 1.0)
    optimizer.step({"w": np.ones(1)})
    optimizer.learning_rate = 0.25
    optimizer.step({"w": np.ones(1)})
    np.testing.assert_allclose(params["w"], [-1.25])


@pytest.mark.parametrize("bad_lr", [0.0, -1e-3, float("nan"), float("inf"), "0.1"])
def test_sgd_rejects_bad_learning_rates(bad_lr) -> None:
    with pytest.raises(ValueError, match="learning_rate"):
        SGD({"w": np.zeros(1)}, bad_lr)


def test_optimizer_rejects_params_it_cannot_update_in_place() -> None:
    with pytest.raises(TypeError, match="'w'.*floating-point"):
        SGD({"w": np.zeros(3, dtype=np.int64)}, 0.1)
    with pytest.raises(TypeError, match="'w'.*list"):
        SGD({"w": [0.0, 1.0]}, 0.1)
    with pytest.raises(TypeError, match="non-empty"):
        SGD({}, 0.1)


def test_step_with_bad_grads_changes_nothing() -> None:
    params = {"W": np.ones((2, 3)), "b": np.ones(3)}
    with pytest.raises(ValueError, match=r"missing gradients for \['b'\]"):
        SGD(params, 0.1).step({"W": np.ones((2, 3))})
    np.testing.assert_array_equal(params["W"], 1.0)


NAMES = st.sets(st.sampled_from(["W1", "b1", "W2", "b2", "gamma"]), min_size=1)


@settings(max_examples=60, deadline=None)
@given(param_names=NAMES, grad_names=st.sets(st.sampled_from(["W1", "b1", "W2", "b2", "gamma"])))
def test_validate_grads_names_missing_and_extra_keys(param_names: set, grad_names: set) -> None:
    params = {name: np.zeros(2) for name in param_names}
    grads = {name: np.zeros(2) for name in grad_names}
    if param_names == grad_names:
        validate_grads(params, grads)
        return
    with pytest.raises(ValueError) as info:
        validate_grads(params, grads)
    message = str(info.value)
    for name in param_names ^ grad_names:
        assert repr(name) in message


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple),
       grad_shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple))
def test_validate_grads_checks_shapes(shape: tuple, grad_shape: tuple) -> None:
    params = {"W": np.zeros(shape)}
    grads = {"W": np.zeros(grad_shape)}
    if shape == grad_shape:
        validate_grads(params, grads)
        return
    with pytest.raises(ValueError) as info:
        validate_grads(params, grads)
    assert str(grad_shape) in str(info.value) and str(shape) in str(info.value)


def test_validate_grads_wants_a_dict() -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        validate_grads({"W": np.zeros(1)}, [np.zeros(1)])


# ----- train -----------------------------------------------------------------------------------


def test_train_learns_a_separable_problem_and_keeps_consistent_history() -> None:
    data = blobs()
    model = make_model()
    history = train(model, training_step, data, num_epochs=5, batch_size=40, learning_rate=0.5,
                    reg=1e-4, progress=False)
    assert isinstance(history, History)
    batches_per_epoch = 8  # 300 examples: 7 batches of 40 and one of 20
    assert len(history.loss) == len(history.loss_epoch) == 5 * batches_per_epoch
    np.testing.assert_allclose(history.loss_epoch[:batches_per_epoch], np.arange(1, 9) / 8)
    assert history.loss_epoch[-1] == 5.0
    assert len(history.train_acc) == len(history.val_acc) == len(history.learning_rate) == 5
    assert history.acc_epoch == [1, 2, 3, 4, 5]
    assert history.train_acc[-1] > 0.9 and accuracy(model, data["X_train"], data["y_train"]) > 0.9
    assert np.mean(history.loss[-8:]) < 0.5 * history.loss[0]
    assert history.best_val_acc == max(history.val_acc)
    assert history.val_acc[history.best_epoch - 1] == history.best_val_acc
    assert history.seconds > 0
    as_dict = history.as_dict()
    assert as_dict["loss"] == history.loss and as_dict["acc_epoch"] == [1, 2, 3, 4, 5]
    assert {"loss_epoch", "train_acc", "val_acc", "best_val_acc", "best_epoch", "seconds"} <= set(as_dict)


def test_train_is_reproducible_by_seed() -> None:
    data = blobs()
    runs = [train(make_model(), training_step, data, num_epochs=2, batch_size=32, learning_rate=0.1,
                  seed=seed, progress=False).loss for seed in (1, 1, 2)]
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_lr_decay_is_applied_every_epoch() -> None:
    created = []

    def factory(params, lr):
        created.append(SGD(params, lr))
        return created[-1]

    def constant_step(model, X, y, reg):
        return 1.0, {"W": np.ones_like(model.W), "b": np.zeros_like(model.b)}

    model = make_model(weight_scale=0.0)
    history = train(model, constant_step, blobs(num_train=40), num_epochs=4, batch_size=10,
                    learning_rate=0.5, lr_decay=0.5, optimizer_factory=factory, keep_best=False,
                    progress=False)
    np.testing.assert_allclose(history.learning_rate, [0.5, 0.25, 0.125, 0.0625])
    assert created[0].learning_rate == pytest.approx(0.5 * 0.5**4)
    # 4 batches per epoch, each moving W by -lr: the decayed rates were really used.
    np.testing.assert_allclose(model.W, -4 * sum(history.learning_rate))


def sabotaged_step(good_calls: int, snapshots: list):
    """Real gradients for ``good_calls`` iterations, then gradient *ascent*; records params per call."""
    calls = []

    def step(model, X, y, reg):
        snapshots.append({name: value.copy() for name, value in model.parameters().items()})
        calls.append(1)
        loss, grads = training_step(model, X, y, reg)
        if len(calls) > good_calls:
            grads = {name: -grad for name, grad in grads.items()}
        return loss, grads

    return step


@pytest.mark.parametrize("keep_best", [True, False])
def test_best_validation_parameters_are_restored(keep_best: bool) -> None:
    data = blobs()
    snapshots: list = []
    model = make_model()
    history = train(model, sabotaged_step(20, snapshots), data, num_epochs=5, batch_size=30,
                    learning_rate=0.5, keep_best=keep_best, progress=False)
    batches_per_epoch = 10
    assert history.best_epoch <= 2 and history.val_acc[-1] < history.best_val_acc
    final_acc = accuracy(model, data["X_val"], data["y_val"])
    if keep_best:
        # Parameters at the start of epoch e+1 are those at the end of epoch e.
        best = snapshots[history.best_epoch * batches_per_epoch]
        np.testing.assert_array_equal(model.W, best["W"])
        np.testing.assert_array_equal(model.b, best["b"])
        assert final_acc == history.best_val_acc
    else:
        assert final_acc == history.val_acc[-1]


def test_train_accuracy_uses_a_subset_of_at_most_1000_examples() -> None:
    class CountingModel(LinearClassifier):
        sizes: list = []

        def predict(self, X, *, batch_size=1000):
            self.sizes.append(len(X))
            return super().predict(X, batch_size=batch_size)

    model = CountingModel(4, 3, fc_forward=fc_forward, fc_backward=fc_backward)
    train(model, training_step, blobs(num_train=1200, num_val=50), num_epochs=2, batch_size=600,
          learning_rate=0.1, progress=False)
    assert model.sizes == [1000, 50, 1000, 50]


def test_plot_file_is_written_and_the_figure_closed(tmp_path) -> None:
    figures_before = plt.get_fignums()
    path = tmp_path / "out" / "plot.pdf"
    train(make_model(), training_step, blobs(), num_epochs=2, batch_size=50, learning_rate=0.1,
          progress=False, plot_file=path)
    assert path.read_bytes()[:4] == b"%PDF"
    assert plt.get_fignums() == figures_before


@pytest.mark.parametrize("bad_loss, call, where", [(float("nan"), 3, "epoch 1 iteration 3"),
                                                   (float("inf"), 7, "epoch 2 iteration 2")])
def test_a_non_finite_loss_stops_training_with_a_hint(bad_loss: float, call: int, where: str) -> None:
    calls = []

    def step(model, X, y, reg):
        calls.append(1)
        loss, grads = training_step(model, X, y, reg)
        return (bad_loss if len(calls) == call else loss), grads

    with pytest.raises(FloatingPointError, match=f"loss became {bad_loss} at {where}: lower the learning rate"):
        train(make_model(), step, blobs(num_train=50), num_epochs=3, batch_size=10, learning_rate=0.1,
              progress=False)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda g: {"W": g["W"]}, r"missing gradients for \['b'\]"),
        (lambda g: {**g, "W2": g["W"]}, r"unknown parameters \['W2'\]"),
        (lambda g: {**g, "b": g["b"][:, None]}, r"training_step's grads\['b'\] has shape \(3, 1\)"),
    ],
)
def test_grads_that_do_not_match_the_parameters_are_named(change, match: str) -> None:
    def step(model, X, y, reg):
        loss, grads = training_step(model, X, y, reg)
        return loss, change(grads)

    with pytest.raises(ValueError, match=match):
        train(make_model(), step, blobs(num_train=20), num_epochs=1, batch_size=10, learning_rate=0.1,
              progress=False)


@pytest.mark.parametrize(
    "step, error, match",
    [
        (lambda m, X, y, r: 1.0, TypeError, r"must return \(loss, grads\)"),
        (lambda m, X, y, r: (np.ones(len(y)), {}), TypeError, "single number"),
    ],
)
def test_malformed_training_step_results_are_explained(step, error, match: str) -> None:
    with pytest.raises(error, match=match):
        train(make_model(), step, blobs(num_train=20), num_epochs=1, batch_size=10, learning_rate=0.1,
              progress=False)


def test_bad_data_and_settings_are_named() -> None:
    data = blobs(num_train=20)
    with pytest.raises(ValueError, match=r"missing \['y_val'\]"):
        train(make_model(), training_step, {k: v for k, v in data.items() if k != "y_val"}, num_epochs=1,
              batch_size=10, learning_rate=0.1)
    with pytest.raises(ValueError, match="y_train"):
        train(make_model(), training_step, {**data, "y_train": data["y_train"][:5]}, num_epochs=1,
              batch_size=10, learning_rate=0.1)
    with pytest.raises(ValueError, match="batch_size"):
        train(make_model(), training_step, data, num_epochs=1, batch_size=0, learning_rate=0.1)
    with pytest.raises(ValueError, match="lr_decay"):
        train(make_model(), training_step, data, num_epochs=1, batch_size=10, learning_rate=0.1, lr_decay=0)


def test_optimizer_without_learning_rate_is_explained() -> None:
    class NoRate(Optimizer):
        def update(self, grads):
            pass

    with pytest.raises(TypeError, match="learning_rate attribute"):
        train(make_model(), training_step, blobs(num_train=20), num_epochs=1, batch_size=10,
              learning_rate=0.1, optimizer_factory=lambda params, lr: NoRate(params))


def test_progress_and_warnings_go_to_stdout_never_stderr(capsys) -> None:
    def noisy_step(model, X, y, reg):
        np.log(np.zeros(1))  # a numpy RuntimeWarning, which would normally go to stderr
        return training_step(model, X, y, reg)

    train(make_model(), noisy_step, blobs(num_train=60), num_epochs=2, batch_size=10, learning_rate=0.1,
          log_every=2)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "training" in captured.out and "loss=" in captured.out
    assert "note: during training, RuntimeWarning: divide by zero encountered in log (seen 12 times)" in captured.out


def test_no_progress_output_while_autograding(capsys, monkeypatch) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    train(make_model(), training_step, blobs(num_train=60), num_epochs=1, batch_size=10, learning_rate=0.1)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ----- SettingRange / setting_problems: the recipe range check shared by notebooks 4 and 7 ----------

ENDS = st.sampled_from(["[]", "(]", "[)", "()"])


@given(low=st.floats(-1e6, 1e6), width=st.floats(1e-3, 1e6), ends=ENDS,
       value=st.floats(allow_nan=True, allow_infinity=True))
def test_a_value_is_accepted_exactly_when_it_lies_in_the_interval(low, width, ends, value) -> None:
    allowed = SettingRange(low, low + width, ends)
    inside = (value > low if ends[0] == "(" else value >= low) and \
             (value < low + width if ends[1] == ")" else value <= low + width)
    problem = allowed.problem("learning_rate", value)
    assert (problem is None) == inside
    if not inside:  # which setting, what came back, what is allowed
        assert problem == f"learning_rate = {value!r} is outside the allowed range {allowed}"


@pytest.mark.parametrize("value, accepted", [(0, False), (1e-9, True), (10, True), (10.5, False)])
def test_open_and_closed_ends(value, accepted) -> None:
    assert (SettingRange(0, 10, "(]").problem("lr", value) is None) == accepted


@given(value=st.floats(10, 1000))
def test_whole_settings_reject_fractions(value) -> None:
    problem = SettingRange(10, 1000, "[]", whole=True).problem("batch_size", value)
    assert (problem is None) == float(value).is_integer()
    if problem:
        assert problem == f"batch_size = {value!r} must be a whole number in [10, 1000]"


@pytest.mark.parametrize("value", ["0.1", None, True, [0.1], {"lr": 0.1}])
def test_non_numbers_are_named_with_the_allowed_range(value) -> None:
    assert SettingRange(0, 10, "(]").problem("learning_rate", value) == \
        f"learning_rate = {value!r} is not a number; allowed: (0, 10]"


def test_numpy_numbers_count_as_numbers() -> None:
    allowed = SettingRange(1, 50, "[]", whole=True)
    assert allowed.problem("num_epochs", np.int64(20)) is None and allowed.problem("num_epochs", np.float32(20)) is None
    assert allowed.problem("num_epochs", np.int64(51)) == \
        f"num_epochs = {np.int64(51)!r} is outside the allowed range [1, 50] (whole numbers)"


def test_setting_problems_lists_each_bad_setting_in_range_order_and_skips_the_rest() -> None:
    ranges = {"learning_rate": SettingRange(0, 10, "(]"), "batch_size": SettingRange(10, 1000, whole=True),
              "reg": SettingRange(0, 10)}
    recipe = {"batch_size": 5, "learning_rate": 20, "hidden_dims": [100], "name": "mine"}  # no reg
    assert setting_problems(recipe, ranges) == [
        "learning_rate = 20 is outside the allowed range (0, 10]",
        "batch_size = 5 is outside the allowed range [10, 1000] (whole numbers)",
    ]
    assert setting_problems({"learning_rate": 0.1, "batch_size": 100, "reg": 0}, ranges) == []


@pytest.mark.parametrize("low, high, ends", [(1, 1, "[]"), (2, 1, "[]"), (0, 1, "[["), (0, 1, "")])
def test_a_malformed_range_is_refused(low, high, ends) -> None:
    with pytest.raises(ValueError, match="low < high"):
        SettingRange(low, high, ends)
