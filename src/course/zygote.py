"""The kernel fork server ("zygote"): one clean, pre-imported Python that forks student kernels.

    python -m course.zygote FD        (started by :mod:`course.kernel_fork`, never by hand)

Starting a grading kernel from scratch costs about two CPU-seconds, nearly all of it
importing ipykernel, numpy and matplotlib. The zygote imports them once, then forks one
fresh child per kernel; the child enters the same sandbox as ``course.sandbox_exec``
(:func:`course.sandbox_exec.enter`), takes the kernel's environment and runs ipykernel
in-process. Every student gets a fresh process no other student's code touched: the
zygote itself never runs student code, and a child is never reused.

What the zygote holds: imported library modules (:data:`PRELOAD`), its control socket
(fd ``FD``, a ``SOCK_SEQPACKET`` Unix socket to the grader) and the pids of its living
children. Nothing secret: it imports no other module of the ``course`` package than
this one and :mod:`course.sandbox_exec` (standard library only), reads no course file,
and is started with a reduced environment (see :func:`course.kernel_fork.startup_env`).

Protocol (one JSON object per message):

* zygote -> grader ``{"ready": pid}`` once the imports are done;
* grader -> zygote ``{"spawn": {"config": SANDBOX_CONFIG or null, "env": {...},
  "argv": [ipykernel arguments], "cwd": folder}}``; reply ``{"spawned": pid}`` with a
  pidfd of the child attached (SCM_RIGHTS), or ``{"error": text}``;
* grader -> zygote ``{"modules": null}``; reply ``{"modules": [names in sys.modules]}`` (tests);
* zygote -> grader ``{"exit": pid, "code": returncode, "peak_kb": maximum resident set}`` when
  a child ends (negative: killed by that signal), after the zygote reaped it.

When the control socket closes (the grader is gone) the zygote kills its children and exits.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import sys
import threading
import traceback

from course import sandbox_exec

#: Modules imported before the first fork: what every grading kernel loads at start (ipykernel,
#: the hidden set-up's numpy and numpy.testing) and what the notebooks import first (matplotlib,
#: the hwlib helpers that do not look at their surroundings when imported).
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
           "IPython.core.completer",
           "numpy", "numpy.testing", "json", "struct", "socket", "dataclasses", "warnings",
           "matplotlib", "matplotlib.pyplot", "matplotlib.backends.backend_agg",
           "hwlib.checks", "hwlib.gradcheck", "hwlib.graphdraw", "hwlib.plots", "hwlib.handout_graphs",
           "hwlib.optim", "hwlib.classifier", "hwlib.nbimport", "hwlib.unanswered")

#: Modules whose import-time behaviour depends on running inside a kernel (tqdm.auto picks its
#: notebook bar, ipywidgets looks for a comm manager): never imported before the fork.
NOT_PRELOADED = ("tqdm.auto", "tqdm.autonotebook", "ipywidgets")

#: Name prefix of the zygote's private home folder (removed when the zygote ends).
HOME_PREFIX = "course-zygote-"

#: Exit code of a child whose sandbox could not be entered (as ``course.sandbox_exec``).
SANDBOX_FAILED = 121

MAX_MESSAGE = 1 << 22


def _launcher_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec("ipykernel_launcher")
    return spec.origin if spec is not None and spec.origin else "ipykernel_launcher"


#: ``sys.argv[0]`` of an exec-started kernel (``python -m ipykernel_launcher``).
_LAUNCHER = _launcher_path()


#: Variables the preloaded modules added to the environment when imported (debugpy sets
#: PYDEVD_USE_FRAME_EVAL): each kernel gets them too, as if it had imported the modules itself.
IMPORT_ENV: dict[str, str] = {}


def preload() -> list[str]:
    """Import :data:`PRELOAD` (missing optional ones are skipped); the names that failed."""
    import importlib

    quiet = "PYDEVD_DISABLE_FILE_VALIDATION" not in os.environ
    if quiet:  # debugpy's import-time note on frozen modules goes to the grader's terminal otherwise
        os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    before = dict(os.environ)
    failed = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # an optional helper missing here: the kernel imports it itself
            failed.append(name)
    IMPORT_ENV.update({k: v for k, v in os.environ.items() if k not in before})
    if quiet:
        del os.environ["PYDEVD_DISABLE_FILE_VALIDATION"]
    leaked = [name for name in NOT_PRELOADED if name in sys.modules]
    if leaked:
        raise RuntimeError(f"zygote: preloading imported {leaked}, whose import depends on the kernel")
    return failed


def restrict_imports(roots: list[str]) -> None:
    """Keep only the ``sys.path`` entries under ``roots``: the folders the sandboxed kernel can see.

    An exec-started kernel in a sandbox that hides the file system finds nothing in a
    ``$PYTHONPATH`` folder outside them; a module preloaded from there would leave the kernel
    with a package whose other files it cannot read (``No module named 'hwlib.cifar'``).
    """
    def visible(entry: str) -> bool:
        path = os.path.realpath(entry or ".")
        return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)

    sys.path[:] = [entry for entry in sys.path if visible(entry)]
    sys.path_importer_cache.clear()


def _send(control: socket.socket, message: dict, fds: list[int] = ()) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(control, [data], list(fds))
    else:
        control.send(data)


# ----------------------------------------------------------------------------- the child


def _reset_signals() -> None:
    """The signal state of a freshly started Python (SIGINT raises KeyboardInterrupt, SIGPIPE ignored)."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def _refresh_cached_environment(env: dict[str, str]) -> None:
    """Replace the environment wholesale, then make imported modules forget what they read from it."""
    os.environ.clear()
    os.environ.update(env)
    import tempfile

    tempfile.tempdir = None  # gettempdir() caches $TMPDIR
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:  # configuration and cache folders are cached at first use
        for name, fmt in (("get_configdir", "CONFIGDIR=%s"), ("get_cachedir", "CACHEDIR=%s")):
            function = getattr(matplotlib, name, None)
            original = getattr(function, "__wrapped__", None)
            if original is not None and hasattr(matplotlib, "_logged_cached"):
                setattr(matplotlib, name, matplotlib._logged_cached(fmt)(original))
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # every kernel gets its own unpredictable global generator, as when started anew
        numpy.random.seed()


def _forget_course_modules() -> None:
    """The kernel starts without this package's modules (as ``python -m ipykernel_launcher`` would)."""
    for name in [n for n in sys.modules if n == "course" or n.startswith("course.")]:
        del sys.modules[name]


def run_child(request: dict, keep_fds: tuple[int, ...] = (0, 1, 2)) -> None:
    """In the forked child: enter the sandbox and become the kernel. Never returns."""
    code = 1
    try:
        _reset_signals()
        os.setsid()  # its own process group, which the grader signals (interrupts, kills)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.closerange(3, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 65536)
        config = request.get("config")
        try:
            if config is not None:
                sandbox_exec.enter(config)
        except (sandbox_exec.SandboxError, OSError) as error:
            sys.stderr.write(f"course sandbox: {error}\n")
            os._exit(SANDBOX_FAILED)
        env = {**IMPORT_ENV, **request["env"]}
        env["JPY_PARENT_PID"] = str(os.getppid())  # ipykernel's parent poller watches the zygote
        _refresh_cached_environment(env)
        os.chdir(request.get("cwd") or (config or {}).get("cwd") or os.getcwd())
        argv = [str(a) for a in request["argv"]]
        sys.argv = [_LAUNCHER, *argv]
        _forget_course_modules()
        from ipykernel.kernelapp import IPKernelApp

        # read from the environment when ipykernel was imported (in the zygote): set from this one
        IPKernelApp.launch_instance(argv=argv, parent_handle=int(env.get("JPY_PARENT_PID") or 0),
                                    interrupt=int(env.get("JPY_INTERRUPT_EVENT") or 0))
        code = 0
        import atexit

        atexit._run_exitfuncs()  # what a kernel that ends normally runs (IPython's history, ...)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)


# ----------------------------------------------------------------------------- the server


class Server:
    """The zygote's loop: fork on request, reap children, report their exits."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.children: set[int] = set()
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def spawn(self, request: dict) -> None:
        if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
            _send(self.control, {"error": "the zygote runs threads (BLAS threads?); it cannot fork safely"})
            return
        gc.freeze()  # the preloaded objects are never scanned again: fewer copy-on-write page faults
        try:
            pid = os.fork()
        except OSError as error:
            _send(self.control, {"error": f"fork failed: {error}"})
            return
        if pid == 0:
            self.children.clear()  # the kernel knows nothing of the other kernels
            run_child(request)
        self.children.add(pid)
        pidfd = os.pidfd_open(pid)  # the child stays a zombie until reaped below: race-free
        try:
            _send(self.control, {"spawned": pid}, [pidfd])
        finally:
            os.close(pidfd)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self.children.discard(pid)
            _send(self.control, {"exit": pid, "code": os.waitstatus_to_exitcode(status), "peak_kb": usage.ru_maxrss})

    def kill_children(self) -> None:
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def serve(self) -> None:
        signal.set_wakeup_fd(self._wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        gc.collect()
        _send(self.control, {"ready": os.getpid()})
        try:
            while True:
                ready, _, _ = select.select([self.control, self._wake_read], [], [])
                if self._wake_read in ready:
                    try:
                        os.read(self._wake_read, 4096)
                    except BlockingIOError:
                        pass
                self.reap()
                if self.control in ready:
                    data = self.control.recv(MAX_MESSAGE)
                    if not data:
                        return
                    request = json.loads(data)
                    if "spawn" in request:
                        self.spawn(request["spawn"])
                    elif "modules" in request:  # for the tests: what this process has imported
                        _send(self.control, {"modules": sorted(sys.modules)})
                    del request, data  # nothing of one kernel's request stays for the next fork
        finally:
            self.kill_children()


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's ^C is for the grader, which closes the socket
    if len(argv) not in (2, 3):
        sys.exit("usage: python -m course.zygote FD [IMPORT_ROOTS_JSON] (started by the grader)")
    control = socket.socket(fileno=int(argv[1]))
    os.set_inheritable(control.fileno(), False)
    if not sys.flags.safe_path and sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; the kernel's shell puts its own entry back
    if len(argv) == 3:
        restrict_imports(json.loads(argv[2]))
    failed = preload()
    if failed:
        sys.stderr.write(f"course zygote: not preloaded (imported by each kernel instead): {', '.join(failed)}\n")
    try:
        Server(control).serve()
    except OSError:
        pass  # the grader went away mid-message: its kernels are killed all the same
    finally:
        home = os.environ.get("HOME", "")
        if os.path.basename(home).startswith(HOME_PREFIX):  # the private home the grader made for it
            import shutil

            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)
