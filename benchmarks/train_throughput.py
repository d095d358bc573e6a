#!/usr/bin/env python
"""Training throughput of the course's two-layer net: numpy reference vs PyTorch, on the CPU.

The numpy side is the reference solution itself, loaded from the instructor's
source notebooks (``course.reference.load("networks")``: ``TwoLayerNet`` and
``training_step``) and stepped with :class:`hwlib.optim.SGD`, so the figures
measure what students are asked to write. The PyTorch side (``_torch_net.py``)
is the same 3072-H-10 float32 ReLU net, softmax loss plus L2 on the weights,
plain SGD. Every (backend, thread count) runs in its own subprocess whose BLAS /
OpenMP thread variables are set before numpy is imported; torch also gets
``torch.set_num_threads``. Warm-up steps are excluded and each figure is the
median of several timed repeats. A second part trains the reference net on the
CIFAR-10 subset and reports the time to reach 40% test accuracy.

    python benchmarks/train_throughput.py            # full run, a few minutes on 2 cores
    python benchmarks/train_throughput.py --quick    # smoke run, seconds
    python benchmarks/train_throughput.py --help

PyTorch is optional (``pip install torch==2.13.0``); without it only the numpy
figures are printed.
"""

from __future__ import annotations

import argparse
import dataclasses
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
from collections.abc import Callable, Sequence
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
#: Prefix of the one stdout line through which a worker hands its result (JSON) to the parent.
RESULT_MARKER = "@@train_throughput_result "
#: The notebook-2 functions the reference network calls (notebook 4 names them in LAYER_FUNCTIONS).
REFERENCE_LAYER_FUNCTIONS = ("fc_forward", "fc_backward", "relu_forward", "relu_backward", "softmax_loss",
                             "l2_regularization")
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_CIFAR_SUBSET = REPO_ROOT.parent / "shared" / "data" / "cifar-10-python-subset.tar.gz"


@dataclasses.dataclass(frozen=True)
class ThroughputSettings:
    """What one throughput worker measures and how.

    hidden_dims, batch_sizes: the configurations (every pair is measured).
    repeats: timed repeats per configuration (the median is reported).
    warmup_steps: untimed training steps before timing starts.
    min_repeat_seconds: each repeat runs enough steps to last at least this long.
    pool_batches: distinct synthetic minibatches cycled through.
    learning_rate, reg: SGD step size and L2 strength (same for both backends).
    """

    hidden_dims: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    repeats: int
    warmup_steps: int
    min_repeat_seconds: float
    pool_batches: int = 4
    learning_rate: float = 1e-3
    reg: float = 1e-3
    seed: int = 0


# --------------------------------------------------------------------- timing ---------------

def images_per_second(
    step: Callable[[Any, Any], Any],
    batches: Sequence[tuple[Any, Any]],
    *,
    repeats: int,
    warmup_steps: int,
    min_repeat_seconds: float,
) -> tuple[list[float], int]:
    """Time ``step(X, y)`` over a cycle of minibatches.

    Inputs:
        step: one training step (forward, loss, backward, parameter update) on a minibatch.
        batches: minibatches ``(X (N, D), y (N,))``, all with the same N, used in turn.
        repeats, warmup_steps, min_repeat_seconds: see :class:`ThroughputSettings`.
    Output: (images/s of each repeat, steps per repeat). Warm-up and the calibration
        pass that sizes the repeats are not counted; the garbage collector is paused
        while timing (as :mod:`timeit` does).
    """
    batch_size = len(batches[0][0])

    def run(num_steps: int) -> float:
        started = time.perf_counter()
        for index in range(num_steps):
            step(*batches[index % len(batches)])
        return time.perf_counter() - started

    run(warmup_steps)
    per_step = run(len(batches)) / len(batches)
    steps = max(len(batches), math.ceil(min_repeat_seconds / max(per_step, 1e-9)))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        rates = [steps * batch_size / run(steps) for _ in range(repeats)]
    finally:
        if gc_was_enabled:
            gc.enable()
    return rates, steps


def synthetic_batches(batch_size: int, count: int, seed: int) -> list[tuple[Any, Any]]:
    """``count`` minibatches shaped like centred CIFAR-10 rows.

    Output: list of (X float32 (batch_size, 3072) with std 0.25, y int64 (batch_size,) in 0..9).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    return [
        (
            (0.25 * rng.standard_normal((batch_size, INPUT_DIM))).astype(np.float32),
            rng.integers(0, NUM_CLASSES, size=batch_size, dtype=np.int64),
        )
        for _ in range(count)
    ]


# ----------------------------------------------------------- numpy reference ----------------

def load_reference_networks() -> Any:
    """``course.reference.load("networks")`` with notebook 2's reference layers in its namespace.

    Notebook 4 gets its layer functions by calling ``import_notebook("02_layers.ipynb", ...)`` in a
    cell; loading only a notebook's definitions skips that call, so the same functions (the
    ``LAYER_FUNCTIONS`` it names) are copied in here from the layers reference.
    Output: the module, with ``TwoLayerNet`` and ``training_step`` ready to run.
    """
    from course import reference

    networks = reference.load("networks")
    layers = reference.load("layers")
    for name in getattr(networks, "LAYER_FUNCTIONS", REFERENCE_LAYER_FUNCTIONS):
        if not hasattr(networks, name):
            setattr(networks, name, getattr(layers, name))
    return networks


def build_reference_model(networks: Any, hidden_dim: int, seed: int, weight_scale: float = 1e-3) -> Any:
    """The reference ``TwoLayerNet`` (3072-hidden_dim-10) with float32 parameters."""
    return networks.TwoLayerNet(input_dim=INPUT_DIM, num_classes=NUM_CLASSES, hidden_dim=hidden_dim,
                                weight_scale=weight_scale, seed=seed, dtype="float32")


def reference_l2_factor() -> float:
    """The reference's L2 convention: c in ``penalty = c * reg * sum(W**2)`` (1 or 0.5)."""
    import numpy as np

    from course import reference

    penalty = reference.load("layers").l2_regularization(np.ones((1, 1)), 1.0)[0]
    return float(penalty)


def dtype_audit(networks: Any, model: Any, batch: tuple[Any, Any], reg: float) -> list[str]:
    """Arrays of one reference training step that are not float32 (each one costs time).

    Output: notes such as ``"grads['W1'] is float64"``; empty when all is float32.
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


def numpy_worker(settings: ThroughputSettings, threads: int) -> dict[str, Any]:
    """Measure the numpy reference for every configuration (BLAS threads already set by the parent)."""
    import numpy as np

    from hwlib.optim import SGD

    blas_threads = _blas_threads(threads)
    networks = load_reference_networks()
    rows, notes = [], []
    for hidden_dim in settings.hidden_dims:
        for batch_size in settings.batch_sizes:
            batches = synthetic_batches(batch_size, settings.pool_batches, settings.seed)
            model = build_reference_model(networks, hidden_dim, settings.seed)
            if not notes:
                notes = dtype_audit(networks, model, batches[0], settings.reg)
            optimizer = SGD(model.parameters(), settings.learning_rate)

            def step(X: np.ndarray, y: np.ndarray) -> float:
                loss, grads = networks.training_step(model, X, y, settings.reg)
                optimizer.step(grads)
                return loss

            rates, steps = images_per_second(
                step, batches, repeats=settings.repeats, warmup_steps=settings.warmup_steps,
                min_repeat_seconds=settings.min_repeat_seconds,
            )
            rows.append({"hidden_dim": hidden_dim, "batch_size": batch_size, "rates": rates, "steps": steps})
    return {"backend": "numpy", "threads": threads, "library_threads": blas_threads,
            "version": np.__version__, "rows": rows, "notes": notes}


def _blas_threads(threads: int) -> int | None:
    """Limit numpy's BLAS to ``threads`` with threadpoolctl when installed; return the count it reports.

    Without threadpoolctl the limit comes from the environment variables the parent
    set before this process imported numpy, and None is returned (not checkable).
    """
    if importlib.util.find_spec("threadpoolctl") is None:
        return None
    import threadpoolctl

    global _THREADPOOL_LIMITS  # keep the limiter alive for the whole worker
    _THREADPOOL_LIMITS = threadpoolctl.threadpool_limits(threads, user_api="blas")
    counts = [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else None


_THREADPOOL_LIMITS: Any = None


# ------------------------------------------------------------------- torch -----------------

def torch_worker(settings: ThroughputSettings, threads: int, reg_factor: float) -> dict[str, Any]:
    """Measure the PyTorch net for every configuration, with torch limited to ``threads`` threads."""
    import _torch_net
    import torch

    torch_threads = _torch_net.use_threads(threads)
    rows = []
    for hidden_dim in settings.hidden_dims:
        for batch_size in settings.batch_sizes:
            batches = _torch_net.as_tensors(synthetic_batches(batch_size, settings.pool_batches, settings.seed))
            step = _torch_net.make_training_step(
                INPUT_DIM, hidden_dim, NUM_CLASSES, learning_rate=settings.learning_rate,
                reg=settings.reg, reg_factor=reg_factor, seed=settings.seed,
            )
            rates, steps = images_per_second(
                step, batches, repeats=settings.repeats, warmup_steps=settings.warmup_steps,
                min_repeat_seconds=settings.min_repeat_seconds,
            )
            rows.append({"hidden_dim": hidden_dim, "batch_size": batch_size, "rates": rates, "steps": steps})
    return {"backend": "torch", "threads": threads, "library_threads": torch_threads,
            "version": torch.__version__, "rows": rows, "notes": []}


# --------------------------------------------------------- time to 40% test ----------------

def accuracy_worker(max_epochs: int | None) -> dict[str, Any]:
    """Train the reference net on CIFAR-10 (``$HWLIB_CIFAR10``) with notebook 4's own tuned recipe.

    The recipe is the reference ``tuned_settings()``; data are split as in notebook 4 (1,000
    validation images, seed 0, float32), minibatches drawn as :func:`hwlib.trainer.train` draws
    them, and the learning rate decayed after every epoch. Test accuracy is measured after each
    epoch to find when it first reaches 40%.
    Inputs:
        max_epochs: stop after this many epochs even if the recipe asks for more (None: no cap).
    Output: dict with ``recipe``, data sizes, ``load_seconds``, per-epoch ``epochs`` records
        (training seconds so far, val and test accuracy) and ``reached`` (the first record at or
        above the target, or None). Training seconds exclude the per-epoch evaluation.
    """
    import functools

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
    X_train, y_train = data["X_train"][:num_train], data["y_train"][:num_train]
    model = build_reference_model(networks, int(recipe["hidden_dim"]), seed=0,
                                  weight_scale=float(recipe["weight_scale"]))
    make_optimizer = (SGD if recipe["momentum"] == 0
                      else functools.partial(networks.SGDMomentum, momentum=float(recipe["momentum"])))
    optimizer = make_optimizer(model.parameters(), float(recipe["learning_rate"]))
    sampler = DataSampler(X_train, y_train, int(recipe["batch_size"]), seed=0)
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


# ------------------------------------------------------------ orchestration ----------------

def thread_environment(threads: int) -> dict[str, str]:
    """This process's environment with every BLAS/OpenMP thread variable set to ``threads``."""
    return {**os.environ, **{name: str(threads) for name in THREAD_ENV_VARS}}


def run_worker_process(task: dict[str, Any], threads: int, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter limited to ``threads`` threads and return its result.

    The worker's ordinary stdout is passed through; its stderr goes straight to ours.
    Raises RuntimeError when the worker fails.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(task)]
    env = {**thread_environment(threads), **(extra_env or {})}
    completed = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    result = None
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER):])
        else:
            print(line)
    if completed.returncode != 0 or result is None:
        raise RuntimeError(f"the {task['kind']} worker ({threads} threads) failed with exit code "
                           f"{completed.returncode}; its error is printed above")
    return result


def worker_main(task: dict[str, Any]) -> None:
    """Entry point inside a worker process: run one task, print its result line.

    Tasks: ``numpy`` (the reference's throughput, its L2 convention, and the time-to-40% run
    when asked) and ``torch`` (the PyTorch net's throughput).
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _torch_net
    kind = task["kind"]
    if kind == "numpy":
        result = numpy_worker(ThroughputSettings(**_tuples(task["settings"])), task["threads"])
        result["l2_factor"] = reference_l2_factor()
        result["accuracy"] = accuracy_worker(task["max_epochs"]) if task["with_accuracy"] else None
    elif kind == "torch":
        result = torch_worker(ThroughputSettings(**_tuples(task["settings"])), task["threads"], task["reg_factor"])
    else:
        raise ValueError(f"unknown worker task {kind!r}")
    print(RESULT_MARKER + json.dumps(result), flush=True)


def _tuples(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in settings.items()}


# ---------------------------------------------------------------- reporting ----------------

def throughput_table(results: Sequence[dict[str, Any]], repeats: int) -> list[str]:
    """Lines of the side-by-side table: one row per (threads, hidden, batch), ratio numpy/torch."""
    by_key: dict[tuple[int, int, int], dict[str, float]] = {}
    for result in results:
        for row in result["rows"]:
            key = (result["threads"], row["hidden_dim"], row["batch_size"])
            by_key.setdefault(key, {})[result["backend"]] = statistics.median(row["rates"])
    header = f"{'threads':>7}  {'hidden':>6}  {'batch':>5}  {'numpy img/s':>11}  {'torch img/s':>11}  numpy/torch"
    lines = [
        f"Training throughput, 3072-H-10 float32 (median of {repeats} repeats, warm-up excluded)",
        header,
        "-" * len(header),
    ]
    ratios = []
    for (threads, hidden, batch), rates in sorted(by_key.items()):
        numpy_rate, torch_rate = rates.get("numpy"), rates.get("torch")
        torch_text, ratio_text = "-", "n/a"
        if torch_rate is not None:
            torch_text = f"{torch_rate:,.0f}"
        if numpy_rate is not None and torch_rate is not None:
            ratio = numpy_rate / torch_rate
            ratios.append(ratio)
            ratio_text = f"{ratio:.2f}" + ("" if ratio >= TARGET_RATIO else f"  (below {TARGET_RATIO})")
        numpy_text = "-" if numpy_rate is None else f"{numpy_rate:,.0f}"
        lines.append(f"{threads:>7}  {hidden:>6}  {batch:>5}  {numpy_text:>11}  {torch_text:>11}  {ratio_text}")
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
    """The machine, its load, the thread counts; a warning when it is busy; a note when PyTorch is missing."""
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


# --------------------------------------------------------------------- CLI -----------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run (1 thread, "
                        "fewer configurations and repeats, 1 epoch of CIFAR training)")
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
    parser.add_argument("--json", type=Path, default=None, help="also write all raw measurements here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 64,128, got {text!r}") from None
    if not values or min(values) < 1:
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

    missing = []
    for key in ("layers", "networks"):
        try:
            path = source_notebook(key)
        except FileNotFoundError as error:
            return [str(error)]
        if not path.exists():
            missing.append(str(path))
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(json.loads(args.worker))
        return 0

    cpus = os.cpu_count() or 1
    thread_counts = args.threads or ((1,) if args.quick else tuple(sorted({1, cpus})))
    settings = ThroughputSettings(
        hidden_dims=args.hidden_dims or ((100,) if args.quick else (100, 500)),
        batch_sizes=args.batch_sizes or ((64, 256) if args.quick else (64, 128, 256, 512)),
        repeats=args.repeats or (3 if args.quick else 7),
        warmup_steps=2 if args.quick else 5,
        min_repeat_seconds=0.05 if args.quick else 0.4,
    )
    missing = missing_reference_notebooks()
    if missing:
        print("cannot benchmark: the reference notebooks are missing: " + "; ".join(missing), file=sys.stderr)
        return 2
    torch_installed = importlib.util.find_spec("torch") is not None
    use_torch = torch_installed and not args.no_torch
    max_epochs = 1 if args.quick else None

    for line in machine_lines(thread_counts, torch_installed):
        print(line, flush=True)
    source = None if args.no_accuracy else cifar_source(args.cifar)
    accuracy_threads = max(thread_counts)
    results, accuracy = [], None
    for threads in thread_counts:
        # The time-to-40% run shares the numpy worker that uses the most threads (one start-up less).
        with_accuracy = source is not None and threads == accuracy_threads
        numpy_result = run_worker_process(
            {"kind": "numpy", "threads": threads, "settings": dataclasses.asdict(settings),
             "with_accuracy": with_accuracy, "max_epochs": max_epochs},
            threads, extra_env={"HWLIB_CIFAR10": str(source)} if with_accuracy else None,
        )
        accuracy = numpy_result.pop("accuracy") or accuracy
        results.append(numpy_result)
        if use_torch:
            results.append(run_worker_process(
                {"kind": "torch", "threads": threads, "reg_factor": numpy_result["l2_factor"],
                 "settings": dataclasses.asdict(settings)}, threads))
    print()
    for result in results:
        print(f"{result['backend']} {result['version']} with {result['threads']} threads "
              f"(library reports {result['library_threads'] if result['library_threads'] else 'n/a'})")
    for note in {note for result in results for note in result["notes"]}:
        print(f"note: the reference computes in more than float32: {note}")
    print()
    for line in throughput_table(results, settings.repeats):
        print(line)

    if accuracy is not None:
        print()
        for line in accuracy_lines(accuracy, accuracy_threads):
            print(line)
    elif not args.no_accuracy:
        print("\nskipping time-to-40%: no CIFAR-10 data found (pass --cifar or set HWLIB_CIFAR10)")
    if args.json is not None:
        args.json.write_text(json.dumps({"settings": dataclasses.asdict(settings), "throughput": results,
                                         "accuracy": accuracy}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
