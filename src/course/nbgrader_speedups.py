"""Same results as nbgrader, less repeated work: schema checks done once per process.

nbgrader validates every cell's ``nbgrader`` metadata with ``jsonschema.validate(meta, schema)``,
which checks the (constant) schema itself again on every call: two thirds of the
sanitizing time of a notebook. :func:`install` gives nbgrader's metadata module a
``validate`` that checks each schema once and keeps its validator; the cell checks,
and the error raised for a bad cell (jsonschema's ``best_match``), are unchanged.
"""

from __future__ import annotations

import types
from typing import Any

import jsonschema

_validators: dict[int, tuple[Any, Any]] = {}  # id(schema) -> (schema, validator): the schema kept alive


def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """``jsonschema.validate`` with the schema check and the validator made once per schema object."""
    if cls is not None or args or kwargs:
        return jsonschema.validate(instance, schema, cls, *args, **kwargs)
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        cached = _validators[id(schema)] = (schema, validator_class(schema))
    error = jsonschema.exceptions.best_match(cached[1].iter_errors(instance))
    if error is not None:
        raise error


def install() -> None:
    """Point nbgrader's metadata validation at :func:`validate` (idempotent)."""
    from nbgrader.nbgraderformat import common

    if getattr(common.jsonschema, "__name__", "") == __name__ + ".jsonschema":
        return
    proxy = types.ModuleType(__name__ + ".jsonschema")
    proxy.__dict__.update({k: v for k, v in vars(jsonschema).items() if not k.startswith("__")})
    proxy.validate = validate
    common.jsonschema = proxy
