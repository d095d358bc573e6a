"""Hidden-test cases as plain data, and the two halves that run them.

A :class:`Case` is a short program of calls into the student's namespace
(``fc_forward(x, w, b)``, then ``fc_backward(g, <cache from call 0>)``) plus
what the results must equal. Running it has two halves with one job each:

* :func:`execute_calls` runs the calls in the student's namespace and returns the
  requested outputs (and any exception, as text);
* :func:`evaluate` compares those outputs with the expected values.

Today both halves run in the grading kernel (stock nbgrader). Because the cases
are plain data, the halves can also run in different processes: student code in
a sandbox, comparisons in the trusted grader.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, MutableMapping, Sequence

import numpy as np

from hwlib.checks import CheckFailed, expect_close


@dataclass(frozen=True)
class Ref:
    """The result of an earlier call (``call`` index), optionally indexed by ``path``.

    ``Ref(0, (1,))`` is element 1 of what call 0 returned (e.g. a cache).
    """

    call: int
    path: tuple[int | str, ...] = ()


@dataclass
class Call:
    """One call: ``target(*args, **kwargs)``, or ``target.method(...)``.

    ``target`` is a name in the student's namespace or a :class:`Ref` to an
    object returned by an earlier call.
    """

    target: str | Ref
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    method: str | None = None


def call(target: str | Ref, *args: Any, method: str | None = None, **kwargs: Any) -> Call:
    """Shorthand for :class:`Call`."""
    return Call(target, args, kwargs, method)


@dataclass
class Case:
    """A named hidden-test case.

    Attributes:
        name: shown to the student, e.g. ``"x of shape (2, 3, 4)"``.
        calls: the calls to make, in order.
        expect: output path -> expected value. A path is ``"<call>[.<index or key>...]"``:
            ``"0"`` is what call 0 returned, ``"1.0"`` element 0 of call 1's result,
            ``"2.W1"`` key ``W1`` of a returned dict.
        hint: the likely cause when the case fails.
        atol, rtol: tolerances for ``expect``.
        unmodified: array arguments must be unchanged after the calls.
        check: an extra check on the outputs (path -> value) raising AssertionError.
        fetch: output paths ``check`` needs beyond those in ``expect``.
        use_reference: name -> notebook key; during this case the student's
            namespace uses the reference version of that name (so an earlier
            mistake is not charged twice).
        no_warnings: fail when the student's code raised a warning (e.g. overflow).
        source_of: a name whose code is fetched as output ``"source"``:
            ``{"text": source or "", "params": [[name, kind], ...],
            "code": [[opname, offset, jump target or None, line], ...]}`` with one
            instruction list per code object (the function and the functions or
            comprehensions inside it), for checks such as "no Python loops".
        followup: when the case itself passes, called with its outputs to make
            further cases (e.g. calls whose arity was just learned); the case
            passes only if they all pass too. Runs in the trusted process.
        dependency, isolated: when the case fails, ``dependency`` (a case of the
            question this one builds on, e.g. the forward pass that makes a
            backward pass's cache) is run; if it fails too, the verdict is that of
            ``isolated`` instead (the same check with the reference dependency), so
            one mistake costs points once.
    """

    name: str
    calls: list[Call]
    expect: dict[str, Any] = field(default_factory=dict)
    hint: str = ""
    atol: float = 1e-7
    rtol: float = 1e-6
    unmodified: bool = True
    check: Callable[[Mapping[str, Any]], None] | None = None
    fetch: tuple[str, ...] = ()
    use_reference: Mapping[str, str] = field(default_factory=dict)
    no_warnings: bool = False
    source_of: str | None = None
    followup: Callable[[Mapping[str, Any]], list["Case"]] | None = None
    dependency: "Case | None" = None
    isolated: "Case | None" = None

    @property
    def output_paths(self) -> list[str]:
        return [p for p in dict.fromkeys([*self.expect, *self.fetch]) if p != "source"]


@dataclass
class Execution:
    """What :func:`execute_calls` observed."""

    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    modified: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)


def _index(value: Any, path: Sequence[int | str]) -> Any:
    for step in path:
        if isinstance(value, Mapping):
            value = value[step]
        elif isinstance(step, int) or (isinstance(step, str) and step.isdigit()):
            value = value[int(step)]
        else:
            value = getattr(value, step)
    return value


def resolve_path(results: Sequence[Any], path: str) -> Any:
    """Look up an output path such as ``"1.0"`` in the list of call results."""
    head, *rest = path.split(".")
    return _index(results[int(head)], rest)


def _resolve_args(values: Any, results: Sequence[Any]) -> Any:
    if isinstance(values, Ref):
        return _index(results[values.call], values.path)
    if isinstance(values, tuple):
        return tuple(_resolve_args(v, results) for v in values)
    if isinstance(values, list):
        return [_resolve_args(v, results) for v in values]
    if isinstance(values, dict):
        return {k: _resolve_args(v, results) for k, v in values.items()}
    if isinstance(values, np.ndarray):
        return values.copy()
    return values


def code_listing(fn: Any) -> dict[str, Any]:
    """Source text and bytecode instructions of a function, as plain data (see Case.source_of)."""
    import dis
    import types

    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        text = ""
    try:
        params = [[p.name, p.kind.name] for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        params = []
    code_objects, listing = [getattr(fn, "__code__", None)], []
    while code_objects:
        code = code_objects.pop()
        if not isinstance(code, types.CodeType):
            continue
        line = code.co_firstlineno
        instructions = []
        for ins in dis.get_instructions(code):
            line = getattr(ins, "line_number", None) or ins.starts_line or line
            target = ins.argval if ins.opcode in _JUMPS and isinstance(ins.argval, int) else None
            instructions.append([ins.opname, ins.offset, target, line - code.co_firstlineno + 1])
        listing.append(instructions)
        code_objects.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return {"text": text, "params": params, "code": listing}


def _jump_opcodes() -> frozenset[int]:
    import dis

    return frozenset(dis.hasjrel) | frozenset(dis.hasjabs) | frozenset(getattr(dis, "hasjump", ()))


_JUMPS = _jump_opcodes()


def _argument_names(fn: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        return dict(bound.arguments)
    except (TypeError, ValueError):
        return {**{f"arg{i + 1}": a for i, a in enumerate(args)}, **kwargs}


def execute_calls(case: Case, namespace: MutableMapping[str, Any],
                  reference: Callable[[str], Any] | None = None) -> Execution:
    """Run ``case.calls`` against ``namespace``; never raises for student errors.

    Args:
        case: the case to run.
        namespace: the student's globals.
        reference: notebook key -> reference module, for ``case.use_reference``.
    """
    run = Execution()
    saved = {name: namespace.get(name) for name in case.use_reference}
    results: list[Any] = []
    try:
        for name, key in case.use_reference.items():
            if reference is None:
                raise RuntimeError("case.use_reference needs a reference loader")
            namespace[name] = getattr(reference(key), name)
        for number, step in enumerate(case.calls):
            label = step.target if isinstance(step.target, str) else f"result of call {step.target.call}"
            if isinstance(step.target, str):
                if step.target not in namespace:
                    run.error = (f"`{step.target}` is not defined. Run the cell that defines it "
                                 f"(and keep its name as given).")
                    return run
                fn = namespace[step.target]
            else:
                fn = _resolve_args(step.target, results)
            if step.method is not None:
                fn = getattr(fn, step.method)
                label = f"{label}.{step.method}"
            args = _resolve_args(step.args, results)
            kwargs = _resolve_args(step.kwargs, results)
            originals = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray)}
            if number == 0:
                run.inputs = _argument_names(fn, args, kwargs)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with np.errstate(all="warn", under="ignore"):
                    results.append(fn(*args, **kwargs))
            run.warnings.extend(sorted({str(w.message) for w in caught}))
            if case.unmodified:
                for i, original in originals.items():
                    arg = args[i]
                    if arg.shape != original.shape or not np.array_equal(arg, original, equal_nan=True):
                        run.modified.append(f"argument #{i + 1} of {label}")
        for path in case.output_paths:
            run.outputs[path] = resolve_path(results, path)
        if case.source_of is not None:
            run.outputs["source"] = code_listing(namespace.get(case.source_of))
    except NotImplementedError:
        run.error = "not implemented yet (the function raises NotImplementedError)"
    except Exception as error:  # student code may raise anything
        run.error = f"raised {type(error).__name__}: {error}"
    finally:
        for name, value in saved.items():
            if value is None:
                namespace.pop(name, None)
            else:
                namespace[name] = value
    return run


def evaluate(case: Case, run: Execution) -> str | None:
    """Compare an execution with the case; return a failure message or None."""
    header = f"case {case.name!r}"
    if run.error is not None:
        return f"{header}: {run.error}" + (f"\n  hint: {case.hint}" if case.hint else "")
    if run.modified:
        return (f"{header}: your code modified {', '.join(run.modified)} in place.\n"
                f"  hint: build new arrays instead of writing into the caller's (e.g. x.copy()).")
    if case.no_warnings and run.warnings:
        return (f"{header}: your code raised a warning: {run.warnings[0]}\n"
                + (f"  hint: {case.hint}" if case.hint else "  hint: avoid overflow (e.g. exponentiate only values <= 0)"))
    try:
        for path, expected in case.expect.items():
            expect_close(f"{header}, output {path}", run.outputs.get(path), expected, inputs=run.inputs,
                         atol=case.atol, rtol=case.rtol, hint=case.hint)
        if case.check is not None:
            case.check(run.outputs)
    except CheckFailed as failure:
        return str(failure).rstrip()
    except AssertionError as failure:
        return f"{header}: {failure}" + (f"\n  hint: {case.hint}" if case.hint else "")
    except Exception as error:  # an answer object whose comparison or conversion raises (stock nbgrader)
        return (f"{header}: what your code returned could not be checked ({type(error).__name__}: "
                f"{str(error)[:200]}); return plain numbers and numpy arrays")
    return None


Executor = Callable[[list[Case]], list[Execution]]

#: Follow-up rounds allowed after the first (each round is one trip to the kernel).
MAX_FOLLOWUP_ROUNDS = 2


def run_cases(cases: list[Case], execute: Executor) -> list[str | None]:
    """Execute and evaluate ``cases`` (with their follow-ups); one message or None per case.

    ``execute`` runs a batch of cases wherever the student's code lives (the
    grading kernel, or this process) and returns one :class:`Execution` each.
    """
    runs = execute(cases)
    messages: list[str | None] = [evaluate(c, r) for c, r in zip(cases, runs)]
    _isolate_dependencies(cases, messages, execute)
    frontier = [(i, c, r) for i, (c, r) in enumerate(zip(cases, runs))]
    for _ in range(MAX_FOLLOWUP_ROUNDS):
        batch: list[tuple[int, Case]] = []
        for index, case, run in frontier:
            if messages[index] is None and case.followup is not None:
                try:
                    batch.extend((index, extra) for extra in case.followup(run.outputs))
                except AssertionError as failure:
                    messages[index] = f"case {case.name!r}: {failure}"
        if not batch:
            break
        results = execute([extra for _, extra in batch])
        frontier = []
        for (index, extra), run in zip(batch, results):
            message = evaluate(extra, run)
            if message is not None and messages[index] is None:
                messages[index] = message
            frontier.append((index, extra, run))
    return messages


def _isolate_dependencies(cases: list[Case], messages: list[str | None], execute: Executor) -> None:
    """Re-judge failed cases whose dependency fails as well by their ``isolated`` version."""
    failed = [i for i, c in enumerate(cases)
              if messages[i] is not None and c.dependency is not None and c.isolated is not None]
    if not failed:
        return
    dependencies = [cases[i].dependency for i in failed]
    broken = [i for i, d, r in zip(failed, dependencies, execute(dependencies)) if evaluate(d, r) is not None]
    isolated = [cases[i].isolated for i in broken]
    if broken:
        for i, case, run in zip(broken, isolated, execute(isolated)):
            messages[i] = evaluate(case, run)


def in_process(namespace: MutableMapping[str, Any], reference: Callable[[str], Any] | None = None) -> Executor:
    """An executor that runs cases in this process (stock nbgrader, fast audits)."""
    return lambda cases: [execute_calls(case, namespace, reference) for case in cases]


def iterate(cases: Iterator[Case] | Sequence[Case]) -> list[Case]:
    """Materialise a question's cases, checking each is a :class:`Case`."""
    out = list(cases)
    for c in out:
        if not isinstance(c, Case):
            raise TypeError(f"a question yielded {type(c).__name__}, expected Case")
    return out
