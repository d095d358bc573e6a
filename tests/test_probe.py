"""The probe: the grader hands out one case at a time, serves reference calls, and judges what came back."""

from __future__ import annotations

import json
import socket
import types

import numpy as np
import pytest

from course import kernel_runner, probe
from course.cases import Case, Ref, TimeLimit, call, evaluate, execute_calls
from course.source_checks import SourceIndex


def _reference_module():
    module = types.ModuleType("reference_layers")
    exec("import numpy as np\n"
         "def helper(x):\n    return x + 100\n"
         "def scale_in_place(x):\n    x *= 2\n    return None\n"
         "class Model:\n"
         "    def __init__(self, n):\n        self.w = np.arange(float(n))\n"
         "    def parameters(self):\n        return {'w': self.w}\n"
         "    def forward(self, x):\n        return x * self.w, (x,)\n"
         "def train(n):\n    model = Model(n)\n    model.w += 1\n    return model, {'steps': 3}\n", module.__dict__)
    module.Model.__module__ = "reference_layers"
    return module


REFERENCE = _reference_module()


def _probe(tmp_path, monkeypatch, namespace, cases, sources=None):
    """Serve ``cases`` and run the kernel side in this process (as the sandboxed kernel would)."""
    monkeypatch.chdir(tmp_path)
    with probe.ProbeServer(tmp_path, cases, lambda key: REFERENCE) as server:
        kernel_runner.probe(probe.SOCKET_NAME, 20.0, namespace)
    from course.cases import complete

    index = sources or SourceIndex([])
    return [complete(c, r, index) for c, r in zip(cases, server.executions())]


def fc_forward(x, w, b):
    return x.reshape(len(x), -1) @ w + b, (x, w, b)


def fc_backward(grad_out, cache):
    x, w, b = cache
    return (grad_out @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ grad_out, grad_out.sum(axis=0)


def _fc_case(rng, name="fc"):
    x, w, b = rng.standard_normal((2, 3, 2)), rng.standard_normal((6, 4)), rng.standard_normal(4)
    g = rng.standard_normal((2, 4))
    return Case(name, [call("fc_forward", x, w, b), call("fc_backward", g, Ref(0, (1,)))],
                expect={"0.0": fc_forward(x, w, b)[0], "1.1": fc_backward(g, (x, w, b))[1]})


def test_correct_code_passes_and_wrong_code_fails(tmp_path, monkeypatch):
    case = _fc_case(np.random.default_rng(0))
    runs = _probe(tmp_path, monkeypatch, {"fc_forward": fc_forward, "fc_backward": fc_backward}, [case])
    assert evaluate(case, runs[0]) is None and runs[0].seconds is not None

    def wrong_backward(grad_out, cache):
        x, w, b = cache
        return grad_out @ w.T, x.reshape(len(x), -1).T @ grad_out * 2, grad_out.sum(axis=1)

    runs = _probe(tmp_path, monkeypatch, {"fc_forward": fc_forward, "fc_backward": wrong_backward}, [case])
    assert "values differ" in evaluate(case, runs[0])


def test_both_paths_give_the_same_message_with_inputs(tmp_path, monkeypatch):
    """One executor: the in-process path and the probe report the same failure, "with input:" block included."""
    x = np.array([[-1.0, 2.0]])
    case = Case("relu", [call("relu", x)], expect={"0": np.maximum(x, 0)}, hint="max(x, 0)")

    def relu(x):
        return x * 2

    sources = SourceIndex(["def relu(x):\n    return x * 2\n"])
    kernel = evaluate(case, _probe(tmp_path, monkeypatch, {"relu": relu}, [case], sources)[0])
    local = evaluate(case, execute_calls(case, {"relu": relu}, None, sources))
    assert kernel == local and "with input" in kernel and "x" in kernel


def test_plain_data_outputs_keep_their_types(tmp_path, monkeypatch):
    def settings():
        return {"learning_rate": 0.5, "steps": 300, "name": "sgd", "shape": (2, 3)}

    seen = {}
    case = Case("settings", [call("settings")], fetch=("0",), check=lambda out: seen.update(out["0"]))
    runs = _probe(tmp_path, monkeypatch, {"settings": settings}, [case])
    assert evaluate(case, runs[0]) is None
    assert seen["steps"] == 300 and isinstance(seen["steps"], int) and seen["name"] == "sgd"
    assert list(seen["shape"]) == [2, 3]


def test_errors_warnings_and_missing_names(tmp_path, monkeypatch):
    def stub(x):
        raise NotImplementedError()

    def noisy(x):
        return np.exp(x)

    cases = [
        Case("stub", [call("stub", np.ones(2))], expect={"0": np.ones(2)}),
        Case("warn", [call("noisy", np.array([1000.0]))], expect={"0": np.array([np.inf])}, no_warnings=True),
        Case("missing", [call("nowhere", 1)], expect={"0": 1}),
    ]
    runs = _probe(tmp_path, monkeypatch, {"stub": stub, "noisy": noisy}, cases)
    messages = [evaluate(c, r) for c, r in zip(cases, runs)]
    assert "not implemented" in messages[0]
    assert "warning" in messages[1]
    assert "not defined" in messages[2]


def test_in_place_edits_are_found_by_the_grader(tmp_path, monkeypatch):
    def relu(x):
        x[x < 0] = 0
        return x

    x = np.array([-1.0, 2.0])
    case = Case("in place", [call("relu", x)], expect={"0": np.array([0.0, 2.0])})
    runs = _probe(tmp_path, monkeypatch, {"relu": relu}, [case])
    assert "argument #1 of relu in place" in evaluate(case, runs[0])
    local = execute_calls(case, {"relu": relu})
    assert evaluate(case, local) == evaluate(case, runs[0])
    # a kernel that leaves the arguments out of its answer gets nothing
    runs[0].arguments.clear()
    assert "no result" in evaluate(case, runs[0])


def test_reference_runs_in_the_grader_only(tmp_path, monkeypatch):
    """The kernel gets a stand-in that asks the grader; the reference's code never reaches it."""
    seen = {}

    def uses_helper(x):
        seen["helper"] = helper  # noqa: F821 - the stand-in put into the namespace
        return helper(x)  # noqa: F821

    namespace = {"helper": lambda x: x, "uses_helper": uses_helper}
    uses_helper.__globals__.update(namespace)
    case = Case("ref", [call("uses_helper", np.ones(2))], expect={"0": np.full(2, 101.0)},
                use_reference={"helper": "layers"})
    runs = _probe(tmp_path, monkeypatch, uses_helper.__globals__, [case])
    assert evaluate(case, runs[0]) is None
    stand_in = seen["helper"]
    assert stand_in is not REFERENCE.helper and "x + 100" not in repr(stand_in.__code__.co_consts)
    assert uses_helper.__globals__["helper"](1) == 1, "the student's own helper is restored afterwards"


def test_stand_in_refused_outside_its_case(tmp_path, monkeypatch):
    """A stand-in kept from an earlier case cannot be used while a case that tests the function runs."""
    kept = {}

    def grab(x):
        kept["helper"] = helper  # noqa: F821
        return helper(x)  # noqa: F821

    def cheat(x):
        return kept["helper"](x)

    grab.__globals__.update({"grab": grab, "cheat": cheat})
    cases = [Case("uses", [call("grab", 1.0)], expect={"0": 101.0}, use_reference={"helper": "layers"}),
             Case("tests helper", [call("cheat", 1.0)], expect={"0": 101.0})]
    runs = _probe(tmp_path, monkeypatch, grab.__globals__, cases)
    assert evaluate(cases[0], runs[0]) is None
    assert "only available during the case" in evaluate(cases[1], runs[1])


def test_reference_objects_keep_state_and_identity(tmp_path, monkeypatch):
    """A reference class lives in the kernel as state; the grader runs its methods; in-place edits go both ways."""

    def step(model, x):
        params = model.parameters()
        params["w"] += 1.0  # the optimizer's in-place update must reach the model
        return model.forward(x)[0], model.parameters()["w"]

    step.__globals__["step"] = step
    x = np.ones(3)
    cases = [Case("model", [call("Model", 3), call("step", Ref(0), x)], expect={"1.0": np.arange(3.0) + 1,
                                                                                  "1.1": np.arange(3.0) + 1},
                  use_reference={"Model": "layers"}),
             Case("train", [call("train", 2), call(Ref(0, (0,)), x[:2], method="forward")],
                  expect={"1.0": np.arange(2.0) + 1, "0.1.steps": 3}, use_reference={"train": "layers"}),
             Case("in place", [call("scale_in_place", x)], expect={}, use_reference={"scale_in_place": "layers"},
                  unmodified=False, fetch=())]
    runs = _probe(tmp_path, monkeypatch, step.__globals__, cases)
    assert [evaluate(c, r) for c, r in zip(cases, runs)] == [None, None, None]


def test_patched_tools_in_the_namespace_change_nothing(tmp_path, monkeypatch):
    """json, numpy's writers, dis, inspect and ast patched by a cell: the runner bound its own at load."""
    import ast
    import dis
    import inspect

    def relu(x):
        x[x < 0] = 0
        return x

    saved = json.dumps, np.savez, dis.get_instructions, inspect.getsource, ast.parse
    try:
        json.dumps = lambda *a, **k: "{}"
        np.savez = lambda *a, **k: None
        dis.get_instructions = lambda *a, **k: iter(())
        inspect.getsource = lambda *a, **k: ""
        ast.parse = lambda *a, **k: ast.Module(body=[], type_ignores=[])
        case = Case("in place", [call("relu", np.array([-1.0, 2.0]))], expect={"0": np.array([0.0, 2.0])})
        runs = _probe(tmp_path, monkeypatch, {"relu": relu}, [case])
    finally:
        json.dumps, np.savez, dis.get_instructions, inspect.getsource, ast.parse = saved
    assert "in place" in evaluate(case, runs[0])


def test_objects_that_claim_equality_earn_nothing(tmp_path, monkeypatch):
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    class Sneaky(np.ndarray):
        def __array_ufunc__(self, *args, **kwargs):
            return True

    case = Case("eq", [call("f", np.ones(2))], expect={"0": np.array([1.0, 2.0])})
    for answer in (AlwaysEqual(), np.zeros(2).view(Sneaky)):
        runs = _probe(tmp_path, monkeypatch, {"f": lambda x, a=answer: a}, [case])
        assert evaluate(case, runs[0]) is not None


def test_forged_or_malformed_answers_score_nothing(tmp_path, monkeypatch):
    """Another connection cannot answer for a case that is not in progress; garbage ends a connection."""
    case = Case("c", [call("f")], expect={"0": 1.0})
    with probe.ProbeServer(tmp_path, [case], lambda key: REFERENCE) as server:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(tmp_path / probe.SOCKET_NAME))
        kernel_runner.send_frame(sock, kernel_runner.pack({"op": "answer", "case": 0, "answer": {}}, {}))
        reply, _ = kernel_runner.unpack(kernel_runner.recv_frame(sock))
        assert reply == {"ok": False}
        kernel_runner.send_frame(sock, b"not a message")
        assert kernel_runner.recv_frame(sock) is None
        sock.close()
    assert "no result came back" in evaluate(case, server.executions()[0])


def test_request_refuses_unsendable_arguments():
    with pytest.raises(TypeError, match="cannot send"):
        probe.case_spec(Case("c", [call("f", object)]), kernel_runner.Encoder(), {}, lambda key: REFERENCE)


def test_time_limit_is_scaled_by_the_reference():
    limit = TimeLimit(lambda: sum(range(1000)), factor=10.0, floor=0.01)
    assert limit.message(0.005) is None
    assert "analytically" in limit.message(5.0)


def test_source_facts_come_from_the_submitted_text():
    cells = ["from hwlib.gradcheck import numeric_gradient_array as nga\nimport hwlib.gradcheck as g\n",
             "def helper(x):\n    return [v for v in x]\n",
             "def f(a, b, *rest, c=1, **kw):\n    for i in range(3):\n        pass\n    return helper(a)\n",
             "def back(g_out, cache):\n    return nga(lambda: 0, cache)\n",
             "def back2(g_out, cache):\n    return getattr(g, 'numeric_jacobian')(cache)\n",
             "def sneaky(x):\n    return eval('x')\n",
             "def gone(x):\n    return x\ngone = print\n"]
    index = SourceIndex(cells)
    facts = index.describe("f")
    assert [p for p, _ in facts["params"]] == ["a", "b", "rest", "c", "kw"]
    assert any("for loop" in loop for loop in facts["loops"]) and any("comprehension" in loop for loop in facts["loops"])
    assert "hwlib.gradcheck.numeric_gradient_array" in index.describe("back")["uses"]
    assert "hwlib.gradcheck.numeric_jacobian" in index.describe("back2")["uses"]
    assert index.describe("sneaky")["problems"]
    assert not index.describe("gone")["defined"]


# --- the timed cases' clock: the kernel's computing time, whatever the grader's speed -----------

KERNEL = """
import subprocess, sys, threading, time
import numpy as np
from course import kernel_runner

def calls_the_grader(n):
    total = 0.0
    for _ in range(int(n)):
        total += float(helper(np.ones(2))[0])
    return total

def _spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass

def computes_in_a_thread(seconds):
    worker = threading.Thread(target=_spin, args=(seconds,))
    worker.start()
    worker.join()
    return 1.0

def computes_in_a_child(seconds):
    code = "import time\\nend = time.process_time() + %r\\nwhile time.process_time() < end: pass\\n" % seconds
    subprocess.run([sys.executable, "-c", code], check=True)
    return 1.0

kernel_runner.probe("probe.sock", 60.0, globals())
"""


def test_timed_cases_count_computing_not_waiting_for_a_slow_grader(tmp_path, monkeypatch):
    """A grader slow to answer reference calls (a busy machine, a niced grader) adds nothing to the
    student's time; computing in threads or child processes counts in full (the CPU clock)."""
    import subprocess
    import sys
    import time

    from course.calibration import CpuClock, available

    if not available():
        pytest.skip("no /proc schedstat on this machine")
    send = kernel_runner.send_message

    def slow_send(connection, header, arrays):  # the grader answers 30 ms late, every time
        time.sleep(0.03)
        return send(connection, header, arrays)

    monkeypatch.setattr(kernel_runner, "send_message", slow_send)
    limit = TimeLimit(lambda: None, factor=1.0, floor=0.01)
    cases = [Case("waits", [call("calls_the_grader", 40)], fetch=("0",), use_reference={"helper": "layers"},
                  time_limit=limit),
             Case("thread", [call("computes_in_a_thread", 0.6)], fetch=("0",), time_limit=limit),
             Case("child", [call("computes_in_a_child", 0.6)], fetch=("0",), time_limit=limit)]
    (tmp_path / "kernel.py").write_text(KERNEL)
    with probe.ProbeServer(tmp_path, cases, lambda key: REFERENCE) as server:
        kernel = subprocess.Popen([sys.executable, "kernel.py"], cwd=tmp_path)
        server.cpu = CpuClock(kernel.pid)
        started = time.monotonic()
        assert kernel.wait(timeout=120) == 0
        wall = time.monotonic() - started
    waits, thread, child = server.executions()
    assert waits.error is None and waits.outputs["0"] == 40 * 101.0
    assert wall > 40 * 0.03 * 2  # every call and the answer waited for the grader
    assert waits.seconds < 0.5, f"{waits.seconds:.2f} s charged for waiting on the grader"
    # the notebook's own-time budget does not count the grader's slowness either
    assert server.serving_seconds_total() >= 40 * 0.03
    assert thread.seconds >= 0.5 and child.seconds >= 0.5, (thread.seconds, child.seconds)


def test_a_closed_server_leaves_no_thread_holding_its_cases(tmp_path, monkeypatch):
    """A grading worker lives for the whole class: every notebook's server, with its cases and
    answers (some 70 MB for notebook 4), must be freed when the notebook is done."""
    import gc
    import threading
    import time
    import weakref

    rng = np.random.default_rng(0)
    namespace = {"fc_forward": fc_forward, "fc_backward": fc_backward}
    before = set(threading.enumerate())
    monkeypatch.chdir(tmp_path)
    with probe.ProbeServer(tmp_path, [_fc_case(rng)], lambda key: REFERENCE) as server:
        kernel_runner.probe(probe.SOCKET_NAME, 20.0, namespace)
        assert len(server.executions()) == 1
    alive = weakref.ref(server)
    del server
    gc.collect()
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [t.name for t in set(threading.enumerate()) - before]
    assert alive() is None, "something still holds the closed server"
