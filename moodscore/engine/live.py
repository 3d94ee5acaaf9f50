"""The live engine: the conductor driven by the wall clock, a generation worker and a scheduler.

Everything that touches the conductor runs on one asyncio loop: input messages from the
transports, the tick that hands due events to the MIDI scheduler thread, and the delivery of
phrases generated in a worker thread (ONNX Runtime releases the GIL while it runs). Beat and bar
callbacks go to listeners at the moment they sound; phrase events as soon as they are
scheduled, so a display can show what comes next.

Public API: :class:`LiveEngine`, :func:`to_mido`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Protocol

import mido
import numpy as np

from ..errors import ConfigError
from ..music import Phrase
from .conductor import Callback, Conductor, Cut, MidiEvent, Request
from .session import apply

log = logging.getLogger(__name__)
Listener = Callable[[dict], None]


class Scheduler(Protocol):
    def schedule(self, at: float, msg: mido.Message) -> None: ...
    def cancel_after(self, t: float) -> object: ...
    def panic(self) -> None: ...


_STATUS = {"note_off": 0x80, "note_on": 0x90, "control_change": 0xB0, "program_change": 0xC0}


def to_mido(e: MidiEvent, time: int | float = 0) -> mido.Message:
    """The mido message for a conductor event (``time``: mido's delta time, for files)."""
    if e.kind not in _STATUS:
        raise ConfigError(f"unknown MIDI event kind {e.kind!r}")
    status = _STATUS[e.kind] | e.channel
    # from bytes: one check of the data, where keyword construction checks every field
    data = [status, e.data1] if e.kind == "program_change" else [status, e.data1, e.data2]
    return mido.Message.from_bytes(data, time=time)


class LiveEngine:
    def __init__(self, conductor: Conductor, generator, scheduler: Scheduler, *,
                 clock: Callable[[], float] = time.perf_counter, tick: float = 0.005) -> None:
        self.conductor, self.generator, self.scheduler = conductor, generator, scheduler
        self.clock, self.tick = clock, tick
        self.listeners: list[Listener] = []
        self.generated = 0
        self.generation_ms: list[float] = []
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="moodscore-generate")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = asyncio.Event()
        self.stop_when_closed = False  # a musical stop (stop at bar/phrase) also ends run()

    # -- inputs (loop thread) ------------------------------------------------------------------
    def submit(self, msg: object) -> None:
        """Apply a validated message now; ConfigError says why it could not be done."""
        cuts = apply(self.conductor, msg, self.clock())
        for cut in cuts:
            self._cut(cut)
        if cuts:  # a stop: silence everything, as a panic button would
            self.scheduler.panic()

    def _cut(self, cut: Cut) -> None:
        self.scheduler.cancel_after(cut.time)

    # -- generation ----------------------------------------------------------------------------
    def _generate(self, req: Request) -> tuple[Phrase, float] | None:
        if not self.conductor.wanted(req.id):  # superseded while it waited: skip the work
            return None
        start = time.perf_counter()
        phrase = self.generator.next_phrase(req.context, req.valence, req.arousal, mode=req.mode,
                                            meter=req.meter, bars=req.bars,
                                            rng=np.random.default_rng(req.seed))
        return phrase, (time.perf_counter() - start) * 1000

    def _request(self, req: Request) -> None:
        assert self._loop is not None
        future = self._loop.run_in_executor(self._executor, self._generate, req)
        future.add_done_callback(lambda f: self._delivered(req, f))

    def _delivered(self, req: Request, future: asyncio.Future) -> None:
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
        self.generated += 1
        self.generation_ms.append(ms)
        del self.generation_ms[:-1000]
        self.conductor.deliver(req.id, phrase)

    # -- output --------------------------------------------------------------------------------
    def _emit(self, event: dict) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # one broken listener must not stop the music
                log.exception("event listener failed; removing it")
                self.listeners.remove(listener)

    def step(self) -> None:
        """One tick: start due generation, hand due events to the scheduler and listeners."""
        assert self._loop is not None
        for req in self.conductor.requests():
            self._request(req)
        now = self.clock()
        for item in self.conductor.advance(now):
            if isinstance(item, MidiEvent):
                self.scheduler.schedule(item.time, to_mido(item))
            elif isinstance(item, Cut):
                self._cut(item)
                if not self.conductor.playing:  # a musical stop has closed: then the panic
                    for ch in range(16):
                        for cc in (123, 120):  # all notes off, all sound off
                            self.scheduler.schedule(item.time, mido.Message(
                                "control_change", channel=ch, control=cc, value=0))
                    if self.stop_when_closed:
                        self._loop.call_later(max(0.0, item.time - now) + 0.05, self.stop)
            elif isinstance(item, Callback):
                if item.event["type"] == "phrase":
                    self._emit(item.event)
                else:
                    self._loop.call_later(max(0.0, item.time - now), self._emit, item.event)

    async def run(self) -> None:
        """Play from a neutral mood until :meth:`stop`."""
        self._loop = asyncio.get_running_loop()
        if not self.conductor.playing:
            self.conductor.play(self.clock())
            for req in self.conductor.requests():  # the first phrase before the first bar: no cold start
                result = self._generate(req)
                if result is not None:
                    self.conductor.deliver(req.id, result[0])
        try:
            while not self._stopped.is_set():
                self.step()
                try:
                    await asyncio.wait_for(self._stopped.wait(), self.tick)
                except asyncio.TimeoutError:
                    pass
        finally:
            for cut in self.conductor.stop(self.clock()):
                self._cut(cut)
            self._executor.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        self._stopped.set()
