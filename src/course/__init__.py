"""course: the instructor side of the backpropagation course kit (grading harness and CLI)."""

import os
import sys

__version__ = "0.1.0"

# nbgrader runs helper programs (alembic) by name; make the ones installed next to
# this interpreter findable even when its virtualenv is not activated.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")
