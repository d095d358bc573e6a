"""Hidden tests: load a notebook's spec module and run one question's cases.

A hidden-test cell of a source notebook holds a single line::

    from course.hidden import run_hidden_tests; run_hidden_tests("layers", "fc_forward")

The cases are in ``autograder/tests/layers.py``::

    from course.hidden import question
    from course.cases import Case, call

    @question("fc_forward")
    def fc_forward_cases(rng, ref):
        x = rng.standard_normal((2, 3))
        ...
        yield Case("x of shape (2, 3)", [call("fc_forward", x, w, b)],
                   expect={"0.0": ref.fc_forward(x, w, b)[0]})

``ref`` is the source notebook's own solution (see :mod:`course.reference`).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import types
import zlib
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping, MutableMapping

import numpy as np

from course import reference
from course.cases import Case, in_process, iterate, run_cases
from course.paths import autograder_dir
from course.source_checks import analytic_message

QuestionFn = Callable[[np.random.Generator, types.ModuleType], Iterator[Case]]

MAX_REPORTED_FAILURES = 3


def question(name: str) -> Callable[[QuestionFn], QuestionFn]:
    """Mark a generator function as the hidden cases of question ``name``."""

    def mark(fn: QuestionFn) -> QuestionFn:
        fn.question_name = name  # type: ignore[attr-defined]
        return fn

    return mark


@lru_cache(maxsize=None)
def load_spec(key: str) -> dict[str, QuestionFn]:
    """Question name -> case generator, from ``autograder/tests/<key>.py``."""
    path = autograder_dir() / "tests" / f"{key}.py"
    if not path.exists():
        raise FileNotFoundError(f"no hidden-test spec {path}")
    module_name = f"course_hidden_spec_{key}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    questions = {}
    for value in vars(module).values():
        name = getattr(value, "question_name", None)
        if name is not None:
            if name in questions:
                raise ValueError(f"{path}: question {name!r} is defined twice")
            questions[name] = value
    return questions


def question_seed(key: str, name: str) -> int:
    """A stable seed per question, independent of PYTHONHASHSEED."""
    return zlib.crc32(f"{key}.{name}".encode())


def analytic_case(function: str, forward: tuple[str, ...] = (), charged_elsewhere: tuple[str, ...] = ()) -> Case:
    """A case that fails when ``function`` (or a notebook helper it calls) uses a numeric-gradient
    helper from ``hwlib.gradcheck`` or one of the ``forward`` functions, read from the submitted source.

    ``charged_elsewhere``: other answers that get this check in their own question; calls into them
    are not followed (see :func:`course.source_checks.analytic_message`)."""

    def check(outputs: Mapping[str, Any]) -> None:
        problem = analytic_message(function, outputs.get("source"), forward, charged_elsewhere)
        if problem:
            raise AssertionError(problem)

    return Case(f"{function} computes its gradients analytically", [], source_of=function, check=check,
                unmodified=False, hint="write the backward pass with the chain rule; use the numeric-gradient "
                                       "helpers only to check your answer, outside the answer cell")


def build_cases(key: str, name: str) -> list[Case]:
    """The hidden cases of one question, built with the reference solution.

    A spec module may list backward questions in ``ANALYTIC`` (question -> [(function,
    forward names)]): each gets :func:`analytic_case` for those functions; and in ``TIMED``
    (question -> [function(rng, ref) -> Case]) extra cases, typically large ones with a
    ``TimeLimit``.
    """
    questions = load_spec(key)
    if name not in questions:
        raise KeyError(f"{key}: no hidden question {name!r}; known: {', '.join(sorted(questions))}")
    rng = np.random.default_rng(question_seed(key, name))
    cases = iterate(questions[name](rng, reference.load(key)))
    module = sys.modules.get(f"course_hidden_spec_{key}")
    for make in getattr(module, "TIMED", {}).get(name, ()):
        cases.append(make(rng, reference.load(key)))
    table = getattr(module, "ANALYTIC", {})
    for function, forward in table.get(name, ()):
        cases.append(analytic_case(function, tuple(forward), analytic_functions(table, besides=function)))
    return cases


def analytic_functions(table: Mapping[str, Any], besides: str) -> tuple[str, ...]:
    """Every function an ``ANALYTIC`` table checks, except ``besides``: each costs points in its own question."""
    return tuple(sorted({f for rows in table.values() for f, _ in rows} - {besides}))


def run_hidden_tests(key: str, name: str, namespace: MutableMapping[str, Any] | None = None) -> None:
    """Run question ``name`` of notebook ``key`` against ``namespace`` (default: caller's globals).

    Prints how many cases passed; raises AssertionError listing the first failures.
    """
    if namespace is None:
        namespace = inspect.currentframe().f_back.f_globals  # type: ignore[union-attr]
    cases = build_cases(key, name)
    failures = [m for m in run_cases(cases, in_process(namespace, reference.load)) if m is not None]
    print(f"hidden tests for {name}: {len(cases) - len(failures)}/{len(cases)} cases passed")
    if failures:
        shown = "\n\n".join(failures[:MAX_REPORTED_FAILURES])
        more = len(failures) - MAX_REPORTED_FAILURES
        raise AssertionError(shown + (f"\n\n(and {more} more failing case(s))" if more > 0 else ""))
