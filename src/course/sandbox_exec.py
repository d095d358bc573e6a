"""Enter the grading sandbox, then ``exec`` a command (the student's kernel).

    python -m course.sandbox_exec CONFIG.json -- python -m ipykernel_launcher -f ...

Runs as the grader's user, in the process that becomes the kernel. In order:

1. ``chown`` the kernel's own folders (work copy, sockets, home) to the sandbox user;
2. when asked (``namespaces``), unshare the mount and network namespaces (plus a
   user namespace when not root): no network interface is up, so nothing can be
   reached, not even 127.0.0.1; every ``hide`` folder is covered by an empty
   tmpfs, and only the ``expose`` paths inside them are mounted back;
3. resource limits (address space, processes, file size, open files, no core dumps),
   and the highest OOM-killer score, so the kernel dies first when memory runs out;
4. drop to the unprivileged ``uid``/``gid`` (when root), forbid regaining
   privileges, die with the grader;
5. ``exec`` the command.

Steps 1-4 are :func:`enter`, shared with the fork-server start (:mod:`course.zygote`), whose
forked child calls it, then takes :func:`kernel_environment` and runs ipykernel in-process.

Kept free of imports beyond the standard library: it runs before the kernel starts.
The configuration is written by :mod:`course.sandbox`, which also decides what
this machine supports.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from typing import Mapping

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

RLIMITS = {"data": resource.RLIMIT_DATA, "address_space": resource.RLIMIT_AS, "processes": resource.RLIMIT_NPROC,
           "file_size": resource.RLIMIT_FSIZE, "open_files": resource.RLIMIT_NOFILE,
           "core": resource.RLIMIT_CORE}

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(RuntimeError):
    """A step of entering the sandbox failed (the message names the step)."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(errno)} (errno {errno})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = (lambda s: s.encode() if s is not None else None)
    _check(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {target}")


def _chown_tree(path: str, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _enter_namespaces(config: dict) -> None:
    if os.geteuid() == 0:
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare mount+network namespaces")
    else:  # a user namespace lets an ordinary user do the same, still as themselves
        uid, gid = os.geteuid(), os.getegid()
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET), "unshare user+mount+network namespaces")
        with open("/proc/self/setgroups", "w") as handle:
            handle.write("deny")
        with open("/proc/self/uid_map", "w") as handle:
            handle.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as handle:
            handle.write(f"{gid} {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    hidden: list[str] = []
    for path in sorted(set(config.get("hide", [])), key=len):
        if os.path.isdir(path) and not any(_under(path, h) for h in hidden):
            hidden.append(path)
    exposed = [(p, False) for p in config.get("expose_rw", [])] + [(p, True) for p in config.get("expose_ro", [])]
    needed: list[tuple[str, bool, int]] = []
    for path, read_only in sorted(exposed, key=lambda e: len(e[0])):
        if not os.path.exists(path) or not any(_under(path, h) for h in hidden):
            continue
        if any(_under(h, path) for h in hidden):
            continue  # never uncover a hidden folder by exposing one of its parents
        if any(_under(path, p) and ro == read_only for p, ro, _ in needed):
            continue
        needed.append((path, read_only, os.open(path, os.O_PATH)))  # keeps the original reachable
    for path in hidden:
        mode = "1777" if path in ("/tmp", "/var/tmp", "/dev/shm") else "0755"
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size=64m,mode={mode}")
    for path, read_only, fd in needed:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "a").close()
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        if read_only:
            try:
                _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
            except SandboxError:
                pass  # locked mount flags in a user namespace; file permissions still apply
        os.close(fd)


def _set_limits(limits: dict) -> None:
    for name, value in limits.items():
        kind = RLIMITS[name]
        _, hard = resource.getrlimit(kind)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))


def _volunteer_for_oom_killer() -> None:
    """Be the first process the kernel's OOM killer picks (oom_score_adj 1000): when a container's
    memory runs out (Gradescope's 768 MB), the student's kernel dies, not the grader."""
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass  # not Linux, or /proc not writable: the memory rlimit still applies


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SandboxError("could not switch to the sandbox user")


def enter(config: dict) -> None:
    """Apply ``config`` to this process (see the module docstring for the steps)."""
    uid, gid = config.get("uid"), config.get("gid")
    if uid is not None:
        for path in config.get("chown", []):
            if os.path.exists(path):
                _chown_tree(path, uid, gid)
    if config.get("namespaces"):
        _enter_namespaces(config)
    if config.get("cwd"):
        os.chdir(config["cwd"])
    _set_limits(config.get("limits", {}))
    _volunteer_for_oom_killer()
    if uid is not None:
        _drop_privileges(uid, gid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(pdeathsig)")


def kernel_environment(base: Mapping[str, str], config: dict) -> dict[str, str]:
    """The environment of the sandboxed program: ``base`` with the configuration's entries on top."""
    env = dict(base)
    env.update(config.get("env", {}))
    return env


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: python -m course.sandbox_exec CONFIG.json -- COMMAND ...")
    with open(argv[1]) as handle:
        config = json.load(handle)
    try:
        enter(config)
    except (SandboxError, OSError) as error:
        sys.stderr.write(f"course sandbox: {error}\n")
        sys.exit(121)
    os.execvpe(argv[3], argv[3:], kernel_environment(os.environ, config))


if __name__ == "__main__":
    main(sys.argv)
