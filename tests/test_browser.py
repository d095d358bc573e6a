"""Real-browser test: JupyterLab (and Notebook 7 once) on 127.0.0.1, driven by Debian's chromium through Playwright.

Runs every reference notebook with Run All and checks what a student sees: no error
outputs, a ✓ on every public check, live ipywidgets, a slider that redraws the graph,
no drawn graph wider than the output area; then a fresh release, whose Run All must
go through every cell with "Qn.m `name` is not answered yet" messages.

Notebooks 04, 06 and 07 run in a second server with HWLIB_AUTOGRADE=1 (the autograding
budget), so the suite stays within a few minutes; they have no widgets.
Screenshots: ``build/browser-screenshots/`` (printed at the end).
Every browser wait has a timeout and fails with a message (page scripts included, see ``js``).
Skipped, with the reason, only where chromium or playwright cannot be installed;
under CI as root it fails instead (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from student_release import REPO, build_release, unpack

pytestmark = pytest.mark.slow

SCREENSHOTS = REPO / "build" / "browser-screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INTERACTIVE = ["01_computational_graphs.ipynb", "02_layers.ipynb", "03_affine_fitting.ipynb", "05_convolution.ipynb"]
BUDGETED = ["04_neural_networks.ipynb", "06_class_visualization.ipynb", "07_mnist.ipynb"]
TOKEN = "browser-test"
#: Notebooks left out of the default run, with the reason (COURSE_BROWSER_FULL=1 runs them too). None now:
#: with the workspace reset per page, 04 (24 s) and 07 (10 s) run under the autograding budget.
FULL = bool(os.environ.get("COURSE_BROWSER_FULL"))
OPT_IN: dict[str, str] = {}


def _param(name: str):
    return pytest.param(name, marks=pytest.mark.skipif(name in OPT_IN and not FULL, reason=OPT_IN.get(name, "")))


def _missing_browser() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not CHROMIUM:
        return "Debian's chromium is not installed (apt-get install chromium)"
    return ""


_REASON = _missing_browser()
if _REASON and os.environ.get("CI") and os.geteuid() == 0:
    raise RuntimeError(f"browser test cannot run in CI as root: {_REASON}; .ci/run should have installed it")
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A JupyterLab server on 127.0.0.1 serving ``root`` (kernels inherit ``env``)."""

    def __init__(self, root: Path, settings: Path, env: dict[str, str]) -> None:
        self.workspaces = Path(env["JUPYTERLAB_WORKSPACES_DIR"])
        self.workspaces.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(SCREENSHOTS / f"jupyter-{self.port}.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--allow-root",
             # window.jupyterapp: Run All through the application's own command, as its menu item does
             "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        """Until the server answers (start both servers first: each takes a while to import its extensions)."""
        deadline = time.time() + 300
        while time.time() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={TOKEN}", timeout=5):
                    return
            except OSError:
                time.sleep(1)
        raise RuntimeError(f"JupyterLab did not start; see {self.log.name}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    started = time.time()
    root = tmp_path_factory.mktemp("browser")
    work = root / "work"
    work.mkdir()
    for name in INTERACTIVE + BUDGETED:
        shutil.copy2(REPO / "notebooks" / name, work / name)
    for extra in (REPO / "notebooks").iterdir():
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy2(extra, work / extra.name)
    release = unpack(build_release(root), work / "release")
    settings = root / "lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))  # every cell in the DOM
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))  # no "official Jupyter news?" toast over the screenshots
    env = {k: v for k, v in os.environ.items() if k not in {"HWLIB_HEADLESS", "HWLIB_AUTOGRADE",
                                                             "NBGRADER_EXECUTION", "MPLBACKEND"}}
    config = root / "student-config"  # as a student's environment: no nbgrader (it is not in their requirements)
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {"@jupyter/nbgrader": True}}))
    (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"nbgrader": False}}}))
    env.update(JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTER_RUNTIME_DIR=str(root / "runtime"),
               JUPYTER_CONFIG_PATH=str(config), JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    live = Server(work, settings, env)
    budgeted = Server(work, settings, {**env, "HWLIB_AUTOGRADE": "1"})
    live.wait()
    budgeted.wait()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield {"work": work, "release": release, "live": live, "budgeted": budgeted, "context": context,
               "started": started}
        browser.close()
    live.stop()
    budgeted.stop()
    print(f"\nbrowser test: {time.time() - started:.0f} s; screenshots in {SCREENSHOTS}")


def js(page: Page, script: str, arg=None, seconds: float = 30, what: str = "a page script"):
    """``page.evaluate`` that cannot hang: a promise that never settles (a dialog, a stuck command) fails after ``seconds``."""
    wrapped = ("async ([arg, ms, what]) => { const run = " + script + ";"
               " return await Promise.race([Promise.resolve().then(() => run(arg)),"
               " new Promise((_, fail) => setTimeout(() => fail(new Error(what + ' did not finish within ' + ms / 1000 + ' s')), ms))]); }")
    return page.evaluate(wrapped, [arg, int(seconds * 1000), what])


def accept_kernel_dialog(page: Page) -> None:
    """A loaded JupyterLab sometimes asks which kernel to start; a student answers with the default (Python 3)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count():
        dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click(timeout=10_000)


def open_notebook(context, server: Server, path: str, ui: str = "lab") -> Page:
    page = context.new_page()
    page.set_default_timeout(60_000)  # every locator action and wait fails after a minute at most
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    page.forbidden = []  # URLs answered with HTTP 403
    page.on("response", lambda response: response.status == 403 and page.forbidden.append(response.url))
    # a fresh workspace per page: JupyterLab would otherwise reopen the notebooks of earlier pages as tabs,
    # whose cells (all in the DOM) would be counted with this notebook's
    for saved_workspace in server.workspaces.glob("*"):
        saved_workspace.unlink()
    url = f"{server.base}/{'lab/tree' if ui == 'lab' else 'notebooks'}/{path}?token={TOKEN}"
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached", timeout=120_000)
    page.wait_for_timeout(500)
    accept_kernel_dialog(page)
    open_notebooks = page.locator(".jp-Notebook").count()
    assert open_notebooks == 1, f"{path}: {open_notebooks} notebooks open in the page (a workspace restored others)"
    # the kernel is ready when the toolbar's execution indicator says idle
    page.wait_for_function("""() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'
        || window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'""",
                           timeout=180_000)
    time.sleep(1.0)
    return page


def run_all(page: Page, timeout: float = 420) -> float:
    """Run ▸ Run All Cells through the menu; wait until no cell is queued or running; return seconds."""
    started = time.time()
    try:  # the Run menu, as a student would
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).first.click(timeout=10_000)
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click(timeout=10_000)
    except Exception:  # a busy machine can keep the menu bar "unstable" for Playwright: the same command directly
        page.keyboard.press("Escape")
        js(page, "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }", what="Run All")
    # done when every code cell shows an execution count; stopped when nothing runs and some never ran
    prompts = "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim())"
    idle_since = None
    retried = False
    while time.time() - started < timeout:
        shown = js(page, prompts, what="reading the execution counts")
        running = any("*" in p for p in shown)
        if shown and all(re.search(r"\[\d+\]", p) for p in shown):
            break
        if not retried and not running and not any(re.search(r"\d", p) for p in shown) and time.time() - started > 15:
            # a loaded machine can swallow the menu click: nothing started, so the same command directly, once
            retried = True
            js(page, "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }", what="Run All")
            idle_since = None
        idle_since = None if running else (idle_since or time.time())
        if idle_since and time.time() - idle_since > 60:
            raise AssertionError(stopped_report(page, shown))
        time.sleep(1.0)
    else:
        raise AssertionError(f"Run All did not finish within {timeout} s")
    time.sleep(1.0)  # last outputs and widget views
    save(page)
    return time.time() - started


def stopped_report(page: Page, shown: list[str]) -> str:
    """Why Run All stopped: the first cell that never ran, the kernel's state, the first error output, a screenshot."""
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    first_error = errors.first.inner_text(timeout=5_000)[-1500:] if errors.count() else "no error output shown"
    unrun = [i for i, p in enumerate(shown) if not re.search(r"[0-9]", p)]
    state = js(page, """(i) => { const cells = [...document.querySelectorAll('.jp-CodeCell')];
        const widget = window.jupyterapp.shell.currentWidget;
        const kernel = widget?.sessionContext?.session?.kernel;
        return {source: cells[i]?.querySelector('.jp-InputArea-editor')?.innerText.slice(0, 200),
                before: cells[i - 1]?.querySelector('.jp-InputArea-editor')?.innerText.slice(0, 200),
                outputBefore: cells[i - 1]?.querySelector('.jp-OutputArea')?.innerText.slice(-500),
                kernel: kernel?.status, connection: kernel?.connectionStatus,
                dialog: document.querySelector('.jp-Dialog')?.innerText.slice(0, 300)}; }""",
               unrun[0] if unrun else 0, what="reading the stopped state")
    page.screenshot(path=str(SCREENSHOTS / "run-all-stopped.png"))
    return (f"Run All stopped: {len(unrun)} of {len(shown)} code cells never ran (first: code cell {unrun[:1]}); "
            f"state {state}; first error output: {first_error}; console: {page.console_messages[-15:]}")


def save(page: Page) -> None:
    """File ▸ Save, and wait until the notebook is saved (a dialog in the way fails with its text)."""
    js(page, "() => { window.jupyterapp.commands.execute('docmanager:save'); }", what="File > Save")
    try:
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget?.context?.model?.dirty === false",
                               timeout=30_000)
    except Exception as error:
        dialog = page.locator(".jp-Dialog")
        shown = dialog.first.inner_text(timeout=5_000) if dialog.count() else "no dialog"
        raise AssertionError(f"the notebook was not saved within 30 s ({shown!r})") from error


def saved(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def output_text(cell) -> str:
    parts = [o.get("text", "") + "\n".join(o.get("traceback", [])) for o in cell.get("outputs", [])]
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))


GRAPHS = ".jp-RenderedSVG img, .jp-RenderedSVG svg"  # JupyterLab shows SVG outputs as <img> (Colab: inline)


def graph_widths(page: Page) -> list[dict]:
    """Width of every drawn graph (SVG output) and of the output area it sits in, in px."""
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)]
        .filter(e => e.getBoundingClientRect().width > 0)
        .map(e => ({graph: e.getBoundingClientRect().width, natural: e.naturalWidth || 0,
                    area: e.closest('.jp-OutputArea-output').getBoundingClientRect().width}))""", GRAPHS)


def cut_labels(page: Page) -> list[str]:
    """Widget labels (slider descriptions) whose text does not fit their box: ipywidgets cuts them with an ellipsis."""
    return page.evaluate("""() => [...document.querySelectorAll('.widget-label, .jupyter-widget-label')]
        .filter(l => l.getBoundingClientRect().width > 0 && l.scrollWidth > l.clientWidth + 1)
        .map(l => l.textContent)""")


def check_page(page: Page, name: str) -> dict:
    body = page.inner_text(".jp-Notebook")
    chrome = page.inner_text("body")
    assert not re.search(r"\bNbgrader\b|Create Assignment|\bValidate\b", chrome), f"{name}: instructor tools shown"
    assert "Error displaying widget" not in body and "Loading widget" not in body, name
    assert not cut_labels(page), f"{name}: widget labels cut off: {cut_labels(page)}"
    widths = graph_widths(page)
    too_wide = [w for w in widths if w["graph"] > w["area"] + 1]
    assert not too_wide, f"{name}: graphs wider than their output area: {too_wide}"
    graphs = page.locator(GRAPHS)
    if graphs.count():  # a screenshot where the widest graph is
        widest = max(range(len(widths)), key=lambda i: widths[i]["natural"] or widths[i]["graph"])
        graphs.nth(widest).scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    return {"graphs": len(widths), "widest_shown_px": round(max((w["graph"] for w in widths), default=0)),
            "widest_natural_px": max((w["natural"] for w in widths), default=0),
            "output_area_px": round(max((w["area"] for w in widths), default=0))}


def check_reference_notebook(path: Path) -> None:
    notebook = saved(path)
    errors = [(i, o.ename) for i, c in enumerate(notebook.cells) for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors, f"{path.name}: error outputs {errors}"
    for index, cell in enumerate(notebook.cells):
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and grading.get("grade") and not grading.get("solution"):
            assert "✓" in output_text(cell), f"{path.name} cell {index} ({grading.get('grade_id')}): no ✓"


@pytest.mark.parametrize("name", [_param(n) for n in INTERACTIVE + BUDGETED])
def test_reference_notebook_runs_all_in_jupyterlab(setup, name):
    server = setup["budgeted"] if name in BUDGETED else setup["live"]
    page = open_notebook(setup["context"], server, name)
    seconds = run_all(page)
    figures = check_page(page, f"lab-{name[:-6]}")
    print(f"{name}: Run All {seconds:.0f} s; {figures}")
    if name in ("01_computational_graphs.ipynb", "03_affine_fitting.ipynb"):
        assert page.locator(".widget-slider").count() >= 1, f"{name}: no live slider"
    if name == "01_computational_graphs.ipynb":
        move_a_slider_and_see_the_graph_change(page)
    if name == "03_affine_fitting.ipynb":  # the explorer's long slider names (log10_learning_rate) in full
        explorer = page.locator(".widget-interact").filter(has=page.locator(".widget-slider")).first
        explorer.scroll_into_view_if_needed()
        explorer.screenshot(path=str(SCREENSHOTS / "lab-03-explorer-sliders.png"))
        labels = explorer.locator(".widget-label")
        print(f"{name}: explorer labels {[labels.nth(i).inner_text() for i in range(labels.count())]}, "
              f"label box {explorer.locator('.widget-label').first.bounding_box()}")
    page.close()
    check_reference_notebook(setup["work"] / name)


def move_a_slider_and_see_the_graph_change(page: Page) -> None:
    explorer = page.locator(".widget-interact").filter(has=page.locator(".widget-slider")).first
    graph = explorer.locator(".jp-RenderedSVG img").first
    graph.scroll_into_view_if_needed()
    before = graph.get_attribute("src")
    readout = explorer.locator(".widget-readout").first  # the slider's editable number (w0)
    readout.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("2.5")
    page.keyboard.press("Enter")
    page.wait_for_function("""(old) => { const img = document.querySelector('.widget-interact .jp-RenderedSVG img');
                                         return img && img.getAttribute('src') !== old; }""", arg=before, timeout=60_000)
    after = explorer.locator(".jp-RenderedSVG img").first
    assert "2.5" in after.get_attribute("src")
    explorer.screenshot(path=str(SCREENSHOTS / "lab-01-explorer-after-slider.png"))


def test_fresh_release_runs_all_with_friendly_messages(setup):
    name = "01_computational_graphs.ipynb"
    page = open_notebook(setup["context"], setup["live"], f"release/backprop/{name}")
    seconds = run_all(page)
    body = page.inner_text(".jp-Notebook")
    check_page(page, "release-01")
    first_error = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").first
    first_error.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "release-01-first-unanswered.png"))
    page.close()
    assert "Q1.1 `build_sigmoid_neuron_graph` is not answered yet — write it in this cell" in body
    notebook = saved(setup["release"] / name)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "Run All stopped before the last cell"
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and {o.ename for o in errors} <= {"NotImplementedError", "NameError"}
    assert all(re.search(r"is not answered yet|waits for Q", "".join(o.traceback)) for o in errors)
    print(f"release {name}: Run All {seconds:.0f} s through {len(code)} code cells, {len(errors)} friendly errors")


def test_notebook7_runs_a_notebook_with_widgets(setup):
    name = "03_affine_fitting.ipynb"
    copy = setup["work"] / "nb7_03_affine_fitting.ipynb"
    shutil.copy2(setup["work"] / name, copy)
    page = open_notebook(setup["context"], setup["live"], copy.name, ui="notebook")
    run_all(page)
    check_page(page, "notebook7-03")
    assert page.locator(".widget-slider").count() >= 1, "Notebook 7: no live slider"
    page.locator(".widget-slider").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "notebook7-03-widgets.png"))
    # Notebook 7.6 answers some of its own web fonts (/static/notebook/*.woff, fetched by its CSS) with 403;
    # the page falls back to system fonts and nothing else is affected. Any other 403 (API, kernel, widgets) fails.
    forbidden = [url for url in page.forbidden if not re.search(r"/static/notebook/[\w.]+\.woff2?$", url)]
    if page.forbidden:
        print(f"Notebook 7: {len(page.forbidden) - len(forbidden)} web fonts answered 403 (tolerated, see comment)")
    page.close()
    check_reference_notebook(copy)
    assert not forbidden, forbidden
