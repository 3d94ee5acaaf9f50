"""WebSocket JSON into the engine, and beat/bar/phrase events back out to subscribers.

Each text (or binary) frame is one JSON message of :mod:`moodscore.engine.protocol`; each gets
``{"type":"ack"}`` or ``{"type":"error","error":"..."}`` and the connection and the music carry
on, whatever was sent. A subscriber that reads too slowly loses its oldest events, counted,
rather than holding the engine up. A lost ``midi`` event may have held a note-off, so the next
``midi`` event that subscriber gets is preceded by all-notes-off on every channel: a gap in
what it hears, never a note that hangs. Audio frames (binary, ``serve --ws-audio``) go to the
subscribers of ``audio`` the same way, at most about a second of them waiting; stems frames
(``--ws-audio-stems``) to those of ``stems``.

Browsers let any web page open a WebSocket to localhost, so a handshake that carries an
``Origin`` header (every browser sends one) is refused with HTTP 403, logged and counted,
unless that origin is allowed (``--allow-origin URL``, ``*`` for all; ``moodscore demo`` allows
its own page). Games, tools and the bindings send no ``Origin`` and are not affected.

Public API: :func:`start_ws`, :class:`Hub`, :class:`OriginGate`, :func:`normalize_origin`.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Iterable
from http import HTTPStatus
import socket
from typing import Any, Callable
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..engine.protocol import ProtocolError, RejectStats, SubscribeMessage, ack, error_reply, event_json, parse_json
from ..errors import ConfigError

log = logging.getLogger(__name__)
QUEUE = 256  # events held for one slow subscriber
AUDIO_SNDBUF = 131072  # bytes the kernel holds for an audio subscriber (Linux doubles it): ~1.3 s
AUDIO_QUEUE = 48  # about a second of audio frames (1024 at 48 kHz) waits for a slow subscriber
# all notes off (CC123) on the 16 channels, sent ahead of a subscriber's next MIDI after a loss
_ALL_NOTES_OFF = [[0xB0 | ch, 123, 0] for ch in range(16)]
FRAME_LIMIT = 1 << 20  # bigger frames close the connection (1009); the protocol's own limit is lower


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` lowercased, as browsers send it (``*`` and ``null`` as they are);
    ConfigError for anything else."""
    text = origin.strip()
    if text in ("*", "null"):
        return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"--allow-origin must be * or an origin such as http://localhost:3000 "
                          f"(scheme, host and port only), got {origin!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


class OriginGate:
    """websockets' ``process_request`` hook: 403 for a browser origin that is not allowed."""

    def __init__(self, allow: Iterable[str], stats: RejectStats) -> None:
        self.allow = frozenset(normalize_origin(o) for o in allow)
        self.stats = stats

    def allows(self, origin: str | None) -> bool:
        if origin is None or "*" in self.allow:
            return True
        try:
            return normalize_origin(origin) in self.allow
        except ConfigError:
            return False

    def __call__(self, connection: ServerConnection, request: Request) -> Response | None:
        origin = request.headers.get("Origin")
        if self.allows(origin):
            return None
        allowed = " ".join(sorted(self.allow)) or "none"
        self.stats.record("origin", f"WebSocket from origin {origin!r} refused (allowed: {allowed}; "
                                    "add one with --allow-origin URL)")
        body = (f"origin {origin} is not allowed to drive this engine; start it with "
                f"--allow-origin {origin} to allow it\n").encode("utf-8", "replace")
        headers = Headers([("Content-Type", "text/plain; charset=utf-8"),
                           ("Content-Length", str(len(body))), ("Connection", "close")])
        return Response(HTTPStatus.FORBIDDEN.value, HTTPStatus.FORBIDDEN.phrase, headers, body)


class Hub:
    """Fan-out of engine events to subscribed connections."""

    def __init__(self) -> None:
        self.queues: dict[ServerConnection, tuple[asyncio.Queue[str | bytes], frozenset[str]]] = {}
        self.dropped = 0
        self.audio_dropped = 0  # audio frames a slow subscriber lost (also in dropped)
        self._silence: set[ServerConnection] = set()  # lost a midi event: all-notes-off first

    def publish(self, event: dict) -> None:
        if not self.queues:
            return
        text = event_json(event)
        for ws, (queue, kinds) in self.queues.items():
            if event["type"] not in kinds:
                continue
            if queue.full():
                lost = queue.get_nowait()
                self.dropped += 1
                if isinstance(lost, str) and '"type":"midi"' in lost:
                    self._silence.add(ws)
            if event["type"] == "midi" and ws in self._silence:
                self._silence.discard(ws)
                if queue.full():
                    queue.get_nowait()
                    self.dropped += 1
                queue.put_nowait(event_json({"type": "midi", "time": event["time"], "data": _ALL_NOTES_OFF}))
                if queue.full():
                    queue.get_nowait()
                    self.dropped += 1
            queue.put_nowait(text)

    def publish_audio(self, frame: bytes, kind: str = "audio") -> None:
        """A binary audio frame to the subscribers of ``kind`` (``audio``, or ``stems``); a slow
        one loses its oldest frames (at most ``AUDIO_QUEUE`` wait), counted, and never holds the
        others up."""
        for queue, kinds in self.queues.values():
            if kind not in kinds:
                continue
            if queue.qsize() >= AUDIO_QUEUE:
                queue.get_nowait()
                self.dropped += 1
                self.audio_dropped += 1
            queue.put_nowait(frame)

    def abort_stalled(self) -> int:
        """Drop, without a closing handshake, the subscribers whose sent data is still waiting
        (a client that stopped reading): closing them politely would wait for them forever.
        For shutdown; returns how many."""
        stalled = [ws for ws in self.queues if ws.transport is not None
                   and ws.transport.get_write_buffer_size() > 0]
        for ws in stalled:
            ws.transport.abort()
            self.leave(ws)
        return len(stalled)

    def leave(self, ws: ServerConnection) -> None:
        self.queues.pop(ws, None)
        self._silence.discard(ws)

    async def pump(self, ws: ServerConnection) -> None:
        queue = self.queues[ws][0]
        while True:
            await ws.send(await queue.get())


def _bound_send_buffer(ws: ServerConnection) -> None:
    # The kernel would buffer megabytes (seconds) of audio for a client that stops reading;
    # bounded, the hub's own queue fills within a few seconds and drops, counted.
    sock = ws.transport.get_extra_info("socket") if ws.transport is not None else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, AUDIO_SNDBUF)


async def start_ws(submit: Callable[[object], None], hub: Hub, host: str, port: int,
                   stats: RejectStats | None = None, *,
                   process_request: Callable[..., Any] | None = None,
                   allow_origins: Iterable[str] = ()) -> Server:
    """Serve the protocol on ``host:port``; ``process_request`` (websockets' hook) may answer
    plain HTTP requests on the same port, as ``moodscore demo`` does with its page;
    ``allow_origins``: the browser origins that may open a WebSocket (see :class:`OriginGate`)."""
    stats = stats or RejectStats()
    gate = OriginGate(allow_origins, stats)

    async def check(connection: ServerConnection, request: Request) -> Response | None:
        if "websocket" in request.headers.get("Upgrade", "").lower():
            return gate(connection, request)  # a handshake: its origin decides
        if process_request is None:
            return None  # websockets answers 426 Upgrade Required
        answer = process_request(connection, request)  # a page, as moodscore demo serves
        return await answer if inspect.isawaitable(answer) else answer

    async def handler(ws: ServerConnection) -> None:
        pump: asyncio.Task | None = None
        try:
            async for frame in ws:
                try:
                    msg = parse_json(frame)
                    if isinstance(msg, SubscribeMessage):
                        old = hub.queues.get(ws)
                        hub.queues[ws] = (old[0] if old else asyncio.Queue(QUEUE), frozenset(msg.events))
                        if pump is None:
                            pump = asyncio.create_task(hub.pump(ws))
                        if "audio" in msg.events or "stems" in msg.events:
                            _bound_send_buffer(ws)
                    else:
                        submit(msg)
                    reply = ack()
                except ProtocolError as err:
                    stats.record_error(err)
                    reply = error_reply(err)
                except ConfigError as err:
                    stats.record("schema", str(err))
                    reply = error_reply(err)
                await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            hub.leave(ws)
            if pump is not None:
                pump.cancel()

    # close_timeout: a client that stopped reading cannot take the close frame; do not wait 10 s
    return await serve(handler, host, port, max_size=FRAME_LIMIT, process_request=check,
                       close_timeout=2)
