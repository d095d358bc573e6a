"""Grader side of the fork-server kernel start: the zygote process and a kernel provisioner.

``$COURSE_KERNEL_START`` chooses how a grading kernel starts:

* ``fork`` (default): a fork of :mod:`course.zygote`, a Python that already imported
  ipykernel, numpy and matplotlib; the child enters the same sandbox as the exec path
  (:func:`course.sandbox_exec.enter`) before it runs ipykernel;
* ``exec``: ``python -m course.sandbox_exec CONFIG -- python -m ipykernel_launcher ...``,
  a whole new interpreter per kernel.

One zygote per grading process (and per interpreter start-up environment), started at the
first kernel. :class:`ForkProvisioner` is a jupyter_client provisioner: ``pid`` is the
kernel's own pid (the CPU clocks read it), signals go to the kernel's process group, and
liveness comes from a pidfd. When the zygote cannot start, dies, or a fork fails, the
kernel starts by exec instead, and the log says so.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from course.sandbox_exec import kernel_environment
from course.zygote import HOME_PREFIX

log = logging.getLogger(__name__)

#: Environment variable choosing the kernel start (``fork`` or ``exec``).
KERNEL_START_ENV = "COURSE_KERNEL_START"
DEFAULT_KERNEL_START = "fork"

#: Environment read when the interpreter or a preloaded library starts (not when a kernel runs):
#: a kernel forks only from a zygote started with the same values.
STARTUP_PREFIXES = ("PYTHON", "LC_", "NPY_", "OPENBLAS", "GOTO", "OMP_", "MKL_", "NUMEXPR_", "VECLIB_", "LD_",
                    "PYDEVD", "DEBUGPY", "GEVENT", "IDE_", "PYCHARM", "IPYTHON_")
STARTUP_NAMES = frozenset({"LANG", "LANGUAGE", "MPLBACKEND", "MATPLOTLIBRC"})

#: Seconds the zygote may take to import everything (a saturated machine is slow).
READY_TIMEOUT = 180.0
#: Seconds a fork may take before the kernel starts by exec instead.
SPAWN_TIMEOUT = 60.0
#: Zygotes that failed in this process before fork mode gives up for good.
MAX_FAILURES = 3

_MAX_MESSAGE = 1 << 22


def kernel_start_mode() -> str:
    """``fork`` or ``exec``, from ``$COURSE_KERNEL_START`` (a clear error for anything else)."""
    mode = os.environ.get(KERNEL_START_ENV, DEFAULT_KERNEL_START).strip().lower() or DEFAULT_KERNEL_START
    if mode not in ("fork", "exec"):
        raise ValueError(f"{KERNEL_START_ENV}={mode!r}: use 'fork' or 'exec'")
    return mode


def startup_env(env: dict[str, str]) -> dict[str, str]:
    """The part of a kernel's environment that is read at interpreter start or import time."""
    return {k: v for k, v in env.items() if k in STARTUP_NAMES or k.startswith(STARTUP_PREFIXES)}


_largest_kernel_kb = 0
_peak_lock = threading.Lock()


def _record_peak(kilobytes: int) -> None:
    global _largest_kernel_kb
    with _peak_lock:
        _largest_kernel_kb = max(_largest_kernel_kb, kilobytes)


def largest_forked_kernel_mb() -> float:
    """The largest peak resident memory (MB) of the forked kernels this process has seen end:
    they are the zygote's children, so ``RUSAGE_CHILDREN`` of the grader does not count them."""
    with _peak_lock:
        return _largest_kernel_kb / 1024


class ZygoteError(RuntimeError):
    """The zygote could not start, died, or could not fork."""


class Zygote:
    """One running :mod:`course.zygote` process and its control socket."""

    def __init__(self, startup: dict[str, str], import_roots: tuple[str, ...] | None = None) -> None:
        self.startup = dict(startup)
        self.import_roots = import_roots
        self.home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX))
        from course.sandbox import _seed_matplotlib_cache

        _seed_matplotlib_cache(self.home / ".matplotlib")  # the kernels' font list, same rc as theirs
        env = {**self.startup, "PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.home),
               "MPLCONFIGDIR": str(self.home / ".matplotlib"), "XDG_CACHE_HOME": str(self.home / ".cache"),
               "XDG_CONFIG_HOME": str(self.home / ".config"), "IPYTHONDIR": str(self.home / ".ipython"),
               "TMPDIR": str(self.home)}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            roots = [] if import_roots is None else [json.dumps(list(import_roots))]
            self.process = subprocess.Popen([sys.executable, "-m", "course.zygote", str(theirs.fileno()), *roots],
                                            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env,
                                            cwd="/", close_fds=True, start_new_session=True)
        except OSError as error:
            ours.close()
            shutil.rmtree(self.home, ignore_errors=True)
            raise ZygoteError(f"could not start the zygote: {error}") from error
        finally:
            theirs.close()
        self.control = ours
        self.dead = False
        self._replies: queue.Queue = queue.Queue()
        self._exits: dict[int, int] = {}
        self._exited = threading.Condition()
        self._request_lock = threading.Lock()
        threading.Thread(target=self._read, name="course-zygote-reader", daemon=True).start()
        reply = self._reply(READY_TIMEOUT)
        if "ready" not in reply:
            self.close()
            raise ZygoteError(f"the zygote did not start: {reply}")
        self.pid = int(reply["ready"])

    def _read(self) -> None:
        """Reader thread: exits go to :meth:`exit_code`, everything else to the reply queue."""
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.control, _MAX_MESSAGE, 4)
            except OSError:
                data, fds = b"", []
            if not data:
                with self._exited:
                    self.dead = True
                    self._exited.notify_all()
                self._replies.put(({"error": "the zygote died"}, []))
                return
            message = json.loads(data)
            if "exit" in message:
                _record_peak(int(message.get("peak_kb", 0)))
                with self._exited:
                    self._exits[int(message["exit"])] = int(message["code"])
                    self._exited.notify_all()
            else:
                self._replies.put((message, fds))

    def _reply(self, timeout: float, with_fds: bool = False) -> Any:
        try:
            message, fds = self._replies.get(timeout=timeout)
        except queue.Empty:
            message, fds = {"error": f"no answer from the zygote within {timeout:.0f} s", "timeout": True}, []
        if with_fds:
            return message, fds
        for fd in fds:
            os.close(fd)
        return message

    def spawn(self, request: dict) -> tuple[int, int]:
        """Fork a kernel; its pid and a pidfd for it (the caller closes the pidfd)."""
        with self._request_lock:
            if self.dead:
                raise ZygoteError("the zygote died")
            try:
                self.control.send(json.dumps({"spawn": request}).encode())
            except OSError as error:
                raise ZygoteError(f"could not reach the zygote: {error}") from error
            message, fds = self._reply(SPAWN_TIMEOUT, with_fds=True)
            if "timeout" in message:  # a late answer would be taken for the next request's: retire it
                self.dead = True
                threading.Thread(target=self.close, daemon=True).start()
        if "spawned" not in message or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise ZygoteError(str(message.get("error", message)))
        pid = int(message["spawned"])
        with self._exited:
            self._exits.pop(pid, None)  # an earlier child with the same pid, long gone
        return pid, fds[0]

    def modules(self) -> list[str]:
        """The names of the modules the zygote has imported."""
        with self._request_lock:
            self.control.send(json.dumps({"modules": None}).encode())
            return list(self._reply(SPAWN_TIMEOUT).get("modules", []))

    def exit_code(self, pid: int, timeout: float) -> int | None:
        """The return code of child ``pid`` once the zygote reaped it (None: not within ``timeout``)."""
        with self._exited:
            self._exited.wait_for(lambda: pid in self._exits or self.dead, timeout)
            return self._exits.pop(pid, None)

    def close(self) -> None:
        """Stop the zygote (it kills the kernels it still has) and remove its home."""
        try:
            self.control.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.control.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)


_zygotes: dict[tuple[int, frozenset], Zygote] = {}
_zygote_lock = threading.Lock()
_failures = 0


def import_roots(config: dict | None) -> tuple[str, ...] | None:
    """The folders a kernel in sandbox ``config`` can import from (None: whatever the environment
    says). A sandbox that hides the file system shows the kernel only the Python installation
    (:func:`course.sandbox._python_paths`): a module the zygote imported from anywhere else (a
    ``$PYTHONPATH`` checkout) would be a file the kernel cannot see, so the zygote imports only
    from these, as an exec-started kernel in that sandbox would."""
    if not config or not config.get("namespaces"):
        return None
    from course.sandbox import _python_paths

    return _python_paths()


def zygote_for(startup: dict[str, str], roots: tuple[str, ...] | None = None) -> Zygote:
    """This process's zygote for ``startup`` environment and import ``roots``, started (again) when needed."""
    global _failures
    key = (os.getpid(), frozenset(startup.items()), roots)
    with _zygote_lock:
        zygote = _zygotes.get(key)
        if zygote is not None and not zygote.dead:
            return zygote
        if zygote is not None:
            log.warning("course: the kernel zygote (pid %s) died; starting a new one", zygote.pid)
            _zygotes.pop(key).close()
        if _failures >= MAX_FAILURES:
            raise ZygoteError(f"the zygote failed {_failures} times in this process")
        try:
            zygote = Zygote(startup, roots)
        except ZygoteError:
            _failures += 1
            raise
        _zygotes[key] = zygote
        return zygote


@atexit.register
def shutdown_zygotes() -> None:
    """Stop this process's zygotes (each kills the kernels it still has)."""
    with _zygote_lock:
        for key in [k for k in _zygotes if k[0] == os.getpid()]:
            _zygotes.pop(key).close()


class ForkProvisioner(LocalProvisioner):
    """Starts the kernel as a fork of the zygote; falls back to ``exec_prefix + cmd`` (LocalProvisioner).

    Set ``sandbox_config`` (the :mod:`course.sandbox_exec` configuration, None without a sandbox)
    and ``exec_prefix`` (the launcher command the exec path puts before the kernel command).
    """

    sandbox_config: dict | None = None
    exec_prefix: list[str] = []
    forked = False
    _pidfd: int | None = None
    _returncode: int | None = None
    _zygote: Zygote | None = None

    @property
    def has_process(self) -> bool:
        return self._pidfd is not None if self.forked else super().has_process

    def _request(self, cmd: list[str], kwargs: dict[str, Any]) -> dict | None:
        """The zygote's request for kernel command ``cmd``, or None when it cannot be forked."""
        if cmd[:len(self.exec_prefix)] != self.exec_prefix:
            return None
        kernel_cmd = cmd[len(self.exec_prefix):]
        if kernel_cmd[:3] != [sys.executable, "-m", "ipykernel_launcher"] or not hasattr(os, "pidfd_open"):
            return None
        env = kernel_environment(kwargs.get("env") or os.environ, self.sandbox_config or {})
        return {"config": self.sandbox_config, "env": env, "argv": kernel_cmd[3:],
                "cwd": str(kwargs.get("cwd") or (self.sandbox_config or {}).get("cwd") or os.getcwd())}

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        self.forked, self._returncode, self._zygote = False, None, None
        request = self._request(cmd, kwargs)
        if request is None:
            log.warning("course: kernel command %s cannot be forked; starting it by exec", cmd[len(self.exec_prefix):][:3])
            return await super().launch_kernel(cmd, **kwargs)
        try:
            zygote = zygote_for(startup_env(request["env"]), import_roots(request["config"]))
            pid, pidfd = zygote.spawn(request)
        except ZygoteError as error:
            log.warning("course: kernel fork failed (%s); starting the kernel by exec", error)
            return await super().launch_kernel(cmd, **kwargs)
        self.forked, self._zygote, self._pidfd = True, zygote, pidfd
        self.pid = self.pgid = pid  # the child made itself a session and process group leader
        self.cwd = request["cwd"]
        return self.connection_info

    async def poll(self) -> int | None:
        if not self.forked:
            return await super().poll()
        if self._returncode is not None or self._pidfd is None:
            return self._returncode if self._returncode is not None else 0
        readable, _, _ = select.select([self._pidfd], [], [], 0)
        if not readable:
            return None
        code = self._zygote.exit_code(self.pid, timeout=5.0) if self._zygote is not None else None
        self._returncode = code if code is not None else -signal.SIGKILL  # the zygote died with it
        return self._returncode

    async def wait(self) -> int | None:
        if not self.forked:
            return await super().wait()
        while await self.poll() is None:
            await asyncio.sleep(0.05)
        self._close_pidfd()
        return self._returncode

    async def send_signal(self, signum: int) -> None:
        if not self.forked:
            return await super().send_signal(signum)
        if self._pidfd is None:
            return
        try:
            os.killpg(self.pgid, signum)
            return
        except OSError:
            pass
        signal.pidfd_send_signal(self._pidfd, signum)

    async def kill(self, restart: bool = False) -> None:
        if not self.forked:
            return await super().kill(restart)
        try:
            await self.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass

    async def terminate(self, restart: bool = False) -> None:
        if not self.forked:
            return await super().terminate(restart)
        try:
            await self.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass

    async def cleanup(self, restart: bool = False) -> None:
        if self.forked and self._returncode is not None:
            self._close_pidfd()
        await super().cleanup(restart)

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
