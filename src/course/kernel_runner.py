"""The one executor of hidden-case calls, and the wire format between kernel and grader.

This module runs in two places, with the same code:

* in the grader's sandboxed kernel, loaded by :func:`bootstrap_source` as module
  ``__course_runner`` *before any student cell runs* (the package itself may not be
  importable there). Everything it uses (``json``, ``struct``, numpy's buffer
  functions, ``socket``, ``signal``, ``warnings``, ...) is bound when it loads, so a
  student cell that patches ``json.dump``, ``np.savez``, ``ast`` or ``dis`` later
  changes nothing here (it uses no ``dis``, ``inspect`` or ``ast`` at all);
* in-process (stock nbgrader's hidden-test cell, the fast mutant audit), through
  :func:`course.cases.execute_calls`.

It only moves data and runs calls: it never sees an expected value, never holds
reference code, and decides nothing. What it reports (outputs, the array
arguments as they were after each call, warnings) is judged in the grader.

Reference versions of earlier answers (``Case.use_reference``) are *stand-ins*
in the kernel: functions and classes whose calls send their arguments to the
grader over the probe socket and return what the grader's reference computed
(:class:`Channel`). Arguments keep their identity: an array the reference
changes in place is changed in place in the kernel too, and a reference-class
instance keeps its state (its ``__dict__``) in the kernel.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import struct
import warnings
from typing import Any, Callable, Mapping, MutableMapping

import numpy as np

# Bound once, when the module loads (before any student code in a kernel).
_dumps, _loads = json.dumps, json.loads
_frombuffer = np.frombuffer
_ndarray, _generic, _dtype_type = np.ndarray, np.generic, np.dtype
_asarray, _array, _array_equal, _empty = np.asarray, np.array, np.array_equal, np.empty
_memoryview = memoryview
_errstate = np.errstate
_catch_warnings, _simplefilter = warnings.catch_warnings, warnings.simplefilter
_is_dataclass, _fields = dataclasses.is_dataclass, dataclasses.fields
_pack, _unpack = struct.pack, struct.unpack
_socket, _AF_UNIX, _SOCK_STREAM = socket.socket, socket.AF_UNIX, socket.SOCK_STREAM
# The case alarm counts the kernel's CPU time (ITIMER_PROF), not wall time: a busy machine changes nothing.
_signal, _setitimer, _SIG_CASE, _ITIMER_CASE = signal.signal, signal.setitimer, signal.SIGPROF, signal.ITIMER_PROF
_isinstance, _type, _len, _str, _getattr, _vars = isinstance, type, len, str, getattr, vars

#: Largest frame accepted on the probe socket (bytes).
MAX_FRAME = 1 << 31
#: Largest string kept in an output.
MAX_TEXT = 10_000

NOT_IMPLEMENTED = "not implemented yet (the function raises NotImplementedError)"


class CaseTimeout(BaseException):
    """Raised by the per-case alarm in the kernel."""


class CallError(Exception):
    """A call could not be made (an undefined name); its message is shown as it is."""


# ----------------------------------------------------------------------------- wire format


def pack(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """A message: 4-byte length, a JSON header (with a table of the arrays), then their raw bytes.

    Only numeric dtypes travel (no objects, no pickles); nothing here parses with ``ast``.
    """
    table, views, _ = _array_table(arrays)
    body = _dumps({"header": header, "arrays": table}).encode()
    return _pack(">I", _len(body)) + body + b"".join(views)


def _array_table(arrays: Mapping[str, np.ndarray]) -> tuple[list, list[memoryview], int]:
    """The header's table of ``arrays`` (key, dtype, shape, offset, length), a byte view of each
    (C-contiguous, numeric only) and their total length."""
    table, views, offset = [], [], 0
    for key, value in arrays.items():
        array = _asarray(value)
        if not array.flags.c_contiguous:
            array = array.copy(order="C")
        if array.dtype.kind not in "biufc":
            raise TypeError(f"cannot send an array of dtype {array.dtype}")
        view = _memoryview(array.reshape(-1)).cast("B")
        table.append([key, array.dtype.str, list(array.shape), offset, view.nbytes])
        views.append(view)
        offset += view.nbytes
    return table, views, offset


def unpack(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The inverse of :func:`pack` (each array a writable copy)."""
    (size,) = _unpack(">I", message[:4])
    body = _loads(message[4:4 + size].decode())
    data = memoryview(message)[4 + size:]
    arrays = {}
    for key, dtype, shape, offset, length in body["arrays"]:
        kind = _dtype_type(dtype)
        if kind.kind not in "biufc" or offset < 0 or offset + length > _len(data):
            raise ValueError("malformed message")
        arrays[_str(key)] = _frombuffer(data[offset:offset + length], dtype=kind).reshape(shape).copy()
    return body["header"], arrays


def send_frame(sock: socket.socket, message: bytes) -> None:
    """Send one length-prefixed frame."""
    sock.sendall(_pack(">Q", _len(message)) + message)


def recv_frame(sock: socket.socket) -> bytes | None:
    """Receive one frame; None when the other side closed the connection."""
    head = _recv_exactly(sock, 8)
    if head is None:
        return None
    (size,) = _unpack(">Q", head)
    if size > MAX_FRAME:
        raise ValueError("frame too large")
    return _recv_exactly(sock, size)


def send_message(sock: socket.socket, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """``send_frame(sock, pack(header, arrays))`` without copying the arrays: the frame goes out
    piece by piece, each array straight from its own memory. The probe moves whole data sets
    (notebook 4's 2,000 CIFAR-10 images), and a copy of them costs the kernel tens of MB."""
    table, views, offset = _array_table(arrays)
    body = _dumps({"header": header, "arrays": table}).encode()
    sock.sendall(_pack(">Q", 4 + _len(body) + offset) + _pack(">I", _len(body)) + body)
    for view in views:
        if view.nbytes:
            sock.sendall(view)


def recv_message(sock: socket.socket) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """``unpack(recv_frame(sock))`` without a copy of the frame: each array is received straight
    into its own (writable) memory. None when the other side closed the connection; ValueError for
    a malformed message (the arrays must follow each other in the order of their table), after
    reading the rest of its frame."""
    head = _recv_exactly(sock, 8)
    if head is None:
        return None
    (size,) = _unpack(">Q", head)
    if size > MAX_FRAME:
        raise ValueError("frame too large")
    done = [0]  # bytes of the frame read so far
    try:
        return _read_message(sock, size, done)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        _discard(sock, size - done[0])
        raise ValueError("malformed message") from None


def _read_message(sock: socket.socket, size: int, done: list[int]
                  ) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    if size < 4:
        raise ValueError("malformed message")
    raw = _recv_exactly(sock, 4)
    if raw is None:
        return None
    done[0] += 4
    (body_size,) = _unpack(">I", raw)
    if body_size > size - 4:
        raise ValueError("malformed message")
    raw = _recv_exactly(sock, body_size)
    if raw is None:
        return None
    done[0] += body_size
    body = _loads(raw.decode())
    left, position, arrays = size - 4 - body_size, 0, {}
    for key, dtype, shape, offset, length in body["arrays"]:
        kind = _dtype_type(dtype)
        shape = tuple(int(n) for n in shape)
        if kind.kind not in "biufc" or offset != position or any(n < 0 for n in shape):
            raise ValueError("malformed message")
        count = kind.itemsize
        for n in shape:
            count *= n
        if count != length or position + length > left:
            raise ValueError("malformed message")
        array = _empty(shape, dtype=kind)
        if length and not _recv_into(sock, _memoryview(array.reshape(-1)).cast("B")):
            return None
        done[0] += length
        arrays[_str(key)] = array
        position += length
    if position != left:
        raise ValueError("malformed message")
    return body["header"], arrays


def _discard(sock: socket.socket, size: int) -> None:
    """Read and drop ``size`` bytes (the rest of a malformed frame), so the connection closes cleanly."""
    while size > 0:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            return
        size -= _len(chunk)


def _recv_into(sock: socket.socket, view: memoryview) -> bool:
    """Fill ``view`` from the socket; False when the connection closed first."""
    filled, total = 0, view.nbytes
    while filled < total:
        count = sock.recv_into(view[filled:], min(total - filled, 1 << 20))
        if not count:
            return False
        filled += count
    return True


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= _len(chunk)
    return b"".join(parts)


class Encoder:
    """Turns values into JSON with arrays kept aside (by key), preserving identity.

    Args:
        prefix: key prefix of the arrays (``"a"``, ``"o"`` ...).
        known: id(object) -> the receiver's id for objects that came *from* the
            receiver (sent back as ``{"kid": n}``: "your object n").
        classify: object -> (kind, name) for objects that are not plain data
            (``("object", "key:Class")`` for reference instances, ``("public",
            "module:qualname")`` for the helper package's own), or None.
        lenient: turn anything else into a float array (outputs of student code),
            instead of raising TypeError.
    """

    def __init__(self, prefix: str = "a", known: Mapping[int, int] | None = None,
                 classify: Callable[[Any], tuple[str, str] | None] | None = None, lenient: bool = False) -> None:
        self.prefix = prefix
        self.arrays: dict[str, np.ndarray] = {}
        self.known = dict(known or {})
        self.classify = classify
        self.lenient = lenient
        self.ids: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps encoded objects alive, so their ids stay unique

    def array(self, value: np.ndarray) -> str:
        key = f"{self.prefix}{_len(self.arrays)}"
        self.arrays[key] = value
        return key

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > 40:
            raise ValueError("value nested too deeply")
        if value is None or _type(value) in (bool, int, float):
            return value
        if _isinstance(value, _str):
            return _str(value)[:MAX_TEXT] if self.lenient else _str(value)
        if id(value) in self.known:
            return {"kid": self.known[id(value)]}
        if id(value) in self.ids:
            return {"same": self.ids[id(value)]}
        if _isinstance(value, _generic):
            return {"scalar": self.array(_asarray(value))}
        if _isinstance(value, _dtype_type):
            return {"dtype": _str(value)}
        if _isinstance(value, tuple) and not _isinstance(value, _ndarray):
            if self.lenient and all(_isinstance(v, (bool, int, float)) for v in value):
                return {"array": self.array(self._plain_array(value))}
            return {"tuple": [self.encode(v, depth + 1) for v in value]}
        number = _len(self.ids)
        self.ids[id(value)] = number
        self.keep.append(value)
        if _type(value) is _ndarray or (_isinstance(value, _ndarray) and not self.lenient):
            if self.lenient:
                return {"id": number, "array": self.array(self._plain_array(value))}
            if value.dtype.kind not in "biufc":
                raise TypeError(f"cannot send an array of dtype {value.dtype}")
            return {"id": number, "array": self.array(value if _type(value) is _ndarray else _asarray(value))}
        if _isinstance(value, list):
            if self.lenient and all(_isinstance(v, (bool, int, float)) for v in value):
                return {"id": number, "array": self.array(self._plain_array(value))}
            return {"id": number, "list": [self.encode(v, depth + 1) for v in value[:1000 if self.lenient else None]]}
        if _isinstance(value, dict):
            items = list(value.items())[:1000 if self.lenient else None]
            return {"id": number, "dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in items]}
        kind = self.classify(value) if self.classify is not None else None
        if kind is not None:
            return {"id": number, kind[0]: kind[1], "state": self.encode(dict(_vars(value)), depth + 1)}
        if self.lenient and _is_dataclass(value) and not _isinstance(value, _type):
            return {"id": number, "record": [[f.name, self.encode(_getattr(value, f.name), depth + 1)]
                                             for f in _fields(value)]}
        if self.lenient:
            return {"id": number, "array": self.array(self._plain_array(value))}
        raise TypeError(f"cannot send a {_type(value).__name__}; use arrays, numbers, strings, lists and dicts")

    @staticmethod
    def _plain_array(value: Any) -> np.ndarray:
        """Student output as a plain numeric array (subclasses and odd objects lose their behaviour)."""
        array = _array(value)
        if _type(array) is not _ndarray:
            array = _asarray(array).view(_ndarray).copy()
        if array.dtype.kind not in "biuf":
            array = _array(value, dtype=np.float64)
        return array


class Decoder:
    """The inverse of :class:`Encoder`.

    Args:
        arrays: the message's arrays.
        mine: my id -> my object, for ``{"kid": n}`` (objects I sent earlier).
        build: (kind, name, decoded state) -> object, for ``object`` / ``public`` entries.
        copy_arrays: hand out copies of the message's arrays (so a caller's change stays local).
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], mine: Mapping[int, Any] | None = None,
                 build: Callable[[str, str, dict], Any] | None = None, copy_arrays: bool = False,
                 records: Callable[[dict], Any] | None = None) -> None:
        self.arrays = arrays
        self.mine = mine or {}
        self.build = build
        self.copy_arrays = copy_arrays
        self.records = records
        self.seen: dict[int, Any] = {}

    def decode(self, value: Any, depth: int = 0) -> Any:
        if depth > 40:
            raise ValueError("value nested too deeply")
        if value is None or _type(value) in (bool, int, float, str):
            return value
        if _isinstance(value, list):  # plain JSON lists (case inputs written by hand)
            return [self.decode(v, depth + 1) for v in value]
        if not _isinstance(value, dict):
            raise ValueError("malformed message")
        if "kid" in value:
            return self.mine[int(value["kid"])]
        if "same" in value:
            return self.seen[int(value["same"])]
        if "scalar" in value:
            return self.arrays[value["scalar"]][()]
        if "dtype" in value:
            return np.dtype(value["dtype"])
        if "tuple" in value:
            return tuple(self.decode(v, depth + 1) for v in value["tuple"])
        number = value.get("id")
        if "array" in value:
            array = self.arrays[value["array"]]
            result = array.copy() if self.copy_arrays else array
        elif "list" in value:
            result = []
            self._remember(number, result)
            result.extend(self.decode(v, depth + 1) for v in value["list"])
        elif "dict" in value:
            result = {}
            self._remember(number, result)
            for k, v in value["dict"]:
                result[self.decode(k, depth + 1)] = self.decode(v, depth + 1)
        elif "record" in value:
            fields = {str(k): self.decode(v, depth + 1) for k, v in value["record"]}
            result = self.records(fields) if self.records is not None else fields
        elif ("object" in value or "public" in value) and self.build is not None:
            kind = "object" if "object" in value else "public"
            result = self.build(kind, value[kind], {})
            self._remember(number, result)
            state = self.decode(value["state"], depth + 1)
            _vars(result).update(state)
        else:
            raise ValueError("malformed message")
        self._remember(number, result)
        return result

    def _remember(self, number: Any, value: Any) -> None:
        if number is not None:
            self.seen[int(number)] = value


# ----------------------------------------------------------------------------- case inputs


def decode_arguments(value: Any, inputs: Mapping[str, np.ndarray], results: list[Any]) -> Any:
    """A case's call arguments as sent by the grader; ``{"ref": [call, path]}`` is an earlier result.

    Arrays are fresh copies, so each call gets its own.
    """
    if _isinstance(value, dict):
        if "ref" in value:
            return index(results[value["ref"][0]], value["ref"][1])
        if "array" in value:
            return inputs[value["array"]].copy()
        if "scalar" in value:
            return inputs[value["scalar"]][()]
        if "tuple" in value:
            return tuple(decode_arguments(v, inputs, results) for v in value["tuple"])
        if "list" in value:
            return [decode_arguments(v, inputs, results) for v in value["list"]]
        if "dict" in value:
            return {decode_arguments(k, inputs, results): decode_arguments(v, inputs, results)
                    for k, v in value["dict"]}
        if "dtype" in value:
            return np.dtype(value["dtype"])
    if _isinstance(value, list):
        return [decode_arguments(v, inputs, results) for v in value]
    return value


def index(value: Any, path: Any) -> Any:
    """``value[p0][p1]...``: dict keys, integer indices, or attributes."""
    for step in path:
        if _isinstance(value, Mapping):
            value = value[step]
        elif _isinstance(step, int) or (_isinstance(step, str) and step.isdigit()):
            value = value[int(step)]
        else:
            value = _getattr(value, step)
    return value


# ----------------------------------------------------------------------------- running one case


def run_case(spec: Mapping[str, Any], inputs: Mapping[str, np.ndarray], namespace: MutableMapping[str, Any],
             stand_ins: Mapping[str, Any], progress: Callable[[int, Any], Any] | None = None
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Run one case's calls in ``namespace``; never raises for student errors.

    Args:
        spec: ``{"calls": [{"target", "method", "args", "kwargs"}], "outputs": [paths], "unmodified": bool}``
            (see :func:`course.probe.case_spec`).
        inputs: the case's input arrays.
        namespace: the student's globals.
        stand_ins: name -> object put into the namespace for this case only (``use_reference``).
        progress: called with (call number, target) before each call.

    Returns:
        (answer, arrays): ``answer`` holds ``outputs`` (encoded), ``arguments`` (positional
        array arguments after each call: ``[call, position, after key, before key or None]``),
        ``warnings`` and ``error``; ``arrays`` the arrays they refer to.
    """
    encoder = Encoder("o", lenient=True, classify=_classify_stand_in)
    answer: dict[str, Any] = {"outputs": {}, "arguments": [], "warnings": [], "error": None}
    saved = {name: namespace.get(name, _MISSING) for name in stand_ins}
    results: list[Any] = []
    try:
        for name, value in stand_ins.items():
            namespace[name] = value
        for number, step in enumerate(spec["calls"]):
            target = step["target"]
            if progress is not None:
                progress(number, target)
            if _isinstance(target, str):
                if target not in namespace:
                    raise CallError(f"`{target}` is not defined. Run the cell that defines it "
                                    f"(and keep its name as given).")
                fn = namespace[target]
            else:
                fn = decode_arguments(target, inputs, results)
            if step.get("method"):
                fn = _getattr(fn, step["method"])
            args = decode_arguments({"tuple": step["args"]}, inputs, results)
            kwargs = decode_arguments({"dict": step["kwargs"]}, inputs, results)
            watched = []
            if spec.get("unmodified", True):
                for position, arg in enumerate(args):
                    if _isinstance(arg, _ndarray):
                        sent = step["args"][position]
                        from_grader = _isinstance(sent, dict) and "array" in sent
                        watched.append((position, arg, None if from_grader else arg.copy()))
            with _catch_warnings(record=True) as caught:
                _simplefilter("always")
                with _errstate(all="warn", under="ignore"):
                    results.append(fn(*args, **kwargs))
            answer["warnings"].extend(sorted({_str(w.message) for w in caught}))
            for position, arg, before in watched:
                answer["arguments"].append([number, position, encoder.array(arg.copy()),
                                            None if before is None else encoder.array(before)])
        for path in spec["outputs"]:
            head, *rest = path.split(".")
            try:
                answer["outputs"][path] = encoder.encode(index(results[int(head)], rest))
            except Exception as error:  # a missing key, or an output that cannot be sent
                answer["outputs"][path] = {"error": f"{_type(error).__name__}: {error}"[:300]}
    except CaseTimeout:
        raise
    except NotImplementedError:
        answer["error"] = NOT_IMPLEMENTED
    except CallError as error:
        answer["error"] = _str(error)
    except BaseException as error:  # student code may raise anything, SystemExit included
        answer["error"] = f"raised {_type(error).__name__}: {error}"
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value
    return answer, encoder.arrays


_MISSING = object()


def _classify_stand_in(value: Any) -> tuple[str, str] | None:
    """Reference-class stand-ins go back to the grader as their state (see :class:`Channel`)."""
    cls = _type(value)
    name = _getattr(cls, "__course_reference__", None)
    if _isinstance(name, str):
        return ("object", name)
    module = _getattr(cls, "__module__", "") or ""
    if module.startswith("reference_"):  # in-process: the reference class itself
        return ("object", f"{module[len('reference_'):]}:{cls.__qualname__}")
    if module == "hwlib" or module.startswith("hwlib."):
        return ("public", f"{module}:{cls.__qualname__}")
    return None


# ----------------------------------------------------------------------------- stand-ins (kernel side)


class Channel:
    """The kernel's end of the probe socket: asks for cases, sends answers, calls references."""

    def __init__(self, address: str) -> None:
        self.sock = _socket(_AF_UNIX, _SOCK_STREAM)
        self.sock.connect(address)
        self.classes: dict[str, type] = {}

    def request(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None
                ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        send_message(self.sock, header, arrays or {})
        message = recv_message(self.sock)
        if message is None:
            raise ConnectionError("the grader closed the probe connection")
        return message

    def call(self, name: str, method: str | None, owner: Any, args: tuple, kwargs: dict) -> Any:
        """Call reference ``name`` (or a method of its instance ``owner``) in the grader."""
        encoder = Encoder("a", classify=_classify_stand_in)
        header = {"op": "call", "name": name, "method": method,
                  "self": None if owner is None else encoder.encode(owner),
                  "args": encoder.encode(tuple(args)), "kwargs": encoder.encode(dict(kwargs))}
        mine = {number: value for value, number in ((v, encoder.ids[id(v)]) for v in encoder.keep)}
        paused = _setitimer(_ITIMER_CASE, 0)[0]  # the grader's time is not the student's
        try:
            reply, arrays = self.request(header, encoder.arrays)
        finally:
            if paused > 0:
                _setitimer(_ITIMER_CASE, paused)
        if reply.get("error") is not None:
            raise _exception(reply.get("type", ""), reply["error"])
        for qualified, spec in reply.get("classes", {}).items():
            self.define(qualified, spec)
        decoder = Decoder(arrays, mine=mine, build=self._build)
        for number, state in reply.get("updates", []):
            _update(mine[int(number)], decoder.decode(state))
        return decoder.decode(reply["result"])

    def _build(self, kind: str, name: str, state: dict) -> Any:
        cls = self.classes.get(name) if kind == "object" else _public_class(name)
        if cls is None:
            raise TypeError(f"unknown class {name}")
        return object.__new__(cls)

    def define(self, qualified: str, spec: Mapping[str, Any]) -> type:
        """The kernel-side class of reference class ``qualified`` (``key:Name``): its methods call the grader."""
        if qualified in self.classes:
            return self.classes[qualified]
        channel = self
        bases = tuple(c for c in (_public_class(b) for b in spec.get("bases", [])) if c is not None)

        def make(method: str) -> Callable[..., Any]:
            def remote(self: Any, *args: Any, **kwargs: Any) -> Any:
                return channel.call(qualified, method, self, args, kwargs)
            remote.__name__ = method
            return remote

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            built = channel.call(qualified, None, None, args, kwargs)
            _vars(self).update(_vars(built))

        body: dict[str, Any] = {m: make(m) for m in spec.get("methods", []) if m != "__init__"}
        body.update({"__init__": init, "__course_reference__": qualified, "__module__": "__course_reference__"})
        cls = _type(qualified.partition(":")[2], bases or (object,), body)
        self.classes[qualified] = cls
        return cls

    def stand_in(self, name: str, spec: Mapping[str, Any]) -> Any:
        """A kernel-side object for reference ``name``: a function, or a class whose methods call the grader."""
        if spec.get("kind") == "class":
            return self.define(spec["qualified"], spec)
        channel = self

        def function(*args: Any, **kwargs: Any) -> Any:
            return channel.call(name, None, None, args, kwargs)

        function.__name__ = function.__qualname__ = name
        return function


def _update(original: Any, new: Any) -> None:
    """Make ``original`` (a kernel object the reference received) look like the reference left it."""
    if original is new:
        return
    if _isinstance(original, _ndarray):
        if original.shape == new.shape and original.flags.writeable:
            original[...] = new
    elif _isinstance(original, dict):
        original.clear()
        original.update(new)
    elif _isinstance(original, list):
        original[:] = new
    elif hasattr(original, "__dict__"):
        _vars(original).clear()
        _vars(original).update(_vars(new))


def _public_class(qualified: str) -> type | None:
    """``module:qualname`` of a class in the helper package (the only classes sent by name)."""
    import importlib

    module, _, qualname = qualified.partition(":")
    if not (module == "hwlib" or module.startswith("hwlib.")):
        return None
    value: Any = importlib.import_module(module)
    for part in qualname.split("."):
        value = _getattr(value, part)
    return value if _isinstance(value, _type) else None


_EXCEPTIONS = {e.__name__: e for e in (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError,
                                      AssertionError, RuntimeError, NotImplementedError, ArithmeticError,
                                      FloatingPointError, OverflowError, AttributeError, LookupError,
                                      MemoryError)}


def _exception(name: str, message: str) -> BaseException:
    """The reference's exception, raised again in the kernel (same type name, same message)."""
    return _EXCEPTIONS.get(name, RuntimeError)(message)


# ----------------------------------------------------------------------------- the probe loop (kernel)


def probe(address: str, case_timeout: float, namespace: MutableMapping[str, Any],
          reset: Callable[[], Any] | None = None) -> None:
    """Answer the grader's cases one at a time until it says done.

    Each case runs under an alarm of ``case_timeout`` seconds (paused while the
    grader computes a reference call). A function that ran past it is not called again.
    """
    channel = Channel(address)
    hung: set[str] = set()

    def on_alarm(signum: int, frame: Any) -> None:
        raise CaseTimeout()

    while True:
        header, inputs = channel.request({"op": "next"})
        if header.get("done"):
            break
        spec = header["case"]
        stand_ins = {name: channel.stand_in(name, info) for name, info in spec.get("use_reference", {}).items()}
        targets = [c["target"] for c in spec["calls"] if _isinstance(c["target"], str)]
        blocked = next((t for t in targets if t in hung), None)
        current: list[Any] = [None]

        def progress(number: int, target: Any) -> None:
            current[0] = target
            channel.request({"op": "progress", "call": number})

        previous = _signal(_SIG_CASE, on_alarm)
        _setitimer(_ITIMER_CASE, float(case_timeout))
        try:
            if blocked is not None:
                answer, arrays = ({"outputs": {}, "arguments": [], "warnings": [],
                                   "error": f"not run: `{blocked}` ran past the time limit in an earlier case"}, {})
            else:
                answer, arrays = run_case(spec, inputs, namespace, stand_ins, progress)
        except CaseTimeout:
            if _isinstance(current[0], str):
                hung.add(current[0])
            answer, arrays = ({"outputs": {}, "arguments": [], "warnings": [],
                               "error": f"stopped after {case_timeout:g} s of computing time (an endless loop?)"}, {})
        finally:
            _setitimer(_ITIMER_CASE, 0)
            _signal(_SIG_CASE, previous)
            if reset is not None:
                try:
                    reset()  # undo what the student's code patched (np.allclose, builtins, hooks ...)
                except Exception:
                    pass
        channel.request({"op": "answer", "case": header["index"], "answer": answer}, arrays)
    channel.sock.close()


def bootstrap_source() -> str:
    """Kernel code that loads this module as ``__course_runner`` (run before any student cell)."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    return ("def __course_load_runner(source):\n"
            "    import sys, types\n"
            "    module = types.ModuleType('__course_runner')\n"
            "    sys.modules['__course_runner'] = module\n"
            "    exec(compile(source, '<course-runner>', 'exec'), module.__dict__)\n"
            f"__course_load_runner({source!r})\n"
            "del __course_load_runner\n")


def probe_source(address: str, case_timeout: float) -> str:
    """The hidden cell that runs the probe in the student's namespace."""
    return ("__import__('sys').modules['__course_runner'].probe("
            f"{address!r}, {float(case_timeout)!r}, globals(), "
            "getattr(__import__('sys').modules.get('__course_guard'), 'reset', None))\n")
