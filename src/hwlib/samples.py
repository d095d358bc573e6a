"""Sample inputs and outputs of the scalar graphs f1, f2 and f3 (notebook 1).

The file ``hwlib/data/scalar_graph_samples.json`` is written by the instructor
script ``autograder/make_scalar_samples.py``. Its layout::

    {"description": "...",
     "f1": [{"inputs": {"x1": ..., "w1": ..., "x2": ..., "w2": ..., "b": ..., "y": ...},
             "output": L}, ...],
     "f2": [{"inputs": {"x": ...}, "output": y}, ...],
     "f3": [{"inputs": {"s1": ..., "s2": ..., "y": 1 or 2}, "output": L}, ...]}

Inputs are listed in the order of each function's arguments, so
``f1(**sample["inputs"])`` works.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SAMPLES_FILE = "scalar_graph_samples.json"


def load_scalar_samples() -> dict[str, Any]:
    """The f1/f2/f3 samples.

    Returns:
        dict: function name (``"f1"``, ``"f2"``, ``"f3"``) -> list of samples, each
        ``{"inputs": {argument name: value}, "output": float}``; plus ``"description"``.
    """
    text = resources.files("hwlib").joinpath("data", SAMPLES_FILE).read_text(encoding="utf-8")
    return json.loads(text)
