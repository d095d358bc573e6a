"""course: the instructor side of the backpropagation course kit (grading harness and CLI)."""

__version__ = "0.1.0"
