"""Smoke tests of benchmarks/train_throughput.py: it runs end to end and prints well-formed figures.

No timing assertions: performance targets are reported by the benchmark itself,
not enforced by tests (a busy CI machine would make them flaky).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from course.paths import source_notebook

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_throughput.py"
#: threads, hidden, batch, numpy img/s, torch img/s, ratio (a number, or "n/a" without torch).
TABLE_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+([\d,]+)\s+(\S+)\s+(\S+)")
TORCH_INSTALLED = importlib.util.find_spec("torch") is not None


def _reference_notebooks_present() -> bool:
    try:
        return all(source_notebook(key).exists() for key in ("layers", "networks"))
    except FileNotFoundError:
        return False


def _load_benchmark(name: str, path: Path) -> ModuleType:
    """A benchmark script imported as module ``name`` (once)."""
    if name not in sys.modules:  # dataclasses look their module up in sys.modules
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _load_script() -> ModuleType:
    return _load_benchmark("benchmarks_train_throughput", SCRIPT)


def _parse_rows(stdout: str) -> list[tuple[int, int, int, float, str, str]]:
    rows = []
    for line in stdout.splitlines():
        match = TABLE_ROW.match(line)
        if match:
            threads, hidden, batch, numpy_rate, torch_rate, ratio = match.groups()
            rows.append((int(threads), int(hidden), int(batch), float(numpy_rate.replace(",", "")), torch_rate, ratio))
    return rows


@pytest.mark.skipif(not _reference_notebooks_present(), reason="reference notebooks 02/04 not written yet")
def test_quick_run_prints_the_table_ratios_and_time_to_40(tmp_path: Path) -> None:
    env = {**os.environ, "HWLIB_DATA_DIR": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    raw = tmp_path / "raw.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(raw)],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stderr == "", completed.stderr
    rows = _parse_rows(completed.stdout)
    assert [(threads, hidden, batch) for threads, hidden, batch, *_ in rows] == [(1, 100, 64), (1, 100, 256)]
    for *_, numpy_rate, torch_rate, ratio in rows:
        assert numpy_rate > 0
        if TORCH_INSTALLED:
            torch_value, ratio_value = float(torch_rate.replace(",", "")), float(ratio)
            assert math.isfinite(ratio_value) and ratio_value > 0
            # The printed ratio is the quotient of the printed (rounded) rates.
            assert ratio_value == pytest.approx(numpy_rate / torch_value, rel=0.02, abs=0.006)
        else:
            assert (torch_rate, ratio) == ("-", "n/a")
    if not TORCH_INSTALLED:
        assert "PyTorch is not installed" in completed.stdout
    measurements = json.loads(raw.read_text())
    expected_backends = {"numpy", "torch"} if TORCH_INSTALLED else {"numpy"}
    for row in measurements["throughput"]:
        assert set(row["rates"]) == expected_backends
        assert all(len(rates) == 3 for rates in row["rates"].values())
    if measurements["accuracy"] is not None:
        assert re.search(r"^time to 40% test: .*final test acc 0\.\d{3}", completed.stdout, re.MULTILINE)
        assert len(measurements["accuracy"]["epochs"]) == 1


def test_table_without_torch_shows_numpy_only() -> None:
    script = _load_script()
    numpy_only = [
        {"threads": 2, "hidden_dim": 500, "batch_size": 64, "rates": {"numpy": [900.0, 1000.0, 5000.0]}},
        {"threads": 2, "hidden_dim": 100, "batch_size": 64, "rates": {"numpy": [3000.0]}},
    ]
    lines = script.throughput_table(numpy_only, repeats=3)
    rows = _parse_rows("\n".join(lines))
    # Sorted by (threads, hidden, batch); the median, not the mean, of the repeats.
    assert rows == [(2, 100, 64, 3000.0, "-", "n/a"), (2, 500, 64, 1000.0, "-", "n/a")]
    assert not any(line.startswith("numpy/torch:") for line in lines)
    assert any("pip install torch==2.13.0" in line for line in script.machine_lines([1], torch_installed=False))


def test_table_ratio_and_target_flag() -> None:
    script = _load_script()
    rows = [
        {"threads": 1, "hidden_dim": 100, "batch_size": 64, "rates": {"numpy": [800.0], "torch": [1000.0]}},
        {"threads": 1, "hidden_dim": 100, "batch_size": 128, "rates": {"numpy": [2000.0], "torch": [1000.0]}},
    ]
    lines = script.throughput_table(rows, repeats=1)
    parsed = _parse_rows("\n".join(lines))
    assert [row[5] for row in parsed] == ["0.80", "2.00"]
    assert "(below 0.9)" in next(line for line in lines if re.match(r"\s*1\s+100\s+64\s", line))
    assert "met in 1 of 2 configurations" in lines[-1]


def test_step_timer_excludes_warmup_and_cycles_the_batches() -> None:
    script = _load_script()
    calls: list[int] = []
    batches = [([0] * 8, None), ([1] * 8, None), ([2] * 8, None)]
    timer = script.StepTimer(lambda X, y: calls.append(X[0]), batches, warmup_steps=5, min_repeat_seconds=0.0)
    assert timer.steps == len(batches)  # at least one pass over the pool per repeat
    assert len(calls) == 5 + len(batches)  # warm-up and the sizing pass, before any timed repeat
    rates = [timer.repeat() for _ in range(4)]
    assert all(rate > 0 for rate in rates)
    assert len(calls) == 5 + len(batches) + 4 * timer.steps
    assert calls == [index % len(batches) for index in range(len(calls))]  # batches used in turn throughout


def test_thread_environment_sets_every_blas_variable() -> None:
    script = _load_script()
    env = script.thread_environment(3)
    assert all(env[name] == "3" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))


AUTOGRADE_SCRIPT = SCRIPT.parent / "autograde_throughput.py"


@pytest.mark.slow
def test_autograde_benchmark_runs_all_three_graders(tmp_path: Path) -> None:
    """Two submissions of one notebook: the table, the speed-up, the sandbox overhead and peak memory."""
    completed = subprocess.run(
        [sys.executable, str(AUTOGRADE_SCRIPT), "--students", "2", "--notebooks", "02_layers.ipynb",
         "--keep", str(tmp_path / "kept")],
        capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    rows = re.findall(r"^(nbgrader autograde \(stock\)|course autograde --jobs 2(?:, no sandbox)?)\s+([\d.]+)\s+"
                      r"([\d.]+)\s+(\d+)\s+([\d.]+)$", out, flags=re.MULTILINE)
    assert [r[0] for r in rows] == ["nbgrader autograde (stock)", "course autograde --jobs 2",
                                    "course autograde --jobs 2, no sandbox"], out
    assert all(float(r[1]) > 0 and int(r[3]) > 0 and float(r[4]) > 0 for r in rows)  # seconds, MB, CPU s
    assert re.search(r"speed-up over stock nbgrader: [\d.]+x; scores identical: yes", out), out
    assert re.search(r"sandbox overhead: [+-][\d.]+ s per submission .*identical: yes", out), out
    assert re.search(r"peak memory: grader \d+ MB, each worker up to \d+ MB, largest kernel \d+ MB", out), out
    assert (tmp_path / "kept" / "stock" / "gradebook.db").exists()
    # seconds per notebook by stage, stock nbgrader and course side by side, every stage measured
    stages = dict(re.findall(r"^(kernel start|sanitize|execute|probe|score|write|total)\s+(.+)$", out, re.MULTILINE))
    assert list(stages) == ["kernel start", "sanitize", "execute", "probe", "score", "write", "total"], out
    columns = {stage: [float(v) for v in values.split()] for stage, values in stages.items()}
    assert all(len(values) == 3 for values in columns.values()), out
    for column in range(3):
        assert columns["execute"][column] > 0 and columns["kernel start"][column] > 0, out
        parts = sum(columns[s][column] for s in ("kernel start", "sanitize", "execute", "probe", "score", "write"))
        assert columns["total"][column] == pytest.approx(parts, abs=0.03)
    assert columns["probe"][0] == 0 and columns["probe"][1] > 0  # stock nbgrader has no separate probe


LIVE_SCRIPT = SCRIPT.parent / "notebook_live_runtime.py"


def _load_live_script() -> ModuleType:
    return _load_benchmark("benchmarks_notebook_live_runtime", LIVE_SCRIPT)


def test_live_runtime_strips_hidden_tests_and_rewrites_flags() -> None:
    import nbformat

    script = _load_live_script()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("RUN_FULL_EXPERIMENTS = False   # True: all images\nOTHER = 1"),
        nbformat.v4.new_code_cell("check()\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nafter()"),
    ])
    script.set_variables(notebook, {"RUN_FULL_EXPERIMENTS": "True"})
    assert notebook.cells[0].source.splitlines()[0].startswith("RUN_FULL_EXPERIMENTS = True")
    assert notebook.cells[0].source.splitlines()[1] == "OTHER = 1"
    assert script.strip_hidden_tests(notebook) == 1
    assert notebook.cells[1].source == "check()\nafter()"
    with pytest.raises(ValueError, match="NO_SUCH_FLAG"):
        script.set_variables(notebook, {"NO_SUCH_FLAG": "1"})


def test_live_runtime_prints_cell_times_and_totals(tmp_path: Path) -> None:
    """A three-cell notebook run live: every code cell timed, an error reported, the totals and the load."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os, time\nmode = os.environ.get('HWLIB_AUTOGRADE', 'live')"),
        nbformat.v4.new_markdown_cell("text"),
        nbformat.v4.new_code_cell("time.sleep(0.2)\nprint(mode)"),
        nbformat.v4.new_code_cell("raise ValueError(mode)"),
    ])
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, str(path))
    raw = tmp_path / "raw.json"
    env = {**os.environ, "HWLIB_AUTOGRADE": "1"}  # the script must remove it: a live run
    completed = subprocess.run([sys.executable, str(LIVE_SCRIPT), str(path), "--top", "2", "--json", str(raw)],
                               capture_output=True, text=True, env=env, timeout=240, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert re.search(r"^load average before: \S+ \S+ \S+ +after: ", out, re.MULTILINE), out
    assert re.search(r"^\s+2\s+\d+\.\d\s+(\d+\.\d|n/a)\s+time\.sleep\(0\.2\)$", out, re.MULTILINE), out
    assert "error in cell 3 (raise ValueError(mode)): ValueError: live" in out  # not the autograding mode
    assert re.search(r"^total: [\d.]+ s wall .*, [\d.]+ s in cells, ", out, re.MULTILINE), out
    [result] = json.loads(raw.read_text())
    assert [cell["index"] for cell in result["cells"]] == [0, 2, 3]
    assert result["cells"][1]["seconds"] >= 0.2  # the sleep happened inside the timed span
    assert all(cell["cpu_seconds"] is None or cell["cpu_seconds"] >= 0 for cell in result["cells"])
    assert result["mode"] == "reference" and result["failure"] is None
    assert "cell   2" in completed.stderr  # progress while it runs
