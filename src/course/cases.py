"""Hidden-test cases as plain data, and the two halves that run them.

A :class:`Case` is a short program of calls into the student's namespace
(``fc_forward(x, w, b)``, then ``fc_backward(g, <cache from call 0>)``) plus
what the results must equal. Running it has two halves with one job each:

* :func:`execute_calls` runs the calls in the student's namespace and returns the
  requested outputs (and any exception, as text);
* :func:`evaluate` compares those outputs with the expected values.

The calls run through one executor, :func:`course.kernel_runner.run_case`: in
the sandboxed kernel under ``course autograde`` (the grader hands it one case at
a time, :mod:`course.probe`), and in this process under stock nbgrader and the
fast mutant audit (:func:`execute_calls`). Both report the same plain data, and
:func:`evaluate` alone decides, from what came back (outputs, the array
arguments after each call, the time measured around the case) and from the
submitted source read with ``ast`` (:mod:`course.source_checks`).
"""

from __future__ import annotations

import time
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
        source_of: a name whose facts, read by the grader from the submitted source
            with ``ast`` (:meth:`course.source_checks.SourceIndex.describe`: params,
            loops, names used, ...), are given to ``check`` as output ``"source"``.
        time_limit: the case (its calls in the student's code) must finish within
            this limit, measured by the grader (see :class:`TimeLimit`).
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
    time_limit: "TimeLimit | None" = None
    dependency: "Case | None" = None
    isolated: "Case | None" = None

    @property
    def output_paths(self) -> list[str]:
        return [p for p in dict.fromkeys([*self.expect, *self.fetch]) if p != "source"]


@dataclass
class TimeLimit:
    """A time limit scaled by the reference's own time, measured in the grader in the same run.

    The limit is ``max(floor, factor * t_ref)`` where ``t_ref`` is the best of
    ``repeat`` CPU-time measurements of ``reference()`` (the reference doing the same
    work) in the grader, taken right after the case. The student's side is the CPU time
    of the kernel's processes during the case (:class:`course.calibration.CpuClock`),
    so neither other processes competing for the cores nor a grader slow to answer the
    kernel's reference stand-ins changes either side.
    """

    reference: Callable[[], Any]
    factor: float = 50.0
    floor: float = 1.0
    repeat: int = 3
    what: str = "the backward pass"

    def reference_seconds(self) -> float:
        best = float("inf")
        for _ in range(self.repeat):
            started = time.process_time()
            self.reference()
            best = min(best, time.process_time() - started)
        return best

    def message(self, seconds: float) -> str | None:
        """Why ``seconds`` is too slow (None when within the limit)."""
        if seconds <= self.floor:
            return None
        reference = self.reference_seconds()
        limit = max(self.floor, self.factor * reference)
        if seconds <= limit:
            return None
        return (f"took {seconds:.2f} s; the reference takes {reference * 1000:.1f} ms on the same machine "
                f"(limit {limit:.2f} s). {self.what[:1].upper() + self.what[1:]} must be computed analytically, "
                f"not with finite differences.")


@dataclass
class Execution:
    """What came back from running a case (see :func:`course.kernel_runner.run_case`).

    ``arguments``: (call, position, array after the call, array before it or None
    when the grader sent it) for every positional array argument; ``seconds``: the
    case's time in student code, measured by the grader; ``inputs``: the first
    call's arguments by parameter name (for messages), filled in by the grader.
    """

    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    arguments: list[tuple[int, int, Any, Any]] = field(default_factory=list)
    seconds: float | None = None


def _call_label(step: Call) -> str:
    label = step.target if isinstance(step.target, str) else f"result of call {step.target.call}"
    return f"{label}.{step.method}" if step.method is not None else label


def modified_arguments(case: Case, run: Execution) -> list[str] | None:
    """Array arguments changed by the calls (compared here with what was sent); None when the
    kernel did not report an array argument the grader sent (no evidence)."""
    if not case.unmodified:
        return []
    reported = {(number, position) for number, position, _, _ in run.arguments}
    for number, step in enumerate(case.calls):
        for position, arg in enumerate(step.args):
            if isinstance(arg, np.ndarray) and (number, position) not in reported:
                return None
    changed = []
    for number, position, after, before in run.arguments:
        if not 0 <= number < len(case.calls):
            return None
        sent = case.calls[number].args[position] if position < len(case.calls[number].args) else None
        original = sent if isinstance(sent, np.ndarray) else before
        if original is None:
            continue
        after = np.asarray(after)
        if after.shape != original.shape or not np.array_equal(after, original, equal_nan=True):
            changed.append(f"argument #{position + 1} of {_call_label(case.calls[number])}")
    return changed


def argument_names(case: Case, params: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    """The first call's arguments by parameter name (``params`` from the submitted source), for messages."""
    if not case.calls:
        return {}
    step = case.calls[0]
    positional = [name for name, kind in (params or []) if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    if params and len(step.args) <= len(positional):
        named = dict(zip(positional, step.args))
    else:
        named = {f"arg{i + 1}": a for i, a in enumerate(step.args)}
    named.update(step.kwargs)
    return {k: v for k, v in named.items() if not isinstance(v, Ref)}


def execute_calls(case: Case, namespace: MutableMapping[str, Any],
                  reference: Callable[[str], Any] | None = None, sources: Any = None) -> Execution:
    """Run ``case`` in this process with the same executor the kernel uses; never raises for student errors.

    Args:
        case: the case to run.
        namespace: the student's globals.
        reference: notebook key -> reference module, for ``case.use_reference``.
        sources: a :class:`course.source_checks.SourceIndex` (default: built from ``namespace``).
    """
    from course import kernel_runner
    from course.probe import case_spec, decode_answer
    from course.source_checks import SourceIndex

    if case.use_reference and reference is None:
        return Execution(error="case.use_reference needs a reference loader")
    encoder = kernel_runner.Encoder("i")
    spec = case_spec(case, encoder, {}, reference)  # type: ignore[arg-type]
    # the same round trip through the wire format as in the kernel, so both paths see the same values
    spec, inputs = kernel_runner.unpack(kernel_runner.pack({"case": spec}, encoder.arrays))
    stand_ins = {name: getattr(reference(key), name) for name, key in case.use_reference.items()}  # type: ignore[misc]
    started = time.process_time()  # computing time, as the grader measures a kernel's (CpuClock)
    answer, arrays = kernel_runner.run_case(spec["case"], inputs, namespace, stand_ins)
    seconds = time.process_time() - started
    header, arrays = kernel_runner.unpack(kernel_runner.pack({"answer": answer}, arrays))
    run = decode_answer(case, header["answer"], arrays)
    run.seconds = seconds
    return complete(case, run, sources if sources is not None else SourceIndex.from_namespace(namespace))


def complete(case: Case, run: Execution, sources: Any) -> Execution:
    """Add what the grader knows itself: the source facts and the inputs by name."""
    target = case.calls[0].target if case.calls else None
    facts = sources.describe(target) if isinstance(target, str) else None
    run.inputs = argument_names(case, facts.get("params") if facts and facts.get("defined") else None)
    if case.source_of is not None:
        run.outputs["source"] = sources.describe(case.source_of)
    return run


def evaluate(case: Case, run: Execution) -> str | None:
    """Compare an execution with the case; return a failure message or None."""
    header = f"case {case.name!r}"
    if run.error is not None:
        return f"{header}: {run.error}" + (f"\n  hint: {case.hint}" if case.hint else "")
    modified = modified_arguments(case, run)
    if modified is None:
        return f"{header}: no result came back from the notebook (the probe was tampered with)"
    if modified:
        return (f"{header}: your code modified {', '.join(modified)} in place.\n"
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
    if case.time_limit is not None:
        slow = case.time_limit.message(run.seconds if run.seconds is not None else float("inf"))
        if slow is not None:
            return f"{header}: {slow}"
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


def in_process(namespace: MutableMapping[str, Any], reference: Callable[[str], Any] | None = None,
               sources: Any = None) -> Executor:
    """An executor that runs cases in this process (stock nbgrader, fast audits)."""
    from course.source_checks import SourceIndex

    index = sources if sources is not None else SourceIndex.from_namespace(namespace)
    return lambda cases: [execute_calls(case, namespace, reference, index) for case in cases]


def iterate(cases: Iterator[Case] | Sequence[Case]) -> list[Case]:
    """Materialise a question's cases, checking each is a :class:`Case`."""
    out = list(cases)
    for c in out:
        if not isinstance(c, Case):
            raise TypeError(f"a question yielded {type(c).__name__}, expected Case")
    return out
