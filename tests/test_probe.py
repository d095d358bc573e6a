"""The probe: hidden-case calls run in the student's namespace, comparisons outside it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course import probe
from course.cases import Case, Ref, call, evaluate


def _round_trip(tmp_path, monkeypatch, namespace, cases):
    """Write a request, run the kernel-side code in ``namespace``, read the answers."""
    groups = [cases]
    probe.write_request(tmp_path, groups, {"layers": "def helper(x):\n    return x + 100\n"})
    monkeypatch.chdir(tmp_path)
    exec(probe.KERNEL_SOURCE, namespace)
    return probe.read_response(tmp_path, groups)[0]


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
    rng = np.random.default_rng(0)
    case = _fc_case(rng)
    runs = _round_trip(tmp_path, monkeypatch, {"fc_forward": fc_forward, "fc_backward": fc_backward}, [case])
    assert evaluate(case, runs[0]) is None

    def wrong_backward(grad_out, cache):
        x, w, b = cache
        return grad_out @ w.T, x.reshape(len(x), -1).T @ grad_out * 2, grad_out.sum(axis=1)

    runs = _round_trip(tmp_path, monkeypatch, {"fc_forward": fc_forward, "fc_backward": wrong_backward}, [case])
    assert "values differ" in evaluate(case, runs[0])


def test_plain_data_outputs_keep_their_types(tmp_path, monkeypatch):
    def settings():
        return {"learning_rate": 0.5, "steps": 300, "name": "sgd", "shape": (2, 3)}

    seen = {}
    case = Case("settings", [call("settings")], fetch=("0",), check=lambda out: seen.update(out["0"]))
    runs = _round_trip(tmp_path, monkeypatch, {"settings": settings}, [case])
    assert evaluate(case, runs[0]) is None
    assert seen["steps"] == 300 and isinstance(seen["steps"], int) and seen["name"] == "sgd"
    assert list(seen["shape"]) == [2, 3]


def test_errors_warnings_source_and_missing_names(tmp_path, monkeypatch):
    def stub(x):
        raise NotImplementedError()

    def noisy(x):
        return np.exp(x)

    def looped(x):
        total = 0.0
        for value in x:
            total += value
        return total

    cases = [
        Case("stub", [call("stub", np.ones(2))], expect={"0": np.ones(2)}),
        Case("warn", [call("noisy", np.array([1000.0]))], expect={"0": np.array([np.inf])}, no_warnings=True),
        Case("loops", [call("looped", np.ones(3))], expect={"0": 3.0}, source_of="looped",
             check=lambda out: (_ for _ in ()).throw(AssertionError("uses a loop"))
             if "for " in out["source"]["text"] and any(r[0] == "FOR_ITER" for rows in out["source"]["code"] for r in rows)
             else None),
        Case("missing", [call("nowhere", 1)], expect={"0": 1}),
    ]
    runs = _round_trip(tmp_path, monkeypatch, {"stub": stub, "noisy": noisy, "looped": looped}, cases)
    messages = [evaluate(c, r) for c, r in zip(cases, runs)]
    assert "not implemented" in messages[0]
    assert "warning" in messages[1]
    assert "uses a loop" in messages[2]
    assert "not defined" in messages[3]


def test_use_reference_runs_reference_code_in_the_kernel(tmp_path, monkeypatch):
    namespace = {"helper": lambda x: x}
    exec("def uses_helper(x):\n    return helper(x)\n", namespace)
    case = Case("ref", [call("uses_helper", 1.0)], expect={"0": 101.0}, use_reference={"helper": "layers"})
    runs = _round_trip(tmp_path, monkeypatch, namespace, [case])
    assert evaluate(case, runs[0]) is None
    assert namespace["helper"](1) == 1, "the student's own helper is restored afterwards"


def test_objects_that_claim_equality_earn_nothing(tmp_path, monkeypatch):
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    class Sneaky(np.ndarray):
        def __array_ufunc__(self, *args, **kwargs):
            return True

    case = Case("eq", [call("f", np.ones(2))], expect={"0": np.array([1.0, 2.0])})
    for answer in (AlwaysEqual(), np.zeros(2).view(Sneaky)):
        runs = _round_trip(tmp_path, monkeypatch, {"f": lambda x, a=answer: a}, [case])
        assert evaluate(case, runs[0]) is not None


def test_missing_or_forged_response_scores_nothing(tmp_path):
    case = Case("c", [call("f")], expect={"0": 1.0})
    assert "no result came back" in evaluate(case, probe.read_response(tmp_path, [[case]])[0][0])
    (tmp_path / probe.RESPONSE_JSON).write_text(json.dumps({"groups": [[{"outputs": {"0": {"array": "o0"}}}]]}))
    np.save(tmp_path / "x.npy", np.array([object()], dtype=object), allow_pickle=True)
    (tmp_path / probe.RESPONSE_NPZ).write_bytes(b"not a zip")
    assert "no result came back" in evaluate(case, probe.read_response(tmp_path, [[case]])[0][0])


def test_request_refuses_unsendable_arguments(tmp_path):
    with pytest.raises(TypeError, match="cannot send"):
        probe.write_request(tmp_path, [[Case("c", [call("f", object)])]], {})


def test_code_listing_matches_in_and_out_of_process(tmp_path, monkeypatch):
    """The kernel-side listing (params and bytecode) equals the in-process one."""
    from course.cases import code_listing, execute_calls

    def f4(a, b, c=1.0):
        return a * b + c

    case = Case("listing", [], source_of="f4", unmodified=False)
    inside = _round_trip(tmp_path, monkeypatch, {"f4": f4}, [case])[0].outputs["source"]
    outside = execute_calls(case, {"f4": f4}).outputs["source"]
    assert [p[0] for p in inside["params"]] == ["a", "b", "c"] == [p[0] for p in code_listing(f4)["params"]]
    assert [[list(r) for r in rows] for rows in inside["code"]] == [[list(r) for r in rows] for rows in outside["code"]]
