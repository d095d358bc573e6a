"""Interactive explorers built on ipywidgets that degrade to a static render.

When no person is watching (nbclient, nbconvert --execute, autograding) the
explorer calls ``render`` once with the default slider values and returns, so a
notebook executed headless neither blocks nor fails.
"""

from __future__ import annotations

from typing import Any, Callable

from hwlib.runtime import has_interactive_frontend

#: A slider spec: (min, max, step, default).
SliderSpec = tuple[float, float, float, float]


def explore(render: Callable[..., Any], *, continuous: bool = False, **sliders: SliderSpec) -> Any:
    """Show ``render(**values)`` under one float slider per keyword.

    Args:
        render: called with one keyword per slider; it draws or displays output.
        continuous: redraw while a slider is dragged (True) or on release (False).
        **sliders: name -> (min, max, step, default).

    Returns:
        The ipywidgets ``interactive`` object, or ``render``'s return value when
        there is no interactive frontend (headless execution).
    """
    defaults = {name: spec[3] for name, spec in sliders.items()}
    if not has_interactive_frontend():
        return render(**defaults)
    try:
        import ipywidgets
        from IPython.display import display
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        return render(**defaults)
    controls = {
        name: ipywidgets.FloatSlider(
            min=lo, max=hi, step=step, value=value, description=name, continuous_update=continuous
        )
        for name, (lo, hi, step, value) in sliders.items()
    }
    widget = ipywidgets.interactive(render, **controls)
    display(widget)
    return widget
