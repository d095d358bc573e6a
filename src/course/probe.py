"""The grader's end of the probe: hand the kernel one case at a time, serve reference calls.

After the notebook has run, the grader runs one hidden cell in the kernel,
:func:`course.kernel_runner.probe_source`, which connects to a Unix socket in
the kernel's folder served by :class:`ProbeServer` in this (trusted) process:

* ``next``: the server sends the next case's *calls* (targets, input arrays,
  output paths), nothing else: no expected value, no check, no reference code.
  Inputs of later cases are not sent before their turn.
* ``call``: a stand-in for a ``use_reference`` name asks for a reference result.
  The server answers only for names the case in progress declares (and methods
  of reference objects the grader handed out during that case); the reference
  code runs here, and only its results (arrays, numbers, object state) go back.
* ``answer``: the outputs of the case in progress, the array arguments as they
  were after each call, and the warnings seen. The server records the case's
  time, measured here: for a timed case the CPU time the kernel's processes
  computed (waiting for a core or for a reference call's answer is not
  computing), otherwise own time minus the time spent in reference calls.

Everything read from the kernel is JSON plus raw numeric arrays
(:func:`course.kernel_runner.recv_message`: no pickles, no objects); a missing or
malformed answer scores 0.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from course.calibration import ClockReading, CpuClock, KernelClock, run_delay

from course import kernel_runner as wire
from course.cases import Case, Execution, Ref

SOCKET_NAME = "probe.sock"

MISSING = "no result came back from the notebook (the kernel stopped or the probe was tampered with)"


def case_spec(case: Case, encoder: wire.Encoder, classes: dict[str, dict[str, Any]],
              reference: Callable[[str], types.ModuleType]) -> dict[str, Any]:
    """What the kernel learns about a case: its calls, output paths and stand-in kinds."""

    def argument(value: Any) -> Any:
        if isinstance(value, Ref):
            return {"ref": [value.call, list(value.path)]}
        if isinstance(value, np.ndarray):
            return {"array": encoder.array(value)}
        if isinstance(value, np.generic):
            return {"scalar": encoder.array(np.asarray(value))}
        if isinstance(value, np.dtype):
            return {"dtype": str(value)}
        if isinstance(value, tuple):
            return {"tuple": [argument(v) for v in value]}
        if isinstance(value, list):
            return {"list": [argument(v) for v in value]}
        if isinstance(value, dict):
            return {"dict": [[argument(k), argument(v)] for k, v in value.items()]}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"cannot send {type(value).__name__} to the kernel; use arrays and numbers")

    stand_ins = {}
    for name, key in case.use_reference.items():
        value = getattr(reference(key), name)
        if isinstance(value, type):
            qualified = f"{key}:{value.__qualname__}"
            classes[qualified] = class_spec(value)
            stand_ins[name] = {"kind": "class", "qualified": qualified, **classes[qualified]}
        else:
            stand_ins[name] = {"kind": "function"}
    return {"calls": [{"target": argument(c.target) if isinstance(c.target, Ref) else c.target,
                       "method": c.method, "args": [argument(a) for a in c.args],
                       "kwargs": [[k, argument(v)] for k, v in c.kwargs.items()]} for c in case.calls],
            "outputs": case.output_paths, "unmodified": case.unmodified, "use_reference": stand_ins}


def class_spec(cls: type) -> dict[str, Any]:
    """A reference class as the kernel sees it: public bases and method names, no code."""
    public = [c for c in cls.__mro__[1:] if _is_public(c)]
    methods = set()
    for klass in cls.__mro__:
        if klass is object or _is_public(klass):
            continue
        methods |= {k for k, v in vars(klass).items()
                    if callable(v) and (not k.startswith("__") or k == "__call__")}
    return {"bases": [f"{c.__module__}:{c.__qualname__}" for c in public[:1]], "methods": sorted(methods)}


def _is_public(cls: type) -> bool:
    module = getattr(cls, "__module__", "") or ""
    return module == "hwlib" or module.startswith("hwlib.")


def reference_classifier(value: Any) -> tuple[str, str] | None:
    """Grader side: reference instances go to the kernel as state, helper-package objects by class name."""
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    if module.startswith("reference_"):
        return ("object", f"{module[len('reference_'):]}:{cls.__qualname__}")
    if _is_public(cls) and hasattr(value, "__dict__"):
        return ("public", f"{module}:{cls.__qualname__}")
    return None


def _record(fields: dict) -> SimpleNamespace:
    return SimpleNamespace(**{str(k): v for k, v in fields.items() if str(k).isidentifier()})


def decode_answer(case: Case, answer: Any, arrays: dict[str, np.ndarray]) -> Execution:
    """An :class:`Execution` from the kernel's answer; anything malformed is no evidence."""
    if not isinstance(answer, dict):
        return Execution(error=MISSING)
    run = Execution(error=answer.get("error") if isinstance(answer.get("error"), str) else None,
                    warnings=[str(w)[:300] for w in answer.get("warnings", [])][:10]
                    if isinstance(answer.get("warnings"), list) else [])
    decoder = wire.Decoder(arrays, records=_record, build=lambda kind, name, state: SimpleNamespace())
    outputs = answer.get("outputs") if isinstance(answer.get("outputs"), dict) else {}
    for path in case.output_paths:
        entry = outputs.get(path)
        if isinstance(entry, dict) and "error" in entry:
            run.outputs[path] = None
            run.error = run.error or f"output {path}: {str(entry['error'])[:200]}"
            continue
        try:
            run.outputs[path] = decoder.decode(entry)
        except Exception:
            run.outputs[path] = None
    try:
        for number, position, after, before in answer.get("arguments", []):
            run.arguments.append((int(number), int(position), arrays[after],
                                  None if before is None else arrays[before]))
    except Exception:
        return Execution(error=MISSING)
    return run


#: The serving thread's own scheduler statistics (see :func:`course.calibration.run_delay`).
_THREAD_SCHEDSTAT = Path("/proc/thread-self/schedstat")


@dataclass
class _Turn:
    """The case in progress."""

    index: int
    started: float
    reference_seconds: float = 0.0
    reading: ClockReading | None = None
    #: CPU snapshot of the kernel's processes, for a timed case (see :class:`course.calibration.CpuClock`)
    cpu: dict[int, float] | None = None
    call: int = 0
    classes: set[str] = field(default_factory=set)


class ProbeServer:
    """Serves one batch of cases to a kernel over ``folder/probe.sock`` (see module docstring).

    Use as a context manager around running :func:`course.kernel_runner.probe_source`;
    then :meth:`executions` has one :class:`Execution` per case.
    """

    def __init__(self, folder: Path, cases: list[Case], reference: Callable[[str], types.ModuleType],
                 clock: KernelClock | None = None, cpu: CpuClock | None = None) -> None:
        #: the kernel's own time (wall minus waiting for a core), for untimed cases
        self.clock = clock or KernelClock(None)
        #: the computing time of the kernel's processes: a timed case's time, which neither a busy
        #: machine nor a slow grader answering reference stand-ins changes
        self.cpu = cpu or CpuClock(None)
        #: wall seconds the kernel waited for this server: reading, handling and answering each
        #: request, plus this server's thread waiting for a core once a request had come
        self.serving_seconds = 0.0
        self.serving_lock = threading.Lock()
        self.folder = folder
        self.cases = cases
        self.reference = reference
        self.path = folder / SOCKET_NAME
        self.answers: dict[int, Execution] = {}
        self.turn: _Turn | None = None
        self.next_index = 0
        self.lock = threading.Lock()
        self.classes: dict[str, dict[str, Any]] = {}
        self.sock: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    # -- lifecycle

    def __enter__(self) -> "ProbeServer":
        self.path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o777)  # the kernel runs as another user
        self.sock.listen(8)
        self._acceptor = threading.Thread(target=self._accept, name="course-probe-accept", daemon=True)
        self._acceptor.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.sock is not None:
            try:  # closing alone does not wake a thread blocked in accept(): it would keep this
                self.sock.shutdown(socket.SHUT_RDWR)  # server (every case and answer) alive
            except OSError:
                pass
            try:
                self.sock.close()
            except OSError:
                pass
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
            self._acceptor = None
        self.path.unlink(missing_ok=True)

    @property
    def current(self) -> int | None:
        """Index of the case in progress (the one a dying kernel was running), if any."""
        turn = self.turn
        return turn.index if turn is not None and turn.index not in self.answers else None

    @property
    def call_in_progress(self) -> int:
        """Index of the call the kernel last said it started in the case in progress."""
        return self.turn.call if self.turn is not None else 0

    def executions(self, missing: Callable[[int], str] = lambda i: MISSING) -> list[Execution]:
        return [self.answers.get(i) or Execution(error=missing(i)) for i in range(len(self.cases))]

    # -- serving

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()  # type: ignore[union-attr]
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            while True:
                try:
                    before = run_delay(_THREAD_SCHEDSTAT)
                    select.select([connection], [], [])  # until the kernel sends (or hangs up)
                    arrived = time.monotonic()
                    woke = max(0.0, run_delay(_THREAD_SCHEDSTAT) - before)  # this thread waiting for a core to read it
                    message = wire.recv_message(connection)
                    if message is None:
                        return
                    header, arrays = message
                    reply, reply_arrays = self._handle(header, arrays)
                    wire.send_message(connection, reply, reply_arrays)
                    with self.serving_lock:
                        self.serving_seconds += woke + (time.monotonic() - arrived)
                except Exception:
                    return  # a malformed message ends this connection; nothing is credited

    def _handle(self, header: dict[str, Any], arrays: dict[str, np.ndarray]
                ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        op = header.get("op")
        if op == "next":
            return self._next()
        if op == "answer":
            return self._answer(header, arrays)
        if op == "call":
            return self._call(header, arrays)
        if op == "progress":
            if self.turn is not None and isinstance(header.get("call"), int):
                self.turn.call = header["call"]
            return {"ok": True}, {}
        return {"error": "unknown request"}, {}

    def _next(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        with self.lock:
            index = self.next_index
            if index >= len(self.cases):
                self.turn = None
                return {"done": True}, {}
            self.next_index += 1
            encoder = wire.Encoder("i")
            spec = case_spec(self.cases[index], encoder, self.classes, self.reference)
            timed = self.cases[index].time_limit is not None
            self.turn = _Turn(index, time.monotonic(), reading=self.clock.read(),
                              cpu=self.cpu.read() if timed else None,
                              classes={v["qualified"] for v in spec["use_reference"].values() if v["kind"] == "class"})
            return {"index": index, "case": spec}, encoder.arrays

    def _answer(self, header: dict[str, Any], arrays: dict[str, np.ndarray]
                ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        now = time.monotonic()
        with self.lock:
            turn = self.turn
            if turn is None or header.get("case") != turn.index or turn.index in self.answers:
                return {"ok": False}, {}
            run = decode_answer(self.cases[turn.index], header.get("answer"), arrays)
            computed = self.cpu.since(turn.cpu) if turn.cpu is not None else None
            if computed is not None:
                run.seconds = computed  # the reference runs in this process: none of it is in there
            else:
                own = self.clock.own_since(turn.reading) if turn.reading is not None else now - turn.started
                run.seconds = max(0.0, own - turn.reference_seconds)
            self.answers[turn.index] = run
            return {"ok": True}, {}

    def _call(self, header: dict[str, Any], arrays: dict[str, np.ndarray]
              ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        turn = self.turn
        name, method = str(header.get("name")), header.get("method")
        if turn is None or turn.index in self.answers:
            return {"error": f"the reference `{name}` is only available during the case that provides it",
                    "type": "RuntimeError"}, {}
        case = self.cases[turn.index]
        started = time.monotonic()
        try:
            target = self._target(case, turn, name, method)
            decoder = wire.Decoder(arrays, build=lambda kind, qualified, state: self._build(turn, kind, qualified))
            owner = decoder.decode(header.get("self"))
            args = decoder.decode(header.get("args"))
            kwargs = decoder.decode(header.get("kwargs"))
            digests = {number: _digest(value) for number, value in decoder.seen.items()
                       if isinstance(value, np.ndarray)}
            if method is None:
                result = target(*args, **kwargs)
            else:
                result = getattr(owner, str(method))(*args, **kwargs)
            known = {id(value): number for number, value in decoder.seen.items()}
            encoder = wire.Encoder("r", known=known, classify=reference_classifier)
            updates = []
            for number, value in decoder.seen.items():
                if isinstance(value, np.ndarray):
                    if _digest(value) != digests[number]:
                        updates.append([number, {"array": encoder.array(value)}])
                else:
                    fresh = wire.Encoder("u", known={}, classify=reference_classifier)
                    fresh.arrays = encoder.arrays
                    fresh.known = {k: v for k, v in known.items() if k != id(value)}
                    updates.append([number, fresh.encode(value)])
            encoded = encoder.encode(result)
            classes = {}
            for value in encoder.keep:
                kind = reference_classifier(value)
                if kind is not None and kind[0] == "object":
                    qualified = kind[1]
                    classes[qualified] = self.classes.setdefault(qualified, class_spec(type(value)))
                    turn.classes.add(qualified)
            return {"result": encoded, "updates": updates, "classes": classes}, encoder.arrays
        except Exception as error:  # the reference raised (bad arguments from the student): raise it there
            return {"error": str(error)[:2000], "type": type(error).__name__}, {}
        finally:
            spent = time.monotonic() - started
            turn.reference_seconds += spent

    def serving_seconds_total(self) -> float:
        """Seconds the kernel spent waiting for this server (see :attr:`serving_seconds`): not the
        student's time, so not counted against the notebook's own-time budget."""
        with self.serving_lock:
            return self.serving_seconds

    def _target(self, case: Case, turn: _Turn, name: str, method: Any) -> Any:
        if ":" in name:  # a reference class: its constructor or one of its methods
            key, _, qualname = name.partition(":")
            if name not in turn.classes:
                raise RuntimeError(f"the reference `{qualname}` is only available during the case that provides it")
            return getattr(self.reference(key), qualname)
        if name not in case.use_reference or method is not None:
            raise RuntimeError(f"the reference `{name}` is only available during the case that provides it")
        return getattr(self.reference(case.use_reference[name]), name)

    def _build(self, turn: _Turn, kind: str, qualified: str) -> Any:
        if kind == "public":
            cls = wire._public_class(qualified)
        elif qualified in turn.classes:
            key, _, qualname = qualified.partition(":")
            cls = getattr(self.reference(key), qualname)
        else:
            cls = None
        if not isinstance(cls, type):
            raise TypeError(f"cannot pass an object of class {qualified.partition(':')[2]} to the reference")
        return object.__new__(cls)


def _digest(array: np.ndarray) -> tuple:
    import hashlib

    data = np.ascontiguousarray(array)
    return (array.shape, str(array.dtype), hashlib.blake2b(data.view(np.uint8).ravel() if data.size else b"",
                                                         digest_size=16).hexdigest())
