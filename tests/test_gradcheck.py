"""The gradient checker, on functions whose derivatives are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hwlib.gradcheck import (
    check_layer,
    check_loss,
    check_scalar_graph,
    numeric_gradient_array,
    numeric_gradient_scalars,
    numeric_jacobian,
    rel_error,
)

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
shapes = st.tuples(st.integers(1, 4), st.integers(1, 4))


@given(arrays(np.float64, shapes, elements=finite), arrays(np.float64, shapes, elements=finite))
def test_rel_error_is_symmetric_and_zero_on_equal(a, b):
    if a.shape != b.shape:
        return
    assert rel_error(a, a) == 0.0
    assert rel_error(a, b) == pytest.approx(rel_error(b, a))
    assert 0.0 <= rel_error(a, b) <= 1.0 + 1e-12 or np.all(np.abs(a) + np.abs(b) < 1e-8)


def test_rel_error_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="equal shapes"):
        rel_error(np.zeros(2), np.zeros(3))


@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(0.5, 2))
def test_scalar_gradients_of_polynomial(x, y, z):
    grads = numeric_gradient_scalars(lambda a, b, c: a * a * b + c ** 3, x, y, z)
    assert grads[0] == pytest.approx(2 * x * y, abs=1e-6)
    assert grads[1] == pytest.approx(x * x, abs=1e-6)
    assert grads[2] == pytest.approx(3 * z * z, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, shapes, elements=finite), st.integers(0, 2**31 - 1))
def test_array_gradient_with_upstream(x, seed):
    grad_out = np.random.default_rng(seed).standard_normal(x.shape)
    numeric = numeric_gradient_array(np.sin, x.copy(), grad_out)
    assert rel_error(numeric, np.cos(x) * grad_out) < 1e-7 or np.max(np.abs(numeric - np.cos(x) * grad_out)) < 1e-9


def test_array_gradient_restores_input_and_needs_float64():
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    numeric_gradient_array(lambda v: v ** 2, x)
    assert np.array_equal(x, before)
    with pytest.raises(TypeError, match="float64"):
        numeric_gradient_array(np.sin, np.ones(3, dtype=np.float32))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 1000))
def test_jacobian_of_linear_map_is_the_matrix(a, b, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((b, a))
    J = numeric_jacobian(lambda v: W @ v, rng.standard_normal(a))
    assert J.shape == (b, a) and np.allclose(J, W, atol=1e-8)


def _mul_forward(x, w):
    return x * w, (x, w)


def _mul_backward(grad_out, cache):
    x, w = cache
    return grad_out * w, grad_out * x


def test_check_layer_passes_a_correct_layer_and_prints_a_table(capsys):
    rng = np.random.default_rng(0)
    report = check_layer(_mul_forward, _mul_backward, {"x": rng.standard_normal((3, 2)), "w": rng.standard_normal((3, 2))})
    assert report.passed and len(report.rows) == 2
    out = capsys.readouterr().out
    assert "grad_x" in out and "grad_w" in out and "PASS" in out and "threshold" in out


def test_check_layer_fails_a_wrong_backward(capsys):
    rng = np.random.default_rng(1)
    report = check_layer(_mul_forward, lambda g, c: (g * c[1], g * c[0] * 2),
                         {"x": rng.standard_normal(4), "w": rng.standard_normal(4)})
    assert not report.passed
    assert [r.passed for r in report.rows] == [True, False]
    assert "FAIL" in capsys.readouterr().out


def test_check_layer_with_non_differentiated_params():
    def scale_forward(x, factor):
        return x * factor, factor

    report = check_layer(scale_forward, lambda g, factor: g * factor, {"x": np.ones((2, 2))},
                         params={"factor": 3.0}, verbose=False)
    assert report.passed


def test_check_layer_reports_wrong_gradient_shape():
    with pytest.raises(ValueError, match="shape of its input"):
        check_layer(_mul_forward, lambda g, c: (g.sum(), g), {"x": np.ones(3), "w": np.ones(3)}, verbose=False)


def test_check_loss_and_scalar_graph():
    target = np.array([1.0, -2.0, 0.5])
    report = check_loss(lambda x, t: (np.sum((x - t) ** 2), 2 * (x - t)), np.zeros(3), target, verbose=False)
    assert report.passed

    def f(a, b, y):
        return (a * b - y) ** 2, (2 * (a * b - y) * b, 2 * (a * b - y) * a)

    assert check_scalar_graph(f, {"a": 1.5, "b": -2.0, "y": 1.0}, wrt=["a", "b"], verbose=False).passed
    wrong = check_scalar_graph(lambda a: (a ** 3, (2 * a,)), {"a": 2.0}, verbose=False)
    assert not wrong.passed


def test_checks_do_not_write_to_stderr(capfd):
    check_loss(lambda x: (float(np.sum(np.exp(x))), np.exp(x)), np.array([800.0]), verbose=False)
    assert capfd.readouterr().err == ""
