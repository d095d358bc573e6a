"""Tests for hwlib.plots: each plot has the right axes, saves where asked, and stays quiet."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from hwlib.plots import plot_curves, plot_functions_and_derivatives, plot_training_history, show_image_grid


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _activations() -> dict:
    """ReLU, LeakyReLU(0.1), tanh and a logistic-approximated GELU, with derivatives."""
    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    return {
        "ReLU": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
        "LeakyReLU(0.1)": (lambda x: np.where(x > 0, x, 0.1 * x), lambda x: np.where(x > 0, 1.0, 0.1)),
        "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
        "GELU": (lambda x: x * sigmoid(1.702 * x),
                 lambda x: sigmoid(1.702 * x) + 1.702 * x * sigmoid(1.702 * x) * (1 - sigmoid(1.702 * x))),
    }


def _history(num_epochs: int = 10, iterations_per_epoch: int = 40) -> dict:
    rng = np.random.default_rng(0)
    total = num_epochs * iterations_per_epoch
    loss = 2.3 * np.exp(-np.arange(total) / 150) + 0.1 * rng.random(total)
    return {
        "loss": loss,
        "loss_epoch": np.arange(total) / iterations_per_epoch,
        "train_acc": np.linspace(0.1, 0.6, num_epochs),
        "val_acc": np.linspace(0.1, 0.45, num_epochs),
    }


def test_plot_curves_draws_one_line_per_series_with_log_axis_and_saves(tmp_path):
    path = tmp_path / "nested" / "dir" / "curves.png"
    fig = plot_curves({"train": [1.0, 0.5, 0.2], "val": [1.2, 0.7]}, "epoch", "loss", title="Loss", logy=True,
                      path=path)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["train", "val"]
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("epoch", "loss", "Loss")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_curves_draws_into_the_callers_axes_and_leaves_it_open():
    fig, (left, right) = plt.subplots(1, 2)
    returned = plot_curves({"a": [3, 2, 1]}, "x", "y", ax=right)
    assert returned is fig
    assert len(right.get_lines()) == 1 and len(left.get_lines()) == 0
    assert right.get_yscale() == "linear"
    assert plt.fignum_exists(fig.number)


def test_plot_curves_rejects_a_two_dimensional_series():
    with pytest.raises(ValueError, match="'bad' has shape \\(2, 2\\)"):
        plot_curves({"bad": [[1, 2], [3, 4]]}, "x", "y")


def test_plot_training_history_has_loss_and_percent_accuracy_panels(tmp_path):
    history = _history()
    fig = plot_training_history(history, path=tmp_path / "plot.pdf")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "epoch"
    first_loss_line = loss_ax.get_lines()[0]
    np.testing.assert_allclose(first_loss_line.get_xdata(), history["loss_epoch"])
    train_line, val_line = acc_ax.get_lines()
    assert (train_line.get_label(), val_line.get_label()) == ("train", "val")
    np.testing.assert_allclose(train_line.get_ydata(), 100 * history["train_acc"])
    np.testing.assert_allclose(val_line.get_xdata(), np.arange(1, 11))
    assert acc_ax.yaxis.get_major_formatter().format_pct(45, 100).endswith("%")
    assert (tmp_path / "plot.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_training_history_uses_iterations_without_loss_epoch_and_keeps_percentages():
    fig = plot_training_history({"loss": [2.3, 2.2, 2.0], "val_acc": [12.0, 20.0]})
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "iteration"
    (val_line,) = acc_ax.get_lines()
    np.testing.assert_allclose(val_line.get_ydata(), [12.0, 20.0])


@pytest.mark.parametrize(
    "history, message",
    [({"train_acc": [0.1]}, "'loss'"), ({"loss": [1.0]}, "'train_acc' and/or 'val_acc'"),
     ({"loss": [1.0, 2.0], "loss_epoch": [0.0], "val_acc": [0.1]}, "one epoch value per loss entry")],
)
def test_plot_training_history_names_what_is_missing(history, message):
    with pytest.raises(ValueError, match=message):
        plot_training_history(history)


def test_plot_functions_and_derivatives_draws_f_and_f_prime_per_panel(tmp_path):
    functions = _activations()
    fig = plot_functions_and_derivatives(functions, path=tmp_path / "activations.png")
    assert [ax.get_title() for ax in fig.axes] == list(functions)
    relu_ax = fig.axes[0]
    labelled = {line.get_label(): line for line in relu_ax.get_lines() if not line.get_label().startswith("_")}
    assert set(labelled) == {"f(x)", "f'(x)"}
    x = labelled["f(x)"].get_xdata()
    assert len(x) == 401 and x[0] == -4 and x[-1] == 4
    np.testing.assert_allclose(labelled["f'(x)"].get_ydata(), (x > 0).astype(float))
    assert (tmp_path / "activations.png").stat().st_size > 0


def test_plot_functions_and_derivatives_removes_unused_panels():
    functions = dict(list(_activations().items())[:3])
    fig = plot_functions_and_derivatives(functions, x=np.linspace(-1, 1, 11))
    assert len(fig.axes) == 3


def test_plot_functions_and_derivatives_explains_a_wrong_derivative_shape():
    with pytest.raises(ValueError, match=r"derivative of 'ReLU' returned shape \(\) .* same shape as x"):
        plot_functions_and_derivatives({"ReLU": (lambda x: np.maximum(x, 0), lambda x: 1.0)})


def test_plot_functions_and_derivatives_reports_student_warnings_on_stdout(capfd):
    plot_functions_and_derivatives({"exp": (lambda x: np.exp(1000 * x), lambda x: 1000 * np.exp(1000 * x))})
    captured = capfd.readouterr()
    assert captured.err == ""
    assert "overflow" in captured.out


@pytest.mark.parametrize("layout", ["NHWC", "NCHW", "gray"])
def test_show_image_grid_accepts_each_layout(layout, tmp_path):
    rng = np.random.default_rng(1)
    colour = rng.normal(size=(7, 5, 6, 3))
    images = {"NHWC": colour, "NCHW": colour.transpose(0, 3, 1, 2), "gray": colour[..., 0]}[layout]
    fig = show_image_grid(images, labels=[f"img {i}" for i in range(7)], ncols=3, path=tmp_path / "grid.png")
    assert len(fig.axes) == 7
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (3, 3)
    shown = np.asarray(fig.axes[2].images[0].get_array())
    expected = colour[2] if layout != "gray" else colour[2, ..., 0]
    np.testing.assert_allclose(shown, (expected - expected.min()) / (expected.max() - expected.min()))
    assert fig.axes[2].get_title() == "img 2"
    assert all(len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0 for ax in fig.axes)


def test_show_image_grid_without_normalize_shows_uint8_as_is():
    images = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    fig = show_image_grid(images, normalize=False)
    np.testing.assert_array_equal(np.asarray(fig.axes[1].images[0].get_array()), images[1])


def test_show_image_grid_normalizes_a_constant_image_without_dividing_by_zero(capfd):
    fig = show_image_grid(np.full((2, 4, 4), 5.0))
    assert np.all(np.asarray(fig.axes[0].images[0].get_array()) == 0)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("shape", [(4, 8, 8, 4), (8, 8), (2, 2, 8, 8, 3)])
def test_show_image_grid_rejects_other_shapes_naming_the_layouts(shape):
    with pytest.raises(ValueError) as error:
        show_image_grid(np.zeros(shape))
    message = str(error.value)
    assert str(shape) in message
    for layout in ("(N, H, W, 3)", "(N, 3, H, W)", "(N, H, W)"):
        assert layout in message


def test_show_image_grid_rejects_a_single_colour_image_with_a_hint():
    with pytest.raises(ValueError, match=r"image\[None\]"):
        show_image_grid(np.zeros((8, 8, 3)))


def test_show_image_grid_rejects_out_of_range_floats_without_normalize_and_wrong_label_count():
    with pytest.raises(ValueError, match="normalize=True"):
        show_image_grid(np.full((2, 4, 4), 200.0), normalize=False)
    with pytest.raises(ValueError, match="one label per image"):
        show_image_grid(np.zeros((3, 4, 4)), labels=["a", "b"])


def test_no_plot_writes_to_stderr(tmp_path, capfd):
    plot_curves({"loss": [1.0, 0.0, -1.0]}, "step", "loss", logy=True, path=tmp_path / "a.png")
    plot_training_history(_history(), path=tmp_path / "b.png")
    plot_functions_and_derivatives(_activations(), path=tmp_path / "c.png")
    show_image_grid(np.random.default_rng(2).normal(size=(25, 8, 8, 3)), path=tmp_path / "d.png")
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""
