"""Shared test fixtures: a loopback HTTP server (real downloads, offline) and an isolated data cache.

CIFAR-10: tests that execute a notebook which loads it are skipped, with the
reason, on a machine without the data. The data is found (never downloaded) at
``$HWLIB_CIFAR10``, else the course subset at ``$HWLIB_TEST_CIFAR_ARCHIVE`` or
``../shared/data/cifar-10-python-subset.tar.gz`` next to the repository (then
``HWLIB_CIFAR10`` is set for the notebooks the tests run), else in the hwlib
cache (``$HWLIB_DATA_DIR``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import http.server
import os
import socket
import threading
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_SUBSET = REPO.parent / "shared" / "data" / "cifar-10-python-subset.tar.gz"


def _point_at_local_cifar() -> None:
    """Set HWLIB_CIFAR10 to the course subset when it is here and nothing else was chosen."""
    if os.environ.get("HWLIB_CIFAR10"):
        return
    for candidate in (os.environ.get("HWLIB_TEST_CIFAR_ARCHIVE"), str(SHARED_SUBSET)):
        if candidate and Path(candidate).is_file():
            os.environ["HWLIB_CIFAR10"] = candidate
            return


_point_at_local_cifar()


@lru_cache(maxsize=1)
def cifar_missing() -> str | None:
    """Why CIFAR-10 is not available to the tests without a download, or None when it is."""
    from hwlib.cifar import locate_cifar10

    try:
        locate_cifar10(download=False)
    except Exception as error:  # noqa: BLE001 - the loader's message says what to do
        return (f"CIFAR-10 is not available offline ({type(error).__name__}: {error}); set HWLIB_CIFAR10 to "
                f"cifar-10-python.tar.gz or its extracted folder to run this test")
    return None


@lru_cache(maxsize=None)
def _loads_cifar(notebook_key: str) -> bool:
    from course.paths import NOTEBOOKS

    name = NOTEBOOKS.get(notebook_key)
    path = REPO / "notebooks" / name if name else None
    return bool(path and path.exists() and "load_cifar10" in path.read_text(encoding="utf-8"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_cifar: the test needs CIFAR-10 (skipped with the reason without it)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests that need CIFAR-10 when it is missing: those marked ``needs_cifar`` and those
    parametrised by a notebook key whose notebook loads it (read from the notebook, so new ones count)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        keys = [value for value in params.values() if isinstance(value, str)]
        if item.get_closest_marker("needs_cifar") or any(_loads_cifar(key) for key in keys):
            reason = cifar_missing()
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@dataclasses.dataclass
class LoopbackServer:
    """An HTTP server on 127.0.0.1 that serves ``files`` (URL path -> bytes).

    ``behaviour[path]`` changes how a file is sent:
      "ok" (default) - whole body with a correct Content-Length;
      "short" - only the first half, with a Content-Length that matches the half
                (a complete response of truncated data);
      "cut" - announces the full length, sends half, then closes the connection.
    ``requests`` records every requested path.
    """

    base_url: str
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    behaviour: dict[str, str] = dataclasses.field(default_factory=dict)
    requests: list[str] = dataclasses.field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path


def _handler_for(server: LoopbackServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - name fixed by http.server
            server.requests.append(self.path)
            body = server.files.get(self.path)
            if body is None:
                self.send_error(404, "not here")
                return
            mode = server.behaviour.get(self.path, "ok")
            sent = body[: len(body) // 2] if mode in ("short", "cut") else body
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body) if mode == "cut" else len(sent)))
            self.end_headers()
            self.wfile.write(sent)
            self.wfile.flush()
            if mode == "cut":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A running :class:`LoopbackServer`; add files to ``.files`` and fetch ``.url(path)``."""
    server = LoopbackServer(base_url="")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(server))
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on a port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing.tar.gz"


@pytest.fixture
def data_cache(tmp_path, monkeypatch) -> Path:
    """An empty hwlib cache folder (HWLIB_DATA_DIR) with no dataset or grader variables set."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("HWLIB_DATA_DIR", str(cache))
    for name in ("HWLIB_CIFAR10", "HWLIB_MNIST", "NBGRADER_EXECUTION", "HWLIB_AUTOGRADE"):
        monkeypatch.delenv(name, raising=False)
    return cache


@pytest.fixture(scope="session")
def gradescope_root(tmp_path_factory) -> Callable[[Path, Path], Path]:
    """``give(zip_path, root)``: container root ``root`` for :func:`course.gradescope.run_local`,
    with this test run's one Gradescope virtualenv. The first call runs the zip's ``setup.sh``
    for real (about a minute); every later one, in any xdist worker (and, under ``run.sh test``,
    in the load test after the suite), links to its result. The virtualenv holds only the kit,
    the same in every zip built from this checkout."""
    from course.gradescope import install

    run_shared = os.environ.get("COURSE_TEST_SHARED_DIR")  # `run.sh test`: its suite and load test
    xdist_run = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # every xdist worker of one run
    base = tmp_path_factory.getbasetemp()
    shared = (Path(run_shared) / "gradescope" if run_shared else
              base.parent / f"gradescope-{xdist_run}" if xdist_run else base / "gradescope")

    def give(zip_path: Path, root: Path) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        shared.mkdir(exist_ok=True)
        venv = shared / "root" / "venv"
        with open(shared / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (venv / "bin" / "course").exists():
                install(zip_path, shared / "root")
        if not (root / "venv").exists():
            (root / "venv").symlink_to(venv)
        return root

    return give
