"""The fork-server kernel start (``COURSE_KERNEL_START=fork``): a forked kernel is as isolated as
an exec-started one, and the zygote it comes from holds nothing of the course.

Each property is checked from outside the kernel where it can be (the grader reads ``/proc``),
and from inside where only the kernel can tell (what it may read, its environment).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest

from course import kernel_fork, sandbox
from course.kernel_session import KernelSession
from course.pipeline import GRADING_ENV
from course.sandbox import Sandbox

#: what this machine enforces (the uid and hidden-folder checks apply where it does)
SUPPORT = sandbox.support()

REPORT = r'''
import json, os, sys
def _readable(path):
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        return True
    except OSError:
        return False
def _fds():
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[name] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass
    return found
print(json.dumps({"pid": os.getpid(), "uid": os.getuid(), "env": dict(os.environ), "cwd": os.getcwd(),
                  "readable": {p: _readable(p) for p in %r}, "fds": _fds(),
                  "course_modules": sorted(m for m in sys.modules if m == "course" or m.startswith("course."))}))
'''


def _notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def _kernel_env() -> dict[str, str]:
    return {**os.environ, **GRADING_ENV, "PYTHONSAFEPATH": "1"}


def _report(session: KernelSession, index: int) -> dict:
    outcome = session.run(index)
    assert outcome.status == "ok", (outcome, session.notebook.cells[index].outputs)
    text = "".join(o.get("text", "") for o in session.notebook.cells[index].outputs if o.get("name") == "stdout")
    return json.loads(text.strip().splitlines()[-1])


def _inode(link: str) -> str:
    return link.split("[", 1)[1].rstrip("]") if "[" in link else link


def _zygote(session: KernelSession) -> kernel_fork.Zygote:
    """The zygote that forked ``session``'s kernel (other tests in this process may have their own,
    started with another environment)."""
    zygote = session.client.km.provisioner._zygote
    live = [z for key, z in kernel_fork._zygotes.items() if key[0] == os.getpid() and not z.dead]
    assert zygote is not None and zygote in live
    return zygote


@pytest.fixture(autouse=True)
def fork_mode(monkeypatch):
    monkeypatch.setenv(kernel_fork.KERNEL_START_ENV, "fork")


def test_forked_kernel_is_sandboxed_and_starts_clean(tmp_path):
    hidden = tmp_path / "course"
    hidden.mkdir()
    (hidden / "solutions.py").write_text("ANSWER = 42\n")
    marker = os.open(tmp_path / "grader-only.txt", os.O_CREAT | os.O_WRONLY)  # inheritable: must not reach
    os.set_inheritable(marker, True)
    try:
        notebook = _notebook(REPORT % [str(hidden / "solutions.py")])
        with Sandbox(hide=[str(hidden)]) as box:
            box.work.mkdir()
            session = KernelSession(notebook, box, cell_timeout=30, env=_kernel_env())
            session.start()
            try:
                provisioner = session.client.km.provisioner
                assert isinstance(provisioner, kernel_fork.ForkProvisioner) and provisioner.forked
                report = _report(session, 0)
                zygote = _zygote(session)
                assert report["pid"] == session.pid == provisioner.pid != zygote.pid
                assert os.getpgid(session.pid) == session.pid  # its own process group, signalled as one
                assert Path(f"/proc/{session.pid}/status").read_text().count(f"PPid:\t{zygote.pid}\n") == 1
                if SUPPORT.separate_user:
                    assert report["uid"] == box.uid and 61000 <= box.uid < 62000
                env = report["env"]
                assert env["HOME"] == str(box.home) and env["MPLCONFIGDIR"] == f"{box.home}/.matplotlib"
                assert env["JPY_PARENT_PID"] == str(zygote.pid)
                assert env["PYTHONHASHSEED"] == "0" and env["OPENBLAS_NUM_THREADS"] == "1"
                assert report["cwd"] == str(box.work)
                if SUPPORT.namespaces:
                    assert report["readable"] == {str(hidden / "solutions.py"): False}
                assert report["course_modules"] == []
                # no descriptor of the grader or the zygote: not the marker, not the control socket
                ours = {_inode(link) for link in report["fds"].values()}
                marker_target = str(tmp_path / "grader-only.txt")
                assert marker_target not in report["fds"].values()
                zygote_fds = {n: os.readlink(f"/proc/{zygote.pid}/fd/{n}") for n in os.listdir(f"/proc/{zygote.pid}/fd")}
                assert marker_target not in zygote_fds.values()
                shared = {_inode(t) for n, t in zygote_fds.items() if int(n) > 2} & ours
                assert not shared, f"the kernel holds the zygote's descriptors {shared}"
                assert len([n for n in zygote_fds if int(n) > 2]) == 3  # control socket + wake-up pipe
            finally:
                session.stop()
    finally:
        os.close(marker)


def test_interrupt_kill_and_no_leftovers():
    notebook = _notebook("import subprocess\nchild = subprocess.Popen(['sleep', '300'])\nprint(child.pid)",
                         "while True:\n    pass", "print('after')")
    with Sandbox() as box:
        box.work.mkdir()
        session = KernelSession(notebook, box, cell_timeout=2, env=_kernel_env())
        session.start()
        pid = session.pid
        try:
            assert session.run(0).status == "ok"
            child = int(notebook.cells[0].outputs[-1]["text"])
            outcome = session.run(1)  # SIGINT after 2 s of own time
            assert outcome.status == "timeout", outcome
            assert session.run(2).status == "ok" and session.pid == pid  # the same kernel goes on
            assert notebook.cells[2].outputs[-1]["text"] == "after\n"
            uid = box.uid
        finally:
            session.stop()
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists() and not Path(f"/proc/{child}").exists():
                break
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists(), "the kernel (or its zombie) is still there"
        assert not Path(f"/proc/{child}").exists(), "the kernel's child outlived it"
        if uid is not None:
            assert sandbox._live_processes_of(uid) == []


def test_zygote_holds_no_course_module_and_a_dead_zygote_is_replaced(caplog):
    notebook = _notebook("print(1 + 1)")
    with Sandbox() as box:
        box.work.mkdir()
        session = KernelSession(notebook, box, cell_timeout=30, env=_kernel_env())
        session.start()
        zygote = _zygote(session)
        session.stop()
        modules = zygote.modules()
        assert "numpy" in modules and "ipykernel.kernelapp" in modules and "matplotlib.pyplot" in modules
        course = sorted(m for m in modules if m == "course" or m.startswith("course."))
        assert course == ["course", "course.sandbox_exec"], course  # and __main__ (course.zygote itself)
        assert not any(m in modules for m in ("tqdm.auto", "ipywidgets", "course.reference"))

        os.kill(zygote.pid, signal.SIGKILL)
        zygote.process.wait(timeout=10)
        with caplog.at_level(logging.WARNING, logger="course.kernel_fork"):
            session.start()  # a new zygote (and, had that failed, an exec start)
        try:
            assert "died" in caplog.text
            assert session.run(0).status == "ok" and notebook.cells[0].outputs[-1]["text"] == "2\n"
            assert _zygote(session).pid != zygote.pid
        finally:
            session.stop()


def test_exec_mode_is_kept(monkeypatch):
    monkeypatch.setenv(kernel_fork.KERNEL_START_ENV, "exec")
    with Sandbox() as box:
        manager = box.manager()
        assert manager.fork is False
    monkeypatch.setenv(kernel_fork.KERNEL_START_ENV, "spawn")
    with pytest.raises(ValueError, match="fork' or 'exec"):
        kernel_fork.kernel_start_mode()


@pytest.mark.skipif(not SUPPORT.namespaces, reason="this machine's sandbox cannot hide folders")
def test_a_pythonpath_checkout_the_kernel_cannot_see_is_not_preloaded(tmp_path, monkeypatch):
    """A copy of hwlib on $PYTHONPATH outside the Python installation: the sandbox hides it from
    the kernel, so the zygote must not preload it either (else ``hwlib.cifar``, never preloaded,
    cannot be found later). Both starts must import the same hwlib."""
    import shutil

    import hwlib

    shadow = tmp_path / "checkout"
    shutil.copytree(Path(hwlib.__file__).parent, shadow / "hwlib", ignore=shutil.ignore_patterns("__pycache__"))
    pythonpath = os.pathsep.join(p for p in (str(shadow), os.environ.get("PYTHONPATH", "")) if p)
    source = "import hwlib, hwlib.cifar, hwlib.checks\nprint(hwlib.__file__, hwlib.cifar.__file__, hwlib.checks.__file__)"
    seen = {}
    for mode in ("exec", "fork"):
        monkeypatch.setenv(kernel_fork.KERNEL_START_ENV, mode)
        notebook = _notebook(source)
        with Sandbox() as box:
            box.work.mkdir()
            session = KernelSession(notebook, box, cell_timeout=60, env={**_kernel_env(), "PYTHONPATH": pythonpath})
            session.start()
            try:
                assert getattr(session.client.km.provisioner, "forked", False) == (mode == "fork")
                outcome = session.run(0)
                assert outcome.status == "ok", (mode, notebook.cells[0].outputs)
                seen[mode] = notebook.cells[0].outputs[-1]["text"].split()
            finally:
                session.stop()
    assert seen["fork"] == seen["exec"]
    assert not any(path.startswith(str(shadow)) for path in seen["fork"])


def test_a_forked_kernels_peak_memory_reaches_the_grader():
    """Forked kernels are the zygote's children, not the grader's: their peak comes back with their exit."""
    notebook = _notebook("import numpy as np\nblock = np.ones(300 * 2**20 // 8)\nprint(block.nbytes)")
    with Sandbox() as box:
        box.work.mkdir()
        session = KernelSession(notebook, box, cell_timeout=60, env=_kernel_env())
        session.start()
        try:
            assert session.run(0).status == "ok"
        finally:
            session.stop()
    assert kernel_fork.largest_forked_kernel_mb() >= 300
