"""The grading sandbox on its own: a short program launched through it, checked from outside.

The red-team suite (``test_redteam.py``) shows the same properties end to end
through whole grading runs; these tests name the property that broke in seconds.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course import sandbox
from course.sandbox import Policy, Sandbox

REPO = Path(__file__).resolve().parents[1]
SUPPORT = sandbox.support()

needs_namespaces = pytest.mark.skipif(not SUPPORT.namespaces, reason=f"no namespaces here: {SUPPORT.note}")
needs_root = pytest.mark.skipif(not SUPPORT.separate_user, reason="a separate user needs the grader to be root")

PROBE = r'''
import json, os, resource, socket, sys
port = int(sys.argv[1])
report = {"uid": os.getuid(), "cwd": os.getcwd()}
def readable(path):
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        return True
    except OSError:
        return False
report["readable"] = {p: readable(p) for p in sys.argv[2:]}
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    report["network"] = "open"
except OSError as error:
    report["network"] = type(error).__name__
report["limits"] = {"data": resource.getrlimit(resource.RLIMIT_DATA)[0],
                    "file_size": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
                    "core": resource.getrlimit(resource.RLIMIT_CORE)[0]}
import numpy, matplotlib, hwlib  # the kernel's own packages stay importable
with open("written.txt", "w") as handle:
    handle.write("the work copy is writable")
print(json.dumps(report))
'''


def _probe(box: Sandbox, port: int, paths: list[str]) -> dict:
    box.work.mkdir(exist_ok=True)
    result = subprocess.run([*box.launcher(), sys.executable, "-c", PROBE, str(port), *paths],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.1)
    yield server
    server.close()


def test_describe_names_what_is_enforced():
    text = sandbox.describe(SUPPORT)
    assert text and ("memory" in text or "limit" in text), text


@needs_namespaces
def test_hidden_material_network_and_limits(tmp_path, listener):
    secret = tmp_path / "gradebook.db"
    secret.write_text("hidden")
    paths = [str(secret), str(REPO / "autograder" / "tests" / "layers.py"), str(REPO / "notebooks" / "02_layers.ipynb")]
    assert all(Path(p).is_file() for p in paths)  # readable here, by the grader
    with Sandbox(Policy(memory_mb=1024, file_size_mb=8)) as box:
        report = _probe(box, listener.getsockname()[1], paths)
        assert (box.work / "written.txt").read_text() == "the work copy is writable"
    assert report["readable"] == {p: False for p in paths}, "hidden material was readable from the sandbox"
    assert report["network"] in ("OSError", "ConnectionRefusedError") or "Unreachable" in report["network"]
    with pytest.raises(OSError):  # nothing ever arrived
        listener.accept()
    assert report["limits"] == {"data": 1024 * 2**20, "file_size": 8 * 2**20, "core": 0}
    assert resource.getrlimit(resource.RLIMIT_DATA)[0] != 1024 * 2**20  # the grader itself is untouched


@needs_root
def test_separate_user_and_leftover_processes_are_killed(tmp_path):
    with Sandbox() as box:
        box.work.mkdir()
        report = _probe(box, 9, [])
        assert 61000 <= report["uid"] < 62000 and report["uid"] != os.getuid()
        # a process that detaches from the kernel's session and would outlive it
        subprocess.run([*box.launcher(), "sh", "-c", "setsid sleep 300 >/dev/null 2>&1 &"], check=True, timeout=30)
        time.sleep(0.3)
        assert sandbox._live_processes_of(box.uid), "the detached process should still be running"
        uid = box.uid
    assert sandbox._live_processes_of(uid) == []


def test_switched_off_launches_plainly(monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX", "off")
    with Sandbox() as box:
        assert box.manager().launcher_prefix == []


def test_top_level_folders_outside_the_system_are_hidden():
    hidden = sandbox.default_hidden()
    assert "/tmp" in hidden and "/root" in hidden
    assert not {"/usr", "/etc", "/proc", "/dev", "/bin", "/lib"} & set(hidden)
    for entry in os.scandir("/"):
        if entry.is_dir(follow_symlinks=False) and entry.name not in sandbox.SYSTEM_FOLDERS:
            assert f"/{entry.name}" in hidden


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only CI's machine is known to allow everything")
def test_ci_machine_enforces_everything():
    """CI runs as root with namespaces: nothing above may be skipped there."""
    assert SUPPORT.namespaces and SUPPORT.separate_user, SUPPORT.note


def test_memory_cgroup_limits_a_process_tree():
    """What ``course gradescope run`` uses to stand in for the container's 768 MB."""
    from course.memory_cgroup import memory_cgroup

    grow = "x = bytearray(300 * 2**20); print('survived')"
    with memory_cgroup(100) as group:
        if group is None:
            if os.environ.get("CI") == "true":
                pytest.fail("CI's machine can make memory cgroups")
            pytest.skip("no memory cgroup here (needs root)")
        result = subprocess.run([sys.executable, "-c", grow], preexec_fn=group.enter, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == -9 and "survived" not in result.stdout  # the OOM killer took it
        assert 90 <= (group.peak_mb() or 100) <= 101
        path = group.path
    assert not path.exists()


FORK_BOMB = ("import os\nfor _ in range(12):\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
             "print('child or parent', os.getpid())\n")


def _code_notebook(*sources: str):
    import nbformat

    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources],
                                    metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})


@pytest.mark.slow
@needs_root
def test_a_fork_bomb_is_graded_like_any_failure():
    """The forked kernels return to the kernel's loop and share its sockets: they are killed when
    the cell ends, the notebook goes on, and nothing of the sandbox user is left."""
    from course.pipeline import Limits, executed

    notebook = _code_notebook("a = 1", FORK_BOMB, "b = 2\nprint(a + b)")
    with Sandbox() as box:
        box.work.mkdir()
        uid = box.uid
        with executed(notebook, box, Limits(cell_timeout=20, notebook_timeout=120)) as run:
            pass
    assert run.status == "graded", run
    assert notebook.cells[2].outputs[-1]["text"] == "3\n"
    assert sandbox._live_processes_of(uid) == []


@pytest.mark.slow
def test_garbled_kernel_messages_skip_the_cell_not_the_notebook(monkeypatch):
    """What jupyter_client raises on a message written by several processes at once ("Invalid
    Signature") ends the cell like a kernel death: replayed as its definitions, the rest graded."""
    from course.kernel_session import GradingClient
    from course.pipeline import Limits, executed

    original = GradingClient.execute_cell
    garbled = []

    def execute_cell(self, cell, index, **kwargs):
        if "garble" in cell.source and not garbled:
            garbled.append(index)
            raise ValueError("Invalid Signature: b'...'")
        return original(self, cell, index, **kwargs)

    monkeypatch.setattr(GradingClient, "execute_cell", execute_cell)
    notebook = _code_notebook("a = 1", "def f():\n    return 2\ngarble = 1", "print(a + f())")
    with Sandbox() as box:
        box.work.mkdir()
        with executed(notebook, box, Limits(cell_timeout=20, notebook_timeout=120)) as run:
            pass
    assert run.status == "graded", run
    assert run.kernel_starts == 2
    assert notebook.cells[2].outputs[-1]["text"] == "3\n"


@pytest.mark.slow
def test_kernel_starts_leave_no_descriptor_open_in_the_grader():
    """A grading worker lives for many notebooks: each kernel's zmq context and channels are closed
    when it stops (they held about a dozen descriptors per kernel, so a worker under the usual limit
    of 1,024 would have failed after some 75 notebooks)."""
    from course.kernel_session import KernelSession

    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    notebook = _code_notebook("x = 1")
    counts = []
    for _ in range(4):
        with Sandbox() as box:
            box.work.mkdir()
            session = KernelSession(notebook, box, cell_timeout=30, env={})
            session.start()
            assert session.run(0).status == "ok"
            session.stop()
        counts.append(open_descriptors())
    assert counts[-1] <= counts[0], f"descriptors open after each kernel: {counts}"
