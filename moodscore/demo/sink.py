"""A MIDI sink that publishes what the scheduler sends to the browsers subscribed to ``midi``.

The scheduler thread calls :meth:`BrowserSink.send` at the moment each message is due; the sink
hands it to the asyncio loop (``call_soon_threadsafe``), which publishes it through the
WebSocket hub as one event ``{"type": "midi", "time": t, "data": [[status, d1, d2], ...]}``.
Messages sent while a publish is pending (a chord, a panic) travel together in one event, so
a burst costs one frame, not one each. The page therefore plays exactly what the engine plays,
when it plays it: on localhost the trip takes about a millisecond.

It also remembers the last program of each channel, so a page that connects late can set up
its synth before the next program change comes.

Public API: :class:`BrowserSink`.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import mido

from ..midi.base import MidiSink


class BrowserSink(MidiSink):
    """Publishes channel messages as ``midi`` events with ``publish``, on ``loop``'s thread."""

    name = "browser"

    def __init__(self, publish: Callable[[dict], None], loop: asyncio.AbstractEventLoop, *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.publish, self.loop, self.clock = publish, loop, clock
        self.published = 0  # messages handed to publish
        self.events = 0  # midi events published (a burst is one event)
        self._batch_lock = threading.Lock()
        self._batch: list[list[int]] = []
        self._batch_time = 0.0
        self._flush_pending = False
        self._programs: dict[int, int] = {}

    def programs(self) -> dict[int, int]:
        """``{channel: program}`` of every program change sent so far."""
        with self._batch_lock:
            return dict(self._programs)

    def _send(self, msg: mido.Message) -> None:
        if not hasattr(msg, "channel"):
            return  # MIDI clock, start, stop: a synth has no use for them
        with self._batch_lock:
            if msg.type == "program_change":
                self._programs[msg.channel] = msg.program
            if not self._batch:
                self._batch_time = self.clock()
            self._batch.append(msg.bytes())
            if self._flush_pending:
                return
            self._flush_pending = True
        # Raises RuntimeError once the loop is closed: the base class then counts the sink lost.
        self.loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._batch_lock:
            batch, at = self._batch, self._batch_time
            self._batch, self._flush_pending = [], False
        if batch:
            self.published += len(batch)
            self.events += 1
            self.publish({"type": "midi", "time": round(at, 6), "data": batch})
