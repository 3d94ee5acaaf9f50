"""The live engine: the conductor driven by the wall clock, a generation worker and a scheduler.

The music does not depend on the input path. The conductor is ticked by a thread of its own
(``moodscore-conductor``), which hands due events to the MIDI scheduler thread and starts
generation in a worker thread (ONNX Runtime releases the GIL while it runs); input messages
arrive from the transports on the asyncio loop and are applied under the same lock. So if the
loop stalls (a parser bug, a blocked callback), planned music, new phrases and, failing those,
variations keep playing; a watchdog in the conductor thread logs the stall and its length.
Beat and bar callbacks go to listeners on the loop at the moment they sound; phrase events as
soon as they are scheduled, so a display can show what comes next.

Public API: :class:`LiveEngine`, :func:`to_mido`.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Protocol

import mido
import numpy as np

from ..errors import ConfigError
from ..midi.scheduler import panic_messages
from ..music import Phrase
from .conductor import Callback, Conductor, Cut, MidiEvent, Request
from .session import apply

log = logging.getLogger(__name__)
Listener = Callable[[dict], None]
MARGIN_MIN, MARGIN_MAX = 0.15, 1.0  # seconds a re-anchored phrase leaves the generation worker


class Scheduler(Protocol):
    def schedule(self, at: float, msg: mido.Message) -> None: ...
    def cancel_after(self, t: float) -> object: ...
    def panic(self) -> None: ...


_FIELDS = {"note_on": ("note", "velocity"), "note_off": ("note", "velocity"),
           "control_change": ("control", "value"), "program_change": ("program", None)}


def to_mido(e: MidiEvent, time: int | float = 0) -> mido.Message:
    """The mido message for a conductor event (``time``: mido's delta time, for files)."""
    fields = _FIELDS.get(e.kind)
    if fields is None:
        raise ConfigError(f"unknown MIDI event kind {e.kind!r}")
    # checked here with plain comparisons; mido's own checks cost more than the rest of a render
    if not (0 <= e.channel < 16 and 0 <= e.data1 < 128 and 0 <= e.data2 < 128) or time < 0:
        raise ConfigError(f"MIDI event out of range: {e}")
    first, second = fields
    if second is None:
        return mido.Message(e.kind, channel=e.channel, time=time, skip_checks=True, **{first: e.data1})
    return mido.Message(e.kind, channel=e.channel, time=time, skip_checks=True,
                        **{first: e.data1, second: e.data2})


class LiveEngine:
    """One session played live: ``run()`` on an asyncio loop, ``submit()`` and ``stop()`` from it
    (``stop`` from any thread); ``stall_s`` is how long the loop may be silent before it is a stall."""

    def __init__(self, conductor: Conductor, generator, scheduler: Scheduler, *,
                 clock: Callable[[], float] = time.perf_counter, tick: float = 0.005,
                 stall_s: float = 0.25) -> None:
        self.conductor, self.generator, self.scheduler = conductor, generator, scheduler
        self.clock, self.tick, self.stall_s = clock, tick, stall_s
        self.listeners: list[Listener] = []
        self.generated = 0
        self.generation_ms: list[float] = []
        self.stalls: list[float] = []  # seconds each loop stall lasted, the last 1000
        self.tick_errors = 0
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="moodscore-generate")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.RLock()  # the conductor is touched by the loop, ticker and worker
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._loop_seen = clock()  # when the loop last ran (its heartbeat)
        self._stalled_since: float | None = None
        self.stop_when_closed = False  # a musical stop (stop at bar/phrase) also ends run()

    # -- inputs (loop thread) ------------------------------------------------------------------
    def submit(self, msg: object) -> None:
        """Apply a validated message now; ConfigError says why it could not be done."""
        with self._lock:
            cuts = apply(self.conductor, msg, self.clock())
            for cut in cuts:
                self._cut(cut)
            if cuts:  # a stop: silence everything, as a panic button would
                self.scheduler.panic()

    def _cut(self, cut: Cut) -> None:
        self.scheduler.cancel_after(cut.time)

    # -- generation (worker thread) ------------------------------------------------------------
    def _generate(self, req: Request) -> tuple[Phrase, float] | None:
        if not self.conductor.wanted(req.id):  # superseded while it waited: skip the work
            return None
        start = time.perf_counter()
        phrase = self.generator.next_phrase(req.context, req.valence, req.arousal, mode=req.mode,
                                            meter=req.meter, bars=req.bars,
                                            rng=np.random.default_rng(req.seed))
        return phrase, (time.perf_counter() - start) * 1000

    def _request(self, req: Request) -> None:
        try:
            future = self._executor.submit(self._generate, req)
        except RuntimeError:  # shutting down: the conductor plays a variation if it must
            return
        future.add_done_callback(lambda f: self._delivered(req, f))

    def _delivered(self, req: Request, future) -> None:
        if future.cancelled():
            return
        err = future.exception()
        if err is not None:  # the conductor will play a variation; the session goes on
            log.error("generating bars for request %d failed: %s", req.id, err)
            return
        result = future.result()
        if result is None:
            return
        phrase, ms = result
        with self._lock:
            self.generated += 1
            self.generation_ms.append(ms)
            del self.generation_ms[:-1000]
            self.conductor.deliver(req.id, phrase)
            self._adapt_margin()

    def _adapt_margin(self) -> None:
        """A re-anchored phrase leaves the worker three times the recent slow generation time
        (0.15 s to 1 s): on a loaded machine the new material comes a little later, not late."""
        recent = sorted(self.generation_ms[-50:])
        slow = recent[int(0.9 * (len(recent) - 1))] / 1000
        self.conductor.generation_margin = min(MARGIN_MAX, max(MARGIN_MIN, 3 * slow))

    # -- output (conductor thread) -------------------------------------------------------------
    def _emit(self, event: dict) -> None:  # on the loop
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # one broken listener must not stop the music
                log.exception("event listener failed; removing it")
                self.listeners.remove(listener)

    def _emit_later(self, at: float, event: dict) -> None:  # on the loop
        assert self._loop is not None
        self._loop.call_later(max(0.0, at - self.clock()), self._emit, event)

    def _to_loop(self, fn: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    def step(self) -> None:
        """One tick (conductor lock held): start due generation, hand due events to the
        scheduler and, through the loop, to listeners."""
        for req in self.conductor.requests():
            self._request(req)
        for item in self.conductor.advance(self.clock()):
            if isinstance(item, MidiEvent):
                self.scheduler.schedule(item.time, to_mido(item))
            elif isinstance(item, Cut):
                self._cut(item)
                if not self.conductor.playing:  # a musical stop has closed: then the panic
                    for msg in panic_messages():
                        self.scheduler.schedule(item.time, msg)
                    if self.stop_when_closed:
                        delay = max(0.0, item.time - self.clock()) + 0.05
                        threading.Timer(delay, self.stop).start()
            elif isinstance(item, Callback):
                if item.event["type"] == "phrase":
                    self._to_loop(self._emit, item.event)
                else:
                    self._to_loop(self._emit_later, item.time, item.event)

    def _watch(self, now: float) -> None:
        """Log a stall of the loop when it begins and, with its length, when it ends."""
        silent = now - self._loop_seen
        if self._stalled_since is None:
            if silent > self.stall_s:
                self._stalled_since = self._loop_seen
                log.warning("event loop stalled: no input handled for %.2f s; the music plays on", silent)
        elif silent <= self.stall_s:
            length = self._loop_seen - self._stalled_since
            self._stalled_since = None
            self.stalls.append(length)
            del self.stalls[:-1000]
            log.warning("event loop stalled for %.2f s; input is handled again", length)

    def _tick_forever(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                with self._lock:
                    self.step()
            except Exception:  # a bug in one tick must not end the music: count it, go on
                self.tick_errors += 1
                if self.tick_errors <= 10 or self.tick_errors % 1000 == 0:
                    log.exception("conductor tick failed (%d so far)", self.tick_errors)
            self._watch(self.clock())

    async def run(self) -> None:
        """Play from a neutral mood until :meth:`stop`."""
        self._loop = asyncio.get_running_loop()
        with self._lock:
            if not self.conductor.playing:
                self.conductor.play(self.clock())
                for req in self.conductor.requests():  # the first phrase before the first bar: no cold start
                    result = self._generate(req)
                    if result is not None:
                        self.conductor.deliver(req.id, result[0])
        self._loop_seen = self.clock()
        self._ticker = threading.Thread(target=self._tick_forever, name="moodscore-conductor", daemon=True)
        self._ticker.start()
        try:
            while not self._stop.is_set():  # the heartbeat the watchdog looks for
                self._loop_seen = self.clock()
                await asyncio.sleep(0.02)
        finally:
            self._stop.set()
            self._ticker.join(1.0)
            with self._lock:
                for cut in self.conductor.stop(self.clock()):
                    self._cut(cut)
            self._executor.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        """End :meth:`run` (from any thread, or a signal handler)."""
        self._stop.set()

    def stats(self) -> dict[str, object]:
        """Loop stalls seen (count, longest seconds) and conductor ticks that failed."""
        return {"loop_stalls": len(self.stalls), "longest_stall_s": round(max(self.stalls, default=0.0), 3),
                "tick_errors": self.tick_errors}
