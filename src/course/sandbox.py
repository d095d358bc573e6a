"""The grader side of the sandbox that student kernels run in.

:class:`Sandbox` prepares one kernel's private folder (``work/``, a throwaway
copy of the submission; ``kernel/`` for the connection file and sockets;
``home/``), writes the launcher configuration for :mod:`course.sandbox_exec`,
and afterwards kills every process the student's code left behind.

What is enforced depends on the machine, found out once per process by
:func:`support` (a trial launch):

* **always**: resource limits (memory as address space, file size, open files,
  no core dumps); the throwaway copy; per-cell, per-case and per-notebook time
  limits (in :mod:`course.pipeline`).
* **as root** (Gradescope, CI): a dedicated unprivileged user per kernel (uid
  61000-61999, no groups), a process limit, and cleanup of everything that user
  still runs afterwards.
* **with Linux namespaces** (root, or a user namespace): no network at all, and
  the course's hidden material (gradebook, source notebooks, hidden tests, other
  students' folders, home folders, ``/tmp``) covered by empty folders.

What cannot be enforced is said once, plainly, by :func:`describe`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from course.calibration import processes_of, stat_fields

#: Range of user ids handed to sandboxed kernels when the grader runs as root.
UID_RANGE = range(61000, 62000)
_LOCK_DIR = Path(tempfile.gettempdir()) / "course-sandbox-uids"


@dataclass
class Policy:
    """Limits for one student kernel.

    Attributes:
        memory_mb: data limit (heap and anonymous memory, RLIMIT_DATA) of the kernel and of each
            process it starts; ``$COURSE_SANDBOX_MEMORY_MB`` overrides the default.
        processes: processes and threads the sandbox user may run at once (root only).
        file_size_mb: largest file the kernel may write.
        open_files: file descriptors per process.
        isolate: use namespaces (no network, hidden course files) where possible.
        hide: extra folders to cover (the course directory etc. are added by the grader).
    """

    memory_mb: int = field(default_factory=lambda: int(os.environ.get("COURSE_SANDBOX_MEMORY_MB", 2048)))
    processes: int = 256
    file_size_mb: int = 256
    open_files: int = 1024
    isolate: bool = True
    hide: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Support:
    """What this machine lets the grader enforce."""

    root: bool
    namespaces: bool
    separate_user: bool
    note: str = ""


@lru_cache(maxsize=1)
def _python_paths() -> tuple[str, ...]:
    """Folders the kernel's interpreter needs: prefixes, the standard library, site-packages and
    the folders ``.pth`` files add (an editable install's ``src/``). Not the grader's own sys.path[0].
    Read once per process (every kernel start asks)."""
    import site

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(v for v in sysconfig.get_paths().values() if v)
    packages = [*site.getsitepackages(), site.getusersitepackages()]
    paths.update(packages)
    for folder in packages:
        for pth in Path(folder).glob("*.pth") if os.path.isdir(folder) else []:
            for line in pth.read_text(errors="replace").splitlines():
                if line.startswith("/") and os.path.isdir(line.strip()):
                    paths.add(line.strip())
    found = {p for p in paths if os.path.exists(p)}
    return tuple(sorted(found | {os.path.realpath(p) for p in found}))


#: Top-level folders a kernel keeps seeing: the operating system and package stores, nothing a
#: course keeps its files in. Every other top-level folder (/work, /opt, /srv, /mnt, /var, /run,
#: /autograder ...) is covered, and only the interpreter's own folders are mounted back.
SYSTEM_FOLDERS = frozenset({"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "sys",
                            "nix", "gnu", "snap"})


def _top_level_folders() -> list[str]:
    """Real (non-symlink) top-level folders that are not :data:`SYSTEM_FOLDERS`."""
    try:
        entries = list(os.scandir("/"))
    except OSError:
        return []
    return sorted(f"/{e.name}" for e in entries
                  if e.name not in SYSTEM_FOLDERS and e.is_dir(follow_symlinks=False))


def default_hidden() -> list[str]:
    """Folders covered in every sandbox: every top-level folder outside the operating system
    (homes, temporary folders, wherever a course or checkout lives), and this checkout."""
    hidden = [*_top_level_folders(), "/root", "/home", "/tmp", "/var/tmp", "/dev/shm", tempfile.gettempdir()]
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").exists() and (checkout / "autograder").is_dir():
        hidden.append(str(checkout))  # a git checkout holds solutions and hidden tests
    return hidden


def _allocate_uid() -> tuple[int, object]:
    """A free sandbox uid, held by an exclusive lock until released."""
    _LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    start = os.getpid() % len(UID_RANGE)
    for offset in range(len(UID_RANGE)):
        uid = UID_RANGE[(start + offset) % len(UID_RANGE)]
        handle = open(_LOCK_DIR / f"{uid}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, handle
        except OSError:
            handle.close()
    raise RuntimeError("no free sandbox user id (1000 kernels at once?)")


def _live_processes_of(uid: int) -> list[int]:
    """PIDs owned by ``uid`` that are not zombies (a zombie holds no resources and cannot be killed)."""
    return [pid for pid in processes_of(uid) if (fields := stat_fields(pid)) is not None and fields[0] != "Z"]


def kill_user_processes(uid: int, attempts: int = 50, keep: int | None = None) -> int:
    """SIGKILL every process owned by ``uid`` but ``keep`` (repeatedly, in case one was forking).
    Returns how many."""
    killed = 0
    for _ in range(attempts):
        found = [pid for pid in _live_processes_of(uid) if pid != keep]
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        killed += len(found)
        if not found:
            break
        time.sleep(0.01)
    return killed


class Sandbox:
    """One kernel's sandbox: folders, launcher configuration, cleanup.

    Use as a context manager; ``manager()`` gives a KernelManager whose kernel
    starts inside it.
    """

    def __init__(self, policy: Policy | None = None, *, hide: list[str] = (), read_only: list[str] = (),
                 env: dict[str, str] | None = None, enforce: Support | None = None) -> None:
        self.policy = policy or Policy()
        self.support = enforce or support()
        self.root = Path(tempfile.mkdtemp(prefix="sandbox-"))
        self.work, self.kernel_dir, self.home = self.root / "work", self.root / "kernel", self.root / "home"
        for folder in (self.kernel_dir, self.home):
            folder.mkdir()
        self.uid: int | None = None
        self._uid_lock = None
        if self.support.separate_user:
            self.uid, self._uid_lock = _allocate_uid()
            self.root.chmod(0o711)  # the sandbox user may pass through, not list
        self._hide = [*default_hidden(), *self.policy.hide, *hide]
        self._read_only = [p for p in read_only if p]
        self._env = dict(env or {})
        _seed_matplotlib_cache(self.home / ".matplotlib")

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def config(self) -> dict:
        """The launcher configuration (JSON-ready)."""
        limits = {"data": self.policy.memory_mb * 2**20, "file_size": self.policy.file_size_mb * 2**20,
                  "open_files": self.policy.open_files, "core": 0}
        if self.uid is not None:
            limits["processes"] = self.policy.processes
        home = str(self.home)
        return {
            "uid": self.uid, "gid": self.uid, "chown": [str(self.work), str(self.kernel_dir), home],
            "namespaces": self.support.namespaces and self.policy.isolate,
            "hide": self._hide, "expose_rw": [str(self.root)], "expose_ro": [*_python_paths(), *self._read_only],
            "cwd": str(self.work), "limits": limits,
            "env": {"HOME": home, "IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.matplotlib",
                    "XDG_CACHE_HOME": f"{home}/.cache", "XDG_CONFIG_HOME": f"{home}/.config",
                    "JUPYTER_RUNTIME_DIR": f"{home}/.runtime", "TMPDIR": "/tmp" if self.support.namespaces
                    else home, **self._env},
        }

    def launcher(self, config: dict | None = None) -> list[str]:
        """The command prefix that starts a program inside this sandbox (``config``: :meth:`config`)."""
        path = self.root / "sandbox.json"
        path.write_text(json.dumps(config or self.config()))
        return [sys.executable, "-m", "course.sandbox_exec", str(path), "--"]

    def manager(self, **kwargs: object) -> AsyncKernelManager:
        """A kernel manager whose kernel starts in this sandbox (IPC sockets in ``kernel/``).

        Async, because nbclient can only time a silent endless loop out with an async client.
        """
        from course.kernel_fork import kernel_start_mode

        config = None if os.environ.get("COURSE_SANDBOX") == "off" else self.config()
        prefix = [] if config is None else self.launcher(config)
        self._starts = getattr(self, "_starts", 0) + 1  # fresh socket names: no stale message from a dead kernel
        manager = _SandboxedKernelManager(kernel_name="python3", transport="ipc",
                                          ip=str(self.kernel_dir / f"k{self._starts}"),
                                          connection_file=str(self.kernel_dir / f"connection-{self._starts}.json"),
                                          **kwargs)
        manager.launcher_prefix = prefix
        manager.fork = kernel_start_mode() == "fork"
        manager.sandbox_config = config
        return manager

    def kill_leftovers(self) -> int:
        """Kill every process the sandbox user still runs (root only); returns how many."""
        return kill_user_processes(self.uid) if self.uid is not None else 0

    def kill_strays(self, keep: int | None) -> int:
        """Kill every process of the sandbox user but the kernel ``keep`` (root only): what a cell
        left running (a fork bomb's children share the kernel's sockets). Returns how many."""
        if self.uid is None or keep is None:
            return 0
        return kill_user_processes(self.uid, keep=keep)

    def close(self) -> None:
        self.kill_leftovers()
        shutil.rmtree(self.root, ignore_errors=True)
        if self._uid_lock is not None:
            self._uid_lock.close()
            self._uid_lock = None


class _SandboxedKernelManager(AsyncKernelManager):
    """Starts its kernel behind the sandbox launcher (exec), or as a fork of the zygote (``fork``)."""

    launcher_prefix: list[str] = []
    #: start the kernel as a fork of :mod:`course.zygote` (:class:`course.kernel_fork.ForkProvisioner`)
    fork = False
    sandbox_config: dict | None = None

    async def _async_pre_start_kernel(self, **kw: object) -> tuple[list[str], dict]:
        if self.fork and self.provisioner is None:
            from course.kernel_fork import ForkProvisioner

            self.kernel_id = self.kernel_id or str(kw.pop("kernel_id", None) or uuid.uuid4())
            provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            provisioner.sandbox_config = self.sandbox_config
            provisioner.exec_prefix = list(self.launcher_prefix)
            self.provisioner = provisioner
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.launcher_prefix, *super().format_kernel_cmd(extra_arguments)]


def _seed_matplotlib_cache(target: Path) -> None:
    """Copy the grader's matplotlib font list, so each fresh kernel home skips a 1-2 s rebuild."""
    source = Path(os.environ.get("MPLCONFIGDIR") or Path.home() / ".cache" / "matplotlib")
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("fontlist-*.json") if source.is_dir() else []:
        shutil.copy2(path, target / path.name)


_TRIAL = ("import socket, os\n"
          "s = socket.socket(); s.settimeout(1)\n"
          "try:\n    s.connect(('127.0.0.1', 9)); net = 'open'\n"
          "except OSError as e:\n    net = 'refused' if isinstance(e, ConnectionRefusedError) else 'blocked'\n"
          "print(os.getuid(), net)\n")


@lru_cache(maxsize=1)
def support() -> Support:
    """Find out, by trial launches, what this machine lets the sandbox enforce."""
    if os.environ.get("COURSE_SANDBOX") == "off":
        return Support(root=False, namespaces=False, separate_user=False,
                       note="the sandbox is switched off (COURSE_SANDBOX=off)")
    if not sys.platform.startswith("linux"):
        return Support(root=False, namespaces=False, separate_user=False,
                       note=f"on {sys.platform} only time limits and the throwaway copy apply")
    root = os.geteuid() == 0
    for namespaces, separate in ((True, root), (False, root), (False, False)):
        trial = Sandbox(Policy(), enforce=Support(root, namespaces, separate))
        trial.work.mkdir()
        try:
            done = subprocess.run([*trial.launcher(), sys.executable, "-c", _TRIAL], capture_output=True,
                                  text=True, timeout=60, cwd=trial.root)
            words = done.stdout.split()
            if done.returncode == 0 and len(words) == 2 and (not namespaces or words[1] == "blocked"):
                return Support(root, namespaces, separate, _note(root, namespaces, separate))
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            trial.close()
    return Support(root, False, False, "the sandbox launcher failed here; only time limits apply")


def _note(root: bool, namespaces: bool, separate: bool) -> str:
    missing = []
    if not separate:
        missing.append("student code runs as the grader's own user (run the grader as root for a separate "
                       "user, a process limit and cleanup of leftover processes)" if not root else
                       "student code runs as root: switching to an unprivileged user failed")
    if not namespaces:
        missing.append("no network isolation and no hiding of course files (Linux namespaces are not "
                       "available here, e.g. inside a container without CAP_SYS_ADMIN); hidden material is "
                       "protected only by file permissions")
    return "; ".join(missing)


def describe(support_: Support | None = None) -> str:
    """One plain sentence on what the sandbox enforces on this machine."""
    found = support_ or support()
    applied = ["time limits", "memory/file-size/open-file limits", "a throwaway copy"]
    if found.separate_user:
        applied += ["a separate unprivileged user", "a process limit", "cleanup of leftover processes"]
    if found.namespaces:
        applied += ["no network", "hidden course files"]
    text = "sandbox: " + ", ".join(applied)
    return text + (f". Not enforced: {found.note}." if found.note else ".")
