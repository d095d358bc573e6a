"""Colab emulation: a fresh venv that has only what Colab preinstalls, the student zip in a
Drive folder, the README's unpack cell and each notebook's first cell run as cells.

Layout as on Colab: the kernel starts in ``<tmp>/content``; ``<tmp>/drive`` stands for
``/content/drive`` (``HWLIB_COLAB_DRIVE`` skips the mount, in this emulation only); a fake
``google.colab`` module is imported at interpreter start, as on Colab. The student has
answered notebook 2 in Drive, so notebook 4's cross-notebook import must read that copy.
About 2-4 minutes (venv, release, six notebooks).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from student_release import REPO, build_release

pytestmark = pytest.mark.slow

#: Packages Colab has before any student cell runs (the release must install everything else).
COLAB_PREINSTALLED = ["ipykernel", "numpy", "matplotlib", "ipywidgets", "tqdm", "graphviz", "nbformat"]

FAKE_COLAB = {
    "google/__init__.py": "",
    "google/colab/__init__.py": "",
    "google/colab/drive.py": (
        "def mount(mountpoint, **kwargs):\n"
        "    raise RuntimeError('Colab emulation: Drive cannot be mounted here; set HWLIB_COLAB_DRIVE')\n"),
}


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    root = tmp_path_factory.mktemp("colab")
    zip_path = build_release(root)
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # --no-compile: no bytecode for the preinstalled packages (half of pip's time here; imports compile lazily)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-compile", *COLAB_PREINSTALLED],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    for name, text in FAKE_COLAB.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    (site / "fake_colab.pth").write_text("import google.colab\n")
    subprocess.run([str(python), "-m", "ipykernel", "install", "--prefix", str(env_dir), "--name", "colab"],
                   check=True, capture_output=True)
    content, drive = root / "content", root / "drive"
    content.mkdir()
    (drive / "MyDrive").mkdir(parents=True)
    shutil.copy2(zip_path, drive / "MyDrive" / "backprop-student.zip")
    return {"root": root, "env_dir": env_dir, "python": python, "content": content, "drive": drive,
            "zip": zip_path}


def run_cells(colab: dict, notebook: nbformat.NotebookNode, **env: str) -> nbformat.NotebookNode:
    """Execute like Colab: the emulated kernel, started in /content (errors stop the run, as Run All would)."""
    specs = KernelSpecManager(kernel_dirs=[str(colab["env_dir"] / "share" / "jupyter" / "kernels")])
    manager = KernelManager(kernel_name="colab", kernel_spec_manager=specs)
    kernel_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    kernel_env.update({"HWLIB_COLAB_DRIVE": str(colab["drive"]), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                       **env})
    kernel_env.pop("HWLIB_AUTOGRADE", None)
    kernel_env.pop("NBGRADER_EXECUTION", None)
    client = NotebookClient(notebook, km=manager, timeout=600, allow_errors=False,
                            resources={"metadata": {"path": str(colab["content"])}})
    client.execute(env=kernel_env, cwd=str(colab["content"]))
    return notebook


def readme_unpack_cell(readme: str) -> str:
    return re.search(r"```python\n(.*?)```", readme, re.DOTALL).group(1)


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") + "\n".join(output.get("traceback", []))
                         + str(output.get("data", {}).get("text/plain", "")))
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))


def answer_in_drive(folder: Path, notebook: str) -> None:
    """The student answers every question of ``notebook`` in their Drive copy (the solution's answer cells)."""
    source = nbformat.read(REPO / "notebooks" / notebook, as_version=4)
    solutions = {c.id: c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")
                 and c.cell_type == "code"}
    copy = nbformat.read(folder / notebook, as_version=4)
    for cell in copy.cells:
        if cell.id in solutions:
            cell.source = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", solutions[cell.id])
    nbformat.write(copy, folder / notebook)


def test_colab_student_runs_every_notebook_from_drive(colab):
    with zipfile.ZipFile(colab["zip"]) as archive:
        readme = archive.read("backprop/README.md").decode()
    unpack = readme_unpack_cell(readme).replace('"/content/drive"', json.dumps(str(colab["drive"])))
    unpack = unpack.replace("/content/drive/MyDrive", str(colab["drive"] / "MyDrive"))
    unpack = unpack.replace('from google.colab import drive; drive.mount(', '(lambda *a: None)(')  # no mount here
    unpacked = run_cells(colab, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(unpack)]))
    folder = colab["drive"] / "MyDrive" / "backprop"
    assert "01_computational_graphs.ipynb" in outputs_text(unpacked) and (folder / "colab_setup.py").exists()
    check = subprocess.run([str(colab["python"]), "-c", "import hwlib"], capture_output=True)
    assert check.returncode != 0, "hwlib must come from the release's first cell, not be preinstalled"

    answer_in_drive(folder, "02_layers.ipynb")
    for path in sorted(folder.glob("0*.ipynb")):
        notebook = run_cells(colab, nbformat.read(path, as_version=4))
        text = outputs_text(notebook)
        assert f"course folder: {folder}" in text, path.name
        if path.name != "02_layers.ipynb":
            assert "is not answered yet" in text, path.name
        assert "Traceback" not in text, (path.name, text[-3000:])
        if path.name == "04_neural_networks.ipynb":
            # the layers come from the student's answered notebook 2 in Drive, not the released stubs
            assert "02_layers.ipynb is not answered" not in text
            assert "Q4.1" in text
        if path.name == "06_class_visualization.ipynb":
            assert "in 04_neural_networks.ipynb is not answered yet" in text
