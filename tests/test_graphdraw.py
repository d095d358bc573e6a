"""Tests for hwlib.graphdraw (computational-graph drawing) and its handout graphs."""

from __future__ import annotations

import base64
import html
import shutil

import numpy as np
import pytest

from hwlib import graphdraw, handout_graphs, widgets
from hwlib.graphdraw import CompGraph, GraphDrawing, format_number

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' program not installed")
BACKENDS = [pytest.param("graphviz", marks=needs_dot), "matplotlib"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def add_mul() -> CompGraph:
    return CompGraph("demo").op("+", ["x", "y"], "q").op("×", ["q", "z"], "f")


# -- structure ---------------------------------------------------------------


def test_op_is_chainable_and_finds_inputs_outputs_variables():
    g = CompGraph("t")
    assert g.op("copy", ["b"], ["b1", "b2"]) is g
    g.op("×", ["a", "b1"], "d").op("×", ["c", "b2"], "e").op("+", ["d", "e"], "L")
    assert g.inputs == ["b", "a", "c"]
    assert g.outputs == ["L"]
    assert g.variables == ["b", "b1", "b2", "a", "d", "c", "e", "L"]
    assert g.producer("b") is None
    assert g.producer("b2").label == "copy"
    assert [op.label for op in g.consumers("d")] == ["+"]
    assert [op.name for op in g.ops] == ["op1", "op2", "op3", "op4"]


def test_several_outputs_and_repeated_input_are_allowed():
    g = CompGraph().op("+", ["x", "x"], "s").op("copy", ["s"], ["s1", "s2"])
    assert g.inputs == ["x"]
    assert g.outputs == ["s1", "s2"]
    assert g.ops[0].inputs == ("x", "x")


def test_output_produced_twice_is_a_clear_error():
    g = add_mul()
    with pytest.raises(ValueError, match="'q' is produced twice"):
        g.op("exp", ["z"], "q")


def test_output_already_used_as_input_is_an_error():
    g = add_mul()  # z was used as an input of ×
    with pytest.raises(ValueError, match="forward order"):
        g.op("exp", ["f"], "z")


def test_output_that_is_also_its_own_input_is_an_error():
    with pytest.raises(ValueError, match="no cycles"):
        CompGraph().op("+1", ["x"], "x")


@pytest.mark.parametrize(
    ("label", "inputs", "outputs", "error"),
    [
        ("+", "xy", "q", TypeError),  # a bare string is not a list of names
        ("+", [], "q", ValueError),
        ("+", ["x"], [], ValueError),
        ("+", ["x", 3], "q", TypeError),
        ("", ["x"], "q", TypeError),
        ("copy", ["x"], ["a", "a"], ValueError),
    ],
)
def test_malformed_ops_are_rejected(label, inputs, outputs, error):
    with pytest.raises(error):
        CompGraph().op(label, inputs, outputs)


def test_duplicate_op_name_is_rejected():
    g = CompGraph().op("exp", ["x"], "e", name="first")
    with pytest.raises(ValueError, match="first"):
        g.op("exp", ["e"], "f", name="first")


def test_failed_op_leaves_graph_unchanged():
    g = add_mul()
    with pytest.raises(ValueError):
        g.op("exp", ["new"], "q")
    assert g.variables == ["x", "y", "q", "z", "f"]
    assert len(g.ops) == 2


def test_drawing_an_empty_graph_is_an_error():
    with pytest.raises(ValueError, match="no ops"):
        CompGraph().draw(backend="matplotlib")


# -- number formatting -------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (5, "5"),
        (5.0, "5"),
        (-27.0, "-27"),
        (0.0, "0"),
        (-2.5, "-2.5"),
        (0.99753, "0.9975"),
        (1 - 1.9e-12, "1.000"),
        (-5.3e-4, "-5.3e-04"),
        (12345.6, "1.2e+04"),
        (0.001234, "0.001234"),
        (np.float32(0.5), "0.5"),
        (np.int64(7), "7"),
        (np.array([2.25]), "2.25"),
        (float("nan"), "nan"),
    ],
)
def test_format_number(number, text):
    assert format_number(number) == text


def test_format_number_rejects_arrays():
    with pytest.raises(ValueError, match="shape"):
        format_number(np.zeros(3))


def test_values_with_unknown_name_point_at_the_typo():
    with pytest.raises(ValueError, match="'qq'"):
        add_mul().draw({"qq": 1.0}, backend="matplotlib")


def test_values_that_are_not_scalars_are_rejected():
    with pytest.raises(TypeError, match=r"values\['x'\]"):
        add_mul().draw({"x": np.ones(2)}, backend="matplotlib")


# -- rendering ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_writes_png(tmp_path, backend):
    drawing = handout_graphs.f3_graph().draw({"s1": 2.0, "L": 3.049}, {"L": 1.0}, backend=backend)
    assert drawing.backend == backend
    path = drawing.save(tmp_path / "sub" / "f3.png")
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 2000


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_svg_and_pdf_by_suffix(tmp_path, backend):
    drawing = add_mul().draw(backend=backend)
    assert drawing.save(tmp_path / "g.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert drawing.save(tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match=r"\.png"):
        drawing.save(tmp_path / "g.jpeg")


@pytest.mark.parametrize("backend", BACKENDS)
def test_svg_shows_formatted_values_and_gradients(backend):
    values = {"x": -2, "y": 5, "z": -4, "q": 3.0, "f": 0.99753}
    grads = {"x": -5.3e-4, "q": -4.25, "f": 1.0}
    svg = html.unescape(add_mul().draw(values, grads, backend=backend).to_svg())
    for text in ["-2", "0.9975", "-5.3e-04", "-4.25", "×"]:
        assert text in svg, text


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_values_and_grads_are_not_shown(backend):
    graph = add_mul()
    empty = html.unescape(graph.draw(backend=backend).to_svg())
    forward = html.unescape(graph.draw({"q": 0.123, "z": None}, backend=backend).to_svg())
    assert "0.123" not in empty and "0.123" in forward
    assert "gradient" not in empty  # no legend without numbers


@pytest.mark.parametrize("backend", BACKENDS)
def test_mimebundle_carries_svg_and_png(backend):
    drawing = handout_graphs.copy_example_graph().draw({"L": 2.0}, backend=backend)
    bundle = drawing._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)
    assert drawing._repr_png_().startswith(PNG_MAGIC)
    assert isinstance(drawing, GraphDrawing)


def test_auto_backend_falls_back_to_matplotlib_without_dot(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    assert add_mul().draw().backend == "matplotlib"
    with pytest.raises(RuntimeError, match="backend='matplotlib'"):
        add_mul().draw(backend="graphviz")


@needs_dot
def test_auto_backend_uses_graphviz_when_dot_is_installed():
    assert add_mul().draw().backend == "graphviz"


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="backend"):
        add_mul().draw(backend="tikz")


@pytest.mark.parametrize("backend", ["auto", *BACKENDS])
def test_drawing_writes_nothing_to_stderr(capfd, backend):
    drawing = handout_graphs.f1_graph().draw({"L": 0.0225, "d": -0.15}, {"d": -0.3}, backend=backend)
    drawing._repr_mimebundle_()
    assert capfd.readouterr().err == ""


# -- matplotlib layout -------------------------------------------------------


def test_ordered_fit_keeps_gaps_and_is_exact_when_possible():
    assert graphdraw._ordered_fit([3.0, 0.0], [1.0]) == [3.0, 0.0]
    fitted = graphdraw._ordered_fit([0.0, 0.0, 0.0], [1.0, 2.0])
    assert fitted[0] - fitted[1] >= 1.0 - 1e-12 and fitted[1] - fitted[2] >= 2.0 - 1e-12
    assert abs(sum(fitted)) < 1e-12  # centred on the wanted positions


@pytest.mark.parametrize("make", [handout_graphs.f1_graph, handout_graphs.f3_graph, handout_graphs.copy_example_graph])
def test_layout_puts_no_two_nodes_on_top_of_each_other(make):
    graph = make()
    values = {v: "-0.1235" for v in graph.variables}  # already formatted labels
    nodes, edges = graphdraw._layered_layout(graph, {}, {}, graphdraw._TextMeter())
    assert {key for edge in edges for key in (edge.chain[0], edge.chain[-1])} == {
        key for key in nodes if key[0] != "bend"
    }
    nodes, _ = graphdraw._layered_layout(graph, values, values, graphdraw._TextMeter())
    by_column: dict[int, list] = {}
    for node in nodes.values():
        by_column.setdefault(node.layer, []).append(node)
    for column in by_column.values():
        column.sort(key=lambda n: -n.y)
        for upper, lower in zip(column, column[1:]):
            assert upper.y - lower.y >= upper.half_height + lower.half_height - 1e-9
    for key, node in nodes.items():  # a node's consumers sit to its right
        if key[0] == "var" and key[1] in graph.inputs:
            readers = [k for k, op in enumerate(graph.ops) if key[1] in op.inputs]
            assert all(nodes[("op", k)].x > node.x for k in readers)


# -- handout graphs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "inputs", "outputs", "n_ops"),
    [
        (handout_graphs.example_add_mul, ["x", "y", "z"], ["f"], 2),
        (handout_graphs.f1_graph, ["x1", "w1", "x2", "w2", "b", "y"], ["L"], 5),
        (handout_graphs.f2_graph, ["x"], ["y"], 5),
        (handout_graphs.f3_graph, ["s1", "s2", "y"], ["L"], 7),
        (handout_graphs.copy_example_graph, ["b", "a", "c"], ["L"], 4),
    ],
)
def test_handout_graphs_have_expected_inputs_and_outputs(make, inputs, outputs, n_ops):
    graph = make()
    assert sorted(graph.inputs) == sorted(inputs)
    assert graph.outputs == outputs
    assert len(graph.ops) == n_ops
    assert make() is not graph  # a fresh graph each call


def test_handout_graph_intermediate_names():
    assert set(handout_graphs.f1_graph().variables) >= {"a1", "a2", "y_hat", "d"}
    assert set(handout_graphs.f2_graph().variables) == {"x", "d", "e", "t", "b", "y"}
    assert set(handout_graphs.f3_graph().variables) >= {"e1", "e2", "d", "p1", "p2", "p_plus"}
    assert handout_graphs.f2_graph().producer("y").inputs == ("t", "b")  # t is the numerator
    assert handout_graphs.copy_example_graph().producer("b1").outputs == ("b1", "b2")


# -- sigmoid-neuron explorer (headless) ----------------------------------------


@pytest.fixture
def shown(monkeypatch):
    """Run headless and collect what the explorer displays."""
    import IPython.display

    monkeypatch.setenv("HWLIB_HEADLESS", "1")
    displayed: list = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kwargs: displayed.append(obj))
    return displayed


def toy_graph() -> CompGraph:
    # Not the neuron: a stand-in graph over the same five slider names.
    return CompGraph("toy").op("+", ["w0", "w1", "w2", "x0", "x1"], "s")


def test_explorer_draws_once_with_default_sliders(shown):
    calls = []

    def forward_backward(w0, w1, w2, x0, x1):
        calls.append((w0, w1, w2, x0, x1))
        return {"w0": w0, "x1": x1}, {"s": 1.0}

    widgets.sigmoid_neuron_explorer(forward_backward, toy_graph(), defaults={"x1": 2.5})
    assert calls == [(1.0, 3.0, -2.0, 5.0, 2.5)]
    assert len(shown) == 1 and isinstance(shown[0], GraphDrawing)
    assert "2.5" in html.unescape(shown[0].to_svg())


def test_explorer_explains_a_wrong_return_value(shown):
    with pytest.raises(TypeError, match="return values, grads"):
        widgets.sigmoid_neuron_explorer(lambda *args: 0.5, toy_graph())


def test_explorer_rejects_unknown_default(shown):
    with pytest.raises(ValueError, match="'w3'"):
        widgets.sigmoid_neuron_explorer(lambda *args: ({}, {}), toy_graph(), defaults={"w3": 1.0})


# -- fitting the output width (issue 12) -----------------------------------------


def long_chain() -> CompGraph:
    return CompGraph("chain").op("×", ["w0", "x0"], "p0").op(
        "+", ["p0", "w2"], "z").op("−", ["z"], "n").op("exp", ["n"], "e").op("+1", ["e"], "d").op("1/x", ["d"], "f")


@pytest.mark.parametrize("backend", BACKENDS)
def test_notebook_svg_scales_to_the_column_and_saved_svg_keeps_full_size(backend, tmp_path):
    import re

    drawing = long_chain().draw({"w0": 1.0, "x0": 5.0}, {"f": 1.0}, backend=backend)
    full = drawing.to_svg()
    root = re.search(r"<svg\b[^>]*>", full).group(0)
    natural = re.search(r'\swidth="([0-9.]+)(pt|px)?"', root)
    shown = drawing._repr_mimebundle_()["image/svg+xml"]
    shown_root = re.search(r"<svg\b[^>]*>", shown).group(0)
    assert 'width="100%"' in shown_root
    assert f"max-width: {natural.group(1)}{natural.group(2) or 'px'}" in shown_root
    assert "height: auto" in shown_root and not re.search(r'\sheight="', shown_root)
    assert "viewBox=" in shown_root
    assert drawing._repr_svg_() == shown
    saved = drawing.save(tmp_path / "g.svg").read_text()
    assert saved == full and 'width="100%"' not in saved
    assert shown.replace(shown_root, "") == full.replace(root, "")  # only the root tag changes


def test_fit_svg_leaves_svgs_without_viewbox_or_plain_width_alone():
    plain = '<svg width="10pt" height="5pt"><g/></svg>'
    assert graphdraw.fit_svg_to_width(plain) == plain
    relative = '<svg width="50%" viewBox="0 0 10 5"><g/></svg>'
    assert graphdraw.fit_svg_to_width(relative) == relative
    fitted = graphdraw.fit_svg_to_width('<svg width="10" height="5" viewBox="0 0 10 5" style="x"><g/></svg>')
    assert fitted == '<svg width="100%" style="max-width: 10px; height: auto" viewBox="0 0 10 5"><g/></svg>'


def test_explorer_returns_a_handle_on_the_displayed_widget(monkeypatch):
    """With a live front end the explorer shows the widget once and returns a handle on it."""
    import IPython.display

    pytest.importorskip("ipywidgets")
    monkeypatch.delenv("HWLIB_HEADLESS", raising=False)
    monkeypatch.setattr(widgets, "has_interactive_frontend", lambda: True)
    displayed: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kwargs: displayed.extend(objs))
    drawn: list = []

    def forward_backward(w0, w1, w2, x0, x1):
        drawn.append(w0)
        return {"w0": w0}, {"s": 1.0}

    handle = widgets.sigmoid_neuron_explorer(forward_backward, toy_graph())
    assert isinstance(handle, widgets.Explorer)
    assert sorted(handle.sliders) == ["w0", "w1", "w2", "x0", "x1"]
    assert handle.widget in displayed
    handle.sliders["w0"].value = 2.0  # moving a slider redraws with the new value
    assert drawn[-1] == 2.0
    assert handle._ipython_display_() is None and "w0" in repr(handle)


def test_explorer_sliders_show_their_whole_label(monkeypatch):
    """Long slider names (notebook 3's log10_learning_rate) get a label wide enough, the same on every slider."""
    import IPython.display

    pytest.importorskip("ipywidgets")
    monkeypatch.delenv("HWLIB_HEADLESS", raising=False)
    monkeypatch.setattr(widgets, "has_interactive_frontend", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kwargs: None)
    handle = widgets.explore(lambda **values: None, log10_learning_rate=(-3.0, 0.5, 0.1, -1.0),
                             steps=(10.0, 1000.0, 10.0, 300.0))
    label = "max(80px, 21ch)"  # len("log10_learning_rate") + 2 characters, never below ipywidgets' 80 px
    for slider in handle.sliders.values():
        assert slider.style.description_width == label
        assert slider.layout.width == f"calc({label} + 220px)"  # the track keeps its usual length
    assert widgets.slider_label_fit(["w0", "x1"])[0] == {"description_width": "max(80px, 4ch)"}
