"""Run hidden-test calls inside the student's kernel; compare outside it.

The trusted grader builds the cases (inputs and expected values) and sends only
the *calls* to the kernel: a JSON request plus an ``.npz`` of input arrays. The
kernel-side code (:data:`KERNEL_SOURCE`) runs them in the student's namespace and
writes back an ``.npz`` of outputs converted to plain float arrays, and a JSON of
errors. The grader reads both with ``allow_pickle=False`` and compares with
:func:`course.cases.evaluate`. Expected values never enter the kernel, and
nothing the kernel returns is code or a pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from course.cases import Case, Execution, Ref

REQUEST_JSON = "probe_request.json"
REQUEST_NPZ = "probe_inputs.npz"
RESPONSE_JSON = "probe_response.json"
RESPONSE_NPZ = "probe_outputs.npz"
PROGRESS = "probe_progress.txt"


def read_progress(folder: Path) -> tuple[int, int] | None:
    """(case index in the request's flat order, call index) the kernel last started, if it said."""
    try:
        case, call = (folder / PROGRESS).read_text().split()
        return int(case), int(call)
    except (OSError, ValueError):
        return None


def clear(folder: Path) -> None:
    """Remove the request, the response and the progress file."""
    for name in (REQUEST_JSON, REQUEST_NPZ, RESPONSE_JSON, RESPONSE_NPZ, PROGRESS):
        (folder / name).unlink(missing_ok=True)


class _Encoder:
    """Turns call arguments into JSON with arrays stored by key in an npz."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return {"ref": [value.call, list(value.path)]}
        if isinstance(value, np.ndarray):
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {"array": key}
        if isinstance(value, (np.integer, np.floating, np.bool_)):
            return value.item()
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {"dict": {str(k): self.encode(v) for k, v in value.items()}}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"cannot send {type(value).__name__} to the kernel; use arrays and numbers")


def write_request(folder: Path, cases: list[list[Case]], reference_sources: dict[str, str],
                  case_timeout: float = 20.0) -> None:
    """Write the calls of ``cases`` (grouped per graded cell) into ``folder``.

    Args:
        folder: the kernel's working directory.
        cases: one list of cases per group (a group is one graded cell).
        reference_sources: notebook key -> definitions source, for ``use_reference``.
        case_timeout: seconds each case may run in the kernel before it is stopped.
    """
    encoder = _Encoder()
    groups = []
    for group in cases:
        encoded = []
        for case in group:
            encoded.append({
                "calls": [{"target": encoder.encode(c.target) if isinstance(c.target, Ref) else c.target,
                           "method": c.method, "args": encoder.encode(c.args), "kwargs": encoder.encode(c.kwargs)}
                          for c in case.calls],
                "outputs": case.output_paths,
                "unmodified": case.unmodified,
                "use_reference": dict(case.use_reference),
                "source_of": case.source_of,
            })
        groups.append(encoded)
    (folder / REQUEST_JSON).write_text(json.dumps({"groups": groups, "references": reference_sources,
                                                   "case_timeout": case_timeout}))
    np.savez(folder / REQUEST_NPZ, **encoder.arrays)


def read_response(folder: Path, cases: list[list[Case]]) -> list[list[Execution]]:
    """Read the kernel's answers; a missing or malformed response means no evidence.

    Returns one :class:`Execution` per case; cases without an answer get an error,
    so they score 0 (credit only on positive evidence).
    """
    missing = "no result came back from the notebook (the kernel stopped or the probe was tampered with)"
    try:
        meta = json.loads((folder / RESPONSE_JSON).read_text())
        with np.load(folder / RESPONSE_NPZ, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        groups = meta["groups"]
        if len(groups) != len(cases):
            raise ValueError("wrong number of groups")
    except Exception:  # anything unreadable is no evidence
        return [[Execution(error=missing) for _ in group] for group in cases]
    result = []
    for g, group in enumerate(cases):
        answers = groups[g] if isinstance(groups[g], list) else []
        runs = []
        for c, case in enumerate(group):
            answer = answers[c] if c < len(answers) and isinstance(answers[c], dict) else None
            if answer is None:
                runs.append(Execution(error=missing))
                continue
            run = Execution(error=answer.get("error") if isinstance(answer.get("error"), str) else None,
                            modified=[str(m) for m in answer.get("modified", [])][:10],
                            warnings=[str(w) for w in answer.get("warnings", [])][:10])
            outputs = answer.get("outputs", {})
            paths = case.output_paths + (["source"] if case.source_of is not None else [])
            for path in paths:
                entry = outputs.get(path) if isinstance(outputs, dict) else None
                if isinstance(entry, dict) and "error" in entry:
                    run.outputs[path] = None
                    run.error = run.error or f"output {path}: {str(entry['error'])[:200]}"
                else:
                    run.outputs[path] = _decode_output(entry, arrays, 0)
            runs.append(run)
        result.append(runs)
    return result


def _decode_output(entry: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    """Rebuild plain data from the kernel's JSON; anything unexpected becomes None."""
    if depth > 6:
        return None
    if entry is None or isinstance(entry, (str, bool, int, float)):
        return entry
    if isinstance(entry, dict):
        if isinstance(entry.get("array"), str):
            value = arrays.get(entry["array"])
            return value[()] if value is not None and value.ndim == 0 else value
        if isinstance(entry.get("dict"), dict):
            return {str(k): _decode_output(v, arrays, depth + 1) for k, v in entry["dict"].items()}
        if isinstance(entry.get("list"), list):
            return [_decode_output(v, arrays, depth + 1) for v in entry["list"]]
        if isinstance(entry.get("record"), dict):  # a dataclass instance, as attributes
            return SimpleNamespace(**{str(k): _decode_output(v, arrays, depth + 1) for k, v in entry["record"].items()
                                      if str(k).isidentifier()})
    return None


#: Executed in the student's kernel as one cell after the notebook has run. It
#: only moves data: it never sees expected values and decides nothing.
KERNEL_SOURCE = r'''
def __course_probe():
    import dataclasses, json, signal, sys, types, warnings
    import numpy as np
    # Taken before any student code runs in this cell, so patching them later changes nothing here.
    _open, _savez, _dump, _array = open, np.savez, json.dump, np.array
    _guard = sys.modules.get("__course_guard")
    _reset = _guard.reset if _guard is not None else (lambda: None)

    class CaseTimeout(BaseException):
        pass

    def on_alarm(signum, frame):
        raise CaseTimeout()

    request = json.load(open("probe_request.json"))
    with np.load("probe_inputs.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    namespace = globals()
    references = {}

    def reference(key):
        if key not in references:
            module = types.ModuleType("reference_" + key)
            exec(request["references"][key], module.__dict__)
            references[key] = module
        return references[key]

    def index(value, path):
        for step in path:
            if isinstance(value, dict):
                value = value[step]
            elif isinstance(step, int) or str(step).isdigit():
                value = value[int(step)]
            else:
                value = getattr(value, step)
        return value

    def decode(value, results):
        if isinstance(value, dict):
            if "array" in value:
                return arrays[value["array"]].copy()
            if "ref" in value:
                return index(results[value["ref"][0]], value["ref"][1])
            if "tuple" in value:
                return tuple(decode(v, results) for v in value["tuple"])
            if "dict" in value:
                return {k: decode(v, results) for k, v in value["dict"].items()}
        if isinstance(value, list):
            return [decode(v, results) for v in value]
        return value

    out_arrays = {}
    groups = []

    def listing(fn):
        import dis, inspect
        try:
            text = inspect.getsource(fn)[:100000]
        except Exception:
            text = ""
        try:
            params = [[p.name, p.kind.name] for p in inspect.signature(fn).parameters.values()]
        except Exception:
            params = []
        jumps = set(dis.hasjrel) | set(dis.hasjabs) | set(getattr(dis, "hasjump", ()))
        pending, code = [getattr(fn, "__code__", None)], []
        while pending:
            c = pending.pop()
            if not isinstance(c, types.CodeType):
                continue
            line, rows = c.co_firstlineno, []
            for ins in dis.get_instructions(c):
                line = getattr(ins, "line_number", None) or ins.starts_line or line
                target = ins.argval if ins.opcode in jumps and isinstance(ins.argval, int) else None
                rows.append([ins.opname, ins.offset, target, line - c.co_firstlineno + 1])
            code.append(rows)
            pending.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        return {"text": text, "params": params, "code": code}

    def plain(value, depth):
        """Numbers, strings and nested containers of them; arrays go to the npz."""
        if depth > 5:
            raise ValueError("output nested too deeply")
        if value is None or isinstance(value, str):
            return value if value is None or len(value) < 10000 else value[:10000]
        if type(value) in (bool, int, float):
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {"record": {f.name: plain(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}}
        if isinstance(value, dict):
            return {"dict": {str(k): plain(v, depth + 1) for k, v in list(value.items())[:1000]}}
        if isinstance(value, (list, tuple)) and not all(isinstance(v, (int, float, bool)) for v in value):
            return {"list": [plain(v, depth + 1) for v in value[:1000]]}
        array = _array(value)
        if array.dtype.kind not in "biuf":
            array = _array(value, dtype=np.float64)
        key = "o%d" % len(out_arrays)
        out_arrays[key] = array
        return {"array": key}

    started = 0
    hung, current = set(), [None]
    for group in request["groups"]:
        answers = []
        for case in group:
            started += 1
            answer = {"outputs": {}, "modified": [], "warnings": []}
            saved = {name: namespace.get(name) for name in case["use_reference"]}
            results = []
            # CPU time of the kernel (ITIMER_PROF), not wall time: a busy machine changes nothing
            previous_handler = signal.signal(signal.SIGPROF, on_alarm)
            signal.setitimer(signal.ITIMER_PROF, float(request.get("case_timeout", 20)))
            try:
                for name, key in case["use_reference"].items():
                    namespace[name] = getattr(reference(key), name)
                for number, call in enumerate(case["calls"]):
                    with _open("probe_progress.txt", "w") as progress:
                        progress.write("%d %d" % (started - 1, number))
                    target = call["target"]
                    if isinstance(target, str) and target in hung:
                        raise LookupError("not run: `%s` ran past the time limit in an earlier case" % target)
                    current[0] = target
                    if isinstance(target, str) and target not in namespace:
                        raise LookupError("`%s` is not defined. Run the cell that defines it (and keep its name)." % target)
                    fn = namespace[target] if isinstance(target, str) else decode(target, results)
                    if call["method"]:
                        fn = getattr(fn, call["method"])
                    args = decode(call["args"], results)
                    kwargs = decode(call["kwargs"], results)
                    originals = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray)}
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        results.append(fn(*args, **kwargs))
                    answer["warnings"].extend(sorted({str(w.message) for w in caught}))
                    if case["unmodified"]:
                        for i, original in originals.items():
                            if args[i].shape != original.shape or not np.array_equal(args[i], original, equal_nan=True):
                                answer["modified"].append("argument #%d of call %d" % (i + 1, number))
                for path in case["outputs"]:
                    head, *rest = path.split(".")
                    try:
                        answer["outputs"][path] = plain(index(results[int(head)], rest), 0)
                    except Exception as error:
                        answer["outputs"][path] = {"error": "%s: %s" % (type(error).__name__, error)}
                if case.get("source_of"):
                    answer["outputs"]["source"] = plain(listing(namespace.get(case["source_of"])), 0)
            except CaseTimeout:
                if isinstance(current[0], str):
                    hung.add(current[0])
                answer["error"] = "stopped after %g s of computing time (an endless loop?)" % float(request.get("case_timeout", 20))
            except NotImplementedError:
                answer["error"] = "not implemented yet (the function raises NotImplementedError)"
            except LookupError as error:
                answer["error"] = str(error) if type(error) is LookupError else "raised %s: %s" % (type(error).__name__, error)
            except BaseException as error:  # also SystemExit and KeyboardInterrupt raised by an answer
                answer["error"] = "raised %s: %s" % (type(error).__name__, error)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.signal(signal.SIGPROF, previous_handler)
                try:
                    _reset()  # undo what the student's code patched (np.allclose, builtins, hooks ...)
                except Exception:
                    pass
                for name, value in saved.items():
                    if value is None:
                        namespace.pop(name, None)
                    else:
                        namespace[name] = value
            answers.append(answer)
        groups.append(answers)
    _savez("probe_outputs.npz", **out_arrays)
    with _open("probe_response.json", "w") as handle:
        _dump({"groups": groups}, handle)

__course_probe()
del __course_probe
'''
