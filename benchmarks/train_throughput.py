#!/usr/bin/env python
"""Training throughput of the course's two-layer net: numpy reference vs PyTorch, on the CPU.

The numpy side is the reference solution itself, loaded from the instructor's
source notebooks (``course.reference.load("networks")``: ``TwoLayerNet`` and
``training_step``, built on notebook 2's layers) and stepped with
:class:`hwlib.optim.SGD`, so the figures measure what students are asked to
write. The PyTorch side (``_torch_net.py``) is the same 3072-H-10 float32 ReLU
net, softmax loss plus L2 on the weights, plain SGD.

How it is measured: for every thread count, one numpy and one torch worker
process start with the BLAS / OpenMP thread variables set before numpy or torch
is imported (torch also gets ``torch.set_num_threads``). For each configuration
both workers build the net, run untimed warm-up steps and size a repeat to last
about ``min_repeat_seconds``; then the parent asks them for timed repeats in
turn (numpy, torch, torch, numpy, ...), so both see the same machine load.
Each figure is the median of the repeats. A second part trains the reference
net with notebook 4's tuned recipe on CIFAR-10 and reports the time to reach
40% test accuracy.

    python benchmarks/train_throughput.py            # full run, ~2.5 minutes on 2 idle cores
    python benchmarks/train_throughput.py --quick    # smoke run, seconds
    python benchmarks/train_throughput.py --help

PyTorch is optional (``pip install torch==2.13.0``); without it only the numpy
figures are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gc
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

INPUT_DIM = 3072
NUM_CLASSES = 10
TARGET_RATIO = 0.9
TARGET_TEST_ACCURACY = 0.40
#: Above this 1-minute load average per CPU, other programs compete for the cores and a warning is printed.
BUSY_LOAD_PER_CPU = 0.25
#: Validation images split off the CIFAR-10 training set, as in notebook 4.
ACCURACY_NUM_VAL = 1000
#: Thread-count variables read by OpenBLAS, MKL, OpenMP (torch) and Apple Accelerate at import time.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
#: Prefix of the stdout lines that carry the worker protocol (JSON); other lines are passed through.
MESSAGE_MARKER = "@@train_throughput "
BACKENDS = ("numpy", "torch")
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_CIFAR_SUBSET = REPO_ROOT.parent / "shared" / "data" / "cifar-10-python-subset.tar.gz"

Batch = tuple[Any, Any]
StepFunction = Callable[[Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class ThroughputSettings:
    """What the throughput part measures and how.

    hidden_dims, batch_sizes: the configurations (every pair is measured).
    repeats: timed repeats per configuration and backend (the median is reported).
    warmup_steps: untimed training steps before timing starts.
    min_repeat_seconds: each repeat runs enough steps to last at least about this long.
    pause_seconds: idle gap before each repeat, so the other backend's threads have gone quiet.
    pool_batches: distinct synthetic minibatches cycled through.
    learning_rate, reg: SGD step size and L2 strength (the same for both backends).
    """

    hidden_dims: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    repeats: int
    warmup_steps: int
    min_repeat_seconds: float
    pause_seconds: float
    pool_batches: int = 4
    learning_rate: float = 1e-3
    reg: float = 1e-3
    seed: int = 0


# --------------------------------------------------------------------- timing ---------------

class StepTimer:
    """Times one training step function on a cycle of minibatches.

    Construction runs ``warmup_steps`` untimed steps, then one untimed pass over the
    pool to estimate a step's duration and choose ``steps`` per repeat (at least one
    pass over the pool, and about ``min_repeat_seconds``). :meth:`repeat` times one repeat.

    Inputs:
        step: ``step(X, y)``, one training step (forward, loss, backward, update).
        batches: minibatches ``(X (N, D), y (N,))`` with the same N, used in turn.
    """

    def __init__(self, step: StepFunction, batches: Sequence[Batch], *, warmup_steps: int,
                 min_repeat_seconds: float) -> None:
        self.step, self.batches = step, list(batches)
        self.batch_size = len(self.batches[0][0])
        self._next = 0
        self._run(warmup_steps)
        per_step = self._run(len(self.batches)) / len(self.batches)
        self.steps = max(len(self.batches), math.ceil(min_repeat_seconds / max(per_step, 1e-9)))

    def _run(self, num_steps: int) -> float:
        started = time.perf_counter()
        for _ in range(num_steps):
            self.step(*self.batches[self._next])
            self._next = (self._next + 1) % len(self.batches)
        return time.perf_counter() - started

    def repeat(self) -> float:
        """Images per second over ``steps`` steps, with the garbage collector paused (as :mod:`timeit` does)."""
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            seconds = self._run(self.steps)
        finally:
            if gc_was_enabled:
                gc.enable()
        return self.steps * self.batch_size / seconds


def synthetic_batches(batch_size: int, count: int, seed: int) -> list[Batch]:
    """``count`` minibatches shaped like centred CIFAR-10 rows, identical in every worker.

    Output: list of (X float32 (batch_size, 3072) with std 0.25, y int64 (batch_size,) in 0..9).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    return [
        ((0.25 * rng.standard_normal((batch_size, INPUT_DIM))).astype(np.float32),
         rng.integers(0, NUM_CLASSES, size=batch_size, dtype=np.int64))
        for _ in range(count)
    ]


# ----------------------------------------------------------- numpy reference ----------------

def load_reference_networks() -> Any:
    """Notebook 4's reference definitions (``course.reference.load("networks")``).

    Output: a module with ``TwoLayerNet``, ``training_step``, ``tuned_settings``, ``SGDMomentum``
    and the notebook-2 layer functions it imports (``l2_regularization``, ...).
    """
    from course import reference

    return reference.load("networks")


def build_reference_model(networks: Any, hidden_dim: int, seed: int, weight_scale: float = 1e-3) -> Any:
    """The reference ``TwoLayerNet`` (3072-hidden_dim-10) with float32 parameters."""
    return networks.TwoLayerNet(input_dim=INPUT_DIM, num_classes=NUM_CLASSES, hidden_dim=hidden_dim,
                                weight_scale=weight_scale, seed=seed, dtype="float32")


def reference_l2_factor(networks: Any) -> float:
    """The reference's L2 convention: c in ``penalty = c * reg * sum(W**2)`` (1 or 0.5)."""
    import numpy as np

    return float(networks.l2_regularization(np.ones((1, 1), dtype=np.float32), 1.0)[0])


def dtype_audit(networks: Any, model: Any, batch: Batch, reg: float) -> list[str]:
    """Arrays of one reference training step that are not float32 (each one costs time).

    Output: notes such as ``"grads['W1'] is float64"``; empty when everything is float32.
    """
    import numpy as np

    X, y = batch
    scores, _ = model.forward(X)
    _, grads = networks.training_step(model, X, y, reg)
    found = {f"parameter {name!r}": value for name, value in model.parameters().items()}
    found["scores"] = scores
    found.update({f"grads[{name!r}]": value for name, value in grads.items()})
    return [f"{label} is {np.asarray(value).dtype}" for label, value in found.items()
            if np.asarray(value).dtype != np.float32]


class NumpyBackend:
    """The reference ``TwoLayerNet`` + ``training_step`` + :class:`hwlib.optim.SGD` (threads set by the parent)."""

    name = "numpy"

    def __init__(self, settings: ThroughputSettings, threads: int) -> None:
        import numpy as np

        self.settings = settings
        self.networks = load_reference_networks()
        model = build_reference_model(self.networks, settings.hidden_dims[0], settings.seed)
        self.info = {
            "version": np.__version__,
            "library_threads": _limit_blas_threads(threads),
            "l2_factor": reference_l2_factor(self.networks),
            "notes": dtype_audit(self.networks, model, synthetic_batches(8, 1, settings.seed)[0], settings.reg),
        }

    def make_step(self, hidden_dim: int, batch_size: int) -> tuple[StepFunction, list[Batch]]:
        """A fresh float32 reference net of width ``hidden_dim``, its step function, and its minibatches."""
        from hwlib.optim import SGD

        model = build_reference_model(self.networks, hidden_dim, self.settings.seed)
        optimizer = SGD(model.parameters(), self.settings.learning_rate)
        training_step, reg = self.networks.training_step, self.settings.reg

        def step(X: Any, y: Any) -> float:
            loss, grads = training_step(model, X, y, reg)
            optimizer.step(grads)
            return loss

        return step, synthetic_batches(batch_size, self.settings.pool_batches, self.settings.seed)


_THREADPOOL_LIMITS: Any = None


def _limit_blas_threads(threads: int) -> int | None:
    """Also limit numpy's BLAS with threadpoolctl when it is installed; return the count it reports.

    Without threadpoolctl the limit comes from the environment variables the parent
    set before this process imported numpy, and None is returned (not checkable).
    """
    if importlib.util.find_spec("threadpoolctl") is None:
        return None
    import threadpoolctl

    global _THREADPOOL_LIMITS  # keep the limiter alive for the worker's lifetime
    _THREADPOOL_LIMITS = threadpoolctl.threadpool_limits(threads, user_api="blas")
    counts = [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else None


# ------------------------------------------------------------------- torch -----------------

class TorchBackend:
    """The same network in PyTorch (``_torch_net``), limited to ``threads`` intra-op threads."""

    name = "torch"

    def __init__(self, settings: ThroughputSettings, threads: int, l2_factor: float) -> None:
        import _torch_net
        import torch

        self.settings, self.l2_factor, self.net = settings, l2_factor, _torch_net
        self.info = {"version": torch.__version__, "library_threads": _torch_net.use_threads(threads), "notes": []}

    def make_step(self, hidden_dim: int, batch_size: int) -> tuple[StepFunction, list[Batch]]:
        """A fresh torch net of width ``hidden_dim``, its step function, and the same minibatches as numpy's."""
        step = self.net.make_training_step(
            INPUT_DIM, hidden_dim, NUM_CLASSES, learning_rate=self.settings.learning_rate,
            reg=self.settings.reg, reg_factor=self.l2_factor, seed=self.settings.seed,
        )
        batches = synthetic_batches(batch_size, self.settings.pool_batches, self.settings.seed)
        return step, self.net.as_tensors(batches)


# --------------------------------------------------------- time to 40% test ----------------

def time_to_accuracy(max_epochs: int | None) -> dict[str, Any]:
    """Train the reference net on CIFAR-10 (``$HWLIB_CIFAR10``) with notebook 4's own tuned recipe.

    The recipe is the reference ``tuned_settings()``; the data are split as in notebook 4
    (1,000 validation images, seed 0, float32), minibatches are drawn as
    :func:`hwlib.trainer.train` draws them, and the learning rate decays after every epoch.
    Test accuracy is measured after each epoch to find when it first reaches 40%.

    Inputs:
        max_epochs: stop after this many epochs even if the recipe asks for more (None: no cap).
    Output: dict with ``recipe``, data sizes, ``load_seconds``, per-epoch ``epochs`` records
        (training seconds so far, val and test accuracy) and ``reached`` (the first record at
        or above the target, or None). Training seconds exclude the per-epoch evaluation.
    """
    from hwlib.cifar import load_cifar10
    from hwlib.classifier import accuracy
    from hwlib.optim import SGD
    from hwlib.preprocess import preprocess_cifar
    from hwlib.sampler import DataSampler

    networks = load_reference_networks()
    recipe = dict(networks.tuned_settings())
    started = time.perf_counter()
    data = preprocess_cifar(load_cifar10(download=False), num_val=ACCURACY_NUM_VAL, seed=0, dtype="float32")
    load_seconds = time.perf_counter() - started
    num_train = len(data["X_train"]) if recipe["num_train"] is None else int(recipe["num_train"])
    model = build_reference_model(networks, int(recipe["hidden_dim"]), seed=0,
                                  weight_scale=float(recipe["weight_scale"]))
    make_optimizer = (SGD if recipe["momentum"] == 0
                      else functools.partial(networks.SGDMomentum, momentum=float(recipe["momentum"])))
    optimizer = make_optimizer(model.parameters(), float(recipe["learning_rate"]))
    sampler = DataSampler(data["X_train"][:num_train], data["y_train"][:num_train], int(recipe["batch_size"]),
                          seed=0)
    epochs = int(recipe["num_epochs"]) if max_epochs is None else min(int(recipe["num_epochs"]), max_epochs)
    records: list[dict[str, float]] = []
    reached = None
    train_seconds = 0.0
    for epoch in range(1, epochs + 1):
        epoch_started = time.perf_counter()
        for X_batch, y_batch in sampler:
            _, grads = networks.training_step(model, X_batch, y_batch, float(recipe["reg"]))
            optimizer.step(grads)
        optimizer.learning_rate *= float(recipe["lr_decay"])
        train_seconds += time.perf_counter() - epoch_started
        record = {"epoch": epoch, "train_seconds": train_seconds,
                  "val_acc": accuracy(model, data["X_val"], data["y_val"]),
                  "test_acc": accuracy(model, data["X_test"], data["y_test"])}
        records.append(record)
        if reached is None and record["test_acc"] >= TARGET_TEST_ACCURACY:
            reached = record
    return {"recipe": recipe, "num_train": num_train, "num_val": len(data["X_val"]),
            "num_test": len(data["X_test"]), "load_seconds": load_seconds, "epochs": records, "reached": reached}


# ------------------------------------------------------------- worker side -----------------

def _send(message: dict[str, Any]) -> None:
    print(MESSAGE_MARKER + json.dumps(message), flush=True)


def serve(task: dict[str, Any]) -> None:
    """A worker's main loop: build the backend, say ``ready``, then answer the parent's requests.

    Requests (one JSON line each on stdin): ``{"do": "prepare", "hidden_dim", "batch_size"}``
    (build, warm up, size the repeats) -> ``{"steps"}``; ``{"do": "repeat"}`` -> ``{"rate"}``
    (images/s); ``{"do": "accuracy", "max_epochs"}`` -> the time-to-40% record (numpy only);
    ``{"do": "quit"}``.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _torch_net
    settings = ThroughputSettings(**{key: tuple(value) if isinstance(value, list) else value
                                     for key, value in task["settings"].items()})
    if task["backend"] == "numpy":
        backend: NumpyBackend | TorchBackend = NumpyBackend(settings, task["threads"])
    else:
        backend = TorchBackend(settings, task["threads"], task["l2_factor"])
    _send({"ready": backend.info})
    timer: StepTimer | None = None
    for line in sys.stdin:
        request = json.loads(line)
        if request["do"] == "prepare":
            step, batches = backend.make_step(request["hidden_dim"], request["batch_size"])
            timer = StepTimer(step, batches, warmup_steps=settings.warmup_steps,
                              min_repeat_seconds=settings.min_repeat_seconds)
            _send({"steps": timer.steps})
        elif request["do"] == "repeat" and timer is not None:
            _send({"rate": timer.repeat()})
        elif request["do"] == "accuracy" and backend.name == "numpy":
            _send(time_to_accuracy(request["max_epochs"]))
        elif request["do"] == "quit":
            return
        else:
            raise ValueError(f"worker cannot handle request {request!r}")


# ------------------------------------------------------------- parent side -----------------

def thread_environment(threads: int) -> dict[str, str]:
    """This process's environment with every BLAS/OpenMP thread variable set to ``threads``."""
    return {**os.environ, **{name: str(threads) for name in THREAD_ENV_VARS}}


class WorkerFailed(RuntimeError):
    """A worker process stopped before answering (its traceback is already on stderr)."""


class Worker:
    """A worker process for one backend and thread count, driven over its stdin/stdout.

    Its non-protocol stdout lines are passed through to ours; its stderr goes straight to ours.
    ``info`` holds what it reported when ready (version, threads, notes, ...).
    """

    def __init__(self, task: dict[str, Any], extra_env: dict[str, str] | None = None) -> None:
        self.label = f"{task['backend']} worker ({task['threads']} threads)"
        env = {**thread_environment(task["threads"]), **(extra_env or {})}
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(task)]
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)
        self.info: dict[str, Any] = self._receive()["ready"]

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._receive()

    def _receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(MESSAGE_MARKER):
                return json.loads(line[len(MESSAGE_MARKER):])
            print(line, end="")
        code = self.process.wait()
        raise WorkerFailed(f"the {self.label} stopped (exit code {code}); its error is printed above")

    def close(self) -> None:
        """Ask the worker to quit; stop it if it does not within a few seconds."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"do": "quit"}) + "\n")
                self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def started_workers(threads: int, settings: ThroughputSettings, use_torch: bool,
                    cifar: Path | None) -> Iterator[dict[str, Worker]]:
    """The numpy worker (and the torch one) for ``threads`` threads, closed on exit."""
    workers: dict[str, Worker] = {}
    base = {"threads": threads, "settings": dataclasses.asdict(settings)}
    try:
        workers["numpy"] = Worker({**base, "backend": "numpy"},
                                  extra_env={"HWLIB_CIFAR10": str(cifar)} if cifar else None)
        if use_torch:
            workers["torch"] = Worker({**base, "backend": "torch", "l2_factor": workers["numpy"].info["l2_factor"]})
        yield workers
    finally:
        for worker in workers.values():
            worker.close()


def measure_side_by_side(workers: dict[str, Worker], settings: ThroughputSettings,
                         threads: int) -> list[dict[str, Any]]:
    """Every configuration's repeats, taken from the workers in turn (A B B A A B ...).

    Output: one record per (hidden_dim, batch_size): ``threads``, ``hidden_dim``,
    ``batch_size``, ``steps`` and ``rates`` (both: backend -> images/s of each repeat).
    """
    rows = []
    names = list(workers)
    for hidden_dim in settings.hidden_dims:
        for batch_size in settings.batch_sizes:
            steps = {name: worker.ask({"do": "prepare", "hidden_dim": hidden_dim, "batch_size": batch_size})["steps"]
                     for name, worker in workers.items()}
            rates: dict[str, list[float]] = {name: [] for name in names}
            for index in range(settings.repeats):
                for name in names if index % 2 == 0 else reversed(names):
                    time.sleep(settings.pause_seconds)
                    rates[name].append(workers[name].ask({"do": "repeat"})["rate"])
            rows.append({"threads": threads, "hidden_dim": hidden_dim, "batch_size": batch_size,
                         "steps": steps, "rates": rates})
    return rows


# ---------------------------------------------------------------- reporting ----------------

def throughput_table(rows: Sequence[dict[str, Any]], repeats: int) -> list[str]:
    """Lines of the side-by-side table: one row per (threads, hidden, batch), medians, ratio numpy/torch."""
    header = f"{'threads':>7}  {'hidden':>6}  {'batch':>5}  {'numpy img/s':>11}  {'torch img/s':>11}  numpy/torch"
    lines = [f"Training throughput, 3072-H-10 float32 (median of {repeats} repeats, warm-up excluded)",
             header, "-" * len(header)]
    ratios = []
    for row in sorted(rows, key=lambda row: (row["threads"], row["hidden_dim"], row["batch_size"])):
        medians = {name: statistics.median(values) for name, values in row["rates"].items() if values}
        numpy_text, torch_text = (f"{medians[name]:,.0f}" if name in medians else "-" for name in BACKENDS)
        ratio_text = "n/a"
        if "numpy" in medians and "torch" in medians:
            ratio = medians["numpy"] / medians["torch"]
            ratios.append(ratio)
            ratio_text = f"{ratio:.2f}" + ("" if ratio >= TARGET_RATIO else f"  (below {TARGET_RATIO})")
        lines.append(f"{row['threads']:>7}  {row['hidden_dim']:>6}  {row['batch_size']:>5}  "
                     f"{numpy_text:>11}  {torch_text:>11}  {ratio_text}")
    if ratios:
        met = sum(ratio >= TARGET_RATIO for ratio in ratios)
        lines.append(
            f"numpy/torch: median {statistics.median(ratios):.2f}, min {min(ratios):.2f}, max {max(ratios):.2f}; "
            f"target >= {TARGET_RATIO} met in {met} of {len(ratios)} configurations"
        )
    return lines


def accuracy_lines(result: dict[str, Any], threads: int) -> list[str]:
    """Lines describing the time-to-40% run: the recipe, per-epoch accuracy, and the verdict."""
    recipe, records = result["recipe"], result["epochs"]
    optimizer = "plain SGD" if recipe["momentum"] == 0 else f"SGD with momentum {recipe['momentum']:g}"
    lines = [
        f"Time to {TARGET_TEST_ACCURACY:.0%} test accuracy, numpy reference, {threads} thread(s) "
        f"({result['num_train']} train / {result['num_val']} val / {result['num_test']} test images, "
        f"loaded in {result['load_seconds']:.1f} s)",
        f"recipe (notebook 4's tuned_settings): hidden {recipe['hidden_dim']}, weight scale "
        f"{recipe['weight_scale']:g}, {optimizer}, lr {recipe['learning_rate']:g} x{recipe['lr_decay']:g} per "
        f"epoch, batch {recipe['batch_size']}, reg {recipe['reg']:g}, {recipe['num_epochs']} epochs",
        "  epoch  train s  val acc  test acc",
    ]
    lines += [f"  {r['epoch']:>5}  {r['train_seconds']:>7.2f}  {r['val_acc']:>7.3f}  {r['test_acc']:>8.3f}"
              for r in records]
    final, reached = records[-1], result["reached"]
    ending = (f"final test acc {final['test_acc']:.3f} after {len(records)} epochs, "
              f"{final['train_seconds']:.2f} s of training")
    if len(records) < int(recipe["num_epochs"]):
        ending += " (epochs capped by --quick)"
    if reached is not None:
        lines.append(f"time to {TARGET_TEST_ACCURACY:.0%} test: {reached['train_seconds']:.2f} s of training, "
                     f"epoch {reached['epoch']} (test acc {reached['test_acc']:.3f}); {ending}")
    else:
        lines.append(f"time to {TARGET_TEST_ACCURACY:.0%} test: not reached; {ending}")
    return lines


def machine_lines(thread_counts: Sequence[int], torch_installed: bool) -> list[str]:
    """The machine, its load and the thread counts; a warning when it is busy; a note when PyTorch is missing."""
    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    load_text = "" if load is None else f", load average {load:.1f}"
    lines = [f"{platform.machine()}, {cpus} logical CPUs{load_text}, Python {platform.python_version()}; "
             f"threads tested: {', '.join(map(str, thread_counts))}"]
    if load is not None and load > BUSY_LOAD_PER_CPU * cpus:
        lines.append(f"warning: the machine is busy (load {load:.1f} on {cpus} CPUs): the figures will be noisy, "
                     "multi-threaded ones especially; rerun on an idle machine for figures worth quoting")
    if not torch_installed:
        lines.append("PyTorch is not installed: printing numpy figures only "
                     "(install the optional extra with: pip install torch==2.13.0)")
    return lines


def worker_lines(infos: dict[int, dict[str, dict[str, Any]]]) -> list[str]:
    """Per thread count and backend: library version and the thread count the library reports."""
    lines = []
    for threads, by_backend in infos.items():
        for name, info in by_backend.items():
            reported = info["library_threads"] if info["library_threads"] else "n/a (no threadpoolctl)"
            lines.append(f"{name} {info['version']}: {threads} thread(s) requested, library reports {reported}")
    notes = sorted({note for by_backend in infos.values() for info in by_backend.values() for note in info["notes"]})
    lines += [f"note: the reference step is not all float32: {note}" for note in notes]
    return lines


# --------------------------------------------------------------------- CLI -----------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run (1 thread, hidden 100, "
                        "batches 64 and 256, 3 short repeats, 1 epoch of CIFAR training)")
    parser.add_argument("--threads", type=_int_list, default=None,
                        help="comma-separated thread counts (default: 1 and all CPUs; --quick: 1)")
    parser.add_argument("--batch-sizes", type=_int_list, default=None, help="default 64,128,256,512")
    parser.add_argument("--hidden-dims", type=_int_list, default=None, help="default 100,500")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per configuration (default 7)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the time-to-40%% CIFAR-10 run")
    parser.add_argument("--cifar", type=Path, default=None,
                        help="CIFAR-10 archive or folder (default: $HWLIB_CIFAR10, else the shared subset "
                             "next to this checkout)")
    parser.add_argument("--json", type=Path, default=None, help="also write all raw measurements to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 64,128, got {text!r}") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def cifar_source(option: Path | None) -> Path | None:
    """Where the time-to-40% run reads CIFAR-10 from: --cifar, $HWLIB_CIFAR10, or the shared subset."""
    if option is not None:
        return option
    if os.environ.get("HWLIB_CIFAR10"):
        return Path(os.environ["HWLIB_CIFAR10"])
    return SHARED_CIFAR_SUBSET if SHARED_CIFAR_SUBSET.exists() else None


def missing_reference_notebooks() -> list[str]:
    """Source notebooks the numpy side needs that cannot be found (empty when all are there)."""
    from course.paths import source_notebook

    try:
        paths = [source_notebook(key) for key in ("layers", "networks")]
    except FileNotFoundError as error:
        return [str(error)]
    return [str(path) for path in paths if not path.exists()]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        serve(json.loads(args.worker))
        return 0

    cpus = os.cpu_count() or 1
    thread_counts = args.threads or ((1,) if args.quick else tuple(sorted({1, cpus})))
    settings = ThroughputSettings(
        hidden_dims=args.hidden_dims or ((100,) if args.quick else (100, 500)),
        batch_sizes=args.batch_sizes or ((64, 256) if args.quick else (64, 128, 256, 512)),
        repeats=args.repeats or (3 if args.quick else 7),
        warmup_steps=2 if args.quick else 5,
        min_repeat_seconds=0.05 if args.quick else 0.4,
        pause_seconds=0.02 if args.quick else 0.1,
    )
    missing = missing_reference_notebooks()
    if missing:
        print("cannot benchmark: the reference notebooks are missing: " + "; ".join(missing), file=sys.stderr)
        return 2
    torch_installed = importlib.util.find_spec("torch") is not None
    cifar = None if args.no_accuracy else cifar_source(args.cifar)
    if cifar is not None and not cifar.exists():
        print(f"cannot run the time-to-40% part: {cifar} does not exist (pass --cifar with a CIFAR-10 "
              "archive or folder, or --no-accuracy)", file=sys.stderr)
        return 2
    # One thread for the time-to-40% run: the figure least disturbed by other programs on the machine.
    accuracy_threads = min(thread_counts)

    for line in machine_lines(thread_counts, torch_installed):
        print(line, flush=True)
    rows: list[dict[str, Any]] = []
    infos: dict[int, dict[str, dict[str, Any]]] = {}
    accuracy = None
    try:
        for threads in thread_counts:
            with started_workers(threads, settings, torch_installed and not args.no_torch, cifar) as workers:
                infos[threads] = {name: worker.info for name, worker in workers.items()}
                rows += measure_side_by_side(workers, settings, threads)
                if cifar is not None and threads == accuracy_threads:
                    accuracy = workers["numpy"].ask({"do": "accuracy", "max_epochs": 1 if args.quick else None})
    except WorkerFailed as error:
        print(f"benchmark stopped: {error}", file=sys.stderr)
        return 1

    print()
    for line in [*worker_lines(infos), "", *throughput_table(rows, settings.repeats)]:
        print(line)
    if accuracy is not None:
        print()
        for line in accuracy_lines(accuracy, accuracy_threads):
            print(line)
    elif not args.no_accuracy:
        print("\nskipping time-to-40%: no CIFAR-10 data found (pass --cifar or set HWLIB_CIFAR10)")
    if args.json is not None:
        args.json.write_text(json.dumps({"settings": dataclasses.asdict(settings), "workers": infos,
                                         "throughput": rows, "accuracy": accuracy}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
