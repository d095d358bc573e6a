"""Tests for hwlib.classifier: the Classifier interface, LinearClassifier, save/load, accuracy."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from hwlib.classifier import META_KEY, Classifier, LinearClassifier, accuracy, read_metadata
from hwlib.gradcheck import numeric_gradient_array, rel_error


# Test-only layer functions (the students write the real ones in the notebooks).
def fake_fc_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
    return X @ W + b, (X, W)


def fake_fc_backward(grad_out: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, W = cache
    return grad_out @ W.T, X.T @ grad_out, grad_out.sum(axis=0)


def wrong_fc_backward(grad_out: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A plausible bug: the bias gradient averaged instead of summed."""
    grad_X, grad_W, grad_b = fake_fc_backward(grad_out, cache)
    return grad_X, grad_W, grad_b / len(grad_out)


LAYERS = {"fc_forward": fake_fc_forward, "fc_backward": fake_fc_backward}


def make_linear(input_dim: int = 5, num_classes: int = 3, **kwargs: Any) -> LinearClassifier:
    return LinearClassifier(input_dim, num_classes, **{**LAYERS, **kwargs})


class TinyNet(Classifier):
    """A student-style model with no save/config code of its own: fc -> fc (no nonlinearity)."""

    def __init__(self, input_dim: int, hidden_dims: tuple[int, ...] = (4,), num_classes: int = 3,
                 weight_scale: float = 0.1) -> None:
        rng = np.random.default_rng(0)
        sizes = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.params[f"W{i}"] = weight_scale * rng.standard_normal((fan_in, fan_out))
            self.params[f"b{i}"] = np.zeros(fan_out)

    def parameters(self) -> dict[str, np.ndarray]:
        return self.params

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        caches = []
        out = X
        for i in range(1, len(self.params) // 2 + 1):
            out, cache = fake_fc_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(cache)
        return out, caches

    def backward(self, grad_scores: np.ndarray, cache: Any) -> dict[str, np.ndarray]:
        grads = {}
        grad = grad_scores
        for i in range(len(cache), 0, -1):
            grad, grads[f"W{i}"], grads[f"b{i}"] = fake_fc_backward(grad, cache[i - 1])
        return grads


# ----- gradients ------------------------------------------------------------------------


def numeric_parameter_grads(model: Classifier, X: np.ndarray, grad_scores: np.ndarray) -> dict[str, np.ndarray]:
    """d sum(scores * grad_scores) / d param, perturbing the model's live arrays."""
    return {
        name: numeric_gradient_array(lambda _: model.forward(X)[0], param, grad_scores)
        for name, param in model.parameters().items()
    }


@pytest.mark.parametrize("input_shape", [(7, 5), (6, 1, 5)])
def test_linear_backward_matches_numeric_gradient(input_shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    model = make_linear(5, 3, weight_scale=1.0, seed=1)
    model.b[...] = rng.standard_normal(3)
    X = rng.standard_normal(input_shape)
    grad_scores = rng.standard_normal((input_shape[0], 3))
    scores, cache = model.forward(X)
    assert scores.shape == (input_shape[0], 3)
    analytic = model.backward(grad_scores, cache)
    numeric = numeric_parameter_grads(model, X, grad_scores)
    assert set(analytic) == {"W", "b"}
    for name in ("W", "b"):
        assert analytic[name].shape == model.parameters()[name].shape
        assert rel_error(analytic[name], numeric[name]) < 1e-7, name


def test_gradient_check_catches_a_wrong_layer_backward() -> None:
    rng = np.random.default_rng(4)
    model = make_linear(4, 3, fc_backward=wrong_fc_backward, weight_scale=1.0)
    X = rng.standard_normal((6, 4))
    grad_scores = rng.standard_normal((6, 3))
    analytic = model.backward(grad_scores, model.forward(X)[1])
    numeric = numeric_parameter_grads(model, X, grad_scores)
    assert rel_error(analytic["W"], numeric["W"]) < 1e-7
    assert rel_error(analytic["b"], numeric["b"]) > 1e-2


def test_tinynet_backward_matches_numeric_gradient() -> None:
    rng = np.random.default_rng(5)
    model = TinyNet(4, hidden_dims=(6, 5), num_classes=3, weight_scale=1.0)
    X = rng.standard_normal((8, 4))
    grad_scores = rng.standard_normal((8, 3))
    analytic = model.backward(grad_scores, model.forward(X)[1])
    numeric = numeric_parameter_grads(model, X, grad_scores)
    for name in model.parameters():
        assert rel_error(analytic[name], numeric[name]) < 1e-7, name


def test_linear_uses_the_layer_functions_it_is_given() -> None:
    calls = []

    def spy_forward(X, W, b):
        calls.append("forward")
        return fake_fc_forward(X, W, b)

    def spy_backward(grad_out, cache):
        calls.append("backward")
        return fake_fc_backward(grad_out, cache)

    model = LinearClassifier(3, 2, fc_forward=spy_forward, fc_backward=spy_backward)
    scores, cache = model.forward(np.ones((2, 3)))
    model.backward(np.ones_like(scores), cache)
    assert calls == ["forward", "backward"]


def test_linear_parameters_are_the_live_float64_arrays() -> None:
    model = make_linear(6, 4, weight_scale=0.5, seed=2)
    params = model.parameters()
    assert params["W"] is model.W and params["b"] is model.b
    assert params["W"].shape == (6, 4) and params["b"].shape == (4,)
    assert params["W"].dtype == np.float64
    assert np.all(params["b"] == 0)
    assert 0.3 < params["W"].std() < 0.7
    np.testing.assert_array_equal(make_linear(6, 4, weight_scale=0.5, seed=2).W, model.W)
    assert not np.array_equal(make_linear(6, 4, weight_scale=0.5, seed=3).W, model.W)


def test_linear_rejects_wrong_input_dim() -> None:
    with pytest.raises(ValueError, match=r"input_dim=5.*\(2, 6\).*6 features"):
        make_linear(5, 3).forward(np.ones((2, 6)))


def test_linear_reports_bad_backward_return() -> None:
    model = make_linear(2, 2, fc_backward=lambda grad_out, cache: grad_out)
    with pytest.raises(ValueError, match="grad_X, grad_W, grad_b"):
        model.backward(np.ones((1, 2)), model.forward(np.ones((1, 2)))[1])


# ----- predict / accuracy ---------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3, 10, 1000])
def test_predict_is_argmax_of_scores_for_any_batch_size(batch_size: int) -> None:
    rng = np.random.default_rng(6)
    model = make_linear(4, 5, weight_scale=1.0)
    X = rng.standard_normal((10, 4))
    expected = np.argmax(model.forward(X)[0], axis=1)
    predicted = model.predict(X, batch_size=batch_size)
    assert predicted.dtype.kind == "i" and predicted.shape == (10,)
    np.testing.assert_array_equal(predicted, expected)


def test_predict_reports_badly_shaped_scores() -> None:
    class FlatScores(TinyNet):
        def forward(self, X):
            scores, cache = super().forward(X)
            return scores.ravel(), cache

    with pytest.raises(ValueError, match=r"shape \(6,\) for a batch of 2"):
        FlatScores(2).predict(np.ones((2, 2)))


def test_accuracy_counts_matches() -> None:
    model = make_linear(2, 2)
    model.W[...] = [[1.0, 0.0], [0.0, 1.0]]  # class = index of the larger feature
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    assert accuracy(model, X, np.array([0, 1, 0, 1])) == 1.0
    assert accuracy(model, X, np.array([0, 1, 1, 0]), batch_size=3) == 0.5
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        accuracy(model, X, np.array([0, 1]))


# ----- save / load ------------------------------------------------------------------------


def test_save_load_round_trip_keeps_array_identity(tmp_path) -> None:
    source = make_linear(5, 3, weight_scale=1.0, seed=1)
    source.b[...] = [1.0, -2.0, 3.0]
    path = source.save(tmp_path / "model")
    assert path == tmp_path / "model.npz" and path.exists()

    target = make_linear(5, 3, seed=2)
    W_before = target.W
    assert target.load(path) is target
    assert target.W is W_before  # loaded in place: an optimizer built earlier still sees it
    np.testing.assert_array_equal(target.W, source.W)
    np.testing.assert_array_equal(target.b, source.b)


def test_metadata_is_json_in_a_string_array(tmp_path) -> None:
    path = make_linear(np.int64(5), 3, weight_scale=np.float64(0.01)).save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        raw = archive[META_KEY]
    assert raw.dtype.kind == "U"
    meta = json.loads(str(raw[0]))
    assert meta == read_metadata(path)
    assert meta["class"] == "LinearClassifier"
    assert meta["config"] == {"input_dim": 5, "num_classes": 3, "weight_scale": 0.01, "seed": 0}
    assert sorted(meta["unsaved_arguments"]) == ["fc_backward", "fc_forward"]


def test_load_from_rebuilds_a_linear_classifier(tmp_path) -> None:
    source = make_linear(4, 2, weight_scale=1.0, seed=7)
    path = source.save(tmp_path / "linear.npz")
    rebuilt = Classifier.load_from(path, LinearClassifier, **LAYERS)
    assert isinstance(rebuilt, LinearClassifier)
    assert rebuilt.config() == source.config()
    np.testing.assert_array_equal(rebuilt.W, source.W)
    X = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_array_equal(rebuilt.predict(X), source.predict(X))


def test_load_from_asks_for_arguments_that_cannot_be_stored(tmp_path) -> None:
    path = make_linear(4, 2).save(tmp_path / "linear.npz")
    with pytest.raises(ValueError, match=r"fc_forward=fc_forward"):
        Classifier.load_from(path, LinearClassifier)


def test_load_from_rebuilds_a_student_model_without_config_code(tmp_path) -> None:
    source = TinyNet(3, hidden_dims=(5, 4), num_classes=2, weight_scale=0.7)
    source.params["W2"] += 1.0
    path = source.save(tmp_path / "tiny.npz")
    rebuilt = Classifier.load_from(path, TinyNet)
    assert rebuilt.config() == {"input_dim": 3, "hidden_dims": [5, 4], "num_classes": 2, "weight_scale": 0.7}
    for name, value in source.parameters().items():
        np.testing.assert_array_equal(rebuilt.parameters()[name], value)


def test_load_from_rejects_another_class(tmp_path) -> None:
    path = TinyNet(3).save(tmp_path / "tiny.npz")
    with pytest.raises(ValueError, match=r"holds a TinyNet, not a LinearClassifier"):
        Classifier.load_from(path, LinearClassifier, **LAYERS)


def test_load_reports_shape_mismatch_with_key_and_both_shapes(tmp_path) -> None:
    path = make_linear(4, 3).save(tmp_path / "small.npz")
    with pytest.raises(ValueError) as info:
        make_linear(5, 3).load(path)
    message = str(info.value)
    assert "'W'" in message and "(4, 3)" in message and "(5, 3)" in message


def test_load_reports_missing_and_extra_keys(tmp_path) -> None:
    path = TinyNet(5, hidden_dims=(3,)).save(tmp_path / "tiny.npz")
    with pytest.raises(ValueError) as info:
        make_linear(5, 3).load(path)
    message = str(info.value)
    assert "['W', 'b']" in message and "['W1', 'W2', 'b1', 'b2']" in message


def test_load_refuses_pickled_objects(tmp_path) -> None:
    path = tmp_path / "evil.npz"
    model = make_linear(2, 2)
    meta = json.dumps({"format": "hwlib.classifier/1", "class": "LinearClassifier", "config": {},
                       "unsaved_arguments": []})
    np.savez(path, **{META_KEY: np.array([meta])}, W=np.array([{"payload": 1}], dtype=object), b=model.b)
    W_before = model.W.copy()
    with pytest.raises(ValueError, match="pickled"):
        model.load(path)
    np.testing.assert_array_equal(model.W, W_before)


def test_save_rejects_the_reserved_name(tmp_path) -> None:
    class Reserved(TinyNet):
        def parameters(self):
            return {META_KEY: np.zeros(1)}

    with pytest.raises(ValueError, match="reserved"):
        Reserved(2).save(tmp_path / "x.npz")


def test_classifier_is_abstract() -> None:
    with pytest.raises(TypeError):
        Classifier()  # type: ignore[abstract]
