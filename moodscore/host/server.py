"""``moodscore host``: many sessions over WebSocket in one process, one model, one worker.

Wiring only. Each connection opens its own session with a ``session`` message (every field
optional), then speaks the protocol of ``moodscore serve`` and receives only its own events:
its MIDI as ``midi`` events (always: there is no synth in the host) and the beat, bar and phrase
events it subscribed to. One asyncio loop runs :class:`~moodscore.host.core.HostCore`'s tick
for every session, one thread runs :class:`~moodscore.host.worker.GenerationWorker`; a session
costs a conductor and two queues, never a thread. Replies and events for one connection go out
through a bounded queue: a client that reads too slowly loses its oldest events (counted; after
a lost MIDI event, all-notes-off comes first), the others never wait for it.

Public API: :class:`HostOptions`, :class:`Host`, :func:`run`.
"""
from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ..compiled import describe
from ..engine.protocol import (
    ProtocolError,
    RejectStats,
    SessionMessage,
    error_reply,
    parse_json,
)
from ..engine.template import Template, load_preset
from ..errors import ConfigError
from ..models.batched import BatchedAbc, BatchedLstm, load_batched
from ..models.runtime import require_cuda
from .core import ALL_NOTES_OFF, HostCore, HostFull, HostLimits, HostSession
from .worker import GenerationWorker

log = logging.getLogger("moodscore.host")
QUEUE = 512  # replies and events held for one slow client
FRAME_LIMIT = 1 << 16
BEFORE_SESSION = 8  # messages a connection may send before it opens a session
_SILENCE = json.dumps({"type": "midi", "time": 0.0, "data": ALL_NOTES_OFF}, separators=(",", ":"))


@dataclass
class HostOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    model: str = "abc"
    precision: str = "fp32"
    max_batch: int = 64
    preset: Path | None = None
    device: str = "cpu"
    tick: float = 0.005
    limits: HostLimits = field(default_factory=HostLimits)


class _Outbox:
    """A connection's bounded queue of texts, oldest dropped first."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE)
        self.dropped = 0
        self._silence = False

    def put(self, text: str) -> None:
        if self.queue.full():
            lost = self.queue.get_nowait()
            self.dropped += 1
            self._silence = self._silence or lost.startswith('{"type":"midi"')
        if self._silence and text.startswith('{"type":"midi"'):
            self._silence = False
            self.put(_SILENCE)
        self.queue.put_nowait(text)

    async def pump(self, ws: ServerConnection) -> None:
        while True:
            await ws.send(await self.queue.get())


def load_models(opts: HostOptions) -> dict[str, BatchedAbc | BatchedLstm]:
    if opts.device not in ("cpu", "cuda"):
        raise ConfigError(f"device must be cpu or cuda, got {opts.device!r}")
    if opts.device == "cuda":
        require_cuda()
    return {name: load_batched(name, precision=opts.precision,
                               max_batch=opts.max_batch, prefer_gpu=opts.device == "cuda")
            for name in ("abc", "lstm")}


class Host:
    """The host's loop-side state: core, worker, connections."""

    def __init__(self, opts: HostOptions, template: Template | None = None) -> None:
        self.opts = opts
        self.core = HostCore(self._submit, limits=opts.limits, template=template, default_model=opts.model)
        self.worker = GenerationWorker(load_models(opts), self.core.delivered,
                                       still_wanted=self.core.still_wanted)
        self.core.watch(self.worker)  # new sessions wait while it, or the CPU, has no time to spare
        self.rejects = RejectStats()
        self.connections: dict[str, ServerConnection] = {}
        self._server: Server | None = None
        self._ticker: asyncio.Task | None = None
        self._closed = False  # a session closed since the last full collection
        self.collections = 0  # full collections run while no session played

    def _submit(self, job) -> None:
        self.worker.submit(job)

    async def start(self) -> Server:
        self.worker.start()
        self._server = await serve(self._handler, self.opts.host, self.opts.port, max_size=FRAME_LIMIT)
        self._ticker = asyncio.create_task(self._tick())
        return self._server

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.worker.close()

    async def _tick(self) -> None:
        idle_check = time.perf_counter()
        while True:
            now = time.perf_counter()
            try:
                self.core.tick(now)
            except Exception:  # the loop must go on for every other session
                log.exception("host tick failed")
            if now - idle_check > 1.0:
                idle_check = now
                for sid in self.core.idle(now):
                    ws = self.connections.get(sid)
                    self.core.close(sid)
                    self._closed = True
                    if ws is not None:
                        asyncio.create_task(ws.close(1000, f"idle for {self.opts.limits.idle_timeout:g} s"))
                if self._closed and not self.core.sessions:
                    self._collect()
            # a tick period, less the tick's own time: a tick whose advances ran out of their
            # budget (HostCore.advance_budget) is followed at once by the next, which does the rest
            await asyncio.sleep(max(0.0, self.opts.tick - (time.perf_counter() - now)))

    def _collect(self) -> None:
        """A full collection, while no session plays (it scans every live object: with hundreds
        of sessions, most of a second): the cycles closed connections left, once old
        (:func:`~moodscore.host.worker.calm_the_gc` makes full collections rare)."""
        started = time.perf_counter()
        found = gc.collect()
        self._closed = False
        self.collections += 1
        log.debug("no sessions: full collection found %d objects in %.1f ms", found,
                  (time.perf_counter() - started) * 1000)

    async def _handler(self, ws: ServerConnection) -> None:
        outbox = _Outbox()
        pump = asyncio.create_task(outbox.pump(ws))
        session: HostSession | None = None
        early = 0
        try:
            async for frame in ws:
                try:
                    msg = parse_json(frame)
                    if session is None:
                        if not isinstance(msg, SessionMessage):
                            early += 1
                            if early > BEFORE_SESSION:
                                await ws.close(1008, "no session message")
                                return
                            raise ConfigError('open a session first: {"type":"session"} (seed, model, '
                                              'style, transition and id optional)')
                        session = self.core.open(msg, outbox.put)
                        self.connections[session.id] = ws
                        reply = session.reply()
                    else:
                        reply = self.core.handle(session, msg)
                except HostFull as err:
                    log.warning("refused a session: %s", err)
                    await ws.send(error_reply(err))
                    await ws.close(1013, "host is full")
                    return
                except ProtocolError as err:
                    self.rejects.record_error(err)
                    if session is not None:
                        session.rejected += 1
                    reply = error_reply(err)
                except ConfigError as err:
                    self.rejects.record("schema", str(err))
                    reply = error_reply(err)
                outbox.put(reply)
        except ConnectionClosed:
            pass
        finally:
            pump.cancel()
            if session is not None:
                self.connections.pop(session.id, None)
                self.core.close(session.id)
                self._closed = True


async def serve_host(opts: HostOptions, stop: asyncio.Event) -> None:
    template = load_preset(opts.preset) if opts.preset else None
    host = Host(opts, template)
    await host.start()
    log.info("hosting sessions on ws://%s:%d (at most %d)", opts.host, opts.port, opts.limits.max_sessions)
    log.info("the per-session hot path: %s", describe())
    print(f"moodscore host: ws://{opts.host}:{opts.port}, up to {opts.limits.max_sessions} sessions; "
          "Ctrl-C stops", flush=True)
    try:
        await stop.wait()
    finally:
        await host.close()


def run(opts: HostOptions) -> None:
    """Host until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)  # not a line per connection

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except NotImplementedError:  # Windows: Ctrl-C raises KeyboardInterrupt instead
                pass
        await serve_host(opts, stop)

    asyncio.run(main())
