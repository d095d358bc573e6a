"""course: the instructor side of the backpropagation course kit (grading harness and CLI)."""

import os
import sys

__version__ = "0.1.0"

# nbgrader runs helper programs (alembic) by name; make the ones installed next to
# this interpreter findable even when its virtualenv is not activated.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

# jsonschema (imported by nbformat) imports `rfc3987_syntax` when it is installed (jupyter-events
# pulls it in through jsonschema's "format-nongpl" extra), and that module builds some 40 lark
# parsers at import: 3.5 CPU-seconds in every course process, grading workers and Gradescope runs
# included (jsonschema issue #1428). It only checks the "iri" string format, which no notebook or
# nbgrader schema uses; marked missing, jsonschema leaves that one format unchecked.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
