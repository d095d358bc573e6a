"""hwlib: the helpers behind the backpropagation course notebooks.

Everything here supports the exercises (gradient checking, readable checks,
plots, graph drawing, widgets, data, training scaffolding) and none of it solves
them. Import the submodule you need, e.g. ``from hwlib.gradcheck import check_layer``.
"""

__version__ = "0.1.0"
