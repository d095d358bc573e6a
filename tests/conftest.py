"""Shared test fixtures: a loopback HTTP server (real downloads, offline) and an isolated data cache."""

from __future__ import annotations

import dataclasses
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


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
