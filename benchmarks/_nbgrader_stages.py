"""Run stock ``nbgrader`` with timers around its stages; write seconds per stage to a JSON file.

    python benchmarks/_nbgrader_stages.py OUT.json autograde backprop --force

nbgrader's own code runs unchanged: each preprocessor's ``preprocess``, the
kernel start of its Execute preprocessor (nbclient) and the notebook writer are
wrapped with a timer. Stages: kernel start (nbclient starting the kernel and
its client), sanitize (the sanitizing preprocessors and the light ones after
execution), execute (Execute minus its kernel start: every cell, hidden tests
included - stock nbgrader has no separate probe), score (SaveAutoGrades,
AssignLatePenalties), write (FilesWriter), and the count of notebooks.
"""

from __future__ import annotations

import atexit
import functools
import json
import sys
import time
from collections import defaultdict

SECONDS: dict[str, float] = defaultdict(float)
COUNTS: dict[str, int] = defaultdict(int)


def _timed(stage: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SECONDS[stage] += time.perf_counter() - began
            COUNTS[stage] += 1
    return wrapper


def install() -> None:
    import nbclient
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbconvert.writers import FilesWriter
    from nbgrader import preprocessors as pp

    for cls in (pp.ClearOutput, pp.DeduplicateIds, pp.OverwriteKernelspec, pp.OverwriteCells, pp.CheckCellMetadata,
                pp.IgnorePattern, ClearMetadataPreprocessor, pp.LimitOutput):
        cls.preprocess = _timed("sanitize", cls.preprocess)
    for cls in (pp.SaveAutoGrades, pp.AssignLatePenalties):
        cls.preprocess = _timed("score", cls.preprocess)
    pp.Execute.preprocess = _timed("execute+kernel", pp.Execute.preprocess)
    # nbconvert's ExecutePreprocessor starts its kernel through these synchronous wrappers
    for name in ("start_new_kernel", "start_new_kernel_client"):
        setattr(nbclient.NotebookClient, name, _timed("kernel start", getattr(nbclient.NotebookClient, name)))
    FilesWriter.write = _timed("write", FilesWriter.write)


def dump(path: str) -> None:
    stages = {"kernel start": SECONDS["kernel start"], "sanitize": SECONDS["sanitize"],
              "execute": SECONDS["execute+kernel"] - SECONDS["kernel start"], "probe": 0.0,
              "score": SECONDS["score"], "write": SECONDS["write"]}
    with open(path, "w") as handle:
        json.dump({"notebooks": COUNTS["execute+kernel"], "seconds": stages}, handle)


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    install()
    atexit.register(dump, out)
    from nbgrader.apps.nbgraderapp import NbGraderApp

    sys.argv = ["nbgrader", *argv]
    NbGraderApp.launch_instance()


if __name__ == "__main__":
    main()
