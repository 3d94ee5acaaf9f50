"""Cross-site WebSocket hijacking, tried with a real browser: a page that Chromium loads from
another port (another origin) tries to drive the engine. The demo and ``moodscore serve`` refuse
its handshake (403, logged and counted); the demo's own page connects; ``--allow-origin`` lets a
named origin in. Clients without an Origin header (games, tools) are not affected.
"""
from __future__ import annotations

import http.server
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from support import Engine, free_port, wait_until
from test_demo_browser import ARGS
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

ATTACK = """<!doctype html><title>elsewhere</title><script>
window.result = new Promise(resolve => {
  const ws = new WebSocket("ws://127.0.0.1:%d/");
  ws.onopen = () => { ws.send('{"type":"stop"}'); ws.onmessage = e => resolve("open: " + e.data); };
  ws.onerror = () => resolve("refused");
});
</script>"""


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """A page served by another server on another port: (its origin, pages to write into)."""
    pages: list[str] = [""]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = pages[0].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port(socket.SOCK_STREAM)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}", pages
    finally:
        server.shutdown()


def attack(origin: str, pages: list[str], ws_port: int) -> str:
    from playwright.sync_api import sync_playwright

    pages[0] = ATTACK % ws_port
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page()
            page.goto(origin + "/")
            return str(page.evaluate("() => window.result"))
        finally:
            browser.close()


def test_a_page_from_another_origin_cannot_drive_the_demo(chromium, demo_server, elsewhere) -> None:
    origin, pages = elsewhere
    assert attack(origin, pages, demo_server.port) == "refused"
    wait_until(lambda: "rejected origin input #1" in demo_server.log(), 5, "the refusal logged")
    assert f"origin '{origin}' refused" in demo_server.log()
    # the demo's own page (same origin as the WebSocket) still connects
    with connect(f"ws://127.0.0.1:{demo_server.port}/", origin=f"http://127.0.0.1:{demo_server.port}") as ws:  # type: ignore[arg-type]
        ws.send('{"type":"va","valence":0.5,"arousal":0.5}')
        assert ws.recv(timeout=5) == '{"type":"ack"}'
    with pytest.raises(InvalidStatus, match="403"):
        connect(f"ws://127.0.0.1:{demo_server.port}/", origin="https://evil.example")  # type: ignore[arg-type]


def test_serve_refuses_browser_origins_unless_allowed(chromium, tmp_path, elsewhere) -> None:
    origin, pages = elsewhere
    with Engine(tmp_path / "closed") as engine:
        assert attack(origin, pages, engine.ws_port) == "refused"
        with pytest.raises(InvalidStatus, match="403"):
            connect(f"ws://127.0.0.1:{engine.ws_port}", origin="https://evil.example")  # type: ignore[arg-type]
        with connect(f"ws://127.0.0.1:{engine.ws_port}") as ws:  # a game: no Origin header
            ws.send('{"type":"play"}')
            assert ws.recv(timeout=5) == '{"type":"ack"}'
        wait_until(lambda: len(re.findall(r"rejected origin input", engine.log())) == 2, 5, "both refusals logged")
    with Engine(tmp_path / "open", "--allow-origin", origin) as engine:
        assert attack(origin, pages, engine.ws_port) == 'open: {"type":"ack"}'
        assert "rejected origin" not in engine.log()
