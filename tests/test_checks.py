"""Student-facing check messages: which input, what was expected, what came back, a hint."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwlib.checks import CheckFailed, describe, expect_close, expect_gradcheck, expect_true, passed, run
from hwlib.gradcheck import CheckRow, GradCheckReport


def test_expect_close_message_has_four_parts():
    x = np.array([[1.0, 2.0]])
    with pytest.raises(CheckFailed) as info:
        expect_close("relu_forward output", np.array([1.0, 3.0]), np.array([1.0, 2.0]), inputs={"x": x},
                     hint="keep positive values unchanged")
    text = str(info.value)
    for part in ("relu_forward output", "with input", "x = array of shape (1, 2)", "expected:", "got:",
                 "largest difference 1", "at index (1,)", "hint: keep positive values unchanged"):
        assert part in text


def test_expect_close_shape_none_and_nan():
    with pytest.raises(CheckFailed, match="wrong shape"):
        expect_close("out", np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(CheckFailed, match="return statement"):
        expect_close("out", None, np.zeros(2))
    with pytest.raises(CheckFailed, match="nan or inf"):
        expect_close("out", np.array([np.nan]), np.array([1.0]))
    expect_close("out", np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12])


def test_run_reports_warnings_on_stdout_not_stderr(capfd):
    out = run("softmax", lambda x: np.exp(x), np.array([1000.0]))
    captured = capfd.readouterr()
    assert np.isinf(out[0]) and "overflow" in captured.out and captured.err == ""


def test_run_detects_in_place_modification():
    def bad_relu(x):
        x[x < 0] = 0
        return x

    with pytest.raises(CheckFailed, match="in place"):
        run("relu_forward", bad_relu, np.array([-1.0, 1.0]))


def test_run_passes_not_implemented_through():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        run("stub", stub, 1)


def test_expect_true_gradcheck_and_passed(capsys):
    with pytest.raises(CheckFailed, match="hint: look"):
        expect_true("thing", False, "is wrong", hint="look")
    report = GradCheckReport("gradient check: layer", [CheckRow("grad_x", 1e-3, 1e-9)])
    with pytest.raises(CheckFailed, match="grad_x"):
        expect_gradcheck(report)
    passed("fc_forward", 3)
    assert "fc_forward" in capsys.readouterr().out


def test_describe_is_short_for_big_arrays():
    text = describe(np.zeros((100, 100)))
    assert "shape (100, 100)" in text and len(text) < 400


@pytest.mark.parametrize("got", [0.0, 1.0, -1e9, np.inf])
def test_expect_close_nan_expected_fails_for_any_number(got):
    with pytest.raises(CheckFailed, match="values differ"):
        expect_close("out", np.array([1.0, got]), np.array([1.0, np.nan]))


def test_expect_close_nan_and_inf_expected_where_they_are():
    expect_close("out", np.array([np.nan, np.inf, -np.inf, 2.0]), np.array([np.nan, np.inf, -np.inf, 2.0]))
    expect_close("scalar", float("nan"), float("nan"))
    with pytest.raises(CheckFailed, match="values differ"):
        expect_close("out", np.array([-np.inf]), np.array([np.inf]))
    with pytest.raises(CheckFailed, match="values differ"):
        expect_close("scalar", 3.0, float("nan"))


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=5))
def test_expect_close_never_passes_a_number_for_nan(values):
    expected = np.array(values, dtype=np.float64)
    expected[0] = np.nan
    with pytest.raises(CheckFailed):
        expect_close("out", np.array(values, dtype=np.float64), expected)


class _Liar(np.ndarray):
    """An answer that claims to equal everything (stock nbgrader grades it in the student's process)."""

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(1)

    def __eq__(self, other):
        return True

    def __repr__(self):
        raise RuntimeError("no")


def test_an_ndarray_subclass_is_compared_and_described_as_plain_data():
    liar = np.array([0.0, 2.0]).view(_Liar)
    with pytest.raises(CheckFailed) as info:
        expect_close("leaky_relu_forward output", liar, np.array([-0.01, 2.0]), inputs={"x": liar})
    assert "values differ" in str(info.value) and "largest difference 0.01" in str(info.value)
    expect_close("same values", liar, np.array([0.0, 2.0]))
    assert "array of shape (2,)" in describe(liar)


def test_hidden_cases_grade_an_ndarray_subclass_answer_normally(monkeypatch):
    """Under stock nbgrader the hidden block runs in the kernel: it must end in a plain failure
    (the cell scores 0 like any wrong answer), not crash while describing the answer."""
    from pathlib import Path

    from course.hidden import run_hidden_tests

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("COURSE_AUTOGRADER_DIR", str(root / "autograder"))
    monkeypatch.setenv("COURSE_SOURCE_DIR", str(root / "notebooks"))

    def leaky_relu_forward(x, negative_slope=0.01):
        return np.maximum(x, 0.0).view(_Liar), (x, negative_slope)

    with pytest.raises(AssertionError) as info:
        run_hidden_tests("layers", "leaky_relu_forward", {"leaky_relu_forward": leaky_relu_forward, "np": np})
    assert "values differ" in str(info.value) and type(info.value) in (AssertionError, CheckFailed)
