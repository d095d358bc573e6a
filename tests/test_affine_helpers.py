"""Tests for hwlib.affine: the data set, FitLogger, the loss plot, the GIF and the explorer.

The gradient descent below is a throwaway reference that lives only in this test
file; hwlib itself never contains the loss, its gradient or the fitting loop.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from PIL import Image

from hwlib.affine import (
    TARGET_LOSS,
    FitLogger,
    affine_fit_explorer,
    load_correspondences,
    make_fit_animation,
    plot_fit,
    plot_fit_losses,
    show_animation,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_FILE = REPO_ROOT / "src" / "hwlib" / "data" / "affine_correspondences.npz"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def mean_squared_distance(P, P_prime, S, t) -> float:
    return float(np.mean(np.sum((P @ S.T + t - P_prime) ** 2, axis=1)))


def gradient_descent(P, P_prime, learning_rate, steps, logger=None):
    """Throwaway fit from S = I, t = 0 (test-only)."""
    S, t = np.eye(2), np.zeros(2)
    for step in range(steps):
        residual = P @ S.T + t - P_prime
        if logger is not None:
            logger.log(step, np.mean(np.sum(residual ** 2, axis=1)), S, t)
        S = S - learning_rate * 2.0 * residual.T @ P / len(P)
        t = t - learning_rate * 2.0 * residual.mean(axis=0)
    return S, t


@pytest.fixture(scope="module")
def data():
    return load_correspondences()


@pytest.fixture(scope="module")
def fitted_logger(data):
    logger = FitLogger()
    gradient_descent(*data, learning_rate=0.1, steps=200, logger=logger)
    return logger


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_affine_data", REPO_ROOT / "autograder" / "make_affine_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- data -------------------------------------------------------------------------------------

def test_load_correspondences_returns_two_float64_point_sets(data):
    P, P_prime = data
    assert P.shape == P_prime.shape == (200, 2)
    assert P.dtype == P_prime.dtype == np.float64
    assert np.all(np.isfinite(P)) and np.all(np.isfinite(P_prime))
    assert np.abs(P).max() <= 1.0 and np.abs(P_prime).max() < 3.0


def test_load_correspondences_gives_fresh_arrays_each_time():
    P, _ = load_correspondences()
    P[:] = 0.0
    assert np.abs(load_correspondences()[0]).sum() > 0


def test_data_file_is_what_the_seeded_generator_makes():
    expected = _load_generator().make_correspondences()
    with np.load(DATA_FILE, allow_pickle=False) as stored:
        assert set(stored.files) == {"P", "P_prime", "S_true", "t_true"}
        for key, value in expected.items():
            np.testing.assert_array_equal(stored[key], value, err_msg=key)


def test_data_is_noisy_but_fittable_below_the_target():
    P, P_prime = load_correspondences()
    with np.load(DATA_FILE, allow_pickle=False) as stored:
        S_true, t_true = stored["S_true"], stored["t_true"]
    assert not np.allclose(S_true, np.eye(2), atol=0.2)
    loss_at_truth = mean_squared_distance(P, P_prime, S_true, t_true)
    assert 5e-6 < loss_at_truth < 5e-5, "noise should leave a small but non-zero minimum loss"
    assert mean_squared_distance(P, P_prime, np.eye(2), np.zeros(2)) > 0.1


def test_plain_gradient_descent_from_identity_reaches_target_in_well_under_a_second():
    P, P_prime = load_correspondences()
    started = time.perf_counter()
    logger = FitLogger()
    S, t = gradient_descent(P, P_prime, learning_rate=0.1, steps=300, logger=logger)
    elapsed = time.perf_counter() - started
    assert mean_squared_distance(P, P_prime, S, t) < TARGET_LOSS
    assert logger.final_loss < TARGET_LOSS
    assert elapsed < 1.0


# --- FitLogger --------------------------------------------------------------------------------

def test_fit_logger_keeps_every_step_and_copies_parameters():
    logger = FitLogger()
    S, t = np.eye(2), np.zeros(2)
    for step in range(3):
        logger.log(step, 1.0 / (step + 1), S, t)
        S += 1.0  # in-place update after logging must not change the record
        t -= 1.0
    assert len(logger) == 3
    assert logger.steps == [0, 1, 2]
    assert logger.losses == [1.0, 0.5, pytest.approx(1 / 3)]
    np.testing.assert_array_equal(logger.params[0][0], np.eye(2))
    np.testing.assert_array_equal(logger.params[2][1], [-2.0, -2.0])
    assert logger.final_loss == pytest.approx(1 / 3)


def test_fit_logger_thins_but_always_keeps_the_latest_step():
    logger = FitLogger(every=10)
    for step in range(95):
        logger.log(step, float(100 - step), np.eye(2), np.zeros(2))
    assert logger.steps == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 94]
    assert len(logger) == 11 == len(logger.losses) == len(logger.params)
    assert logger.final_loss == 6.0
    logger.log(100, 0.5, np.eye(2), np.zeros(2))
    assert logger.steps[-2:] == [90, 100]


def test_fit_logger_accepts_numpy_scalars_and_zero_dimensional_losses():
    logger = FitLogger()
    logger.log(np.int64(0), np.float32(2.0), np.eye(2).tolist(), (0, 0))
    logger.log(1, np.array(1.5), np.eye(2), np.zeros(2))
    assert logger.losses == [2.0, 1.5]
    assert isinstance(logger.losses[0], float) and isinstance(logger.steps[0], int)


@pytest.mark.parametrize(
    "loss, S, t, message",
    [(np.ones(200), np.eye(2), np.zeros(2), "loss has shape \\(200,\\); expected a single number"),
     (1.0, np.eye(3), np.zeros(2), "S has shape \\(3, 3\\); expected \\(2, 2\\)"),
     (1.0, np.eye(2), np.zeros((2, 1)), "t has shape \\(2, 1\\); expected \\(2,\\)")],
)
def test_fit_logger_explains_wrong_inputs(loss, S, t, message):
    with pytest.raises(ValueError, match=message):
        FitLogger().log(0, loss, S, t)


@pytest.mark.parametrize("every", [0, -1, 2.5, True])
def test_fit_logger_rejects_bad_thinning(every):
    with pytest.raises(ValueError, match="positive integer"):
        FitLogger(every=every)


def test_empty_fit_logger_says_how_to_fill_it():
    logger = FitLogger()
    assert len(logger) == 0 and "empty" in repr(logger)
    with pytest.raises(ValueError, match=r"logger\.log\(step, loss, S, t\)"):
        logger.final_loss
    with pytest.raises(ValueError, match="no entries"):
        plot_fit_losses(logger)


# --- plots --------------------------------------------------------------------------------------

def test_plot_fit_losses_is_log_scale_with_a_dashed_target_line(fitted_logger, tmp_path):
    path = tmp_path / "out" / "losses.png"
    fig = plot_fit_losses(fitted_logger, path=path)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["loss"].get_ydata(), fitted_logger.losses)
    (target_label,) = [label for label in lines if "target" in label]
    assert lines[target_label].get_linestyle() == "--"
    assert set(lines[target_label].get_ydata()) == {TARGET_LOSS}
    assert ax.get_xlabel() == "step" and "loss" in ax.get_ylabel()
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_plot_fit_losses_marks_divergence_quietly(capfd):
    logger = FitLogger()
    for step, loss in enumerate([1.0, 10.0, 1e50, 1e300, np.inf, np.nan]):
        logger.log(step, loss, np.eye(2), np.zeros(2))
    fig, ax = plt.subplots()
    assert plot_fit_losses(logger, ax=ax) is fig
    fig.canvas.draw()
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["loss"].get_ydata(), [1.0, 10.0, 1e50])
    assert any(label.startswith("diverged from step 3") for label in lines)
    assert capfd.readouterr().err == ""


def test_plot_fit_shows_targets_predictions_and_residual_lines(data):
    P, P_prime = data
    S, t = np.array([[1.1, 0.2], [0.3, 0.9]]), np.array([0.1, -0.2])
    fig = plot_fit(P, P_prime, S, t)
    (ax,) = fig.axes
    residuals = [c for c in ax.collections if isinstance(c, LineCollection)]
    scatters = [c for c in ax.collections if not isinstance(c, LineCollection)]
    assert len(residuals) == 1 and len(residuals[0].get_segments()) == len(P)
    targets, predictions = scatters
    np.testing.assert_allclose(targets.get_offsets(), P_prime)
    np.testing.assert_allclose(predictions.get_offsets(), P @ S.T + t)
    assert {text.get_text() for text in ax.get_legend().get_texts()} == {"targets p'", "predictions S p + t"}


def test_plot_fit_rejects_wrong_parameter_shapes(data):
    with pytest.raises(ValueError, match="t has shape \\(1, 2\\)"):
        plot_fit(*data, np.eye(2), np.zeros((1, 2)))


def test_make_fit_animation_writes_a_thinned_gif(fitted_logger, data, tmp_path):
    path = make_fit_animation(fitted_logger, *data, tmp_path / "gifs" / "fit.gif", fps=5, max_frames=12)
    assert path == str(tmp_path / "gifs" / "fit.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert 1 < gif.n_frames <= 12
        assert gif.info["duration"] == 200
        gif.seek(0)
        first = np.asarray(gif.convert("RGB"))
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
    assert not np.array_equal(first, last)
    assert plt.get_fignums() == [], "the animation's figure must not be left for pyplot to show"


def test_make_fit_animation_uses_every_entry_when_there_are_few(data, tmp_path):
    logger = FitLogger()
    gradient_descent(*data, learning_rate=0.3, steps=5, logger=logger)
    path = make_fit_animation(logger, *data, tmp_path / "short.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 5


def test_show_animation_returns_an_ipython_image_of_the_gif(fitted_logger, data, tmp_path):
    path = make_fit_animation(fitted_logger, *data, tmp_path / "fit.gif", max_frames=3)
    image = show_animation(path)
    assert type(image).__name__ == "Image" and image.data[:4] == b"GIF8"


# --- explorer -----------------------------------------------------------------------------------

def test_affine_fit_explorer_renders_once_headless_with_the_students_fit(data, monkeypatch, capfd):
    monkeypatch.setenv("HWLIB_HEADLESS", "1")
    calls = []

    def student_fit(P, P_prime, learning_rate, steps, logger=None):
        calls.append((learning_rate, steps, type(logger)))
        return gradient_descent(P, P_prime, learning_rate, steps, logger)

    assert affine_fit_explorer(student_fit, *data) is None
    assert calls == [(pytest.approx(0.1), 300, FitLogger)]
    (fig,) = [plt.figure(number) for number in plt.get_fignums()]
    loss_ax, fit_ax = fig.axes
    assert loss_ax.get_yscale() == "log"
    title = fig.get_suptitle()
    assert "final loss" in title and "below the 0.0001 target" in title and " ms" in title
    assert capfd.readouterr().err == ""


def test_affine_fit_explorer_says_when_the_fit_never_logs(data, monkeypatch):
    monkeypatch.setenv("HWLIB_HEADLESS", "1")
    with pytest.raises(ValueError, match="logger.log"):
        affine_fit_explorer(lambda P, P_prime, learning_rate, steps, logger=None: (np.eye(2), np.zeros(2)), *data)


def test_affine_helpers_write_nothing_to_stderr(fitted_logger, data, tmp_path, capfd):
    plot_fit_losses(fitted_logger, path=tmp_path / "loss.png")
    plot_fit(*data, *fitted_logger.params[-1])
    make_fit_animation(fitted_logger, *data, tmp_path / "fit.gif", max_frames=4)
    assert capfd.readouterr().err == ""


def test_affine_fit_explorer_sends_its_figure_at_once_under_the_inline_backend(data, monkeypatch):
    """ipywidgets only flushes for the backend's long name; matplotlib now says "inline"."""
    import matplotlib_inline.backend_inline as inline

    monkeypatch.setenv("HWLIB_HEADLESS", "1")
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "inline")
    flushed = []
    monkeypatch.setattr(inline, "flush_figures", lambda: flushed.append(len(plt.get_fignums())))
    affine_fit_explorer(gradient_descent, *data)
    assert flushed == [1]
