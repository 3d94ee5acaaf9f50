"""The demo page over plain HTTP, on the WebSocket's own port (websockets' ``process_request``).

A request that asks for a WebSocket upgrade goes on to the engine's protocol; any other GET is
answered here: the built files under ``static/`` (``web/build.sh`` writes them), ``/state.json``
(what a page that connects now needs to know: stingers, transition modes, meter, the programs
sounding, the mood) and ``/soundfont`` (the SoundFont the page's synth loads). Nothing outside
``static/`` can be reached, and only GET is served (websockets refuses other methods).

Public API: :class:`Site`, ``CONTENT_TYPES``.
"""
from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .assets import STATIC

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".json": "application/json", ".png": "image/png",
    ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8", ".ico": "image/x-icon",
    ".sf2": "application/octet-stream", ".sf3": "application/octet-stream",
    ".wasm": "application/wasm",
}


def _response(status: HTTPStatus, body: bytes, content_type: str, **extra: str) -> Response:
    headers = Headers([("Date", email.utils.formatdate(usegmt=True)), ("Connection", "close"),
                       ("Content-Length", str(len(body))), ("Content-Type", content_type),
                       ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff")])
    for key, value in extra.items():
        headers[key.replace("_", "-")] = value
    return Response(status.value, status.phrase, headers, body)


class Site:
    """Answers the page's HTTP requests; pass an instance as ``process_request``."""

    def __init__(self, state: Callable[[], dict[str, Any]], soundfont: Path, *,
                 root: Path = STATIC) -> None:
        self.state, self.soundfont, self.root = state, soundfont, root.resolve()
        self.served: dict[str, int] = {}  # path -> requests answered with 200

    def __call__(self, connection: object, request: Request) -> Response | None:
        if "websocket" in request.headers.get("Upgrade", "").lower():
            return None  # the engine's protocol
        path = unquote(urlsplit(request.path).path)
        response = self.answer(path)
        if response.status_code == 200:
            self.served[path] = self.served.get(path, 0) + 1
        return response

    def answer(self, path: str) -> Response:
        """The response to a GET of ``path`` (already URL-decoded, without the query)."""
        if path == "/state.json":
            body = json.dumps(self.state(), separators=(",", ":")).encode()
            return _response(HTTPStatus.OK, body, CONTENT_TYPES[".json"])
        if path == "/soundfont":
            return self._file(self.soundfont)
        if path.endswith("/"):
            path += "index.html"
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return _response(HTTPStatus.NOT_FOUND, f"no such file: {path}\n".encode(), CONTENT_TYPES[".txt"])
        return self._file(target)

    def _file(self, path: Path) -> Response:
        try:
            body = path.read_bytes()
        except OSError as err:
            log.error("cannot read %s: %s", path, err)
            return _response(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot read {path.name}\n".encode(),
                             CONTENT_TYPES[".txt"])
        return _response(HTTPStatus.OK, body, CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
