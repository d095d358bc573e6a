"""One student kernel, started in a :class:`course.sandbox.Sandbox`, run cell by cell.

:class:`KernelSession` starts the kernel, runs a hidden set-up snippet
(:data:`GUARD_SETUP`) before any student code, and executes cells one at a time.
After every cell a *guard* runs as a user expression of the same request. User
expressions bypass IPython's input transformers, so a cell cannot blank it; it
puts back what a cell may have changed to fool the cells after it:

* input and AST transformers, event callbacks (``pre_run_cell`` ...),
  ``set_custom_exc``, overridden shell methods (``showtraceback`` ...);
* attributes of ``builtins``, ``math``, ``numpy`` and ``numpy.testing``
  (``np.allclose = lambda *a, **k: True``);
* ``sys.path`` without the submission folder (a ``numpy.py`` there shadows nothing).

Each cell ends with a :class:`CellOutcome`: ``ok``, ``error``, ``timeout``,
``died`` (the kernel is gone: ``os._exit``, SIGKILL, the memory limit) or
``tampered`` (the guard did not answer with this kernel's token). The grader
treats ``died`` and ``tampered`` alike: the cell is skipped in a fresh kernel.
This is defence in depth; the guarantee does not rest on it: expected values
never enter the kernel, and nothing is credited without a result that came back.
"""

from __future__ import annotations

import math
import os
import secrets
import signal
import threading
from dataclasses import dataclass
from queue import Empty
from time import monotonic
from typing import Any, Callable, Mapping

import nbformat
import zmq
import zmq.asyncio
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from course.calibration import GRADER_SLOW, CpuClock, KernelClock
from course.sandbox import Sandbox

#: Largest output kept per cell (characters of text); the rest is dropped with a note.
MAX_CELL_OUTPUT = 20_000

#: Largest total of base64 image data (PNG, JPEG) kept per cell; counted apart from the text.
MAX_CELL_IMAGES = 4_000_000

_IMAGE_TYPES = ("image/png", "image/jpeg")


def _image_size(content: dict) -> int:
    data = content.get("data") if isinstance(content, dict) else None
    return sum(len(str(data.get(key, ""))) for key in _IMAGE_TYPES) if isinstance(data, dict) else 0


def _text_size(content: dict) -> int:
    """Characters of an output message's content, image data left out."""
    data = content.get("data") if isinstance(content, dict) else None
    if not isinstance(data, dict):
        return len(str(content))
    return len(str({**content, "data": {k: v for k, v in data.items() if k not in _IMAGE_TYPES}}))


#: What reading a garbled kernel message raises (jupyter_client's Session: "Invalid Signature",
#: "Duplicate Signature", broken frames; zmq errors on a socket used by several processes).
GARBLED_MESSAGES: tuple[type[BaseException], ...] = (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError,
                                                    zmq.ZMQError)

#: Seconds a timed-out cell gets to stop after its interrupt before its kernel is killed.
INTERRUPT_GRACE = 5.0

GUARD_SETUP = r'''
def __course_setup(token):
    import os, sys
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", here)]  # before importing anything else
    import builtins, math, types
    import numpy, numpy.testing
    ip = get_ipython()
    modules = {m.__name__: m for m in (builtins, math, numpy, numpy.testing)}
    module_values = {name: dict(vars(m)) for name, m in modules.items()}
    classes = [c for c in type(ip).__mro__ if c is not object]
    class_values = [(c, dict(vars(c))) for c in classes]
    shell_values = dict(vars(ip))
    manager = ip.input_transformer_manager
    manager_values = {k: list(getattr(manager, k)) for k in ("cleanup_transforms", "line_transforms",
                                                             "token_transformers")}
    lists = {k: list(getattr(ip, k)) for k in ("input_transformers_post", "ast_transformers")}
    events = ip.events
    callbacks = {k: list(v) for k, v in events.callbacks.items()}
    path = [p for p in sys.path if p not in ("", ".", here)]
    hook = sys.excepthook

    def reset():
        for name, module in modules.items():
            sys.modules[name] = module
            for key, value in module_values[name].items():
                if module.__dict__.get(key, object()) is not value:
                    setattr(module, key, value)
        for cls, values in class_values:
            for key, value in values.items():
                if cls.__dict__.get(key, object()) is not value:
                    setattr(cls, key, value)
        for key in [k for k in vars(ip) if k not in shell_values]:
            delattr(ip, key)
        for key, value in shell_values.items():
            if ip.__dict__.get(key, object()) is not value:
                ip.__dict__[key] = value
        ip.input_transformer_manager = manager
        for key, value in manager_values.items():
            setattr(manager, key, list(value))
        for key, value in lists.items():
            setattr(ip, key, list(value))
        ip.events = events
        events.callbacks.clear()
        events.callbacks.update({k: list(v) for k, v in callbacks.items()})
        sys.path[:] = [p for p in sys.path if p not in ("", ".", here)] or path
        sys.excepthook = hook
        return token

    guard = types.ModuleType("__course_guard")
    guard.reset = reset
    sys.modules["__course_guard"] = guard
    sys.path[:] = path


__course_setup(%r)
del __course_setup
'''

GUARD_EXPRESSION = "__import__('sys').modules['__course_guard'].reset()"


#: A cell's wall time may reach this many times its limit (own time) before the grader gives up
#: and reports itself too slow; the own-time limit, not this, stops a student's endless loop.
WALL_SLACK = 8.0
#: ... and never less than this many seconds of wall time.
WALL_FLOOR = 30


class Watchdog(threading.Thread):
    """Interrupts a kernel whose own time (:class:`course.calibration.KernelClock`) passes ``limit``
    seconds during one cell, and kills it when it is still busy :data:`INTERRUPT_GRACE` later."""

    def __init__(self, pid: int | None, clock: KernelClock, limit: float,
                 excluded: Callable[[], float] | None = None) -> None:
        super().__init__(daemon=True)
        self.pid, self.clock, self.limit = pid, clock, limit
        self.excluded = excluded or (lambda: 0.0)  # the grader's own time while the kernel waits for it
        self.start_reading = clock.read()
        self.interrupted = self.killed = False
        self._done = threading.Event()
        self._signal_lock = threading.Lock()
        #: a SIGINT went to the kernel during this cell (from this watchdog or the wall-time net)
        self.signalled = False

    def interrupt_once(self) -> bool:
        """Send the kernel one SIGINT for this cell; False when one was sent already.

        A second SIGINT would land while IPython formats the first one's traceback: IPython
        then prints a bare "KeyboardInterrupt" on stderr instead of an error (see
        ``InteractiveShell.showtraceback``), and the cell's output no longer says what happened.
        """
        with self._signal_lock:
            if self.signalled or not self.pid:
                return False
            self.signalled = True
            try:
                os.kill(self.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            return True

    def run(self) -> None:
        if not self.pid:
            return
        while not self._done.wait(0.1):
            used = self.used()
            try:
                if not self.interrupted and used >= self.limit:
                    self.interrupted = True
                    self.interrupt_once()
                elif self.interrupted and used >= self.limit + INTERRUPT_GRACE:
                    self.killed = True
                    os.kill(self.pid, signal.SIGKILL)
                    return
            except ProcessLookupError:
                return

    def used(self) -> float:
        """Own seconds of the kernel since the cell started, without the grader's time."""
        return max(0.0, self.clock.own_since(self.start_reading) - self.excluded())

    def stop(self) -> None:
        self._done.set()


@dataclass
class CellOutcome:
    """How one cell ended: ok | error | timeout | died | tampered | grader_slow.

    ``grader_slow``: the cell reached its wall-time safety net while its own time was still
    under the limit - the machine was too busy, not the student's code too slow.
    """

    status: str
    detail: str = ""


class GradingClient(NotebookClient):
    """nbclient with a per-cell output cap, the last execute_reply kept, and a bounded timeout.

    On a timeout nbclient interrupts the kernel and then waits again, forever if
    the cell swallows KeyboardInterrupt. Here the cell gets :data:`INTERRUPT_GRACE`
    seconds of its own time to stop; after that CellTimeoutError is raised and the caller kills
    the kernel.
    """

    last_reply: dict[str, Any] | None = None
    current_msg_id: str | None = None
    timed_out: bool = False
    #: sends the kernel its one interrupt of the cell (shared with the watchdog); None: nbclient's own
    interrupter: Callable[[], bool] | None = None
    #: the kernel's own time (set by the session; wall time until the kernel's pid is known)
    clock: KernelClock = KernelClock(None)

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        if msg.get("msg_type") == "error":  # always kept: nbgrader scores by it
            content = msg.get("content", {})
            content["traceback"] = [str(line)[:2000] for line in content.get("traceback", [])[-30:]]
            return super().output(outs, msg, display_id, cell_index)
        sizes = self.__dict__.setdefault("_sizes", {})
        size = _text_size(msg.get("content", {}))
        images = self.__dict__.setdefault("_image_sizes", {})
        image_size = images.get(cell_index, 0) + _image_size(msg.get("content", {}))
        images[cell_index] = image_size
        if image_size > MAX_CELL_IMAGES:  # images count apart: a drawn graph is kept, a flood of them is not
            return None
        used = sizes.get(cell_index, 0)
        sizes[cell_index] = used + size
        if used + size > MAX_CELL_OUTPUT:
            if used <= MAX_CELL_OUTPUT:  # the message that crosses the cap: keep what fits of its text
                content = msg.get("content", {})
                room = MAX_CELL_OUTPUT - used
                if msg.get("msg_type") == "stream" and isinstance(content.get("text"), str) and room > 0:
                    content["text"] = content["text"][:room]
                    super().output(outs, msg, display_id, cell_index)
                outs.append(nbformat.v4.new_output("stream", name="stdout",
                                                   text="\n... (output cut: more than 20,000 characters)\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    async def _check_raise_for_error(self, cell: Any, cell_index: int, exec_reply: dict | None) -> None:
        self.last_reply = exec_reply
        await super()._check_raise_for_error(cell, cell_index, exec_reply)

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> dict | None:
        self.timed_out = True
        if self.interrupter is not None:
            self.interrupter()  # at most one SIGINT per cell, whoever asks first
        else:
            await _maybe_await(self.km.interrupt_kernel())
        # The grace is the kernel's own time (formatting the interrupt's traceback takes seconds of
        # CPU, which a saturated machine hands out slowly); wall time only bounds it.
        clock = self.clock
        start = clock.read()
        wall_end = monotonic() + INTERRUPT_GRACE * WALL_SLACK
        while clock.own_since(start) < INTERRUPT_GRACE and (left := wall_end - monotonic()) > 0:
            try:
                msg = await _maybe_await(self.kc.shell_channel.get_msg(timeout=min(left, 0.5)))
            except Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") == self.current_msg_id:
                return msg
        raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)


async def _maybe_await(value: Any) -> Any:
    import inspect

    return await value if inspect.isawaitable(value) else value


def _close_zmq(client: Any, context: zmq.Context) -> None:
    """Stop the kernel client's channels and destroy the kernel's own zmq context: left to the
    garbage collector, each kernel kept about a dozen descriptors open in the grader, so a worker
    under the usual limit of 1,024 would fail after some 75 notebooks."""
    kernel_client = getattr(client, "kc", None)
    try:
        if kernel_client is not None:
            kernel_client.stop_channels()
    except Exception:  # already stopped
        pass
    try:
        context.destroy(linger=0)
    except zmq.ZMQError:
        pass


class KernelSession:
    """A kernel in ``sandbox`` executing cells of ``notebook`` (see module docstring)."""

    def __init__(self, notebook: nbformat.NotebookNode, sandbox: Sandbox, *, cell_timeout: int,
                 env: Mapping[str, str]) -> None:
        self.notebook = notebook
        self.sandbox = sandbox
        self.cell_timeout = cell_timeout
        self.env = dict(env)
        self.client: GradingClient | None = None
        self._token = ""
        self._context: Any = None
        self._zmq: zmq.Context | None = None
        self._execute: Any = None  # the client's own execute, without the guard expression
        self.starts = 0
        #: own seconds (see :class:`course.calibration.KernelClock`) the kernels of this session ran
        #: cells for, and seconds they waited for a core meanwhile
        self.own_seconds = 0.0
        self.waited_seconds = 0.0
        self.pid: int | None = None
        self.clock = KernelClock(None)
        #: computing time of the kernel and its processes (timed hidden cases)
        self.cpu = CpuClock(None)
        #: wall seconds the next cells may take at most, whatever their own-time limit (a deadline)
        self.wall_cap: float | None = None
        self._capped = False
        #: what the next cells' limit is, in words, for the message of a cell that reaches it
        #: ("the cell limit of 10 s", "what was left of the notebook's 150 s") ...
        self.budget_note = ""
        #: ... and what a wall-time deadline that cuts a cell is
        self.deadline_note = "the submission's time budget ran out"

    def start(self) -> None:
        """Start a fresh kernel and run the hidden set-up before any student code."""
        self.stop()
        self.starts += 1
        self._token = secrets.token_hex(16)
        self._zmq = zmq.asyncio.Context()  # this kernel's alone: destroyed when it stops
        manager = self.sandbox.manager(context=self._zmq)
        # interrupt_on_timeout: a cell stuck in an endless loop is interrupted and
        # recorded as an error; the notebook goes on, so only that answer is lost.
        client = GradingClient(self.notebook, km=manager, timeout=self.cell_timeout, allow_errors=True,
                               interrupt_on_timeout=True, startup_timeout=120,
                               resources={"metadata": {"path": str(self.sandbox.work)}})
        self.client = client
        self._context = client.setup_kernel(env=self.env, cwd=str(self.sandbox.work))
        self._context.__enter__()
        execute = client.kc.execute

        def guarded(code: str, **kwargs: Any) -> str:
            client.current_msg_id = execute(code, user_expressions={"guard": GUARD_EXPRESSION}, **kwargs)
            return client.current_msg_id

        client.kc.execute = guarded
        self._execute = execute
        self.pid = getattr(getattr(manager, "provisioner", None), "pid", None)
        self.clock = KernelClock(self.pid)
        self.cpu = CpuClock(self.pid, getattr(self.sandbox, "uid", None))
        client.clock = self.clock
        setup = self.run_hidden(GUARD_SETUP % self._token)
        if setup.status != "ok":
            raise RuntimeError(f"the grading kernel could not be prepared ({setup.status}: {setup.detail})")

    def stop(self) -> None:
        """Shut the kernel down and kill whatever the student's code left running."""
        if self.client is not None:
            manager = self.client.km
            try:
                self._context.__exit__(None, None, None)
            except Exception:
                pass
            try:
                if manager.has_kernel:
                    run_sync(manager.shutdown_kernel)(now=True)
            except Exception:  # already gone
                pass
            if self._zmq is not None:
                _close_zmq(self.client, self._zmq)
                self._zmq = None
            self.client = None
        self.sandbox.kill_leftovers()

    def set_cell_timeout(self, seconds: int) -> None:
        """The time limit of the next cells (a notebook or submission budget running out shortens it)."""
        self.cell_timeout = seconds
        if self.client is not None:
            self.client.timeout = seconds

    def run(self, index: int, excluded: Callable[[], float] | None = None) -> CellOutcome:
        """Execute cell ``index`` of the notebook, then make sure the guard ran."""
        assert self.client is not None, "start() first"
        cell = self.notebook.cells[index]
        client = self.client
        client.last_reply, client.timed_out = None, False
        # The limit is own time (load-independent), enforced by the watchdog; nbclient's wall
        # timeout is only the safety net for a machine so busy that the kernel barely runs.
        watchdog = Watchdog(self.pid, self.clock, self.cell_timeout, excluded)
        wall = max(WALL_FLOOR, int(self.cell_timeout * WALL_SLACK)) if self.pid else self.cell_timeout
        # a deadline (wall time) that comes first is the submission's budget, not a slow machine
        self._capped = self.wall_cap is not None and self.wall_cap < wall
        client.timeout = max(1, math.ceil(self.wall_cap)) if self._capped else wall
        client.interrupter = watchdog.interrupt_once if self.pid else None
        watchdog.start()
        try:
            outcome = self._execute_cell(cell, index, watchdog)
        finally:
            watchdog.stop()
            client.interrupter = None
            self.own_seconds += watchdog.used()
            self.waited_seconds += self.clock.waited_since(watchdog.start_reading)
            self.sandbox.kill_strays(keep=self.pid)
        return outcome

    def _execute_cell(self, cell: Any, index: int, watchdog: Watchdog) -> CellOutcome:
        client = self.client
        assert client is not None
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            if self.pid and not watchdog.interrupted and not self._capped:
                return self._too_slow(cell, watchdog)
            cell.setdefault("outputs", []).append(_error_output(
                "CellTimeout", f"stopped after {self.cell_timeout} s and did not respond to the interrupt"))
            return CellOutcome("died", f"a cell ran longer than {self.cell_timeout} s and ignored the interrupt")
        except DeadKernelError:
            if watchdog.killed:
                cell.setdefault("outputs", []).append(_error_output(
                    "CellTimeout", f"stopped after {self.cell_timeout} s and did not respond to the interrupt"))
                return CellOutcome("died", f"a cell ran longer than {self.cell_timeout} s and ignored the interrupt")
            return CellOutcome("died", "the kernel died (os._exit, a signal, a crash or the memory limit)")
        except GARBLED_MESSAGES as error:
            # Processes forked from the kernel share its sockets and write into them at once
            # (a fork bomb): the grader then reads messages with a bad signature or broken frames.
            # The kernel is no longer trustworthy; the cell is handled like one that killed it.
            cell.setdefault("outputs", []).append(_error_output(
                "KernelGarbled", "the kernel's messages were garbled (processes started by this cell wrote "
                                 f"into its connection: {type(error).__name__}: {str(error)[:100]})"))
            return CellOutcome("died", "the cell's processes garbled the kernel's messages (a fork bomb?)")
        reply = (client.last_reply or {}).get("content", {})
        if reply.get("status") != "ok":  # a failing cell gets no user expressions: ask again
            reply = {**reply, "user_expressions": self._guard_alone()}
        guard = reply.get("user_expressions", {}).get("guard", {})
        if guard.get("status") != "ok" or guard.get("data", {}).get("text/plain") != repr(self._token):
            return CellOutcome("tampered", "the cell changed the grading kernel so that its checks could not run")
        if client.timed_out and self.pid and not watchdog.interrupted and not self._capped:
            return self._too_slow(cell, watchdog)
        if client.timed_out or watchdog.interrupted:
            budget = self.deadline_note if self._capped else self.budget_note or f"the limit of {self.cell_timeout} s"
            _explain_stop(cell, index, self.cell_timeout if not self._capped else None, budget)
            return CellOutcome("timeout", f"a cell ran longer than {self.cell_timeout} s")
        if reply.get("ename") == "MemoryError":  # what it holds would starve every later cell
            return CellOutcome("died", "the cell ran out of memory (the sandbox's memory limit)")
        if reply.get("status") == "error":
            return CellOutcome("error", f"{reply.get('ename', '')}: {reply.get('evalue', '')}"[:300])
        return CellOutcome("ok")

    def _too_slow(self, cell: Any, watchdog: Watchdog) -> CellOutcome:
        """The wall-time safety net struck first: the machine, not the cell, was slow."""
        own = watchdog.used()
        detail = (f"grader too slow, regrade: a cell got only {own:.0f} s of its {self.cell_timeout} s within "
                  f"{self.client.timeout if self.client else 0} s of wall time (the machine is overloaded)")
        cell.setdefault("outputs", []).append(_error_output("GraderTooSlow", detail))
        return CellOutcome(GRADER_SLOW, detail)

    def _guard_alone(self) -> dict:
        """Run only the guard (an empty, silent request); its user expressions, or {} when none came back."""
        try:
            msg_id = self._execute("", silent=True, store_history=False, user_expressions={"guard": GUARD_EXPRESSION})
            deadline = monotonic() + 30
            while (left := deadline - monotonic()) > 0:
                msg = run_sync(_maybe_await)(self.client.kc.get_shell_msg(timeout=left))
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    return msg["content"].get("user_expressions", {})
        except Exception:
            pass
        return {}

    def run_hidden(self, source: str, timeout: int | None = None,
                   excluded: Callable[[], float] | None = None) -> CellOutcome:
        """Run grader code as a temporary last cell (removed afterwards, outputs and all)."""
        self.notebook.cells.append(nbformat.v4.new_code_cell(source))
        saved = self.cell_timeout
        if timeout is not None:
            self.set_cell_timeout(timeout)
        try:
            return self.run(len(self.notebook.cells) - 1, excluded)
        finally:
            self.notebook.cells.pop()
            self.set_cell_timeout(saved)


#: What a stopped cell's message suggests.
STOP_HINT = ("look for an endless loop, a sleep, or work much larger than the question needs "
             "(cells that use this cell's results may fail too)")


def _is_interrupt_output(output: Any) -> bool:
    """The KeyboardInterrupt a grader's interrupt leaves: its traceback, or IPython's bare stderr line."""
    if output.get("output_type") == "error":
        return output.get("ename") == "KeyboardInterrupt"
    return (output.get("output_type") == "stream" and output.get("name") == "stderr"
            and str(output.get("text", "")).strip() == "KeyboardInterrupt")


def _explain_stop(cell: Any, index: int, seconds: int | None, budget: str) -> None:
    """Replace the interrupt's traceback in a cell the grader stopped by one line: which cell, why, a hint."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    which = f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")
    after = f" after {seconds} s of running" if seconds is not None else ""
    message = f"{which} was stopped{after}: {budget}. Hint: {STOP_HINT}."
    cell["outputs"] = [o for o in cell.get("outputs", []) if not _is_interrupt_output(o)]
    cell["outputs"].append(_error_output("CellTimeout", message))


def _error_output(name: str, message: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])
