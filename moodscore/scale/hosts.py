"""The session-host replica of the Ray Serve application: a ``moodscore host`` core per replica.

Each replica holds its sessions in a :class:`~moodscore.host.core.HostCore` with its own
:class:`~moodscore.host.worker.GenerationWorker`, ticked on the replica's event loop. The
ingress reaches a session's replica by its id: requests carry it as Serve's ``session_id`` and
the deployment routes with Serve's consistent-hash router, so every request of a session lands
on the same replica while the set of replicas stands. Each long-lived ``events`` stream is an
ongoing request, so Serve's autoscaler, set to a target of ongoing requests, scales replicas
by session count.

A session is opened from a ``session`` message and, when it resumes elsewhere, a small
snapshot (mood, seed, style, model, transition, tempo, events subscribed, and the last phrase
to continue).
Its events stream sends a fresh snapshot after every phrase. The ingress touches each session
it serves every few seconds; a session untouched for ``grace`` seconds (its client went away, or
it moved to another replica) is closed, and so is one whose stream ends, after ``grace`` seconds
without a reconnect.

Public API: :class:`SessionHost`, :func:`snapshot_of`, :func:`phrase_of`.
"""
from __future__ import annotations

import asyncio
import functools
import json
import time
from typing import Any, AsyncIterator

from ..engine.protocol import SessionMessage, TempoMessage, VAMessage, error_reply, parse_json
from ..errors import ConfigError, MoodscoreError
from ..host.core import HostCore, HostLimits, HostSession
from ..host.server import HostOptions, load_models
from ..host.worker import GenerationWorker
from ..models.batched import Job
from ..music import Meter, Note, Phrase


def snapshot_of(session: HostSession) -> dict[str, Any]:
    """What a session resumes from: small, plain JSON."""
    c = session.conductor
    v, a = c.mood.target
    last = c._last_phrase  # noqa: SLF001 - read only: the material the next phrase continues
    phrase = None if last is None else {
        "notes": [[n.pitch, n.start, n.duration, n.velocity] for n in last.notes], "bars": last.bars,
        "meter": str(last.meter), "mode": last.mode, "abc": last.abc, "tokens": list(last.tokens)}
    return {"type": "snapshot", "id": session.id, "seed": session.seed, "model": session.model,
            "style": session.style, "transition": c.transition, "tempo": c.tempo_override,
            "mood": [v, a], "events": sorted(session.kinds), "phrase": phrase}


def phrase_of(data: dict[str, Any] | None) -> Phrase | None:
    if not data:
        return None
    notes = [Note(int(p), float(s), float(d), int(vel)) for p, s, d, vel in data["notes"]]
    return Phrase(notes, int(data["bars"]), Meter.parse(data["meter"]), 0, data["mode"], data["abc"],
                  list(data["tokens"]))


class SessionHost:
    """One replica's sessions. Methods take the session id from Serve's request context."""

    def __init__(self, max_sessions: int = 500, model: str = "abc", grace: float = 30.0,
                 start_delay: float = 0.5) -> None:
        self.opts = HostOptions(model=model, limits=HostLimits(max_sessions=max_sessions,
                                                                start_delay=start_delay))
        self.core = HostCore(self._submit, limits=self.opts.limits, default_model=model)
        self.worker = GenerationWorker(load_models(self.opts), self.core.delivered,
                                       still_wanted=self.core.still_wanted).start()
        self.core.watch(self.worker)  # new sessions wait while it, or the CPU, has no time to spare
        self.grace = grace
        self.outboxes: dict[str, asyncio.Queue[str | None]] = {}  # the current stream's; None ends one
        self.streams: dict[str, str] = {}  # session id -> the connection its stream serves
        self.touched: dict[str, float] = {}  # session id -> when an ingress last vouched for it
        self.resume: dict[str, Phrase] = {}  # session id -> phrase its first request continues
        self.replica = _replica_id()
        self._ticker: asyncio.Task | None = None
        self._closers: dict[str, asyncio.TimerHandle] = {}

    def _submit(self, job: Job) -> None:
        context = self.resume.pop(job.tag.session, None)
        if context is not None and job.context is None:
            job.context = context
        self.worker.submit(job)

    def _ensure_ticking(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        reaped = time.monotonic()
        while True:
            started = time.perf_counter()
            self.core.tick()
            now = time.monotonic()
            if now - reaped > 1.0:  # sessions no ingress has touched for `grace` s: the client left
                reaped = now
                for sid in [s for s, t in self.touched.items() if now - t > self.grace]:
                    self._close(sid)
            # 5 ms a period, less the tick's own time (advances past their budget go on at once)
            await asyncio.sleep(max(0.0, 0.005 - (time.perf_counter() - started)))

    async def touch(self, sid: str) -> bool:
        """The ingress still serves this session's client; False: not here (it moved)."""
        if sid not in self.core.sessions:
            return False
        self.touched[sid] = time.monotonic()
        return True

    async def open(self, sid: str, message: str, snapshot: dict | None = None) -> str:
        """Open (or find) session ``sid``; the reply text, with the replica that holds it."""
        self._ensure_ticking()
        try:
            msg = parse_json(message)
            if not isinstance(msg, SessionMessage):
                raise ConfigError('open a session first: {"type":"session"}')
            resumed = sid in self.core.sessions
            if not resumed:
                if snapshot:
                    msg = SessionMessage(id=sid, seed=snapshot["seed"], model=snapshot["model"],
                                         style=snapshot.get("style"), transition=snapshot["transition"])
                else:
                    msg = msg.model_copy(update={"id": sid})
                queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE)
                session = self.core.open(msg, functools.partial(_put, queue), resumed=bool(snapshot))
                self.outboxes[sid] = queue
                if snapshot:
                    session.kinds = frozenset(snapshot.get("events", ()))
                    phrase = phrase_of(snapshot.get("phrase"))
                    if phrase is not None:
                        self.resume[sid] = phrase
                    if snapshot.get("tempo"):
                        self.core.handle(session, TempoMessage(bpm=snapshot["tempo"]))
                    v, a = snapshot["mood"]
                    self.core.handle(session, VAMessage(valence=v, arousal=a, glide=0.0))
                    resumed = True
            closer = self._closers.pop(sid, None)
            if closer is not None:
                closer.cancel()
            self.touched[sid] = time.monotonic()
            reply = json.loads(self.core.sessions[sid].reply(resumed=resumed))
            reply["replica"] = self.replica
            return json.dumps(reply, separators=(",", ":"))
        except MoodscoreError as err:
            return error_reply(err)

    async def handle(self, sid: str, message: str) -> str:
        session = self.core.sessions.get(sid)
        if session is None:
            return _moved(sid)
        try:
            return self.core.handle(session, parse_json(message))
        except MoodscoreError as err:
            return error_reply(err)

    async def events(self, sid: str, stream: str = "") -> AsyncIterator[list[str]]:
        """The session's output, in batches, with a snapshot first and after every phrase. A newer
        stream for the session ends this one; when the current one ends (the client left), the
        session is kept ``grace`` seconds for a reconnect, then closed."""
        session = self.core.sessions.get(sid)
        if session is None:
            yield [_moved(sid)]
            return
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE)
        old = self.outboxes.get(sid)
        while old is not None and not old.empty():  # what came before this stream started
            item = old.get_nowait()
            if item is not None:
                queue.put_nowait(item)
        self.outboxes[sid] = queue
        self.streams[sid] = stream
        session.send = functools.partial(_put, queue)
        if old is not None:
            _put(old, None)  # an older stream of this session ends
        phrases = session.phrases
        try:
            yield [json.dumps(snapshot_of(session), separators=(",", ":"))]  # one to resume from at once
            while True:
                first = await queue.get()
                if first is None:
                    return
                batch = [first]
                while not queue.empty():
                    item = queue.get_nowait()
                    if item is None:
                        yield batch
                        return
                    batch.append(item)
                if session.phrases != phrases:
                    phrases = session.phrases
                    batch.append(json.dumps(snapshot_of(session), separators=(",", ":")))
                yield batch
        finally:
            if self.outboxes.get(sid) is queue and sid in self.core.sessions:
                self._closers[sid] = asyncio.get_running_loop().call_later(self.grace, self._close, sid)

    async def leave(self, sid: str, stream: str = "") -> None:
        """The client of ``stream`` went away: end that stream, if it is still the session's (the
        session then waits ``grace`` s for a reconnect)."""
        queue = self.outboxes.get(sid)
        if queue is not None and self.streams.get(sid) == stream:
            _put(queue, None)

    def _close(self, sid: str) -> None:
        self._closers.pop(sid, None)
        queue = self.outboxes.pop(sid, None)
        if queue is not None:
            _put(queue, None)
        self.streams.pop(sid, None)
        self.touched.pop(sid, None)
        self.resume.pop(sid, None)
        self.core.close(sid)

    async def sessions(self) -> dict[str, Any]:
        return {"replica": self.replica, "sessions": sorted(self.core.sessions), "time": time.time()}

    def __del__(self) -> None:
        self.worker.close(timeout=0.5)


def _moved(sid: str) -> str:
    """The answer for a session this replica does not hold (the ingress reopens it here)."""
    return json.dumps({"type": "error", "error": f"session {sid} is not here", "moved": True},
                      separators=(",", ":"))


QUEUE = 2048  # output held for one session's stream


def _put(queue: asyncio.Queue[str | None], text: str | None) -> None:
    if queue.full():
        queue.get_nowait()  # a stalled stream loses its oldest output, never blocks the tick
    queue.put_nowait(text)


def _replica_id() -> str:
    try:
        from ray import serve

        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:  # outside Serve (tests of the class itself)
        return "local"
