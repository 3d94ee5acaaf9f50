"""Many sessions in one process, with no sockets: the core of ``moodscore host``.

A :class:`HostSession` is one listener's music: today's :class:`~moodscore.engine.conductor.Conductor`,
a heap of its timed output not yet due, its counters and its limits. No thread of its own:
:meth:`HostCore.tick` drives every session from one loop. Each session is woken only when it
has something to do: its conductor advances when it has something due
(:meth:`~moodscore.engine.conductor.Conductor.next_due`: the next eighth enters its lookahead, a
cut or a coalesced mood change waits), at most ``advance_every`` seconds apart and at once
after input, and its output is flushed when due. One heap of wake-up times holds all sessions,
so a tick costs the sessions due, not all of them.

Phrase requests become :class:`~moodscore.models.batched.Job` s with the time their first bar
must be scheduled, for the one :class:`~moodscore.host.worker.GenerationWorker`; finished jobs
come back through a thread-safe queue drained by the tick. Output is text for the session's
``send``: each MIDI message when it is due, as a ``midi`` event with its own time (the
listener's own synth plays it), and the beat, bar and phrase events it subscribed to. A cut (a transition that
re-anchors, or stop) drops what was scheduled after it and ends the notes sounding then.

A session's bad input, its flood of messages or its disappearance touches only that session;
a closed session leaves nothing behind (its jobs hold only its id).

Public API: :class:`HostCore`, :class:`HostSession`, :class:`HostLimits`, :class:`HostFull`,
:class:`SessionTag`, :func:`session_style`.
"""
from __future__ import annotations

import heapq
import itertools
import json
import logging
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Final

import numpy as np

from ..arranger.styles import Style, builtin
from ..engine.conductor import UNIT, Callback, Conductor, Cut, MidiEvent
from ..engine.protocol import (
    PlayMessage,
    SessionMessage,
    SessionReply,
    StatsMessage,
    StatsReply,
    SubscribeMessage,
    ack,
    event_json,
)
from ..engine.session import apply
from ..engine.template import Template
from ..errors import ConfigError
from ..models.batched import Job
from .load import CpuShare, Samples, Share

if TYPE_CHECKING:
    from .worker import GenerationWorker

log = logging.getLogger(__name__)
Send = Callable[[str], None]
# MIDI status bytes by the conductor's event kinds (a table, so no mido object per message)
STATUS = {"note_off": 0x80, "note_on": 0x90, "control_change": 0xB0, "program_change": 0xC0}
ALL_NOTES_OFF = [[0xB0 | ch, 123, 0] for ch in range(16)]
_ALL_NOTES_OFF_TEXT = [",".join(map(str, m)) for m in ALL_NOTES_OFF]  # as _midi takes them
ADVANCE_BUDGET = 0.005  # seconds of one tick's session advances (see HostCore.tick)
MIN_WAIT = 0.001  # seconds, at least, from one advance of a session to its next
SETTLE = 15.0  # seconds a new session plays before its cost counts as known (HostCore.open)


class HostFull(ConfigError):
    """No room for another session (``--max-sessions``)."""


@dataclass(frozen=True)
class HostLimits:
    max_sessions: int = 1000
    rate: float = 50.0  # messages a second per session, on average
    burst: int = 100  # messages a session may send at once
    idle_timeout: float = 600.0  # seconds without a message before the session is closed
    start_delay: float = 0.5  # seconds from opening to the first note: the first phrase's time
    # new sessions are refused while the generation worker, the tick or the CPU was (or with
    # the sessions that just joined and one more, would be) busy more than this share of the
    # last few seconds (see HostCore.open and HostCore.load); 1: never
    max_load: float = 0.8

    def __post_init__(self) -> None:
        if self.max_sessions < 1 or self.rate <= 0 or self.burst < 1 or self.idle_timeout <= 0 \
                or self.start_delay < 0 or not 0 < self.max_load <= 1:
            raise ConfigError("host limits: max_sessions >= 1, rate > 0, burst >= 1, idle_timeout > 0, "
                              f"start_delay >= 0 and 0 < max_load <= 1, got {self}")


@dataclass(frozen=True)
class SessionTag:
    """What a job carries back: the session's id (never the session), its request, its model."""

    session: str
    request: int
    model: str


def session_style(name: str | None) -> Style | None:
    """The built-in style a session's ``style`` names (None: the default). A client names one of
    ``moodscore styles``; style files stay the operator's (the host opens no file a client names)."""
    if name is None:
        return None
    styles = builtin()
    if name not in styles:
        raise ConfigError(f"style must be one of {', '.join(styles)}, got {name!r}")
    return styles[name]


class _Bucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, float(burst), float(burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class HostSession:
    def __init__(self, sid: str, msg: SessionMessage, template: Template, send: Send, now: float,
                 limits: HostLimits, default_model: str) -> None:
        self.id, self.send = sid, send
        self.model = msg.model or default_model
        self.seed = msg.seed if msg.seed is not None else 0
        self.style = msg.style
        self.conductor = Conductor(template=template, style=session_style(msg.style), seed=self.seed,
                                   transition=msg.transition or "bar")
        self.kinds: frozenset[str] = frozenset()  # beat, bar, phrase events asked for; midi always
        self.pending: list[tuple[float, int, MidiEvent | Callback]] = []
        self.sounding: Counter[tuple[int, int]] = Counter()
        self.bucket = _Bucket(limits.rate, limits.burst, now)
        self.last_input = now
        self.next_advance = now
        self.wake = float("inf")
        self._seq = itertools.count()
        self.phrases = self.late = self.bars = self.messages = self.rejected = 0
        self.leads: deque[float] = deque(maxlen=512)  # ms, the last phrases'
        self.conductor.play(now + limits.start_delay)

    # -- output --------------------------------------------------------------------------------
    def queue(self, item: MidiEvent | Callback) -> None:
        heapq.heappush(self.pending, (item.time, next(self._seq), item))

    def cut(self, at: float) -> None:
        """Drop what was to sound at or after ``at``; the notes sounding then end at ``at``."""
        kept = [p for p in self.pending if p[0] < at]
        on = Counter(self.sounding)
        for _, _, item in kept:
            if isinstance(item, MidiEvent) and item.kind in ("note_on", "note_off"):
                on[(item.channel, item.data1)] += 1 if item.kind == "note_on" else -1
        heapq.heapify(kept)
        self.pending = kept
        for (channel, pitch), n in on.items():
            for _ in range(max(0, n)):
                self.queue(MidiEvent(at, "note_off", channel, pitch, 0))

    def flush(self, now: float) -> None:
        """Send what is due: the MIDI messages of one time as one ``midi`` event, and the beat and
        bar events, in time order."""
        data: list[str] = []  # each message's bytes as JSON writes them: "144,60,90"
        at = 0.0
        pending, sounding, pop = self.pending, self.sounding, heapq.heappop
        while pending and pending[0][0] <= now:
            t, _, item = pop(pending)
            if type(item) is MidiEvent:  # (exactly: cheaper than isinstance, and there are no subclasses)
                if data and t != at:
                    self._midi(at, data)
                    data = []
                at = t
                kind, channel, data1, data2 = item.kind, item.channel, item.data1, item.data2
                status = STATUS[kind] | channel
                if kind == "note_on":
                    data.append(f"{status},{data1},{data2}")
                    sounding[(channel, data1)] += 1
                elif kind == "note_off":
                    data.append(f"{status},{data1},{data2}")
                    key = (channel, data1)
                    left = sounding[key] - 1
                    if left > 0:
                        sounding[key] = left
                    else:
                        sounding.pop(key, None)
                else:
                    data.append(f"{status},{data1}" if kind == "program_change" else f"{status},{data1},{data2}")
            elif isinstance(item, Callback):  # trusted internal dicts: plain JSON, no validation on the hot path
                if data:
                    self._midi(at, data)
                    data = []
                self.send(json.dumps(item.event, separators=(",", ":")))
        if data:
            self._midi(at, data)

    def _midi(self, at: float, data: list[str]) -> None:
        # the text json.dumps(..., separators=(",", ":")) writes, without its encoder: ints and one
        # float (repr, as json writes it) are all there is, and this runs for every due message;
        # ``data`` holds each message's ints joined by commas
        body = "[" + "],[".join(data) + "]" if data else ""
        self.send(f'{{"type":"midi","time":{round(at, 6)!r},"data":[{body}]}}')

    def panic(self, now: float) -> None:
        self.pending.clear()
        self.sounding.clear()
        self._midi(now, _ALL_NOTES_OFF_TEXT)

    # -- figures -------------------------------------------------------------------------------
    def stats(self) -> str:
        leads = np.array(self.leads) if self.leads else None
        figures = {"p50": round(float(np.percentile(leads, 50)), 1), "p99": round(float(np.percentile(leads, 1)), 1),
                   "min": round(float(leads.min()), 1)} if leads is not None else {}
        return StatsReply(id=self.id, phrases=self.phrases, misses=self.conductor.misses, late=self.late,
                          lead_ms=figures, bars=self.bars, messages=self.messages,  # type: ignore[arg-type]
                          rejected=self.rejected).model_dump_json()

    def reply(self, resumed: bool = False) -> str:
        return SessionReply(id=self.id, seed=self.seed, model=self.model, transition=self.conductor.transition,
                            style=self.style, resumed=resumed).model_dump_json()


class LagHistogram:
    """Waits counted in 0.1 ms bins (the last bin: 2 s or more), so percentiles cover every
    output since the start in constant memory."""

    BIN: Final = 1e-4  # (Final: a compiled class keeps it readable from the class)
    BINS: Final = 20_000

    def __init__(self) -> None:
        self.counts = [0] * (self.BINS + 1)  # a list: one increment per due output, cheaper than numpy's
        self.n = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self.counts[min(max(int(seconds / self.BIN), 0), self.BINS)] += 1
        self.n += 1
        self.max = max(self.max, seconds)

    def __len__(self) -> int:
        return self.n

    def percentile(self, q: float) -> float:
        """Seconds: the upper edge of the bin the ``q``-th percentile falls in (0 with no waits)."""
        if not self.n:
            return 0.0
        rank = int(np.searchsorted(np.cumsum(np.array(self.counts, np.int64)), q / 100 * self.n))
        return min((rank + 1) * self.BIN, self.max) if rank < self.BINS else self.max


class HostCore:
    """Every session of a host, driven by :meth:`tick` on one thread (the caller's loop)."""

    def __init__(self, submit: Callable[[Job], None], *, limits: HostLimits = HostLimits(),
                 template: Template | None = None, default_model: str = "abc",
                 advance_every: float = 0.5, clock: Callable[[], float] = time.perf_counter,
                 advance_budget: float | None = ADVANCE_BUDGET,
                 busy: Callable[[], float | None] | None = None, cpu: CpuShare | None = None) -> None:
        self.submit, self.limits, self.template = submit, limits, template or Template()
        self.default_model, self.advance_every, self.clock = default_model, advance_every, clock
        self.advance_budget = advance_budget
        self.busy = busy  # the generation worker's busy share lately (GenerationWorker.busy)
        self.ticking = Share(clock=clock)  # of the clock's time, the tick's (a virtual clock: none)
        self.cpu = cpu  # the process's share of its cores, on the wall clock (marked by the tick)
        self._counts = Samples(SETTLE)  # sessions held, for sessions_lately
        self.sessions: dict[str, HostSession] = {}
        self.refused = 0
        self.lags = LagHistogram()  # how long due output waited for its tick, over the whole run
        self._wakes: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._done: deque[list[Job]] = deque()  # from the worker thread; deque appends are atomic
        self._lock = threading.Lock()

    # -- sessions ------------------------------------------------------------------------------
    def open(self, msg: SessionMessage, send: Send, *, resumed: bool = False) -> HostSession:
        """A new session for ``msg`` (HostFull or ConfigError say why not). A ``resumed`` one (a
        session moving here from a replica that died) is not refused for the load: its
        listener is already playing."""
        if len(self.sessions) >= self.limits.max_sessions:
            self.refused += 1
            raise HostFull(f"host is full: {len(self.sessions)} sessions, the most it holds "
                           f"(--max-sessions {self.limits.max_sessions}); try again later")
        load = self.load()
        if not resumed and load is not None:
            what, share = load
            # what it was busy for is the sessions it had lately (the fewest of the last SETTLE
            # s: sessions just joined have not shown their cost yet), and the sessions now and
            # one more would cost as much a session; under half the limit it has room whatever
            # they cost
            fewest = self.sessions_lately()
            projected = share * (len(self.sessions) + 1) / max(fewest, 1)
            if share > self.limits.max_load or (share > self.limits.max_load / 2
                                                 and projected > self.limits.max_load):
                self.refused += 1
                raise HostFull(f"host is at capacity: its {what} was busy {share:.0%} of the last "
                               f"{self.ticking.window:g} s with {fewest} sessions or more (for {SETTLE:g} s), so "
                               f"{len(self.sessions) + 1} would make it {projected:.0%} (new sessions are "
                               f"refused above {self.limits.max_load:.0%}, --max-load); try again later")
        sid = msg.id or secrets.token_urlsafe(9)
        if sid in self.sessions:
            raise ConfigError(f"session {sid!r} is open on another connection")
        now = self.clock()
        session = HostSession(sid, msg, self.template, send, now, self.limits, self.default_model)
        self.sessions[sid] = session
        self._schedule(session, now)
        return session

    def load(self) -> tuple[str, float] | None:
        """(what, share): the busiest, over the last few seconds, of the generation worker
        (working, or waiting for the CPU, rather than for work), the tick, and the process's CPU
        (of the cores it may run on: the worker and the tick share them); None until one has
        half a window's history. Near 1 that part has no time to spare: another session would
        make phrases late or output wait."""
        parts = [("generation worker", self.busy() if self.busy is not None else None),
                 ("tick", self.ticking.of_last()), ("CPU", self.cpu.of_last() if self.cpu is not None else None)]
        known = [(what, share) for what, share in parts if share is not None]
        return max(known, key=lambda p: p[1]) if known else None

    def sessions_lately(self) -> int:
        """The fewest sessions held over the last ``SETTLE`` s (sampled by the tick about every
        quarter second): a session's cost shows in full only once it has played a while (its
        first phrases, its first mood change's rewrite), longer than the load's window."""
        return int(min(self._counts.within(self.clock()) + [len(self.sessions)]))

    def watch(self, worker: GenerationWorker) -> None:
        """Count ``worker``'s busy share and the process's CPU in the load (what ``moodscore
        host`` and the Ray replicas refuse sessions by; see :meth:`open`)."""
        self.busy, self.cpu = worker.busy, CpuShare()

    def close(self, sid: str) -> None:
        """Forget a session at once (its connection is gone: nothing is sent)."""
        session = self.sessions.pop(sid, None)
        if session is not None:
            session.conductor.stop(self.clock())
            session.pending.clear()

    def handle(self, session: HostSession, msg: object) -> str:
        """Apply a validated message of ``session``'s; the reply text (ConfigError: refused)."""
        now = self.clock()
        session.messages += 1
        session.last_input = now
        if not session.bucket.take(now):
            session.rejected += 1
            raise ConfigError(f"too many messages: at most {self.limits.rate:g} a second "
                              f"({self.limits.burst} at once); this one was dropped")
        if isinstance(msg, StatsMessage):
            return session.stats()
        if isinstance(msg, SessionMessage):
            raise ConfigError(f"this connection already has session {session.id!r}")
        if isinstance(msg, SubscribeMessage):
            session.kinds = frozenset(msg.events) - {"midi"}
            return ack()
        if isinstance(msg, PlayMessage):  # as the first play: the first phrase has time to be made
            if not session.conductor.playing:
                session.conductor.play(now + self.limits.start_delay)
        else:
            for cut in apply(session.conductor, msg, now):  # a stop: note-offs now, then the panic
                session.cut(cut.time)
                session.flush(now)
                session.panic(now)
        session.next_advance = now  # requests and re-anchors go out at the next tick
        self._schedule(session, now)
        return ack()

    def idle(self, now: float) -> list[str]:
        """Sessions that sent nothing for ``idle_timeout`` seconds (the caller closes them)."""
        return [sid for sid, s in self.sessions.items() if now - s.last_input > self.limits.idle_timeout]

    # -- generation ----------------------------------------------------------------------------
    def delivered(self, jobs: list[Job]) -> None:
        """Finished jobs, from any thread."""
        self._done.append(jobs)

    def still_wanted(self, job: Job) -> bool:
        """For the worker thread: whether a job's session is open and still wants its bars."""
        tag: SessionTag = job.tag
        session = self.sessions.get(tag.session)
        return session is not None and session.conductor.wanted(tag.request)

    def _deliver(self, now: float) -> None:
        while self._done:
            for job in self._done.popleft():
                tag: SessionTag = job.tag
                session = self.sessions.get(tag.session)
                if session is None:
                    continue
                if job.phrase is None:
                    log.error("session %s: generating bars failed: %s", tag.session, job.error)
                    continue
                lead = (job.deadline - now) * 1000
                if session.conductor.deliver(tag.request, job.phrase):
                    session.phrases += 1
                    session.leads.append(lead)
                    if lead < 0:
                        session.late += 1

    def _requests(self, session: HostSession) -> None:
        c = session.conductor
        for req in c.requests():
            span = c.span(req.id)
            if span is None:
                continue
            # when the request's first bar must be scheduled: its first unit, less the lookahead
            first_unit = c._anchor + span[0] * c.unit_per_bar  # noqa: SLF001 - read only
            deadline = c.clock.time_at(first_unit * UNIT) - c.lookahead
            self.submit(Job.of(req, deadline, SessionTag(session.id, req.id, session.model)))

    # -- time ----------------------------------------------------------------------------------
    def _schedule(self, session: HostSession, now: float) -> None:
        wake = session.next_advance
        if session.pending:
            wake = min(wake, session.pending[0][0])
        if wake < session.wake:
            session.wake = wake
            heapq.heappush(self._wakes, (wake, next(self._seq), session.id))

    def tick(self, now: float | None = None) -> int:
        """Run every session that is due; return how many ran.

        First every due session's output goes out, then the sessions due to advance do (an
        advance that starts a bar arranges it: milliseconds), and what that made due goes out
        too. With ``advance_budget``, advances stop for this tick once they have taken that many
        seconds of wall time; the rest are the first to advance in the next tick (an advance
        schedules the conductor's ``lookahead``, 0.2 s, ahead: a few ms later loses nothing),
        so that one tick's advances do not hold up the next tick's output (the caller's loop then
        ticks again at once rather than after its period)."""
        self.ticking.begin()
        try:
            return self._tick(self.clock() if now is None else now)
        finally:
            ended = self.clock()
            self.ticking.end(ended)
            if self.cpu is not None:
                self.cpu.mark(ended)
            self._counts.add(ended, len(self.sessions))

    def _tick(self, now: float) -> int:
        self._deliver(now)
        due: list[HostSession] = []
        wakes, sessions, pop, lags = self._wakes, self.sessions, heapq.heappop, self.lags
        while wakes and wakes[0][0] <= now:
            wake, _, sid = pop(wakes)
            session = sessions.get(sid)
            if session is None or wake != session.wake:
                continue  # closed, or woken earlier since
            due.append(session)
            pending = session.pending
            if pending and pending[0][0] <= now:  # how late output is found due
                lags.add(now - pending[0][0])
                session.flush(now)
        stop = None if self.advance_budget is None else time.perf_counter() + self.advance_budget
        inf = float("inf")
        for session in due:
            if now >= session.next_advance and (stop is None or time.perf_counter() < stop):
                self._requests(session)  # first: bars asked for by input since, as offline
                if self._done:
                    self._deliver(now)
                self._advance(session, now)
                self._requests(session)  # what the advance asked for goes to the worker now
                # the next advance: when the conductor has something due (a whole eighth later, at
                # most advance_every s), and never within this tick
                session.next_advance = max(now + MIN_WAIT, min(now + self.advance_every,
                                                               session.conductor.next_due(now)))
                session.flush(now)
            session.wake = inf  # its wake was just taken: the next one goes in
            self._schedule(session, now)
        return len(due)

    def _advance(self, session: HostSession, now: float) -> None:
        for item in session.conductor.advance(now):
            if type(item) is MidiEvent:  # most items (exactly: there are no subclasses)
                session.queue(item)
            elif isinstance(item, Cut):
                session.cut(item.time)
            elif isinstance(item, Callback):
                kind = item.event["type"]
                if kind == "bar":
                    session.bars += 1
                if kind not in session.kinds:
                    continue
                if kind == "phrase":  # as soon as it is scheduled, so a display can show it
                    session.send(event_json(item.event))
                else:
                    session.queue(item)
