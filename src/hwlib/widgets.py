"""Interactive explorers built on ipywidgets that degrade to a static render.

When no person is watching (nbclient, nbconvert --execute, autograding) the
explorer calls ``render`` once with the default slider values and returns, so a
notebook executed headless neither blocks nor fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from hwlib.runtime import has_interactive_frontend

if TYPE_CHECKING:  # drawing pulls in matplotlib/graphviz; import it only when used
    from hwlib.graphdraw import CompGraph

#: A slider spec: (min, max, step, default).
SliderSpec = tuple[float, float, float, float]


@dataclass
class Explorer:
    """Handle on an explorer already shown in the notebook.

    Attributes:
        widget: the ipywidgets ``interactive`` box (sliders + output area).
        sliders: slider name -> its ``FloatSlider``; set ``.value`` to redraw.

    Evaluating the handle shows nothing (the widget is on screen already), so a
    cell that ends with the explorer call shows it once.
    """

    widget: Any
    sliders: dict[str, Any] = field(default_factory=dict)

    def _ipython_display_(self) -> None:
        """Shown already by :func:`explore`; displaying it again would duplicate it."""

    def __repr__(self) -> str:
        return f"<Explorer with sliders {list(self.sliders)}>"


def explore(render: Callable[..., Any], *, continuous: bool = False, **sliders: SliderSpec) -> Explorer | None:
    """Show ``render(**values)`` under one float slider per keyword.

    Args:
        render: called with one keyword per slider; it draws or displays output.
        continuous: redraw while a slider is dragged (True) or on release (False).
        **sliders: name -> (min, max, step, default).

    Returns:
        An :class:`Explorer` (``.widget``, ``.sliders``) for the widget displayed
        here; headless, ``render`` runs once with the defaults and None is returned.
    """
    defaults = {name: spec[3] for name, spec in sliders.items()}

    def redraw(**values: float) -> None:
        render(**values)
        _flush_inline_figures()

    if not has_interactive_frontend():
        redraw(**defaults)
        return None
    try:
        import ipywidgets
        from IPython.display import display
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        redraw(**defaults)
        return None
    style, layout = slider_label_fit(list(sliders))
    controls = {
        name: ipywidgets.FloatSlider(
            min=lo, max=hi, step=step, value=value, description=name, continuous_update=continuous,
            style=dict(style), layout=ipywidgets.Layout(**layout),
        )
        for name, (lo, hi, step, value) in sliders.items()
    }
    widget = ipywidgets.interactive(redraw, **controls)
    display(widget)
    return Explorer(widget, controls)


#: ipywidgets' own sizes (JupyterLab, Notebook 7, Colab): an 80 px label inside a 300 px slider row.
DEFAULT_LABEL_WIDTH, DEFAULT_TRACK_WIDTH = "80px", "220px"


def slider_label_fit(names: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Slider ``style`` and ``layout`` whose label shows the longest of ``names`` in full.

    ipywidgets cuts a label at 80 px ("log10_learning_..."); here every slider of one
    explorer gets the same label width, ``max(80px, (longest name + 2) ch)``, so the
    tracks stay aligned, and the row grows by what the label gained, so the track keeps
    its usual length. Returns (style, layout) keyword dicts for ``FloatSlider``.
    """
    label = f"max({DEFAULT_LABEL_WIDTH}, {max(map(len, names), default=0) + 2}ch)"
    return {"description_width": label}, {"width": f"calc({label} + {DEFAULT_TRACK_WIDTH})"}


def _flush_inline_figures() -> None:
    """Send open matplotlib figures into the widget's output now.

    ipywidgets flushes figures inside ``interactive`` only when matplotlib reports
    the inline backend's long name; recent matplotlib reports "inline", so without
    this a redrawn figure would appear below the widget, once, when the cell ends.
    """
    import matplotlib

    if matplotlib.get_backend() not in {"inline", "module://matplotlib_inline.backend_inline"}:
        return
    from matplotlib_inline.backend_inline import flush_figures

    flush_figures()


#: Slider defaults of the sigmoid-neuron explorer: w = [1, 3, -2], x = [5, 8].
SIGMOID_NEURON_DEFAULTS = {"w0": 1.0, "w1": 3.0, "w2": -2.0, "x0": 5.0, "x1": 8.0}


def sigmoid_neuron_explorer(
    forward_backward: Callable[[float, float, float, float, float], tuple[dict, dict]],
    graph: "CompGraph",
    defaults: dict[str, float] | None = None,
) -> Explorer | None:
    """Sliders for w0, w1, w2, x0, x1 that redraw the student's sigmoid-neuron graph.

    Args:
        forward_backward: the student's function ``(w0, w1, w2, x0, x1) ->
            (values, grads)``, two dicts keyed by the variable names of ``graph``.
        graph: the student's CompGraph of f(x, w) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))).
        defaults: slider start values overriding ``SIGMOID_NEURON_DEFAULTS``.

    Returns:
        An :class:`Explorer` whose ``.widget`` is the ipywidgets ``interactive``
        box (already displayed); headless (grading, nbconvert) the graph is drawn
        once with the default values and None is returned.
        Each slider change clears the previous drawing (ipywidgets does this).
    """
    from IPython.display import display

    start = dict(SIGMOID_NEURON_DEFAULTS)
    unknown = sorted(set(defaults or {}) - set(start))
    if unknown:
        raise ValueError(
            f"defaults has unknown key(s) {unknown}; the sliders are {list(start)}. Hint: check the spelling."
        )
    start.update({name: float(value) for name, value in (defaults or {}).items()})

    def render(w0: float, w1: float, w2: float, x0: float, x1: float) -> None:
        result = forward_backward(w0, w1, w2, x0, x1)
        if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(d, dict) for d in result)):
            raise TypeError(
                f"forward_backward({w0}, {w1}, {w2}, {x0}, {x1}) should return (values, grads), two dicts "
                f"keyed by variable names; it returned {type(result).__name__}: {result!r:.120}. "
                "Hint: end your function with `return values, grads`."
            )
        values, grads = result
        display(graph.draw(values, grads))

    sliders = {name: (-5.0, 10.0, 0.1, value) for name, value in start.items()}
    return explore(render, **sliders)
