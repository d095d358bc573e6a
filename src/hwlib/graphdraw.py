"""Draw small scalar computational graphs the way the handouts draw them by hand.

Operators (``+``, ``×``, ``exp``, ``σ``, ``copy``, ...) are circles; variables are
the labelled connections between them, with the forward value written above the
line in green and the upstream gradient (d output / d variable) below it in red.

Typical use::

    g = CompGraph("f(x, y, z) = (x + y) z")
    g.op("+", ["x", "y"], "q").op("×", ["q", "z"], "f")
    g.draw()                                   # structure only
    g.draw({"x": -2, "y": 5, "z": -4, "q": 3, "f": -12})            # forward pass
    g.draw(values, grads).save("graph.png")    # both, written to a file

Two renderers: ``graphviz`` (needs the Graphviz ``dot`` program) and a
pure-matplotlib fallback with a simple layered layout. ``backend="auto"`` picks
graphviz when ``dot`` is on the PATH. Nothing is ever written to stderr.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
import logging
import math
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CompGraph", "GraphDrawing", "Op", "fit_svg_to_width", "format_number"]

_LOG = logging.getLogger(__name__)

VALUE_COLOR = "#1a7f37"  # forward values (green)
GRAD_COLOR = "#c62828"  # upstream gradients (red)
_INK = "#303030"
_OP_FILL = "#eef2f7"
_INPUT_FILL = "#fbfbfb"
_FONT = "DejaVu Sans"
_SAVE_FORMATS = ("png", "svg", "pdf")


# ---------------------------------------------------------------------------
# Number formatting
# ---------------------------------------------------------------------------


def format_number(value: Any) -> str:
    """A short label for a scalar: ``5``, ``-2.5``, ``0.9975``, ``-5.3e-04``.

    Args:
        value: a Python/numpy number or a size-1 array.

    Returns:
        Integers (below a million) without decimals; magnitudes in [1e-3, 1e4)
        with 4 significant digits; anything else in scientific notation with
        2 significant digits.
    """
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(f"expected a single number, got an array of shape {array.shape}")
    number = float(array.reshape(()).item())
    if math.isnan(number) or math.isinf(number):
        return str(number)
    if number == 0:
        return "0"
    if number.is_integer() and abs(number) < 1e6:
        return str(int(number))
    if 1e-3 <= abs(number) < 1e4:
        text = f"{number:.4g}"
        if "e" in text:
            return f"{number:.1e}"
        return text if "." in text else f"{number:#.4g}"  # 0.99999 -> "1.000", not "1"
    return f"{number:.1e}"


# ---------------------------------------------------------------------------
# Graph structure
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One operator node: ``outputs = label(inputs)``.

    Attributes:
        label: text drawn in the circle, e.g. ``"+"``, ``"exp"``, ``"copy"``.
        inputs: names of the variables it reads, in order (``÷`` and ``−`` care).
        outputs: names of the variables it produces (several for ``copy``).
        name: a unique id for the node (``op1``, ``op2``, ... unless given).
    """

    label: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    name: str


class CompGraph:
    """Builder for a scalar computational graph.

    Variables are named by strings. A variable that no op produces is a graph
    input; a variable that no op consumes is a graph output. Ops must be added in
    forward order (an op after the ops producing its inputs), so the graph can
    never contain a cycle.
    """

    def __init__(self, title: str = "") -> None:
        self.title = str(title)
        self._ops: list[Op] = []
        self._producer: dict[str, Op] = {}
        self._consumers: dict[str, list[Op]] = {}
        self._variables: list[str] = []

    # -- building ----------------------------------------------------------

    def op(
        self,
        label: str,
        inputs: Sequence[str],
        outputs: str | Sequence[str],
        name: str | None = None,
    ) -> CompGraph:
        """Add ``outputs = label(inputs)`` and return the graph (chainable).

        Args:
            label: operator text, e.g. ``"×"``, ``"+1"``, ``"1/x"``, ``"σ"``.
            inputs: list of variable names read by the op (a name may repeat,
                e.g. ``["x", "x"]`` for x + x).
            outputs: one variable name, or a list of names (copy operator).
            name: optional unique id for the op; defaults to ``op<k>``.

        Raises:
            TypeError/ValueError with a hint when the op is malformed, an output
            is produced twice, or an output was already used as an input.
        """
        label = _check_label(label)
        input_names = _check_names(inputs, "inputs", label, allow_repeats=True)
        output_names = _check_names(
            [outputs] if isinstance(outputs, str) else outputs, "outputs", label, allow_repeats=False
        )
        op_name = f"op{len(self._ops) + 1}" if name is None else str(name)
        if any(existing.name == op_name for existing in self._ops):
            raise ValueError(f"op name {op_name!r} is already used in this graph; give each op a unique name.")
        for out in output_names:
            if out in input_names:
                raise ValueError(
                    f"op {label!r} uses {out!r} as both an input and an output; a computational graph "
                    f"has no cycles. Hint: give the output a new name, e.g. {out + '_new'!r}."
                )
            if out in self._producer:
                earlier = self._producer[out]
                raise ValueError(
                    f"variable {out!r} is produced twice: by op {earlier.label!r} ({earlier.name}) and "
                    f"now by op {label!r} ({op_name}). Each variable is the output of at most one op. "
                    f"Hint: give the second one a new name, e.g. {out + '2'!r}."
                )
            if out in self._consumers:
                reader = self._consumers[out][0]
                raise ValueError(
                    f"variable {out!r} was already used as an input by op {reader.label!r} ({reader.name}), "
                    f"so it is a graph input and cannot also be produced by op {label!r} ({op_name}). "
                    "Hint: add ops in forward order, each after the ops that produce its inputs."
                )
        new_op = Op(label=label, inputs=input_names, outputs=output_names, name=op_name)
        self._ops.append(new_op)
        for var in input_names:
            self._remember(var)
            readers = self._consumers.setdefault(var, [])
            if new_op not in readers:
                readers.append(new_op)
        for var in output_names:
            self._remember(var)
            self._producer[var] = new_op
        return self

    def _remember(self, var: str) -> None:
        if var not in self._producer and var not in self._consumers:
            self._variables.append(var)

    # -- queries -----------------------------------------------------------

    @property
    def ops(self) -> list[Op]:
        """The ops in the order they were added (a topological order)."""
        return list(self._ops)

    @property
    def variables(self) -> list[str]:
        """Every variable name, in order of first appearance."""
        return list(self._variables)

    @property
    def inputs(self) -> list[str]:
        """Variables produced by no op (the leaves), in order of first appearance."""
        return [v for v in self._variables if v not in self._producer]

    @property
    def outputs(self) -> list[str]:
        """Variables consumed by no op, in order of first appearance."""
        return [v for v in self._variables if v not in self._consumers]

    def producer(self, var: str) -> Op | None:
        """The op that produces ``var``, or None for a graph input."""
        self._check_known(var)
        return self._producer.get(var)

    def consumers(self, var: str) -> list[Op]:
        """The ops that read ``var`` (empty for a graph output)."""
        self._check_known(var)
        return list(self._consumers.get(var, []))

    def _check_known(self, var: str) -> None:
        if var not in self._producer and var not in self._consumers:
            raise KeyError(f"{var!r} is not a variable of this graph; its variables are {self._variables}")

    def __repr__(self) -> str:
        return (
            f"CompGraph({self.title!r}: {len(self._ops)} ops, "
            f"inputs={self.inputs}, outputs={self.outputs})"
        )

    # -- drawing -----------------------------------------------------------

    def draw(
        self,
        values: Mapping[str, Any] | None = None,
        grads: Mapping[str, Any] | None = None,
        backend: str = "auto",
    ) -> GraphDrawing:
        """Draw the graph, optionally with forward values and upstream gradients.

        Args:
            values: variable name -> forward value (shown above the line, green).
            grads: variable name -> d(output)/d(variable) (shown below, red).
                Missing names, or None values, are simply not shown.
            backend: ``"auto"`` (graphviz if ``dot`` is installed, else
                matplotlib), ``"graphviz"`` or ``"matplotlib"``.

        Returns:
            A :class:`GraphDrawing`; it displays inline in Jupyter/Colab and has
            ``.save(path)`` for .png/.svg/.pdf files.
        """
        if not self._ops:
            raise ValueError("this graph has no ops yet; add some with g.op(label, inputs, outputs).")
        value_text = _labels_for(values, "values", self._variables)
        grad_text = _labels_for(grads, "grads", self._variables)
        chosen = _choose_backend(backend)
        _LOG.debug("drawing %r with the %s backend", self.title, chosen)
        if chosen == "graphviz":
            return _GraphvizDrawing(_build_digraph(self, value_text, grad_text), self.title)
        return _MatplotlibDrawing(_build_figure(self, value_text, grad_text), self.title)


def _check_label(label: Any) -> str:
    if not isinstance(label, str) or not label.strip():
        raise TypeError(f"an op label must be a non-empty string such as '+' or 'exp'; got {label!r}.")
    return label


def _check_names(names: Any, role: str, label: str, *, allow_repeats: bool) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise TypeError(
            f"op {label!r}: {role} should be a list of variable names, got {names!r}. "
            f"Hint: write g.op({label!r}, ['x', 'y'], 'q')."
        )
    names = tuple(names)
    if not names:
        raise ValueError(f"op {label!r}: {role} is empty; every op needs at least one input and one output.")
    for var in names:
        if not isinstance(var, str) or not var:
            raise TypeError(f"op {label!r}: every name in {role} must be a non-empty string; got {var!r}.")
    if not allow_repeats and len(set(names)) != len(names):
        raise ValueError(f"op {label!r}: {role} {list(names)} names the same variable twice.")
    return names


def _labels_for(numbers: Mapping[str, Any] | None, arg: str, variables: list[str]) -> dict[str, str]:
    """Format a ``values``/``grads`` dict, rejecting names that are not variables."""
    if numbers is None:
        return {}
    if not isinstance(numbers, Mapping):
        raise TypeError(
            f"{arg} should be a dict from variable name to number, got {type(numbers).__name__}. "
            f"Hint: e.g. {{'{variables[0]}': 1.5}}."
        )
    labels: dict[str, str] = {}
    for var, number in numbers.items():
        if var not in variables:
            raise ValueError(
                f"{arg} has the key {var!r}, which is not a variable of this graph. "
                f"Its variables are {variables}. Hint: check the spelling."
            )
        if number is None:
            continue
        try:
            labels[var] = format_number(number)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"{arg}[{var!r}] should be a single number, got {number!r} ({error}). "
                "Hint: these graphs are scalar; pass a float."
            ) from None
    return labels


def _graphviz_available() -> bool:
    return shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None


def _choose_backend(backend: str) -> str:
    if backend == "auto":
        return "graphviz" if _graphviz_available() else "matplotlib"
    if backend == "graphviz":
        if not _graphviz_available():
            raise RuntimeError(
                "backend='graphviz' needs the graphviz Python package and the Graphviz 'dot' program "
                "on the PATH, and one of them was not found. Hint: install Graphviz "
                "(apt install graphviz / conda install graphviz) or use backend='matplotlib'."
            )
        return backend
    if backend == "matplotlib":
        return backend
    raise ValueError(f"backend should be 'auto', 'graphviz' or 'matplotlib'; got {backend!r}.")


# ---------------------------------------------------------------------------
# The drawing object shown in notebooks
# ---------------------------------------------------------------------------


class GraphDrawing:
    """A drawn graph: shows itself in JupyterLab, Notebook and Colab; saves to files.

    The notebook output carries SVG (what browsers show) and PNG (what PDF
    export uses).
    """

    backend = ""

    def __init__(self, title: str) -> None:
        self.title = title
        self._rendered: dict[str, bytes] = {}

    def _render(self, fmt: str) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    def render(self, fmt: str) -> bytes:
        """The drawing as ``png``, ``svg`` or ``pdf`` bytes (cached)."""
        if fmt not in _SAVE_FORMATS:
            raise ValueError(f"format should be one of {_SAVE_FORMATS}; got {fmt!r}.")
        if fmt not in self._rendered:
            self._rendered[fmt] = self._render(fmt)
        return self._rendered[fmt]

    def to_svg(self) -> str:
        """The drawing as SVG text."""
        return self.render("svg").decode("utf-8")

    def to_png(self) -> bytes:
        """The drawing as PNG bytes."""
        return self.render("png")

    def save(self, path: str | Path) -> Path:
        """Write the drawing to ``path``; the suffix (.png, .svg, .pdf) picks the format.

        Returns:
            The path written.
        """
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in _SAVE_FORMATS:
            raise ValueError(
                f"cannot tell the file format from {str(path)!r}; use a name ending in .png, .svg or .pdf."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.render(fmt))
        return path

    def to_fitting_svg(self) -> str:
        """The SVG shown in notebooks: as wide as its natural size, never wider than the output area.

        The root ``<svg>`` gets ``width="100%"``, its natural width as ``max-width``
        and a height that follows from its ``viewBox``, so JupyterLab, Notebook 7
        and Colab shrink a long graph to the column instead of cutting it off.
        Saved files (:meth:`save`, :meth:`to_svg`) keep the full size.
        """
        return fit_svg_to_width(self.to_svg())

    def _repr_svg_(self) -> str:
        return self.to_fitting_svg()

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "image/svg+xml": self.to_fitting_svg(),
            "image/png": base64.b64encode(self.to_png()).decode("ascii"),
            "text/plain": repr(self),
        }

    def __repr__(self) -> str:
        return f"<GraphDrawing {self.title!r} ({self.backend})>"


_SVG_ROOT = re.compile(r"<svg\b[^>]*>", re.DOTALL)
_SVG_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(pt|px)?\s*$")


def _svg_attribute(tag: str, name: str) -> str | None:
    match = re.search(rf'\s{name}="([^"]*)"', tag)
    return match.group(1) if match else None


def fit_svg_to_width(svg: str) -> str:
    """Make an SVG scale down to its container's width, keeping its aspect ratio.

    Args:
        svg: SVG text whose root element has ``width``/``height`` (in pt or px)
            and a ``viewBox`` (Graphviz and matplotlib write all three).

    Returns:
        The same SVG with ``width="100%"``, no fixed ``height`` and a style of
        ``max-width: <natural width>; height: auto``; unchanged when the root has
        no ``viewBox`` or its width is not a plain length.
    """
    root = _SVG_ROOT.search(svg)
    if root is None:
        return svg
    tag = root.group(0)
    width = _svg_attribute(tag, "width")
    length = _SVG_LENGTH.match(width or "")
    if _svg_attribute(tag, "viewBox") is None or length is None:
        return svg
    natural = f"{length.group(1)}{length.group(2) or 'px'}"
    fitted = re.sub(r'\s(width|height|style)="[^"]*"', "", tag)
    fitted = fitted.replace("<svg", f'<svg width="100%" style="max-width: {natural}; height: auto"', 1)
    return svg[: root.start()] + fitted + svg[root.end():]


class _GraphvizDrawing(GraphDrawing):
    backend = "graphviz"

    def __init__(self, digraph: Any, title: str) -> None:
        super().__init__(title)
        self.digraph = digraph

    @property
    def source(self) -> str:
        """The DOT source handed to Graphviz."""
        return self.digraph.source

    def _render(self, fmt: str) -> bytes:
        return self.digraph.pipe(format=fmt, quiet=True)


class _MatplotlibDrawing(GraphDrawing):
    backend = "matplotlib"

    def __init__(self, figure: Any, title: str) -> None:
        super().__init__(title)
        self.figure = figure

    def _render(self, fmt: str) -> bytes:
        import matplotlib

        buffer = io.BytesIO()
        settings = {"svg.fonttype": "none", "svg.hashsalt": "hwlib-graphdraw", "pdf.fonttype": 42}
        with matplotlib.rc_context(settings):
            self.figure.savefig(buffer, format=fmt, dpi=110, facecolor="white")
        return buffer.getvalue()


# ---------------------------------------------------------------------------
# Graphviz backend
# ---------------------------------------------------------------------------


def _build_digraph(graph: CompGraph, values: dict[str, str], grads: dict[str, str]) -> Any:
    """A graphviz.Digraph: ops are circles, variables are 3-row labels on the line."""
    import graphviz

    dot = graphviz.Digraph(
        graph_attr={
            "rankdir": "LR",
            "bgcolor": "white",
            "nodesep": "0.18",
            "ranksep": "0.3",
            "pad": "0.15",
            "fontname": _FONT,
            "fontsize": "15",
            "label": _graphviz_title(graph.title, bool(values or grads)),
            "labelloc": "t",
        },
        node_attr={"fontname": _FONT, "color": _INK, "fontcolor": _INK},
        edge_attr={"color": _INK, "arrowsize": "0.7", "penwidth": "1.1"},
    )
    node_id = {var: f"v{k}" for k, var in enumerate(graph.variables)}
    outputs = set(graph.outputs)
    inputs = set(graph.inputs)
    for var in graph.variables:
        label = _variable_table(var, values.get(var), grads.get(var), bool(values), bool(grads), var in inputs)
        dot.node(node_id[var], label=label, shape="plain")
    for k, op in enumerate(graph.ops):
        op_id = f"o{k}"
        dot.node(
            op_id,
            label=f"<{html.escape(op.label)}>",
            shape="circle" if len(op.label) <= 3 else "ellipse",
            style="filled",
            fillcolor=_OP_FILL,
            fontsize="16",
            width="0.5",
            margin="0.03",
            tooltip=op.name,
        )
        for var in op.inputs:
            dot.edge(f"{node_id[var]}:name:e", op_id)
        for var in op.outputs:
            dot.edge(op_id, f"{node_id[var]}:name:w", arrowhead="normal" if var in outputs else "none")
    return dot


def _graphviz_title(title: str, with_legend: bool) -> str:
    rows = []
    if title:
        rows.append(f"<TR><TD><B>{html.escape(title)}</B></TD></TR>")
    if with_legend:
        rows.append(
            f'<TR><TD><FONT POINT-SIZE="10"><FONT COLOR="{VALUE_COLOR}">value (above)</FONT>'
            f'   <FONT COLOR="{GRAD_COLOR}">gradient of the output (below)</FONT></FONT></TD></TR>'
        )
    if not rows:
        return ""
    return f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="2">{"".join(rows)}</TABLE>>'


def _variable_table(
    var: str, value: str | None, grad: str | None, value_row: bool, grad_row: bool, is_input: bool
) -> str:
    """HTML label: value (green) over the name over the gradient (red)."""

    def number_row(text: str | None, color: str) -> str:
        body = f'<FONT COLOR="{color}" POINT-SIZE="12">{html.escape(text)}</FONT>' if text else " "
        return f'<TR><TD HEIGHT="16">{body}</TD></TR>'

    name_cell = f'<FONT POINT-SIZE="14"><I>{html.escape(var)}</I></FONT>'
    if is_input:
        name_cell = (
            f'<TD PORT="name" BORDER="1" STYLE="rounded" COLOR="#8a8a8a" BGCOLOR="{_INPUT_FILL}" '
            f'CELLPADDING="3">{name_cell}</TD>'
        )
    else:
        name_cell = f'<TD PORT="name" CELLPADDING="1">{name_cell}</TD>'
    rows = [number_row(value, VALUE_COLOR)] if value_row else []
    rows.append(f"<TR>{name_cell}</TR>")
    if grad_row:
        rows.append(number_row(grad, GRAD_COLOR))
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{"".join(rows)}</TABLE>>'


# ---------------------------------------------------------------------------
# Matplotlib backend: layered layout (x = depth, y by barycentre), then drawing
# ---------------------------------------------------------------------------

_NAME_SIZE = 12.0
_NUMBER_SIZE = 10.0
_OP_SIZE = 13.0
_COLUMN_GAP = 0.5  # inches between neighbouring layers
_ROW_GAP = 0.2  # inches between neighbouring nodes of a layer
_MARGIN = 0.2
_INPUT_PAD = 0.3  # padding of the box around an input's name, in font sizes


@dataclass
class _Node:
    """A box in the layered layout (a variable, an op, or a bend of a long edge)."""

    key: tuple[str, Any]
    layer: int
    half_width: float
    half_height: float
    x: float = 0.0
    y: float = 0.0


@dataclass
class _Edge:
    """A line from ``chain[0]`` to ``chain[-1]`` through bend points.

    ``tail_port``/``head_port`` are (slot, count) on an op, or None on a variable.
    """

    chain: list[tuple[str, Any]]
    tail_port: tuple[int, int] | None
    head_port: tuple[int, int] | None
    arrow: bool


class _TextMeter:
    """Measures text extents in inches with matplotlib's Agg renderer."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import RendererAgg

        self._renderer = RendererAgg(10, 10, 72)

    def size(self, text: str, points: float, **font: Any) -> tuple[float, float]:
        from matplotlib.font_manager import FontProperties

        prop = FontProperties(family=_FONT, size=points, **font)
        width, height, _ = self._renderer.get_text_width_height_descent(text or " ", prop, ismath=False)
        return width / 72.0, height / 72.0


@dataclass(frozen=True)
class _LabelMetrics:
    """Sizes (inches) shared by every variable label, so rows line up."""

    name_height: float
    number_height: float
    box_pad: float  # padding of the box drawn around an input's name

    @classmethod
    def measure(cls, meter: _TextMeter) -> _LabelMetrics:
        return cls(
            name_height=meter.size("Xy", _NAME_SIZE, style="italic")[1],
            number_height=meter.size("0.5", _NUMBER_SIZE)[1],
            box_pad=_INPUT_PAD * _NAME_SIZE / 72,
        )

    def number_offset(self, is_input: bool) -> float:
        """Distance from the line to the centre of the value/gradient text."""
        return self.name_height / 2 + (self.box_pad if is_input else 0.0) + 0.05 + self.number_height / 2

    def half_height(self, is_input: bool, with_numbers: bool) -> float:
        if with_numbers:
            return self.number_offset(is_input) + self.number_height / 2 + 0.02
        return self.name_height / 2 + (self.box_pad if is_input else 0.0) + 0.04


def _port_angle(slot: int, count: int) -> float:
    """Angle (radians, 0 = straight right/left) of a port on an op circle; slot 0 on top."""
    if count <= 1:
        return 0.0
    step = min(40.0, 80.0 / (count - 1))
    return math.radians(((count - 1) / 2 - slot) * step)


def _op_radius(meter: _TextMeter, label: str) -> float:
    width, height = meter.size(label, _OP_SIZE)
    return max(0.22, 0.5 * math.hypot(width, height) + 0.04)


def _layered_layout(
    graph: CompGraph, values: dict[str, str], grads: dict[str, str], meter: _TextMeter
) -> tuple[dict[tuple[str, Any], _Node], list[_Edge]]:
    """Place variables, ops and edge bends in columns; returns nodes and edges."""
    layer: dict[tuple[str, Any], int] = {("var", v): 0 for v in graph.inputs}
    for k, op in enumerate(graph.ops):
        depth = max(layer[("var", v)] for v in op.inputs) + 1
        layer[("op", k)] = depth
        for v in op.outputs:
            layer[("var", v)] = depth + 1
    op_index = {op.name: k for k, op in enumerate(graph.ops)}
    for v in graph.inputs:  # pull each leaf next to its first reader
        layer[("var", v)] = min(layer[("op", op_index[o.name])] for o in graph.consumers(v)) - 1

    metrics = _LabelMetrics.measure(meter)
    inputs = set(graph.inputs)
    nodes: dict[tuple[str, Any], _Node] = {}
    for v in graph.variables:
        box = 2 * metrics.box_pad if v in inputs else 0.0
        widths = [meter.size(v, _NAME_SIZE, style="italic")[0] + 0.12 + box]
        widths += [meter.size(t, _NUMBER_SIZE)[0] for t in (values.get(v), grads.get(v)) if t]
        half_height = metrics.half_height(v in inputs, bool(values or grads))
        nodes[("var", v)] = _Node(("var", v), layer[("var", v)], max(widths) / 2, half_height)
    for k, op in enumerate(graph.ops):
        radius = _op_radius(meter, op.label)
        nodes[("op", k)] = _Node(("op", k), layer[("op", k)], radius, radius)

    edges: list[_Edge] = []
    outputs = set(graph.outputs)
    for k, op in enumerate(graph.ops):
        for slot, v in enumerate(op.inputs):
            edges.append(_Edge([("var", v), ("op", k)], None, (slot, len(op.inputs)), True))
        for slot, v in enumerate(op.outputs):
            edges.append(_Edge([("op", k), ("var", v)], (slot, len(op.outputs)), None, v in outputs))
    for edge in edges:  # long edges bend through one dummy node per skipped layer
        tail, head = edge.chain
        bends = []
        for depth in range(nodes[tail].layer + 1, nodes[head].layer):
            key = ("bend", len(nodes))
            nodes[key] = _Node(key, depth, 0.05, 0.06)
            bends.append(key)
        edge.chain = [tail, *bends, head]

    columns = _order_columns(nodes, edges)
    _assign_x(nodes, columns)
    _assign_y(nodes, edges, columns)
    return nodes, edges


def _port_offset(port: tuple[int, int] | None, node: _Node) -> float:
    """Vertical offset of an edge end from its node's centre (ports on op circles)."""
    if port is None:
        return 0.0
    return node.half_height * math.sin(_port_angle(*port))


def _segments(edges: list[_Edge]) -> list[tuple[tuple[str, Any], float, tuple[str, Any], float]]:
    """Every (left node, left offset rank, right node, right offset rank) hop of every edge."""
    hops = []
    for edge in edges:
        chain = edge.chain
        for i in range(len(chain) - 1):
            left_rank = -_port_angle(*edge.tail_port) if (i == 0 and edge.tail_port) else 0.0
            last = i == len(chain) - 2
            right_rank = -_port_angle(*edge.head_port) if (last and edge.head_port) else 0.0
            hops.append((chain[i], left_rank, chain[i + 1], right_rank))
    return hops


def _order_columns(nodes: dict[tuple[str, Any], _Node], edges: list[_Edge]) -> list[list[tuple[str, Any]]]:
    """Order each column to reduce crossings (barycentre sweeps, best kept)."""
    depth = max(node.layer for node in nodes.values()) + 1
    columns: list[list[tuple[str, Any]]] = [[] for _ in range(depth)]
    for key, node in nodes.items():
        columns[node.layer].append(key)
    hops = _segments(edges)

    def crossings(order: list[list[tuple[str, Any]]]) -> int:
        where = {key: i for column in order for i, key in enumerate(column)}
        per_gap: dict[int, list[tuple[float, float]]] = {}
        for left, left_rank, right, right_rank in hops:
            gap = nodes[left].layer
            per_gap.setdefault(gap, []).append(
                (where[left] + 0.01 * left_rank, where[right] + 0.01 * right_rank)
            )
        total = 0
        for lines in per_gap.values():
            for a in range(len(lines)):
                for b in range(a + 1, len(lines)):
                    if (lines[a][0] - lines[b][0]) * (lines[a][1] - lines[b][1]) < 0:
                        total += 1
        return total

    def sweep(order: list[list[tuple[str, Any]]], rightward: bool) -> None:
        """Sort each column by the mean position of its neighbours in the previous column."""
        sequence = range(1, depth) if rightward else range(depth - 2, -1, -1)
        for col in sequence:
            reference = {key: i for i, key in enumerate(order[col - 1 if rightward else col + 1])}
            score: dict[tuple[str, Any], list[float]] = {}
            for left, left_rank, right, right_rank in hops:
                mine, other, rank = (right, left, left_rank) if rightward else (left, right, right_rank)
                if other in reference and nodes[mine].layer == col:
                    score.setdefault(mine, []).append(reference[other] + 0.2 * rank)
            current = {key: i for i, key in enumerate(order[col])}
            order[col].sort(key=lambda key: (sum(score[key]) / len(score[key])) if key in score else current[key])

    best = [list(col) for col in columns]
    best_crossings = crossings(best)
    trial = [list(col) for col in columns]
    for round_ in range(8):
        sweep(trial, rightward=round_ % 2 == 0)
        count = crossings(trial)
        if count < best_crossings:
            best, best_crossings = [list(col) for col in trial], count
    return best


def _assign_x(nodes: dict[tuple[str, Any], _Node], columns: list[list[tuple[str, Any]]]) -> None:
    x = 0.0
    for column in columns:
        half = max((nodes[key].half_width for key in column), default=0.05)
        for key in column:
            nodes[key].x = x + half
        x += 2 * half + _COLUMN_GAP


def _assign_y(
    nodes: dict[tuple[str, Any], _Node], edges: list[_Edge], columns: list[list[tuple[str, Any]]]
) -> None:
    """Pull each node level with its neighbours while keeping the column order and gaps."""
    links: dict[tuple[str, Any], list[tuple[tuple[str, Any], float]]] = {key: [] for key in nodes}
    for edge in edges:
        chain = edge.chain
        for i in range(len(chain) - 1):
            left, right = chain[i], chain[i + 1]
            left_off = _port_offset(edge.tail_port, nodes[left]) if i == 0 else 0.0
            right_off = _port_offset(edge.head_port, nodes[right]) if i == len(chain) - 2 else 0.0
            # wanted: left.y + left_off == right.y + right_off
            links[left].append((right, right_off - left_off))
            links[right].append((left, left_off - right_off))
    for column in columns:
        y = 0.0
        for i, key in enumerate(column):
            if i:
                y -= nodes[column[i - 1]].half_height + nodes[key].half_height + _ROW_GAP
            nodes[key].y = y
    for round_ in range(40):
        sequence = columns if round_ % 2 == 0 else columns[::-1]
        for column in sequence:
            wanted = []
            for key in column:
                around = links[key]
                if around:
                    wanted.append(sum(nodes[other].y + offset for other, offset in around) / len(around))
                else:
                    wanted.append(nodes[key].y)
            gaps = [
                nodes[a].half_height + nodes[b].half_height + _ROW_GAP for a, b in zip(column, column[1:])
            ]
            for key, y in zip(column, _ordered_fit(wanted, gaps)):
                nodes[key].y = y


def _ordered_fit(wanted: list[float], gaps: list[float]) -> list[float]:
    """Closest positions (least squares) to ``wanted`` with y[i] - y[i+1] >= gaps[i].

    Substituting z[i] = y[i] + sum(gaps[:i]) turns this into isotonic
    (non-increasing) regression, solved by pool-adjacent-violators.
    """
    shift = [0.0]
    for gap in gaps:
        shift.append(shift[-1] + gap)
    targets = [w + s for w, s in zip(wanted, shift)]
    blocks: list[list[float]] = []  # [mean, count]
    for target in targets:
        blocks.append([target, 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            mean_b, count_b = blocks.pop()
            mean_a, count_a = blocks.pop()
            blocks.append([(mean_a * count_a + mean_b * count_b) / (count_a + count_b), count_a + count_b])
    fitted: list[float] = []
    for mean, count in blocks:
        fitted.extend([mean] * int(count))
    return [z - s for z, s in zip(fitted, shift)]


def _build_figure(graph: CompGraph, values: dict[str, str], grads: dict[str, str]) -> Any:
    """A matplotlib Figure (not registered with pyplot, so never shown twice)."""
    from matplotlib.figure import Figure

    meter = _TextMeter()
    nodes, edges = _layered_layout(graph, values, grads, meter)
    left = min(n.x - n.half_width for n in nodes.values()) - _MARGIN
    right = max(n.x + n.half_width for n in nodes.values()) + _MARGIN
    bottom = min(n.y - n.half_height for n in nodes.values()) - _MARGIN
    top = max(n.y + n.half_height for n in nodes.values()) + _MARGIN
    header = _header_lines(graph.title, bool(values or grads))
    header_height = sum(0.1 + meter.size(line, size, weight=weight)[1] for line, size, weight in header)
    header_width = max((meter.size(line, size, weight=weight)[0] for line, size, weight in header), default=0)
    spare = max(0.0, header_width + 2 * _MARGIN - (right - left)) / 2
    left, right = left - spare, right + spare
    if header:
        top += header_height + 0.05

    figure = Figure(figsize=(right - left, top - bottom), dpi=110, facecolor="white")
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(left, right)
    axes.set_ylim(bottom, top)
    axes.set_axis_off()

    y = top - 0.05
    for line, size, weight in header:
        line_height = meter.size(line, size, weight=weight)[1]
        y -= 0.1 + line_height / 2
        if line == _LEGEND:  # two colours on one centred line
            x = (left + right) / 2 - meter.size(line, size)[0] / 2
            _text(axes, x, y, _LEGEND_VALUE, ha="left", size=size, color=VALUE_COLOR)
            x = (left + right) / 2 + meter.size(line, size)[0] / 2
            _text(axes, x, y, _LEGEND_GRAD, ha="right", size=size, color=GRAD_COLOR)
        else:
            _text(axes, (left + right) / 2, y, line, size=size, weight=weight, color=_INK)
        y -= line_height / 2

    name_half_width = _draw_nodes(axes, graph, nodes, values, grads, meter)
    for edge in edges:
        _draw_edge(axes, edge, nodes, name_half_width)
    return figure


_LEGEND_GRAD = "gradient of the output (below)"
_LEGEND_VALUE = "value (above)"
_LEGEND = _LEGEND_VALUE + " " * 6 + _LEGEND_GRAD


def _header_lines(title: str, with_legend: bool) -> list[tuple[str, float, str]]:
    """(text, font size, weight) of the lines above the graph."""
    lines = [(title, 13.0, "bold")] if title else []
    if with_legend:
        lines.append((_LEGEND, 9.0, "normal"))
    return lines


def _text(axes: Any, x: float, y: float, content: str, ha: str = "center", **style: Any) -> None:
    axes.text(x, y, content, ha=ha, va="center", family=_FONT, parse_math=False, **style)


def _draw_nodes(
    axes: Any,
    graph: CompGraph,
    nodes: dict[tuple[str, Any], _Node],
    values: dict[str, str],
    grads: dict[str, str],
    meter: _TextMeter,
) -> dict[str, float]:
    """Draw op circles and variable labels; returns each variable's half line gap."""
    from matplotlib.patches import Circle

    metrics = _LabelMetrics.measure(meter)
    inputs, outputs = set(graph.inputs), set(graph.outputs)
    name_half_width: dict[str, float] = {}
    for (kind, ident), node in nodes.items():
        if kind == "op":
            circle = Circle((node.x, node.y), node.half_width, facecolor=_OP_FILL, edgecolor=_INK, linewidth=1.3)
            circle.set_zorder(3)
            axes.add_patch(circle)
            _text(axes, node.x, node.y, graph.ops[ident].label, size=_OP_SIZE, color=_INK, zorder=4)
        elif kind == "var":
            is_input = ident in inputs
            box = None
            if is_input:
                box = {"boxstyle": f"round,pad={_INPUT_PAD}", "facecolor": _INPUT_FILL, "edgecolor": "#8a8a8a"}
            weight = "bold" if ident in outputs else "normal"
            _text(axes, node.x, node.y, ident, size=_NAME_SIZE, style="italic", weight=weight, color=_INK, bbox=box, zorder=4)
            name_width = meter.size(ident, _NAME_SIZE, style="italic", weight=weight)[0]
            name_half_width[ident] = name_width / 2 + 0.05 + (metrics.box_pad if is_input else 0.0)
            offset = metrics.number_offset(is_input)
            if ident in values:
                _text(axes, node.x, node.y + offset, values[ident], size=_NUMBER_SIZE, color=VALUE_COLOR, zorder=4)
            if ident in grads:
                _text(axes, node.x, node.y - offset, grads[ident], size=_NUMBER_SIZE, color=GRAD_COLOR, zorder=4)
    return name_half_width


def _draw_edge(
    axes: Any, edge: _Edge, nodes: dict[tuple[str, Any], _Node], name_half_width: dict[str, float]
) -> None:
    """One smooth line (cubic Bezier pieces, horizontal at labels and bends), arrow at the end."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as MplPath

    stops: list[tuple[tuple[float, float], tuple[float, float]]] = []  # (point, heading)
    last = len(edge.chain) - 1
    for i, key in enumerate(edge.chain):
        node = nodes[key]
        if key[0] == "op" and i == 0:  # leave the circle on its right side
            angle = _port_angle(*edge.tail_port)
            heading = (math.cos(angle), math.sin(angle))
            stops.append(((node.x + node.half_width * heading[0], node.y + node.half_width * heading[1]), heading))
        elif key[0] == "op":  # enter the circle on its left side, heading for the centre
            angle = _port_angle(*edge.head_port)
            heading = (math.cos(angle), -math.sin(angle))
            stops.append(((node.x - node.half_width * heading[0], node.y - node.half_width * heading[1]), heading))
        elif key[0] == "var":
            gap = name_half_width[key[1]] + (0.03 if i == last else 0.0)
            stops.append(((node.x + (gap if i == 0 else -gap), node.y), (1.0, 0.0)))
        else:
            stops.append(((node.x, node.y), (1.0, 0.0)))
    vertices = [stops[0][0]]
    for (start, start_heading), (end, end_heading) in zip(stops, stops[1:]):
        reach = 0.45 * abs(end[0] - start[0]) + 0.05
        vertices += [
            (start[0] + start_heading[0] * reach, start[1] + start_heading[1] * reach),
            (end[0] - end_heading[0] * reach, end[1] - end_heading[1] * reach),
            end,
        ]
    codes = [MplPath.MOVETO] + [MplPath.CURVE4] * (len(vertices) - 1)
    line = FancyArrowPatch(
        path=MplPath(vertices, codes),
        arrowstyle="-|>" if edge.arrow else "-",
        mutation_scale=11,
        linewidth=1.2,
        color=_INK,
        zorder=2,
    )
    axes.add_patch(line)
