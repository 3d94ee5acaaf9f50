"""WebSocket JSON into the engine, and beat/bar/phrase events back out to subscribers.

Each text (or binary) frame is one JSON message of :mod:`moodscore.engine.protocol`; each gets
``{"type":"ack"}`` or ``{"type":"error","error":"..."}`` and the connection and the music carry
on, whatever was sent. A subscriber that reads too slowly loses its oldest events, counted,
rather than holding the engine up. A lost ``midi`` event may have held a note-off, so the next
``midi`` event that subscriber gets is preceded by all-notes-off on every channel: a gap in
what it hears, never a note that hangs.

Public API: :func:`start_ws`, :class:`Hub`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ..engine.protocol import ProtocolError, RejectStats, SubscribeMessage, ack, error_reply, event_json, parse_json
from ..errors import ConfigError

log = logging.getLogger(__name__)
QUEUE = 256  # events held for one slow subscriber
# all notes off (CC123) on the 16 channels, sent ahead of a subscriber's next MIDI after a loss
_ALL_NOTES_OFF = [[0xB0 | ch, 123, 0] for ch in range(16)]
FRAME_LIMIT = 1 << 20  # bigger frames close the connection (1009); the protocol's own limit is lower


class Hub:
    """Fan-out of engine events to subscribed connections."""

    def __init__(self) -> None:
        self.queues: dict[ServerConnection, tuple[asyncio.Queue[str], frozenset[str]]] = {}
        self.dropped = 0
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
                if '"type":"midi"' in lost:
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

    def leave(self, ws: ServerConnection) -> None:
        self.queues.pop(ws, None)
        self._silence.discard(ws)

    async def pump(self, ws: ServerConnection) -> None:
        queue = self.queues[ws][0]
        while True:
            await ws.send(await queue.get())


async def start_ws(submit: Callable[[object], None], hub: Hub, host: str, port: int,
                   stats: RejectStats | None = None, *,
                   process_request: Callable[..., Any] | None = None) -> Server:
    """Serve the protocol on ``host:port``; ``process_request`` (websockets' hook) may answer
    plain HTTP requests on the same port, as ``moodscore demo`` does with its page."""
    stats = stats or RejectStats()

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

    return await serve(handler, host, port, max_size=FRAME_LIMIT, process_request=process_request)
